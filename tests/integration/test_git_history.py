"""relman.vcs.git.GitRepository against real repositories built with `git` in a temp dir."""

from __future__ import annotations

from pathlib import Path

import pytest

from relman.domain.commits import Change, parse_commit
from relman.domain.tags import Tag, TagFormat
from relman.domain.versions import Version
from relman.errors import InvalidInput
from relman.vcs.git import GitRepository

from .gitrepo import START_TIME, GitRepo

PLAIN = TagFormat.of("v{version}", None)
API = TagFormat.of("{service}-v{version}", "api")


@pytest.fixture
def repo(tmp_path: Path) -> GitRepo:
    return GitRepo.init(tmp_path / "repo")


def test_commits_come_newest_first_with_author_email_time_and_parents(repo: GitRepo) -> None:
    first = repo.commit("feat: first\n\nThe body.\n", author="Ada", email="ada@example.com")
    second = repo.commit("fix: second", author="Grace Hopper", email="grace@example.com")
    third = repo.commit("perf: third")

    commits = list(GitRepository(repo.path).commits(None, "HEAD"))

    assert [c.hash for c in commits] == [third, second, first]
    assert [(c.author, c.email) for c in commits] == [
        ("Test Author", "author@example.com"),
        ("Grace Hopper", "grace@example.com"),
        ("Ada", "ada@example.com"),
    ]
    assert [c.time for c in commits] == [START_TIME + 120, START_TIME + 60, START_TIME]
    assert [c.parents for c in commits] == [1, 1, 0]  # the root commit has none
    assert commits[2].subject == "feat: first"
    assert commits[2].message.rstrip("\n") == "feat: first\n\nThe body."


def test_commits_since_a_ref_stop_before_it(repo: GitRepo) -> None:
    repo.commit("feat: first")
    repo.tag("v0.1.0")
    second = repo.commit("fix: second")
    third = repo.commit("fix: third")
    history = GitRepository(repo.path)

    assert [c.hash for c in list(history.commits("v0.1.0", "HEAD"))] == [third, second]
    assert [c.hash for c in list(history.commits("v0.1.0", second))] == [second]
    assert history.resolve("v0.1.0") == history.resolve("HEAD~2")
    assert history.resolve("main") == third


def test_a_merge_commit_has_two_parents_and_the_branch_commits_are_listed(repo: GitRepo) -> None:
    base = repo.commit("feat: base")
    repo.branch("feature")
    repo.checkout("feature")
    on_branch = repo.commit("feat(search): fuzzy", files={"search.txt": "fuzzy\n"})
    repo.checkout("main")
    on_main = repo.commit("fix: typo", files={"readme.txt": "typo\n"})
    merge = repo.merge("feature")

    commits = list(GitRepository(repo.path).commits(base, "HEAD"))

    assert commits[0].hash == merge
    assert commits[0].parents == 2
    assert commits[0].subject == "Merge branch 'feature'"
    assert {c.hash for c in commits[1:]} == {on_branch, on_main}
    assert [c.parents for c in commits[1:]] == [1, 1]


def test_annotated_tags_are_peeled_to_their_commit(repo: GitRepo) -> None:
    first = repo.commit("feat: first")
    repo.tag("v0.1.0", annotated=True)
    second = repo.commit("feat: second")
    repo.tag("v0.2.0")
    repo.tag("v0.3.0-rc.1", annotated=True)
    repo.tag("vnext")  # not a version: ignored
    repo.tag("v1.0")  # not a full version: ignored
    history = GitRepository(repo.path)

    tags = history.tags(PLAIN, merged_into=history.resolve("HEAD"))

    assert sorted(tags, key=lambda t: t.name) == [
        Tag("v0.1.0", Version(0, 1, 0), first),
        Tag("v0.2.0", Version(0, 2, 0), second),
        Tag("v0.3.0-rc.1", Version(0, 3, 0, prerelease=("rc", "1")), second),
    ]
    assert history.resolve("v0.1.0") == first  # an annotated tag resolves to its commit too


def test_service_tags_ignore_other_services_and_tags_not_merged(repo: GitRepo) -> None:
    first = repo.commit("feat: api", files={"services/api/app.txt": "1\n"})
    repo.tag("api-v1.0.0", annotated=True)
    repo.tag("web-v3.0.0")  # another service's
    repo.tag("v9.0.0")  # the plain format's
    repo.tag("apiv2.0.0")  # not this format: no '-'
    repo.branch("experiment")
    repo.checkout("experiment")
    repo.commit("feat: experiment", files={"services/api/x.txt": "x\n"})
    repo.tag("api-v2.0.0")  # on a branch main does not contain
    repo.checkout("main")
    second = repo.commit("fix: api", files={"services/api/app.txt": "2\n"})
    repo.tag("api-v1.0.1")
    history = GitRepository(repo.path)

    on_main = history.tags(API, merged_into=history.resolve("main"))
    at_first = history.tags(API, merged_into=first)
    on_branch = history.tags(API, merged_into="experiment")

    assert sorted((t.name, t.commit) for t in on_main) == [
        ("api-v1.0.0", first),
        ("api-v1.0.1", second),
    ]
    assert [t.name for t in at_first] == ["api-v1.0.0"]
    assert sorted(t.name for t in on_branch) == ["api-v1.0.0", "api-v2.0.0"]


def test_paths_filter_from_the_top_even_from_a_subdirectory(repo: GitRepo) -> None:
    api_first = repo.commit("feat: api", files={"services/api/app.txt": "1\n"})
    repo.commit("feat: web", files={"services/web/app.txt": "1\n"})
    both = repo.commit(
        "fix: both", files={"services/api/app.txt": "2\n", "services/web/app.txt": "2\n"}
    )
    repo.commit("docs: readme", files={"README.md": "hi\n"})
    repo.commit("feat: api-gateway", files={"services/api-gateway/app.txt": "1\n"})

    top = GitRepository(repo.path)
    inside = GitRepository(repo.path / "services" / "web")

    for history in (top, inside):
        api = list(history.commits(None, "HEAD", ("services/api",)))
        assert [c.hash for c in api] == [both, api_first]
        newest, *_ = history.commits(None, "HEAD", ("services/api", "README.md"))
        assert newest.subject == "docs: readme"
    assert len(list(inside.commits(None, "HEAD"))) == 5  # no paths: the whole repository


def test_a_message_with_bytes_that_are_not_utf8_reads_with_replacement_characters(
    repo: GitRepo,
) -> None:
    repo.commit("feat: first")
    raw = repo.commit_raw(b"fix: caf\xe9 au lait\n\nSee caf\xe9.\n")

    [commit] = list(GitRepository(repo.path).commits("HEAD~1", "HEAD"))

    assert commit.hash == raw
    assert commit.subject == "fix: caf\ufffd au lait"
    assert commit.author == "Test Author"
    change = parse_commit(commit)
    assert isinstance(change, Change)
    assert (change.type, change.description) == ("fix", "caf\ufffd au lait")


def test_a_message_in_a_declared_latin1_encoding_reads_as_text(repo: GitRepo) -> None:
    repo.commit(b"fix: caf\xe9\n", encoding="ISO-8859-1")

    [commit] = list(GitRepository(repo.path).commits(None, "HEAD"))

    assert commit.subject == "fix: café"


def test_crlf_messages_and_separator_bytes_keep_every_field_in_place(repo: GitRepo) -> None:
    crlf = repo.commit(b"feat(cart): pay later\r\n\r\nA body.\r\n\r\nCloses #4\r\n")
    odd = repo.commit("fix: a\x1fb\x1fc d\n", author="Unit Sep", email="us@example.com")

    newest, oldest = list(GitRepository(repo.path).commits(None, "HEAD"))

    assert (newest.hash, newest.author, newest.email) == (odd, "Unit Sep", "us@example.com")
    assert newest.message.rstrip("\n") == "fix: a\x1fb\x1fc d"
    assert oldest.hash == crlf
    assert oldest.message.rstrip("\r\n") == "feat(cart): pay later\r\n\r\nA body.\r\n\r\nCloses #4"
    assert oldest.subject == "feat(cart): pay later"
    change = parse_commit(oldest)
    assert isinstance(change, Change)
    assert (change.type, change.scope, change.description) == ("feat", "cart", "pay later")
    assert [ref.text for ref in change.references] == ["#4"]


def test_a_directory_that_is_not_a_repository_is_refused(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()

    with pytest.raises(InvalidInput) as caught:
        GitRepository(plain).resolve("HEAD")
    assert str(plain) in caught.value.message
    assert "not a git repository" in caught.value.message

    with pytest.raises(InvalidInput) as missing:
        GitRepository(tmp_path / "absent")
    assert str(tmp_path / "absent") in missing.value.message


def test_an_unknown_ref_is_refused_naming_it(repo: GitRepo) -> None:
    repo.commit("feat: first")
    history = GitRepository(repo.path)

    with pytest.raises(InvalidInput) as caught:
        history.resolve("v9.9.9")
    assert "'v9.9.9'" in caught.value.message
    assert str(repo.path) in caught.value.message

    with pytest.raises(InvalidInput) as since:
        list(history.commits("v9.9.9", "HEAD"))
    assert "v9.9.9" in since.value.message
    assert str(repo.path) in since.value.message

    with pytest.raises(InvalidInput) as option:
        history.resolve("--all")
    assert "'--all'" in option.value.message


def test_an_empty_repository_is_refused_naming_it(repo: GitRepo) -> None:
    history = GitRepository(repo.path)

    with pytest.raises(InvalidInput) as resolved:
        history.resolve("HEAD")
    assert str(repo.path) in resolved.value.message
    assert "HEAD" in resolved.value.message

    with pytest.raises(InvalidInput) as logged:
        list(history.commits(None, "HEAD"))
    assert str(repo.path) in logged.value.message
