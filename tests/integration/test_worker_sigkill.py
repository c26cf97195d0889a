"""A worker process killed with SIGKILL mid-run loses nothing and duplicates nothing."""

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


def _worker(db_path, *extra: str) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEDGERBRIDGE_")}
    cmd = [
        sys.executable,
        "-m",
        "ledgerbridge",
        "worker",
        "--database-url",
        f"sqlite:///{db_path}",
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
def test_worker_sigkill_mid_run_loses_and_duplicates_nothing(db, db_path):
    """Kill the first worker after some writes; a second worker finishes; each event posted once."""
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

        first = _worker(db_path)
        assert_eventually(
            lambda: len(recorder.effects) >= 60, timeout=60, message="first worker wrote"
        )
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        killed_at = len(recorder.effects)
        assert killed_at < EVENTS, "the worker finished before it could be killed"

        second = _worker(db_path)
        try:
            assert_eventually(
                lambda: client.counts(tenant).get("succeeded") == EVENTS,
                timeout=120,
                message="all runs succeeded",
            )
        finally:
            second.send_signal(signal.SIGTERM)
            second.wait(10)
            if second.poll() is None:
                second.kill()

        keys = [e["key"] for e in recorder.effects]
        assert len(keys) == EVENTS, (
            f"{len(keys) - len(set(keys))} duplicates, {EVENTS - len(set(keys))} lost"
        )
        assert len(set(keys)) == EVENTS
        assert {e["body"]["entity"] for e in recorder.effects} == {
            f"psa:time_entry:te-{i}" for i in range(EVENTS)
        }
        assert time.time()  # keep the server alive until here
