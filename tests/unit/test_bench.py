"""The benchmark delivers every event it generates and reports what it measured."""

from __future__ import annotations

import json

import pytest
import typer
from typer.testing import CliRunner

from ledgerbridge.bench import BenchOptions, run_bench
from ledgerbridge.bench.cli import bench


@pytest.mark.slow
def test_bench_memory_target_delivers_every_event():
    """The engine-alone benchmark on SQLite delivers all events and reports sane figures.

    The probe tenant's events are posted too, and counted apart from the backlog's.
    """
    options = BenchOptions(events=300, tenants=2, target="memory", batch_size=50, probe=True)
    result = run_bench(options)
    assert result.succeeded == 300
    assert result.probe_wait_ms is not None
    assert result.probe_wait_ms["sent"] >= 1
    assert result.probe_wait_ms["posted"] == result.probe_wait_ms["sent"]
    assert (result.probe_wait_ms["max"] or 0) > 0
    assert result.events_per_second > 0
    assert 0 < result.commits_per_event < 1  # batched: far fewer commits than events
    assert result.peak_rss_mb > 0 and result.cpu_seconds_per_1000 > 0


@pytest.mark.slow
def test_bench_cli_posts_to_the_erp_sandbox_with_latency():
    """`bench --json` with an offered rate posts every entry to the ERP and reports percentiles."""
    app = typer.Typer()
    app.command()(bench)
    out = CliRunner().invoke(app, ["--events", "60", "--offered-rate", "200", "--json"])
    assert out.exit_code == 0, out.output
    result = json.loads(out.output)
    assert result["succeeded"] == 60
    lat = result["latency_ms"]
    assert lat["p50"] is not None and lat["p50"] <= lat["p95"] <= lat["p99"]


def test_bench_options_refuse_unknown_backends():
    """A misspelt --db is refused with a message that names the choices."""
    with pytest.raises(ValueError, match="sqlite or postgres"):
        BenchOptions(db="mysql")
