"""`relman version next` and `relman notes`: versions and release notes from git history.

Both read the repository directly (no server), with the service's settings from relman.yaml:
`tag_format`, `paths`, `initial_version`, `pre_major`, `repository`, and the `notes:` section.
`relman notes --env ENV --candidate VERSION` is the exception: it asks the server what a
promotion would change, from the releases registered there.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

import typer

from relman.cli.common import JsonOption, api
from relman.cli.output import console, emit, err_console
from relman.configfile import load_config_file
from relman.domain.commits import Commit
from relman.domain.config import (
    DEFAULT_NOTES,
    ConfigDocument,
    ServiceSpec,
    parse_notes_settings,
)
from relman.domain.notes import NotesSettings
from relman.domain.versions import check_prerelease_label, parse_version
from relman.errors import InvalidInput
from relman.services.notes import lint_data, render_markdown, sections_data
from relman.services.versioning import (
    History,
    ReleasePlan,
    VersionRules,
    notes_range,
    plan_release,
)
from relman.vcs.git import GitRepository

version_app = typer.Typer(help="Versions computed from git history.", no_args_is_help=True)

DEFAULT_CONFIG = Path("relman.yaml")
ConfigOption = Annotated[
    Path,
    typer.Option(
        "-f",
        "--file",
        help="The config with the services' tag_format, paths and the notes settings "
        "(read when it exists).",
    ),
]
RepoOption = Annotated[
    Path | None,
    typer.Option(help="The git checkout; default: the service's repository, else '.'."),
]
ServiceOption = Annotated[
    str | None, typer.Option(help="The service in the config whose tags and paths apply.")
]
PreOption = Annotated[
    str | None, typer.Option(help="A pre-release label: --pre rc gives 1.5.0-rc.1, then rc.2.")
]


class NotesFormat(StrEnum):
    markdown = "markdown"
    json = "json"


@dataclass(frozen=True)
class Setup:
    """What a command reads: the repository, the service's rules, the notes settings."""

    repo: Path
    rules: VersionRules
    notes: NotesSettings

    def history(self) -> History:
        return GitRepository(self.repo)


def load_setup(
    config: Path,
    service: str | None,
    repo: Path | None,
    server_spec: Callable[[str], dict[str, Any]] | None = None,
) -> Setup:
    """The service's rules from the config (when it exists) and the repository to read.

    Without a config file, `server_spec` (when given) fetches the service as the server has
    it, so `release create --from-git` works from a checkout that holds no relman.yaml.
    """
    document: ConfigDocument | None = None
    if config != DEFAULT_CONFIG or config.exists():
        document = load_config_file(config)
    if service is None:
        notes = document.notes if document else DEFAULT_NOTES
        return Setup(repo or Path("."), VersionRules(), notes)
    if document is None:
        if server_spec is None:
            raise InvalidInput(
                f"Service {service}'s tag_format and paths come from the config that defines "
                f"it, and there is no {DEFAULT_CONFIG} here; pass -f FILE",
                details={"service": service, "file": str(config)},
            )
        found = _as_server_has_it(service, server_spec(service))
        root = Path(".")
    else:
        found = document.service(service)
        root = config.parent / found.repository if found.repository else Path(".")
    return Setup(repo or root, VersionRules.of(found), found.notes)


def _as_server_has_it(name: str, spec: dict[str, Any]) -> ServiceSpec:
    """The versioning fields of a service's spec as the API returns it (a service applied
    before they existed has none: the defaults)."""
    return ServiceSpec(
        name=name,
        lifecycle=spec.get("lifecycle") or "",
        tag_format=spec.get("tag_format") or "v{version}",
        paths=tuple(spec.get("paths") or ()),
        initial_version=parse_version(spec.get("initial_version") or "0.1.0"),
        pre_major=spec.get("pre_major") or "major",
        notes=parse_notes_settings(spec.get("notes") or {}),
    )


def newest_date(commits: Sequence[Commit]) -> str | None:
    """The day of the newest commit: notes rendered twice from the same history are the same
    text, so registering a release again (a CI retry, another day) is harmless."""
    if not commits:
        return None
    return datetime.fromtimestamp(max(commit.time for commit in commits), UTC).date().isoformat()


def plan_summary(plan: ReleasePlan) -> str:
    counts: dict[str, int] = {}
    for change in plan.changes.changes:
        key = "breaking" if change.breaking else change.type
        counts[key] = counts.get(key, 0) + 1
    what = ", ".join(f"{n} {kind}" for kind, n in sorted(counts.items(), key=lambda kv: -kv[1]))
    since = f"since {plan.previous.name}" if plan.previous else "with no release tag yet"
    count = f"{len(plan.commits)} commit(s) {since}"
    if plan.tagged:
        return f"{plan.version}: the head is tagged; {count}"
    step = "initial version" if plan.step == "initial" else f"{plan.step} bump"
    return f"{step}: {count} ({what})"


@version_app.command("next")
def next_version(
    repo: RepoOption = None,
    service: ServiceOption = None,
    pre: PreOption = None,
    config: ConfigOption = DEFAULT_CONFIG,
    as_json: JsonOption = False,
) -> None:
    """Print the next version from the commits since the last release tag.

    Exit 3 when no commit calls for a release (no feat, fix, perf, revert or breaking change).
    """
    if pre is not None:
        check_prerelease_label(pre)
    setup = load_setup(config, service, repo)
    plan = plan_release(setup.history(), setup.rules, setup.notes, pre=pre)
    if as_json:
        emit(plan.to_dict(), True, lambda: None)
        return
    sys.stdout.write(f"{plan.version}\n")
    err_console.print(plan_summary(plan), markup=False, soft_wrap=True)


def notes(
    repo: RepoOption = None,
    service: ServiceOption = None,
    since: Annotated[
        str | None, typer.Option("--from", help="Start after this ref; default: the last release.")
    ] = None,
    until: Annotated[str, typer.Option("--to", help="End at this ref.")] = "HEAD",
    whole: Annotated[
        bool, typer.Option("--all", help="The whole history up to --to, not since a release.")
    ] = False,
    output: Annotated[
        NotesFormat, typer.Option("--format", help="markdown, or json for scripts.")
    ] = NotesFormat.markdown,
    template: Annotated[
        Path | None, typer.Option(help="A Jinja2 template replacing the built-in markdown one.")
    ] = None,
    lint: Annotated[
        bool,
        typer.Option(
            "--lint",
            help="List the commits that do not follow Conventional Commits; exit 1 if any.",
        ),
    ] = False,
    environment: Annotated[
        str | None,
        typer.Option("--env", help="With --candidate: what promoting to this environment changes."),
    ] = None,
    candidate: Annotated[
        str | None, typer.Option(help="The version a promotion to --env would deploy.")
    ] = None,
    config: ConfigOption = DEFAULT_CONFIG,
    as_json: JsonOption = False,
) -> None:
    """Release notes from git: sections of features, fixes and more, with links."""
    as_json = as_json or output is NotesFormat.json
    if environment is not None or candidate is not None:
        from relman.cli.changes import promotion_changes

        promotion_changes(service, environment, candidate, as_json)
        return
    if whole and since is not None:
        raise InvalidInput("--all and --from both say where to start; give one")
    setup = load_setup(config, service, repo)
    found = notes_range(
        setup.history(), setup.rules, setup.notes, since=since, until=until, whole=whole
    )
    if lint:
        problems = lint_data(found.changes.unconventional)
        emit(
            {"commits": len(found.commits), "unconventional": problems},
            as_json,
            lambda: _render_lint(len(found.commits), problems),
        )
        if problems:
            raise typer.Exit(1)
        return
    version = str(found.version) if found.version else None
    sections = sections_data(found.changes.sections(setup.notes))
    data = {
        "version": version,
        "from": found.since,
        "to": until,
        "commits": len(found.commits),
        "sections": sections,
    }
    if as_json:
        emit(data, True, lambda: None)
        return
    text = render_markdown(
        version, sections, setup.notes, date=newest_date(found.commits), template=template
    )
    sys.stdout.write(text if text.endswith("\n") else text + "\n")


def _render_lint(total: int, problems: list[dict[str, Any]]) -> None:
    if not problems:
        console.print(f"[green]✓[/] all {total} commit(s) follow Conventional Commits")
        return
    console.print(f"{len(problems)} of {total} commit(s) do not follow Conventional Commits:")
    for item in problems:
        console.print(f"  {item['hash'][:7]}  {item['subject']}", markup=False, soft_wrap=True)
        console.print(f"           {item['reason']}", markup=False, style="dim", soft_wrap=True)


def release_from_git(
    service: str, config: Path, repo: Path | None, pre: str | None, template: Path | None
) -> dict[str, Any]:
    """The body of POST /releases for the service's next release (or the one its head is
    tagged with), with notes rendered and the commits it contains."""
    if pre is not None:
        check_prerelease_label(pre)
    setup = load_setup(config, service, repo, server_spec=_server_spec)
    plan = plan_release(setup.history(), setup.rules, setup.notes, pre=pre, use_head_tag=True)
    err_console.print(plan_summary(plan), markup=False, soft_wrap=True)
    sections = sections_data(plan.changes.sections(setup.notes))
    version = str(plan.version)
    date = newest_date(plan.commits)
    return {
        "service": service,
        "version": version,
        "commit": plan.head,
        "notes": render_markdown(version, sections, setup.notes, date=date, template=template),
        "changes": sections,
        "commits": [
            {
                "hash": commit.hash,
                "author": commit.author[:200],
                "email": commit.email[:320],
                "authored_at": datetime.fromtimestamp(commit.time, UTC).isoformat(),
            }
            for commit in plan.commits
        ],
    }


def _server_spec(service: str) -> dict[str, Any]:
    with api() as client:
        found = client.get(f"/api/v1/services/{quote(service, safe='')}")
    spec: dict[str, Any] = found["spec"]
    return spec
