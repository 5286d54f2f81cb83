"""Settings from RELMAN_* environment variables, read once at the edges."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from relman.domain.durations import parse_duration
from relman.errors import InvalidInput

__all__ = ["Settings"]

DEFAULT_URL = "http://127.0.0.1:8000"


@dataclass(frozen=True)
class Settings:
    home: Path
    database_url: str
    url: str = DEFAULT_URL
    token: str | None = None
    anonymous_read: bool = True
    lease: timedelta = timedelta(seconds=15)
    worker_slots: int = 4

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        home = Path(env.get("RELMAN_HOME") or ".relman")
        database_url = env.get("RELMAN_DATABASE_URL") or f"sqlite:///{home / 'relman.db'}"
        return cls(
            home=home,
            database_url=database_url,
            url=(env.get("RELMAN_URL") or DEFAULT_URL).rstrip("/"),
            token=env.get("RELMAN_TOKEN") or None,
            anonymous_read=_flag(
                "RELMAN_ANONYMOUS_READ", env.get("RELMAN_ANONYMOUS_READ"), default=True
            ),
            lease=_lease(env.get("RELMAN_LEASE")),
            worker_slots=_slots(env.get("RELMAN_WORKER_SLOTS")),
        )


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _flag(name: str, value: str | None, *, default: bool) -> bool:
    if value is None or value.strip() == "":
        return default
    word = value.strip().lower()
    if word in _TRUE | _FALSE:
        return word in _TRUE
    raise InvalidInput(
        f"{name}='{value}' is not true or false; use one of: true, false, 1, 0, yes, no, on, off",
        details={"variable": name, "value": value},
    )


def _lease(value: str | None) -> timedelta:
    if value is None or not value.strip():
        return timedelta(seconds=15)
    try:
        lease = parse_duration(value.strip())
    except InvalidInput as exc:
        raise InvalidInput(f"RELMAN_LEASE: {exc.message}", details=exc.details) from None
    if lease < timedelta(seconds=1):
        raise InvalidInput(
            f"RELMAN_LEASE='{value}' is too short; a lease needs at least 1s (default 15s)",
            details={"variable": "RELMAN_LEASE", "value": value},
        )
    return lease


def _slots(value: str | None) -> int:
    if value is None or not value.strip():
        return 4
    if not value.strip().isdigit() or not 1 <= int(value) <= 64:
        raise InvalidInput(
            f"RELMAN_WORKER_SLOTS='{value}' is not a whole number from 1 to 64 (default 4)",
            details={"variable": "RELMAN_WORKER_SLOTS", "value": value},
        )
    return int(value)
