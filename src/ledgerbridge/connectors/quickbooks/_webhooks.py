"""QuickBooks Online webhooks: check the ``intuit-signature`` and read the change notices.

Both payload formats are accepted: the legacy ``{"eventNotifications": [...]}`` object and
the CloudEvents array (``type`` = ``qbo.<entity>.<created|updated|...>.v1``). Neither carries
entity data; a receiver reads each entity by id. Everything here is pure.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from typing import Any, NamedTuple

import msgspec

from ledgerbridge import errors

__all__ = [
    "SIGNATURE_HEADER",
    "WebhookNotice",
    "parse_notifications",
    "sign",
    "verify_signature",
]

SIGNATURE_HEADER = "intuit-signature"
#: entity names as QuickBooks spells them, keyed by the lowercase form CloudEvents use
_ENTITIES = {
    name.lower(): name
    for name in (
        "Account",
        "Bill",
        "BillPayment",
        "Budget",
        "Class",
        "CreditMemo",
        "Currency",
        "Customer",
        "Department",
        "Deposit",
        "Employee",
        "Estimate",
        "Invoice",
        "Item",
        "JournalCode",
        "JournalEntry",
        "Payment",
        "PaymentMethod",
        "Preferences",
        "Purchase",
        "PurchaseOrder",
        "RefundReceipt",
        "SalesReceipt",
        "TaxAgency",
        "Term",
        "TimeActivity",
        "Transfer",
        "Vendor",
        "VendorCredit",
    )
}
_OPERATIONS = {
    "created": "Create",
    "updated": "Update",
    "deleted": "Delete",
    "merged": "Merge",
    "voided": "Void",
    "emailed": "Emailed",
}
_CLOUD_TYPE = re.compile(r"qbo\.([a-z]+)\.([a-z]+)\.v\d+")


class WebhookNotice(NamedTuple):
    """One change of one entity: which company, which entity, which id, which operation."""

    realm_id: str
    entity: str
    entity_id: str
    operation: str


def sign(body: bytes, verifier: str) -> str:
    """Return the ``intuit-signature`` of ``body``: base64(HMAC-SHA256(body, verifier))."""
    digest = hmac.new(verifier.encode(), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def verify_signature(body: bytes, signature: str | None, verifier: str) -> bool:
    """Return whether ``signature`` signs ``body`` (constant-time comparison).

    Args:
        body: the raw request body, exactly as received.
        signature: the ``intuit-signature`` header, or None when it was absent.
        verifier: the app's verifier token.
    """
    if not signature or not verifier:
        return False
    expected = sign(body, verifier).encode("ascii")
    return hmac.compare_digest(expected, signature.strip().encode("utf-8", "replace"))


def _text(value: Any, field: str) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int) or str(value).strip() == "":
        raise errors.RecordError(f"webhook {field} is missing or not text", field=field)
    return str(value)


def _object(value: Any, field: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise errors.RecordError(f"webhook {field} is not an object", field=field)
    return value


def _array(value: Any, field: str) -> list[Any]:
    if not isinstance(value, list):
        raise errors.RecordError(f"webhook {field} is not an array", field=field)
    return value


def _legacy(doc: dict[str, Any]) -> list[WebhookNotice]:
    notices = []
    for i, note in enumerate(_array(doc["eventNotifications"], "eventNotifications")):
        where = f"eventNotifications[{i}]"
        note = _object(note, where)
        realm = _text(note.get("realmId"), f"{where}.realmId")
        change = _object(note.get("dataChangeEvent"), f"{where}.dataChangeEvent")
        entities = _array(change.get("entities"), f"{where}.dataChangeEvent.entities")
        for j, entity in enumerate(entities):
            at = f"{where}.dataChangeEvent.entities[{j}]"
            entity = _object(entity, at)
            notices.append(
                WebhookNotice(
                    realm_id=realm,
                    entity=_text(entity.get("name"), f"{at}.name"),
                    entity_id=_text(entity.get("id"), f"{at}.id"),
                    operation=_text(entity.get("operation"), f"{at}.operation"),
                )
            )
    return notices


def _cloud_event(event: Any, where: str) -> WebhookNotice:
    event = _object(event, where)
    kind = _text(event.get("type"), f"{where}.type")
    match = _CLOUD_TYPE.fullmatch(kind)
    if match is None:
        raise errors.RecordError(
            f"webhook {where}.type {kind[:60]!r} is not qbo.<entity>.<operation>.v<n>",
            field=f"{where}.type",
        )
    entity, operation = match.groups()
    return WebhookNotice(
        realm_id=_text(event.get("intuitaccountid"), f"{where}.intuitaccountid"),
        entity=_ENTITIES.get(entity, entity[:1].upper() + entity[1:]),
        entity_id=_text(event.get("intuitentityid"), f"{where}.intuitentityid"),
        operation=_OPERATIONS.get(operation, operation.capitalize()),
    )


def parse_notifications(body: bytes) -> list[WebhookNotice]:
    """Return the change notices of one webhook delivery, in either payload format.

    Raises:
        RecordError: the body is not JSON or a field is missing or malformed (``field`` names it).
    """
    try:
        doc = msgspec.json.decode(body)
    except (msgspec.DecodeError, UnicodeDecodeError):
        raise errors.RecordError("webhook body is not valid JSON", field="body") from None
    if isinstance(doc, list):
        return [_cloud_event(event, f"[{i}]") for i, event in enumerate(doc)]
    if isinstance(doc, dict) and "eventNotifications" in doc:
        return _legacy(doc)
    raise errors.RecordError(
        "webhook body is neither an eventNotifications object nor a CloudEvents array",
        field="body",
    )
