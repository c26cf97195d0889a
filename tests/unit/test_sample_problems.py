"""Tests that seeded problems break the data rules and that nothing else does."""

from __future__ import annotations

import datetime as dt

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledgerbridge.model import is_known_currency
from ledgerbridge.sample import SampleConfig, generate

small_configs = st.builds(
    SampleConfig,
    seed=st.integers(0, 2**32),
    months=st.integers(1, 2),
    start=st.sampled_from([dt.date(2026, 10, 1), dt.date(2026, 12, 1), dt.date(2027, 2, 1)]),
    people=st.integers(1, 40),
    clients=st.just(4),
    projects=st.integers(4, 12),
    entries_per_month=st.integers(0, 400),
    expenses_per_month=st.integers(0, 80),
    problem_rate=st.sampled_from([0.0, 0.05, 0.3]),
    invoiced_edits_per_month=st.integers(0, 3),
)


def final_state(ops):
    """Replay the ops into the final record of every id, per resource."""
    state: dict[str, dict[str, dict]] = {}
    for op in ops:
        records = state.setdefault(op["resource"], {})
        if op["op"] == "create":
            records[op["id"]] = dict(op["fields"])
        elif op["op"] == "update":
            records[op["id"]].update(op["fields"])
        else:
            del records[op["id"]]
    return state


def violations(record, state, resource):
    """Return the rule kinds one time entry or expense breaks."""
    found = set()
    workspace = state["workspaces"][record["workspace_id"]]
    client = state["organizations"][workspace["organization_id"]]
    if resource == "time_entries":
        if not 0 < record["time_in_minutes"] <= 24 * 60:
            found.add("hours_out_of_range")
        if record["billable"] and record["rate_in_cents"] is None:
            found.add("missing_rate")
    if not is_known_currency(record["currency"]):
        found.add("unknown_currency")
    elif not record["currency"] == workspace["currency"] == client["currency"]:
        found.add("currency_mismatch")
    return found


def check_rules(dataset):
    state = final_state(dataset.ops)
    seeded = {(p.resource, p.id): p for p in dataset.problems}
    for resource in ("time_entries", "expenses"):
        for id_, record in state.get(resource, {}).items():
            broken = violations(record, state, resource)
            problem = seeded.get((resource, id_))
            if problem is None or problem.kind == "changed_after_invoiced":
                assert broken == set(), (resource, id_, broken)
            else:
                assert broken == {problem.kind}, (resource, id_, broken, problem)
                assert problem.field in record
                assert problem.reason_contains == problem.reason_contains.lower()
    for id_, workspace in state.get("workspaces", {}).items():
        assert (
            workspace["currency"]
            == state["organizations"][workspace["organization_id"]]["currency"]
        ), id_


def test_sample_default_problems_break_exactly_their_rule():
    """In the default month every seeded problem breaks its rule and nothing else is broken."""
    dataset = generate(
        SampleConfig(entries_per_month=5000, expenses_per_month=1000, problem_rate=0.05)
    )
    kinds = {p.kind for p in dataset.problems}
    assert kinds == {
        "hours_out_of_range",
        "unknown_currency",
        "currency_mismatch",
        "missing_rate",
        "changed_after_invoiced",
    }
    check_rules(dataset)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(config=small_configs)
def test_sample_problems_match_the_rules_for_any_seed(config):
    """For any seed and size, seeded problems and only they break the data rules."""
    check_rules(generate(config))


def test_sample_problem_records_are_created_and_approved_like_others():
    """Each problem record has a create op and an approval op like a normal one."""
    dataset = generate(
        SampleConfig(entries_per_month=3000, expenses_per_month=500, problem_rate=0.05)
    )
    history: dict[tuple[str, str], list[dict]] = {}
    for op in dataset.ops:
        history.setdefault((op["resource"], op["id"]), []).append(op)
    for problem in dataset.problems:
        ops = history[problem.resource, problem.id]
        assert ops[0]["op"] == "create" and ops[0]["fields"]["approved"] is False
        assert {"approved": True} in [op["fields"] for op in ops]
