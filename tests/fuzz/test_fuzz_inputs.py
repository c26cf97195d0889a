"""Hypothesis fuzzing of everything that parses outside input: webhooks, mappers, blueprints, CEL.

Each target may refuse input only with a ledgerbridge error that says what is wrong; any other
exception is a crash (a 500 from the API, a worker that loses a batch). Crashes found here are
kept as regression tests below.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledgerbridge import blueprints, errors
from ledgerbridge.api import _inbound
from ledgerbridge.connectors.kantata import _mapping as kantata
from ledgerbridge.connectors.quickbooks import _mapping as qbo
from ledgerbridge.connectors.quickbooks import _webhooks as qbo_webhooks
from tests.fuzz.strategies import (
    SHIPPED_LINES,
    cloud_events,
    edited_blueprint,
    erp_objects,
    json_values,
    kantata_events,
    qbo_legacy_bodies,
    records,
    xero_bodies,
)

IDS = {"tenant_id": "tnt_fuzz", "connection_id": "con_fuzz"}
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
CONDITIONS = [
    "record.hours > 0.0 && record.hours <= 24.0",
    "record.billable",
    "record.amount * 2.0 > record.total",
    "size(record.notes) > 3",
    "record.currency in ['USD', 'EUR']",
    "int(record.hours) / int(record.total) > 1",
]
COMPILED = [blueprints.compile_expression(c) for c in CONDITIONS]


def _only_our_errors(parse: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        return parse(*args, **kwargs)
    except errors.LedgerbridgeError as exc:
        assert exc.message.strip(), "a refusal must say what is wrong"
        return None


def _body(doc: Any) -> bytes:
    return json.dumps(doc, default=str).encode()


@FUZZ
@given(body=st.binary(max_size=200) | json_values.map(_body))
def test_generic_webhook_parser_refuses_only_with_record_error(body):
    """Any body given to the generic webhook parser gives events or a RecordError."""
    events = _only_our_errors(_inbound.generic_events, body, **IDS)
    assert events is None or all(e.tenant_id == IDS["tenant_id"] for e in events)


@FUZZ
@given(body=st.binary(max_size=200) | (json_values | cloud_events).map(_body))
def test_quickbooks_connector_webhook_parser_refuses_only_with_record_error(body):
    """The connector's QuickBooks notification parser names the bad field or returns notices."""
    _only_our_errors(qbo_webhooks.parse_notifications, body)


@FUZZ
@given(doc=qbo_legacy_bodies(valid_shapes=True) | cloud_events)
def test_api_quickbooks_webhook_parser_handles_well_shaped_notices(doc):
    """Notices with object-shaped entities parse or are refused with RecordError."""
    _only_our_errors(_inbound.quickbooks_events, _body(doc), **IDS)


@FUZZ
@given(doc=qbo_legacy_bodies(valid_shapes=False))
def test_api_quickbooks_webhook_parser_refuses_any_shape_with_record_error(doc):
    """Entities or dataChangeEvent of the wrong JSON type are a RecordError, not a crash."""
    _only_our_errors(_inbound.quickbooks_events, _body(doc), **IDS)


@FUZZ
@given(doc=xero_bodies)
def test_api_xero_webhook_parser_refuses_any_shape_with_record_error(doc):
    """A Xero events list with non-object items is a RecordError, not a crash."""
    _only_our_errors(_inbound.xero_events, _body(doc), **IDS)


def test_api_quickbooks_webhook_change_time_before_1970_is_a_record_error():
    """A notice dated 1969 is refused with a RecordError naming the change time."""
    entity = {
        "name": "Invoice",
        "id": "7",
        "operation": "Create",
        "lastUpdated": "1969-12-31T23:59:59Z",
    }
    doc = {"eventNotifications": [{"realmId": "1", "dataChangeEvent": {"entities": [entity]}}]}
    with pytest.raises(errors.RecordError, match="1969"):
        _inbound.quickbooks_events(_body(doc), **IDS)


@FUZZ
@given(event=kantata_events)
def test_kantata_feed_mapper_never_raises(event):
    """A feed event of any shape maps to a business event, to None, or to a mapping error."""
    result = kantata.to_business_event(event, lookups=kantata.Lookups(), **IDS)
    if result is not None and result.payload.get("record") is None:
        problem = result.payload["mapping_error"]
        assert problem["field"] and problem["message"]


@FUZZ
@given(raw=erp_objects)
def test_quickbooks_charge_mappers_refuse_only_with_record_error(raw):
    """ERP objects of any shape map to charges or give a RecordError naming the field."""
    _only_our_errors(qbo.time_activity_charge, raw, currency="USD")
    _only_our_errors(qbo.purchase_charges, raw, project_erp_id="1")
    _only_our_errors(qbo.erp_invoice, raw, [raw])
    _only_our_errors(qbo.source_version, raw)


def test_quickbooks_purchase_with_non_list_lines_is_a_record_error():
    """A Purchase whose Line is a number is refused with a RecordError naming Line."""
    with pytest.raises(errors.RecordError, match="Line"):
        qbo.purchase_charges({"Id": "1", "Line": 3}, project_erp_id="1")


@FUZZ
@given(text=edited_blueprint())
def test_blueprint_loader_reports_problems_with_line_and_path(text):
    """An edited blueprint loads, or every problem names a line and a dotted path or a message."""
    problems = blueprints.validate_text(text, source="edited.yaml")
    for problem in problems:
        assert problem.message.strip()
        assert 0 <= problem.line <= len(SHIPPED_LINES) + 2
        assert problem.line or problem.path or problem.message


@FUZZ
@given(text=st.text(max_size=60))
def test_blueprint_loader_refuses_any_text_with_problems(text):
    """Arbitrary text never crashes the loader: it gives problems or a blueprint."""
    try:
        blueprints.load_text(text)
    except errors.BlueprintError as exc:
        assert exc.problems


@FUZZ
@given(source=st.text(max_size=40))
def test_cel_compile_refuses_only_with_config_error(source):
    """Any expression text compiles or gives a ConfigError."""
    _only_our_errors(blueprints.compile_expression, source)


@FUZZ
@given(record=records)
def test_cel_evaluation_refuses_only_with_record_error(record):
    """Conditions on records of any JSON shape give a value or a RecordError naming a field."""
    for expression in COMPILED:
        _only_our_errors(expression.evaluate, {"record": record})
        _only_our_errors(expression.is_true, {"record": record})


def test_cel_evaluation_of_signalling_nan_is_a_record_error():
    """A record holding Decimal('sNaN') is refused with a RecordError, not a ValueError."""
    with pytest.raises(errors.RecordError):
        COMPILED[0].evaluate({"record": {"hours": Decimal("sNaN")}})
