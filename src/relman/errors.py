"""The one exception tree of relman.

    RelmanError                 anything relman refuses or cannot do
    ├── InvalidInput            bad input from a user or a script (HTTP 422, exit 2)
    │   └── ConfigError         a config file that does not validate; carries its issues
    ├── Unauthenticated         no token, or one that is unknown or revoked (HTTP 401, exit 6)
    ├── Forbidden               a valid token whose role may not do this (HTTP 403, exit 6)
    ├── NotFound                a named object that does not exist (HTTP 404, exit 4)
    ├── Conflict                the request clashes with what exists (HTTP 409, exit 5)
    │   └── Refused             a rule (lifecycle order, soak time) refuses it; names the rule
    ├── NothingToRelease        no commit since the last release calls for a new one (exit 3)
    ├── ServerUnreachable       the CLI could not reach the relman server (exit 7)
    └── StoreUnavailable        the database cannot be opened or upgraded (HTTP 503, exit 8)

Messages name the value that was wrong and the way out, e.g.
"Unknown lifecycle 'defualt'; defined: default, fast".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = [
    "ConfigError",
    "ConfigIssue",
    "Conflict",
    "Forbidden",
    "InvalidInput",
    "NotFound",
    "NothingToRelease",
    "Refused",
    "RelmanError",
    "ServerUnreachable",
    "StoreUnavailable",
    "Unauthenticated",
]


class RelmanError(Exception):
    """Base of every error relman raises on purpose."""

    code = "error"

    def __init__(self, message: str, *, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details: dict[str, Any] = details or {}


class InvalidInput(RelmanError):
    code = "invalid_input"


@dataclass(frozen=True)
class ConfigIssue:
    """One thing wrong in a config file.

    `path` locates the field, e.g. ("services", 0, "lifecycle"); `line` is 1-based and
    filled in by the file loader when it knows it.
    """

    path: tuple[str | int, ...]
    message: str
    expected: str | None = None
    file: str | None = None
    line: int | None = None

    @property
    def field_name(self) -> str:
        out = ""
        for part in self.path:
            out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
        return out or "(document)"

    def __str__(self) -> str:
        where = self.file or "<config>"
        if self.line is not None:
            where += f":{self.line}"
        text = f"{where}: {self.field_name}: {self.message}"
        if self.expected:
            text += f" (expected {self.expected})"
        return text

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "line": self.line,
            "field": self.field_name,
            "message": self.message,
            "expected": self.expected,
        }


class ConfigError(InvalidInput):
    code = "invalid_config"

    def __init__(self, issues: list[ConfigIssue]) -> None:
        self.issues = list(issues)
        count = len(self.issues)
        head = f"{count} problem{'s' if count != 1 else ''} in the config"
        super().__init__(
            head + ":\n" + "\n".join(f"  {issue}" for issue in self.issues),
            details={"issues": [issue.to_dict() for issue in self.issues]},
        )


class Unauthenticated(RelmanError):
    code = "unauthenticated"


class Forbidden(RelmanError):
    code = "forbidden"


class NotFound(RelmanError):
    code = "not_found"


class Conflict(RelmanError):
    code = "conflict"


class Refused(Conflict):
    """A rule refuses the request; `details["rule"]` names it (e.g. RequireSoakTime)."""

    code = "refused"


class NothingToRelease(RelmanError):
    """The history since the last release has no feat, fix, perf, revert or breaking change."""

    code = "nothing_to_release"


class ServerUnreachable(RelmanError):
    code = "server_unreachable"


class StoreUnavailable(RelmanError):
    code = "store_unavailable"
