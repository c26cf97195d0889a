"""The API step code uses: the step registry and the context a step runs in.

A step kind is an async function ``(ctx: StepContext) -> dict`` registered under a dotted
name that blueprints refer to (``erp.post_time``). Step code is deterministic: the time
and the idempotency key come from the context; side effects happen only through the
connectors the context hands out. The returned dict is recorded as the step's result.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from ledgerbridge.model import BusinessEvent

__all__ = ["StepContext", "StepFunction", "XrefWrite", "kinds", "lookup", "step_kind"]

StepFunction = Callable[["StepContext"], Awaitable[dict[str, Any]]]

_KINDS: dict[str, StepFunction] = {}


def step_kind(name: str) -> Callable[[StepFunction], StepFunction]:
    """Register an async step function under ``name``."""

    def decorate(fn: StepFunction) -> StepFunction:
        _KINDS[name] = fn
        return fn

    return decorate


def lookup(name: str) -> StepFunction | None:
    """Return the step function registered under ``name``."""
    return _KINDS.get(name)


def kinds() -> list[str]:
    """Return every registered step kind, sorted."""
    return sorted(_KINDS)


class _Services(Protocol):
    """What the worker provides to a step context."""

    def connector(self, tenant_id: str, connection_id: str) -> Any: ...

    def xref(
        self, tenant_id: str, object_type: str, canonical_id: str, system: str
    ) -> str | None: ...

    def xref_record(
        self, tenant_id: str, object_type: str, canonical_id: str, system: str
    ) -> tuple[str, dict[str, Any]] | None: ...


@dataclass(frozen=True, kw_only=True, slots=True)
class XrefWrite:
    """A cross-reference a step wants recorded when its run completes."""

    object_type: str
    canonical_id: str
    system: str
    external_id: str
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(kw_only=True)
class StepContext:
    """Everything one step of one run may use."""

    tenant_id: str
    run_id: str
    flow: str
    step: str
    kind: str
    params: dict[str, Any]
    event: BusinessEvent
    record: dict[str, Any]
    idempotency_key: str
    attempt: int
    previous_attempt_ambiguous: bool
    results: Mapping[str, dict[str, Any]]
    bindings: Mapping[str, str]
    settings: Mapping[str, Any]
    started_at: float
    mapping: Callable[[str], dict[str, Any]]
    services: _Services
    blueprint: Any
    step_connection: str | None = None
    xref_writes: list[XrefWrite] = field(default_factory=list)
    about_to_write: dict[str, Any] | None = None

    def now(self) -> dt.datetime:
        """The run's clock: the time its current attempt started (UTC)."""
        return dt.datetime.fromtimestamp(self.started_at, tz=dt.UTC)

    def connector(self, name: str | None = None) -> Any:
        """Return the connector bound to logical connection ``name`` (default: the step's)."""
        logical = name or self.step_connection
        if logical is None:
            raise ValueError(f"step {self.step!r} names no connection")
        try:
            connection_id = self.bindings[logical]
        except KeyError:
            from ledgerbridge.errors import ConfigError

            raise ConfigError(
                f"the deployment binds no connection to {logical!r}",
                hint=f"bind '{logical}' to one of the tenant's connections in the deployment",
            ) from None
        return self.services.connector(self.tenant_id, connection_id)

    def xref(self, object_type: str, canonical_id: str, system: str) -> str | None:
        """Return the id of a canonical object in ``system``, if it was recorded."""
        for write in reversed(self.xref_writes):
            if (write.object_type, write.canonical_id, write.system) == (
                object_type,
                canonical_id,
                system,
            ):
                return write.external_id
        return self.services.xref(self.tenant_id, object_type, canonical_id, system)

    def xref_record(
        self, object_type: str, canonical_id: str, system: str
    ) -> tuple[str, dict[str, Any]] | None:
        """Return a cross-reference's external id and data (fresh, not cached)."""
        for write in reversed(self.xref_writes):
            if (write.object_type, write.canonical_id, write.system) == (
                object_type,
                canonical_id,
                system,
            ):
                return write.external_id, dict(write.data)
        found: tuple[str, dict[str, Any]] | None = self.services.xref_record(
            self.tenant_id, object_type, canonical_id, system
        )
        return found

    def set_xref(
        self, object_type: str, canonical_id: str, system: str, external_id: str, **data: Any
    ) -> None:
        """Record a cross-reference (written with the run's outcome)."""
        self.xref_writes.append(
            XrefWrite(
                object_type=object_type,
                canonical_id=canonical_id,
                system=system,
                external_id=external_id,
                data=data,
            )
        )

    def mapped(self, name: str) -> dict[str, Any]:
        """Apply blueprint mapping ``name`` to this step's record."""
        return self.mapping(name)
