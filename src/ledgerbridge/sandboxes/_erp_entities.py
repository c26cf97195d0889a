"""Entity rules of the QuickBooks Online sandbox: validation, computed fields and linked effects.

Each ``prepare_<entity>`` takes the proposed writable fields (after a sparse merge, when the
update is sparse) and returns the entity without ``Id``, ``SyncToken`` and ``MetaData``, raising
:class:`QboFault` when a rule fails. Effects on other objects (invoice balances, billed time)
happen in :func:`link` and :func:`unlink`, after validation, so a refused write changes nothing.

Choices where the service is not documented precisely:

* A billable expense is a ``Purchase`` whose ``Line[]`` are ``AccountBasedExpenseLineDetail``
  with ``BillableStatus`` and ``CustomerRef`` (a Billable line must name a customer).
* An invoice line may carry ``LinkedTxn: [{"TxnId", "TxnType": "TimeActivity"|"Purchase"}]``;
  the linked charge becomes ``HasBeenBilled`` and turns ``Billable`` again when the invoice is
  deleted or the line removed.
* Invoices come back with a trailing ``SubTotalLineDetail`` line, as the service does.
* Sales line ``Amount`` is required and must equal ``Qty * UnitPrice`` rounded to the currency
  (Fault 6070); money is rounded half-up to the currency's minor units, while ``Qty``,
  ``UnitPrice`` and ``HourlyRate`` keep the precision they were sent with.
* Payments must not over-apply an invoice or the payment's ``TotalAmt`` (Fault 6000).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, NoReturn

from ledgerbridge.sandboxes import _qbo_common as qc

_ZERO = Decimal(0)
_CURRENCY_NAMES = {"USD": "United States Dollar", "EUR": "Euro", "GBP": "British Pound Sterling"}
_BILLABLE = ("Billable", "NotBillable", "HasBeenBilled")
_NAME_PARTS = ("Title", "GivenName", "MiddleName", "FamilyName", "Suffix")
#: accounts every company starts with: (Id, Name, AccountType)
SEED_ACCOUNTS = (
    ("1", "Services", "Income"),
    ("2", "Checking", "Bank"),
    ("3", "Billable Expense Income", "Income"),
    ("4", "Travel", "Expense"),
    ("5", "Accounts Receivable (A/R)", "Accounts Receivable"),
)


@dataclass(kw_only=True)
class Realm:
    """The data of one company (realm)."""

    realm_id: str
    currency: str
    today: Callable[[], dt.date]
    entities: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    tombstones: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    names: dict[str, tuple[str, str]] = field(default_factory=dict)
    paid: dict[str, Decimal] = field(default_factory=dict)
    balances: dict[str, Decimal] = field(default_factory=dict)
    replays: dict[str, tuple[int, bytes]] = field(default_factory=dict)
    next_id: int = 1
    next_doc_number: int = 1001

    def get(self, entity: str, entity_id: str | None, fld: str) -> dict[str, Any]:
        """Return the referenced object or raise Fault 2500."""
        found = self.entities[entity].get(entity_id or "")
        if found is None:
            raise qc.bad_reference(fld, entity_id)
        return found

    def currency_ref(self, code: str | None = None) -> dict[str, str]:
        """Return a CurrencyRef for ``code`` (default: the home currency)."""
        code = code or self.currency
        return {"value": code, "name": _CURRENCY_NAMES.get(code, code)}


def _check_name(realm: Realm, name: str, entity: str, entity_id: str | None) -> None:
    owner = realm.names.get(name.casefold())
    if owner is not None and owner != (entity, entity_id):
        raise qc.QboFault(
            "6240",
            "Duplicate Name Exists Error",
            "The name supplied already exists. : Another customer, vendor or employee is "
            "already using this name. Please use a different name.",
        )


def _display_name(doc: dict[str, Any]) -> str:
    name = doc.get("DisplayName")
    if name is None:
        name = " ".join(str(doc[p]) for p in _NAME_PARTS if doc.get(p))
    if not isinstance(name, str) or not name.strip():
        raise qc.missing("DisplayName")
    return name.strip()


def prepare_named(
    realm: Realm, entity: str, doc: dict[str, Any], eid: str | None
) -> dict[str, Any]:
    """Validate a Customer, Vendor or Employee."""
    name = _display_name(doc)
    _check_name(realm, name, entity, eid)
    out = {**doc, "DisplayName": name, "Active": doc.get("Active", True)}
    if entity != "Customer":
        return out
    code = qc.ref_id(doc, "CurrencyRef") or realm.currency
    out["CurrencyRef"] = realm.currency_ref(code)
    parent_id = qc.ref_id(doc, "ParentRef")
    if parent_id is not None:
        if parent_id == eid:
            raise qc.invalid("ParentRef", "a customer cannot be its own parent")
        parent = realm.get("Customer", parent_id, "ParentRef")
        out.update(Job=True, Level=parent["Level"] + 1)
        out["FullyQualifiedName"] = f"{parent['FullyQualifiedName']}:{name}"
    else:
        out.update(Job=False, Level=0, FullyQualifiedName=name)
    out["IsProject"] = bool(doc.get("IsProject", False))
    out["BillWithParent"] = bool(doc.get("BillWithParent", False))
    balance = realm.balances.get(eid or "", _ZERO)
    out["Balance"] = out["BalanceWithJobs"] = qc.money(balance, "Balance", code)
    return out


def prepare_account(realm: Realm, doc: dict[str, Any], eid: str | None) -> dict[str, Any]:
    """Validate an Account."""
    if not doc.get("Name"):
        raise qc.missing("Name")
    return {"AccountType": "Expense", "Active": True, **doc}


def prepare_item(realm: Realm, doc: dict[str, Any], eid: str | None) -> dict[str, Any]:
    """Validate an Item; the account refs it needs depend on its Type."""
    name = doc.get("Name")
    if not isinstance(name, str) or not name.strip():
        raise qc.missing("Name")
    for other_id, other in realm.entities["Item"].items():
        if other_id != eid and other["Name"].casefold() == name.casefold():
            raise qc.QboFault(
                "6240", "Duplicate Name Exists Error", "The name supplied already exists."
            )
    out = {"Type": "Service", "Active": True, **doc}
    needed = ["IncomeAccountRef"]
    if out["Type"] == "Inventory":
        needed += ["AssetAccountRef", "InvStartDate", "QtyOnHand"]
    for fld in needed:
        if doc.get(fld) is None:
            raise qc.missing(fld)
        if fld.endswith("Ref"):
            realm.get("Account", qc.ref_id(doc, fld), fld)
    if "UnitPrice" in doc:
        out["UnitPrice"] = qc.decimal(doc["UnitPrice"], "UnitPrice")
    return out


def prepare_time_activity(realm: Realm, doc: dict[str, Any], eid: str | None) -> dict[str, Any]:
    """Validate a TimeActivity (NameOf + person ref + a duration)."""
    name_of = doc.get("NameOf")
    person = {"Employee": "EmployeeRef", "Vendor": "VendorRef"}.get(str(name_of))
    if person is None:
        raise (
            qc.missing("NameOf") if name_of is None else qc.invalid("NameOf", "Employee or Vendor")
        )
    realm.get(str(name_of), qc.ref_id(doc, person), person)
    has_span = doc.get("StartTime") and doc.get("EndTime")
    if doc.get("Hours") is None and doc.get("Minutes") is None and not has_span:
        raise qc.missing("Hours")
    out = {"BillableStatus": "NotBillable", "TxnDate": realm.today().isoformat(), **doc}
    for fld in ("Hours", "Minutes", "Seconds", "BreakHours", "BreakMinutes"):
        if fld in doc:
            out[fld] = qc.whole(doc[fld], fld)
    if out["BillableStatus"] not in _BILLABLE:
        raise qc.invalid("BillableStatus", "Billable, NotBillable or HasBeenBilled")
    for fld, entity in (("CustomerRef", "Customer"), ("ItemRef", "Item")):
        if fld in doc:
            realm.get(entity, qc.ref_id(doc, fld), fld)
    for fld in ("HourlyRate", "CostRate"):
        if fld in doc:
            out[fld] = qc.decimal(doc[fld], fld)
    return out


def _sales_line(realm: Realm, line: Any, number: int, currency: str) -> dict[str, Any]:
    if not isinstance(line, dict):
        raise qc.invalid("Line", "expected an object")
    kind = line.get("DetailType")
    if kind == "DescriptionOnly":
        return {**line, "Id": str(number), "LineNum": number, "Amount": _ZERO}
    if kind != "SalesItemLineDetail":
        raise qc.invalid("Line.DetailType", "SalesItemLineDetail or DescriptionOnly")
    if line.get("Amount") is None:
        raise qc.missing("Line.Amount")
    amount = qc.money(line["Amount"], "Line.Amount", currency)
    detail = dict(line.get("SalesItemLineDetail") or {})
    if "ItemRef" in detail:
        realm.get("Item", qc.ref_id(detail, "ItemRef"), "ItemRef")
    for fld in ("Qty", "UnitPrice"):
        if fld in detail:
            detail[fld] = qc.decimal(detail[fld], f"SalesItemLineDetail.{fld}")
    if "Qty" in detail and "UnitPrice" in detail:
        expected = qc.money(detail["Qty"] * detail["UnitPrice"], "Line.Amount", currency)
        if expected != amount:
            raise qc.QboFault(
                "6070",
                "Amount is not equal to UnitPrice * Qty",
                f"Amount is not equal to UnitPrice * Qty. Supplied value:{amount}",
            )
    for link in line.get("LinkedTxn") or []:
        _linked_charge(realm, link)
    out = {**line, "Id": str(number), "LineNum": number, "Amount": amount}
    out["SalesItemLineDetail"] = detail
    return out


def _linked_charge(realm: Realm, link: Any) -> dict[str, Any]:
    if not isinstance(link, dict) or link.get("TxnType") not in ("TimeActivity", "Purchase"):
        raise qc.invalid("Line.LinkedTxn", "TxnType must be TimeActivity or Purchase")
    return realm.get(link["TxnType"], str(link.get("TxnId")), "Line.LinkedTxn.TxnId")


def prepare_invoice(realm: Realm, doc: dict[str, Any], eid: str | None) -> dict[str, Any]:
    """Validate an Invoice and compute TotalAmt and Balance."""
    customer = realm.get(
        "Customer", qc.ref_id(doc, "CustomerRef") or _req("CustomerRef"), "CustomerRef"
    )
    currency = qc.ref_id(doc, "CurrencyRef") or customer["CurrencyRef"]["value"]
    lines_in = [x for x in doc.get("Line") or [] if not _is_subtotal(x)]
    if not lines_in:
        raise qc.missing("Line")
    lines = [_sales_line(realm, x, n, currency) for n, x in enumerate(lines_in, start=1)]
    total = sum((x["Amount"] for x in lines), _ZERO)
    paid = realm.paid.get(eid or "", _ZERO)
    if total < paid:
        raise qc.business(f"TotalAmt {total} is below the {paid} already paid on this invoice")
    lines.append({"Amount": total, "DetailType": "SubTotalLineDetail", "SubTotalLineDetail": {}})
    txn_date = doc.get("TxnDate") or realm.today().isoformat()
    out = {**doc, "Line": lines, "TotalAmt": total, "Balance": total - paid}
    out.update(CurrencyRef=realm.currency_ref(currency), TxnDate=txn_date)
    out.setdefault("DueDate", (dt.date.fromisoformat(txn_date) + dt.timedelta(days=30)).isoformat())
    old = realm.entities["Invoice"].get(eid or "")
    out["LinkedTxn"] = old["LinkedTxn"] if old else []
    if "DocNumber" not in out:
        out["DocNumber"] = str(realm.next_doc_number)
        realm.next_doc_number += 1
    return out


def _is_subtotal(line: Any) -> bool:
    return isinstance(line, dict) and line.get("DetailType") == "SubTotalLineDetail"


def _req(fld: str) -> NoReturn:
    raise qc.missing(fld)


def prepare_payment(realm: Realm, doc: dict[str, Any], eid: str | None) -> dict[str, Any]:
    """Validate a Payment and compute UnappliedAmt; each line applies to one invoice."""
    customer_id = qc.ref_id(doc, "CustomerRef") or _req("CustomerRef")
    customer = realm.get("Customer", customer_id, "CustomerRef")
    currency = qc.ref_id(doc, "CurrencyRef") or customer["CurrencyRef"]["value"]
    if doc.get("TotalAmt") is None:
        raise qc.missing("TotalAmt")
    total = qc.money(doc["TotalAmt"], "TotalAmt", currency)
    old = realm.entities["Payment"].get(eid or "")
    undo = {_line_invoice(x): x["Amount"] for x in (old or {}).get("Line", [])}
    lines, applied = [], _ZERO
    for line in doc.get("Line") or []:
        amount = qc.money(
            line.get("Amount", 0) if isinstance(line, dict) else 0, "Line.Amount", currency
        )
        invoice_id = _line_invoice(line)
        invoice = realm.get("Invoice", invoice_id, "Line.LinkedTxn.TxnId")
        if qc.ref_id(invoice, "CustomerRef") != customer_id:
            raise qc.business(f"Invoice {invoice_id} belongs to another customer")
        if amount > invoice["Balance"] + undo.get(invoice_id, _ZERO):
            raise qc.business(
                f"Line.Amount {amount} is more than the balance of invoice {invoice_id}"
            )
        lines.append({**line, "Amount": amount})
        applied += amount
    if applied > total:
        raise qc.business(f"The lines apply {applied}, more than TotalAmt {total}")
    out = {**doc, "Line": lines, "TotalAmt": total, "UnappliedAmt": total - applied}
    out["CurrencyRef"] = realm.currency_ref(currency)
    out.setdefault("TxnDate", realm.today().isoformat())
    return out


def _line_invoice(line: Any) -> str:
    links = line.get("LinkedTxn") if isinstance(line, dict) else None
    if not links or not isinstance(links[0], dict) or links[0].get("TxnType") != "Invoice":
        raise qc.invalid(
            "Line.LinkedTxn", 'expected [{"TxnId": "<invoice Id>", "TxnType": "Invoice"}]'
        )
    return str(links[0].get("TxnId"))


def prepare_purchase(realm: Realm, doc: dict[str, Any], eid: str | None) -> dict[str, Any]:
    """Validate a Purchase (an expense; billable lines name the customer to re-bill)."""
    if doc.get("PaymentType") not in ("Cash", "Check", "CreditCard"):
        if "PaymentType" not in doc:
            raise qc.missing("PaymentType")
        raise qc.invalid("PaymentType", "Cash, Check or CreditCard")
    realm.get("Account", qc.ref_id(doc, "AccountRef") or _req("AccountRef"), "AccountRef")
    currency = qc.ref_id(doc, "CurrencyRef") or realm.currency
    lines = [_expense_line(realm, x, n, currency) for n, x in enumerate(doc.get("Line") or [], 1)]
    if not lines:
        raise qc.missing("Line")
    out = {**doc, "Line": lines, "TotalAmt": sum((x["Amount"] for x in lines), _ZERO)}
    out["CurrencyRef"] = realm.currency_ref(currency)
    out.setdefault("TxnDate", realm.today().isoformat())
    return out


def _expense_line(realm: Realm, line: Any, number: int, currency: str) -> dict[str, Any]:
    if not isinstance(line, dict) or line.get("Amount") is None:
        raise qc.missing("Line.Amount")
    detail = dict(line.get("AccountBasedExpenseLineDetail") or {})
    realm.get("Account", qc.ref_id(detail, "AccountRef") or _req("AccountRef"), "AccountRef")
    detail.setdefault("BillableStatus", "NotBillable")
    if detail["BillableStatus"] not in _BILLABLE:
        raise qc.invalid("BillableStatus", "Billable, NotBillable or HasBeenBilled")
    customer_id = qc.ref_id(detail, "CustomerRef")
    if customer_id is not None:
        realm.get("Customer", customer_id, "CustomerRef")
    elif detail["BillableStatus"] != "NotBillable":
        raise qc.missing("AccountBasedExpenseLineDetail.CustomerRef")
    out = {**line, "Id": str(number), "DetailType": "AccountBasedExpenseLineDetail"}
    out["Amount"] = qc.money(line["Amount"], "Line.Amount", currency)
    out["AccountBasedExpenseLineDetail"] = detail
    return out


Touched = list[tuple[str, str]]


def link(realm: Realm, entity: str, eid: str, doc: dict[str, Any], touched: Touched) -> None:
    """Apply the effects of a stored Invoice or Payment on the objects it links to."""
    if entity == "Invoice":
        for line in doc["Line"]:
            for ref in line.get("LinkedTxn") or []:
                _set_billing(realm, ref, "Billable", "HasBeenBilled", touched)
        _adjust_balance(realm, doc, doc["Balance"])
    elif entity == "Payment":
        for line in doc["Line"]:
            invoice_id = _line_invoice(line)
            invoice = realm.entities["Invoice"][invoice_id]
            realm.paid[invoice_id] = realm.paid.get(invoice_id, _ZERO) + line["Amount"]
            invoice["Balance"] -= line["Amount"]
            invoice["LinkedTxn"] = [*invoice["LinkedTxn"], {"TxnId": eid, "TxnType": "Payment"}]
            _adjust_balance(realm, doc, -line["Amount"])
            touched.append(("Invoice", invoice_id))


def unlink(realm: Realm, entity: str, eid: str, doc: dict[str, Any], touched: Touched) -> None:
    """Undo what :func:`link` did for ``doc`` (before an update or a delete)."""
    if entity == "Invoice":
        for line in doc["Line"]:
            for ref in line.get("LinkedTxn") or []:
                _set_billing(realm, ref, "HasBeenBilled", "Billable", touched)
        _adjust_balance(realm, doc, -doc["Balance"])
    elif entity == "Payment":
        for line in doc["Line"]:
            invoice_id = _line_invoice(line)
            invoice = realm.entities["Invoice"].get(invoice_id)
            if invoice is None:
                continue
            realm.paid[invoice_id] -= line["Amount"]
            invoice["Balance"] += line["Amount"]
            invoice["LinkedTxn"] = [x for x in invoice["LinkedTxn"] if x.get("TxnId") != eid]
            _adjust_balance(realm, doc, line["Amount"])
            touched.append(("Invoice", invoice_id))


def _set_billing(realm: Realm, ref: dict[str, Any], old: str, new: str, touched: Touched) -> None:
    kind, charge_id = ref["TxnType"], str(ref.get("TxnId"))
    charge = realm.entities[kind].get(charge_id)
    if charge is None:
        return
    if kind == "TimeActivity" and charge["BillableStatus"] == old:
        charge["BillableStatus"] = new
    for line in charge.get("Line", []) if kind == "Purchase" else []:
        detail = line["AccountBasedExpenseLineDetail"]
        if detail["BillableStatus"] == old:
            detail["BillableStatus"] = new
    touched.append((kind, charge_id))


def _adjust_balance(realm: Realm, doc: dict[str, Any], delta: Decimal) -> None:
    customer_id = str(doc["CustomerRef"]["value"])
    realm.balances[customer_id] = realm.balances.get(customer_id, _ZERO) + delta
    customer = realm.entities["Customer"].get(customer_id)
    if customer is not None:
        customer["Balance"] = customer["BalanceWithJobs"] = realm.balances[customer_id]


#: the validation function of each entity
PREPARE: dict[str, Callable[[Realm, dict[str, Any], str | None], dict[str, Any]]] = {
    "Account": prepare_account,
    "Customer": lambda r, d, i: prepare_named(r, "Customer", d, i),
    "Employee": lambda r, d, i: prepare_named(r, "Employee", d, i),
    "Invoice": prepare_invoice,
    "Item": prepare_item,
    "Payment": prepare_payment,
    "Purchase": prepare_purchase,
    "TimeActivity": prepare_time_activity,
    "Vendor": lambda r, d, i: prepare_named(r, "Vendor", d, i),
}
