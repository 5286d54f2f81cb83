"""The demo workspace: services, environments, a lifecycle, releases and two weeks of history."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from importlib import resources
from pathlib import Path

from sqlalchemy import func, select

from relman.configfile import load_config
from relman.domain.commits import Commit
from relman.domain.config import DEFAULT_NOTES
from relman.domain.notes import read_changes
from relman.domain.releases import ReleaseContent
from relman.drivers.base import Driver
from relman.drivers.process import default_state_dir
from relman.services.config_apply import apply_config
from relman.services.deployments import record_deployment
from relman.services.live_demo import shop_config
from relman.services.notes import render_markdown, sections_data
from relman.services.promotions import promote
from relman.services.releases import ContainedCommit, ReleaseHistory, create_release
from relman.store.database import Database
from relman.store.tables import ServiceRow
from relman.store.unit_of_work import Clock, UnitOfWork, utcnow

__all__ = ["DEMO_PROMOTIONS", "seed_demo", "start_demo_promotions"]

ACTOR = "demo"


@dataclass(frozen=True)
class _Step:
    days_ago: float
    service: str
    version: str
    environment: str
    state: str = "succeeded"
    by: str = "ci"


# Each release climbs dev → staging → production; a few stop short or fail on the way.
_HISTORY = [
    *(
        _Step(d, svc, ver, env, by=who)
        for svc, ver, d0 in [
            ("api", "1.2.0", 14),
            ("web", "3.0.0", 13),
            ("billing", "2.0.3", 12),
            ("api", "1.3.0", 9),
            ("web", "3.1.0", 7),
        ]
        for d, env, who in [
            (d0, "dev", "ci"),
            (d0 - 1, "staging", "ci"),
            (d0 - 2, "production", "alice"),
        ]
    ),
    _Step(6, "docs-site", "0.9.0", "production", by="bob"),
    _Step(5, "billing", "2.1.0", "dev"),
    _Step(4.5, "billing", "2.1.0", "staging"),
    _Step(4, "billing", "2.1.0", "production", state="failed", by="alice"),
    _Step(3, "api", "1.4.0-rc.1", "dev"),
    _Step(2.5, "api", "1.4.0-rc.1", "staging", state="failed"),
    _Step(2, "api", "1.4.0", "dev"),
    _Step(1.5, "api", "1.4.0", "staging"),
    _Step(1, "web", "3.2.0", "dev"),
    _Step(0.5, "docs-site", "1.0.0", "staging", by="bob"),
    _Step(0.4, "docs-site", "1.0.0", "production", by="bob"),
    _Step(0.3, "docs-site", "1.1.0", "staging", by="bob"),
]


def seed_demo(database: Database, clock: Clock = utcnow, state_dir: Path | None = None) -> bool:
    """Fill an empty store with the demo workspace, all in one transaction; leave a store
    that has services alone.

    Each release and deployment is written with the clock at its own moment in the history.
    """
    now = clock()
    with UnitOfWork(database, clock) as uow:
        uow.lock("demo.seed")
        if uow.session.scalar(select(func.count()).select_from(ServiceRow)):
            return False
        with uow.batch():
            text = resources.files("relman.demo").joinpath("relman.yaml").read_text()
            text += shop_config(state_dir or default_state_dir() / "demo")
            apply_config(uow, load_config(text, "demo/relman.yaml"), actor=ACTOR)
            registered: set[tuple[str, str]] = set()
            for step in sorted([*_HISTORY, *_UNDEPLOYED], key=lambda s: -s.days_ago):
                uow.clock = _at(now - timedelta(days=step.days_ago))
                if (step.service, step.version) not in registered:
                    _register(uow, step)
                    registered.add((step.service, step.version))
                if step in _UNDEPLOYED:
                    continue
                record_deployment(
                    uow,
                    service=step.service,
                    version=step.version,
                    environment=step.environment,
                    state=step.state,
                    actor=step.by,
                )
    return True


def _at(moment: datetime) -> Clock:
    return lambda: moment


# What each release contains, as commit messages; the notes are made from them the way
# `relman release create --from-git` makes them. Others get one generic fix.
_COMMITS: dict[tuple[str, str], list[str]] = {
    ("api", "1.3.0"): [
        "feat(orders): list a customer's orders, newest first (#112)",
        "fix: order dates shown in the server's time zone (#118)",
    ],
    ("api", "1.4.0-rc.1"): [
        "feat(search): search orders by status",
        "perf(orders): cache customer lookups",
    ],
    ("api", "1.4.0"): [
        "feat(search): search orders by status",
        "perf(orders): cache customer lookups",
        "fix(orders): totals rounded half-even (#131)",
    ],
    ("web", "3.1.0"): ["feat(cart): save the cart between visits (#54)"],
    ("web", "3.1.1"): ["fix(cart): an empty cart no longer shows a total (#61)"],
    ("web", "3.2.0"): [
        "feat(checkout)!: one-page checkout\n\nBREAKING CHANGE: the /checkout/step-2 URL is gone",
        "feat(i18n): German translation",
        "fix: the logo links to the home page",
    ],
}
# Registered, never deployed: promoting web 3.2.0 to production brings 3.1.1 along.
_UNDEPLOYED = [
    _Step(6.5, "web", "3.1.1", "staging"),
    *(_Step(0.2, "shop", version, "production") for version in ("1.0.0", "1.1.0", "1.2.0")),
]


def _register(uow: UnitOfWork, step: _Step) -> None:
    messages = _COMMITS.get((step.service, step.version), ["fix: small corrections"])
    commits = [
        Commit(_hash(step.service, step.version, message), message, "demo", "demo@example.com")
        for message in messages
    ]
    sections = sections_data(read_changes(commits, DEFAULT_NOTES).sections(DEFAULT_NOTES))
    day = uow.clock().date().isoformat()
    content = ReleaseContent.build(
        step.version,
        commit=commits[0].hash,
        notes=render_markdown(step.version, sections, DEFAULT_NOTES, date=day),
        artifacts=[(f"{step.service}.tar.gz", _digest(step))],
    )
    history = ReleaseHistory(
        changes=sections,
        commits=[ContainedCommit(c.hash, c.author, c.email, uow.clock()) for c in commits],
    )
    create_release(uow, step.service, content, actor="ci", history=history)


def _hash(*parts: str) -> str:
    return hashlib.sha1("/".join(parts).encode()).hexdigest()  # noqa: S324 - a name, not a secret


def _digest(step: _Step) -> str:
    return "sha256:" + hashlib.sha256(f"{step.service}-{step.version}".encode()).hexdigest()


# Run for real when the demo starts: docs-site 1.1.0 waits for a person's approval (its
# production gate); two go through, billing 2.1.0 fails its health check in
# production and is rolled back by itself (production has on_failure: rollback). shop is the
# live canary (services/live_demo.py): 1.0.0 goes straight to full traffic, 1.1.0 is judged and
# promoted, 1.2.0 fails 40% of its requests and is rolled back by itself.
DEMO_PROMOTIONS = [
    ("docs-site", "1.1.0", "production"),
    ("api", "1.4.0", "production"),
    ("web", "3.2.0", "staging"),
    ("billing", "2.1.0", "production"),
    ("shop", "1.0.0", "production"),
    ("shop", "1.1.0", "production"),
    ("shop", "1.2.0", "production"),
]


def start_demo_promotions(
    database: Database, drivers: Mapping[str, Driver], clock: Clock = utcnow
) -> list[int]:
    """Queue the demo's promotions; a worker runs them. Returns their deployment ids."""
    ids = []
    for service, version, environment in DEMO_PROMOTIONS:
        with UnitOfWork(database, clock) as uow:
            promotion = promote(
                uow,
                drivers,
                service=service,
                version=version,
                environment=environment,
                actor=ACTOR,
            )
            ids.append(promotion.row.id)
    return ids
