"""A throwaway PostgreSQL cluster from the machine's binaries, for tests and the benchmark.

The cluster lives in a temporary directory, listens on a free loopback port (and on a Unix
socket inside its data directory), trusts local connections, and is removed on
:meth:`LocalPostgres.stop`. ``initdb`` refuses to run as root, so when the process is root
the server runs as an unprivileged account: ``postgres`` (created by the Debian package)
when it exists, else ``nobody``. The switch uses ``subprocess``'s ``user=``/``group=``
arguments, so no ``sudo``/``runuser`` is needed.
"""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

from ledgerbridge import errors

__all__ = ["LocalPostgres", "find_bindir"]

SUPERUSER = "ledgerbridge"
INSTALL_HINT = "install the Debian package 'postgresql' (scripts/install-system.sh does)"


def find_bindir() -> Path:
    """Return the directory of ``initdb`` and ``pg_ctl`` (newest installed version).

    Raises:
        ConfigError: when no PostgreSQL server binaries are installed.
    """
    found = [Path(p).parent for p in glob.glob("/usr/lib/postgresql/*/bin/initdb")]
    if found:
        return max(found, key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0)
    on_path = shutil.which("initdb")
    if on_path:
        return Path(on_path).parent
    raise errors.ConfigError(
        "PostgreSQL server binaries (initdb, pg_ctl) were not found in "
        "/usr/lib/postgresql/*/bin or on PATH",
        hint=INSTALL_HINT,
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class LocalPostgres:
    """A private PostgreSQL server: ``start()``, ``create_database()``, ``stop()``."""

    def __init__(self, *, durable: bool = True, max_connections: int = 200) -> None:
        self.durable = durable
        self.max_connections = max_connections
        self.bindir = find_bindir()
        self.port = 0
        self.datadir: Path | None = None
        self._account = self._run_as()
        self._names = itertools.count()

    @staticmethod
    def _run_as() -> pwd.struct_passwd | None:
        if os.geteuid() != 0:
            return None
        for name in ("postgres", "nobody"):
            try:
                return pwd.getpwnam(name)
            except KeyError:
                continue
        raise errors.ConfigError(
            "running as root and neither a 'postgres' nor a 'nobody' account exists",
            hint="create an unprivileged account for the test server (useradd postgres)",
        )

    def _run(self, *args: str) -> None:
        kwargs: dict[str, object] = {}
        if self._account is not None:
            kwargs = {"user": self._account.pw_uid, "group": self._account.pw_gid}
        result = subprocess.run(
            [str(self.bindir / args[0]), *args[1:]],
            capture_output=True,
            text=True,
            check=False,
            cwd="/",
            **kwargs,  # type: ignore[call-overload]
        )
        if result.returncode != 0:
            raise errors.ConfigError(
                f"{args[0]} failed with exit code {result.returncode}: "
                f"{(result.stderr or result.stdout).strip()[-800:]}",
                hint=INSTALL_HINT,
            )

    def start(self) -> LocalPostgres:
        """Create the cluster and start the server; return self."""
        self.datadir = Path(tempfile.mkdtemp(prefix="ledgerbridge-pg-"))
        if self._account is not None:
            os.chown(self.datadir, self._account.pw_uid, self._account.pw_gid)
        self._run(
            "initdb", "-D", str(self.datadir), "-U", SUPERUSER, "-A", "trust",
            "-E", "UTF8", "--locale=C", "--no-sync",
        )  # fmt: skip
        self.port = _free_port()
        options = [
            f"-p {self.port}",
            "-c listen_addresses=127.0.0.1",
            f"-c unix_socket_directories={self.datadir}",
            f"-c max_connections={self.max_connections}",
            # a table that grew from empty is analysed within seconds (README, Scale-out)
            "-c autovacuum_naptime=1",
        ]
        if not self.durable:
            options += ["-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off"]
        log = self.datadir / "server.log"
        self._run("pg_ctl", "-D", str(self.datadir), "-l", str(log), "-w", "-t", "60",
                  "-o", " ".join(options), "start")  # fmt: skip
        return self

    def restart(self) -> None:
        """Restart the server in place (fast shutdown: open connections are cut)."""
        assert self.datadir is not None, "the server was never started"
        log = self.datadir / "server.log"
        self._run("pg_ctl", "-D", str(self.datadir), "-l", str(log), "-w", "-t", "60",
                  "restart", "-m", "fast")  # fmt: skip

    def url(self, database: str = "postgres") -> str:
        """SQLAlchemy URL of ``database`` on this server (psycopg 3 driver)."""
        return f"postgresql+psycopg://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str | None = None, *, template: str | None = None) -> str:
        """Create a database (optionally a copy of ``template``); return its URL."""
        import psycopg

        name = name or f"lb_{os.getpid()}_{next(self._names)}"
        sql = f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else "")
        dsn = f"host=127.0.0.1 port={self.port} user={SUPERUSER} dbname=postgres"
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(sql.encode())
        return self.url(name)

    def stop(self) -> None:
        """Stop the server and delete its files."""
        if self.datadir is None:
            return
        try:
            self._run("pg_ctl", "-D", str(self.datadir), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.datadir, ignore_errors=True)
            self.datadir = None

    def __enter__(self) -> LocalPostgres:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
