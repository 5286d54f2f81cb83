"""Reading a git repository's history with the `git` command: tags, commits, paths.

One `git log` process per range, records separated by NUL and fields by US (0x1f), decoded
once: the message is the last field, so whatever it contains cannot shift the others. Bytes
that are not UTF-8 become U+FFFD rather than an error. `paths` are taken from the repository's
top (`:(top)` pathspecs), whatever directory `--repo` names.
"""

from __future__ import annotations

import os
import posixpath
import re
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from relman.domain.commits import Commit
from relman.domain.tags import Tag, TagFormat
from relman.errors import InvalidInput

__all__ = ["GitRepository"]

_LOG_FORMAT = "--format=%H%x1f%P%x1f%an%x1f%ae%x1f%at%x1f%B"
_TAG_FORMAT = "--format=%(refname:strip=2)%00%(objectname)%00%(*objectname)"
_CHUNK = 1 << 20
_HASH = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}", re.ASCII)


class GitRepository:
    """A repository on disk, read through `git -C PATH`; satisfies services.versioning.History."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        if not self.path.is_dir():
            raise InvalidInput(
                f"Repository '{self.path}' is not a directory; pass --repo with the path of "
                "a git checkout",
                details={"repo": str(self.path)},
            )

    def resolve(self, ref: str) -> str:
        """The commit a ref names (a tag, a branch, HEAD, a hash)."""
        if ref.startswith("-"):
            raise InvalidInput(f"'{ref}' is not a git ref", details={"ref": ref})
        out = self._git("rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}")
        commit = out.strip()
        if not _HASH.fullmatch(commit):  # rev-parse also reads ^X, X..Y: not one commit
            raise InvalidInput(
                f"'{ref}' names no commit in '{self.path}'; use a tag, a branch or a commit hash",
                details={"repo": str(self.path), "ref": ref},
            )
        return commit

    def tags(self, tag_format: TagFormat, *, merged_into: str | None) -> list[Tag]:
        """The tags of `tag_format` reachable from `merged_into` (None: all of them), in no
        particular order."""
        pattern = f"refs/tags/{_glob_escape(tag_format.prefix)}*"
        merged = [f"--merged={merged_into}"] if merged_into else []
        out = self._git("for-each-ref", *merged, _TAG_FORMAT, pattern)
        tags = []
        for line in out.splitlines():
            name, _, rest = line.partition("\0")
            target, _, peeled = rest.partition("\0")
            version = tag_format.version_of(name)
            if version is not None:
                tags.append(Tag(name, version, peeled or target))
        return tags

    def is_ancestor(self, commit: str, of: str) -> bool:
        """Whether `of` contains `commit` (a commit is its own ancestor)."""
        return self._status("merge-base", "--is-ancestor", commit, of) == 0

    def is_shallow(self) -> bool:
        """Whether this is a shallow clone (`git clone --depth N`), missing older history."""
        return self._git("rev-parse", "--is-shallow-repository").strip() == "true"

    def commits(
        self, since: str | None, until: str, paths: tuple[str, ...] = ()
    ) -> Iterator[Commit]:
        """Commits reachable from `until` and not from `since` (None: the whole history),
        newest first, touching `paths` when given; yielded while git is still writing."""
        revisions = [f"{since}..{until}" if since else until]
        pathspecs = [f":(top){_top_relative(path)}" for path in paths]
        log = ["log", "-z", "--no-color", "--encoding=UTF-8", _LOG_FORMAT, *revisions, "--"]
        for record in self._records(*log, *pathspecs):
            fields = record.split("\x1f", 5)
            if len(fields) != 6:
                continue
            full, parents, author, email, time, message = fields
            yield Commit(
                hash=full,
                message=message,
                author=author,
                email=email,
                time=int(time or 0),
                parents=len(parents.split()),
            )

    def _records(self, *args: str) -> Iterator[str]:
        """The NUL-separated records git writes, decoded, as they arrive."""
        with tempfile.TemporaryFile() as stderr:
            process = self._start(args, stderr)
            with process:
                assert process.stdout is not None  # stdout=PIPE
                pipe = process.stdout.fileno()
                pending = b""
                while chunk := os.read(pipe, _CHUNK):
                    *complete, pending = (pending + chunk).split(b"\0")
                    for record in complete:
                        if record:
                            yield record.decode("utf-8", "replace")
                if pending:
                    yield pending.decode("utf-8", "replace")
            if process.returncode != 0:
                stderr.seek(0)
                raise _git_error(self.path, args, stderr.read().decode("utf-8", "replace"))

    def _git(self, *args: str) -> str:
        """git's stdout, read in one go (stderr goes to a file, so no pipe can fill up and
        stall git while the other is read)."""
        with tempfile.TemporaryFile() as stderr:
            process = self._start(args, stderr)
            with process:
                assert process.stdout is not None  # stdout=PIPE
                out = process.stdout.read()
            if process.returncode != 0:
                stderr.seek(0)
                raise _git_error(self.path, args, stderr.read().decode("utf-8", "replace"))
        return out.decode("utf-8", "replace")

    def _start(self, args: tuple[str, ...], stderr: IO[bytes]) -> subprocess.Popen[bytes]:
        command = ["git", "-C", str(self.path), "-c", "log.showSignature=false", *args]
        try:
            return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=stderr)
        except FileNotFoundError:
            raise InvalidInput(
                "git is not installed (no 'git' on PATH); install it to read versions and notes",
                details={"command": "git"},
            ) from None

    def _status(self, *args: str) -> int:
        """The exit status of a git command that answers yes (0) or no (1); an error raises."""
        done = subprocess.run(
            ["git", "-C", str(self.path), *args], capture_output=True, check=False
        )
        if done.returncode not in (0, 1):
            raise _git_error(self.path, args, done.stderr.decode("utf-8", "replace"))
        return done.returncode


def _top_relative(path: str) -> str:
    """'./svc/api/' → 'svc/api': paths in the config are from the repository's top."""
    normal = posixpath.normpath(path.replace("\\", "/"))
    return "" if normal == "." else normal


def _glob_escape(text: str) -> str:
    return "".join(f"[{char}]" if char in "*?[\\" else char for char in text)


def _git_error(path: Path, args: tuple[str, ...], stderr: str) -> InvalidInput:
    said = stderr.strip().splitlines()[-1] if stderr.strip() else "no message"
    if "not a git repository" in stderr:
        return InvalidInput(
            f"'{path}' is not a git repository; pass --repo with the path of a checkout",
            details={"repo": str(path), "git": said},
        )
    if args[0] == "rev-parse" and not stderr.strip():
        ref = args[-1].removesuffix("^{commit}")
        if ref == "HEAD":
            return InvalidInput(
                f"'{path}' has no commits yet (HEAD names no commit); commit something first",
                details={"repo": str(path), "ref": ref},
            )
        return InvalidInput(
            f"'{ref}' names no commit in '{path}'; use a tag, a branch or a commit hash",
            details={"repo": str(path), "ref": ref},
        )
    return InvalidInput(
        f"git {args[0]} failed in '{path}': {said}",
        details={"repo": str(path), "git": said, "command": ["git", *args]},
    )
