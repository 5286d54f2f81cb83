"""`relman notes --service S --env ENV --candidate VERSION`: what a promotion changes.

The answer comes from the releases registered on the server: the notes of every release between
what the environment runs and the candidate, newest first.
"""

from __future__ import annotations

import sys
from typing import Any
from urllib.parse import quote

from relman.cli.common import api
from relman.cli.output import emit, err_console
from relman.domain.versions import parse_version
from relman.errors import InvalidInput

__all__ = ["promotion_changes"]


def promotion_changes(
    service: str | None, environment: str | None, candidate: str | None, as_json: bool
) -> None:
    missing = [
        flag
        for flag, value in (
            ("--service", service),
            ("--env", environment),
            ("--candidate", candidate),
        )
        if not value
    ]
    if missing or service is None or environment is None or candidate is None:
        raise InvalidInput(
            "What a promotion changes needs --service, --env and --candidate; "
            f"{', '.join(missing)} missing, like: "
            "relman notes --service api --env production --candidate 1.5.0",
            details={"missing": missing},
        )
    parse_version(candidate)
    path = f"/api/v1/releases/{quote(service, safe='')}/{quote(candidate, safe='')}/changes"
    with api() as client:
        found = client.get(path, environment=environment)
    emit(found, as_json, lambda: _render(found))


def _render(found: dict[str, Any]) -> None:
    releases = found["releases"]
    running = found["running"] or "nothing yet"
    head = f"{found['service']} {found['candidate']} → {found['environment']} (runs {running})"
    if found["direction"] == "none":
        err_console.print(
            f"{head}: the same version; nothing changes", markup=False, soft_wrap=True
        )
        return
    count = f"{len(releases)} release{'s' if len(releases) != 1 else ''}"
    verb = "adds" if found["direction"] == "forward" else "takes away"
    err_console.print(f"{head}: {verb} {count}", markup=False, soft_wrap=True)
    for index, release in enumerate(releases):
        notes = release["notes"] or f"## {release['version']}\n\nNo notes were recorded.\n"
        sys.stdout.write(("\n" if index else "") + notes.rstrip("\n") + "\n")
