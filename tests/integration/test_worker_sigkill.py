"""A worker process killed with SIGKILL mid-run loses nothing and duplicates nothing.

On SQLite one worker is killed and one more finishes; on PostgreSQL four workers share the
queue, one is killed mid-batch, and the other three finish.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from ledgerbridge import tenancy
from ledgerbridge.engine import Client
from ledgerbridge.model import BusinessEvent
from ledgerbridge.testing import RecordingServer, assert_eventually
from tests.conftest import BACKENDS

BLUEPRINT = """
blueprint: sigkill-test
version: 1
schema_version: 1
connections:
  source: {role: psa}
  target: {role: erp}
flows:
  - name: post_time
    trigger: {event: time_entry.approved}
    mode: realtime
    steps:
      - {name: post, kind: http.post, connection: target}
"""

EVENTS = 300


#: worker processes running when one is killed, per backend
WORKERS = {"sqlite": 1, "postgres": 4}


def _worker(url: str, *extra: str) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEDGERBRIDGE_")}
    cmd = [
        sys.executable,
        "-m",
        "ledgerbridge",
        "worker",
        "--database-url",
        url,
        "--batch-size",
        "20",
        "--concurrency",
        "4",
        "--lease-seconds",
        "2",
        *extra,
    ]
    return subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


@pytest.mark.slow
@pytest.mark.parametrize("db", BACKENDS, indirect=True)
def test_worker_sigkill_mid_run_loses_and_duplicates_nothing(db):
    """Kill a worker after some writes; the others finish; each event is posted exactly once."""
    url = db.url.render_as_string(hide_password=False)
    backend = "postgres" if db.is_postgres else "sqlite"
    with RecordingServer(latency=0.02) as recorder:
        partner = tenancy.create_partner(db, name="P")
        tenant = tenancy.create_tenant(db, partner_id=partner, name="T")
        tenancy.add_connection(
            db,
            tenant_id=tenant,
            kind="http-recorder",
            settings={"url": recorder.url},
            connection_id="erp",
        )
        tenancy.add_connection(
            db, tenant_id=tenant, kind="memory", settings={}, connection_id="psa"
        )
        tenancy.deploy_blueprint(
            db, tenant_id=tenant, document=BLUEPRINT, bindings={"source": "psa", "target": "erp"}
        )
        client = Client(db)
        client.ingest(
            [
                BusinessEvent(
                    tenant_id=tenant,
                    connection_id="psa",
                    event_type="time_entry.approved",
                    object_type="time_entry",
                    external_id=f"te-{i}",
                    source_version=1,
                    payload={"record": {"n": i}},
                )
                for i in range(EVENTS)
            ]
        )

        first = _worker(url)
        others = [_worker(url) for _ in range(WORKERS[backend] - 1)]
        assert_eventually(
            lambda: len(recorder.effects) >= 60, timeout=60, message="first worker wrote"
        )
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        killed_at = len(recorder.effects)
        assert killed_at < EVENTS, "the worker finished before it could be killed"

        if not others:
            others.append(_worker(url))
        try:
            assert_eventually(
                lambda: client.counts(tenant).get("succeeded") == EVENTS,
                timeout=120,
                message="all runs succeeded",
            )
        finally:
            _stop(others)

        keys = [e["key"] for e in recorder.effects]
        assert len(keys) == EVENTS, (
            f"{len(keys) - len(set(keys))} duplicates, {EVENTS - len(set(keys))} lost"
        )
        assert len(set(keys)) == EVENTS
        assert {e["body"]["entity"] for e in recorder.effects} == {
            f"psa:time_entry:te-{i}" for i in range(EVENTS)
        }
        assert time.time()  # keep the server alive until here


def _stop(workers: list[subprocess.Popen[bytes]]) -> None:
    for proc in workers:
        proc.send_signal(signal.SIGTERM)
    for proc in workers:
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
