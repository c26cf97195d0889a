"""Tests of the sample generator: determinism, volumes, ordering and referential integrity."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import Counter
from decimal import Decimal

import msgspec
import pytest

import ledgerbridge.sample
from ledgerbridge.sample import SampleConfig, generate

REFERENCES = {
    "organization_id": "organizations",
    "workspace_id": "workspaces",
    "user_id": "users",
    "story_id": "stories",
}


def ops_hash(ops):
    return hashlib.sha256(msgspec.json.encode(ops)).hexdigest()


@pytest.fixture(scope="module")
def month():
    return generate(SampleConfig())


@pytest.fixture(scope="module")
def quarter():
    return generate(SampleConfig(months=3, seed=3))


def test_sample_all_matches_public_names():
    """The package's __all__ is sorted and lists exactly its public names."""
    public = {n for n in dir(ledgerbridge.sample) if not n.startswith("_")} - {"annotations"}
    assert sorted(ledgerbridge.sample.__all__) == ledgerbridge.sample.__all__
    assert set(ledgerbridge.sample.__all__) == public


def test_sample_same_seed_gives_identical_ops(month):
    """Generating twice with the same seed gives byte-identical operations."""
    assert ops_hash(generate(SampleConfig()).ops) == ops_hash(month.ops)


def test_sample_different_seed_gives_different_ops(month):
    """Another seed gives other operations."""
    assert ops_hash(generate(SampleConfig(seed=43)).ops) != ops_hash(month.ops)


@pytest.mark.parametrize("name", ["month", "quarter"])
def test_sample_volumes_are_within_ten_percent_of_targets(name, request):
    """Creates per resource, per month, are within 10% of the configured targets."""
    dataset = request.getfixturevalue(name)
    months = dataset.config.months
    creates = Counter(op["resource"] for op in dataset.ops if op["op"] == "create")
    targets = {
        "organizations": 120,
        "users": 600,
        "workspaces": 250,
        "time_entries": 25_000 * months,
        "expenses": 3_000 * months,
    }
    for resource, target in targets.items():
        assert abs(creates[resource] - target) <= target * 0.1, resource
    kinds = Counter(
        op["fields"]["billing_type"]
        for op in dataset.ops
        if op["resource"] == "workspaces"
        if op["op"] == "create"
    )
    assert set(kinds) == {"time_and_materials", "fixed_fee", "retainer"}


def test_sample_problems_edits_and_unapprovals_have_the_documented_rates(month):
    """About 1% of billable records spoiled, 0.5% edits after approval, 0.2% un-approvals, 5 invoiced edits."""
    kinds = Counter(p.kind for p in month.problems)
    data_problems = sum(kinds.values()) - kinds["changed_after_invoiced"]
    billable = sum(
        1
        for op in month.ops
        if op["op"] == "create"
        and op["resource"] in ("time_entries", "expenses")
        and op["fields"].get("billable")
    )
    assert 0.007 * billable <= data_problems <= 0.013 * billable
    assert kinds["changed_after_invoiced"] == 5
    updates = [op for op in month.ops if op["resource"] == "time_entries" and op["op"] == "update"]
    unapprovals = sum(op["fields"] == {"approved": False} for op in updates)
    edits = sum("approved" not in op["fields"] for op in updates) - 5
    assert 0.003 * 25_000 <= edits <= 0.007 * 25_000
    assert 0.001 * 25_000 <= unapprovals <= 0.003 * 25_000


@pytest.mark.parametrize("name", ["month", "quarter"])
def test_sample_ops_are_ordered_by_time_and_seq(name, request):
    """seq strictly increases from 1 and at never goes back."""
    ops = request.getfixturevalue(name).ops
    assert [op["seq"] for op in ops] == list(range(1, len(ops) + 1))
    stamps = [op["at"] for op in ops]
    assert stamps == sorted(stamps)
    assert all(s.endswith("Z") and dt.datetime.fromisoformat(s) for s in stamps[:100])


@pytest.mark.parametrize("name", ["month", "quarter"])
def test_sample_every_op_refers_to_ids_created_earlier(name, request):
    """Updates and references only name ids created by an earlier op; ids are unique."""
    known: dict[str, dict[str, dict]] = {
        r: {} for r in [*REFERENCES.values(), "time_entries", "expenses"]
    }
    for op in request.getfixturevalue(name).ops:
        records, fields = known[op["resource"]], op["fields"]
        assert op["id"].isdigit()
        if op["op"] == "create":
            assert op["id"] not in records
            records[op["id"]] = dict(fields)
        else:
            assert op["id"] in records
            records[op["id"]].update(fields)
        for key, resource in REFERENCES.items():
            if fields.get(key) is not None:
                assert fields[key] in known[resource], (op["seq"], key)
        if op["resource"] == "time_entries" and fields.get("story_id"):
            story = known["stories"][fields["story_id"]]
            assert story["workspace_id"] == fields["workspace_id"]
            assert story["story_type"] == "task"


def test_sample_ops_follow_a_realistic_timeline(month):
    """Work is created on its weekday; approvals come the next Monday-Tuesday or month end."""
    last_day = dt.date(2026, 10, 31)
    performed: dict[str, dt.date] = {}
    for op in month.ops:
        at = dt.datetime.fromisoformat(op["at"])
        if op["resource"] in ("time_entries", "expenses") and op["op"] == "create":
            day = dt.date.fromisoformat(op["fields"].get("date_performed") or op["fields"]["date"])
            assert at.date() == day and day.weekday() < 5
            performed[op["id"]] = day
        elif op["fields"] == {"approved": True}:
            day = performed[op["id"]]
            assert at.date() > day
            assert at.date() == last_day or (at.weekday() in (0, 1) and (at.date() - day).days <= 8)


def test_sample_milestones_sum_to_project_fees(month):
    """Fixed-fee milestones add up to the fee; retainer and T&M get one milestone a month."""
    workspaces, milestones = {}, {}
    for op in month.ops:
        if op["op"] == "create" and op["resource"] == "workspaces":
            workspaces[op["id"]] = op["fields"]
        if op["op"] == "create" and op["fields"].get("story_type") == "milestone":
            milestones.setdefault(op["fields"]["workspace_id"], []).append(op["fields"])
    for wid, ws in workspaces.items():
        fees = [m["price_in_cents"] for m in milestones[wid]]
        if ws["billing_type"] == "fixed_fee":
            assert sum(fees) == ws["price_in_cents"] > 0
        elif ws["billing_type"] == "retainer":
            assert fees == [ws["price_in_cents"]]
        else:
            assert fees == [0]
        assert ws["status"]["message"] == "Estimate"


def test_sample_summary_counts_ops_and_totals_as_strings(month):
    """summary() counts ops by resource and op and gives totals as Decimal strings."""
    summary = month.summary()
    assert summary["ops"] == len(month.ops)
    assert summary["by_resource"]["time_entries"]["create"] == 25_000
    assert sum(summary["problems"].values()) == len(month.problems)
    for currency, row in summary["totals"].items():
        expected = month.expected.by_currency()[currency]
        assert {k: Decimal(v) for k, v in row.items()} == expected
    assert set(summary["totals"]) == {"USD", "EUR", "GBP"}


@pytest.mark.parametrize(
    ("changes", "word"),
    [
        ({"start": dt.date(2026, 10, 2)}, "first day"),
        ({"months": 0}, "months"),
        ({"projects": 10, "clients": 20}, "projects"),
        ({"problem_rate": 0.9}, "problem_rate"),
    ],
)
def test_sample_config_refuses_impossible_settings(changes, word):
    """Impossible settings raise ValueError naming the setting."""
    with pytest.raises(ValueError, match=word):
        SampleConfig(**changes)


def test_sample_replay_groups_by_hour_and_closes_after_a_completed_milestone():
    """A replay group never spans two hours, and a milestone completion ends its group."""
    ops = [
        {"at": "2026-11-02T09:05:00", "resource": "time_entries", "fields": {}},
        {"at": "2026-11-02T09:40:00", "resource": "stories", "fields": {"state": "completed"}},
        {"at": "2026-11-02T09:50:00", "resource": "time_entries", "fields": {}},
        {"at": "2026-11-02T10:01:00", "resource": "time_entries", "fields": {}},
    ]
    groups = list(ledgerbridge.sample.by_hour(ops))
    assert [[op["at"][11:16] for op in g] for g in groups] == [
        ["09:05", "09:40"],
        ["09:50"],
        ["10:01"],
    ]
