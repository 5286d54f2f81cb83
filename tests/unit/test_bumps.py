"""Bumps, next versions and pre-release numbering (parsing and precedence: test_versions.py)."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from relman.domain.versions import (
    PRE_MAJOR,
    Bump,
    Version,
    bump_version,
    check_prerelease_label,
    next_prerelease,
    parse_version,
)
from relman.errors import InvalidInput


def v(text: str) -> Version:
    return parse_version(text)


# --- Bump ------------------------------------------------------------------------------------


def test_bumps_are_ordered_so_the_largest_wins() -> None:
    assert Bump.NONE < Bump.PATCH < Bump.MINOR < Bump.MAJOR
    assert max([Bump.PATCH, Bump.MAJOR, Bump.MINOR]) is Bump.MAJOR
    assert max([], default=Bump.NONE) is Bump.NONE


def test_the_pre_major_choices_are_major_and_minor() -> None:
    assert PRE_MAJOR == ("major", "minor")


# --- bump_version ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("current", "bump", "expected"),
    [
        pytest.param("1.2.3", Bump.NONE, "1.2.3", id="none"),
        pytest.param("1.2.3", Bump.PATCH, "1.2.4", id="patch"),
        pytest.param("1.2.3", Bump.MINOR, "1.3.0", id="minor-resets-patch"),
        pytest.param("1.2.3", Bump.MAJOR, "2.0.0", id="major-resets-minor-and-patch"),
        pytest.param("1.9.9", Bump.PATCH, "1.9.10", id="patch-past-nine"),
        pytest.param("1.9.0", Bump.MINOR, "1.10.0", id="minor-past-nine"),
        pytest.param("9.0.0", Bump.MAJOR, "10.0.0", id="major-past-nine"),
        pytest.param("0.0.0", Bump.PATCH, "0.0.1", id="zero-patch"),
        pytest.param("1.2.3+build.7", Bump.PATCH, "1.2.4", id="build-metadata-dropped"),
        pytest.param("1.2.3+build.7", Bump.NONE, "1.2.3", id="none-drops-build-metadata"),
    ],
)
def test_a_bump_moves_the_version_as_semver_says(current: str, bump: Bump, expected: str) -> None:
    result = bump_version(v(current), bump)

    assert str(result) == expected


@pytest.mark.parametrize(
    ("current", "bump", "pre_major", "expected"),
    [
        pytest.param("0.3.2", Bump.MAJOR, "major", "1.0.0", id="major:breaking-to-1.0.0"),
        pytest.param("0.0.7", Bump.MAJOR, "major", "1.0.0", id="major:breaking-from-0.0.z"),
        pytest.param("0.3.2", Bump.MINOR, "major", "0.4.0", id="major:feat-minor"),
        pytest.param("0.3.2", Bump.PATCH, "major", "0.3.3", id="major:fix-patch"),
        pytest.param("0.3.2", Bump.NONE, "major", "0.3.2", id="major:none"),
        pytest.param("0.3.2", Bump.MAJOR, "minor", "0.4.0", id="minor:breaking-to-minor"),
        pytest.param("0.0.7", Bump.MAJOR, "minor", "0.1.0", id="minor:breaking-from-0.0.z"),
        pytest.param("0.3.2", Bump.MINOR, "minor", "0.3.3", id="minor:feat-to-patch"),
        pytest.param("0.3.2", Bump.PATCH, "minor", "0.3.3", id="minor:fix-patch"),
        pytest.param("0.3.2", Bump.NONE, "minor", "0.3.2", id="minor:none"),
        pytest.param("1.3.2", Bump.MAJOR, "minor", "2.0.0", id="minor:no-effect-after-1.0"),
        pytest.param("1.3.2", Bump.MINOR, "minor", "1.4.0", id="minor:feat-after-1.0"),
        pytest.param("1.3.2", Bump.MAJOR, "major", "2.0.0", id="major:after-1.0"),
    ],
)
def test_before_1_0_0_pre_major_says_what_a_breaking_change_does(
    current: str, bump: Bump, pre_major: str, expected: str
) -> None:
    assert str(bump_version(v(current), bump, pre_major=pre_major)) == expected


def test_pre_major_defaults_to_major() -> None:
    assert bump_version(v("0.3.2"), Bump.MAJOR) == v("1.0.0")


# --- next_prerelease -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("label", "existing", "expected"),
    [
        pytest.param("rc", [], "1.2.0-rc.1", id="first"),
        pytest.param("rc", ["1.2.0-rc.1"], "1.2.0-rc.2", id="second"),
        pytest.param("rc", ["1.2.0-rc.1", "1.2.0-rc.2"], "1.2.0-rc.3", id="third"),
        pytest.param("rc", ["1.2.0-rc.2"], "1.2.0-rc.3", id="after-a-gap"),
        pytest.param("rc", ["1.2.0-rc.9", "1.2.0-rc.10"], "1.2.0-rc.11", id="numeric-not-text"),
        pytest.param("rc", ["1.2.0-rc.10", "1.2.0-rc.9"], "1.2.0-rc.11", id="any-order"),
        pytest.param("rc", ["1.1.0-rc.5", "1.3.0-rc.2"], "1.2.0-rc.1", id="other-cores"),
        pytest.param("rc", ["2.2.0-rc.5", "1.2.1-rc.2"], "1.2.0-rc.1", id="other-major-patch"),
        pytest.param("rc", ["1.2.0-beta.4"], "1.2.0-rc.1", id="other-label"),
        pytest.param("rc", ["1.2.0-RC.4"], "1.2.0-rc.1", id="label-case-matters"),
        pytest.param("rc", ["1.2.0-rc1"], "1.2.0-rc.1", id="unnumbered-lookalike"),
        pytest.param("beta", ["1.2.0-beta.4", "1.2.0-rc.7"], "1.2.0-beta.5", id="beta"),
        pytest.param("rc", ["1.2.0-rc"], "1.2.0-rc.1", id="bare-label"),
        pytest.param("rc", ["1.2.0-rc.3+build.1"], "1.2.0-rc.4", id="build-ignored"),
        pytest.param("rc", ["1.1.0", "1.2.0-alpha"], "1.2.0-rc.1", id="releases-ignored"),
        pytest.param(
            "rc",
            ["1.2.0-rc.1", "1.3.0-rc.8", "1.2.0-beta.9", "1.2.0-rc.2"],
            "1.2.0-rc.3",
            id="mixed",
        ),
    ],
)
def test_the_next_prerelease_numbers_one_above_the_highest_of_its_core_and_label(
    label: str, existing: list[str], expected: str
) -> None:
    result = next_prerelease(v("1.2.0"), label, [v(text) for text in existing])

    assert str(result) == expected


def test_next_prerelease_accepts_any_iterable() -> None:
    existing = (v(f"1.0.0-rc.{n}") for n in (1, 2))

    assert next_prerelease(v("1.0.0"), "rc", existing) == v("1.0.0-rc.3")


def test_next_prerelease_drops_the_build_metadata_of_the_core() -> None:
    assert str(next_prerelease(v("1.0.0+build.3"), "rc", [])) == "1.0.0-rc.1"


# --- check_prerelease_label ------------------------------------------------------------------


@pytest.mark.parametrize("label", ["rc", "beta", "alpha", "RC", "pre-release", "rc2", "2rc", "x-1"])
def test_a_valid_prerelease_label_is_returned(label: str) -> None:
    assert check_prerelease_label(label) == label


@pytest.mark.parametrize(
    "label",
    [
        pytest.param("", id="empty"),
        pytest.param("1", id="numeric"),
        pytest.param("01", id="numeric-leading-zero"),
        pytest.param("rc.1", id="dot"),
        pytest.param("rc_1", id="underscore"),
        pytest.param("r c", id="space"),
        pytest.param(" rc", id="leading-space"),
        pytest.param("rc\n", id="trailing-newline"),
        pytest.param("rc+1", id="plus"),
        pytest.param("bêta", id="non-ascii"),
        pytest.param("\u0661rc", id="non-ascii-digit"),
    ],
)
def test_an_invalid_prerelease_label_is_refused_naming_it(label: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        check_prerelease_label(label)

    assert f"'{label}'" in caught.value.message
    assert caught.value.details == {"field": "pre", "value": label}


# --- properties ------------------------------------------------------------------------------

numbers = st.one_of(st.integers(0, 3), st.integers(0, 10**9))
releases = st.builds(Version, numbers, numbers, numbers)
bumps = st.sampled_from(Bump)
real_bumps = st.sampled_from([Bump.PATCH, Bump.MINOR, Bump.MAJOR])
pre_majors = st.sampled_from(PRE_MAJOR)
labels = st.from_regex(r"[a-zA-Z][0-9a-zA-Z-]{0,6}", fullmatch=True)


@given(releases, real_bumps, pre_majors)
def test_a_real_bump_always_gives_a_higher_release(
    current: Version, bump: Bump, pre_major: str
) -> None:
    result = bump_version(current, bump, pre_major=pre_major)

    assert result > current
    assert result.sort_key() > current.sort_key()
    assert not result.is_prerelease
    assert result.build == ()


@given(releases, st.lists(st.sampled_from(["alpha", "rc", "1", "beta"]), min_size=1, max_size=2))
def test_a_real_bump_of_a_prerelease_still_gives_a_higher_release(
    core: Version, prerelease: list[str]
) -> None:
    current = Version(core.major, core.minor, core.patch, tuple(prerelease))

    for bump in (Bump.PATCH, Bump.MINOR, Bump.MAJOR):
        assert bump_version(current, bump) > current


@given(releases, pre_majors)
def test_no_bump_keeps_the_version(current: Version, pre_major: str) -> None:
    assert bump_version(current, Bump.NONE, pre_major=pre_major) == current


@given(releases, bumps, bumps, pre_majors)
def test_a_larger_bump_never_gives_a_lower_version(
    current: Version, one: Bump, other: Bump, pre_major: str
) -> None:
    low, high = sorted((one, other))

    assert bump_version(current, low, pre_major=pre_major) <= bump_version(
        current, high, pre_major=pre_major
    )


@given(releases, bumps)
def test_pre_major_makes_no_difference_from_1_0_0_on(current: Version, bump: Bump) -> None:
    stable = Version(current.major + 1, current.minor, current.patch)

    assert bump_version(stable, bump, pre_major="minor") == bump_version(
        stable, bump, pre_major="major"
    )


@given(releases, real_bumps)
def test_pre_major_minor_never_leaves_0_y_z(current: Version, bump: Bump) -> None:
    zero = Version(0, current.minor, current.patch)

    assert bump_version(zero, bump, pre_major="minor").major == 0


@given(releases, real_bumps)
def test_each_bump_changes_exactly_its_own_number(current: Version, bump: Bump) -> None:
    result = bump_version(current, bump)
    old = (current.major, current.minor, current.patch)
    new = (result.major, result.minor, result.patch)

    position = {Bump.MAJOR: 0, Bump.MINOR: 1, Bump.PATCH: 2}[bump]
    assert new[:position] == old[:position]
    assert new[position] == old[position] + 1
    assert all(part == 0 for part in new[position + 1 :])


@st.composite
def prerelease_histories(draw: st.DrawFn) -> tuple[Version, str, list[Version]]:
    """A core, a label, and tags: some of that core and label, some of others."""
    core = draw(releases)
    label = draw(labels)
    same = draw(st.lists(st.integers(1, 10**6), max_size=6))
    existing = [Version(core.major, core.minor, core.patch, (label, str(n))) for n in same]
    others = draw(
        st.lists(
            st.tuples(releases, labels, st.integers(1, 10**6)).map(
                lambda t: Version(t[0].major, t[0].minor, t[0].patch, (t[1], str(t[2])))
            ),
            max_size=6,
        )
    )
    mixed = draw(st.permutations([*existing, *others]))
    return core, label, mixed


@given(prerelease_histories())
def test_the_next_prerelease_is_above_every_one_of_its_core_and_label(
    history: tuple[Version, str, list[Version]],
) -> None:
    core, label, existing = history

    result = next_prerelease(core, label, existing)

    same = [
        version
        for version in existing
        if (version.major, version.minor, version.patch) == (core.major, core.minor, core.patch)
        and version.prerelease[0] == label
    ]
    assert all(result > version for version in same)
    assert all(result.sort_key() > version.sort_key() for version in same)
    assert result not in existing
    assert (result.major, result.minor, result.patch) == (core.major, core.minor, core.patch)
    assert result.prerelease == (
        label,
        str(max((int(s.prerelease[1]) for s in same), default=0) + 1),
    )


@given(prerelease_histories())
def test_a_prerelease_sorts_before_the_release_it_leads_to(
    history: tuple[Version, str, list[Version]],
) -> None:
    core, label, existing = history

    result = next_prerelease(core, label, existing)

    assert result < core
    assert result.sort_key() < core.sort_key()


@given(releases, labels, st.integers(1, 8))
def test_numbering_prereleases_one_after_another_counts_up(
    core: Version, label: str, count: int
) -> None:
    made: list[Version] = []
    for _ in range(count):
        made.append(next_prerelease(core, label, made))

    assert [version.prerelease for version in made] == [
        (label, str(n)) for n in range(1, count + 1)
    ]
    assert made == sorted(made)


@given(labels)
def test_every_generated_label_is_valid_and_makes_a_valid_version(label: str) -> None:
    assert check_prerelease_label(label) == label
    made = next_prerelease(v("1.0.0"), label, [])
    assert parse_version(str(made)) == made
