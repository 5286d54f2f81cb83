"""Printing results and errors: Rich for people, JSON for scripts; exit codes mapped once."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any

from rich.console import Console

from relman.errors import (
    ConfigError,
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    NothingToRelease,
    RelmanError,
    ServerUnreachable,
    StoreUnavailable,
    Unauthenticated,
)

__all__ = [
    "EXIT_AUDIT_BROKEN",
    "EXIT_CODES",
    "EXIT_NOT_SUCCEEDED",
    "EXIT_WOULD_WAIT",
    "console",
    "emit",
    "err_console",
    "exit_code_for",
    "report_error",
]

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)

# Documented in docs/cli.md.
EXIT_CODES: dict[type[RelmanError], int] = {
    InvalidInput: 2,
    NothingToRelease: 3,
    NotFound: 4,
    Conflict: 5,
    Unauthenticated: 6,
    Forbidden: 6,
    ServerUnreachable: 7,
    StoreUnavailable: 8,
}


# A deployment followed with --wait ended failed, rolled_back or aborted.
EXIT_NOT_SUCCEEDED = 9
# `relman audit verify` found a changed, deleted or added entry.
EXIT_AUDIT_BROKEN = 10
# `relman promote --dry-run`: it would wait for pending gates.
EXIT_WOULD_WAIT = 11


def exit_code_for(exc: RelmanError) -> int:
    for cls in type(exc).__mro__:
        if cls in EXIT_CODES:
            return EXIT_CODES[cls]
    return 1


def emit(data: Any, as_json: bool, render: Callable[[], None]) -> None:
    """Print `data` as JSON for scripts, or call `render` for people."""
    if as_json:
        sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")
    else:
        render()


def report_error(exc: RelmanError, as_json: bool) -> None:
    if as_json:
        body = {"error": {"code": exc.code, "message": exc.message, "details": exc.details}}
        sys.stdout.write(json.dumps(body, indent=2, default=str) + "\n")
        return
    if isinstance(exc, ConfigError):
        count = len(exc.issues)
        err_console.print(f"[red]error:[/] {count} problem{'s' if count != 1 else ''}:")
        for issue in exc.issues:
            err_console.print(f"  {issue}", markup=False, soft_wrap=True)
        return
    err_console.print("[red]error:[/] ", end="")
    err_console.print(exc.message, markup=False, soft_wrap=True)
