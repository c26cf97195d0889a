"""Shared pieces of the QuickBooks Online sandbox: Fault errors, time stamps and value checks."""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from ledgerbridge import model

#: entity names as they appear in bodies and queries, keyed by their lowercase URL form
ENTITY_BY_PATH = {
    name.lower(): name
    for name in (
        "Account",
        "Customer",
        "Employee",
        "Invoice",
        "Item",
        "Payment",
        "Purchase",
        "TimeActivity",
        "Vendor",
    )
}
ENTITIES = frozenset(ENTITY_BY_PATH.values())
#: entities whose DisplayName shares one namespace
NAMED = frozenset({"Customer", "Employee", "Vendor"})
#: entities that support ``operation=delete`` (lists are deactivated with ``Active: false``)
DELETABLE = frozenset({"Invoice", "Payment", "Purchase", "TimeActivity"})


class QboFault(Exception):
    """A request the sandbox refuses, rendered as a QuickBooks ``Fault`` body."""

    def __init__(
        self,
        code: str,
        message: str,
        detail: str,
        *,
        status: int = 400,
        fault_type: str = "ValidationFault",
        element: str = "",
    ) -> None:
        super().__init__(f"{code} {message}: {detail}")
        self.code = code
        self.message = message
        self.detail = detail
        self.status = status
        self.fault_type = fault_type
        self.element = element

    def body(self, time: str) -> dict[str, Any]:
        """Return the JSON body of this fault."""
        error = {"Message": self.message, "Detail": self.detail, "code": self.code}
        error["element"] = self.element
        return {"Fault": {"Error": [error], "type": self.fault_type}, "time": time}


def gateway_fault(status: int) -> QboFault:
    """Return the fault that the API gateway answers for 401, 429 and injected 5xx errors."""
    if status == 401:
        return QboFault(
            "3200",
            "message=AuthenticationFailed; errorCode=003200; statusCode=401",
            "Token invalid or expired",
            status=401,
            fault_type="AUTHENTICATION",
        )
    if status == 429:
        return QboFault(
            "3001",
            "message=ThrottleExceeded; errorCode=003001; statusCode=429",
            "The request limit was reached.",
            status=429,
            fault_type="SERVICE",
        )
    return QboFault(
        "10000",
        "An application error has occurred while processing your request",
        "System Failure Error: the service is temporarily unavailable",
        status=status,
        fault_type="SystemFault",
    )


def missing(field: str) -> QboFault:
    """Return Fault 2020 for a required field that is absent."""
    return QboFault(
        "2020",
        "Required param missing, need to supply the required value for the API",
        f"Required parameter {field} is missing in the request",
        element=field,
    )


def invalid(field: str, why: str) -> QboFault:
    """Return Fault 2010 for a field with an unsupported value."""
    return QboFault(
        "2010",
        "Request has invalid or unsupported property",
        f"Property {field}: {why}",
        element=field,
    )


def business(detail: str) -> QboFault:
    """Return Fault 6000 for a business rule the request breaks."""
    return QboFault(
        "6000", "A business validation error has occurred while processing your request", detail
    )


def not_found(entity: str, entity_id: str) -> QboFault:
    """Return Fault 610 for an object that does not exist."""
    return QboFault(
        "610",
        "Object Not Found",
        f"Object Not Found : Something you're trying to use has been made inactive. "
        f"Check the fields with accounts, customers, items, vendors or employees. ({entity} {entity_id})",
    )


def bad_reference(field: str, ref_id: Any) -> QboFault:
    """Return Fault 2500 for a reference to an object that does not exist."""
    return QboFault(
        "2500",
        "Invalid Reference Id",
        f"Invalid Reference Id : {field} {ref_id!s:.60} does not exist",
        element=field,
    )


def timestamp(moment: dt.datetime) -> str:
    """Render a MetaData time: seconds precision with a UTC offset."""
    return moment.astimezone(dt.UTC).isoformat(timespec="seconds")


def response_time(moment: dt.datetime) -> str:
    """Render the ``time`` of a response envelope (milliseconds)."""
    return moment.astimezone(dt.UTC).isoformat(timespec="milliseconds")


def decimal(value: Any, field: str) -> Decimal:
    """Return ``value`` as a Decimal, refusing booleans, floats and text that is not a number."""
    if isinstance(value, bool) or not isinstance(value, int | Decimal | str):
        raise invalid(field, "expected a number")
    try:
        result = Decimal(value.strip()) if isinstance(value, str) else Decimal(value)
    except InvalidOperation:
        raise invalid(field, "expected a number") from None
    if not result.is_finite():
        raise invalid(field, "expected a finite number")
    return result


def money(value: Any, field: str, currency: str) -> Decimal:
    """Return ``value`` rounded half-up to the minor units of ``currency``."""
    places = model.CURRENCY_MINOR_UNITS.get(currency, 2)
    return decimal(value, field).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def ref_id(doc: dict[str, Any], field: str) -> str | None:
    """Return the ``value`` of the reference ``field``, or None when it is absent."""
    ref = doc.get(field)
    if ref is None:
        return None
    if not isinstance(ref, dict) or not isinstance(ref.get("value"), str | int):
        raise invalid(field, 'expected {"value": "<Id>"}')
    return str(ref["value"])


def whole(value: Any, field: str) -> int:
    """Return ``value`` as a non-negative int."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise invalid(field, "expected a whole number >= 0")
    return value
