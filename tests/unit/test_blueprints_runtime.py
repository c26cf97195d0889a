"""The runtime API of a loaded blueprint: flows, quality, mappings, approvals, modes."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from ledgerbridge import blueprints
from ledgerbridge.errors import ConfigError, RecordError

CASES = Path(__file__).parent / "blueprint_cases"


@pytest.fixture(scope="module")
def delivery():
    return blueprints.load_file(CASES / "valid_delivery.yaml")


def entry(**changes):
    record = {
        "hours": Decimal("7.5"),
        "billable": True,
        "role": "Consultant",
        "notes": "design review",
        "total": Decimal("1200.00"),
    }
    record.update(changes)
    return record


def test_blueprints_valid_example_loads_with_its_parts(delivery):
    """The example loads: name, version, flows, steps, mode and system of record."""
    assert (delivery.name, delivery.version) == ("delivery-to-cash", 3)
    flow = delivery.flow("post_time")
    assert delivery.flows == (flow,)
    assert flow.trigger.event == "time_entry.approved"
    assert flow.mode == blueprints.Mode(kind="realtime")
    assert flow.quality == ("hours_range",)
    assert flow.approval == "large_invoice"
    assert flow.steps == (
        blueprints.StepSpec(
            name="post", kind="erp.post_time", connection="erp", map="time_activity", params={}
        ),
    )
    assert delivery.owner("customer") == "erp"
    assert delivery.owner("project") == "psa"
    assert delivery.owner("invoice") is None


def test_blueprints_flows_for_matches_event_and_when(delivery):
    """flows_for returns a flow only for its event type and when its condition is true."""
    flow = delivery.flow("post_time")
    assert delivery.flows_for("time_entry.approved", entry()) == [flow]
    assert delivery.flows_for("time_entry.approved", entry(billable=False)) == []
    assert delivery.flows_for("expense.approved", entry()) == []


def test_blueprints_flows_for_missing_field_is_a_record_error(delivery):
    """A condition over a field the record lacks raises RecordError naming the field."""
    record = entry()
    del record["billable"]
    with pytest.raises(RecordError) as caught:
        delivery.flows_for("time_entry.approved", record)
    assert caught.value.field == "record.billable"
    assert "'record.billable'" in caught.value.message


def test_blueprints_check_quality_hours_25_violates_hours_range(delivery):
    """25 hours break hours_range with the rule's own message; 8 hours pass."""
    flow = delivery.flow("post_time")
    assert delivery.check_quality(flow, entry(hours=Decimal("25"))) == [
        blueprints.Violation(
            rule="hours_range", field="hours", message="hours must be more than 0 and at most 24"
        )
    ]
    assert delivery.check_quality(flow, entry(hours=Decimal("8"))) == []
    assert delivery.check_quality(flow, entry(hours=Decimal("24.00"))) == []


def test_blueprints_check_quality_unevaluable_rule_is_a_violation(delivery):
    """A record without the rule's field breaks the rule, and the message says what is missing."""
    record = entry()
    del record["hours"]
    (violation,) = delivery.check_quality(delivery.flow("post_time"), record)
    assert violation.rule == "hours_range"
    assert "record.hours" in violation.message


def test_blueprints_check_quality_skips_rules_for_other_object_types():
    """A rule whose applies_to is not the trigger's object type is not applied."""
    text = (
        (CASES / "valid_delivery.yaml")
        .read_text()
        .replace("applies_to: time_entry", "applies_to: expense")
    )
    blueprint = blueprints.load_text(text)
    flow = blueprint.flow("post_time")
    assert blueprint.check_quality(flow, entry(hours=Decimal("25"))) == []


def test_blueprints_apply_mapping_paths_lookups_and_expressions(delivery):
    """apply_mapping fills paths, defaults, lookups (with _default) and CEL fields as Decimals."""
    assert delivery.apply_mapping("time_activity", {"record": entry()}) == {
        "Description": "design review",
        "ItemRef": "Consulting",
        "Hours": Decimal("7.5"),
    }
    out = delivery.apply_mapping("time_activity", {"record": entry(role="Intern", notes=None)})
    assert out["ItemRef"] == "Services"
    assert out["Description"] == ""
    assert isinstance(out["Hours"], Decimal)


def test_blueprints_apply_mapping_missing_path_without_default_names_field():
    """A missing path with no default raises RecordError naming the field."""
    text = (
        (CASES / "valid_delivery.yaml")
        .read_text()
        .replace('{path: record.notes, default: ""}', "{path: record.notes}")
    )
    blueprint = blueprints.load_text(text)
    record = entry()
    del record["notes"]
    with pytest.raises(RecordError) as caught:
        blueprint.apply_mapping("time_activity", {"record": record})
    assert caught.value.field == "record.notes"
    assert "'Description'" in caught.value.message


def test_blueprints_apply_mapping_unknown_name_is_a_config_error(delivery):
    """Asking for a mapping the blueprint lacks is a ConfigError with a hint."""
    with pytest.raises(ConfigError) as caught:
        delivery.apply_mapping("time_activty", {"record": entry()})
    assert caught.value.hint == "did you mean time_activity?"


def test_blueprints_approval_for_large_total(delivery):
    """approval_for returns the policy only when its condition holds."""
    flow = delivery.flow("post_time")
    policy = delivery.approval_for(flow, entry(total=Decimal("50000.01")))
    assert policy is not None
    assert (policy.name, policy.role) == ("large_invoice", "partner_operator")
    assert delivery.approval_for(flow, entry(total=Decimal("50000.00"))) is None


def test_blueprints_effective_mode_honours_modes_allowed():
    """A deployment may switch a flow to batch only when modes_allowed lists it."""
    text = (CASES / "valid_delivery.yaml").read_text()
    allowed = blueprints.load_text(
        text.replace(
            "mode: realtime",
            "mode: {batch: {every: day, at: '18:00'}}\n    modes_allowed: [realtime, batch]",
        )
    ).flow("post_time")
    assert allowed.effective_mode(None) == blueprints.Mode(kind="batch", every="day", at="18:00")
    assert allowed.effective_mode("batch") == allowed.mode
    assert allowed.effective_mode("realtime") == blueprints.Mode(kind="realtime")
    fixed = blueprints.load_text(text).flow("post_time")
    with pytest.raises(ConfigError) as caught:
        fixed.effective_mode("batch")
    assert caught.value.hint == "modes_allowed: realtime"


def test_blueprints_digest_changes_with_content_only():
    """The digest ignores comments and layout but changes when a value changes."""
    text = (CASES / "valid_delivery.yaml").read_text()
    first = blueprints.load_text(text).digest
    assert blueprints.load_text("# comment\n" + text).digest == first
    assert blueprints.load_text(text.replace("version: 3", "version: 4")).digest != first
    assert len(first) == 64
