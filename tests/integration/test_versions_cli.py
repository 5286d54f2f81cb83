"""`relman version next` and `relman notes` end to end: the console script, run as a process on
real git repositories built in a temp dir.

Each `relman` process takes about half a second to start, so a test builds one history and
asserts several commands on it as it grows.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from .gitrepo import GitRepo, isolated_git_env

RELMAN = Path(sys.executable).parent / "relman"

CONFIG = """\
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
"""
NOTES = """\
notes:
  issue_url: "https://github.com/acme/shop/issues/{id}"
  commit_url: "https://github.com/acme/shop/commit/{hash}"
  tickets: [PROJ]
  ticket_url: "https://acme.atlassian.net/browse/{id}"
  sections: {docs: Documentation}
  include_unconventional: true
"""


@dataclass(frozen=True)
class Result:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)

    @property
    def lines(self) -> list[str]:
        return self.out.splitlines()


def _env() -> dict[str, str]:
    env = {k: v for k, v in isolated_git_env().items() if not k.startswith("RELMAN_")}
    env.update(COLUMNS="200", NO_COLOR="1", TERM="dumb")
    return env


ENV = _env()


def relman(*args: str | Path, cwd: Path) -> Result:
    done = subprocess.run(
        [str(RELMAN), *map(str, args)],
        cwd=cwd,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return Result(done.returncode, done.stdout, done.stderr)


def next_version(repo: GitRepo, *args: str | Path) -> str:
    """What `relman version next` prints, the command having succeeded."""
    result = relman("version", "next", *args, cwd=repo.path)
    assert result.code == 0, result.err
    return result.out.strip()


def write_config(where: Path, services: str, notes: str = "") -> Path:
    """relman.yaml in `where`: two environments, one lifecycle, `services` (YAML list items)."""
    path = where / "relman.yaml"
    path.write_text(CONFIG + services + notes, encoding="utf-8")
    return path


def service(name: str, **fields: str) -> str:
    lines = [f"  - name: {name}", "    lifecycle: default"]
    lines += [f"    {key}: {value}" for key, value in fields.items()]
    return "\n".join(lines) + "\n"


@pytest.fixture
def repo(tmp_path: Path) -> GitRepo:
    return GitRepo.init(tmp_path / "repo")


def entries(notes: dict[str, Any]) -> dict[str, list[str]]:
    """The JSON notes as section title → descriptions."""
    return {s["title"]: [e["description"] for e in s["entries"]] for s in notes["sections"]}


def headings(markdown: str) -> list[str]:
    return [line[4:] for line in markdown.splitlines() if line.startswith("### ")]


# --- relman version next ---------------------------------------------------------------------


def test_with_no_tag_yet_the_first_version_is_the_initial_one(repo: GitRepo) -> None:
    repo.commit("feat: first feature")
    repo.commit("chore: tooling")

    first = relman("version", "next", cwd=repo.path)
    assert (first.code, first.out) == (0, "0.1.0\n")
    assert "with no release tag yet" in first.err

    config = write_config(repo.path.parent, service("api", initial_version='"1.0.0"'))
    assert next_version(repo, "-f", config, "--service", "api") == "1.0.0"


def test_the_bump_follows_the_commits_since_the_last_tag(repo: GitRepo, tmp_path: Path) -> None:
    repo.commit("feat: first")
    repo.tag("v0.1.0")
    config = write_config(tmp_path, service("api", pre_major="minor"))

    repo.commit("fix: a crash")
    assert next_version(repo) == "0.1.1"
    repo.commit("docs: explain")
    repo.commit("feat(ui): a button")
    assert next_version(repo) == "0.2.0"
    repo.commit("feat!: a new API")
    assert next_version(repo) == "1.0.0"
    assert next_version(repo, "-f", config, "--service", "api") == "0.2.0"

    repo.checkout("v0.1.0")
    repo.commit("refactor: storage\n\nBREAKING CHANGE: the old files are not read any more\n")
    assert next_version(repo) == "1.0.0"


def test_a_breaking_change_after_1_x_makes_the_next_major(repo: GitRepo, tmp_path: Path) -> None:
    repo.commit("feat: first")
    repo.tag("v1.2.3", annotated=True)
    repo.commit("feat(api)!: drop v1 endpoints")
    repo.commit("fix: small")
    config = write_config(tmp_path, service("api", pre_major="minor"))

    assert next_version(repo) == "2.0.0"
    assert next_version(repo, "-f", config, "--service", "api") == "2.0.0"  # only for 0.y.z


def test_commits_that_call_for_no_release_exit_3(repo: GitRepo) -> None:
    repo.commit("feat: first")
    repo.tag("v0.1.0")
    repo.commit("docs: the readme")
    repo.commit("chore: bump tooling")

    result = relman("version", "next", cwd=repo.path)

    assert result.code == 3
    assert result.out == ""
    assert "nothing to release" in result.err.lower()
    assert "v0.1.0" in result.err


def test_json_output_describes_the_plan(repo: GitRepo) -> None:
    repo.commit("feat: first")
    repo.tag("v0.1.0")
    repo.commit("fix: a crash")
    head = repo.commit("feat: search")

    result = relman("version", "next", "--json", cwd=repo.path)

    assert result.code == 0, result.err
    assert result.json() == {
        "version": "0.2.0",
        "previous_version": "0.1.0",
        "previous_tag": "v0.1.0",
        "head": head,
        "commits": 2,
        "bump": "minor",
    }


def test_pre_releases_count_up_from_the_tags(repo: GitRepo) -> None:
    repo.commit("feat: first")
    repo.tag("v1.2.3")
    repo.commit("feat: search")

    assert next_version(repo, "--pre", "rc") == "1.3.0-rc.1"
    repo.tag("v1.3.0-rc.1", annotated=True)
    again = relman("version", "next", "--pre", "rc", cwd=repo.path)
    assert again.code == 3
    assert "v1.3.0-rc.1" in again.err

    repo.commit("fix: search crash")
    assert next_version(repo, "--pre", "rc") == "1.3.0-rc.2"
    assert next_version(repo, "--pre", "beta") == "1.3.0-beta.1"
    assert next_version(repo) == "1.3.0"  # a pre-release tag is never the base

    bad = relman("version", "next", "--pre", "1", cwd=repo.path)
    assert bad.code == 2
    assert "'1' is not a pre-release label" in bad.err


def test_a_service_of_a_monorepo_counts_its_own_paths_and_tags(
    repo: GitRepo, tmp_path: Path
) -> None:
    monorepo = '"{service}-v{version}"'
    config = write_config(
        repo.path,
        service("api", tag_format=monorepo, paths="[services/api]", repository='"."')
        + service("web", tag_format=monorepo, paths="[services/web]"),
    )
    repo.commit("feat: api", files={"services/api/main.txt": "1\n"})
    repo.tag("api-v1.0.0")
    repo.commit("feat: web", files={"services/web/main.txt": "1\n"})
    repo.tag("web-v3.0.0")
    repo.tag("v5.0.0")
    repo.commit("feat(web): dark mode", files={"services/web/main.txt": "2\n"})
    repo.commit("feat!: web rewrite", files={"services/web/app.txt": "1\n"})

    only_web = relman("version", "next", "--service", "api", cwd=repo.path)
    assert only_web.code == 3, only_web.out
    assert "api-v1.0.0" in only_web.err

    fix = repo.commit("fix(api): timeout", files={"services/api/main.txt": "2\n"})
    repo.commit("feat: web search", files={"services/web/search.txt": "1\n"})
    assert next_version(repo, "--service", "web") == "4.0.0"
    plan = relman("version", "next", "--service", "api", "--json", cwd=repo.path).json()
    assert (plan["version"], plan["previous_tag"], plan["commits"]) == ("1.0.1", "api-v1.0.0", 1)

    # From elsewhere: the service's `repository` (relative to the config) is the checkout.
    elsewhere = relman("version", "next", "-f", config, "--service", "api", cwd=tmp_path)
    assert (elsewhere.code, elsewhere.out) == (0, "1.0.1\n")

    notes = relman("notes", "--service", "api", "--json", cwd=repo.path).json()
    assert entries(notes) == {"Bug fixes": ["timeout"]}
    assert notes["sections"][0]["entries"][0]["hash"] == fix


# --- relman notes ----------------------------------------------------------------------------


def test_markdown_notes_list_sections_in_their_fixed_order(repo: GitRepo, tmp_path: Path) -> None:
    repo.commit("feat: first")
    repo.tag("v0.1.0")
    revert = repo.commit("revert: the cache layer")
    perf = repo.commit("perf: faster queries")
    fix = repo.commit("fix(api): handle nulls")
    repo.commit("docs: a better readme")
    feat = repo.commit("feat(ui): dark mode")
    breaking = repo.commit("feat(db)!: drop the old table\n\nBREAKING CHANGE: migrate first\n")
    repo.commit("chore: tooling")

    result = relman("notes", "--repo", repo.path, cwd=tmp_path)

    assert result.code == 0, result.err
    lines = result.lines
    assert re.fullmatch(r"## 1\.0\.0 \(\d{4}-\d{2}-\d{2}\)", lines[0])
    assert headings(result.out) == [
        "Breaking changes",
        "Features",
        "Bug fixes",
        "Performance",
        "Reverts",
    ]
    assert f"- **db:** drop the old table ({breaking[:7]})" in lines
    assert "  migrate first" in lines
    assert f"- **ui:** dark mode ({feat[:7]})" in lines
    assert f"- **api:** handle nulls ({fix[:7]})" in lines
    assert f"- faster queries ({perf[:7]})" in lines
    assert f"- the cache layer ({revert[:7]})" in lines
    assert "readme" not in result.out
    assert "tooling" not in result.out
    assert lines.index(f"- **ui:** dark mode ({feat[:7]})") > lines.index("### Features")


def test_notes_settings_link_references_and_show_extra_sections(repo: GitRepo) -> None:
    write_config(repo.path, service("api"), NOTES)
    repo.commit("feat: first")
    repo.tag("v0.1.0")
    fix = repo.commit("fix: crash on an empty cart (#12)")
    feat = repo.commit("feat(cart): pay later, PROJ-7\n\nMore words.\n\nCloses #9\n")
    repo.commit("docs: install guide")
    odd = repo.commit("Update the logo")

    result = relman("notes", cwd=repo.path)

    assert result.code == 0, result.err
    issues = "https://github.com/acme/shop/issues"
    commits = "https://github.com/acme/shop/commit"
    assert result.lines[0].startswith("## 0.2.0 (")
    assert headings(result.out) == ["Features", "Bug fixes", "Documentation", "Other changes"]
    assert (
        f"- **cart:** pay later, [PROJ-7](https://acme.atlassian.net/browse/PROJ-7) "
        f"([{feat[:7]}]({commits}/{feat})), [#9]({issues}/9)"
    ) in result.lines
    assert (
        f"- crash on an empty cart ([#12]({issues}/12)) ([{fix[:7]}]({commits}/{fix}))"
    ) in result.lines
    documentation = result.lines.index("### Documentation")
    other = result.lines.index("### Other changes")
    assert result.lines[documentation + 2].startswith("- install guide (")
    assert result.lines[other + 2] == f"- Update the logo ([{odd[:7]}]({commits}/{odd}))"


def test_json_notes_have_the_documented_shape(repo: GitRepo) -> None:
    repo.commit("feat: first")
    repo.tag("v0.1.0")
    feat = repo.commit(
        "feat(cart)!: pay later\n\nCloses #9\nBREAKING CHANGE: the cart API moved\n",
        author="Ada",
        email="ada@example.com",
    )
    fix = repo.commit("fix: crash")

    by_format = relman("notes", "--format", "json", cwd=repo.path)
    by_flag = relman("notes", "--json", cwd=repo.path)

    assert by_format.code == 0, by_format.err
    assert by_flag.json() == by_format.json()
    notes = by_format.json()
    assert {k: notes[k] for k in ("version", "from", "to", "commits")} == {
        "version": "1.0.0",
        "from": "v0.1.0",
        "to": "HEAD",
        "commits": 2,
    }
    assert notes["sections"] == [
        {
            "title": "Breaking changes",
            "entries": [
                {
                    "type": "feat",
                    "scope": "cart",
                    "description": "pay later",
                    "breaking": True,
                    "breaking_notes": ["the cart API moved"],
                    "hash": feat,
                    "refs": ["#9"],
                    "author": "Ada",
                }
            ],
        },
        {
            "title": "Bug fixes",
            "entries": [
                {
                    "type": "fix",
                    "scope": None,
                    "description": "crash",
                    "breaking": False,
                    "breaking_notes": [],
                    "hash": fix,
                    "refs": [],
                    "author": "Test Author",
                }
            ],
        },
    ]


def test_notes_of_a_range_of_tags_and_of_the_whole_history(repo: GitRepo) -> None:
    repo.commit("feat: one")
    repo.tag("v0.1.0")
    repo.commit("feat: two")
    repo.commit("fix: three")
    repo.tag("v0.2.0", annotated=True)
    repo.commit("fix: four")

    ranged = relman("notes", "--from", "v0.1.0", "--to", "v0.2.0", "--json", cwd=repo.path).json()
    assert (ranged["version"], ranged["from"], ranged["to"]) == ("0.2.0", "v0.1.0", "v0.2.0")
    assert entries(ranged) == {"Features": ["two"], "Bug fixes": ["three"]}

    to_tag = relman("notes", "--to", "v0.2.0", "--json", cwd=repo.path).json()
    assert (to_tag["version"], to_tag["from"]) == ("0.2.0", "v0.1.0")
    assert entries(to_tag) == entries(ranged)

    latest = relman("notes", "--json", cwd=repo.path).json()
    assert (latest["version"], latest["from"], latest["commits"]) == ("0.2.1", "v0.2.0", 1)
    assert entries(latest) == {"Bug fixes": ["four"]}

    whole = relman("notes", "--all", cwd=repo.path)
    assert whole.code == 0, whole.err
    assert headings(whole.out) == ["Features", "Bug fixes"]
    assert [line[2:6] for line in whole.lines if line.startswith("- ")] == [
        "two ",
        "one ",
        "four",
        "thre",
    ]

    both = relman("notes", "--all", "--from", "v0.1.0", cwd=repo.path)
    assert both.code == 2
    assert "--all" in both.err


def test_a_feature_reverted_in_the_same_range_leaves_the_notes(repo: GitRepo) -> None:
    old = repo.commit("feat: legacy export")
    repo.tag("v0.1.0")
    risky = repo.commit("feat: risky thing")
    repo.commit("fix: keep me")
    repo.revert(risky)
    assert repo.subject() == 'Revert "feat: risky thing"'
    undo_old = repo.revert(old)

    notes = relman("notes", "--json", cwd=repo.path).json()

    assert notes["commits"] == 4
    assert entries(notes) == {"Bug fixes": ["keep me"], "Reverts": ["legacy export"]}
    assert notes["sections"][1]["entries"][0]["hash"] == undo_old
    assert next_version(repo) == "0.1.1"


def test_a_merge_adds_no_entry_of_its_own(repo: GitRepo) -> None:
    repo.commit("feat: first")
    repo.tag("v0.1.0")
    repo.branch("search")
    repo.checkout("search")
    repo.commit("feat(search): fuzzy matching", files={"search.txt": "1\n"})
    repo.commit("fix(search): empty query", files={"search.txt": "2\n"})
    repo.checkout("main")
    repo.commit("fix: typo in the header", files={"header.txt": "1\n"})
    repo.merge("search")

    notes = relman("notes", "--json", cwd=repo.path).json()
    markdown = relman("notes", cwd=repo.path)
    lint = relman("notes", "--lint", cwd=repo.path)

    assert notes["commits"] == 4
    assert entries(notes) == {
        "Features": ["fuzzy matching"],
        "Bug fixes": ["typo in the header", "empty query"],  # newest first
    }
    assert "Merge" not in markdown.out
    assert len([line for line in markdown.lines if line.startswith("- ")]) == 3
    assert lint.code == 0, lint.out


def test_a_custom_template_renders_the_notes(repo: GitRepo, tmp_path: Path) -> None:
    repo.commit("feat: first")
    repo.commit("fix: second")
    good = tmp_path / "titles.j2"
    good.write_text("{% for s in sections %}{{ s.title }}|{% endfor %}", encoding="utf-8")
    broken = tmp_path / "broken.j2"
    broken.write_text("# Notes\n\n{% for s in sections %}\n{{ s.title }\n", encoding="utf-8")
    unknown = tmp_path / "unknown.j2"
    unknown.write_text("{{ version }} {{ changelog_title }}\n", encoding="utf-8")

    rendered = relman("notes", "--template", good, cwd=repo.path)
    assert (rendered.code, rendered.out) == (0, "Features|Bug fixes|\n")

    syntax = relman("notes", "--template", broken, cwd=repo.path)
    assert syntax.code == 2
    assert str(broken) in syntax.err
    assert "line 4" in syntax.err

    undefined = relman("notes", "--template", unknown, cwd=repo.path)
    assert undefined.code == 2
    assert "'changelog_title' is undefined" in undefined.err

    field = tmp_path / "field.j2"
    field.write_text("{{ sections[0].entries[0].colour }}", encoding="utf-8")
    no_field = relman("notes", "--template", field, cwd=repo.path)
    assert no_field.code == 2
    assert "there is no field 'colour'" in no_field.err


def test_lint_lists_the_commits_that_do_not_follow_the_convention(
    repo: GitRepo, tmp_path: Path
) -> None:
    repo.commit("feat: fine")
    wip = repo.commit("wip")
    nospace = repo.commit("fix:no space")
    fixup = repo.commit("fixup! feat: fine")

    result = relman("notes", "--lint", cwd=repo.path)

    assert result.code == 1
    lines = result.lines
    assert lines[0] == "3 of 4 commit(s) do not follow Conventional Commits:"
    assert lines[1].split() == [fixup[:7], "fixup!", "feat:", "fine"]
    assert "autosquash" in lines[2]
    assert lines[3].split() == [nospace[:7], "fix:no", "space"]
    assert "no space after the colon" in lines[4]
    assert lines[5].split() == [wip[:7], "wip"]
    assert "no 'type: ' prefix" in lines[6]

    as_json = relman("notes", "--lint", "--json", cwd=repo.path)
    assert as_json.code == 1
    assert as_json.json()["commits"] == 4
    assert [p["hash"] for p in as_json.json()["unconventional"]] == [fixup, nospace, wip]

    clean = GitRepo.init(tmp_path / "clean")
    clean.commit("feat: fine")
    clean.commit("fix(api): also fine")
    ok = relman("notes", "--lint", cwd=clean.path)
    assert ok.code == 0, ok.out
    assert "all 2 commit(s) follow Conventional Commits" in ok.out


def test_a_service_needs_a_config_that_defines_it(repo: GitRepo, tmp_path: Path) -> None:
    repo.commit("feat: first")

    no_config = relman("notes", "--service", "x", cwd=repo.path)
    assert no_config.code == 2
    assert "Service x's tag_format and paths come from the config" in no_config.err

    config = write_config(tmp_path, service("api") + service("web"))
    unknown = relman("notes", "-f", config, "--service", "x", cwd=repo.path)
    assert unknown.code == 2
    assert "No service 'x'" in unknown.err
    assert "defined: api, web" in unknown.err


def test_a_repo_that_is_not_a_repository_exits_2(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()

    notes = relman("notes", "--repo", plain, cwd=tmp_path)
    version = relman("version", "next", "--repo", plain, cwd=tmp_path)

    for result in (notes, version):
        assert result.code == 2
        assert f"'{plain}' is not a git repository" in result.err


def test_a_shallow_clone_without_a_release_tag_is_refused_with_the_fix(
    repo: GitRepo, tmp_path: Path
) -> None:
    repo.commit("feat: one")
    repo.tag("v1.0.0")
    repo.commit("fix: two")
    repo.commit("feat: three")
    shallow = tmp_path / "shallow"
    subprocess.run(
        ["git", "clone", "--quiet", "--depth", "1", f"file://{repo.path}", str(shallow)],
        env=ENV,
        check=True,
    )

    refused = relman("version", "next", cwd=shallow)
    assert refused.code == 2, refused.err
    assert "shallow clone and no release tag like v1.4.0 is in it" in refused.err
    assert "git fetch --unshallow --tags" in refused.err
    assert relman("notes", cwd=shallow).code == 2
    assert relman("notes", "--all", cwd=shallow).code == 2

    subprocess.run(
        ["git", "fetch", "--quiet", "--unshallow", "--tags"], cwd=shallow, env=ENV, check=True
    )
    fetched = relman("version", "next", cwd=shallow)
    assert (fetched.code, fetched.out) == (0, "1.1.0\n")


def test_paths_written_with_dot_slash_count_and_refs_are_not_git_syntax(
    repo: GitRepo, tmp_path: Path
) -> None:
    repo.commit("feat: api", {"svc/api/main.py": "1\n"})
    repo.tag("v1.0.0")
    repo.commit("fix(api): crash", {"svc/api/main.py": "2\n"})
    repo.commit("feat: web", {"svc/web/main.py": "1\n"})
    config = write_config(tmp_path, service("api", paths="[./svc/api/]"))

    found = relman(
        "version", "next", "-f", config, "--service", "api", "--repo", repo.path, cwd=tmp_path
    )
    assert (found.code, found.out) == (0, "1.0.1\n"), found.err

    syntax = relman("notes", "--from", "^HEAD", cwd=repo.path)
    assert syntax.code == 2
    assert "'^HEAD' names no commit" in syntax.err


def test_a_template_that_fails_while_rendering_exits_2_with_the_reason(
    repo: GitRepo, tmp_path: Path
) -> None:
    repo.commit("feat: first")
    broken = tmp_path / "divide.j2"
    broken.write_text("{{ 1 / 0 }}", encoding="utf-8")

    result = relman("notes", "--template", broken, cwd=repo.path)
    assert result.code == 2
    assert "failed: ZeroDivisionError: division by zero" in result.err
    assert "Traceback" not in result.err
