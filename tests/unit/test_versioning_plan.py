import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from relman.domain.commits import Commit
from relman.domain.notes import NotesSettings
from relman.domain.versions import Bump, Version, parse_version
from relman.errors import InvalidInput, NothingToRelease
from relman.services.versioning import (
    History,
    NotesRange,
    ReleasePlan,
    VersionRules,
    notes_range,
    plan_release,
)
from relman.testing import FakeHistory

RULES = VersionRules()
NOTES = NotesSettings()


def repo(*entries: str | tuple[str, ...]) -> FakeHistory:
    """`repo("feat: a", ("fix: b", "v1.0.0"))`: commits oldest first, each with its tags."""
    history = FakeHistory()
    for entry in entries:
        message, *tags = (entry,) if isinstance(entry, str) else entry
        history.add(message, *tags)
    return history


def plan(
    history: History,
    rules: VersionRules = RULES,
    settings: NotesSettings = NOTES,
    *,
    head: str = "HEAD",
    pre: str | None = None,
    use_head_tag: bool = False,
) -> ReleasePlan:
    return plan_release(history, rules, settings, head=head, pre=pre, use_head_tag=use_head_tag)


def messages(commits: tuple[Commit, ...]) -> list[str]:
    return [commit.message for commit in commits]


def v(text: str) -> Version:
    return parse_version(text)


# --- the fake --------------------------------------------------------------------------------


def test_the_fake_answers_like_a_repository() -> None:
    history = repo("a", ("b", "v1.0.0"), "c")
    fake: History = history  # the fake satisfies the protocol

    assert fake.resolve("v1.0.0") == history.log[1].hash
    assert [t.name for t in fake.tags(RULES.tags, merged_into=history.log[0].hash)] == []
    assert messages(tuple(fake.commits("v1.0.0", "HEAD"))) == ["c"]
    assert messages(tuple(fake.commits(None, "v1.0.0"))) == ["b", "a"]


# --- the first release -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "log",
    [
        pytest.param(["fix: a"], id="fix"),
        pytest.param(["feat: a", "fix: b"], id="feat"),
        pytest.param(["feat!: a"], id="breaking"),
        pytest.param(["wip", "docs: x", "perf: y"], id="perf-among-others"),
    ],
)
def test_without_a_tag_the_first_release_is_the_initial_version(log: list[str]) -> None:
    history = repo(*log)

    result = plan(history)

    assert result.version == v("0.1.0")
    assert result.previous is None
    assert result.head == history.log[-1].hash
    assert messages(result.commits) == list(reversed(log))
    assert not result.tagged
    assert history.asked == [(None, history.log[-1].hash, ())]


def test_the_initial_version_comes_from_the_rules() -> None:
    rules = VersionRules(initial_version=v("1.0.0"))

    assert plan(repo("feat!: a"), rules).version == v("1.0.0")


def test_a_first_prerelease_numbers_the_initial_version() -> None:
    assert str(plan(repo("feat: a"), pre="rc").version) == "0.1.0-rc.1"


@pytest.mark.parametrize(
    "log",
    [
        pytest.param(["docs: a", "chore: b"], id="docs-and-chore"),
        pytest.param(["Initial commit"], id="unconventional"),
        pytest.param(["Merge branch 'x'"], id="merge"),
        pytest.param(["", "fixup! feat: x"], id="empty-and-fixup"),
    ],
)
def test_without_a_tag_and_without_a_releasable_commit_there_is_nothing_to_release(
    log: list[str],
) -> None:
    with pytest.raises(NothingToRelease) as caught:
        plan(repo(*log))

    assert caught.value.details == {"previous_tag": None, "commits": len(log)}
    assert "in the history" in caught.value.message


# --- the next release ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("since", "expected", "bump"),
    [
        pytest.param(["fix: a"], "1.2.4", Bump.PATCH, id="fix"),
        pytest.param(["perf: a"], "1.2.4", Bump.PATCH, id="perf"),
        pytest.param(["revert: feat: old"], "1.2.4", Bump.PATCH, id="revert"),
        pytest.param(["docs: a", "fix: b", "chore: c"], "1.2.4", Bump.PATCH, id="fix-among-others"),
        pytest.param(["fix: a", "feat: b"], "1.3.0", Bump.MINOR, id="feat"),
        pytest.param(["feat: a", "fix(api)!: b"], "2.0.0", Bump.MAJOR, id="breaking-bang"),
        pytest.param(["chore: a\n\nBREAKING CHANGE: b"], "2.0.0", Bump.MAJOR, id="breaking-footer"),
    ],
)
def test_the_next_release_bumps_the_last_release_by_the_largest_change(
    since: list[str], expected: str, bump: Bump
) -> None:
    history = repo("feat!: old", ("fix: older", "v1.2.3"), *since)

    result = plan(history)

    assert str(result.version) == expected
    assert result.previous is not None
    assert result.previous.name == "v1.2.3"
    assert result.previous.version == v("1.2.3")
    assert messages(result.commits) == list(reversed(since))
    assert result.changes.bump is bump
    assert not result.tagged
    assert history.asked == [(history.tag_at["v1.2.3"], history.log[-1].hash, ())]


@pytest.mark.parametrize(
    "since",
    [
        pytest.param([], id="head-is-the-release"),
        pytest.param(["docs: a", "chore: b", "test: c"], id="no-releasable-type"),
        pytest.param(["Update readme", "wip"], id="unconventional"),
        pytest.param(["Merge branch 'feature/x'"], id="merge"),
        pytest.param(["feat: a", 'Revert "feat: a"\n\nThis reverts commit {a}.'], id="reverted"),
    ],
)
def test_without_a_releasable_commit_since_the_last_release_there_is_nothing_to_release(
    since: list[str],
) -> None:
    history = repo("feat: old", ("fix: older", "v1.2.3"))
    for message in since:
        history.add(message.format(a=history.log[-1].hash))

    with pytest.raises(NothingToRelease) as caught:
        plan(history)

    assert caught.value.details == {"previous_tag": "v1.2.3", "commits": len(since)}
    assert "since v1.2.3" in caught.value.message


def test_the_base_is_the_highest_stable_tag_by_precedence_not_by_name() -> None:
    history = repo(("feat: a", "v1.9.0"), ("fix: b", "v1.10.0"), "fix: c")

    result = plan(history)

    assert result.previous is not None
    assert result.previous.name == "v1.10.0"
    assert result.version == v("1.10.1")
    assert messages(result.commits) == ["fix: c"]


def test_the_base_is_the_highest_stable_tag_even_on_an_older_commit() -> None:
    history = repo(("feat: a", "v2.0.0"), ("fix: b", "v1.5.0"), "fix: c")

    result = plan(history)

    assert result.previous is not None
    assert result.previous.name == "v2.0.0"
    assert result.version == v("2.0.1")
    assert messages(result.commits) == ["fix: c", "fix: b"]


@pytest.mark.parametrize(
    "pre_tags",
    [
        pytest.param(["v1.1.0-rc.1"], id="rc-of-the-next"),
        pytest.param(["v1.1.0-rc.1", "v1.1.0-rc.2"], id="two-rcs"),
        pytest.param(["v2.0.0-alpha.1"], id="higher-prerelease"),
    ],
)
def test_prerelease_tags_never_serve_as_the_base(pre_tags: list[str]) -> None:
    history = repo(("feat: a", "v1.0.0"), ("feat: b", *pre_tags), "fix: c")

    result = plan(history)

    assert result.previous is not None
    assert result.previous.name == "v1.0.0"
    assert result.version == v("1.1.0")
    assert messages(result.commits) == ["fix: c", "feat: b"]


def test_with_only_prerelease_tags_the_whole_history_makes_the_initial_version() -> None:
    history = repo(("feat: a", "v0.1.0-rc.1"), "fix: b")

    result = plan(history)

    assert result.previous is None
    assert result.version == v("0.1.0")
    assert messages(result.commits) == ["fix: b", "feat: a"]


def test_a_head_tagged_as_a_prerelease_is_released_in_full() -> None:
    history = repo(("feat: a", "v1.0.0"), ("feat: b", "v1.1.0-rc.1"))

    result = plan(history)

    assert result.version == v("1.1.0")
    assert not result.tagged


def test_tags_not_reachable_from_the_head_are_ignored() -> None:
    history = repo(("feat: a", "v1.0.0"), "fix: b", ("feat: c", "v1.1.0"), "fix: d")

    result = plan(history, head=history.log[1].hash)

    assert result.previous is not None
    assert result.previous.name == "v1.0.0"
    assert result.version == v("1.0.1")
    assert result.head == history.log[1].hash
    assert messages(result.commits) == ["fix: b"]


def test_tags_of_another_format_or_service_are_ignored() -> None:
    history = repo(
        ("feat: a", "api-v1.0.0"),
        ("feat: b", "web-v3.0.0", "v9.0.0", "api-gateway-v5.0.0", "api-vnext"),
        "fix: c",
    )
    rules = VersionRules(service="api", tag_format="{service}-v{version}")

    result = plan(history, rules)

    assert result.previous is not None
    assert result.previous.name == "api-v1.0.0"
    assert result.version == v("1.1.0")


def test_the_paths_of_the_rules_are_passed_to_the_history() -> None:
    history = repo(("feat: a", "v1.0.0"), "fix: b")
    rules = VersionRules(paths=("services/api", "libs/common"))

    plan(history, rules)

    assert history.asked == [
        (history.tag_at["v1.0.0"], history.log[-1].hash, ("services/api", "libs/common"))
    ]


@pytest.mark.parametrize(
    ("change", "pre_major", "expected"),
    [
        pytest.param("feat!: a", "major", "1.0.0", id="major:breaking"),
        pytest.param("feat: a", "major", "0.4.0", id="major:feat"),
        pytest.param("fix: a", "major", "0.3.1", id="major:fix"),
        pytest.param("feat!: a", "minor", "0.4.0", id="minor:breaking"),
        pytest.param("feat: a", "minor", "0.3.1", id="minor:feat"),
        pytest.param("fix: a", "minor", "0.3.1", id="minor:fix"),
    ],
)
def test_before_1_0_0_the_rules_say_what_a_breaking_change_does(
    change: str, pre_major: str, expected: str
) -> None:
    history = repo(("feat: a", "v0.3.0"), change)

    assert str(plan(history, VersionRules(pre_major=pre_major)).version) == expected


def test_the_settings_bumps_count() -> None:
    history = repo(("feat: a", "v1.0.0"), "docs: b")
    settings = NotesSettings(bumps={"docs": Bump.PATCH})

    assert plan(history, settings=settings).version == v("1.0.1")


# --- pre-releases ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tags", "label", "expected"),
    [
        pytest.param([], "rc", "1.1.0-rc.1", id="first"),
        pytest.param(["v1.1.0-rc.1"], "rc", "1.1.0-rc.2", id="second"),
        pytest.param(["v1.1.0-rc.1", "v1.1.0-rc.3"], "rc", "1.1.0-rc.4", id="after-a-gap"),
        pytest.param(["v1.1.0-beta.4"], "rc", "1.1.0-rc.1", id="other-label"),
        pytest.param(["v1.1.0-beta.4"], "beta", "1.1.0-beta.5", id="beta"),
        pytest.param(["v1.0.0-rc.7"], "rc", "1.1.0-rc.1", id="other-core"),
    ],
)
def test_a_prerelease_numbers_the_next_version(tags: list[str], label: str, expected: str) -> None:
    history = repo("feat: a")
    for name in tags:
        history.tag(name)
    history.add("fix: b", "v1.0.0")
    history.add("feat: c")

    result = plan(history, pre=label)

    assert str(result.version) == expected
    assert result.previous is not None
    assert result.previous.name == "v1.0.0"
    assert not result.tagged


def test_a_prerelease_after_an_earlier_one_covers_everything_since_the_release() -> None:
    history = repo(("feat: a", "v1.0.0"), ("feat: b", "v1.1.0-rc.1"), "fix: c")

    result = plan(history, pre="rc")

    assert result.version == v("1.1.0-rc.2")
    assert messages(result.commits) == ["fix: c", "feat: b"]


def test_a_head_already_carrying_a_prerelease_of_that_core_has_nothing_to_release() -> None:
    head_tag = "v1.1.0-rc.2"
    history = repo(("feat: a", "v1.0.0"), ("feat: b", "v1.1.0-rc.1"), ("fix: c", head_tag))

    with pytest.raises(NothingToRelease) as caught:
        plan(history, pre="rc")

    assert caught.value.details == {"tag": head_tag}
    assert head_tag in caught.value.message


def test_a_prerelease_with_nothing_releasable_is_nothing_to_release() -> None:
    history = repo(("feat: a", "v1.0.0"), "docs: b")

    with pytest.raises(NothingToRelease):
        plan(history, pre="rc")


# --- the head's own tag ----------------------------------------------------------------------


def test_use_head_tag_returns_the_release_the_head_already_carries() -> None:
    history = repo("feat: old", ("fix: a", "v1.0.0"), "feat: b", ("fix: c", "v1.1.0"))

    result = plan(history, use_head_tag=True)

    assert result.version == v("1.1.0")
    assert result.tagged
    assert result.previous is not None
    assert result.previous.name == "v1.0.0"
    assert messages(result.commits) == ["fix: c", "feat: b"]
    assert result.changes.bump is Bump.MINOR
    assert history.asked == [(history.tag_at["v1.0.0"], history.log[-1].hash, ())]


@pytest.mark.parametrize(
    ("head_tags", "expected"),
    [
        pytest.param(["v1.1.0-rc.1"], "1.1.0-rc.1", id="prerelease"),
        pytest.param(["v1.1.0-rc.2", "v1.1.0"], "1.1.0-rc.2", id="rc-and-release"),
        pytest.param(["v1.1.0-rc.1", "v1.1.0-rc.2"], "1.1.0-rc.2", id="two-rcs"),
    ],
)
def test_use_head_tag_takes_the_highest_head_tag_of_the_kind_asked_for(
    head_tags: list[str], expected: str
) -> None:
    history = repo(("feat: a", "v1.0.0"), ("feat: b", "v1.1.0-rc.0"), ("fix: c", *head_tags))

    result = plan(history, pre="rc", use_head_tag=True)

    assert str(result.version) == expected
    assert result.tagged
    assert result.previous is not None
    assert result.previous.name == "v1.0.0"
    assert messages(result.commits) == ["fix: c", "feat: b"]


def test_use_head_tag_on_the_first_release_counts_the_whole_history() -> None:
    history = repo("feat: a", ("fix: b", "v0.1.0"))

    result = plan(history, use_head_tag=True)

    assert result.version == v("0.1.0")
    assert result.tagged
    assert result.previous is None
    assert messages(result.commits) == ["fix: b", "feat: a"]


def test_use_head_tag_without_a_head_tag_plans_the_next_release() -> None:
    history = repo(("feat: a", "v1.0.0"), "feat: b")

    result = plan(history, use_head_tag=True)

    assert result.version == v("1.1.0")
    assert not result.tagged


def test_use_head_tag_ignores_tags_of_another_format_on_the_head() -> None:
    history = repo(("feat: a", "v1.0.0"), ("fix: b", "web-v7.0.0"))

    result = plan(history, use_head_tag=True)

    assert result.version == v("1.0.1")
    assert not result.tagged


def test_without_use_head_tag_a_released_head_has_nothing_to_release() -> None:
    history = repo(("feat: a", "v1.0.0"), ("feat: b", "v1.1.0"))

    with pytest.raises(NothingToRelease):
        plan(history)


def test_a_plan_reads_as_plain_data() -> None:
    history = repo(("feat: a", "v1.0.0"), "fix: b", "feat: c")

    data = json.loads(json.dumps(plan(history).to_dict()))

    assert data == {
        "version": "1.1.0",
        "previous_version": "1.0.0",
        "previous_tag": "v1.0.0",
        "head": history.log[-1].hash,
        "commits": 2,
        "bump": "minor",
    }


# --- notes_range -----------------------------------------------------------------------------


def notes(
    history: History,
    *,
    since: str | None = None,
    until: str = "HEAD",
    whole: bool = False,
    rules: VersionRules = RULES,
) -> NotesRange:
    return notes_range(history, rules, NOTES, since=since, until=until, whole=whole)


def test_notes_by_default_cover_the_commits_since_the_last_release() -> None:
    history = repo(("feat: a", "v1.0.0"), ("feat: b", "v1.1.0-rc.1"), "fix: c")

    found = notes(history)

    assert found.since == "v1.0.0"
    assert found.until == "HEAD"
    assert messages(found.commits) == ["fix: c", "feat: b"]
    assert found.version == v("1.1.0")
    assert found.changes.bump is Bump.MINOR


@pytest.mark.parametrize(
    ("until", "expected", "since", "count"),
    [
        pytest.param("v1.1.0", "1.1.0", "v1.0.0", 2, id="release"),
        pytest.param("v1.1.0-rc.1", "1.1.0-rc.1", "v1.0.0", 1, id="prerelease"),
        pytest.param("v1.0.0", "1.0.0", None, 1, id="first-release"),
    ],
)
def test_notes_up_to_a_release_tag_carry_its_version_and_start_at_the_release_below(
    until: str, expected: str, since: str | None, count: int
) -> None:
    history = repo(("feat: a", "v1.0.0"), ("feat: b", "v1.1.0-rc.1"), ("fix: c", "v1.1.0"), "d")

    found = notes(history, until=until)

    assert str(found.version) == expected
    assert found.since == since
    assert found.until == until
    assert len(found.commits) == count


def test_notes_without_any_tag_cover_the_history_and_make_the_initial_version() -> None:
    history = repo("feat: a", "fix: b")

    found = notes(history)

    assert found.since is None
    assert messages(found.commits) == ["fix: b", "feat: a"]
    assert found.version == v("0.1.0")


@pytest.mark.parametrize(
    "log",
    [
        pytest.param([("feat: a", "v1.0.0"), "docs: b"], id="since-a-release"),
        pytest.param(["docs: a"], id="no-tag"),
    ],
)
def test_notes_with_nothing_releasable_have_no_version(log: list[str | tuple[str, ...]]) -> None:
    found = notes(repo(*log))

    assert found.version is None
    assert not found.changes.releasable


def test_whole_notes_cover_every_commit() -> None:
    history = repo(("feat: a", "v1.0.0"), "fix: b")

    found = notes(history, whole=True)

    assert found.since is None
    assert messages(found.commits) == ["fix: b", "feat: a"]
    assert found.version is None  # neither a tag at the head nor a range from a release


def test_whole_notes_up_to_a_tag_carry_its_version() -> None:
    history = repo(("feat: a", "v1.0.0"), ("fix: b", "v1.0.1"))

    assert notes(history, whole=True).version == v("1.0.1")


def test_notes_since_a_release_tag_make_the_next_version() -> None:
    history = repo(("feat: a", "v1.0.0"), "feat: b", "fix: c")

    found = notes(history, since="v1.0.0")

    assert found.since == "v1.0.0"
    assert messages(found.commits) == ["fix: c", "feat: b"]
    assert found.version == v("1.1.0")


@pytest.mark.parametrize(
    ("change", "commits"),
    [
        pytest.param("feat: c", ["feat: c"], id="feat"),
        pytest.param("fix: c", ["fix: c"], id="fix"),
    ],
)
def test_notes_since_a_prerelease_tag_do_not_take_it_as_the_base_of_the_version(
    change: str, commits: list[str]
) -> None:
    history = repo(("feat: a", "v1.0.0"), ("feat: b", "v1.1.0-rc.1"), change)

    found = notes(history, since="v1.1.0-rc.1")

    assert messages(found.commits) == commits
    # The release these commits go into is 1.1.0 (what plan_release says); unknown is acceptable.
    assert plan(history).version == v("1.1.0")
    assert found.version in (None, v("1.1.0"))


def test_notes_since_a_commit_that_is_not_a_release_have_no_version() -> None:
    history = repo(("feat: a", "v1.0.0"), "feat: b", "fix: c")

    found = notes(history, since=history.log[1].hash)

    assert messages(found.commits) == ["fix: c"]
    assert found.version is None


def test_notes_since_an_unknown_ref_fail_naming_it() -> None:
    history = repo(("feat: a", "v1.0.0"), "fix: b")

    with pytest.raises(InvalidInput, match="'nope'"):
        notes(history, since="nope")


def test_notes_use_the_tag_format_and_paths_of_the_rules() -> None:
    history = repo(("feat: a", "web-v2.0.0", "v9.0.0"), "fix: b")
    rules = VersionRules(service="web", tag_format="{service}-v{version}", paths=("web",))

    found = notes(history, rules=rules)

    assert found.since == "web-v2.0.0"
    assert found.version == v("2.0.1")
    assert history.asked == [(history.tag_at["web-v2.0.0"], history.log[-1].hash, ("web",))]


# --- a release process, simulated ------------------------------------------------------------

steps = st.lists(
    st.one_of(
        st.sampled_from(
            ["feat: a", "fix: b", "perf: c", "docs: d", "feat(api)!: e", "wip", "Merge branch 'x'"]
        ).map(lambda message: ("commit", message)),
        st.sampled_from(["rc", "beta", ""]).map(lambda label: ("release", label)),
    ),
    max_size=25,
)


@settings(deadline=None)
@given(steps, st.sampled_from(["major", "minor"]))
def test_each_release_of_a_straight_history_is_above_every_earlier_tag_of_its_kind(
    actions: list[tuple[str, str]], pre_major: str
) -> None:
    """Above every release and every pre-release of the same label (a switch from rc back to
    beta may go lower, as labels are counted apart)."""
    rules = VersionRules(pre_major=pre_major)
    history = FakeHistory()
    history.add("chore: init")
    for action, value in actions:
        if action == "commit":
            history.add(value)
            continue
        label = value or None
        try:
            result = plan(history, rules, pre=label)
        except NothingToRelease:
            continue
        earlier = [tag.version for tag in history.tags(rules.tags, merged_into=result.head)]
        assert result.version not in earlier
        assert all(
            result.version > version
            for version in earlier
            if not version.is_prerelease or version.prerelease[0] == label
        )
        assert result.version.is_prerelease == (label is not None)
        history.tag(rules.tags.name(result.version))

        again = plan(history, rules, pre=label, use_head_tag=True)
        assert (again.version, again.tagged) == (result.version, True)
        assert again.previous == result.previous
        with pytest.raises(NothingToRelease):
            plan(history, rules, pre=label)


def test_use_head_tag_without_pre_ignores_a_prerelease_tag_on_the_head() -> None:
    """The rc on the head is not the release asked for: the stable version is computed."""
    history = repo(("feat: a", "v1.0.0"), ("feat: b", "v1.1.0-rc.1"))

    result = plan(history, use_head_tag=True)

    assert str(result.version) == "1.1.0"
    assert not result.tagged


@pytest.mark.parametrize(
    ("history", "pre_major", "step", "version"),
    [
        pytest.param(["feat: a"], "major", "initial", "0.1.0", id="no-tag"),
        pytest.param(
            [("feat: a", "v0.3.2"), "feat!: b"], "minor", "minor", "0.4.0", id="pre-major"
        ),
        pytest.param([("feat: a", "v0.3.2"), "feat!: b"], "major", "major", "1.0.0", id="to-1.0"),
        pytest.param([("feat: a", "v1.3.2"), "fix: b"], "major", "patch", "1.3.3", id="patch"),
    ],
)
def test_the_step_says_what_the_version_did_not_what_the_commits_asked(
    history: list[str | tuple[str, ...]], pre_major: str, step: str, version: str
) -> None:
    rules = VersionRules(pre_major=pre_major)
    result = plan_release(repo(*history), rules, NotesSettings())

    assert (str(result.version), result.step) == (version, step)
    assert result.to_dict()["bump"] == step


def test_a_shallow_history_without_a_release_tag_is_refused_and_one_with_it_is_read() -> None:
    without = repo("feat: a", "fix: b")
    without.shallow = True
    with pytest.raises(InvalidInput, match=r"shallow clone and no release tag like v1\.4\.0"):
        plan(without)
    with pytest.raises(InvalidInput, match="git fetch --unshallow --tags"):
        notes_range(without, RULES, NOTES, since=None, until="HEAD", whole=True)

    tagged = repo(("feat: a", "v1.0.0"), "fix: b")
    tagged.shallow = True
    assert str(plan(tagged).version) == "1.0.1"


def test_a_prerelease_of_another_label_is_not_stopped_by_an_rc_tag_on_the_head() -> None:
    history = repo(("feat: a", "v1.0.0"), ("feat: b", "v1.1.0-rc.1"))

    assert str(plan(history, pre="beta").version) == "1.1.0-beta.1"
    with pytest.raises(NothingToRelease, match=r"already tagged v1\.1\.0-rc\.1"):
        plan(history, pre="rc")


def test_a_shallow_checkout_of_a_tagged_head_without_the_release_before_is_refused() -> None:
    """A job run on a tag push fetches one commit: the notes would miss everything since the
    release before."""
    history = repo(("feat: a", "v0.1.0"), "feat: b", ("fix: c", "v0.2.0"))
    history.shallow = True
    history.tag_at.pop("v0.1.0")  # what a one-commit clone of v0.2.0 holds

    with pytest.raises(InvalidInput, match="shallow clone"):
        plan(history, use_head_tag=True)
