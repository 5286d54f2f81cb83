import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from relman.domain.versions import Version, parse_version
from relman.errors import InvalidInput

# The valid examples of semver.org, plus a few more.
VALID = [
    "0.0.0",
    "1.0.0",
    "1.9.0",
    "1.10.0",
    "1.11.0",
    "1.0.0-alpha",
    "1.0.0-alpha.1",
    "1.0.0-0.3.7",
    "1.0.0-x.7.z.92",
    "1.0.0-x-y-z.--",
    "1.0.0-alpha+001",
    "1.0.0+20130313144700",
    "1.0.0-beta+exp.sha.5114f85",
    "1.0.0+21AF26D3----117B344092BD",
    "1.0.0-0A.is.legal",
    "1.0.0-01a",
    "1.0.0+001.0002",
    "99999999999999999999999.999999999999999999.99999999999999999",
]

INVALID = [
    "",
    "1",
    "1.0",
    "1.0.0.0",
    "01.0.0",
    "1.01.0",
    "1.0.01",
    "1.0.0-01",
    "1.0.0-alpha.01",
    "1.0.0-",
    "1.0.0-alpha.",
    "1.0.0-alpha..1",
    "1.0.0+",
    "1.0.0+build.",
    "1.0.0-alpha_beta",
    "1.0.0+build+more",
    "-1.0.0",
    "a.b.c",
    "1.0.0 rc1",
]

# semver.org §11, lowest precedence first.
SEMVER_CHAIN = [
    "1.0.0-alpha",
    "1.0.0-alpha.1",
    "1.0.0-alpha.beta",
    "1.0.0-beta",
    "1.0.0-beta.2",
    "1.0.0-beta.11",
    "1.0.0-rc.1",
    "1.0.0",
]

CORE_CHAIN = ["1.0.0", "2.0.0", "2.1.0", "2.1.1"]


@pytest.mark.parametrize("text", VALID)
def test_a_valid_semantic_version_parses_and_prints_back_unchanged(text: str) -> None:
    assert str(parse_version(text)) == text


def test_parsing_splits_a_version_into_its_parts() -> None:
    version = parse_version("1.2.3-beta.11+exp.sha.5114f85")

    assert version == Version(1, 2, 3, ("beta", "11"), ("exp", "sha", "5114f85"))
    assert (version.major, version.minor, version.patch) == (1, 2, 3)
    assert version.prerelease == ("beta", "11")
    assert version.build == ("exp", "sha", "5114f85")
    assert version.is_prerelease


def test_a_version_without_a_prerelease_is_not_a_prerelease() -> None:
    version = parse_version("1.2.3+build.1")

    assert version.prerelease == ()
    assert not version.is_prerelease


def test_very_large_numbers_parse_exactly() -> None:
    version = parse_version("99999999999999999999999.999999999999999999.99999999999999999")

    assert version.major == 99999999999999999999999
    assert version.minor == 999999999999999999
    assert version.patch == 99999999999999999


def test_surrounding_whitespace_is_ignored() -> None:
    assert str(parse_version("  1.4.0-rc.1\n")) == "1.4.0-rc.1"


@pytest.mark.parametrize("text", INVALID)
def test_an_invalid_version_is_refused_with_a_message_naming_it(text: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_version(text)

    assert f"'{text}'" in caught.value.message
    assert caught.value.details == {"value": text}


@pytest.mark.parametrize("text", ["v1.0.0", "V1.0.0", "v1.4.0-rc.1"])
def test_a_leading_v_is_refused_with_a_hint_to_drop_it(text: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_version(text)

    assert f"'{text}'" in caught.value.message
    assert "drop the leading 'v'" in caught.value.message


@pytest.mark.parametrize("text", ["", "1.0", "01.0.0", "x1.0.0"])
def test_the_drop_the_v_hint_appears_only_when_there_is_a_v(text: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_version(text)

    assert "drop the leading 'v'" not in caught.value.message


@pytest.mark.parametrize(
    "text",
    [
        "\u0661.0.0",  # ARABIC-INDIC DIGIT ONE
        "1\u0661.0.0",
        "1.0.\u0967",  # DEVANAGARI DIGIT ONE
        "1.0.0-1\u0661",
        "1.0.0-\u0661a",
        "\uff11.0.0",  # FULLWIDTH DIGIT ONE
    ],
)
def test_digits_outside_ascii_are_refused(text: str) -> None:
    with pytest.raises(InvalidInput):
        parse_version(text)


def test_a_number_too_long_for_python_int_is_refused_as_invalid_input() -> None:
    with pytest.raises(InvalidInput):
        parse_version("1" * 5000 + ".0.0")


def test_parse_version_refuses_a_non_string_as_invalid_input() -> None:
    with pytest.raises(InvalidInput):
        parse_version(100)  # type: ignore[arg-type]


@pytest.mark.parametrize(("lower", "higher"), list(itertools.pairwise(SEMVER_CHAIN)))
def test_the_semver_org_precedence_chain_holds_step_by_step(lower: str, higher: str) -> None:
    low, high = parse_version(lower), parse_version(higher)

    assert low < high
    assert high > low
    assert low != high
    assert low.sort_key() < high.sort_key()


def test_sorting_shuffled_versions_restores_the_semver_org_chain() -> None:
    shuffled = [SEMVER_CHAIN[i] for i in (7, 3, 0, 5, 1, 6, 4, 2)]

    by_precedence = [str(v) for v in sorted(parse_version(s) for s in shuffled)]
    by_key = sorted(shuffled, key=lambda s: parse_version(s).sort_key())

    assert by_precedence == SEMVER_CHAIN
    assert by_key == SEMVER_CHAIN


@pytest.mark.parametrize(("lower", "higher"), list(itertools.pairwise(CORE_CHAIN)))
def test_major_minor_and_patch_compare_in_that_order(lower: str, higher: str) -> None:
    assert parse_version(lower) < parse_version(higher)
    assert parse_version(lower).sort_key() < parse_version(higher).sort_key()


def test_core_numbers_compare_numerically_not_as_text() -> None:
    assert parse_version("1.9.0") < parse_version("1.10.0")
    assert parse_version("1.9.0").sort_key() < parse_version("1.10.0").sort_key()
    assert parse_version("9.0.0").sort_key() < parse_version("10.0.0").sort_key()


def test_a_prerelease_sorts_before_its_release() -> None:
    assert parse_version("1.0.0-rc.1") < parse_version("1.0.0")
    assert parse_version("1.0.0-rc.1").sort_key() < parse_version("1.0.0").sort_key()


def test_a_prerelease_sorts_after_the_previous_release() -> None:
    assert parse_version("1.0.1") < parse_version("1.1.0-alpha")
    assert parse_version("1.0.1").sort_key() < parse_version("1.1.0-alpha").sort_key()


def test_numeric_prerelease_identifiers_sort_before_alphanumeric_ones() -> None:
    assert parse_version("1.0.0-999") < parse_version("1.0.0-a")
    assert parse_version("1.0.0-999").sort_key() < parse_version("1.0.0-a").sort_key()
    assert parse_version("1.0.0-99999999999") < parse_version("1.0.0--")


def test_alphanumeric_prerelease_identifiers_compare_in_ascii_order() -> None:
    ordered = ["1.0.0--", "1.0.0-0a", "1.0.0-Z", "1.0.0-a", "1.0.0-a-", "1.0.0-ab"]
    for lower, higher in itertools.pairwise(ordered):
        assert parse_version(lower) < parse_version(higher)
        assert parse_version(lower).sort_key() < parse_version(higher).sort_key()


def test_build_metadata_is_ignored_for_precedence_but_kept_in_text() -> None:
    a, b = parse_version("1.0.0+a"), parse_version("1.0.0+b")

    assert a == b
    assert not a < b
    assert not b < a
    assert hash(a) == hash(b)
    assert a.sort_key() == b.sort_key()
    assert parse_version("1.0.0") == a
    assert str(a) == "1.0.0+a"
    assert str(b) == "1.0.0+b"


def test_a_version_never_equals_something_that_is_not_a_version() -> None:
    assert parse_version("1.0.0") != "1.0.0"
    with pytest.raises(TypeError):
        _ = parse_version("1.0.0") < "2.0.0"  # type: ignore[operator]


@pytest.mark.parametrize(
    ("lower", "higher"),
    [
        ("9" * 63 + ".0.0", "1" + "0" * 63 + ".0.0"),
        ("1.0.0-" + "9" * 63, "1.0.0-1" + "0" * 63),
    ],
)
def test_the_sort_key_orders_numbers_up_to_the_longest_allowed(lower: str, higher: str) -> None:
    low, high = parse_version(lower), parse_version(higher)

    assert low < high
    assert low.sort_key() < high.sort_key()


@pytest.mark.parametrize("text", ["1" * 65 + ".0.0", "1.0.0-" + "2" * 65, "1.0.0-rc." + "3" * 65])
def test_numbers_longer_than_the_limit_are_refused_naming_it(text: str) -> None:
    with pytest.raises(InvalidInput, match="longer than 64 digits"):
        parse_version(text)


# --- the central property: sort_key order is precedence ------------------------------------

small_numbers = st.integers(min_value=0, max_value=3)
numbers = st.one_of(small_numbers, st.integers(min_value=0, max_value=10**12))
numeric_identifiers = numbers.map(str)
alphanumeric_identifiers = st.one_of(
    st.sampled_from(["alpha", "beta", "rc", "a", "b", "-", "--", "x-y-z", "0a", "A", "Z"]),
    st.from_regex(r"[0-9a-zA-Z-]{0,4}[a-zA-Z-][0-9a-zA-Z-]{0,4}", fullmatch=True),
)
identifiers = st.one_of(numeric_identifiers, alphanumeric_identifiers)
prereleases = st.one_of(st.just(()), st.lists(identifiers, min_size=1, max_size=4).map(tuple))
builds = st.one_of(
    st.just(()),
    st.lists(st.from_regex(r"[0-9a-zA-Z-]{1,6}", fullmatch=True), min_size=1, max_size=3).map(
        tuple
    ),
)


@st.composite
def version_texts(draw: st.DrawFn) -> str:
    text = f"{draw(numbers)}.{draw(numbers)}.{draw(numbers)}"
    pre = draw(prereleases)
    build = draw(builds)
    if pre:
        text += "-" + ".".join(pre)
    if build:
        text += "+" + ".".join(build)
    return text


versions = version_texts().map(parse_version)


@st.composite
def related_versions(draw: st.DrawFn) -> Version:
    """Versions close to one another, so equal and near-equal pairs come up often."""
    base = draw(versions)
    how = draw(st.sampled_from(["any", "rebuild", "extend", "truncate", "release"]))
    if how == "rebuild":
        return Version(base.major, base.minor, base.patch, base.prerelease, draw(builds))
    if how == "extend":
        extra = draw(st.lists(identifiers, min_size=1, max_size=2))
        return Version(base.major, base.minor, base.patch, (*base.prerelease, *extra))
    if how == "truncate" and base.prerelease:
        cut = draw(st.integers(min_value=1, max_value=len(base.prerelease)))
        return Version(base.major, base.minor, base.patch, base.prerelease[:cut])
    if how == "release":
        return Version(base.major, base.minor, base.patch)
    return draw(versions)


def assert_sort_key_agrees_with_precedence(a: Version, b: Version) -> None:
    assert (a < b) == (a.sort_key() < b.sort_key())
    assert (a > b) == (a.sort_key() > b.sort_key())
    assert (a == b) == (a.sort_key() == b.sort_key())
    if a == b:
        assert hash(a) == hash(b)


@given(version_texts())
def test_every_generated_version_prints_back_as_it_was_written(text: str) -> None:
    assert str(parse_version(text)) == text


@given(versions, versions)
def test_sort_key_order_is_precedence_for_any_two_versions(a: Version, b: Version) -> None:
    assert_sort_key_agrees_with_precedence(a, b)


@given(st.data())
def test_sort_key_order_is_precedence_for_neighbouring_versions(data: st.DataObject) -> None:
    a = data.draw(versions)
    b = data.draw(related_versions())
    assert_sort_key_agrees_with_precedence(a, b)
    assert_sort_key_agrees_with_precedence(b, a)


@given(versions, builds)
def test_changing_only_the_build_keeps_a_version_equal(a: Version, build: tuple[str, ...]) -> None:
    b = Version(a.major, a.minor, a.patch, a.prerelease, build)

    assert a == b
    assert a.sort_key() == b.sort_key()
    assert hash(a) == hash(b)


@given(versions, st.lists(identifiers, min_size=1, max_size=3))
def test_a_longer_prerelease_with_the_same_start_sorts_later(a: Version, extra: list[str]) -> None:
    if not a.prerelease:
        a = Version(a.major, a.minor, a.patch, ("alpha",))
    longer = Version(a.major, a.minor, a.patch, (*a.prerelease, *extra))

    assert a < longer
    assert a.sort_key() < longer.sort_key()


@given(versions)
def test_a_release_sorts_after_each_of_its_prereleases(a: Version) -> None:
    release = Version(a.major, a.minor, a.patch)
    if a.is_prerelease:
        assert a < release
        assert a.sort_key() < release.sort_key()
    else:
        assert a == release


@pytest.mark.parametrize(("a", "b"), list(itertools.product(SEMVER_CHAIN, repeat=2)))
def test_sort_key_order_is_precedence_along_the_semver_org_chain(a: str, b: str) -> None:
    va, vb = parse_version(a), parse_version(b)

    assert_sort_key_agrees_with_precedence(va, vb)
    assert (va < vb) == (SEMVER_CHAIN.index(a) < SEMVER_CHAIN.index(b))
