"""Master data of the sample firm: clients, people, projects, tasks and milestones."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field

from ledgerbridge.sample import _calendar, _catalog, _ops

_BILLING_OFFSET_SECONDS = 2


@dataclass(slots=True, kw_only=True)
class Milestone:
    """A milestone story and when it completes."""

    id: str
    workspace_id: str
    price: int
    completed_at: int


@dataclass(slots=True, kw_only=True)
class Project:
    """A workspace with what activity generation needs to know about it."""

    id: str
    currency: str
    billing_type: str
    price: int = 0
    tasks: list[str] = field(default_factory=list)
    milestones: list[Milestone] = field(default_factory=list)


@dataclass(slots=True, kw_only=True)
class User:
    """A person of the firm and the projects they book time on (primary first)."""

    id: str
    role: str
    projects: list[Project] = field(default_factory=list)


@dataclass(slots=True, kw_only=True)
class Firm:
    """All master data of the sample."""

    users: list[User]
    projects: list[Project]


class _Clock:
    """Hands out one second per master-data operation from a start time."""

    def __init__(self, start: int) -> None:
        self._next = start

    def tick(self) -> int:
        self._next += 1
        return self._next


def build_firm(
    rng: random.Random,
    *,
    counts: tuple[int, int, int],
    months: list[_calendar.Month],
    ids: _ops.Ids,
    log: _ops.OpLog,
    currencies: tuple[tuple[str, int], ...] | None = None,
) -> Firm:
    """Create clients, users and projects (with stories) at the start of the first month.

    Args:
        rng: the random source.
        counts: number of clients, people and projects.
        months: the months of activity, which decide the milestones.
        ids: the id source.
        log: where the operations go.
        currencies: client currencies with weights (default: the catalog's).

    Returns:
        The firm, for activity generation.
    """
    n_clients, n_people, n_projects = counts
    first = _calendar.day_start(months[0].first)
    clock = _Clock(first + _calendar.HOUR)
    weighted = currencies or _catalog.CLIENT_CURRENCIES
    clients = _clients(rng, n_clients, ids, log, clock, weighted)
    users = _users(rng, n_people, ids, log, clock)
    owners = clients + [rng.choice(clients) for _ in range(n_projects - n_clients)]
    projects = [_project(rng, owner, months, ids, log, clock) for owner in owners]
    _staff(rng, users, projects)
    for n, project in enumerate(projects):
        status = _catalog.STATUS_ACTIVE if rng.random() < 0.7 else _catalog.STATUS_OKAY_TO_START
        at = first + 6 * _calendar.HOUR + n
        log.add(at, "update", "workspaces", project.id, {"status": dict(status)})
    for project in projects:
        for milestone in project.milestones:
            update = {"state": "completed"}
            log.add(milestone.completed_at, "update", "stories", milestone.id, update)
    return Firm(users=users, projects=projects)


def _clients(
    rng: random.Random,
    count: int,
    ids: _ops.Ids,
    log: _ops.OpLog,
    clock: _Clock,
    weighted: tuple[tuple[str, int], ...],
) -> list[tuple[str, str, str]]:
    """Create the clients; returns (id, currency, short name) of each."""
    currencies, weights = zip(*weighted, strict=True)
    names: set[str] = set()
    clients = []
    for currency in rng.choices(currencies, weights=weights, k=count):
        first, second = rng.choice(_catalog.CLIENT_FIRST), rng.choice(_catalog.CLIENT_SECOND)
        name = f"{first} {second} {rng.choice(_catalog.CLIENT_SUFFIX)}"
        id_ = ids.new("organizations")
        domain = f"{first}-{second}".lower()
        if name in names:
            name, domain = f"{name} ({id_})", f"{domain}-{id_}"
        names.add(name)
        email = f"accounts.payable@{domain}.example"
        log.add(
            clock.tick(),
            "create",
            "organizations",
            id_,
            {"name": name, "currency": currency, "email": email},
        )
        clients.append((id_, currency, f"{first} {second}"))
    return clients


def _users(
    rng: random.Random, count: int, ids: _ops.Ids, log: _ops.OpLog, clock: _Clock
) -> list[User]:
    roles, weights = zip(*_catalog.ROLES, strict=True)
    seen: dict[str, int] = {}
    users = []
    for role in rng.choices(roles, weights=weights, k=count):
        first, last = rng.choice(_catalog.FIRST_NAMES), rng.choice(_catalog.LAST_NAMES)
        handle = f"{first}.{last}".lower()
        seen[handle] = seen.get(handle, 0) + 1
        if seen[handle] > 1:
            handle = f"{handle}{seen[handle]}"
        user = User(id=ids.new("users"), role=role)
        fields = {
            "full_name": f"{first} {last}",
            "email_address": f"{handle}@{_catalog.FIRM_DOMAIN}",
            "role_name": role,
        }
        log.add(clock.tick(), "create", "users", user.id, fields)
        users.append(user)
    return users


def _project(
    rng: random.Random,
    owner: tuple[str, str, str],
    months: list[_calendar.Month],
    ids: _ops.Ids,
    log: _ops.OpLog,
    clock: _Clock,
) -> Project:
    client_id, currency, short_name = owner
    kinds, weights = zip(*_catalog.BILLING_TYPES, strict=True)
    project = Project(
        id=ids.new("workspaces"),
        currency=currency,
        billing_type=rng.choices(kinds, weights=weights)[0],
    )
    plan = _milestone_plan(rng, project, months)
    if project.billing_type == "fixed_fee":
        project.price = sum(price for _, price, _ in plan)
    elif project.billing_type == "retainer":
        project.price = plan[0][1]
    title = f"{short_name} {rng.choice(_catalog.PROJECT_TITLES)}"
    fields = _workspace_fields(rng, project, client_id, title, months)
    log.add(clock.tick(), "create", "workspaces", project.id, fields)
    _stories(rng, project, plan, ids=ids, log=log, clock=clock)
    return project


def _stories(
    rng: random.Random,
    project: Project,
    plan: list[tuple[str, int, int]],
    *,
    ids: _ops.Ids,
    log: _ops.OpLog,
    clock: _Clock,
) -> None:
    """Create the project's tasks and its milestones (not started; completed later)."""
    for title in rng.sample(_catalog.TASK_TITLES, rng.randint(3, 6)):
        story_id = ids.new("stories")
        project.tasks.append(story_id)
        fields = _story_fields(project.id, title, "task", "started", 0)
        log.add(clock.tick(), "create", "stories", story_id, fields)
    for title, price, completed_at in plan:
        milestone = Milestone(
            id=ids.new("stories"), workspace_id=project.id, price=price, completed_at=completed_at
        )
        project.milestones.append(milestone)
        fields = _story_fields(project.id, title, "milestone", "not started", price)
        log.add(clock.tick(), "create", "stories", milestone.id, fields)


def _workspace_fields(
    rng: random.Random,
    project: Project,
    client_id: str,
    title: str,
    months: list[_calendar.Month],
) -> dict[str, object]:
    start = months[0].first - dt.timedelta(days=rng.randrange(0, 120))
    due = months[-1].last + dt.timedelta(days=rng.randrange(30, 180))
    return {
        "title": title,
        "organization_id": client_id,
        "currency": project.currency,
        "billing_type": project.billing_type,
        "price_in_cents": project.price,
        "require_time_approvals": True,
        "require_expense_approvals": True,
        "status": dict(_catalog.STATUS_ESTIMATE),
        "start_date": start.isoformat(),
        "due_date": due.isoformat(),
    }


def _story_fields(
    workspace_id: str, title: str, story_type: str, state: str, price: int
) -> dict[str, object]:
    return {
        "workspace_id": workspace_id,
        "title": title,
        "story_type": story_type,
        "state": state,
        "price_in_cents": price,
    }


def _milestone_plan(
    rng: random.Random, project: Project, months: list[_calendar.Month]
) -> list[tuple[str, int, int]]:
    """Return (title, fee in cents, completion time) of the project's milestones."""
    # Month-end milestones complete a few seconds apart, all before the after-billing edits.
    offset = (int(project.id) % 400) * _BILLING_OFFSET_SECONDS
    if project.billing_type == "retainer":
        fee = rng.randrange(5, 41) * 100_000
        return [(f"Retainer {m.label}", fee, m.billing_at + offset) for m in months]
    if project.billing_type == "time_and_materials":
        return [(f"Billing {m.label}", 0, m.billing_at + offset) for m in months]
    plan: list[tuple[str, int, int]] = []
    for month in months:
        times = sorted(
            _calendar.day_start(rng.choice(month.weekdays))
            + 16 * _calendar.HOUR
            + rng.randrange(2 * _calendar.HOUR)
            for _ in range(rng.randint(1, 3))
        )
        for at in times:
            title = _catalog.MILESTONE_TITLES[len(plan) % len(_catalog.MILESTONE_TITLES)]
            plan.append((f"M{len(plan) + 1} {title}", rng.randrange(20, 101) * 50_000, at))
    return plan


def _staff(rng: random.Random, users: list[User], projects: list[Project]) -> None:
    """Give every person a primary project (covering all projects) and some a second one."""
    order = list(users)
    rng.shuffle(order)
    for n, user in enumerate(order):
        user.projects.append(projects[n % len(projects)])
        if len(projects) > 1 and rng.random() < 0.4:
            second = rng.choice(projects)
            if second is not user.projects[0]:
                user.projects.append(second)
