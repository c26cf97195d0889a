"""Properties of the blueprint language, checked with Hypothesis."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledgerbridge import blueprints
from ledgerbridge.errors import BlueprintError, RecordError

CASES = Path(__file__).parent / "blueprint_cases"
VALID = (CASES / "valid_delivery.yaml").read_text()
WORDS = [
    "blueprint", "version", "schema_version", "connections", "flows", "steps", "trigger",
    "event", "when", "mode", "batch", "every", "at", "name", "kind", "connection", "map",
    "mappings", "fields", "path", "lookup", "key", "expr", "default", "lookups", "quality",
    "approval", "approvals", "data_quality", "rule", "role", "erp", "time_entry.approved",
    "record.hours > 1.0", "record.", "realtime", "<<", "_default",
]  # fmt: skip
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-5, max_value=5),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(WORDS),
    st.text(max_size=12),
)
trees = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.sampled_from(WORDS), children, max_size=5),
    ),
    max_leaves=25,
)
yamlish = st.text(alphabet=st.sampled_from(list(":-[]{}#&*!|>'\"\n  abc01.?,%@`\t")), max_size=80)
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def load_only_blueprint_errors(text):
    try:
        blueprints.load_text(text)
    except BlueprintError as exc:
        assert exc.problems
        assert all(isinstance(p, blueprints.Problem) for p in exc.problems)


@FAST
@given(yamlish)
def test_blueprints_loader_raises_only_blueprint_error_on_yamlish_text(text):
    """Arbitrary YAML-like text either loads or raises BlueprintError, nothing else."""
    load_only_blueprint_errors(text)


@FAST
@given(trees)
def test_blueprints_loader_raises_only_blueprint_error_on_arbitrary_trees(tree):
    """Arbitrary trees built from blueprint words never crash the loader."""
    load_only_blueprint_errors(json.dumps(tree, allow_nan=True))


@FAST
@given(st.dictionaries(st.sampled_from(WORDS), trees, max_size=4))
def test_blueprints_loader_survives_mutations_of_a_valid_flow(extra):
    """Replacing parts of a valid flow with arbitrary trees gives problems, not crashes."""
    document = json.loads(json.dumps(_valid_as_json()))
    document["flows"][0].update(extra)
    load_only_blueprint_errors(json.dumps(document))


def _valid_as_json():
    return json.loads(json.dumps(blueprints.load_text(VALID).document, default=str))


def _no_floats(value):
    if isinstance(value, dict):
        return all(_no_floats(v) for v in value.values())
    if isinstance(value, list):
        return all(_no_floats(v) for v in value)
    return not isinstance(value, float)


BLUEPRINT = blueprints.load_text(VALID)
records = st.fixed_dictionaries(
    {
        "hours": st.one_of(
            st.decimals(allow_nan=False, allow_infinity=False, places=2),
            st.floats(allow_nan=False),
        ),
        "role": st.one_of(st.sampled_from(["Consultant", "Partner", "Intern"]), st.integers()),
        "notes": st.one_of(st.none(), st.text(max_size=5), st.floats()),
    }
)


@FAST
@given(records)
def test_blueprints_apply_mapping_never_returns_floats(record):
    """Whatever numbers go in, apply_mapping hands back Decimals, never floats."""
    try:
        out = BLUEPRINT.apply_mapping("time_activity", {"record": record})
    except RecordError:
        return
    assert _no_floats(out)
    assert isinstance(out["Hours"], Decimal)


amounts = st.decimals(
    min_value=Decimal("-1e12"), max_value=Decimal("1e12"), places=2, allow_nan=False
)
OPERATORS = {
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
}


@settings(max_examples=300, deadline=None)
@given(amounts, amounts, st.sampled_from(sorted(OPERATORS)))
def test_blueprints_cel_decimal_comparisons_agree_with_python(amount, limit, operator):
    """`record.total <op> <literal>` in CEL agrees with the same Decimal comparison in Python."""
    literal = f"{limit:.2f}"
    condition = blueprints.compile_expression(f"record.total {operator} {literal}")
    assert condition.is_true({"record": {"total": amount}}) == OPERATORS[operator](amount, limit)


@settings(max_examples=200, deadline=None)
@given(amounts, amounts)
def test_blueprints_cel_decimal_fields_compare_like_python(left, right):
    """Two Decimal fields compare in CEL as they do in Python."""
    condition = blueprints.compile_expression("record.a < record.b")
    assert condition.is_true({"record": {"a": left, "b": right}}) == (left < right)


@pytest.mark.parametrize("section", ["approvals", "data_quality"])
def test_blueprints_loader_reports_a_name_that_is_not_text(section):
    """A rule or approval named by a list is a problem in the file, not a crash (found by
    the arbitrary-trees property above)."""
    with pytest.raises(BlueprintError) as caught:
        blueprints.load_text(json.dumps({"blueprint": "x", section: [{"name": ["a"]}]}))
    assert any(p.path == f"{section}.0.name" for p in caught.value.problems)
