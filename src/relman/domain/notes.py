"""From commits to release notes and a version bump.

The rules: a breaking change bumps major, `feat` minor, `fix`, `perf` and `revert` patch, any
other type nothing unless `NotesSettings.bumps` says otherwise. A revert whose target is in the
same range cancels it: both leave the notes and the bump, as in conventional-changelog.

Sections come in a fixed order — Breaking changes, Features, Bug fixes, Performance, Reverts —
then the extra types the settings show, then "Other changes" (commits that do not follow the
convention) when `include_unconventional` is set. A breaking change is listed once, under
Breaking changes, whatever its type.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from relman.domain.commits import Change, Commit, Unconventional, parse_commit
from relman.domain.versions import Bump

__all__ = [
    "BUMP_NAMES",
    "DEFAULT_BUMPS",
    "FIXED_SECTIONS",
    "OTHER_CHANGES",
    "ChangeSet",
    "NotesSettings",
    "Section",
    "read_changes",
]

DEFAULT_BUMPS: Mapping[str, Bump] = MappingProxyType(
    {"feat": Bump.MINOR, "fix": Bump.PATCH, "perf": Bump.PATCH, "revert": Bump.PATCH}
)
BUMP_NAMES: Mapping[str, Bump] = MappingProxyType(
    {"none": Bump.NONE, "patch": Bump.PATCH, "minor": Bump.MINOR}
)
BREAKING = "breaking"
FIXED_SECTIONS: tuple[tuple[str, str], ...] = (
    (BREAKING, "Breaking changes"),
    ("feat", "Features"),
    ("fix", "Bug fixes"),
    ("perf", "Performance"),
    ("revert", "Reverts"),
)
OTHER_CHANGES = "Other changes"


@dataclass(frozen=True, slots=True)
class NotesSettings:
    """The `notes:` section of relman.yaml, with its defaults."""

    sections: tuple[tuple[str, str], ...] = ()  # extra (type, title) shown after the fixed ones
    bumps: Mapping[str, Bump] = field(default_factory=lambda: MappingProxyType({}))
    include_unconventional: bool = False
    ticket_prefixes: tuple[str, ...] = ()
    issue_url: str | None = None  # with {id}: #123 → .../issues/123
    ticket_url: str | None = None  # with {id}: PROJ-123 → .../browse/PROJ-123
    commit_url: str | None = None  # with {hash}

    def bump_of(self, change: Change) -> Bump:
        if change.breaking:
            return Bump.MAJOR
        if change.type in self.bumps:
            return self.bumps[change.type]
        return DEFAULT_BUMPS.get(change.type, Bump.NONE)

    def to_dict(self) -> dict[str, Any]:
        return {
            "sections": dict(self.sections),
            "bump": {kind: bump.name.lower() for kind, bump in self.bumps.items()},
            "include_unconventional": self.include_unconventional,
            "tickets": list(self.ticket_prefixes),
            "issue_url": self.issue_url,
            "ticket_url": self.ticket_url,
            "commit_url": self.commit_url,
        }


@dataclass(frozen=True, slots=True)
class Section:
    title: str
    entries: tuple[Change | Unconventional, ...]


@dataclass(frozen=True, slots=True)
class ChangeSet:
    """The commits of a range, read: what goes into the notes and what the bump is."""

    changes: tuple[Change, ...]  # conventional, not merges, not cancelled by a revert
    unconventional: tuple[Unconventional, ...]
    cancelled: tuple[Change, ...]  # reverted within the range, and their reverts
    bump: Bump
    commits: tuple[Commit, ...] = ()  # every commit of the range, newest first

    @property
    def releasable(self) -> bool:
        return self.bump > Bump.NONE

    def sections(self, settings: NotesSettings) -> list[Section]:
        """The non-empty sections, in their fixed order."""
        order = [*FIXED_SECTIONS, *settings.sections]
        titles = dict(order)
        grouped: dict[str, list[Change | Unconventional]] = {key: [] for key, _ in order}
        for change in self.changes:
            key = BREAKING if change.breaking else change.type
            if key in grouped:
                grouped[key].append(change)
        out = [Section(titles[key], tuple(items)) for key, items in grouped.items() if items]
        if settings.include_unconventional and self.unconventional:
            out.append(Section(OTHER_CHANGES, self.unconventional))
        return out


def read_changes(commits: Iterable[Commit], settings: NotesSettings) -> ChangeSet:
    """Read every commit of a range (newest first, as git log lists them).

    Reverts are settled oldest first: a commit that reverts one still standing in the range
    cancels it and both leave; one whose target is not in the range stands itself. So a revert
    of a revert brings the change back, and an unconventional commit can be cancelled too.
    """
    prefixes = settings.ticket_prefixes
    # Read as they come (git may still be writing the rest), settle reverts afterwards.
    every: list[Commit] = []
    read_all: list[Change | Unconventional] = []
    for commit in commits:
        every.append(commit)
        read = parse_commit(commit, ticket_prefixes=prefixes)
        if not (isinstance(read, Change) and read.type == "merge"):
            read_all.append(read)
    standing: dict[str, Change | Unconventional] = {}  # oldest first
    cancelled: list[Change] = []
    for read in reversed(read_all):
        target = _standing(standing, read.reverts) if isinstance(read, Change) else None
        if target is None:
            standing[read.commit.hash] = read
            continue
        undone = standing.pop(target)
        cancelled.extend(item for item in (undone, read) if isinstance(item, Change))
    newest_first = list(reversed(standing.values()))
    changes = tuple(item for item in newest_first if isinstance(item, Change))
    unconventional = tuple(item for item in newest_first if isinstance(item, Unconventional))
    bump = max((settings.bump_of(change) for change in changes), default=Bump.NONE)
    return ChangeSet(changes, unconventional, tuple(cancelled), bump, tuple(every))


def _standing(standing: Mapping[str, Change | Unconventional], target: str | None) -> str | None:
    """The full hash of the standing commit `target` names (a full or an abbreviated hash)."""
    if not target:
        return None
    if target in standing:
        return target
    return next((full for full in standing if full.startswith(target)), None)
