import pytest

from relman.domain.releases import ReleaseContent, parse_artifact, release_differences
from relman.domain.versions import parse_version
from relman.errors import InvalidInput

SHA = "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
OTHER_SHA = "sha256:60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752"
COMMIT = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"


def test_building_keeps_every_field() -> None:
    content = ReleaseContent.build(
        "1.4.0-rc.1+build.7", commit=COMMIT, notes="Fixes login", artifacts=[("app", SHA)]
    )

    assert content.version == parse_version("1.4.0-rc.1")
    assert content.version_text == "1.4.0-rc.1+build.7"
    assert content.commit == COMMIT
    assert content.notes == "Fixes login"
    assert content.artifacts == (("app", SHA),)


def test_only_a_version_is_required() -> None:
    content = ReleaseContent.build("1.0.0")

    assert content.version_text == "1.0.0"
    assert content.commit is None
    assert content.notes is None
    assert content.artifacts == ()


def test_the_version_text_is_the_normalised_version() -> None:
    assert ReleaseContent.build("  2.0.0  ").version_text == "2.0.0"


def test_artifacts_are_sorted_by_name() -> None:
    content = ReleaseContent.build(
        "1.0.0", artifacts=[("web", SHA), ("app", OTHER_SHA), ("db/migrate", SHA)]
    )

    assert content.artifacts == (("app", OTHER_SHA), ("db/migrate", SHA), ("web", SHA))


def test_the_order_artifacts_are_given_in_does_not_change_the_release() -> None:
    one = ReleaseContent.build("1.0.0", artifacts=[("a", SHA), ("b", OTHER_SHA)])
    two = ReleaseContent.build("1.0.0", artifacts=[("b", OTHER_SHA), ("a", SHA)])

    assert one == two
    assert release_differences(one, two) == {}


def test_empty_notes_become_none() -> None:
    assert ReleaseContent.build("1.0.0", notes="").notes is None
    assert ReleaseContent.build("1.0.0", notes=None).notes is None


def test_an_empty_artifact_list_is_the_same_as_none() -> None:
    assert ReleaseContent.build("1.0.0", artifacts=[]) == ReleaseContent.build("1.0.0")


def test_a_bad_version_is_refused_naming_it() -> None:
    with pytest.raises(InvalidInput) as caught:
        ReleaseContent.build("v1.0.0")

    assert "'v1.0.0'" in caught.value.message


@pytest.mark.parametrize(
    "commit", ["abc1234", "a" * 64, COMMIT, "0123456789abcdef0123456789abcdef01234567"]
)
def test_a_git_commit_hash_is_accepted(commit: str) -> None:
    assert ReleaseContent.build("1.0.0", commit=commit).commit == commit


@pytest.mark.parametrize(
    "commit",
    [
        "",
        "abc123",
        "a" * 65,
        "ABC1234",
        "abc123g",
        "main",
        " abc1234",
        "abc1234 ",
        "abc1234\n",
    ],
)
def test_a_bad_commit_is_refused_naming_it(commit: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        ReleaseContent.build("1.0.0", commit=commit)

    assert f"'{commit}'" in caught.value.message
    assert caught.value.details == {"field": "commit", "value": commit}


@pytest.mark.parametrize(
    "digest",
    [
        SHA,
        "sha512:" + "ab" * 64,
        "sha256:0123456789abcdef",
        "blake2b+base64:AbCdEf0123456789-_==",
        "multihash.v1:0123456789abcdef",
    ],
)
def test_a_well_formed_digest_is_accepted(digest: str) -> None:
    assert ReleaseContent.build("1.0.0", artifacts=[("app", digest)]).artifacts == (
        ("app", digest),
    )


@pytest.mark.parametrize(
    "digest",
    [
        "",
        "9f86d081884c7d659a2feaa0c55ad015",
        "sha256:",
        "sha256:0123456789abcde",
        "SHA256:0123456789abcdef",
        ":0123456789abcdef",
        "sha256:0123456789abcdef!",
        "sha256:0123 456789abcdef",
        "sha256:0123456789abcdef\n",
    ],
)
def test_a_bad_digest_is_refused_naming_it_and_its_artifact(digest: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        ReleaseContent.build("1.0.0", artifacts=[("app", digest)])

    assert f"'{digest}'" in caught.value.message
    assert "'app'" in caught.value.message
    assert caught.value.details == {"field": "artifacts", "artifact": "app", "value": digest}


@pytest.mark.parametrize(
    "name",
    [
        "app",
        "app.tar.gz",
        "ghcr.io/acme/web:1.4.0",
        "web@prod",
        "A",
        "0-x_y",
        "a" * 200,
    ],
)
def test_a_well_formed_artifact_name_is_accepted(name: str) -> None:
    assert ReleaseContent.build("1.0.0", artifacts=[(name, SHA)]).artifacts == ((name, SHA),)


@pytest.mark.parametrize(
    "name",
    ["", "-app", ".hidden", "/abs", "a b", "app=web", "app!", "a" * 201, "app\n", "café"],
)
def test_a_bad_artifact_name_is_refused_naming_it(name: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        ReleaseContent.build("1.0.0", artifacts=[(name, SHA)])

    assert f"'{name}'" in caught.value.message
    assert caught.value.details == {"field": "artifacts", "value": name}


def test_an_artifact_named_twice_is_refused_naming_it() -> None:
    with pytest.raises(InvalidInput) as caught:
        ReleaseContent.build("1.0.0", artifacts=[("app", SHA), ("web", SHA), ("app", OTHER_SHA)])

    assert "'app'" in caught.value.message
    assert "'web'" not in caught.value.message
    assert caught.value.details == {"field": "artifacts", "duplicates": ["app"]}


def test_every_artifact_named_twice_is_listed() -> None:
    with pytest.raises(InvalidInput) as caught:
        ReleaseContent.build(
            "1.0.0", artifacts=[("web", SHA), ("app", SHA), ("web", SHA), ("app", SHA)]
        )

    assert "'app', 'web'" in caught.value.message
    assert caught.value.details["duplicates"] == ["app", "web"]


# --- parse_artifact ----------------------------------------------------------------------------


def test_an_artifact_argument_splits_into_name_and_digest() -> None:
    assert parse_artifact(f"app.tar.gz={SHA}") == ("app.tar.gz", SHA)


def test_an_artifact_argument_splits_at_the_first_equals_sign() -> None:
    digest = "sha256:AbCdEf0123456789=="
    assert parse_artifact(f"app={digest}") == ("app", digest)


@pytest.mark.parametrize("text", ["", "app", f"={SHA}", "app=", "=", f"app:{SHA}"])
def test_an_artifact_argument_without_name_equals_digest_is_refused(text: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_artifact(text)

    assert f"'{text}'" in caught.value.message
    assert "NAME=DIGEST" in caught.value.message
    assert caught.value.details == {"field": "artifacts", "value": text}


def test_an_artifact_argument_with_a_bad_digest_is_refused_naming_the_digest() -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_artifact("app=md5")

    assert "'md5'" in caught.value.message
    assert caught.value.details["value"] == "md5"


def test_an_artifact_argument_with_a_bad_name_is_refused_naming_the_name() -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_artifact(f"my app={SHA}")

    assert "'my app'" in caught.value.message
    assert caught.value.details["value"] == "my app"


# --- release_differences -----------------------------------------------------------------------


def base(**overrides: object) -> ReleaseContent:
    fields: dict[str, object] = {
        "version": "1.0.0",
        "commit": COMMIT,
        "notes": "First",
        "artifacts": [("app", SHA)],
    }
    fields.update(overrides)
    return ReleaseContent.build(**fields)  # type: ignore[arg-type]


def test_equal_content_has_no_differences() -> None:
    assert release_differences(base(), base()) == {}


def test_a_different_commit_is_the_only_difference_reported() -> None:
    assert release_differences(base(), base(commit="abc1234")) == {
        "commit": {"existing": COMMIT, "requested": "abc1234"}
    }


def test_a_missing_commit_is_a_difference() -> None:
    assert release_differences(base(), base(commit=None)) == {
        "commit": {"existing": COMMIT, "requested": None}
    }


def test_different_notes_are_reported() -> None:
    assert release_differences(base(), base(notes="Second")) == {
        "notes": {"existing": "First", "requested": "Second"}
    }


def test_empty_and_missing_notes_do_not_differ() -> None:
    assert release_differences(base(notes=""), base(notes=None)) == {}


def test_a_different_digest_is_reported_with_both_artifact_maps() -> None:
    assert release_differences(base(), base(artifacts=[("app", OTHER_SHA)])) == {
        "artifacts": {"existing": {"app": SHA}, "requested": {"app": OTHER_SHA}}
    }


def test_an_added_artifact_is_reported() -> None:
    assert release_differences(base(), base(artifacts=[("app", SHA), ("web", SHA)])) == {
        "artifacts": {"existing": {"app": SHA}, "requested": {"app": SHA, "web": SHA}}
    }


def test_different_build_metadata_is_a_difference_in_version() -> None:
    assert release_differences(base(version="1.0.0+a"), base(version="1.0.0+b")) == {
        "version": {"existing": "1.0.0+a", "requested": "1.0.0+b"}
    }


def test_every_differing_field_is_reported_with_both_values() -> None:
    existing = base()
    requested = ReleaseContent.build("1.0.1", commit="abc1234", notes=None, artifacts=None)

    assert release_differences(existing, requested) == {
        "version": {"existing": "1.0.0", "requested": "1.0.1"},
        "commit": {"existing": COMMIT, "requested": "abc1234"},
        "notes": {"existing": "First", "requested": None},
        "artifacts": {"existing": {"app": SHA}, "requested": {}},
    }
