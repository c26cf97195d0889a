"""Worker processes of a chaos run, started with ``python -m ledgerbridge worker``.

The pool keeps ``size`` workers alive: :meth:`WorkerPool.kill_one` sends SIGKILL to one of
them and starts a replacement at once. A worker that exits without being killed is a crash:
it is counted, its last log lines kept, and it is replaced too.
"""

from __future__ import annotations

import os
import random
import resource
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["WorkerPool", "WorkerSpec"]

_STOP_TIMEOUT_S = 15.0
#: a worker younger than this is probably still importing; kills prefer older ones
_MIN_AGE_S = 2.0


@dataclass(frozen=True, kw_only=True, slots=True)
class WorkerSpec:
    """How worker processes are started."""

    database_url: str
    secret_key: str
    log_dir: Path
    batch_size: int = 50
    concurrency: int = 16
    lease_seconds: float = 3.0

    def command(self) -> list[str]:
        """The worker's command line."""
        return [
            sys.executable,
            "-m",
            "ledgerbridge",
            "worker",
            "--database-url",
            self.database_url,
            "--batch-size",
            str(self.batch_size),
            "--concurrency",
            str(self.concurrency),
            "--lease-seconds",
            str(self.lease_seconds),
        ]

    def environ(self) -> dict[str, str]:
        """The worker's environment: ours without ledgerbridge settings, plus the sealing key."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("LEDGERBRIDGE_")}
        env["LEDGERBRIDGE_SECRET_KEY"] = self.secret_key
        return env


@dataclass
class WorkerPool:
    """A fixed number of worker processes that can be killed and are replaced."""

    spec: WorkerSpec
    size: int
    rng: random.Random
    kills: int = 0
    crashes: list[str] = field(default_factory=list)
    _procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    _born: dict[int, float] = field(default_factory=dict)
    _started: int = 0

    def start(self) -> WorkerPool:
        """Start ``size`` workers."""
        self.spec.log_dir.mkdir(parents=True, exist_ok=True)
        while len(self._procs) < self.size:
            self._procs.append(self._spawn())
        return self

    def _spawn(self) -> subprocess.Popen[bytes]:
        self._started += 1
        log = (self.spec.log_dir / f"worker-{self._started:03}.log").open("wb")
        with log:
            proc = subprocess.Popen(
                self.spec.command(),
                env=self.spec.environ(),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self._born[proc.pid] = time.monotonic()
        return proc

    def kill_one(self) -> int:
        """SIGKILL a random worker, start its replacement; return the killed pid."""
        self.replace_crashed()
        now = time.monotonic()
        grown = [i for i, p in enumerate(self._procs) if now - self._born[p.pid] >= _MIN_AGE_S]
        index = self.rng.choice(grown or list(range(len(self._procs))))
        victim = self._procs[index]
        victim.send_signal(signal.SIGKILL)
        victim.wait(_STOP_TIMEOUT_S)
        self.kills += 1
        self._procs[index] = self._spawn()
        return victim.pid

    def replace_crashed(self) -> int:
        """Replace workers that exited by themselves; return how many did."""
        crashed = 0
        for index, proc in enumerate(self._procs):
            if proc.poll() is not None:
                crashed += 1
                self.crashes.append(f"worker pid {proc.pid} exited with {proc.returncode}")
                self._procs[index] = self._spawn()
        return crashed

    def stop(self) -> None:
        """Stop every worker gracefully (SIGTERM), killing any that do not stop in time."""
        self.replace_crashed()
        for proc in self._procs:
            proc.send_signal(signal.SIGTERM)
        for proc in self._procs:
            try:
                proc.wait(_STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(_STOP_TIMEOUT_S)
        self._procs.clear()

    @staticmethod
    def peak_rss_mb() -> float:
        """The largest resident set of any worker that has ended, in MiB (Linux: KiB units)."""
        return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
