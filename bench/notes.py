"""Benchmark `relman notes` against the `git log` floor and git-cliff on a large history.

    .venv/bin/python bench/notes.py [--commits 50000] [--runs 5] [--every 200] [--seed 1]

A fresh repository (in a temp dir, removed at the end unless `--keep`) gets N commits built in
Python and piped to `git fast-import`: Conventional Commits messages (feat, fix, perf, docs,
chore, refactor, test, ci; with and without scopes, some with `!`, bodies, `BREAKING CHANGE:`,
`Closes #N` and trailer footers) and some that are not conventional (merges, WIP, reverts…).
Each commit changes one file under services/api/, services/web/, services/worker/, lib/, docs/
or tests/, the directory following the scope, so path filters mean something. An annotated tag
vX.Y.Z marks about every `--every` commits, versions increasing; HEAD carries the last tag, so
"the last tag range" runs from the previous tag to the last one.

Then, in the same run and round robin (one run of each in turn, so noise spreads evenly), each
command runs once untimed (to warm the page cache and check its output) and `--runs` times
timed, wall clock including process start, output captured and not printed. A command whose
first run takes more than `--slow` seconds (git-cliff over 50,000 commits) runs only once:

- `git log` of the whole history, printing every full message: what relman must at least do;
- `relman notes --repo REPO --all` and `--from vPREV --to vLAST` (markdown);
- `git-cliff` over the whole history and `--latest` (the last tag range), with a small
  `cliff.toml` that groups conventional commits like a normal changelog.

git-cliff comes from PyPI (package `git-cliff`, which ships the binary) in the benchmark's own
virtual environment, bench/.cache/venv-cliff, made on the first run (bench/.cache/ ignores
itself). The script prints figures and ratios; it asserts nothing about them.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import unicodedata
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "bench" / ".cache"
CLIFF_VENV = CACHE / "venv-cliff"
FLOOR_FORMAT = "--format=%H%x1f%an%x1f%ae%x1f%at%x1f%B"
GOAL = "goal: relman within 2x of the git log floor and faster than git-cliff"
NOTES = ("relman-all", "relman-range", "cliff-all", "cliff-range")  # cases that print notes
START = 1_546_300_800  # 2019-01-01T00:00:00Z, the first commit's time

CLIFF_TOML = '''\
[changelog]
body = """
{% if version %}## {{ version }} ({{ timestamp | date(format="%Y-%m-%d") }}){% else %}\
## Unreleased{% endif %}
{% for group, commits in commits | group_by(attribute="group") %}
### {{ group | striptags | trim }}
{% for commit in commits %}
- {% if commit.scope %}**{{ commit.scope }}:** {% endif %}\
{% if commit.breaking %}[**breaking**] {% endif %}{{ commit.message | upper_first }}\
{% endfor %}
{% endfor %}
"""
trim = true

[git]
conventional_commits = true
filter_unconventional = true
filter_commits = true
tag_pattern = "v[0-9]+\\\\.[0-9]+\\\\.[0-9]+"
commit_parsers = [
  { message = "(?i)^feat", group = "<!-- 0 -->Features" },
  { message = "(?i)^fix", group = "<!-- 1 -->Bug fixes" },
  { message = "(?i)^perf", group = "<!-- 2 -->Performance" },
  { message = "(?i)^refactor", group = "<!-- 3 -->Refactoring" },
  { message = "(?i)^docs", group = "<!-- 4 -->Documentation" },
  { message = "(?i)^test", group = "<!-- 5 -->Tests" },
  { message = "(?i)^(chore|ci|build)", group = "<!-- 6 -->Miscellaneous" },
]
'''


class BenchError(Exception):
    """Something the benchmark needs is missing or did not work (git, pip, fast-import)."""


# --- the history ------------------------------------------------------------------------------


def listed(text: str) -> tuple[str, ...]:
    return tuple(text.split("|"))


AREAS: dict[str, tuple[str, ...]] = {  # directory -> the scopes that touch it
    "services/api": ("api", "auth", "billing"),
    "services/web": ("web", "ui", "dashboard"),
    "services/worker": ("worker", "queue"),
    "lib": ("core", "db", "config", "deps"),
}
MODULES = listed(
    "handlers|routes|models|schemas|session|cache|client|retry|export|import|search|"
    "pagination|settings|tokens|audit|metrics|health|storage|queue|jobs|templates"
)
DOCS = listed("index|install|configuration|api|cli|upgrading|faq|deployment|security")
THINGS = listed(
    "pagination on list endpoints|retry backoff|session cookies|CSV export|dark mode|"
    "rate limits|audit log filters|bulk import|webhook signatures|health checks|"
    "connection pooling|search by tag|API tokens|password reset|timezone handling|"
    "keyboard shortcuts|release filters|metrics endpoint|SSO login|job priorities|"
    "config reload|cursor pagination|gzip responses|ETag caching|graceful shutdown"
)
PROBLEMS = listed(
    "an empty response|a timeout on slow networks|a race on shutdown|unicode in user names|"
    "a crash when the config is missing|double submission of forms|stale cache entries|"
    "a memory leak in the worker|off-by-one in paging|a wrong redirect after login|"
    "negative durations|duplicate audit rows|lost updates under load|a deadlock on retry"
)
DEPENDENCIES = listed("sqlalchemy|fastapi|pydantic|httpx|rich|uvicorn|typer|jinja2|psycopg")
PEOPLE = listed(
    "Alice Martin|Bob Chen|Chidi Okafor|Dana Kowalski|Émile Durand|Fatima Zahra|"
    "Gustavo Silva|Hana Sato|Ivan Petrov|José García|Kira Nakamura|Lars Nilsson|"
    "Maya Patel|Noor Haddad|Olu Adeyemi|Priya Raman|Quinn Murphy|Rosa Díaz|Sven Berg|"
    "Zoë Müller"
)
SENTENCES = (
    "The previous behaviour surprised users who upgraded from the last release.",
    "This keeps the old code path for one more release behind a setting.",
    "Measured on the staging cluster, the difference is visible under load.",
    "The change is small but touches the public surface, hence the tests.",
    "Callers that relied on the undocumented ordering need to sort explicitly.",
    "We now log a warning instead of failing hard, as discussed in the design review.",
    "No migration is needed; existing rows are read as before.",
    "The new default matches what most deployments already configure by hand.",
)
TYPES = {  # type -> (weight, subject templates)
    "feat": (25, ("add {thing}", "support {thing}", "allow configuring {thing}")),
    "fix": (30, ("handle {problem}", "avoid {problem}", "correct {thing}")),
    "perf": (5, ("speed up {thing}", "cache {thing}", "avoid quadratic work in {thing}")),
    "docs": (8, ("document {thing}", "clarify {thing} in the guide", "fix typos")),
    "chore": (9, ("bump {dep} to {version}", "tidy up {thing}", "update lockfile")),
    "refactor": (8, ("extract {thing} into its own module", "simplify {thing}")),
    "test": (6, ("cover {thing}", "add a regression test for {problem}")),
    "ci": (2, ("cache dependencies between jobs", "run the suite on PostgreSQL too")),
}
UNCONVENTIONAL = (
    "Merge pull request #{issue} from {login}/topic-{issue}",
    "Merge branch 'main' into release",
    "WIP",
    "Update {doc}.md",
    "Fix typo",
    'Revert "fix({scope}): handle {problem}"',
    "fixup! feat({scope}): add {thing}",
    "{thing} tweaks",
)


@dataclass
class Commit:
    message: str
    path: str
    author: str
    when: int
    kind: str  # "feat", "fix", …, or "other" when not conventional
    breaking: bool


@dataclass
class History:
    commits: list[Commit]
    tags: list[tuple[int, str]]  # (index of the tagged commit, name), in order
    whole: Counter[str] = field(default_factory=Counter)  # commits by type, and "breaking"
    last_range: Counter[str] = field(default_factory=Counter)  # the same, of the last range


def wrap(text: str, width: int = 72) -> str:
    lines: list[str] = []
    line = ""
    for word in text.split():
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    return "\n".join([*lines, line])


def email(name: str) -> str:
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    ascii_name = plain.lower().replace(" ", ".")
    return f"{ascii_name}@example.com"


def make_commit(rng: random.Random, when: int) -> Commit:
    """One commit: a message (conventional about 94% of the time) and the file it changes."""
    area = rng.choice(list(AREAS))
    words = {
        "thing": rng.choice(THINGS),
        "problem": rng.choice(PROBLEMS),
        "dep": rng.choice(DEPENDENCIES),
        "version": f"{rng.randint(1, 9)}.{rng.randint(0, 30)}.{rng.randint(0, 9)}",
        "issue": str(rng.randint(1, 9999)),
        "login": rng.choice(PEOPLE).split()[0].lower(),
        "doc": rng.choice(DOCS),
        "scope": rng.choice(AREAS[area]),
    }
    author = rng.choice(PEOPLE)
    if rng.random() < 0.06:
        subject = rng.choice(UNCONVENTIONAL).format(**words)
        path = f"{area}/{rng.choice(MODULES)}.py"
        return Commit(subject + "\n", path, author, when, "other", False)
    kind = rng.choices(list(TYPES), weights=[w for w, _ in TYPES.values()])[0]
    subject = rng.choice(TYPES[kind][1]).format(**words)
    scope = words["scope"] if rng.random() < 0.6 else ""
    if kind == "docs":
        path = f"docs/{rng.choice(DOCS)}.md"
        scope = scope and rng.choice(("", scope, "readme"))
    elif kind == "test":
        path = f"tests/{area.rsplit('/', 1)[-1]}/test_{rng.choice(MODULES)}.py"
    elif kind == "ci":
        path, scope = ".ci/run", ""
    else:
        path = f"{area}/{rng.choice(MODULES)}.py"
    breaking = kind in ("feat", "fix", "refactor", "perf") and rng.random() < 0.02
    bang = "!" if breaking and rng.random() < 0.6 else ""
    prefix = kind.capitalize() if rng.random() < 0.005 else kind  # the spec allows any case
    message = f"{prefix}{f'({scope})' if scope else ''}{bang}: {subject}\n"
    if rng.random() < 0.3:
        paragraphs = rng.randint(1, 2)
        body = [wrap(" ".join(rng.sample(SENTENCES, rng.randint(1, 3)))) for _ in range(paragraphs)]
        message += "\n" + "\n\n".join(body) + "\n"
    footers = []
    if breaking and (not bang or rng.random() < 0.5):
        footers.append(f"BREAKING CHANGE: {words['thing']} now needs an explicit setting")
    if rng.random() < 0.2:
        footers.append(f"{rng.choice(('Closes', 'Fixes', 'Refs'))} #{words['issue']}")
    if rng.random() < 0.1:
        reviewer = rng.choice(PEOPLE)
        footers.append(f"Reviewed-by: {reviewer} <{email(reviewer)}>")
    if footers:
        message += "\n" + "\n".join(footers) + "\n"
    return Commit(message, path, author, when, kind, breaking)


def tag_points(commits: int, every: int, rng: random.Random) -> list[int]:
    """Indexes of tagged commits: about every `every` commits, the last commit always."""
    points: list[int] = []
    at = -1
    while True:
        at += max(1, every + rng.randint(-every // 4, every // 4))
        if at >= commits - max(1, every // 4):
            return [*points, commits - 1]
        points.append(at)


def version_names(count: int) -> Iterator[str]:
    """v0.1.0 upwards: mostly minor releases, every fourth a patch, a major every 40 tags."""
    major, minor, patch = 0, 1, 0
    for n in range(count):
        if n:
            if n % 40 == 0:
                major, minor, patch = major + 1, 0, 0
            elif n % 4 == 3:
                patch += 1
            else:
                minor, patch = minor + 1, 0
        yield f"v{major}.{minor}.{patch}"


def make_history(commits: int, every: int, seed: int) -> History:
    rng = random.Random(seed)
    when = START
    made = []
    for _ in range(commits):
        when += rng.randint(60, 2 * 3600)
        made.append(make_commit(rng, when))
    made[0] = Commit("Initial commit\n", "README.md", made[0].author, START, "other", False)
    points = tag_points(commits, every, rng)
    history = History(made, list(zip(points, version_names(len(points)), strict=True)))
    first = points[-2] + 1 if len(points) > 1 else 0
    for n, commit in enumerate(made):
        for counter in (history.whole, history.last_range) if n >= first else (history.whole,):
            counter[commit.kind] += 1
            counter["breaking"] += commit.breaking
    return history


def fast_import_stream(history: History) -> bytes:
    chunks: list[bytes] = []

    def data(text: str) -> None:
        raw = text.encode()
        chunks.append(b"data %d\n" % len(raw))
        chunks.append(raw)
        chunks.append(b"\n")

    tags = dict(history.tags)
    for n, commit in enumerate(history.commits, start=1):
        who = f"{commit.author} <{email(commit.author)}> {commit.when} +0000"
        chunks.append(
            f"commit refs/heads/main\nmark :{n}\nauthor {who}\ncommitter {who}\n".encode()
        )
        data(commit.message)
        chunks.append(f"M 100644 inline {commit.path}\n".encode())
        data(f"# {commit.path}\n# changed by commit {n}\nREVISION = {n}\n")
        if n - 1 in tags:
            name = tags[n - 1]
            tagger = f"Release Bot <release@example.com> {commit.when + 60} +0000"
            chunks.append(f"tag {name}\nfrom :{n}\ntagger {tagger}\n".encode())
            data(f"Release {name}\n")
    chunks.append(b"done\n")
    return b"".join(chunks)


def build_repository(history: History, repo: Path) -> None:
    git(["init", "-q", "-b", "main", str(repo)])
    stream = fast_import_stream(history)
    run = subprocess.run(
        ["git", "-C", str(repo), "fast-import", "--quiet", "--done"],
        input=stream,
        capture_output=True,
        check=False,
    )
    if run.returncode:
        raise BenchError(f"git fast-import failed: {run.stderr.decode(errors='replace')}")
    git(["-C", str(repo), "reset", "-q", "--hard", "main"])


# --- tools ----------------------------------------------------------------------------------


def git(args: Sequence[str]) -> str:
    run = subprocess.run(["git", *args], capture_output=True, text=True, check=False)
    if run.returncode:
        raise BenchError(f"git {' '.join(args)} failed: {run.stderr.strip()}")
    return run.stdout.strip()


def git_cliff(given: str | None) -> Path:
    """The git-cliff binary: `--git-cliff`, or the benchmark's own venv (made on first use)."""
    if given:
        return Path(given)
    binary = CLIFF_VENV / "bin" / "git-cliff"
    if binary.exists():
        return binary
    CACHE.mkdir(exist_ok=True)
    (CACHE / ".gitignore").write_text("# made by bench/notes.py\n*\n")
    print(f"installing git-cliff from PyPI into {CLIFF_VENV} (first run only)", file=sys.stderr)
    for command in (
        [sys.executable, "-m", "venv", str(CLIFF_VENV)],
        [str(CLIFF_VENV / "bin" / "python"), "-m", "pip", "install", "-q", "git-cliff"],
    ):
        run = subprocess.run(command, capture_output=True, text=True, check=False)
        if run.returncode:
            raise BenchError(f"{' '.join(command)} failed:\n{run.stdout}{run.stderr}")
    if not binary.exists():
        raise BenchError(f"pip installed git-cliff but {binary} is missing")
    return binary


def relman_binary() -> Path | None:
    local = ROOT / ".venv" / "bin" / "relman"
    if local.exists():
        return local
    found = shutil.which("relman")
    return Path(found) if found else None


def relman_problem(relman: Path | None) -> str | None:
    """Why `relman notes` cannot be benchmarked, or None when `relman notes --help` works."""
    if relman is None:
        return f"no relman console script at {ROOT / '.venv/bin/relman'} nor on PATH"
    run = subprocess.run(
        [str(relman), "notes", "--help"], capture_output=True, text=True, check=False
    )
    if run.returncode:
        return f"`{relman} notes --help` exited {run.returncode}: {tail(run.stderr or run.stdout)}"
    return None


def tail(text: str, lines: int = 6) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


def version_of(command: Sequence[str]) -> str:
    try:
        run = subprocess.run(command, capture_output=True, text=True, check=False)
    except OSError as exc:
        return f"unavailable ({exc})"
    return (run.stdout or run.stderr).strip().splitlines()[0] if run.returncode == 0 else "?"


def load() -> str:
    """The 1-minute load average: anything else running on the machine moves the figures."""
    try:
        return f"load {os.getloadavg()[0]:.2f}"
    except OSError:
        return "load unknown"


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


# --- timing ------------------------------------------------------------------------------------


@dataclass
class Case:
    key: str
    label: str
    command: list[str]
    cwd: Path
    times: list[float] = field(default_factory=list)
    output: bytes = b""
    error: str | None = None
    slow: bool = False

    def run_once(self, timeout: float) -> float | None:
        """Run the command, keep its output; the wall time, or None (and `error`) on failure."""
        began = time.perf_counter()
        try:
            run = subprocess.run(
                self.command, cwd=self.cwd, capture_output=True, timeout=timeout, check=False
            )
        except subprocess.TimeoutExpired:
            self.error = f"timed out after {timeout:g} s"
            return None
        seconds = time.perf_counter() - began
        if run.returncode:
            stderr = run.stderr.decode(errors="replace")
            self.error = f"exit {run.returncode}: {tail(stderr)}"
            return None
        self.output = run.stdout
        return seconds

    @property
    def median(self) -> float | None:
        return statistics.median(self.times) if self.times else None


def time_cases(cases: list[Case], runs: int, timeout: float, slow: float) -> None:
    """One untimed run of each, then `runs` rounds. A case whose untimed run took more than
    `slow` seconds is not run again: that run, with the page cache already warm from the
    floor's, is its one timing. A case that fails once is dropped."""
    for round_ in range(runs + 1):
        shown = []
        for case in cases:
            if case.error or (round_ and case.slow):
                continue
            seconds = case.run_once(timeout)
            if seconds is None:
                continue
            case.slow = not round_ and seconds > slow
            if round_ or case.slow:
                case.times.append(seconds)
            shown.append(f"{case.key} {seconds:.2f}s")
        name = f"round {round_}/{runs}" if round_ else "untimed"
        print(f"  {name}: {', '.join(shown)}", file=sys.stderr)


# --- the report --------------------------------------------------------------------------------


def entries(case: Case) -> int:
    """Lines of the output that look like changelog entries: markdown list items."""
    return sum(sections(case.output).values())


def sections(output: bytes) -> Counter[str]:
    """Markdown list items under each `###` heading, summed over releases."""
    counts: Counter[str] = Counter()
    heading = "(none)"
    for line in output.decode(errors="replace").splitlines():
        if line.startswith("### "):
            heading = line[4:].strip()
        elif re.match(r"[-*] ", line):
            counts[heading] += 1
    return counts


def counts(counter: Counter[str]) -> str:
    return ", ".join(f"{name} {n}" for name, n in counter.most_common()) or "nothing"


def ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1000:.0f}"


def ratio(top: Case | None, bottom: Case | None) -> str:
    if top is None or bottom is None or top.median is None or bottom.median is None:
        return "n/a"
    return f"{top.median / bottom.median:.2f}x"


def report(cases: dict[str, Case], history: History, runs: int, slow: float) -> None:
    print(
        f"{'command':<46}{'runs':>5}{'median ms':>11}{'min ms':>9}{'max ms':>9}"
        f"{'out KB':>8}{'entries':>9}"
    )
    for case in cases.values():
        if case.error:
            print(f"{case.label:<46}{'FAILED':>16}  {case.error.splitlines()[0]}")
            continue
        low = min(case.times) if case.times else None
        high = max(case.times) if case.times else None
        print(
            f"{case.label:<46}{len(case.times):>5}{ms(case.median):>11}{ms(low):>9}{ms(high):>9}"
            f"{len(case.output) / 1024:>8.0f}{entries(case) if case.key in NOTES else '-':>9}"
        )
    print(
        f"medians of {runs} runs after an untimed one (a command slower than {slow:g} s: its "
        "first run only), wall clock with process start; 'entries': markdown list items"
    )
    print("the history holds, by type ('other': not conventional; 'breaking': of any type):")
    print(f"  whole history:  {counts(history.whole)}")
    print(f"  last tag range: {counts(history.last_range)}")
    print("list items per section of the outputs (summed over releases):")
    for case in cases.values():
        if case.key in NOTES and not case.error:
            print(f"  {case.label}: {counts(sections(case.output))}")
    print("ratios:")
    for label, top, bottom in (
        ("relman whole history / git log floor", "relman-all", "floor"),
        ("relman last range / git log floor of the range", "relman-range", "floor-range"),
        ("relman whole history / git-cliff whole history", "relman-all", "cliff-all"),
        ("relman last range / git-cliff --latest", "relman-range", "cliff-range"),
        ("git-cliff whole history / git log floor", "cliff-all", "floor"),
    ):
        print(f"  {label + ':':<50}{ratio(cases.get(top), cases.get(bottom)):>9}")
    print(GOAL)
    for key in NOTES:
        shown = cases.get(key)
        if shown and not shown.error and not shown.output.strip():
            print(f"WARNING: {shown.label} printed nothing")


# --- main -----------------------------------------------------------------------------------


def positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"expected a positive whole number, got {value}")
    return number


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commits", type=positive, default=50_000, help="commits to generate")
    parser.add_argument("--runs", type=positive, default=5, help="timed runs of each (median)")
    parser.add_argument("--every", type=positive, default=200, help="about one tag per N commits")
    parser.add_argument("--seed", type=int, default=1, help="the history's random seed")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds per command run")
    parser.add_argument(
        "--slow", type=float, default=15.0, help="run once only what takes longer (seconds)"
    )
    parser.add_argument("--git-cliff", default=None, help="a git-cliff binary to use instead")
    parser.add_argument("--keep", action="store_true", help="keep the generated repository")
    return parser.parse_args()


def cases_for(
    repo: Path, config: Path, cliff: Path, relman: Path | None, tags: list[str]
) -> list[Case]:
    """What is timed, in the order of each round. Everything runs in the temp dir beside the
    repository, so no relman.yaml or cliff.toml of the caller's directory is picked up."""
    previous, last = tags[-2], tags[-1]
    log = ["git", "-C", str(repo), "log", FLOOR_FORMAT, "-z"]
    cliff_run = [str(cliff), "--config", str(config), "--repository", str(repo)]
    commands = [
        ("floor", "git log, whole history (floor)", log),
        ("floor-range", f"git log, {previous}..{last} (floor)", [*log, f"{previous}..{last}"]),
    ]
    if relman is not None:
        notes = [str(relman), "notes", "--repo", str(repo), "--format", "markdown"]
        commands += [
            ("relman-all", "relman notes --all", [*notes, "--all"]),
            (
                "relman-range",
                f"relman notes --from {previous} --to {last}",
                [*notes, "--from", previous, "--to", last],
            ),
        ]
    commands += [
        ("cliff-all", "git-cliff, whole history", cliff_run),
        ("cliff-range", "git-cliff --latest", [*cliff_run, "--latest"]),
    ]
    if relman is not None:
        commands.append(
            ("relman-start", "relman --version (start-up alone)", [str(relman), "--version"])
        )
    return [Case(key, label, command, repo.parent) for key, label, command in commands]


def main() -> int:
    args = arguments()
    began = time.monotonic()
    if shutil.which("git") is None:
        print("benchmark failed: git is not on PATH", file=sys.stderr)
        return 1
    try:
        cliff = git_cliff(args.git_cliff)
        relman = relman_binary()
        problem = relman_problem(relman)
        if problem:
            print(f"relman notes is not benchmarked: {problem}")
            relman = None
        print(
            f"machine: {os.cpu_count()} CPUs ({cpu_model()}), {platform.system()} "
            f"{platform.release()}; python {platform.python_version()}; "
            f"{version_of(['git', '--version'])}; {version_of([str(cliff), '--version'])}; "
            f"{version_of([str(relman), '--version']) if relman else 'relman -'}; {date.today()}"
        )
        workdir = Path(tempfile.mkdtemp(prefix="relman-bench-notes-"))
        try:
            return bench(args, workdir, cliff, relman, began)
        finally:
            if args.keep:
                print(f"kept the repository: {workdir / 'repo'} (config {workdir / 'cliff.toml'})")
            else:
                shutil.rmtree(workdir, ignore_errors=True)
    except BenchError as exc:
        print(f"benchmark failed: {exc}", file=sys.stderr)
        return 1


def bench(
    args: argparse.Namespace, workdir: Path, cliff: Path, relman: Path | None, began: float
) -> int:
    start_load = load()
    made = time.monotonic()
    history = make_history(args.commits, args.every, args.seed)
    repo = workdir / "repo"
    build_repository(history, repo)
    config = workdir / "cliff.toml"
    config.write_text(CLIFF_TOML)
    tags = [name for _, name in history.tags]
    if len(tags) < 2:
        raise BenchError(f"{len(tags)} tag: the last tag range needs two; raise --commits")
    print(
        f"history: {len(history.commits)} commits, {len(tags)} annotated tags "
        f"({tags[0]} … {tags[-2]}, {tags[-1]} on HEAD), generated and imported in "
        f"{time.monotonic() - made:.1f} s"
    )
    cases = cases_for(repo, config, cliff, relman, tags)
    time_cases(cases, args.runs, args.timeout, args.slow)
    report({c.key: c for c in cases}, history, args.runs, args.slow)
    print(f"total run time {time.monotonic() - began:.0f} s; {load()} (at the start: {start_load})")
    return 1 if any(c.error for c in cases) else 0


if __name__ == "__main__":
    sys.exit(main())
