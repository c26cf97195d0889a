"""The fleet overview: every tenant of a partner with its health and service level.

Health is red when work is failing or stuck beyond the tenant's SLA target, amber when
something needs a look, green otherwise; each row says why in words.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from ledgerbridge import store, tenancy
from ledgerbridge.console import _charts as charts
from ledgerbridge.store import _console as queries

DAY = 86400.0
WEEK = 7 * DAY
#: SLA attainment each tier promises, as a share of postings within the tier's target time
SLA_GOAL = {"gold": 0.99, "silver": 0.97, "bronze": 0.95}
RED_OPEN = 10
#: failures in 24 h (resolved or not) above this many, and above this share of events, warn
FAILURE_FLOOR = 3
FAILURE_SHARE = 0.05
SORTS = ("health", "name", "tier", "attainment", "events", "postings", "backlog", "open")
HEALTH_ORDER = {"red": 0, "amber": 1, "green": 2}


@dataclass(frozen=True, kw_only=True, slots=True)
class TenantHealth:
    """One row of the fleet overview."""

    id: str
    name: str
    sla_tier: str
    health: str  #: green | amber | red
    why: str
    attainment: float | None  #: share of postings within the SLA target, last 7 days
    events_24h: int
    postings_24h: int
    failures_24h: int
    backlog: int
    oldest_waiting_s: float | None
    open_exceptions: int

    @property
    def attainment_text(self) -> str:
        """Attainment as a percentage, or a dash when nothing was posted."""
        return "\u2013" if self.attainment is None else f"{self.attainment * 100:.1f} %"

    @property
    def oldest_text(self) -> str:
        """Age of the oldest waiting run, in words."""
        return "\u2013" if self.oldest_waiting_s is None else charts.duration(self.oldest_waiting_s)


def _health(row: dict[str, Any], tier: str) -> tuple[str, str]:
    target = queries.SLA_TARGET_S.get(tier, queries.SLA_TARGET_S["silver"])
    oldest, attainment = row["oldest"], row["attainment"]
    if oldest is not None and oldest > target:
        return "red", f"oldest waiting item is older than the {tier} target"
    if row["open"] >= RED_OPEN:
        return "red", f"{row['open']} open exceptions"
    if attainment is not None and attainment < SLA_GOAL.get(tier, 0.97):
        return "amber", "SLA attainment below goal"
    if row["open"]:
        return "amber", f"{row['open']} open exception{'s' if row['open'] != 1 else ''}"
    if row["failures"] > max(FAILURE_FLOOR, FAILURE_SHARE * row["events"]):
        return "amber", f"{row['failures']} failures in the last 24 h"
    return "green", "all flowing"


def fleet(
    db: store.Database, principal: tenancy.Principal, *, now: float | None = None
) -> list[TenantHealth]:
    """Return the health of every tenant inside the caller's scope."""
    principal.require(tenancy.Permission.READ)
    now = now if now is not None else time.time()
    scope = principal.scope
    with db.read() as conn:
        rows = queries.tenants(conn, scope)
        counts = queries.fleet_counts(conn, scope, since=now - DAY)
        waiting = queries.backlog(conn, scope)
        sla = queries.sla_attainment(conn, scope, since=now - WEEK)
    out = []
    for tenant in rows:
        n_waiting, first = waiting.get(tenant.id, (0, None))
        posted, on_time = sla.get(tenant.id, (0, 0))
        opened = counts["open"].get(tenant.id, 0)
        failures = counts["failures"].get(tenant.id, 0)
        events = counts["events"].get(tenant.id, 0)
        oldest = None if first is None else max(now - first, 0.0)
        attainment = on_time / posted if posted else None
        metrics: dict[str, Any] = {
            "open": opened,
            "failures": failures,
            "events": events,
            "oldest": oldest,
            "attainment": attainment,
        }
        health, why = _health(metrics, tenant.sla_tier)
        out.append(
            TenantHealth(
                id=tenant.id,
                name=tenant.name,
                sla_tier=tenant.sla_tier,
                health=health,
                why=why,
                attainment=attainment,
                events_24h=events,
                postings_24h=counts["postings"].get(tenant.id, 0),
                failures_24h=failures,
                backlog=n_waiting,
                oldest_waiting_s=oldest,
                open_exceptions=opened,
            )
        )
    return out


def _sort_key(sort: str) -> Any:
    keys: dict[str, Any] = {
        "health": lambda t: (HEALTH_ORDER[t.health], -t.open_exceptions, t.name.lower()),
        "name": lambda t: t.name.lower(),
        "tier": lambda t: (["gold", "silver", "bronze"].index(t.sla_tier), t.name.lower()),
        "attainment": lambda t: (t.attainment is None, t.attainment or 0.0),
        "events": lambda t: t.events_24h,
        "postings": lambda t: t.postings_24h,
        "backlog": lambda t: t.backlog,
        "open": lambda t: t.open_exceptions,
    }
    return keys.get(sort, keys["health"])


def arrange(
    rows: list[TenantHealth],
    *,
    sort: str = "health",
    descending: bool = False,
    query: str = "",
    health: str = "",
    tier: str = "",
) -> list[TenantHealth]:
    """Filter rows by name, health and tier, then sort them."""
    needle = query.strip().lower()
    kept = [
        r
        for r in rows
        if (not needle or needle in r.name.lower() or needle in r.id.lower())
        and (not health or r.health == health)
        and (not tier or r.sla_tier == tier)
    ]
    return sorted(kept, key=_sort_key(sort), reverse=descending)


def summary(rows: list[TenantHealth]) -> dict[str, int]:
    """Count tenants per health colour."""
    return {colour: sum(1 for r in rows if r.health == colour) for colour in HEALTH_ORDER}
