"""The next version and the notes of a range, from a service's git history.

The last release is the highest stable tag of the service's `tag_format` reachable from the
head; pre-release tags never serve as the base, so `1.5.0-rc.2` describes everything since
1.4.0, like 1.5.0 will. No tag yet: the first release is the service's `initial_version`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from relman.domain.commits import Commit
from relman.domain.config import INITIAL_VERSION
from relman.domain.notes import ChangeSet, NotesSettings, read_changes
from relman.domain.tags import Tag, TagFormat
from relman.domain.versions import Version, bump_version, next_prerelease
from relman.errors import NothingToRelease

__all__ = [
    "History",
    "NotesRange",
    "ReleasePlan",
    "VersionRules",
    "notes_range",
    "plan_release",
]


class History(Protocol):
    """What versioning needs of a repository (vcs.git.GitRepository; a fake in tests)."""

    def resolve(self, ref: str) -> str: ...

    def tags(self, tag_format: TagFormat, *, merged_into: str | None) -> list[Tag]: ...

    def commits(
        self, since: str | None, until: str, paths: tuple[str, ...] = ()
    ) -> list[Commit]: ...


@dataclass(frozen=True, slots=True)
class VersionRules:
    """A service's versioning settings from relman.yaml (defaults without a config)."""

    service: str | None = None
    tag_format: str = "v{version}"
    paths: tuple[str, ...] = ()
    initial_version: Version = INITIAL_VERSION
    pre_major: str = "major"

    @property
    def tags(self) -> TagFormat:
        return TagFormat.of(self.tag_format, self.service)


@dataclass(frozen=True, slots=True)
class ReleasePlan:
    """The release the history calls for: its version, what it contains, and its base."""

    version: Version
    previous: Tag | None  # the last stable release tag, the base of the range
    head: str
    commits: tuple[Commit, ...]
    changes: ChangeSet
    tagged: bool  # the head already carries this version's tag

    def to_dict(self) -> dict[str, object]:
        return {
            "version": str(self.version),
            "previous_version": str(self.previous.version) if self.previous else None,
            "previous_tag": self.previous.name if self.previous else None,
            "head": self.head,
            "commits": len(self.commits),
            "bump": self.changes.bump.name.lower(),
            "tagged": self.tagged,
        }


def _last_release(tags: list[Tag], below: Version | None = None) -> Tag | None:
    stable = [t for t in tags if not t.version.prerelease and (below is None or t.version < below)]
    return max(stable, key=lambda tag: tag.version, default=None)


def plan_release(
    history: History,
    rules: VersionRules,
    settings: NotesSettings,
    *,
    head: str = "HEAD",
    pre: str | None = None,
    use_head_tag: bool = False,
) -> ReleasePlan:
    """The next release at `head`; NothingToRelease when the commits call for none.

    `use_head_tag`: when the head already carries a release tag, that is the release (so
    registering it again after tagging finds the same version instead of nothing).
    """
    head_commit = history.resolve(head)
    tag_format = rules.tags
    tags = history.tags(tag_format, merged_into=head_commit)
    at_head = [tag for tag in tags if tag.commit == head_commit]
    if use_head_tag and at_head:
        tag = max(at_head, key=lambda t: t.version)
        base = _last_release(tags, below=tag.version)
        commits = history.commits(base.name if base else None, head_commit, rules.paths)
        changes = read_changes(commits, settings)
        return ReleasePlan(tag.version, base, head_commit, tuple(commits), changes, tagged=True)
    base = _last_release(tags)
    commits = history.commits(base.name if base else None, head_commit, rules.paths)
    changes = read_changes(commits, settings)
    where = f"since {base.name}" if base else "in the history"
    if not changes.releasable:
        raise NothingToRelease(
            f"Nothing to release: none of the {len(commits)} commit(s) {where} is a feat, fix, "
            "perf, revert or breaking change",
            details={"previous_tag": base.name if base else None, "commits": len(commits)},
        )
    core = _next_release(base, changes, rules)
    version = core
    if pre is not None:
        done = [t for t in at_head if t.version.prerelease and t.version.core == core.core]
        if done:
            tagged = max(done, key=lambda t: t.version)
            raise NothingToRelease(
                f"Nothing to release: the head is already tagged {tagged.name}",
                details={"tag": tagged.name},
            )
        # Numbered over every tag, not only those merged here: an rc.1 tagged on another
        # branch still takes its number.
        every = history.tags(tag_format, merged_into=None)
        version = next_prerelease(core, pre, [tag.version for tag in every])
    return ReleasePlan(version, base, head_commit, tuple(commits), changes, tagged=False)


def _next_release(base: Tag | None, changes: ChangeSet, rules: VersionRules) -> Version:
    if base is None:
        return rules.initial_version
    return bump_version(base.version, changes.bump, pre_major=rules.pre_major)


@dataclass(frozen=True, slots=True)
class NotesRange:
    """The commits between two refs, read, and the version they make when that is known."""

    version: Version | None
    since: str | None
    until: str
    commits: tuple[Commit, ...]
    changes: ChangeSet


def notes_range(
    history: History,
    rules: VersionRules,
    settings: NotesSettings,
    *,
    since: str | None,
    until: str,
    whole: bool = False,
) -> NotesRange:
    """Notes for `since..until` (since None: from the last release; `whole`: all history).

    The version is the tag's when `until` is a release tag, else the next version computed
    from the changes when the range starts at a release, else unknown.
    """
    head_commit = history.resolve(until)
    tag_format = rules.tags
    tags = history.tags(tag_format, merged_into=head_commit)
    at_head = [tag for tag in tags if tag.commit == head_commit]
    base: Tag | None = None
    if since is None and not whole:
        base = _last_release(tags, below=max(t.version for t in at_head) if at_head else None)
        since = base.name if base else None
    elif since is not None:
        history.resolve(since)  # a clear error for an unknown ref
        # Only a stable release is a base to bump from; after a pre-release tag the version
        # is unknown until the head is tagged.
        base = next((t for t in tags if t.name == since and not t.version.prerelease), None)
    commits = history.commits(since, head_commit, rules.paths)
    changes = read_changes(commits, settings)
    version: Version | None = None
    if at_head:
        version = max(at_head, key=lambda t: t.version).version
    elif changes.releasable and (base is not None or (since is None and not tags)):
        version = _next_release(base, changes, rules)
    return NotesRange(version, since, until, tuple(commits), changes)
