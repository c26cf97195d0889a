"""The durable engine: inbox, run queue with leases, steps, retries, exceptions, replay.

``client`` starts and inspects runs, ``worker`` executes them, ``step`` is the API that
step code uses.
"""

from __future__ import annotations

from ledgerbridge.engine import client, step, worker
from ledgerbridge.engine._ids import idempotency_key, new_id
from ledgerbridge.engine._retry import RetryPolicy, call_with_retry
from ledgerbridge.engine.client import Client, IngestResult
from ledgerbridge.engine.step import StepContext, step_kind
from ledgerbridge.engine.worker import Worker, WorkerSettings

__all__ = [
    "Client",
    "IngestResult",
    "RetryPolicy",
    "StepContext",
    "Worker",
    "WorkerSettings",
    "call_with_retry",
    "client",
    "idempotency_key",
    "new_id",
    "step",
    "step_kind",
    "worker",
]
