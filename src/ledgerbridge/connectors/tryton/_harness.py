"""Run a real, local Tryton server: database template, cache, start and stop.

Building a database takes ~40 s (``trytond-admin`` plus setup over JSON-RPC), so the
result is kept as a template under ``~/.cache/ledgerbridge/tryton/<key>.sqlite``. The key
hashes everything the template depends on: the installed Tryton distributions and their
versions, the source of the setup code, and the current year (fiscal years are created
for it). A template whose checksum does not match its sidecar file is rebuilt.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import importlib.metadata
import json
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import aiohttp

from ledgerbridge.connectors.tryton import _rpc, _setup

__all__ = [
    "ADMIN_PASSWORD",
    "ADMIN_USER",
    "MODULES",
    "TrytonInfo",
    "TrytonServer",
    "cache_key",
    "ensure_template",
    "free_port",
    "tryton_init",
]

ADMIN_USER = "admin"
ADMIN_PASSWORD = "admin"
#: Modules activated in the template; their dependencies come along.
MODULES = ("project_invoice", "timesheet_cost", "project_revenue", "account_payment")
#: Bump when the template changes in a way the source hash would not show.
SETUP_VERSION = "1"
_DB_NAME = "ledgerbridge"
_READY_SECONDS = 30.0


@dataclass(frozen=True, kw_only=True, slots=True)
class TrytonInfo:
    """A Tryton database ready to serve, as written by :func:`tryton_init`."""

    directory: Path  #: holds the config file, the password file and ``db/``
    config_file: Path
    database: str
    database_file: Path
    admin_user: str
    admin_password: str
    url: str  #: where the server listens once started with ``command``
    command: tuple[str, ...]  #: starts the server in the foreground
    from_cache: bool  #: the database was copied from a cached template
    seconds: float  #: time spent, including a template build


def _bin(name: str) -> str:
    return str(Path(sys.executable).with_name(name))


def cache_key() -> str:
    """Return the template key: Tryton versions, setup source, setup version and year."""
    parts = [SETUP_VERSION, str(dt.date.today().year), sys.version.split()[0], *MODULES]
    for dist in importlib.metadata.distributions():
        name = dist.metadata["Name"] or ""
        if name.lower().replace("_", "-").startswith(("trytond", "proteus")):
            parts.append(f"{name.lower()}=={dist.version}")
    for module in (_setup, _rpc):
        parts.append(hashlib.sha256(Path(module.__file__ or "").read_bytes()).hexdigest())
    parts.append(hashlib.sha256(Path(__file__).read_bytes()).hexdigest())
    return hashlib.sha256("\n".join(sorted(parts)).encode()).hexdigest()[:20]


def _cache_dir() -> Path:
    root = os.environ.get("LEDGERBRIDGE_CACHE_DIR") or Path.home() / ".cache" / "ledgerbridge"
    return Path(root) / "tryton"


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _template_is_valid(template: Path) -> bool:
    sidecar = template.with_suffix(".json")
    try:
        meta = json.loads(sidecar.read_text())
        return bool(template.is_file() and meta.get("sha256") == _digest(template))
    except (OSError, ValueError):
        return False


def _write_config(directory: Path, port: int) -> Path:
    (directory / "db").mkdir(parents=True, exist_ok=True)
    config = directory / "trytond.conf"
    config.write_text(
        "[database]\nuri = sqlite://\n"
        f"path = {directory / 'db'}\n"
        f"[web]\nlisten = 127.0.0.1:{port}\n"
        "[session]\nmax_attempt = 50\n"
    )
    (directory / "adminpass").write_text(ADMIN_PASSWORD + "\n")
    return config


def free_port() -> int:
    """Return a loopback TCP port that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _build_template(target: Path) -> None:
    with tempfile.TemporaryDirectory(prefix="lb-tryton-build-") as tmp:
        directory = Path(tmp)
        config = _write_config(directory, free_port())
        db_file = directory / "db" / f"{_DB_NAME}.sqlite"
        db_file.touch()
        env = {**os.environ, "TRYTONPASSFILE": str(directory / "adminpass")}
        command = [_bin("trytond-admin"), "-c", str(config), "-d", _DB_NAME, "-u", *MODULES]
        command += ["--activate-dependencies", "--email", "admin@example.com"]
        done = subprocess.run(
            command, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            raise RuntimeError(f"trytond-admin failed:\n{done.stderr[-2000:]}")
        with TrytonServer(directory, database=_DB_NAME) as server:
            asyncio.run(_run_setup(server))
        partial = target.with_suffix(".partial")
        _snapshot(db_file, partial)
        os.replace(partial, target)
        meta = {"sha256": _digest(target), "built": dt.datetime.now(dt.UTC).isoformat()}
        target.with_suffix(".json").write_text(json.dumps(meta))


def _snapshot(source: Path, target: Path) -> None:
    # Tryton runs SQLite in WAL mode: the backup API folds the -wal file in, a file copy would not.
    target.unlink(missing_ok=True)
    with (
        contextlib.closing(sqlite3.connect(source)) as src,
        contextlib.closing(sqlite3.connect(target)) as dst,
    ):
        src.backup(dst)


async def _run_setup(server: TrytonServer) -> None:
    async with aiohttp.ClientSession() as http:
        client = _rpc.TrytonClient(
            http,
            url=server.url,
            database=server.database,
            username=ADMIN_USER,
            password=ADMIN_PASSWORD,
        )
        await _setup.setup_database(client, today=dt.date.today())


def ensure_template() -> tuple[Path, bool]:
    """Return the cached template database, building it first when missing or corrupt.

    Returns:
        The template path and whether it came from the cache.
    """
    cache = _cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    template = cache / f"{cache_key()}.sqlite"
    if _template_is_valid(template):
        return template, True
    template.unlink(missing_ok=True)
    _build_template(template)
    return template, False


def tryton_init(directory: Path | str, *, port: int = 8000) -> TrytonInfo:
    """Create a ready-to-serve Tryton database in ``directory``.

    The database has a company (USD), a chart of accounts, fiscal years for this year and
    the next, a payment term, a cash payment method, the products "Consulting services"
    and "Expenses (rebill)", and an employee for the admin user.

    Args:
        directory: where to write ``trytond.conf``, ``adminpass`` and ``db/<name>.sqlite``.
        port: the loopback port written to the config file.

    Returns:
        What was written and the command that starts the server.
    """
    started = time.monotonic()
    directory = Path(directory).resolve()
    template, from_cache = ensure_template()
    config = _write_config(directory, port)
    db_file = directory / "db" / f"{_DB_NAME}.sqlite"
    shutil.copyfile(template, db_file)
    return TrytonInfo(
        directory=directory,
        config_file=config,
        database=_DB_NAME,
        database_file=db_file,
        admin_user=ADMIN_USER,
        admin_password=ADMIN_PASSWORD,
        url=f"http://127.0.0.1:{port}",
        command=(_bin("trytond"), "-c", str(config), "-d", _DB_NAME),
        from_cache=from_cache,
        seconds=time.monotonic() - started,
    )


class TrytonServer:
    """A ``trytond`` process serving one SQLite database on a loopback port.

    Use it as a context manager; :meth:`stop` and :meth:`start` restart it on the same
    database and port, which outage tests rely on.

    Args:
        directory: holds (or receives) ``trytond.conf`` and ``db/<database>.sqlite``.
        database: the database name; the file must exist before the server starts.
        port: the port to listen on; a free one when omitted.
    """

    def __init__(self, directory: Path | str, *, database: str, port: int | None = None) -> None:
        self.directory = Path(directory)
        self.database = database
        self.port = port or free_port()
        self.admin_password = ADMIN_PASSWORD
        self.admin_user = ADMIN_USER
        self._process: subprocess.Popen[bytes] | None = None

    @classmethod
    def from_template(cls, directory: Path | str) -> TrytonServer:
        """Copy the cached template into ``directory`` and return a server for it."""
        info = tryton_init(directory, port=free_port())
        return cls(info.directory, database=info.database, port=int(info.url.rsplit(":", 1)[1]))

    @property
    def url(self) -> str:
        """The server base URL."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Start the server and wait until a login succeeds.

        Raises:
            RuntimeError: the server exited or did not answer within 30 s.
        """
        if self._process is not None and self._process.poll() is None:
            return
        config = _write_config(self.directory, self.port)
        log = (self.directory / "trytond.log").open("ab")
        command = [_bin("trytond"), "-c", str(config), "-d", self.database]
        self._process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
        log.close()
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + _READY_SECONDS
        body = json.dumps(
            {
                "id": 0,
                "method": "common.db.login",
                "params": [ADMIN_USER, {"password": ADMIN_PASSWORD}, "en"],
            }
        ).encode()
        url = f"{self.url}/{self.database}/rpc/"
        while time.monotonic() < deadline:
            if self._process is None or self._process.poll() is not None:
                raise RuntimeError(f"trytond exited; see {self.directory / 'trytond.log'}")
            request = urllib.request.Request(
                url, data=body, headers={"Content-Type": "application/json"}
            )
            with contextlib.suppress(OSError), urllib.request.urlopen(request, timeout=2) as answer:
                if "result" in json.loads(answer.read()):
                    return
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"trytond did not become ready within {_READY_SECONDS:.0f} s")

    def stop(self) -> None:
        """Terminate the server, killing it if it does not exit within 10 s."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)

    def __enter__(self) -> TrytonServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def settings(self) -> dict[str, Any]:
        """Return the connector settings for this server's admin user."""
        return {
            "url": self.url,
            "database": self.database,
            "username": self.admin_user,
            "password": self.admin_password,
        }
