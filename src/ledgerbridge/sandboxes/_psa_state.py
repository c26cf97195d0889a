"""In-memory state of the Kantata OX sandbox: objects, indexes, activity operations and events.

Every change, whether it comes from the API or from an activity operation, appends one
subscribed event ``<singular>:created|updated|deleted`` with the previous and current payload
and ``payload_changes`` as ``{field: [previous, current]}``. Event ids increase by one.
Events are kept 9 days, measured from the time of the latest activity operation, or from the
clock when none was applied (so activity replayed from the past keeps its feed). Times are UTC, ``YYYY-MM-DDTHH:MM:SSZ``.

Activity operations (``apply``) are trusted data from a simulated PSA: fields are stored as given
(plus defaults on create) and have no effects on other objects; an operation whose ``seq`` is not
above the last applied one is skipped, so a feed can be loaded twice.
"""

from __future__ import annotations

import bisect
import datetime as dt
import threading
from collections.abc import Callable, Iterable
from typing import Any

from ledgerbridge.sandboxes import _psa_rules as rules

RESOURCES: dict[str, tuple[str, str]] = {
    "organizations": ("organization", "Organization"),
    "users": ("user", "User"),
    "workspaces": ("workspace", "Workspace"),
    "stories": ("story", "Story"),
    "time_entries": ("time_entry", "TimeEntry"),
    "expenses": ("expense", "Expense"),
    "invoices": ("invoice", "Invoice"),
    "external_payments": ("external_payment", "ExternalPayment"),
}
RETENTION = dt.timedelta(days=9)
_BY_WORKSPACE = ("stories", "time_entries", "expenses")


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def stamp(moment: dt.datetime | str) -> str:
    """Render a time as ``YYYY-MM-DDTHH:MM:SSZ`` in UTC.

    Raises:
        ValueError: when a text time is not ISO 8601.
    """
    if isinstance(moment, str):
        moment = dt.datetime.fromisoformat(moment.strip())
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class PsaState:
    """The data of one Kantata OX sandbox.

    Args:
        clock: the current time for API writes (aware datetime).
    """

    def __init__(self, *, clock: Callable[[], dt.datetime] = _utcnow) -> None:
        self.lock = threading.RLock()
        self.clock = clock
        self.reset()

    def reset(self) -> None:
        """Forget every object and event."""
        with self.lock:
            self.tables: dict[str, dict[str, dict[str, Any]]] = {r: {} for r in RESOURCES}
            self.by_ref: dict[tuple[str, str], dict[str, None]] = {}
            self.by_workspace: dict[tuple[str, str], dict[str, None]] = {}
            self.events: list[dict[str, Any]] = []
            self.event_times: list[str] = []
            self.next_id = 1
            self.next_event_id = 1
            self.last_seq = 0
            self.activity_now = ""
            self.times_sorted = True

    def counts(self) -> dict[str, int]:
        """Return the number of objects per resource, and of events."""
        with self.lock:
            return {
                **{r: len(t) for r, t in self.tables.items()},
                "subscribed_events": len(self.events),
            }

    def get(self, resource: str, oid: str) -> dict[str, Any]:
        """Return one object.

        Raises:
            PsaError: 404 when it does not exist.
        """
        found = self.tables[resource].get(oid)
        if found is None:
            raise rules.PsaError(
                404, f"{RESOURCES[resource][0]} {oid[:20]} not found", kind="not_found"
            )
        return found

    # --- activity operations -------------------------------------------------------------

    def apply(self, op: dict[str, Any]) -> bool:
        """Apply one activity operation; return False when its ``seq`` was already applied.

        Raises:
            ValueError: when the operation is malformed or names a missing object.
        """
        seq, kind, resource, oid = op.get("seq"), op.get("op"), op.get("resource"), op.get("id")
        if not isinstance(seq, int) or isinstance(seq, bool):
            raise ValueError(f"activity op: seq must be an integer, not {seq!r}")
        if resource not in RESOURCES or kind not in ("create", "update", "delete"):
            raise ValueError(f"activity op {seq}: unknown resource {resource!r} or op {kind!r}")
        if not isinstance(oid, str) or not oid.isdigit():
            raise ValueError(f"activity op {seq}: id must be a string of digits")
        fields = op.get("fields") or {}
        if not isinstance(fields, dict):
            raise ValueError(f"activity op {seq}: fields must be an object")
        try:
            at = stamp(str(op.get("at")))
        except ValueError:
            raise ValueError(f"activity op {seq}: at must be an ISO 8601 time") from None
        with self.lock:
            if seq <= self.last_seq:
                return False
            self._apply_op(kind, resource, oid, fields, at, seq)
            self.last_seq = seq
            self.activity_now = max(self.activity_now, at)
            return True

    def _apply_op(
        self, kind: str, resource: str, oid: str, fields: dict[str, Any], at: str, seq: int
    ) -> None:
        exists = oid in self.tables[resource]
        if (kind == "create") == exists:
            raise ValueError(
                f"activity op {seq}: {resource} {oid} {'exists' if exists else 'is missing'}"
            )
        if kind == "create":
            self.next_id = max(self.next_id, int(oid) + 1)
            doc = rules.defaults(resource, dict(fields), self.tables)
            if resource == "workspaces":
                doc["status"] = rules.status_object(doc["status"])
            self._put(resource, oid, doc, at)
        elif kind == "update":
            self._put(resource, oid, dict(fields), at)
        else:
            self._remove(resource, oid, at)

    def apply_many(self, ops: Iterable[dict[str, Any]]) -> int:
        """Apply operations in order; return how many were applied (not skipped)."""
        return sum(1 for op in ops if self.apply(op))

    # --- writes ----------------------------------------------------------------------------

    def _put(self, resource: str, oid: str, changes: dict[str, Any], at: str) -> dict[str, Any]:
        """Store a new object or merge ``changes`` into an existing one, and record the event."""
        table = self.tables[resource]
        old = table.get(oid)
        if old is None:
            new = {**changes, "id": oid, "created_at": at, "updated_at": at}
        else:
            new = {**old, **changes, "id": oid, "created_at": old["created_at"], "updated_at": at}
        table[oid] = new
        self._index(resource, oid, old, new)
        self._event(resource, oid, "updated" if old else "created", old, new, at)
        return new

    def _remove(self, resource: str, oid: str, at: str) -> None:
        old = self.tables[resource].pop(oid)
        self._index(resource, oid, old, None)
        self._event(resource, oid, "deleted", old, None, at)

    def _index(
        self, resource: str, oid: str, old: dict[str, Any] | None, new: dict[str, Any] | None
    ) -> None:
        for index, key_of in ((self.by_ref, _ref_of), (self.by_workspace, _workspace_of)):
            before = key_of(old) if old else None
            after = key_of(new) if new else None
            if before == after:
                continue
            if before is not None:
                index.get((resource, before), {}).pop(oid, None)
            if after is not None and (resource in _BY_WORKSPACE or index is self.by_ref):
                index.setdefault((resource, after), {})[oid] = None

    def _event(
        self,
        resource: str,
        oid: str,
        action: str,
        old: dict[str, Any] | None,
        new: dict[str, Any] | None,
        at: str,
    ) -> None:
        singular, subject = RESOURCES[resource]
        changes = {
            k: [(old or {}).get(k), v] for k, v in (new or {}).items() if (old or {}).get(k) != v
        }
        event = {
            "id": str(self.next_event_id),
            "event_type": f"{singular}:{action}",
            "subject_type": subject,
            "subject_id": oid,
            "workspace_id": (new or old or {}).get("workspace_id"),
            "created_at": at,
            "previous_payload": old,
            "current_payload": new,
            "payload_changes": changes,
        }
        self.next_event_id += 1
        if self.event_times and at < self.event_times[-1]:
            self.times_sorted = False
        self.events.append(event)
        self.event_times.append(at)

    def new_id(self) -> str:
        """Return the next free object id."""
        oid = str(self.next_id)
        self.next_id += 1
        return oid

    def now(self) -> dt.datetime:
        """The sandbox's time for API writes.

        Once activity operations have been applied, the sandbox runs on the activity's
        clock (the time of the latest op), so a replayed month and the API writes made while
        it replays share one timeline and one change feed.
        """
        if self.activity_now:
            return dt.datetime.fromisoformat(self.activity_now)
        return self.clock()

    def prune_events(self) -> str:
        """Drop the oldest events beyond the retention window; return the window's start."""
        with self.lock:
            if not self.events:
                return ""
            base = (
                dt.datetime.fromisoformat(self.activity_now) if self.activity_now else self.clock()
            )
            cutoff = stamp(base - RETENTION)
            times, cut = self.event_times, 0
            while cut < len(times) and times[cut] < cutoff:
                cut += 1
            if cut:
                del self.events[:cut]
                del self.event_times[:cut]
            return cutoff

    def events_after(self, created_after: str | None) -> Iterable[dict[str, Any]]:
        """Return the retained events created after ``created_after`` (all when None)."""
        cutoff = self.prune_events()
        start = 0
        if created_after is not None and self.times_sorted:
            start = bisect.bisect_right(self.event_times, created_after)
        floor, events = created_after or "", self.events
        return (
            events[i]
            for i in range(start, len(events))
            if events[i]["created_at"] >= cutoff and events[i]["created_at"] > floor
        )

    # --- API writes ------------------------------------------------------------------------

    def create(self, resource: str, fields: dict[str, Any]) -> dict[str, Any]:
        """Validate and store a new object from the API, with its effects; return it.

        Raises:
            PsaError: 422 when the object is invalid.
        """
        with self.lock:
            at, today = stamp(self.now()), self.now().date().isoformat()
            kept = {"invoice_id"} if resource == "external_payments" else set()
            fields = {k: v for k, v in fields.items() if k not in rules.READ_ONLY - kept}
            if resource == "invoices":
                doc = rules.plan_invoice(fields, self.tables, today)
            elif resource == "external_payments":
                doc = rules.plan_payment(fields, self.tables["invoices"], today)
            else:
                doc = rules.validate(
                    resource, rules.defaults(resource, fields, self.tables), self.tables
                )
            oid = self.new_id()
            created = self._put(resource, oid, doc, at)
            if resource == "invoices":
                self._mark_invoiced(created, at)
            elif resource == "external_payments":
                self._pay(created, at)
            return created

    def _mark_invoiced(self, invoice: dict[str, Any], at: str) -> None:
        for resource, field in (("time_entries", "time_entry_ids"), ("expenses", "expense_ids")):
            for oid in invoice[field]:
                self._put(resource, oid, {"is_invoiced": True, "invoice_id": invoice["id"]}, at)

    def _pay(self, payment: dict[str, Any], at: str) -> None:
        invoice = self.tables["invoices"][payment["invoice_id"]]
        balance = invoice["balance_in_cents"] - payment["amount_in_cents"]
        changes: dict[str, Any] = {"balance_in_cents": balance}
        if balance == 0:
            changes["status"] = "accepted payment"
        self._put("invoices", invoice["id"], changes, at)

    def update(self, resource: str, oid: str, fields: dict[str, Any]) -> dict[str, Any]:
        """Validate and apply a partial update from the API; return the object.

        Raises:
            PsaError: 404 when the object is missing, 422 when the change is refused.
        """
        with self.lock:
            old = self.get(resource, oid)
            changes = {k: v for k, v in fields.items() if k not in rules.READ_ONLY}
            if old.get("is_invoiced"):
                raise rules.PsaError(
                    422, f"{RESOURCES[resource][0]} {oid} is invoiced and cannot be changed"
                )
            if (
                resource == "expenses"
                and str(changes.get("workspace_id", old["workspace_id"])) != old["workspace_id"]
            ):
                raise rules.invalid("workspace_id", "cannot be changed")
            rules.validate(resource, {**old, **changes}, self.tables)
            if "status" in changes:
                changes["status"] = rules.status_object(changes["status"])
            for field in ("workspace_id", "story_id", "user_id", "organization_id"):
                if changes.get(field) is not None:
                    changes[field] = str(changes[field])
            return self._put(resource, oid, changes, stamp(self.now()))

    def delete(self, resource: str, oid: str) -> None:
        """Delete one object from the API.

        Raises:
            PsaError: 404 when missing, 422 when it is invoiced.
        """
        with self.lock:
            if self.get(resource, oid).get("is_invoiced"):
                raise rules.PsaError(
                    422, f"{RESOURCES[resource][0]} {oid} is invoiced and cannot be deleted"
                )
            self._remove(resource, oid, stamp(self.now()))


def _ref_of(doc: dict[str, Any]) -> str | None:
    ref = doc.get("external_reference")
    if isinstance(ref, dict) and ref.get("service_model_ref") is not None:
        return str(ref["service_model_ref"])
    return None


def _workspace_of(doc: dict[str, Any]) -> str | None:
    value = doc.get("workspace_id")
    return None if value is None else str(value)
