"""The next version and the notes of a range, from a service's git history.

The last release is the highest stable tag of the service's `tag_format` reachable from the
head; pre-release tags never serve as the base, so `1.5.0-rc.2` describes everything since
1.4.0, like 1.5.0 will. No tag yet: the first release is the service's `initial_version`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from relman.domain.commits import Commit
from relman.domain.config import INITIAL_VERSION, ServiceSpec
from relman.domain.notes import ChangeSet, NotesSettings, read_changes
from relman.domain.tags import Tag, TagFormat
from relman.domain.versions import Version, bump_version, next_prerelease
from relman.errors import InvalidInput, NothingToRelease

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

    def is_ancestor(self, commit: str, of: str) -> bool: ...

    def is_shallow(self) -> bool: ...

    def commits(
        self, since: str | None, until: str, paths: tuple[str, ...] = ()
    ) -> Iterable[Commit]: ...


@dataclass(frozen=True, slots=True)
class VersionRules:
    """A service's versioning settings from relman.yaml (defaults without a config)."""

    service: str | None = None
    tag_format: str = "v{version}"
    paths: tuple[str, ...] = ()
    initial_version: Version = INITIAL_VERSION
    pre_major: str = "major"

    @classmethod
    def of(cls, spec: ServiceSpec) -> VersionRules:
        return cls(
            service=spec.name,
            tag_format=spec.tag_format,
            paths=spec.paths,
            initial_version=spec.initial_version,
            pre_major=spec.pre_major,
        )

    @property
    def tags(self) -> TagFormat:
        return TagFormat.of(self.tag_format, self.service)


@dataclass(frozen=True, slots=True)
class ReleasePlan:
    """The release the history calls for: its version, what it contains, and its base."""

    version: Version
    previous: Tag | None  # the last stable release tag, the base of the range
    head: str
    changes: ChangeSet
    tagged: bool  # the head already carries this version's tag

    @property
    def commits(self) -> tuple[Commit, ...]:
        return self.changes.commits

    @property
    def step(self) -> str:
        """What the version did: initial (no release before), major, minor or patch. Not
        always the commits' bump: before 1.0.0 with pre_major: minor, a breaking change makes
        a minor step."""
        if self.previous is None:
            return "initial"
        old, new = self.previous.version, self.version
        if new.major != old.major:
            return "major"
        return "minor" if new.minor != old.minor else "patch"

    def to_dict(self) -> dict[str, object]:
        return {
            "version": str(self.version),
            "previous_version": str(self.previous.version) if self.previous else None,
            "previous_tag": self.previous.name if self.previous else None,
            "head": self.head,
            "commits": len(self.commits),
            "bump": self.step,
        }


def _last_release(
    history: History,
    tag_format: TagFormat,
    tags: list[Tag],
    head: str,
    below: Version | None = None,
) -> Tag | None:
    """The highest stable tag (below `below`) that `head` contains.

    Asking git whether one tag is an ancestor costs a few milliseconds when it is near; asking
    for every tag merged into the head walks the whole history. So the highest candidates are
    tried one by one, and only when they are not ancestors (tags on another branch) does the
    one full walk happen.
    """
    stable = sorted(
        (t for t in tags if not t.version.prerelease and (below is None or t.version < below)),
        key=lambda tag: tag.version,
        reverse=True,
    )
    for tag in stable[:_TRIED_ONE_BY_ONE]:
        if tag.commit == head or history.is_ancestor(tag.commit, head):
            return tag
    if len(stable) <= _TRIED_ONE_BY_ONE:
        return None
    merged = {tag.name for tag in history.tags(tag_format, merged_into=head)}
    return next((tag for tag in stable if tag.name in merged), None)


_TRIED_ONE_BY_ONE = 2


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
    tags = history.tags(tag_format, merged_into=None)
    at_head = [tag for tag in tags if tag.commit == head_commit]
    # The head's own tag of the kind asked for: a release, or a pre-release with this label.
    own = [t for t in at_head if _of_kind(t.version, pre)]
    if use_head_tag and own:
        tag = max(own, key=lambda t: t.version)
        base = _last_release(history, tag_format, tags, head_commit, below=tag.version)
        if base is None:
            _refuse_shallow(history, rules)
        commits = history.commits(base.commit if base else None, head_commit, rules.paths)
        changes = read_changes(commits, settings)
        return ReleasePlan(tag.version, base, head_commit, changes, tagged=True)
    base = _last_release(history, tag_format, tags, head_commit)
    if base is None:
        _refuse_shallow(history, rules)
    commits = history.commits(base.commit if base else None, head_commit, rules.paths)
    changes = read_changes(commits, settings)
    where = f"since {base.name}" if base else "in the history"
    if not changes.releasable:
        raise NothingToRelease(
            f"Nothing to release: none of the {len(changes.commits)} commit(s) {where} is a "
            "feat, fix, "
            "perf, revert or breaking change",
            details={
                "previous_tag": base.name if base else None,
                "commits": len(changes.commits),
            },
        )
    core = _next_release(base, changes, rules)
    version = core
    if pre is not None:
        done = [t for t in at_head if _of_kind(t.version, pre) and t.version.core == core.core]
        if done:
            tagged = max(done, key=lambda t: t.version)
            raise NothingToRelease(
                f"Nothing to release: the head is already tagged {tagged.name}",
                details={"tag": tagged.name},
            )
        # Numbered over every tag, not only those merged here: an rc.1 tagged on another
        # branch still takes its number.
        version = next_prerelease(core, pre, [tag.version for tag in tags])
    return ReleasePlan(version, base, head_commit, changes, tagged=False)


def _refuse_shallow(history: History, rules: VersionRules) -> None:
    """A shallow clone without a release tag in it hides what was released before: the
    version and the notes would be made up from a part of the history."""
    if history.is_shallow():
        example = rules.tags.name(Version(1, 4, 0))
        raise InvalidInput(
            f"This is a shallow clone and no release tag like {example} is in it, so relman "
            "cannot tell what was released before; fetch the history and the tags with "
            "'git fetch --unshallow --tags' (GitHub Actions: actions/checkout with "
            "fetch-depth: 0)",
            details={"shallow": True, "tag_format": rules.tag_format},
        )


def _of_kind(version: Version, pre: str | None) -> bool:
    if pre is None:
        return not version.prerelease
    return len(version.prerelease) == 2 and version.prerelease[0] == pre


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
    changes: ChangeSet

    @property
    def commits(self) -> tuple[Commit, ...]:
        return self.changes.commits


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
    tags = history.tags(tag_format, merged_into=None)
    named = next((tag for tag in tags if tag.name == until), None)
    at_head = [named] if named else [tag for tag in tags if tag.commit == head_commit]
    tagged = max(at_head, key=lambda t: t.version) if at_head else None
    base: Tag | None = None
    start: str | None = None  # the commit the range starts after: what git is given
    if since is None and not whole:
        below = tagged.version if tagged else None
        base = _last_release(history, tag_format, tags, head_commit, below=below)
        since, start = (base.name, base.commit) if base else (None, None)
        if base is None:
            _refuse_shallow(history, rules)
    elif whole:
        _refuse_shallow(history, rules)
    elif since is not None:
        start = history.resolve(since)  # a clear error for an unknown ref, and no ref syntax
        # Only a stable release is a base to bump from; after a pre-release tag the version
        # is unknown until the head is tagged.
        base = next((t for t in tags if t.name == since and not t.version.prerelease), None)
    commits = history.commits(start, head_commit, rules.paths)
    changes = read_changes(commits, settings)
    version: Version | None = None
    if tagged is not None:
        version = tagged.version
    elif changes.releasable and (base is not None or (since is None and not whole)):
        version = _next_release(base, changes, rules)
    return NotesRange(version, since, until, changes)
