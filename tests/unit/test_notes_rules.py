import hashlib
from collections.abc import Mapping
from types import MappingProxyType

import pytest
from hypothesis import given
from hypothesis import strategies as st

from relman.domain.commits import Change, Commit, Unconventional, parse_commit
from relman.domain.notes import (
    DEFAULT_BUMPS,
    FIXED_SECTIONS,
    OTHER_CHANGES,
    ChangeSet,
    NotesSettings,
    read_changes,
)
from relman.domain.tags import TagFormat
from relman.domain.versions import Bump, Version, parse_version
from relman.errors import InvalidInput

DEFAULT = NotesSettings()
WITH_OTHERS = NotesSettings(include_unconventional=True)
FIXED_TITLES = ["Breaking changes", "Features", "Bug fixes", "Performance", "Reverts"]


def sha(name: str) -> str:
    return hashlib.sha1(name.encode(), usedforsecurity=False).hexdigest()


def c(name: str, message: str, *, parents: int = 1) -> Commit:
    """A commit whose hash is derived from `name`, so a revert can name it."""
    return Commit(hash=sha(name), message=message, parents=parents)


def git_revert(name: str, target: Commit, *, short: bool = False) -> Commit:
    hash_ = target.hash[:7] if short else target.hash
    return c(name, f'Revert "{target.subject}"\n\nThis reverts commit {hash_}.')


def bumps(mapping: dict[str, Bump]) -> Mapping[str, Bump]:
    return MappingProxyType(mapping)


def read_one(message: str) -> Change:
    read = parse_commit(Commit(hash=sha(message), message=message))
    assert isinstance(read, Change)
    return read


def names(entries: tuple[Change | Unconventional, ...] | tuple[Change, ...]) -> list[str]:
    return [entry.commit.hash for entry in entries]


def titles(changes: ChangeSet, settings: NotesSettings = DEFAULT) -> list[str]:
    return [section.title for section in changes.sections(settings)]


# --- the bump --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "bump"),
    [
        pytest.param("feat: x", Bump.MINOR, id="feat"),
        pytest.param("feat(api/v2): x", Bump.MINOR, id="feat-with-scope"),
        pytest.param("FEAT: x", Bump.MINOR, id="feat-upper-case"),
        pytest.param("fix: x", Bump.PATCH, id="fix"),
        pytest.param("perf: x", Bump.PATCH, id="perf"),
        pytest.param("revert: feat: x", Bump.PATCH, id="revert-without-hash"),
        pytest.param(
            f'Revert "feat: x"\n\nThis reverts commit {sha("gone")}.',
            Bump.PATCH,
            id="git-revert-outside-range",
        ),
        pytest.param("feat!: x", Bump.MAJOR, id="feat-bang"),
        pytest.param("fix(db)!: x", Bump.MAJOR, id="fix-bang-scope"),
        pytest.param("docs!: x", Bump.MAJOR, id="docs-bang"),
        pytest.param("chore: x\n\nBREAKING CHANGE: y", Bump.MAJOR, id="chore-breaking-footer"),
        pytest.param("fix: x\n\nBREAKING-CHANGE: y", Bump.MAJOR, id="breaking-dash-footer"),
        pytest.param("docs: x", Bump.NONE, id="docs"),
        pytest.param("chore: x", Bump.NONE, id="chore"),
        pytest.param("refactor: x", Bump.NONE, id="refactor"),
        pytest.param("style: x", Bump.NONE, id="style"),
        pytest.param("test: x", Bump.NONE, id="test"),
        pytest.param("build: x", Bump.NONE, id="build"),
        pytest.param("ci: x", Bump.NONE, id="ci"),
        pytest.param("fix: x\n\nbreaking change: y", Bump.PATCH, id="lower-case-footer"),
        pytest.param("Fixed a bug", Bump.NONE, id="unconventional"),
        pytest.param("fixup! feat: x", Bump.NONE, id="fixup"),
        pytest.param("", Bump.NONE, id="empty"),
        pytest.param("Merge branch 'feat/x'", Bump.NONE, id="merge-header"),
        pytest.param("Merge pull request #1 from a/b", Bump.NONE, id="merge-pull-request"),
    ],
)
def test_each_kind_of_commit_bumps_as_the_rules_say(message: str, bump: Bump) -> None:
    changes = read_changes([c("one", message)], DEFAULT)

    assert changes.bump is bump
    assert changes.releasable == (bump > Bump.NONE)


def test_the_default_bumps_are_feat_minor_and_fix_perf_revert_patch() -> None:
    assert dict(DEFAULT_BUMPS) == {
        "feat": Bump.MINOR,
        "fix": Bump.PATCH,
        "perf": Bump.PATCH,
        "revert": Bump.PATCH,
    }


@pytest.mark.parametrize(
    ("messages", "bump"),
    [
        pytest.param(["docs: a", "fix: b", "feat: c"], Bump.MINOR, id="feat-wins"),
        pytest.param(["fix: a", "feat!: b", "feat: c"], Bump.MAJOR, id="breaking-wins"),
        pytest.param(["docs: a", "perf: b", "chore: c"], Bump.PATCH, id="perf"),
        pytest.param(["docs: a", "chore: b", "Update"], Bump.NONE, id="nothing"),
    ],
)
def test_the_largest_bump_of_a_range_wins(messages: list[str], bump: Bump) -> None:
    commits = [c(str(n), message) for n, message in enumerate(messages)]

    assert read_changes(commits, DEFAULT).bump is bump


def test_an_empty_range_is_not_releasable_and_has_no_sections() -> None:
    changes = read_changes([], DEFAULT)

    assert changes == ChangeSet((), (), (), Bump.NONE, ())
    assert not changes.releasable
    assert changes.sections(WITH_OTHERS) == []


@pytest.mark.parametrize(
    ("message", "settings", "bump"),
    [
        pytest.param("docs: x", {"docs": Bump.PATCH}, Bump.PATCH, id="docs-patch"),
        pytest.param("chore(deps): x", {"chore": Bump.MINOR}, Bump.MINOR, id="chore-minor"),
        pytest.param("feat: x", {"feat": Bump.PATCH}, Bump.PATCH, id="feat-lowered"),
        pytest.param("fix: x", {"fix": Bump.NONE}, Bump.NONE, id="fix-switched-off"),
        pytest.param("docs: x", {"chore": Bump.PATCH}, Bump.NONE, id="other-type-mapped"),
        pytest.param("feat: x", {"docs": Bump.PATCH}, Bump.MINOR, id="default-still-applies"),
        pytest.param("docs!: x", {"docs": Bump.NONE}, Bump.MAJOR, id="breaking-overrides"),
        pytest.param("feat!: x", {"feat": Bump.PATCH}, Bump.MAJOR, id="breaking-feat"),
    ],
)
def test_bump_of_follows_the_settings_then_the_defaults_and_breaking_is_always_major(
    message: str, settings: dict[str, Bump], bump: Bump
) -> None:
    notes = NotesSettings(bumps=bumps(settings))

    assert notes.bump_of(read_one(message)) is bump
    assert read_changes([c("one", message)], notes).bump is bump


def test_unconventional_commits_never_count_for_the_bump() -> None:
    changes = read_changes([c("a", "Add login"), c("b", "feat:x")], WITH_OTHERS)

    assert changes.bump is Bump.NONE
    assert not changes.releasable


# --- what goes where -------------------------------------------------------------------------


def test_conventional_and_unconventional_commits_are_kept_apart_in_order() -> None:
    commits = [
        c("5", "feat: e"),
        c("4", "wip"),
        c("3", "docs: c"),
        c("2", "fixup! feat: e"),
        c("1", "fix: a"),
    ]

    changes = read_changes(commits, DEFAULT)

    assert names(changes.changes) == [sha("5"), sha("3"), sha("1")]
    assert names(changes.unconventional) == [sha("4"), sha("2")]
    assert changes.cancelled == ()


@pytest.mark.parametrize(
    "merge",
    [
        pytest.param(c("m", "Merge branch 'feature/x'"), id="merge-branch-header"),
        pytest.param(c("m", "Merge pull request #1 from a/b\n\nfeat: x"), id="pull-request"),
        pytest.param(c("m", "feat: looks like a feature", parents=2), id="two-parents"),
        pytest.param(c("m", "Just merging", parents=3), id="octopus"),
        pytest.param(c("m", "", parents=2), id="empty-message"),
    ],
)
def test_merge_commits_are_neither_changes_nor_unconventional(merge: Commit) -> None:
    changes = read_changes([merge, c("f", "fix: a")], WITH_OTHERS)

    assert names(changes.changes) == [sha("f")]
    assert changes.unconventional == ()
    assert changes.cancelled == ()
    assert changes.bump is Bump.PATCH
    assert all(sha("m") not in names(s.entries) for s in changes.sections(WITH_OTHERS))


def test_ticket_references_use_the_project_keys_of_the_settings() -> None:
    settings = NotesSettings(ticket_prefixes=("PROJ",))

    changes = read_changes([c("a", "fix: PROJ-12 and OPS-3 (#4)")], settings)

    assert sorted(ref.text for ref in changes.changes[0].references) == ["#4", "PROJ-12"]


# --- reverts ---------------------------------------------------------------------------------


@pytest.mark.parametrize("short", [False, True], ids=["full-hash", "short-hash"])
def test_a_git_revert_of_a_commit_in_the_range_cancels_both(short: bool) -> None:
    feat = c("feat", "feat: login")
    revert = git_revert("revert", feat, short=short)

    changes = read_changes([revert, c("fix", "fix: b"), feat], DEFAULT)

    assert names(changes.changes) == [sha("fix")]
    assert sorted(names(changes.cancelled)) == sorted([sha("revert"), sha("feat")])
    assert changes.bump is Bump.PATCH


def test_a_conventional_revert_of_a_commit_in_the_range_cancels_both() -> None:
    feat = c("feat", "feat: login")
    revert = c("revert", f"revert: feat: login\n\nThis reverts commit {feat.hash}.")

    changes = read_changes([revert, feat], DEFAULT)

    assert changes.changes == ()
    assert sorted(names(changes.cancelled)) == sorted([sha("revert"), sha("feat")])
    assert changes.bump is Bump.NONE
    assert not changes.releasable


def test_a_cancelled_breaking_change_no_longer_bumps_major() -> None:
    breaking = c("breaking", "feat(api)!: drop v1")
    commits = [git_revert("revert", breaking), c("feat", "feat: b"), breaking]

    changes = read_changes(commits, DEFAULT)

    assert changes.bump is Bump.MINOR
    assert titles(changes) == ["Features"]


def test_cancelled_changes_appear_in_no_section() -> None:
    feat = c("feat", "feat: login")
    changes = read_changes([git_revert("revert", feat), feat, c("x", "wip")], WITH_OTHERS)

    listed = [name for s in changes.sections(WITH_OTHERS) for name in names(s.entries)]
    assert listed == [sha("x")]
    assert titles(changes, WITH_OTHERS) == [OTHER_CHANGES]


@pytest.mark.parametrize(
    "revert",
    [
        pytest.param(
            c("r", f'Revert "feat: old"\n\nThis reverts commit {sha("before-the-range")}.'),
            id="git-revert",
        ),
        pytest.param(
            c("r", f"revert: feat: old\n\nThis reverts commit {sha('before-the-range')}."),
            id="conventional-revert",
        ),
        pytest.param(c("r", "revert: feat: old"), id="conventional-revert-without-hash"),
    ],
)
def test_a_revert_of_a_commit_outside_the_range_stays_under_reverts_and_bumps_patch(
    revert: Commit,
) -> None:
    changes = read_changes([revert, c("d", "docs: x")], DEFAULT)

    assert names(changes.changes) == [sha("r"), sha("d")]
    assert changes.cancelled == ()
    assert changes.bump is Bump.PATCH
    sections = changes.sections(DEFAULT)
    assert [s.title for s in sections] == ["Reverts"]
    assert names(sections[0].entries) == [sha("r")]


def test_a_revert_of_a_revert_reapplies_the_change_as_a_feature() -> None:
    feat = c("a", "feat: x")
    revert = git_revert("b", feat)
    again = c("c", f'Revert "Revert "feat: x""\n\nThis reverts commit {revert.hash}.')

    changes = read_changes([again, revert, feat], DEFAULT)

    assert names(changes.changes) == [sha("c")]
    assert changes.changes[0].type == "feat"
    assert sorted(names(changes.cancelled)) == sorted([sha("a"), sha("b")])
    assert changes.bump is Bump.MINOR
    assert titles(changes) == ["Features"]


def test_a_reapplied_change_that_is_reverted_again_cancels_out() -> None:
    feat = c("a", "feat: x")
    revert = git_revert("b", feat)
    again = c("c", f'Revert "Revert "feat: x""\n\nThis reverts commit {revert.hash}.')
    third = c("d", f'Revert "Revert "Revert "feat: x"""\n\nThis reverts commit {again.hash}.')

    changes = read_changes([third, again, revert, feat], DEFAULT)

    assert changes.changes == ()
    assert changes.bump is Bump.NONE


def test_a_revert_of_an_unconventional_commit_in_the_range_does_not_count() -> None:
    update = c("u", "Update dependencies")
    revert = git_revert("r", update)

    changes = read_changes([revert, update], DEFAULT)

    assert sha("r") not in names(changes.changes)
    assert changes.bump is Bump.NONE


# --- sections --------------------------------------------------------------------------------

EVERYTHING = [
    c("docs", "docs: readme"),
    c("rev", f'Revert "feat: old"\n\nThis reverts commit {sha("elsewhere")}.'),
    c("perf", "perf: cache"),
    c("chore", "chore: tidy"),
    c("fix", "fix: crash"),
    c("wip", "wip"),
    c("feat2", "feat(api): paging"),
    c("breaking", "fix(db)!: new schema"),
    c("feat1", "feat: login"),
    c("style", "style: format"),
]


def test_sections_come_in_the_fixed_order_and_other_types_are_hidden() -> None:
    sections = read_changes(EVERYTHING, DEFAULT).sections(DEFAULT)

    assert [s.title for s in sections] == FIXED_TITLES
    assert [names(s.entries) for s in sections] == [
        [sha("breaking")],
        [sha("feat2"), sha("feat1")],
        [sha("fix")],
        [sha("perf")],
        [sha("rev")],
    ]


def test_the_fixed_sections_are_the_five_of_the_rules() -> None:
    assert [title for _, title in FIXED_SECTIONS] == FIXED_TITLES


def test_other_changes_come_last_and_only_with_include_unconventional() -> None:
    changes = read_changes(EVERYTHING, DEFAULT)

    sections = changes.sections(WITH_OTHERS)

    assert [s.title for s in sections] == [*FIXED_TITLES, OTHER_CHANGES]
    assert names(sections[-1].entries) == [sha("wip")]
    assert all(isinstance(entry, Unconventional) for entry in sections[-1].entries)


def test_configured_types_follow_the_fixed_sections_in_their_order() -> None:
    settings = NotesSettings(
        sections=(("style", "Style"), ("docs", "Documentation")), include_unconventional=True
    )

    sections = read_changes(EVERYTHING, settings).sections(settings)

    assert [s.title for s in sections] == [*FIXED_TITLES, "Style", "Documentation", OTHER_CHANGES]
    assert names(sections[5].entries) == [sha("style")]
    assert names(sections[6].entries) == [sha("docs")]


def test_a_configured_type_without_commits_has_no_section() -> None:
    settings = NotesSettings(sections=(("build", "Build"), ("docs", "Documentation")))

    sections = read_changes(EVERYTHING, settings).sections(settings)

    assert [s.title for s in sections] == [*FIXED_TITLES, "Documentation"]


@pytest.mark.parametrize(
    "message",
    [
        pytest.param("feat!: x", id="feat-bang"),
        pytest.param("feat(api): x\n\nBREAKING CHANGE: y", id="feat-footer"),
        pytest.param("fix!: x", id="fix-bang"),
        pytest.param("docs!: x", id="hidden-type"),
        pytest.param("perf(db)!: x", id="perf"),
    ],
)
def test_a_breaking_change_is_listed_once_under_breaking_changes(message: str) -> None:
    settings = NotesSettings(sections=(("docs", "Documentation"),))
    changes = read_changes([c("b", message)], settings)

    sections = changes.sections(settings)

    assert [s.title for s in sections] == ["Breaking changes"]
    assert names(sections[0].entries) == [sha("b")]


@pytest.mark.parametrize(
    ("messages", "expected"),
    [
        pytest.param(["fix: a"], ["Bug fixes"], id="fix-only"),
        pytest.param(["perf: a", "feat: b"], ["Features", "Performance"], id="order-not-input"),
        pytest.param(["docs: a", "chore: b"], [], id="hidden-only"),
        pytest.param(["wip", "docs: a"], [], id="unconventional-hidden-by-default"),
        pytest.param(["revert: fix: a"], ["Reverts"], id="revert-only"),
    ],
)
def test_only_non_empty_sections_are_listed(messages: list[str], expected: list[str]) -> None:
    changes = read_changes([c(str(n), m) for n, m in enumerate(messages)], DEFAULT)

    assert titles(changes) == expected


def test_no_other_changes_section_when_every_commit_is_conventional() -> None:
    changes = read_changes([c("a", "feat: a")], WITH_OTHERS)

    assert titles(changes, WITH_OTHERS) == ["Features"]


def test_a_type_that_bumps_but_has_no_section_is_releasable_without_notes() -> None:
    settings = NotesSettings(bumps=bumps({"docs": Bump.PATCH}))

    changes = read_changes([c("a", "docs: x")], settings)

    assert changes.bump is Bump.PATCH
    assert changes.sections(settings) == []


# --- properties ------------------------------------------------------------------------------

messages = st.sampled_from(
    [
        "feat: a",
        "feat(x)!: b",
        "fix: c",
        "perf: d",
        "docs: e",
        "chore: f",
        "revert: feat: g",
        "wip",
        "",
        "Merge branch 'x'",
        "fix: h\n\nBREAKING CHANGE: i",
    ]
)


@given(st.lists(messages, max_size=12))
def test_the_bump_is_the_largest_bump_of_the_kept_changes(texts: list[str]) -> None:
    commits = [c(str(n), text) for n, text in enumerate(texts)]

    changes = read_changes(commits, WITH_OTHERS)

    assert changes.bump == max(map(DEFAULT.bump_of, changes.changes), default=Bump.NONE)
    assert len(changes.changes) + len(changes.unconventional) + texts.count("Merge branch 'x'") == (
        len(texts)
    )
    listed = sum(len(s.entries) for s in changes.sections(WITH_OTHERS))
    hidden = sum(1 for ch in changes.changes if ch.type in ("docs", "chore") and not ch.breaking)
    assert listed + hidden == len(changes.changes) + len(changes.unconventional)


@given(st.lists(st.sampled_from(["feat: a", "fix: b", "docs: c", "perf: d"]), max_size=6))
def test_reverting_every_commit_of_a_range_leaves_nothing(texts: list[str]) -> None:
    originals = [c(f"o{n}", text) for n, text in enumerate(texts)]
    reverts = [git_revert(f"r{n}", commit) for n, commit in enumerate(originals)]

    changes = read_changes([*reversed(reverts), *reversed(originals)], DEFAULT)

    assert changes.changes == ()
    assert len(changes.cancelled) == 2 * len(texts)
    assert changes.bump is Bump.NONE


# --- tag formats -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tag_format", "service", "prefix", "suffix"),
    [
        pytest.param("v{version}", None, "v", "", id="v"),
        pytest.param("{version}", None, "", "", id="bare"),
        pytest.param("{service}-v{version}", "api", "api-v", "", id="service"),
        pytest.param("{service}/{version}", "web", "web/", "", id="service-slash"),
        pytest.param("release-{version}-final", None, "release-", "-final", id="suffix"),
        pytest.param("v{version}", "api", "v", "", id="service-unused"),
    ],
)
def test_a_tag_format_splits_into_prefix_and_suffix(
    tag_format: str, service: str | None, prefix: str, suffix: str
) -> None:
    assert TagFormat.of(tag_format, service) == TagFormat(prefix, suffix)


@pytest.mark.parametrize("service", [None, ""])
def test_a_format_naming_the_service_needs_one(service: str | None) -> None:
    with pytest.raises(InvalidInput, match="--service") as caught:
        TagFormat.of("{service}-v{version}", service)

    assert caught.value.details == {"tag_format": "{service}-v{version}"}


@pytest.mark.parametrize("tag_format", ["v", "", "{service}-v", "v{Version}", "v{ version }"])
def test_a_format_without_the_version_is_refused(tag_format: str) -> None:
    with pytest.raises(InvalidInput, match="lacks \\{version\\}"):
        TagFormat.of(tag_format, "api")


@pytest.mark.parametrize(
    ("tag_format", "service", "version", "name"),
    [
        pytest.param("v{version}", None, "1.2.3", "v1.2.3", id="v"),
        pytest.param("{service}-v{version}", "api", "1.2.3-rc.1", "api-v1.2.3-rc.1", id="service"),
        pytest.param(
            "release-{version}-final", None, "1.0.0+b.7", "release-1.0.0+b.7-final", id="suffix"
        ),
    ],
)
def test_a_tag_name_is_prefix_version_suffix(
    tag_format: str, service: str | None, version: str, name: str
) -> None:
    assert TagFormat.of(tag_format, service).name(parse_version(version)) == name


@pytest.mark.parametrize(
    ("tag_format", "service", "name", "version"),
    [
        pytest.param("v{version}", None, "v1.2.3", "1.2.3", id="release"),
        pytest.param("v{version}", None, "v1.2.3-rc.1", "1.2.3-rc.1", id="prerelease"),
        pytest.param("v{version}", None, "v1.2.3+build.5", "1.2.3+build.5", id="build"),
        pytest.param("v{version}", None, "1.2.3", None, id="missing-prefix"),
        pytest.param("v{version}", None, "vv1.2.3", None, id="doubled-prefix"),
        pytest.param("v{version}", None, "v", None, id="prefix-only"),
        pytest.param("v{version}", None, "v1.2", None, id="two-numbers"),
        pytest.param("v{version}", None, "v1.2.3.4", None, id="four-numbers"),
        pytest.param("v{version}", None, "v01.2.3", None, id="leading-zero"),
        pytest.param("v{version}", None, "v1.2.3-", None, id="dangling-dash"),
        pytest.param("v{version}", None, "version-1", None, id="word"),
        pytest.param("v{version}", None, "api-v1.2.3", None, id="other-service"),
        pytest.param("{version}", None, "1.2.3", "1.2.3", id="bare"),
        pytest.param("{version}", None, "latest", None, id="bare-word"),
        pytest.param("{service}-v{version}", "api", "api-v1.0.0", "1.0.0", id="service"),
        pytest.param("{service}-v{version}", "api", "web-v1.0.0", None, id="another-service"),
        pytest.param("{service}-v{version}", "api", "api-gateway-v1.0.0", None, id="longer-name"),
        pytest.param("{service}-v{version}", "api", "v1.0.0", None, id="plain-v"),
        pytest.param("{service}-{version}", "api", "api-v2-1.0.0", None, id="service-api-v2"),
        pytest.param("release-{version}-final", None, "release-1.0.0-final", "1.0.0", id="suffix"),
        pytest.param("release-{version}-final", None, "release-1.0.0", None, id="no-suffix"),
        pytest.param(
            "release-{version}-final", None, "release--final", None, id="suffix-empty-version"
        ),
    ],
)
def test_version_of_reads_only_names_of_this_format(
    tag_format: str, service: str | None, name: str, version: str | None
) -> None:
    read = TagFormat.of(tag_format, service).version_of(name)

    if version is None:
        assert read is None
    else:
        assert read is not None
        assert str(read) == version


tag_formats = st.sampled_from(
    [("v{version}", None), ("{service}-v{version}", "api"), ("rel/{version}-x", None)]
)
versions = st.builds(
    Version,
    st.integers(0, 10**6),
    st.integers(0, 10**6),
    st.integers(0, 10**6),
    st.one_of(st.just(()), st.tuples(st.sampled_from(["rc", "beta"]), st.integers(1, 99).map(str))),
    st.one_of(st.just(()), st.tuples(st.sampled_from(["b1", "sha", "0a"]))),
)


@given(tag_formats, versions)
def test_version_of_reads_back_what_name_writes(
    tag_format: tuple[str, str | None], version: Version
) -> None:
    format_ = TagFormat.of(*tag_format)

    read = format_.version_of(format_.name(version))

    assert read is not None
    assert str(read) == str(version)
