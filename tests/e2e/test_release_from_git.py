"""`relman release create --from-git` and `relman notes --env --candidate` against a real server
and a real git repository: the version, notes and commits a release gets, and what a promotion
would change."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.servers import RELMAN, Server, running_server
from tests.integration.gitrepo import GitRepo

CONFIG = """
version: 1
environments:
  - {name: staging, tier: staging}
  - {name: production, tier: production}
lifecycles:
  - name: default
    phases:
      - {name: test, environments: [staging]}
      - {name: prod, environments: [production]}
services:
  - name: api
    lifecycle: default
    repository: repo
  - name: shop
    lifecycle: default
    repository: train
  - name: mono
    lifecycle: default
    tag_format: "{service}-v{version}"
    paths: [services/mono]
    initial_version: 1.0.0
notes:
  issue_url: "https://github.com/acme/api/issues/{id}"
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running_server(tmp_path_factory.mktemp("from-git") / "home") as running:
        yield running


@pytest.fixture(scope="module")
def admin(server: Server) -> str:
    made = server.cli("token", "create", "--user", "ci", "--role", "admin")
    assert made.returncode == 0, made.stderr
    return made.stdout.strip()


@pytest.fixture(scope="module")
def workspace(server: Server, admin: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("workspace")
    (root / "relman.yaml").write_text(CONFIG)
    applied = run(server, admin, root, "apply")
    assert applied.returncode == 0, applied.stderr
    return root


def run(server: Server, token: str, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The CLI in the workspace, so the service's `repository: repo` is found from relman.yaml."""
    return subprocess.run(
        [RELMAN, *args], cwd=cwd, capture_output=True, text=True, env=server.env(token), timeout=60
    )


def created(
    server: Server, token: str, cwd: Path, *args: str, service: str = "api"
) -> dict[str, Any]:
    done = run(server, token, cwd, "release", "create", service, "--from-git", "--json", *args)
    assert done.returncode == 0, done.stdout + done.stderr
    body: dict[str, Any] = json.loads(done.stdout)
    return body


def test_release_from_git_takes_version_notes_head_and_commits_and_is_idempotent(
    server: Server, admin: str, workspace: Path
) -> None:
    repo = GitRepo.init(workspace / "repo")
    repo.commit("chore: start")
    head = repo.commit("feat(auth): sign in with a passkey, closes #41")

    first = created(server, admin, workspace)
    assert first["version"] == "0.1.0"  # no tag yet: the initial version
    assert first["commit"] == head
    assert first["commit_count"] == 2
    assert first["changes"][0]["title"] == "Features"
    assert first["changes"][0]["entries"][0]["refs"] == ["#41"]
    assert "[#41](https://github.com/acme/api/issues/41)" in first["notes"]
    assert "**auth:** sign in with a passkey" in first["notes"]

    again = run(server, admin, workspace, "release", "create", "api", "--from-git")
    assert again.returncode == 0, again.stderr
    assert "was already registered with this content" in again.stdout

    # Tagging afterwards (the usual CI order) and running the job again finds the same release.
    repo.tag("v0.1.0")
    tagged = created(server, admin, workspace)
    assert (tagged["id"], tagged["version"]) == (first["id"], "0.1.0")

    shown = run(server, admin, workspace, "release", "show", "api", "0.1.0", "--json")
    assert json.loads(shown.stdout)["commit_count"] == 2
    text = run(server, admin, workspace, "release", "show", "api", "0.1.0").stdout
    assert f"commit:  {head}" in text
    assert "commits: 2 (from git)" in text
    assert "### Features" in text


def test_from_git_refuses_manual_fields_and_says_when_nothing_is_to_release(
    server: Server, admin: str, workspace: Path
) -> None:
    both = run(
        server, admin, workspace, "release", "create", "api", "--from-git", "--version", "1.0.0"
    )
    assert both.returncode == 2
    assert "--from-git computes --version from git" in both.stderr

    repo = GitRepo.init(workspace / "quiet")
    repo.commit("feat: one")
    repo.tag("v0.1.0")
    repo.commit("docs: typo")
    nothing = run(
        server, admin, workspace, "release", "create", "api", "--from-git", "--repo", "quiet"
    )
    assert nothing.returncode == 3, nothing.stderr
    assert "Nothing to release" in nothing.stderr


def test_notes_for_a_promotion_accumulate_every_release_it_skips(
    server: Server, admin: str, workspace: Path
) -> None:
    repo = GitRepo.init(workspace / "train")
    versions = []
    for message in (
        "feat: catalogue",
        "fix: rounding of prices",
        "feat: wish lists",
        "fix(cart): empty cart crash",
        "perf: cache the catalogue",
    ):
        repo.commit(message)
        release = created(server, admin, workspace, service="shop")
        repo.tag(f"v{release['version']}")
        versions.append(release["version"])
    assert versions == ["0.1.0", "0.1.1", "0.2.0", "0.2.1", "0.2.2"]
    repo.commit("feat!: new checkout")
    rc = created(server, admin, workspace, "--pre", "rc", service="shop")
    assert rc["version"] == "1.0.0-rc.1"
    repo.tag("v1.0.0-rc.1")

    recorded = run(
        server, admin, workspace, "deployments", "record", "shop", "0.1.0", "--env", "production"
    )
    assert recorded.returncode == 0, recorded.stderr

    ask = ("notes", "--service", "shop", "--env", "production", "--candidate")
    forward = run(server, admin, workspace, *ask, "0.2.2", "--json")
    assert forward.returncode == 0, forward.stderr
    found = json.loads(forward.stdout)
    assert (found["running"], found["direction"]) == ("0.1.0", "forward")
    assert [r["version"] for r in found["releases"]] == ["0.2.2", "0.2.1", "0.2.0", "0.1.1"]

    text = run(server, admin, workspace, *ask, "0.2.2")
    assert "shop 0.2.2 → production (runs 0.1.0): adds 4 releases" in text.stderr
    headings = [line for line in text.stdout.splitlines() if line.startswith("## ")]
    assert [h.split()[1] for h in headings] == ["0.2.2", "0.2.1", "0.2.0", "0.1.1"]
    assert "- **cart:** empty cart crash" in text.stdout

    # A pre-release candidate is included; pre-releases are never skipped-over noise.
    to_rc = json.loads(run(server, admin, workspace, *ask, "1.0.0-rc.1", "--json").stdout)
    assert [r["version"] for r in to_rc["releases"]][:2] == ["1.0.0-rc.1", "0.2.2"]
    assert to_rc["releases"][0]["changes"][0]["title"] == "Breaking changes"

    # Going back to an older version lists what would be taken away.
    recorded = run(
        server, admin, workspace, "deployments", "record", "shop", "0.2.1", "--env", "staging"
    )
    assert recorded.returncode == 0, recorded.stderr
    back = json.loads(
        run(
            server,
            admin,
            workspace,
            "notes",
            "--service",
            "shop",
            "--env",
            "staging",
            "--candidate",
            "0.1.1",
            "--json",
        ).stdout
    )
    assert back["direction"] == "back"
    assert [r["version"] for r in back["releases"]] == ["0.2.1", "0.2.0"]


def test_from_git_without_a_local_config_takes_the_service_as_the_server_has_it(
    server: Server, admin: str, tmp_path: Path
) -> None:
    repo = GitRepo.init(tmp_path / "monorepo")
    repo.commit("feat: the mono service", {"services/mono/main.py": "print('mono')\n"})
    repo.tag("mono-v1.0.0")
    repo.tag("v7.0.0")  # another service's tag format: not this one's
    repo.commit("fix(mono): say 2, closes #7", {"services/mono/main.py": "print('mono 2')\n"})
    repo.commit("feat: outside the service's paths")

    done = run(
        server,
        admin,
        tmp_path,
        "release",
        "create",
        "mono",
        "--from-git",
        "--repo",
        "monorepo",
        "--json",
    )
    assert done.returncode == 0, done.stdout + done.stderr
    release = json.loads(done.stdout)
    assert release["version"] == "1.0.1"  # only the fix under services/mono counts
    assert release["commit_count"] == 1
    assert "since mono-v1.0.0" in done.stderr
    # The notes settings (links) come with the service from the server, as relman.yaml has them.
    assert "closes [#7](https://github.com/acme/api/issues/7)" in release["notes"]


def test_notes_for_a_promotion_need_all_three_options_and_a_known_release(
    server: Server, admin: str, workspace: Path
) -> None:
    missing = run(server, admin, workspace, "notes", "--env", "production", "--candidate", "1.0.0")
    assert missing.returncode == 2
    assert "--service missing" in missing.stderr

    unknown = run(
        server,
        admin,
        workspace,
        "notes",
        "--service",
        "api",
        "--env",
        "production",
        "--candidate",
        "9.9.9",
    )
    assert unknown.returncode == 4, unknown.stderr
    assert "api has no release 9.9.9" in unknown.stderr
