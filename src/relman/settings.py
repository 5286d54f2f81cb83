"""Settings from RELMAN_* environment variables, read once at the edges."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

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
