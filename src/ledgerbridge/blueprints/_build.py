"""Build the typed models from a document that passed every check, one small factory per kind."""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal
from typing import Any

from ledgerbridge.blueprints import _cel, _mapping, _model, _problems

__all__ = ["blueprint", "digest"]

Expressions = dict[_problems.Path, _cel.Expression]


def digest(document: Any) -> str:
    """Return the sha256 of the canonical JSON form of ``document``."""
    text = json.dumps(document, sort_keys=True, separators=(",", ":"), default=_canonical)
    return hashlib.sha256(text.encode()).hexdigest()


def _canonical(value: Any) -> Any:
    if isinstance(value, Decimal):
        return {"$decimal": str(value)}
    raise TypeError(f"cannot put {type(value).__name__} in a blueprint digest")


def blueprint(document: dict[str, Any], expressions: Expressions) -> _model.Blueprint:
    """Return the :class:`~ledgerbridge.blueprints.Blueprint` of a checked document."""
    connections = document["connections"]
    return _model.Blueprint(
        name=document["blueprint"],
        version=document["version"],
        schema_version=document["schema_version"],
        description=document.get("description", ""),
        connections={name: spec["role"] for name, spec in connections.items()},
        system_of_record=dict(document.get("system_of_record") or {}),
        lookups={name: dict(table) for name, table in (document.get("lookups") or {}).items()},
        mappings={
            name: _mapping_spec(name, spec, expressions)
            for name, spec in (document.get("mappings") or {}).items()
        },
        data_quality={
            rule["name"]: _rule(index, rule, expressions)
            for index, rule in enumerate(document.get("data_quality") or ())
        },
        approvals={
            item["name"]: _approval(index, item, expressions)
            for index, item in enumerate(document.get("approvals") or ())
        },
        flows=tuple(_flow(i, flow, expressions) for i, flow in enumerate(document["flows"])),
        document=document,
        digest=digest(document),
    )


def _mapping_spec(
    name: str, spec: dict[str, Any], expressions: Expressions
) -> _mapping.MappingSpec:
    fields = []
    for target, field in spec["fields"].items():
        expr = expressions.get(("mappings", name, "fields", target, "expr"))
        fields.append(
            _mapping.FieldSpec(
                target=target,
                path=field.get("path"),
                lookup=field.get("lookup"),
                key=field.get("key"),
                expr=expr,
                value=field.get("value"),
                default=field.get("default"),
                has_default="default" in field,
            )
        )
    return _mapping.MappingSpec(name=name, fields=tuple(fields))


def _rule(index: int, rule: dict[str, Any], expressions: Expressions) -> _model.DataQualityRule:
    return _model.DataQualityRule(
        name=rule["name"],
        applies_to=rule["applies_to"],
        rule=expressions[("data_quality", index, "rule")],
        message=rule["message"],
        field=rule.get("field"),
    )


def _approval(index: int, item: dict[str, Any], expressions: Expressions) -> _model.ApprovalPolicy:
    return _model.ApprovalPolicy(
        name=item["name"], role=item["role"], when=expressions.get(("approvals", index, "when"))
    )


def _mode(value: Any) -> _model.Mode:
    if isinstance(value, dict):
        window = value["batch"]
        return _model.Mode(kind="batch", every=window.get("every"), at=window.get("at"))
    return _model.Mode(kind=value)


def _flow(index: int, flow: dict[str, Any], expressions: Expressions) -> _model.Flow:
    trigger = _model.Trigger(
        event=flow["trigger"]["event"], when=expressions.get(("flows", index, "trigger", "when"))
    )
    steps = tuple(
        _model.StepSpec(
            name=step["name"],
            kind=step["kind"],
            connection=step.get("connection"),
            map=step.get("map"),
            params=dict(step.get("params") or {}),
        )
        for step in flow["steps"]
    )
    return _model.Flow(
        name=flow["name"],
        trigger=trigger,
        steps=steps,
        mode=_mode(flow.get("mode", "realtime")),
        modes_allowed=tuple(flow.get("modes_allowed") or ()),
        quality=tuple(flow.get("quality") or ()),
        approval=flow.get("approval"),
        description=flow.get("description", ""),
    )
