"""`relman release`: register and read release candidates."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from relman.cli.common import JsonOption, api
from relman.cli.output import console, emit
from relman.cli.versions import (
    DEFAULT_CONFIG,
    ConfigOption,
    PreOption,
    RepoOption,
    release_from_git,
)
from relman.domain.releases import parse_artifact
from relman.domain.versions import parse_version
from relman.errors import InvalidInput

app = typer.Typer(help="Release candidates.", no_args_is_help=True)


@app.command("create")
def create(
    service: Annotated[str, typer.Argument(help="The service released.")],
    version: Annotated[
        str | None, typer.Option("--version", help="SemVer, like 1.4.0 or 1.4.0-rc.1.")
    ] = None,
    commit: Annotated[str | None, typer.Option(help="The source commit (hex).")] = None,
    notes: Annotated[
        Path | None, typer.Option(help="A file with the release notes (markdown).")
    ] = None,
    artifact: Annotated[
        list[str] | None, typer.Option(help="NAME=DIGEST, repeatable.", show_default=False)
    ] = None,
    from_git: Annotated[
        bool,
        typer.Option(
            "--from-git",
            help="Version, notes, head commit and contained commits from the git history.",
        ),
    ] = False,
    pre: PreOption = None,
    repo: RepoOption = None,
    config: ConfigOption = DEFAULT_CONFIG,
    template: Annotated[
        Path | None, typer.Option(help="With --from-git: a Jinja2 template for the notes.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Register an immutable release; the same request again is harmless."""
    artifacts = [parse_artifact(a) for a in artifact or []]
    if from_git:
        given = [name for name, value in _manual(version, commit, notes) if value is not None]
        if given:
            raise InvalidInput(
                f"--from-git computes {', '.join(given)} from git; leave "
                f"{'it' if len(given) == 1 else 'them'} out, or drop --from-git",
                details={"options": given},
            )
        body = release_from_git(service, config, repo, pre, template)
    else:
        if pre is not None or repo is not None or template is not None:
            raise InvalidInput("--pre, --repo and --template go with --from-git")
        if version is None:
            raise InvalidInput(
                "Give --version VERSION, or --from-git to compute it from the commits",
                details={"options": ["--version", "--from-git"]},
            )
        parse_version(version)  # clear error before any network call
        body = {
            "service": service,
            "version": version,
            "commit": commit,
            "notes": _read_notes(notes) if notes else None,
        }
    body["artifacts"] = [{"name": n, "digest": d} for n, d in artifacts]
    with api() as client:
        release = client.post("/api/v1/releases", body)
        created = client.last_status == 201
    what = "registered" if created else "was already registered with this content"
    emit(
        release,
        as_json,
        lambda: console.print(
            f"Release {release['service']} {release['version']} {what} (id {release['id']})."
        ),
    )


def _manual(
    version: str | None, commit: str | None, notes: Path | None
) -> list[tuple[str, object]]:
    return [("--version", version), ("--commit", commit), ("--notes", notes)]


def _read_notes(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidInput(
            f"Cannot read notes file '{path}': {exc.strerror}", details={"path": str(path)}
        ) from None
    except UnicodeDecodeError:
        raise InvalidInput(
            f"Notes file '{path}' is not UTF-8 text", details={"path": str(path)}
        ) from None


@app.command("list")
def list_(
    service: Annotated[str | None, typer.Option(help="Only this service.")] = None,
    limit: Annotated[int, typer.Option(help="How many at most.")] = 50,
    as_json: JsonOption = False,
) -> None:
    """List releases, newest version first."""
    with api() as client:
        page = client.get("/api/v1/releases", service=service, limit=limit)
    emit(page, as_json, lambda: _render(page["items"], page["total"]))


def _render(items: list[dict[str, Any]], total: int) -> None:
    table = Table("service", "version", "commit", "artifacts", "created", "by")
    for r in items:
        table.add_row(
            r["service"],
            r["version"],
            (r["commit"] or "")[:12],
            str(len(r["artifacts"])),
            r["created_at"][:16],
            r["created_by"],
        )
    console.print(table)
    if total > len(items):
        console.print(f"{len(items)} of {total} shown; use --limit or --json with the API.")


@app.command("show")
def show(
    service: Annotated[str, typer.Argument()],
    version: Annotated[str, typer.Argument()],
    as_json: JsonOption = False,
) -> None:
    """Show one release."""
    with api() as client:
        release = client.get(f"/api/v1/releases/{service}/{version}")

    def render() -> None:
        console.print(f"[bold]{release['service']} {release['version']}[/]")
        console.print(f"commit:  {release['commit'] or '-'}")
        if release["commit_count"]:
            console.print(f"commits: {release['commit_count']} (from git)")
        console.print(f"created: {release['created_at']} by {release['created_by']}")
        for a in release["artifacts"]:
            console.print(f"artifact: {a['name']} {a['digest']}", markup=False, soft_wrap=True)
        if release["notes"]:
            console.print("\n" + release["notes"], markup=False, soft_wrap=True)

    emit(release, as_json, render)
