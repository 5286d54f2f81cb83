"""Building small, real git repositories for tests, with the `git` command.

Every call runs with the user's and the system's git config shut out (GIT_CONFIG_GLOBAL=/dev/null,
GIT_CONFIG_NOSYSTEM=1), with no inherited GIT_* variable that could point git at another
repository, and, unless `dated=False`, with author and committer dates from a fake clock that
ticks one minute per commit, so histories and their times are the same on every run.

Messages are committed verbatim (`--cleanup=verbatim`): CRLF line ends and lines starting with
'#' reach the repository as written. Bytes that are not UTF-8 do not: `git commit` takes them for
Latin-1 and converts them, unless `encoding=` declares theirs; `commit_raw` stores them as they are.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from pathlib import Path

__all__ = ["START_TIME", "GitRepo", "isolated_git_env"]

START_TIME = 1_700_000_000  # 2023-11-14T22:13:20Z: the first commit's time when dated
_TICK = 60
_IDENTITY = ("Test Author", "author@example.com")


def isolated_git_env(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """`base` (default: this process's environment) without GIT_* variables and with the global
    and system git config shut out; the identity of any commit must come from elsewhere."""
    env = {
        key: value
        for key, value in (os.environ if base is None else base).items()
        if not key.startswith("GIT_")
    }
    env.update(
        GIT_CONFIG_GLOBAL=os.devnull,
        GIT_CONFIG_NOSYSTEM="1",
        GIT_TERMINAL_PROMPT="0",
        LC_ALL="C",
    )
    return env


class GitRepo:
    """A repository in `path`, created by `init`."""

    def __init__(self, path: Path, *, dated: bool = True) -> None:
        self.path = path
        self.dated = dated
        self.time = START_TIME - _TICK  # the time of the last commit made (when dated)
        self._env = isolated_git_env()
        self._touches = 0

    @classmethod
    def init(cls, path: Path, *, dated: bool = True, branch: str = "main") -> GitRepo:
        """A new, empty repository in `path` (created if missing) with a local identity."""
        path.mkdir(parents=True, exist_ok=True)
        repo = cls(path, dated=dated)
        repo.git("init", "--quiet", f"--initial-branch={branch}")
        repo.git("config", "user.name", _IDENTITY[0])
        repo.git("config", "user.email", _IDENTITY[1])
        repo.git("config", "commit.gpgsign", "false")
        repo.git("config", "tag.gpgsign", "false")
        return repo

    def git(
        self, *args: str, stdin: bytes | None = None, env: Mapping[str, str] | None = None
    ) -> str:
        """Run `git ARGS` in the repository; its stdout. Fails the test, with git's message,
        when git fails."""
        try:
            done = subprocess.run(
                ["git", *args],
                cwd=self.path,
                env={**self._env, **(env or {})},
                input=stdin,
                capture_output=True,
                check=True,
            )
        except subprocess.CalledProcessError as exc:
            said = exc.stderr.decode("utf-8", "replace")
            raise AssertionError(
                f"git {' '.join(args)} failed ({exc.returncode}) in {self.path}:\n{said}"
            ) from exc
        return done.stdout.decode("utf-8", "replace")

    def _next_dates(self) -> dict[str, str]:
        if not self.dated:
            return {}
        self.time += _TICK
        stamp = f"{self.time} +0000"
        return {"GIT_AUTHOR_DATE": stamp, "GIT_COMMITTER_DATE": stamp}

    def commit(
        self,
        message: str | bytes,
        files: Mapping[str, str | bytes] | None = None,
        *,
        author: str | None = None,
        email: str | None = None,
        encoding: str | None = None,
    ) -> str:
        """Write `files` (paths relative to the top; default: a new file, change-N.txt, so any
        such commit reverts without a conflict),
        stage them and commit with `message` as it is; the new commit's hash. `encoding`: the
        message's bytes are in it, and the commit says so (`-c i18n.commitEncoding`, for this
        commit only)."""
        if files is None:
            self._touches += 1
            files = {f"change-{self._touches}.txt": f"change {self._touches}\n"}
        for name, content in files.items():
            target = self.path / name
            target.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                target.write_bytes(content)
            else:
                target.write_text(content, encoding="utf-8")
        self.git("add", "--", *files)
        env = self._next_dates()
        if author is not None:
            env["GIT_AUTHOR_NAME"] = author
        if email is not None:
            env["GIT_AUTHOR_EMAIL"] = email
        raw = message.encode("utf-8") if isinstance(message, str) else message
        options = ["-c", f"i18n.commitEncoding={encoding}"] if encoding else []
        commit = [*options, "commit", "--quiet", "--cleanup=verbatim", "--file=-"]
        self.git(*commit, stdin=raw, env=env)
        return self.head()

    def commit_raw(self, message: bytes) -> str:
        """A commit whose message is stored byte for byte, with no encoding header, written as
        an object: `git commit` would take bytes that are not UTF-8 for Latin-1 and convert
        them. Adds a file like `commit`; the new commit's hash."""
        self._touches += 1
        name = f"change-{self._touches}.txt"
        (self.path / name).write_text(f"change {self._touches}\n", encoding="utf-8")
        self.git("add", name)
        tree = self.git("write-tree").strip()
        branch = self.git("symbolic-ref", "HEAD").strip()
        parents = self.git("for-each-ref", "--format=%(objectname)", branch)  # none: unborn
        dates = self._next_dates()
        when = dates.get("GIT_COMMITTER_DATE", f"{START_TIME} +0000")
        who = f"{_IDENTITY[0]} <{_IDENTITY[1]}> {when}"
        header = f"tree {tree}\n"
        header += "".join(f"parent {parent}\n" for parent in parents.split())
        header += f"author {who}\ncommitter {who}\n\n"
        raw = header.encode("utf-8") + message
        made = self.git("hash-object", "-t", "commit", "-w", "--stdin", stdin=raw).strip()
        self.git("update-ref", "HEAD", made)
        return made

    def tag(self, name: str, *, annotated: bool = False, ref: str = "HEAD") -> None:
        """A lightweight tag, or an annotated one (a tag object whose message is its name)."""
        if annotated:
            self.git("tag", "--annotate", f"--message={name}", name, ref, env=self._tag_date())
        else:
            self.git("tag", name, ref)

    def _tag_date(self) -> dict[str, str]:
        return {"GIT_COMMITTER_DATE": f"{self.time} +0000"} if self.dated else {}

    def branch(self, name: str, start: str = "HEAD") -> None:
        self.git("branch", name, start)

    def checkout(self, name: str) -> None:
        self.git("checkout", "--quiet", name)

    def merge(self, branch: str, message: str | None = None) -> str:
        """Merge `branch` into the current branch with a merge commit (--no-ff); its hash."""
        text = message or f"Merge branch '{branch}'"
        self.git(
            "merge",
            "--quiet",
            "--no-ff",
            "--no-edit",
            f"--message={text}",
            branch,
            env=self._next_dates(),
        )
        return self.head()

    def revert(self, commit: str) -> str:
        """`git revert --no-edit COMMIT`: git's own 'Revert "…"' message; the new commit's hash."""
        self.git("revert", "--no-edit", commit, env=self._next_dates())
        return self.head()

    def head(self) -> str:
        return self.git("rev-parse", "HEAD").strip()

    def subject(self, ref: str = "HEAD") -> str:
        return self.git("log", "-1", "--format=%s", ref).strip()
