"""Typed, frozen models of a validated blueprint, and the runtime API the engine calls."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ledgerbridge import errors
from ledgerbridge.blueprints import _cel, _mapping

__all__ = [
    "MODE_KINDS",
    "ApprovalPolicy",
    "Blueprint",
    "DataQualityRule",
    "Flow",
    "Mode",
    "StepSpec",
    "Trigger",
    "Violation",
]

#: the ways a flow can run
MODE_KINDS = ("realtime", "batch")


def _activation(
    record: Mapping[str, Any], event: Mapping[str, Any] | None, context: Mapping[str, Any] | None
) -> dict[str, Any]:
    return {"record": record, "event": event or {}, "context": context or {}}


@dataclass(frozen=True, kw_only=True, slots=True)
class Mode:
    """How a flow runs: at once per event, or in batch windows.

    Attributes:
        kind: ``realtime`` or ``batch``.
        every: the batch window (``hour``, ``day``, ``week``, ``month``), or ``None``
            for the deployment's default window.
        at: the time of day (``HH:MM``) a batch window closes, or ``None``.
    """

    kind: str
    every: str | None = None
    at: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in MODE_KINDS:
            raise ValueError(f"mode kind must be one of {MODE_KINDS}, not {self.kind!r}")
        if self.kind == "realtime" and (self.every or self.at):
            raise ValueError("a realtime mode has no batch window")


@dataclass(frozen=True, kw_only=True, slots=True)
class Trigger:
    """The event that starts a flow, and an optional CEL condition on the record."""

    event: str
    when: _cel.Expression | None = None

    @property
    def object_type(self) -> str:
        """The object type of the event (``time_entry`` for ``time_entry.approved``)."""
        return self.event.split(".")[0]


@dataclass(frozen=True, kw_only=True, slots=True)
class StepSpec:
    """One step of a flow, as the blueprint declares it."""

    name: str
    kind: str
    connection: str | None = None
    map: str | None = None
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True, slots=True)
class DataQualityRule:
    """A CEL rule that must be true for a record of ``applies_to`` to pass."""

    name: str
    applies_to: str
    rule: _cel.Expression
    message: str
    field: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class Violation:
    """A data-quality rule a record broke."""

    rule: str
    field: str | None
    message: str


@dataclass(frozen=True, kw_only=True, slots=True)
class ApprovalPolicy:
    """Hold a flow for a person with ``role`` when ``when`` is true (always, without it)."""

    name: str
    role: str
    when: _cel.Expression | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class Flow:
    """A flow: a trigger, how it runs, its checks and its steps."""

    name: str
    trigger: Trigger
    steps: tuple[StepSpec, ...]
    mode: Mode = field(default_factory=lambda: Mode(kind="realtime"))
    modes_allowed: tuple[str, ...] = ()
    quality: tuple[str, ...] = ()
    approval: str | None = None
    description: str = ""

    def __post_init__(self) -> None:
        if not self.modes_allowed:
            object.__setattr__(self, "modes_allowed", (self.mode.kind,))
        if self.mode.kind not in self.modes_allowed:
            raise ValueError(f"flow {self.name!r}: mode {self.mode.kind!r} is not allowed")

    def effective_mode(self, override: str | None) -> Mode:
        """Return the mode to run with, given a deployment's choice.

        Args:
            override: ``realtime`` or ``batch`` as the deployment chose it, or ``None``
                to keep the blueprint's mode.

        Returns:
            The blueprint's mode when the override is ``None`` or names its kind;
            otherwise the overriding mode (a batch override uses the deployment's
            default window).

        Raises:
            ConfigError: the override is unknown or not in the flow's ``modes_allowed``.
        """
        if override is None or override == self.mode.kind:
            return self.mode
        if override not in self.modes_allowed:
            allowed = ", ".join(self.modes_allowed)
            message = f"flow {self.name!r} cannot run in mode {override!r}"
            raise errors.ConfigError(message, hint=f"modes_allowed: {allowed}")
        return Mode(kind=override)


@dataclass(frozen=True, kw_only=True, slots=True)
class Blueprint:
    """A loaded blueprint version, ready to run; build it with ``load_text`` or ``load_file``."""

    name: str
    version: int
    schema_version: int
    flows: tuple[Flow, ...]
    description: str = ""
    connections: Mapping[str, str] = field(default_factory=dict)
    system_of_record: Mapping[str, str] = field(default_factory=dict)
    lookups: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    mappings: Mapping[str, _mapping.MappingSpec] = field(default_factory=dict)
    data_quality: Mapping[str, DataQualityRule] = field(default_factory=dict)
    approvals: Mapping[str, ApprovalPolicy] = field(default_factory=dict)
    document: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)
    digest: str = ""

    def flow(self, name: str) -> Flow:
        """Return the flow called ``name``.

        Raises:
            ConfigError: the blueprint has no such flow.
        """
        for flow in self.flows:
            if flow.name == name:
                return flow
        raise self._unknown("flow", name, [f.name for f in self.flows])

    def flows_for(
        self,
        event_type: str,
        record: Mapping[str, Any],
        *,
        event: Mapping[str, Any] | None = None,
        context: Mapping[str, Any] | None = None,
    ) -> list[Flow]:
        """Return the flows triggered by ``event_type`` whose ``when`` is true for ``record``.

        Raises:
            RecordError: a ``when`` condition cannot be evaluated on the record.
        """
        activation = _activation(record, event, context)
        return [
            flow
            for flow in self.flows
            if flow.trigger.event == event_type
            and (flow.trigger.when is None or flow.trigger.when.is_true(activation))
        ]

    def check_quality(
        self, flow: Flow, record: Mapping[str, Any], *, context: Mapping[str, Any] | None = None
    ) -> list[Violation]:
        """Return the data-quality rules of ``flow`` that ``record`` breaks.

        Rules for another object type than the flow's trigger are skipped. A rule that
        cannot be evaluated (a missing field, a wrong type) counts as broken, and its
        violation message says why.
        """
        activation = _activation(record, None, context)
        found = []
        for name in flow.quality:
            rule = self.data_quality[name]
            if rule.applies_to != flow.trigger.object_type:
                continue
            try:
                passed = rule.rule.is_true(activation)
                message = rule.message
            except errors.RecordError as exc:
                passed, message = False, f"{rule.message} ({exc.message})"
            if not passed:
                found.append(Violation(rule=name, field=rule.field, message=message))
        return found

    def apply_mapping(self, name: str, activation: Mapping[str, Any]) -> dict[str, Any]:
        """Compute the fields of mapping ``name`` from ``activation``.

        Args:
            name: the mapping's name.
            activation: ``{"record": ..., "event": ..., "context": ...}``.

        Returns:
            The output fields in declaration order; numbers are never floats.

        Raises:
            ConfigError: there is no such mapping.
            RecordError: a field's source is missing and it has no default.
        """
        spec = self.mappings.get(name)
        if spec is None:
            raise self._unknown("mapping", name, list(self.mappings))
        return {f.target: f.compute(activation, self.lookups) for f in spec.fields}

    def approval_for(
        self, flow: Flow, record: Mapping[str, Any], *, context: Mapping[str, Any] | None = None
    ) -> ApprovalPolicy | None:
        """Return the approval policy that holds ``record`` in ``flow``, or ``None``.

        Raises:
            RecordError: the policy's ``when`` cannot be evaluated on the record.
        """
        if flow.approval is None:
            return None
        policy = self.approvals[flow.approval]
        if policy.when is None or policy.when.is_true(_activation(record, None, context)):
            return policy
        return None

    def owner(self, object_type: str) -> str | None:
        """Return the connection that is the system of record for ``object_type``, if any."""
        return self.system_of_record.get(object_type)

    def _unknown(self, what: str, name: str, names: list[str]) -> errors.ConfigError:
        close = difflib.get_close_matches(name, names, n=3)
        hint = f"did you mean {', '.join(close)}?" if close else f"known: {', '.join(names)}"
        return errors.ConfigError(
            f"blueprint {self.name} v{self.version} has no {what} {name!r}", hint=hint
        )
