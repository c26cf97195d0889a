"""A thin async JSON-RPC client for a Tryton server.

One :class:`TrytonClient` wraps one injected :class:`aiohttp.ClientSession`. It logs in,
keeps the session token and the user's context, encodes Tryton's typed values and turns
every failure into an error of :mod:`ledgerbridge.errors` in :func:`map_errors`, the one
place where third-party exceptions are translated.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import itertools
import json
import logging
from collections.abc import AsyncIterator, Mapping, Sequence
from decimal import Decimal
from typing import Any

import aiohttp

from ledgerbridge import errors

__all__ = [
    "DEFAULT_TIMEOUT",
    "Model",
    "TrytonClient",
    "decode",
    "dumps",
    "encode",
    "loads",
    "map_errors",
]

logger = logging.getLogger(__name__)

#: Seconds allowed for one call; posting an invoice renders a report and takes ~2 s.
DEFAULT_TIMEOUT = aiohttp.ClientTimeout(total=60, connect=5, sock_read=55)
_CONNECTOR = "tryton"
_LOCK_MARKERS = ("database is locked", "could not serialize", "deadlock", "lock timeout")
_WRITE_PREFIXES = ("create", "write", "delete", "button", "execute", "post", "invoice", "pay")


def encode(value: Any) -> Any:
    """Turn Python values into Tryton's JSON shapes (``{"__class__": ...}``), recursively.

    Args:
        value: a JSON-ready structure that may hold Decimal, date, datetime, timedelta or bytes.

    Returns:
        The same structure with typed values replaced by their tagged dicts.
    """
    if isinstance(value, Decimal):
        return {"__class__": "Decimal", "decimal": str(value)}
    if isinstance(value, dt.datetime):
        return {
            "__class__": "datetime",
            **{k: getattr(value, k) for k in ("year", "month", "day", "hour", "minute")},
            "second": value.second,
            "microsecond": value.microsecond,
        }
    if isinstance(value, dt.date):
        return {"__class__": "date", "year": value.year, "month": value.month, "day": value.day}
    if isinstance(value, dt.timedelta):
        return {"__class__": "timedelta", "seconds": value.total_seconds()}
    if isinstance(value, bytes | bytearray):
        return {"__class__": "bytes", "base64": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, Mapping):
        return {str(k): encode(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [encode(v) for v in value]
    return value


def _decode_tagged(obj: dict[str, Any]) -> Any:
    cls = obj.get("__class__")
    if cls == "Decimal":
        return Decimal(obj["decimal"])
    if cls == "date":
        return dt.date(obj["year"], obj["month"], obj["day"])
    if cls == "datetime":
        return dt.datetime(
            obj["year"],
            obj["month"],
            obj["day"],
            obj["hour"],
            obj["minute"],
            obj["second"],
            obj["microsecond"],
        )
    if cls == "time":
        return dt.time(obj["hour"], obj["minute"], obj["second"], obj["microsecond"])
    if cls == "timedelta":
        return _seconds_to_timedelta(obj["seconds"])
    if cls == "bytes":
        return base64.b64decode(obj["base64"])
    return obj


def _seconds_to_timedelta(seconds: Any) -> dt.timedelta:
    # The wire carries a JSON number; go through its text so no binary rounding creeps in.
    micro = (Decimal(str(seconds)) * 1_000_000).to_integral_value()
    return dt.timedelta(microseconds=int(micro))


def decode(value: Any) -> Any:
    """Inverse of :func:`encode` for an already parsed JSON structure."""
    if isinstance(value, dict):
        return _decode_tagged({k: decode(v) for k, v in value.items()})
    if isinstance(value, list):
        return [decode(v) for v in value]
    return value


def dumps(value: Any) -> str:
    """Serialise ``value`` to Tryton JSON text."""
    return json.dumps(encode(value), separators=(",", ":"))


def loads(text: str) -> Any:
    """Parse Tryton JSON text; untagged numbers with a fraction become Decimal, never float."""
    return json.loads(text, object_hook=_decode_tagged, parse_float=Decimal)


def _tryton_error(error: Any, method: str) -> errors.LedgerbridgeError:
    """Classify the ``error`` member of a JSON-RPC answer."""
    if isinstance(error, list) and error and error[0] in ("UserError", "UserWarning"):
        args = error[1] if len(error) > 1 and isinstance(error[1], list) else []
        index = 1 if error[0] == "UserWarning" else 0
        message = str(args[index]) if len(args) > index else str(error[0])
        detail = str(args[index + 1]) if len(args) > index + 1 and args[index + 1] else None
        return errors.PermanentError(
            message, internal_detail=detail, connector=_CONNECTOR, hint=f"refused by {method}"
        )
    if isinstance(error, list) and error and error[0] == "ConcurrencyException":
        return errors.TransientError(
            f"Tryton reported a concurrent modification in {method}", connector=_CONNECTOR
        )
    text = str(error[0] if isinstance(error, list) and error else error)
    if any(marker in text.lower() for marker in _LOCK_MARKERS):
        return errors.TransientError(
            f"Tryton database busy in {method}: {text}", connector=_CONNECTOR
        )
    return errors.PermanentError(
        f"Tryton failed in {method}: {text}", connector=_CONNECTOR, internal_detail=text
    )


def _status_error(status: int, method: str, body: str) -> errors.LedgerbridgeError:
    if status in (401, 403):
        return errors.ConfigError(
            f"Tryton refused the credentials (HTTP {status}) for {method}",
            connector=_CONNECTOR,
            status_code=status,
        )
    if status == 429 or status >= 500 or status == 423:
        return errors.TransientError(
            f"Tryton answered HTTP {status} for {method}", connector=_CONNECTOR, status_code=status
        )
    return errors.PermanentError(
        f"Tryton answered HTTP {status} for {method}: {body[:200]}",
        connector=_CONNECTOR,
        status_code=status,
    )


def _is_write(method: str) -> bool:
    last = method.rsplit(".", 1)[-1]
    return method.startswith("wizard.") or last.startswith(_WRITE_PREFIXES)


@contextlib.asynccontextmanager
async def map_errors(method: str) -> AsyncIterator[None]:
    """Translate the failures of one call into ledgerbridge errors.

    Args:
        method: the RPC method, used in messages and to tell writes from reads.

    Raises:
        AmbiguousError: the connection dropped or timed out after a write may have been sent.
        TransientError: connection refused, or a read failed, or the answer was unreadable.
    """
    try:
        yield
    except errors.LedgerbridgeError:
        raise
    except (TimeoutError, aiohttp.ClientError, ConnectionError) as exc:
        never_sent = isinstance(exc, aiohttp.ClientConnectorError | aiohttp.ConnectionTimeoutError)
        if not never_sent and _is_write(method):
            raise errors.AmbiguousError(
                f"the connection to Tryton was lost after {method} was sent; "
                "it may have been applied",
                connector=_CONNECTOR,
                internal_detail=repr(exc),
            ) from exc
        raise errors.TransientError(
            f"Tryton unreachable during {method}: {type(exc).__name__}",
            connector=_CONNECTOR,
            internal_detail=repr(exc),
        ) from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise errors.TransientError(
            f"Tryton sent an unreadable answer to {method}", connector=_CONNECTOR
        ) from exc


class TrytonClient:
    """JSON-RPC calls to one Tryton database with a session login.

    Args:
        http: the injected session; the client never closes it.
        url: the server base URL, e.g. ``http://127.0.0.1:8000``.
        database: the database name.
        username: the Tryton login.
        password: the password (plain text or an object with ``get_secret_value()``).
        timeout: the timeout applied to every call.
    """

    def __init__(
        self,
        http: aiohttp.ClientSession,
        *,
        url: str,
        database: str,
        username: str,
        password: Any,
        timeout: aiohttp.ClientTimeout = DEFAULT_TIMEOUT,
    ) -> None:
        self._http = http
        self._endpoint = f"{url.rstrip('/')}/{database}/rpc/"
        self._username = username
        self._password = password
        self._timeout = timeout
        self._auth: str | None = None
        self.user_id = 0
        self._ids = itertools.count(1)
        self.context: dict[str, Any] = {}

    def _secret(self) -> str:
        getter = getattr(self._password, "get_secret_value", None)
        return str(getter() if callable(getter) else self._password)

    async def login(self) -> None:
        """Log in, keep the session token and load the user's preferences as context.

        Raises:
            ConfigError: wrong user or password.
            TransientError: the server cannot be reached.
        """
        params = [self._username, {"password": self._secret()}, "en"]
        result = await self._post("common.db.login", params, auth=None)
        if not isinstance(result, list) or len(result) < 2:
            raise errors.ConfigError("Tryton login returned no session", connector=_CONNECTOR)
        user_id, token = result[0], result[1]
        self.user_id = int(user_id)
        raw = f"{self._username}:{user_id}:{token}".encode()
        self._auth = "Session " + base64.b64encode(raw).decode("ascii")
        await self.refresh_context()

    async def refresh_context(self) -> None:
        """Fetch ``res.user.get_preferences`` again (after the user's company changes)."""
        prefs = await self._post("model.res.user.get_preferences", [True, {}], auth=self._auth)
        self.context = dict(prefs)

    async def call(
        self, method: str, *params: Any, context: Mapping[str, Any] | None = None
    ) -> Any:
        """Call ``method`` with ``params`` and the session context appended.

        Args:
            method: e.g. ``model.party.party.create``.
            *params: positional parameters before the context.
            context: extra keys merged over the user's context.

        Returns:
            The decoded ``result`` member.
        """
        if self._auth is None:
            await self.login()
        args = [*params, {**self.context, **(context or {})}]
        try:
            return await self._post(method, args, auth=self._auth)
        except errors.ConfigError as exc:
            if exc.status_code != 401:
                raise
        logger.info("tryton session expired; logging in again")
        await self.login()
        return await self._post(method, args, auth=self._auth)

    async def _post(self, method: str, params: Sequence[Any], *, auth: str | None) -> Any:
        body = dumps({"id": next(self._ids), "method": method, "params": list(params)})
        headers = {"Content-Type": "application/json"}
        if auth:
            headers["Authorization"] = auth
        async with (
            map_errors(method),
            self._http.post(
                self._endpoint, data=body, headers=headers, timeout=self._timeout
            ) as response,
        ):
            text = await response.text()
            if response.status != 200:
                raise _status_error(response.status, method, text)
            answer = loads(text)
        if "error" in answer and answer["error"] is not None:
            raise _tryton_error(answer["error"], method)
        return answer.get("result")

    def model(self, name: str) -> Model:
        """Return helpers for the model ``name`` (e.g. ``"party.party"``)."""
        return Model(self, name)

    async def run_wizard(
        self,
        name: str,
        answers: Mapping[str, tuple[str, Mapping[str, Any]]],
        *,
        active_model: str | None = None,
        active_ids: Sequence[int] = (),
    ) -> None:
        """Run the wizard ``name`` to its end.

        Args:
            name: the wizard, e.g. ``account.invoice.pay``.
            answers: for each view state, the button state to press and values set over
                the view's defaults.
            active_model: the model the wizard acts on.
            active_ids: the records it acts on.

        Raises:
            PermanentError: the wizard shows a view not listed in ``answers``.
        """
        ctx: dict[str, Any] = {}
        if active_model:
            ctx = {"active_model": active_model, "active_ids": list(active_ids)}
            ctx["active_id"] = active_ids[0] if active_ids else None
        sid, state, _end = await self.call(f"wizard.{name}.create")
        data: dict[str, Any] = {}
        try:
            while True:
                result = await self.call(f"wizard.{name}.execute", sid, data, state, context=ctx)
                view = (result or {}).get("view")
                if not view:
                    return
                view_state = view["state"]
                if view_state not in answers:
                    raise errors.PermanentError(
                        f"Tryton wizard {name} stopped at an unexpected step {view_state!r}",
                        connector=_CONNECTOR,
                    )
                state, values = answers[view_state]
                defaults = {k: v for k, v in (view.get("defaults") or {}).items() if "." not in k}
                data = {view_state: {**defaults, **values}}
        finally:
            with contextlib.suppress(errors.LedgerbridgeError):
                await self.call(f"wizard.{name}.delete", sid)


class Model:
    """CRUD helpers for one Tryton model; every method is one RPC call."""

    def __init__(self, client: TrytonClient, name: str) -> None:
        self._client = client
        self.name = name

    async def call(
        self, method: str, *params: Any, context: Mapping[str, Any] | None = None
    ) -> Any:
        """Call ``model.<name>.<method>`` with ``params``."""
        return await self._client.call(f"model.{self.name}.{method}", *params, context=context)

    async def create(self, values: Sequence[Mapping[str, Any]]) -> list[int]:
        """Create records; return their ids in order."""
        return list(await self.call("create", list(values)))

    async def write(self, ids: Sequence[int], values: Mapping[str, Any]) -> None:
        """Write ``values`` on the records ``ids``."""
        await self.call("write", list(ids), dict(values))

    async def delete(self, ids: Sequence[int]) -> None:
        """Delete the records ``ids``."""
        await self.call("delete", list(ids))

    async def read(self, ids: Sequence[int], fields: Sequence[str]) -> list[dict[str, Any]]:
        """Read ``fields`` of the records ``ids``."""
        return list(await self.call("read", list(ids), list(fields)))

    async def search(
        self,
        domain: Sequence[Any],
        *,
        offset: int = 0,
        limit: int | None = None,
        order: Sequence[tuple[str, str]] | None = None,
    ) -> list[int]:
        """Return the ids matching ``domain``."""
        order_arg = [list(o) for o in order] if order else None
        return list(await self.call("search", list(domain), offset, limit, order_arg))

    async def search_read(
        self,
        domain: Sequence[Any],
        fields: Sequence[str],
        *,
        offset: int = 0,
        limit: int | None = None,
        order: Sequence[tuple[str, str]] | None = None,
    ) -> list[dict[str, Any]]:
        """Return ``fields`` of the records matching ``domain``."""
        order_arg = [list(o) for o in order] if order else None
        rows = await self.call("search_read", list(domain), offset, limit, order_arg, list(fields))
        return list(rows)

    async def button(self, name: str, ids: Sequence[int]) -> Any:
        """Press the button ``name`` on the records ``ids``."""
        return await self.call(name, list(ids))
