"""Resource rules of the Kantata OX sandbox: defaults, validation and invoice effects.

Choices where Kantata's documentation is silent or unconfirmed:

* Clients are ``organizations`` (id, name, currency, email); a workspace names its client with
  ``organization_id``. Kantata's own client mapping (organization or participant) is unconfirmed.
* A workspace's ``status`` is ``{key, message, color}``; the project is authorised when the
  message is "Okay to Start" or "Active". Writes may send ``status`` as that object or as the
  message alone.
* ``approved`` defaults to true when the workspace needs no approval of that kind, else false;
  the sandbox lets writes set it (Kantata sets it through timesheet approvals).
* An invoice may include only approved, billable, not yet invoiced entries of its workspaces.
  Its ``balance_in_cents`` is the sum of time (minutes x rate / 60, half-up), expenses,
  milestone ``price_in_cents``, and ``amount_in_cents`` of fixed-fee and additional items.
* Invoiced time entries and expenses refuse updates and deletes (422).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

#: workspace status messages and their (key, color)
STATUSES: dict[str, tuple[int, str]] = {
    "Prospect": (100, "grey"),
    "Estimate": (110, "grey"),
    "Not Started": (200, "grey"),
    "Okay to Start": (210, "light-green"),
    "Active": (300, "green"),
    "On Hold": (400, "yellow"),
    "Completed": (500, "blue"),
    "Cancelled": (600, "red"),
}
AUTHORISED = frozenset({"Okay to Start", "Active"})
BILLING_TYPES = ("time_and_materials", "fixed_fee", "retainer")
STORY_TYPES = ("task", "milestone", "deliverable", "issue")
STORY_STATES = ("not started", "started", "completed")
READ_ONLY = frozenset(
    {"id", "created_at", "updated_at", "is_invoiced", "invoice_id", "balance_in_cents"}
)


class PsaError(Exception):
    """A request the sandbox refuses, rendered as ``{"errors": [...]}``."""

    def __init__(
        self, status: int, message: str, *, field: str | None = None, kind: str = "validation"
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.field = field
        self.kind = kind

    def body(self) -> dict[str, Any]:
        """Return the JSON body of this error."""
        error: dict[str, Any] = {"type": self.kind, "message": self.message}
        if self.field is not None:
            error["field"] = self.field
        return {"errors": [error]}


def invalid(field: str, message: str) -> PsaError:
    """Return a 422 validation error about ``field``."""
    return PsaError(422, f"{field} {message}", field=field)


def status_object(value: Any) -> dict[str, Any]:
    """Return the ``{key, message, color}`` status for an object or a message."""
    message = value.get("message") if isinstance(value, dict) else value
    if message not in STATUSES:
        raise invalid("status", f"must be one of {', '.join(STATUSES)}")
    key, color = STATUSES[message]
    return {"key": key, "message": message, "color": color}


def _require(doc: dict[str, Any], *names: str) -> None:
    for name in names:
        if doc.get(name) in (None, ""):
            raise invalid(name, "can't be blank")


def _whole(doc: dict[str, Any], name: str, *, positive: bool = False) -> None:
    value = doc.get(name)
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < (1 if positive else 0):
        raise invalid(name, "must be a whole number" + (" above 0" if positive else " >= 0"))


def _one_of(doc: dict[str, Any], name: str, allowed: tuple[str, ...]) -> None:
    if doc.get(name) not in allowed:
        raise invalid(name, f"must be one of {', '.join(allowed)}")


def _date(doc: dict[str, Any], name: str) -> None:
    value = doc.get(name)
    if value is None:
        return
    try:
        dt.date.fromisoformat(str(value))
    except ValueError:
        raise invalid(name, "must be a date (YYYY-MM-DD)") from None


def defaults(
    resource: str, doc: dict[str, Any], tables: dict[str, dict[str, dict[str, Any]]]
) -> dict[str, Any]:
    """Return ``doc`` with the defaults of a new ``resource`` object filled in."""
    workspace = tables["workspaces"].get(str(doc.get("workspace_id")), {})
    currency = workspace.get("currency", "USD")
    base: dict[str, Any] = {"external_reference": None}
    if resource == "organizations":
        base.update(currency="USD", email=None)
    elif resource == "users":
        base.update(email_address=None, role_name=None)
    elif resource == "workspaces":
        base.update(
            currency="USD",
            billing_type="time_and_materials",
            price_in_cents=0,
            organization_id=None,
            require_time_approvals=False,
            require_expense_approvals=False,
            archived=False,
            status=status_object("Not Started"),
            start_date=None,
            due_date=None,
            description="",
        )
    elif resource == "stories":
        base.update(story_type="task", state="not started", price_in_cents=None)
    elif resource == "time_entries":
        story = tables["stories"].get(str(doc.get("story_id")), {})
        approved = not workspace.get("require_time_approvals", False)
        base.update(
            billable=story.get("billable", True),
            rate_in_cents=0,
            currency=currency,
            notes="",
            approved=approved,
            is_invoiced=False,
            invoice_id=None,
            story_id=None,
            user_id=None,
        )
    elif resource == "expenses":
        approved = not workspace.get("require_expense_approvals", False)
        base.update(
            currency=currency,
            billable=True,
            approved=approved,
            is_invoiced=False,
            invoice_id=None,
            notes="",
            user_id=None,
        )
    return {**base, **doc}


def validate(
    resource: str, doc: dict[str, Any], tables: dict[str, dict[str, dict[str, Any]]]
) -> dict[str, Any]:
    """Check a complete ``resource`` object; return it with normalised fields.

    Raises:
        PsaError: 422 naming the first field that is wrong.
    """
    refs = {
        "workspace_id": "workspaces",
        "story_id": "stories",
        "user_id": "users",
        "organization_id": "organizations",
        "invoice_id": "invoices",
    }
    for field, table in refs.items():
        if doc.get(field) is not None:
            doc[field] = str(doc[field])
            if doc[field] not in tables[table]:
                raise invalid(field, f"does not exist ({doc[field][:20]})")
    check = _CHECKS.get(resource)
    if check is not None:
        check(doc)
    return doc


def _check_workspace(doc: dict[str, Any]) -> None:
    _require(doc, "title")
    _one_of(doc, "billing_type", BILLING_TYPES)
    _whole(doc, "price_in_cents")
    doc["status"] = status_object(doc.get("status"))
    _date(doc, "start_date")
    _date(doc, "due_date")


def _check_story(doc: dict[str, Any]) -> None:
    _require(doc, "workspace_id", "title")
    _one_of(doc, "story_type", STORY_TYPES)
    _one_of(doc, "state", STORY_STATES)
    _whole(doc, "price_in_cents")


def _check_time_entry(doc: dict[str, Any]) -> None:
    _require(doc, "workspace_id", "date_performed", "time_in_minutes")
    _whole(doc, "time_in_minutes", positive=True)
    _whole(doc, "rate_in_cents")
    _date(doc, "date_performed")


def _check_expense(doc: dict[str, Any]) -> None:
    _require(doc, "workspace_id", "date", "category", "amount_in_cents")
    _whole(doc, "amount_in_cents")
    _date(doc, "date")


_CHECKS = {
    "organizations": lambda d: _require(d, "name"),
    "users": lambda d: _require(d, "full_name"),
    "workspaces": _check_workspace,
    "stories": _check_story,
    "time_entries": _check_time_entry,
    "expenses": _check_expense,
}


def time_amount(entry: dict[str, Any]) -> int:
    """Return the billed cents of a time entry: minutes x hourly rate / 60, rounded half-up."""
    return int((entry["time_in_minutes"] * entry["rate_in_cents"] + 30) // 60)


def _items_total(items: Any, field: str) -> int:
    if items is None:
        return 0
    if not isinstance(items, list):
        raise invalid(field, "must be a list")
    total = 0
    for item in items:
        amount = item.get("amount_in_cents") if isinstance(item, dict) else None
        if isinstance(amount, bool) or not isinstance(amount, int):
            raise invalid(field, "items need an amount_in_cents")
        total += amount
    return total


def _invoice_entries(
    doc: dict[str, Any], table: dict[str, dict[str, Any]], field: str, workspaces: list[str]
) -> list[dict[str, Any]]:
    found = []
    for raw in doc.get(field) or []:
        entry = table.get(str(raw))
        if entry is None:
            raise invalid(field, f"names {raw!s:.20} which does not exist")
        if entry["workspace_id"] not in workspaces:
            raise invalid(field, f"names {raw} from another workspace")
        if entry["is_invoiced"] or not entry["approved"] or not entry["billable"]:
            raise invalid(field, f"names {raw}, which is invoiced, unapproved or not billable")
        found.append(entry)
    return found


def plan_invoice(
    doc: dict[str, Any], tables: dict[str, dict[str, dict[str, Any]]], today: str
) -> dict[str, Any]:
    """Validate a new invoice and return it complete (the entries are marked by the caller).

    Raises:
        PsaError: 422 when a required field is missing or an entry cannot be invoiced.
    """
    _require(doc, "payment_schedule")
    _whole(doc, "payment_schedule")
    workspaces = [
        str(w) for w in doc.get("workspace_ids") or [doc.get("workspace_id")] if w is not None
    ]
    if not workspaces:
        raise invalid("workspace_id", "can't be blank")
    for ws in workspaces:
        if ws not in tables["workspaces"]:
            raise invalid("workspace_id", f"does not exist ({ws[:20]})")
    kinds = (
        "time_entry_ids",
        "expense_ids",
        "billing_milestone_ids",
        "fixed_fee_items",
        "additional_items",
    )
    if not any(doc.get(k) for k in kinds):
        raise invalid("time_entry_ids", "or another line source is required")
    times = _invoice_entries(doc, tables["time_entries"], "time_entry_ids", workspaces)
    expenses = _invoice_entries(doc, tables["expenses"], "expense_ids", workspaces)
    total = sum(time_amount(t) for t in times) + sum(e["amount_in_cents"] for e in expenses)
    for sid in doc.get("billing_milestone_ids") or []:
        story = tables["stories"].get(str(sid))
        if story is None or story["story_type"] != "milestone":
            raise invalid("billing_milestone_ids", f"names {sid!s:.20}, which is not a milestone")
        total += story.get("price_in_cents") or 0
    total += _items_total(doc.get("fixed_fee_items"), "fixed_fee_items")
    total += _items_total(doc.get("additional_items"), "additional_items")
    invoice_date = str(doc.get("invoice_date") or today)
    due = dt.date.fromisoformat(invoice_date) + dt.timedelta(days=doc["payment_schedule"])
    out = {"draft": False, "external_reference": None, "due_date": due.isoformat(), **doc}
    out.update(
        status="new",
        invoice_date=invoice_date,
        balance_in_cents=total,
        workspace_ids=workspaces,
        workspace_id=workspaces[0],
        currency=tables["workspaces"][workspaces[0]]["currency"],
        time_entry_ids=[t["id"] for t in times],
        expense_ids=[e["id"] for e in expenses],
    )
    return out


def plan_payment(
    doc: dict[str, Any], invoices: dict[str, dict[str, Any]], today: str
) -> dict[str, Any]:
    """Validate an external payment against its invoice and return it complete.

    Raises:
        PsaError: 422 when the invoice is missing, the currency differs or the amount is too big.
    """
    _require(doc, "invoice_id", "amount_in_cents")
    _whole(doc, "amount_in_cents", positive=True)
    invoice = invoices.get(str(doc["invoice_id"]))
    if invoice is None:
        raise invalid("invoice_id", "does not exist")
    currency = doc.get("currency") or invoice["currency"]
    if currency != invoice["currency"]:
        raise invalid("currency", f"must be the invoice currency {invoice['currency']}")
    if doc["amount_in_cents"] > invoice["balance_in_cents"]:
        raise invalid(
            "amount_in_cents", f"is more than the invoice balance {invoice['balance_in_cents']}"
        )
    return {
        "external_reference": None,
        **doc,
        "invoice_id": invoice["id"],
        "currency": currency,
        "paid_on": str(doc.get("paid_on") or today),
    }
