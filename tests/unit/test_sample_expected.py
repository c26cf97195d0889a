"""Tests that the expected totals equal a plain replay of the generated ops."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledgerbridge.model import is_known_currency
from ledgerbridge.sample import SampleConfig, generate

CENT = Decimal("0.01")


def amount(minutes, rate):
    hours = Decimal(minutes) / Decimal(60)
    return (hours * Decimal(rate) / Decimal(100)).quantize(CENT, rounding=ROUND_HALF_UP)


def is_clean(record, state):
    workspace = state["workspaces"][record["workspace_id"]]
    client = state["organizations"][workspace["organization_id"]]
    minutes = record.get("time_in_minutes", 1)
    return (
        0 < minutes <= 1440
        and is_known_currency(record["currency"])
        and record["currency"] == workspace["currency"] == client["currency"]
        and not (record["billable"] and record.get("rate_in_cents", 1) is None)
    )


class Replay:
    """Applies ops in order and bills like a PSA does when a milestone completes."""

    def __init__(self):
        self.state = defaultdict(dict)
        self.by_workspace = defaultdict(lambda: defaultdict(list))
        self.invoiced: set[tuple[str, str]] = set()
        self.changed_after_invoiced: set[str] = set()
        self.invoices = {}

    def apply(self, op):
        records, fields = self.state[op["resource"]], op["fields"]
        if op["op"] == "create":
            records[op["id"]] = dict(fields)
            if op["resource"] in ("time_entries", "expenses"):
                self.by_workspace[op["resource"]][fields["workspace_id"]].append(op["id"])
            return
        if ("time_entries", op["id"]) in self.invoiced and fields.keys() & {
            "time_in_minutes",
            "notes",
        }:
            self.changed_after_invoiced.add(op["id"])
        records[op["id"]].update(fields)
        if op["resource"] == "stories" and fields.get("state") == "completed":
            self.bill(op["id"])

    def bill(self, story_id):
        story = self.state["stories"][story_id]
        workspace = self.state["workspaces"][story["workspace_id"]]
        totals = {"time_entries": Decimal("0.00"), "expenses": Decimal("0.00")}
        for resource in totals:
            for id_ in self.by_workspace[resource][story["workspace_id"]]:
                record = self.state[resource][id_]
                if (resource, id_) in self.invoiced or not record["approved"]:
                    continue
                if not record["billable"] or not is_clean(record, self.state):
                    continue
                self.invoiced.add((resource, id_))
                if resource == "time_entries":
                    totals[resource] += amount(record["time_in_minutes"], record["rate_in_cents"])
                else:
                    totals[resource] += Decimal(record["amount_in_cents"]) / 100
        fee = Decimal(story["price_in_cents"]) / 100
        self.invoices[story_id] = (
            story["workspace_id"],
            workspace["currency"],
            fee,
            totals["time_entries"],
            totals["expenses"],
        )

    def approved(self, resource):
        totals = defaultdict(Decimal)
        for record_id, record in self.state[resource].items():
            if resource == "time_entries" and record_id in self.changed_after_invoiced:
                continue
            if record["approved"] and record["billable"] and is_clean(record, self.state):
                key = (record["workspace_id"], record["currency"])
                if resource == "time_entries":
                    totals[key] += amount(record["time_in_minutes"], record["rate_in_cents"])
                else:
                    totals[key] += Decimal(record["amount_in_cents"]) / 100
        return dict(totals)


def replay(ops):
    result = Replay()
    for op in ops:
        result.apply(op)
    return result


def assert_matches(dataset):
    result = replay(dataset.ops)
    expected = dataset.expected
    assert expected.approved_time == result.approved("time_entries")
    assert expected.approved_expenses == result.approved("expenses")
    assert {
        story_id: (i.workspace_id, i.currency, i.fee, i.time, i.expenses)
        for story_id, i in expected.invoices.items()
    } == result.invoices
    seeded = {p.id for p in dataset.problems if p.kind == "changed_after_invoiced"}
    assert seeded == result.changed_after_invoiced
    entries, expenses = result.state["time_entries"], result.state["expenses"]
    assert expected.counts == {
        "time_entries": len(entries),
        "expenses": len(expenses),
        "approved_time_entries": sum(r["approved"] for r in entries.values()),
        "approved_expenses": sum(r["approved"] for r in expenses.values()),
        "billable_time_entries": sum(r["billable"] for r in entries.values()),
        "billable_expenses": sum(r["billable"] for r in expenses.values()),
    }


def assert_no_floats(value, where="ops"):
    assert not isinstance(value, float), where
    if isinstance(value, dict):
        for key, item in value.items():
            assert_no_floats(key, where)
            assert_no_floats(item, f"{where}.{key}")
    elif isinstance(value, list | tuple):
        for item in value:
            assert_no_floats(item, where)


@pytest.mark.parametrize("months", [1, 2])
def test_sample_expected_totals_equal_a_replay_of_the_ops(months):
    """Approved totals, invoices and counts equal a plain replay of the default firm's ops."""
    assert_matches(generate(SampleConfig(months=months, seed=months)))


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**32),
    months=st.integers(1, 3),
    start=st.sampled_from([dt.date(2026, 10, 1), dt.date(2026, 11, 1), dt.date(2027, 1, 1)]),
    problem_rate=st.sampled_from([0.0, 0.1, 0.4]),
)
def test_sample_expected_totals_equal_a_replay_for_any_seed(seed, months, start, problem_rate):
    """For small firms and any seed the expected totals equal the replay."""
    config = SampleConfig(
        seed=seed,
        months=months,
        start=start,
        people=25,
        clients=5,
        projects=10,
        entries_per_month=600,
        expenses_per_month=80,
        problem_rate=problem_rate,
    )
    assert_matches(generate(config))


def test_sample_money_is_never_a_float():
    """No op field and no expected total is a float; totals are Decimal."""
    dataset = generate(SampleConfig(entries_per_month=2000, expenses_per_month=300))
    assert_no_floats(dataset.ops)
    expected = dataset.expected
    for totals in (expected.approved_time, expected.approved_expenses, expected.invoiced()):
        assert totals and all(type(v) is Decimal for v in totals.values())
    for invoice in expected.invoices.values():
        assert all(type(v) is Decimal for v in (invoice.fee, invoice.time, invoice.expenses))
    assert all(type(v) is Decimal for row in expected.by_currency().values() for v in row.values())


def test_sample_time_and_materials_invoices_cover_the_months_approved_work():
    """T&M billing invoices the approved time, plus entries changed only after invoicing."""
    dataset = generate(SampleConfig(months=2, entries_per_month=3000, expenses_per_month=400))
    invoices = [
        i for i in dataset.expected.invoices.values() if i.billing_type == "time_and_materials"
    ]
    assert len(invoices) == 2 * len({i.workspace_id for i in invoices})
    assert all(i.fee == 0 for i in invoices)
    changed = {p.id for p in dataset.problems if p.kind == "changed_after_invoiced"}
    assert len(changed) == 10
    at_creation = sum(
        amount(op["fields"]["time_in_minutes"], op["fields"]["rate_in_cents"])
        for op in dataset.ops
        if op["op"] == "create" and op["id"] in changed and op["resource"] == "time_entries"
    )
    billed = sum(i.time for i in invoices)
    assert billed == sum(dataset.expected.approved_time.values()) + at_creation
