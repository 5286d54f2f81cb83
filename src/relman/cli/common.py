"""Options shared by commands."""

from __future__ import annotations

from typing import Annotated

import typer

from relman.cli.client import ApiClient
from relman.settings import Settings

__all__ = ["JsonOption", "api"]

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]


def api() -> ApiClient:
    """A client for the server at RELMAN_URL, authenticated with RELMAN_TOKEN."""
    return ApiClient(Settings.from_env())
