"""A git history in memory, for tests of versioning: satisfies services.versioning.History."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from relman.domain.commits import Commit
from relman.domain.tags import Tag, TagFormat
from relman.errors import InvalidInput

__all__ = ["FakeHistory"]


@dataclass
class FakeHistory:
    """A straight line of commits, oldest first, and tags pointing at some of them.

    It answers like vcs.git.GitRepository (services.versioning.History): `tags` lists the tags
    of a format reachable from a commit, `commits` lists newest first the commits after `since`
    up to `until` (and records what was asked in `asked`). Paths are not filtered.
    """

    log: list[Commit] = field(default_factory=list)
    tag_at: dict[str, str] = field(default_factory=dict)  # tag name -> commit hash
    asked: list[tuple[str | None, str, tuple[str, ...]]] = field(default_factory=list)
    shallow: bool = False

    def add(self, message: str, *tags: str, parents: int = 1) -> Commit:
        name = f"{len(self.log)}:{message}"
        commit = Commit(
            hash=hashlib.sha1(name.encode(), usedforsecurity=False).hexdigest(),
            message=message,
            parents=parents,
        )
        self.log.append(commit)
        for tag in tags:
            self.tag(tag)
        return commit

    def tag(self, name: str, at: Commit | None = None) -> None:
        self.tag_at[name] = (at or self.log[-1]).hash

    def resolve(self, ref: str) -> str:
        if ref == "HEAD" and self.log:
            return self.log[-1].hash
        if ref in self.tag_at:
            return self.tag_at[ref]
        found = [commit.hash for commit in self.log if commit.hash.startswith(ref)]
        if len(ref) < 4 or len(found) != 1:
            raise InvalidInput(f"Unknown git ref '{ref}'", details={"ref": ref})
        return found[0]

    def tags(self, tag_format: TagFormat, *, merged_into: str | None) -> list[Tag]:
        reachable = len(self.log) if merged_into is None else self._position(merged_into)
        out = []
        for name, target in self.tag_at.items():
            version = tag_format.version_of(name)
            if version is not None and self._position(target) <= reachable:
                out.append(Tag(name, version, target))
        return out

    def is_shallow(self) -> bool:
        return self.shallow

    def is_ancestor(self, commit: str, of: str) -> bool:
        return self._position(commit) <= self._position(of)

    def commits(self, since: str | None, until: str, paths: tuple[str, ...] = ()) -> list[Commit]:
        self.asked.append((since, until, paths))
        start = 0 if since is None else self._position(self.resolve(since)) + 1
        stop = self._position(self.resolve(until)) + 1
        return list(reversed(self.log[start:stop]))

    def _position(self, hash_: str) -> int:
        return next(n for n, commit in enumerate(self.log) if commit.hash == hash_)
