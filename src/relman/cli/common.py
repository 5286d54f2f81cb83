"""Options shared by commands."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from relman.settings import Settings

if TYPE_CHECKING:
    from relman.cli.client import ApiClient  # httpx: imported only when a command calls

__all__ = ["JsonOption", "api"]

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]


def api() -> ApiClient:
    """A client for the server at RELMAN_URL, authenticated with RELMAN_TOKEN."""
    from relman.cli.client import ApiClient

    return ApiClient(Settings.from_env())
