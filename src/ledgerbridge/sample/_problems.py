"""Seeded data problems: which records carry one, and what an exception must say."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from ledgerbridge.sample import _catalog

#: Problem kinds with the field they affect and a phrase the exception reason contains.
KINDS: dict[str, tuple[str, str]] = {
    "hours_out_of_range": ("time_in_minutes", "hours"),
    "unknown_currency": ("currency", "currency"),
    "currency_mismatch": ("currency", "currency"),
    "missing_rate": ("rate_in_cents", "rate"),
    "changed_after_invoiced": ("", "invoiced"),
}

_TIME_BILLABLE = ("hours_out_of_range", "unknown_currency", "currency_mismatch", "missing_rate")
_TIME_NON_BILLABLE = ("hours_out_of_range", "unknown_currency", "currency_mismatch")
_EXPENSE = ("unknown_currency", "currency_mismatch")


@dataclass(frozen=True, kw_only=True, slots=True)
class SeededProblem:
    """A record the generator made wrong on purpose, and how the platform must report it.

    Attributes:
        resource: the PSA resource, ``time_entries`` or ``expenses``.
        id: the record's id.
        kind: one of ``hours_out_of_range``, ``unknown_currency``, ``currency_mismatch``,
            ``missing_rate`` or ``changed_after_invoiced``.
        field: the field that is wrong (or was changed).
        reason_contains: a lowercase phrase the exception's reason must contain.
    """

    resource: str
    id: str
    kind: str
    field: str
    reason_contains: str

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown problem kind {self.kind!r}")


def problem_for(resource: str, id_: str, kind: str, *, field: str = "") -> SeededProblem:
    """Return the :class:`SeededProblem` of ``kind`` on one record."""
    default_field, phrase = KINDS[kind]
    return SeededProblem(
        resource=resource, id=id_, kind=kind, field=field or default_field, reason_contains=phrase
    )


def pick_kind(rng: random.Random, rate: float, *, resource: str, billable: bool) -> str | None:
    """Draw whether a new record carries a problem, and which one.

    Only billable records are spoiled: they are the ones the delivery-to-cash flow posts
    and checks; a non-billable record never reaches the ERP.
    """
    if not billable or rng.random() >= rate:
        return None
    if resource == "expenses":
        return rng.choice(_EXPENSE)
    return rng.choice(_TIME_BILLABLE if billable else _TIME_NON_BILLABLE)


def spoil(rng: random.Random, kind: str, fields: dict[str, Any]) -> None:
    """Change a record's create ``fields`` in place so that it has problem ``kind``."""
    if kind == "hours_out_of_range":
        fields["time_in_minutes"] = rng.choice((0, rng.randrange(1441, 2881)))
    elif kind == "unknown_currency":
        fields["currency"] = rng.choice(_catalog.UNKNOWN_CURRENCIES)
    elif kind == "currency_mismatch":
        others = [c for c in _catalog.MISMATCH_CURRENCIES if c != fields["currency"]]
        fields["currency"] = rng.choice(others)
    elif kind == "missing_rate":
        fields["rate_in_cents"] = None
    else:
        raise ValueError(f"problem kind {kind!r} is not seeded at creation")
