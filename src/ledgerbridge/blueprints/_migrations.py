"""Upgrade documents written in an older ``schema_version`` of the blueprint language.

Each migration is a small function registered with :func:`migration`; it receives a
copy of a document at ``from_version`` and returns it at ``from_version + 1``. The
loader applies them in order until the document reaches :data:`SCHEMA_VERSION`.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

__all__ = ["SCHEMA_VERSION", "Migration", "migrate", "migration", "registered"]

#: the version of the blueprint language this package reads
SCHEMA_VERSION = 1

#: a function that upgrades a document by one schema version
Migration = Callable[[dict[str, Any]], dict[str, Any]]

_REGISTRY: dict[int, Migration] = {}


def migration(*, from_version: int) -> Callable[[Migration], Migration]:
    """Register a function that upgrades documents from ``from_version`` by one.

    Args:
        from_version: the schema version the function reads.

    Returns:
        A decorator that registers the function and returns it unchanged.

    Raises:
        ValueError: a migration for ``from_version`` is already registered, or the
            version is not below :data:`SCHEMA_VERSION`.
    """

    def register(function: Migration) -> Migration:
        if from_version in _REGISTRY:
            raise ValueError(f"a migration from schema_version {from_version} already exists")
        if not 0 <= from_version < SCHEMA_VERSION:
            raise ValueError(f"from_version must be in 0..{SCHEMA_VERSION - 1}")
        _REGISTRY[from_version] = function
        return function

    return register


def registered() -> dict[int, Migration]:
    """Return the registered migrations by the version they upgrade from."""
    return dict(_REGISTRY)


def migrate(document: dict[str, Any]) -> dict[str, Any]:
    """Return a copy of ``document`` upgraded to :data:`SCHEMA_VERSION`.

    Args:
        document: a document whose ``schema_version`` is an int no newer than
            :data:`SCHEMA_VERSION`.

    Returns:
        The upgraded copy; ``document`` itself is not changed.

    Raises:
        ValueError: no migration is registered for a version on the way.
    """
    current = copy.deepcopy(document)
    version = current["schema_version"]
    while version < SCHEMA_VERSION:
        step = _REGISTRY.get(version)
        if step is None:
            raise ValueError(f"no migration from schema_version {version}")
        current = step(current)
        version += 1
        current["schema_version"] = version
    return current


@migration(from_version=0)
def trigger_as_mapping(document: dict[str, Any]) -> dict[str, Any]:
    """Version 0 wrote ``trigger: time_entry.approved``; version 1 writes ``trigger: {event: ...}``."""
    for flow in document.get("flows") or ():
        if isinstance(flow, dict) and isinstance(flow.get("trigger"), str):
            flow["trigger"] = {"event": flow["trigger"]}
    return document
