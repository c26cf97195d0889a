"""Tests of saving and loading sample operations as JSON Lines."""

from __future__ import annotations

import pytest

from ledgerbridge.errors import RecordError
from ledgerbridge.sample import SampleConfig, generate, read_jsonl, write_jsonl

SMALL = SampleConfig(people=20, clients=3, projects=6, entries_per_month=300, expenses_per_month=40)


def test_sample_jsonl_round_trip_keeps_every_op(tmp_path):
    """Writing a dataset and reading it back gives the same operations, one per line."""
    dataset = generate(SMALL)
    path = tmp_path / "ops.jsonl"
    assert write_jsonl(dataset, path) == len(dataset.ops)
    assert len(path.read_text().splitlines()) == len(dataset.ops)
    assert read_jsonl(path) == dataset.ops


def test_sample_jsonl_writes_plain_op_lists(tmp_path):
    """write_jsonl also accepts a list of operations, and blank lines are skipped on read."""
    ops = generate(SMALL).ops[:5]
    path = tmp_path / "ops.jsonl"
    write_jsonl(ops, path)
    path.write_text(path.read_text() + "\n\n")
    assert read_jsonl(path) == ops


@pytest.mark.parametrize(
    ("line", "phrase"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "expected an object"),
        ('{"seq": 1, "at": "x", "op": "create", "resource": "users", "id": "1"}', "'fields'"),
        (
            '{"seq": 1, "at": "x", "op": "upsert", "resource": "users", "id": "1", "fields": {}}',
            "op",
        ),
    ],
)
def test_sample_jsonl_names_the_bad_line(tmp_path, line, phrase):
    """A line that is not an operation raises RecordError naming the file and line."""
    path = tmp_path / "ops.jsonl"
    write_jsonl(generate(SMALL).ops[:2], path)
    path.write_text(path.read_text() + line + "\n")
    with pytest.raises(RecordError, match=phrase) as caught:
        read_jsonl(path)
    assert f"{path}:3" in caught.value.message
