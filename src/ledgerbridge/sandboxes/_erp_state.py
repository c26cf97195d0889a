"""In-memory state of the QuickBooks Online sandbox: companies, writes, queries and CDC.

Every public method takes the state's lock, so tests may call it from another thread while the
server runs. Ids are sequential per company and shared by all entities, as in QuickBooks.
``SyncToken`` starts at ``"0"`` and goes up by one on every change, including changes made by
linked effects (a payment lowering an invoice balance). Deleted transactions leave a tombstone
that CDC returns as ``{"Id", "status": "Deleted", "MetaData"}``.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Collection
from typing import Any

from ledgerbridge.sandboxes import _erp_entities as ents
from ledgerbridge.sandboxes import _qbo_common as qc
from ledgerbridge.sandboxes import _qbo_query as qq

#: how far back CDC may look, and how many objects one CDC answer holds
CDC_MAX_DAYS = 30
CDC_MAX_OBJECTS = 1000
_SYSTEM_FIELDS = ("Id", "SyncToken", "MetaData", "sparse", "domain", "status")

ChangeListener = Callable[[str, str, str, str, str], None]


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class ErpState:
    """The companies of one QuickBooks Online sandbox.

    Args:
        realms: the company ids that exist; None creates any company on first use.
        currency: the home currency of every company.
        clock: the current time (aware datetime); defaults to the system clock.
        on_change: called as ``(realm_id, entity, id, operation, last_updated)`` after a change.
    """

    def __init__(
        self,
        *,
        realms: Collection[str] | None = None,
        currency: str = "USD",
        clock: Callable[[], dt.datetime] = _utcnow,
        on_change: ChangeListener | None = None,
    ) -> None:
        self.lock = threading.RLock()
        self.clock = clock
        self.currency = currency
        self.on_change = on_change
        self._allowed = frozenset(realms) if realms is not None else None
        self._realms: dict[str, ents.Realm] = {}

    def reset(self) -> None:
        """Forget every company."""
        with self.lock:
            self._realms.clear()

    def realm(self, realm_id: str) -> ents.Realm:
        """Return the company ``realm_id``, creating it with its seed accounts on first use.

        Raises:
            QboFault: 403 when the sandbox was started with a fixed list that lacks ``realm_id``.
        """
        found = self._realms.get(realm_id)
        if found is not None:
            return found
        if self._allowed is not None and realm_id not in self._allowed:
            raise qc.QboFault(
                "120",
                "Authorization Failure",
                f"Company {realm_id} is not connected to this app",
                status=403,
                fault_type="AuthorizationFault",
            )
        with self.lock:
            realm = ents.Realm(realm_id=realm_id, currency=self.currency, today=self._today)
            realm.entities = {name: {} for name in qc.ENTITIES}
            realm.tombstones = {name: {} for name in qc.ENTITIES}
            self._realms[realm_id] = realm
            for aid, name, kind in ents.SEED_ACCOUNTS:
                doc = {"Name": name, "AccountType": kind, "Active": True}
                self._store(realm, "Account", aid, doc, None, quiet=True)
            realm.next_id = len(ents.SEED_ACCOUNTS) + 1
            return realm

    def _today(self) -> dt.date:
        return self.clock().date()

    def counts(self) -> dict[str, dict[str, int]]:
        """Return the number of stored objects per company and entity."""
        with self.lock:
            return {
                rid: {name: len(objs) for name, objs in sorted(realm.entities.items()) if objs}
                for rid, realm in self._realms.items()
            }

    def read(self, realm_id: str, entity: str, entity_id: str) -> dict[str, Any]:
        """Return one object.

        Raises:
            QboFault: 610 when it does not exist.
        """
        with self.lock:
            found = self.realm(realm_id).entities[entity].get(entity_id)
            if found is None:
                raise qc.not_found(entity, entity_id)
            return found

    def create(self, realm_id: str, entity: str, body: dict[str, Any]) -> dict[str, Any]:
        """Validate and store a new object; return it."""
        with self.lock:
            realm = self.realm(realm_id)
            fields = {k: v for k, v in body.items() if k not in _SYSTEM_FIELDS}
            doc = ents.PREPARE[entity](realm, fields, None)
            eid = str(realm.next_id)
            realm.next_id += 1
            touched: ents.Touched = []
            stored = self._store(realm, entity, eid, doc, None)
            ents.link(realm, entity, eid, stored, touched)
            self._touch(realm, touched)
            return stored

    def update(self, realm_id: str, entity: str, body: dict[str, Any]) -> dict[str, Any]:
        """Apply a full or sparse update that names the current SyncToken; return the object."""
        with self.lock:
            realm = self.realm(realm_id)
            old = self._current(realm, entity, body)
            fields = {k: v for k, v in body.items() if k not in _SYSTEM_FIELDS}
            if body.get("sparse") is True:
                fields = {**{k: v for k, v in old.items() if k not in _SYSTEM_FIELDS}, **fields}
            doc = ents.PREPARE[entity](realm, fields, old["Id"])
            touched: ents.Touched = []
            ents.unlink(realm, entity, old["Id"], old, touched)
            stored = self._store(realm, entity, old["Id"], doc, old)
            ents.link(realm, entity, old["Id"], stored, touched)
            self._touch(realm, [t for t in touched if t != (entity, old["Id"])])
            return stored

    def delete(self, realm_id: str, entity: str, body: dict[str, Any]) -> dict[str, Any]:
        """Delete a transaction named by Id and current SyncToken; return the delete answer."""
        with self.lock:
            realm = self.realm(realm_id)
            if entity not in qc.DELETABLE:
                raise qc.QboFault(
                    "500",
                    "Unsupported Operation",
                    f"Operation Delete is not supported for {entity}; set Active to false",
                )
            old = self._current(realm, entity, body)
            touched: ents.Touched = []
            ents.unlink(realm, entity, old["Id"], old, touched)
            del realm.entities[entity][old["Id"]]
            now = qc.timestamp(self.clock())
            meta = {"CreateTime": old["MetaData"]["CreateTime"], "LastUpdatedTime": now}
            realm.tombstones[entity][old["Id"]] = {
                "Id": old["Id"],
                "status": "Deleted",
                "MetaData": meta,
            }
            self._touch(realm, touched)
            self._notify(realm, entity, old["Id"], "Delete", now)
            return {"Id": old["Id"], "status": "Deleted", "domain": "QBO"}

    def _current(self, realm: ents.Realm, entity: str, body: dict[str, Any]) -> dict[str, Any]:
        eid, token = body.get("Id"), body.get("SyncToken")
        if eid is None:
            raise qc.missing("Id")
        if token is None:
            raise qc.missing("SyncToken")
        old = realm.entities[entity].get(str(eid))
        if old is None:
            raise qc.not_found(entity, str(eid))
        if str(token) != old["SyncToken"]:
            raise qc.QboFault(
                "5010",
                "Stale Object Error",
                "Stale Object Error : You and another user were working on the same thing at "
                "the same time. The other user finished before you did, so your work was not saved.",
            )
        return old

    def _store(
        self,
        realm: ents.Realm,
        entity: str,
        eid: str,
        doc: dict[str, Any],
        old: dict[str, Any] | None,
        *,
        quiet: bool = False,
    ) -> dict[str, Any]:
        now = qc.timestamp(self.clock())
        created = old["MetaData"]["CreateTime"] if old else now
        token = str(int(old["SyncToken"]) + 1) if old else "0"
        stored = {"Id": eid, "SyncToken": token, **doc, "domain": "QBO", "sparse": False}
        stored["MetaData"] = {"CreateTime": created, "LastUpdatedTime": now}
        if entity in qc.NAMED:
            if old is not None:
                realm.names.pop(old["DisplayName"].casefold(), None)
            realm.names[stored["DisplayName"].casefold()] = (entity, eid)
        realm.entities[entity][eid] = stored
        if not quiet:
            self._notify(realm, entity, eid, "Update" if old else "Create", now)
        return stored

    def _touch(self, realm: ents.Realm, touched: ents.Touched) -> None:
        now = qc.timestamp(self.clock())
        for entity, eid in dict.fromkeys(touched):
            obj = realm.entities[entity].get(eid)
            if obj is not None:
                obj["SyncToken"] = str(int(obj["SyncToken"]) + 1)
                obj["MetaData"] = {**obj["MetaData"], "LastUpdatedTime": now}
                self._notify(realm, entity, eid, "Update", now)

    def _notify(self, realm: ents.Realm, entity: str, eid: str, operation: str, when: str) -> None:
        if self.on_change is not None:
            self.on_change(realm.realm_id, entity, eid, operation, when)

    def query(self, realm_id: str, statement: str) -> dict[str, Any]:
        """Run one query statement and return the ``QueryResponse`` object.

        Raises:
            QboFault: 4000 when the statement does not parse.
        """
        try:
            parsed = qq.parse(statement, entities=qc.ENTITIES)
        except qq.QueryError as exc:
            raise qc.QboFault("4000", "Error parsing query", str(exc)) from None
        with self.lock:
            table = self.realm(realm_id).entities[parsed.entity]
            wanted = parsed.id_equals()
            pool = (
                [table[wanted]] if wanted in table else [] if wanted is not None else table.values()
            )
            rows = [obj for obj in pool if parsed.matches(obj)]
        if parsed.is_count:
            return {"totalCount": len(rows)}
        if parsed.order_by is not None:
            rows.sort(key=qq.sort_key(parsed.order_by), reverse=parsed.descending)
        start = parsed.start_position - 1
        page = rows[start : start + parsed.max_results]
        if not page:
            return {}
        return {
            parsed.entity: page,
            "startPosition": parsed.start_position,
            "maxResults": len(page),
        }

    def cdc(self, realm_id: str, entities: list[str], since: dt.datetime) -> list[dict[str, Any]]:
        """Return the objects of ``entities`` changed at or after ``since`` (with tombstones).

        Raises:
            QboFault: when an entity is unknown or ``since`` is older than 30 days.
        """
        if since < self.clock() - dt.timedelta(days=CDC_MAX_DAYS):
            raise qc.invalid("changedSince", f"must be within the last {CDC_MAX_DAYS} days")
        unknown = [e for e in entities if e not in qc.ENTITIES]
        if unknown or not entities:
            raise qc.invalid("entities", f"unknown entity {', '.join(unknown) or '(none)'}")
        budget, out = CDC_MAX_OBJECTS, []
        with self.lock:
            realm = self.realm(realm_id)
            for entity in entities:
                pool = [*realm.entities[entity].values(), *realm.tombstones[entity].values()]
                found = [o for o in pool if _changed_since(o, since)][:budget]
                budget -= len(found)
                out.append({entity: found, "startPosition": 1, "maxResults": len(found)})
        return out

    def replay(self, realm_id: str, request_id: str) -> tuple[int, bytes] | None:
        """Return the stored answer to an earlier request with this ``requestid``."""
        return self.realm(realm_id).replays.get(request_id)

    def remember(self, realm_id: str, request_id: str, answer: tuple[int, bytes]) -> None:
        """Store the answer to a request with a ``requestid`` for replay."""
        with self.lock:
            self.realm(realm_id).replays.setdefault(request_id, answer)


def _changed_since(obj: dict[str, Any], since: dt.datetime) -> bool:
    return dt.datetime.fromisoformat(obj["MetaData"]["LastUpdatedTime"]) >= since
