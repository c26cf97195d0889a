"""CEL expressions: compiled once, evaluated on Decimal records, errors as RecordError."""

from __future__ import annotations

from decimal import Decimal

import cel
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledgerbridge import blueprints
from ledgerbridge.blueprints._cel import VARIABLES, from_cel, to_cel
from ledgerbridge.errors import ConfigError, RecordError


def test_blueprints_cel_decimal_arithmetic_returns_decimal():
    """Decimals go in as doubles and numeric results come back as Decimal(str(x))."""
    total = blueprints.compile_expression("record.hours * record.rate")
    result = total.evaluate({"record": {"hours": Decimal("7.5"), "rate": Decimal("120.10")}})
    assert result == Decimal("900.75")
    assert isinstance(result, Decimal)


def test_blueprints_cel_nested_results_have_no_floats():
    """Doubles inside lists and maps of a result become Decimals too."""
    value = blueprints.compile_expression("{'a': [record.x, 2.5]}").evaluate(
        {"record": {"x": Decimal("1.25")}}
    )
    assert value == {"a": [Decimal("1.25"), Decimal("2.5")]}


def test_blueprints_cel_missing_field_names_expression_and_field():
    """A missing field raises RecordError whose message and field name it."""
    condition = blueprints.compile_expression("record.hours > 0.0")
    with pytest.raises(RecordError) as caught:
        condition.is_true({"record": {}})
    assert caught.value.field == "record.hours"
    assert caught.value.message == (
        "expression 'record.hours > 0.0' reads record.hours, which the record does not have"
    )


def test_blueprints_cel_type_error_is_a_record_error():
    """Comparing a string with a number raises RecordError naming the fields read."""
    condition = blueprints.compile_expression("record.hours > 0.0")
    with pytest.raises(RecordError) as caught:
        condition.is_true({"record": {"hours": "eight"}})
    assert caught.value.field == "record.hours"
    assert caught.value.message.startswith(
        "expression 'record.hours > 0.0' cannot be evaluated (record.hours): No such overload"
    )


def test_blueprints_cel_non_boolean_condition_is_a_record_error():
    """A condition that yields a number instead of true/false is refused."""
    with pytest.raises(RecordError, match="not true or false"):
        blueprints.compile_expression("record.hours").is_true({"record": {"hours": 3}})


def test_blueprints_cel_syntax_error_is_a_config_error_with_position():
    """An expression that does not parse is a ConfigError carrying line:column."""
    with pytest.raises(ConfigError) as caught:
        blueprints.compile_expression("record.hours >")
    assert caught.value.field == "1:15"
    assert caught.value.message == (
        "invalid CEL expression: Syntax error: mismatched input '<EOF>' (at 1:15 of the expression)"
    )


def test_blueprints_cel_unknown_variable_is_refused_at_compile_time():
    """Only record, event and context may be used."""
    with pytest.raises(ConfigError, match="unknown variable 'recrod'"):
        blueprints.compile_expression("recrod.hours > 1.0")


def test_blueprints_cel_event_and_context_are_available():
    """Expressions can read the event and the run context."""
    condition = blueprints.compile_expression("event.source == 'harvest' && context.tenant == 't1'")
    assert condition.is_true(
        {"record": {}, "event": {"source": "harvest"}, "context": {"tenant": "t1"}}
    )


def test_blueprints_cel_macro_variables_are_not_unknown_variables():
    """``l`` in ``record.lines.all(l, …)`` is bound by the macro, not an outside variable."""
    every = blueprints.compile_expression("record.lines.all(l, l.amount > 0.0)")
    lines = [{"amount": Decimal("2.50")}, {"amount": Decimal("0.01")}]
    assert every.is_true({"record": {"lines": lines, "other": "x"}})
    assert not every.is_true({"record": {"lines": [*lines, {"amount": Decimal("0")}]}})


EXPRESSIONS = [
    "record.hours > 0.0 && record.hours <= 24.0",
    "has(record.fee) && record.fee != null",
    "record['hours'] > 1.0",
    "size(record) > 2",
    "record.kind == 'record' || event.type == 'time_entry.approved'",
    "record.lines.exists(l, l.amount > 100.0)",
    "context.tenant == 'acme' && record . hours < 8.0",
]
FIELD_VALUES = st.one_of(
    st.decimals(min_value=-50, max_value=500, places=2),
    st.text(max_size=5),
    st.none(),
    st.booleans(),
)
RECORDS = st.fixed_dictionaries(
    {},
    optional={
        "hours": st.decimals(min_value=0, max_value=30, places=2),
        "fee": st.one_of(st.none(), st.decimals(min_value=0, max_value=10**6, places=2)),
        "kind": st.sampled_from(["record", "other"]),
        "lines": st.lists(
            st.fixed_dictionaries({"amount": st.decimals(min_value=0, max_value=200, places=2)}),
            max_size=3,
        ),
        "notes": FIELD_VALUES,
        "rate": FIELD_VALUES,
    },
)


@given(source=st.sampled_from(EXPRESSIONS), record=RECORDS, tenant=st.sampled_from(["acme", "x"]))
def test_blueprints_cel_sees_only_fields_it_reads_with_the_same_result(source, record, tenant):
    """Handing an expression only the fields it names never changes its outcome."""
    expression = blueprints.compile_expression(source)
    activation = {
        "record": record,
        "event": {"type": "time_entry.approved", "id": "e-1"},
        "context": {"tenant": tenant, "today": "2026-11-26"},
    }
    whole = {name: to_cel(activation[name]) for name in VARIABLES}
    try:
        expected: object = from_cel(cel.compile(source).execute(whole))
    except Exception:
        expected = RecordError
    try:
        got: object = expression.evaluate(activation)
    except RecordError:
        got = RecordError
    assert got == expected
