import pytest
from hypothesis import given
from hypothesis import strategies as st

from relman.domain.commits import (
    BREAKING_TOKENS,
    Change,
    Commit,
    Reference,
    Unconventional,
    parse_commit,
)

HASH = "0123456789abcdef0123456789abcdef01234567"
REVERTED = "fedcba9876543210fedcba9876543210fedcba98"


def commit(message: str, *, parents: int = 1, hash: str = HASH) -> Commit:
    return Commit(hash, message, author="Ada", email="ada@example.com", time=1, parents=parents)


def merge(message: str) -> Commit:
    return commit(message, parents=2)


def change(message: str, *, ticket_prefixes: tuple[str, ...] = ()) -> Change:
    read = parse_commit(commit(message), ticket_prefixes=ticket_prefixes)
    assert isinstance(read, Change), f"{message!r} was read as {read!r}"
    return read


def unconventional(message: str) -> Unconventional:
    read = parse_commit(commit(message))
    assert isinstance(read, Unconventional), f"{message!r} was read as {read!r}"
    return read


# --- the header ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "type_", "scope", "description"),
    [
        pytest.param("feat: add login", "feat", None, "add login", id="type"),
        pytest.param("fix(api): handle 404", "fix", "api", "handle 404", id="type-and-scope"),
        pytest.param("feat(api/v2): paging", "feat", "api/v2", "paging", id="scope-with-slash"),
        pytest.param(
            "fix(ui/forms/login): focus", "fix", "ui/forms/login", "focus", id="scope-two-slashes"
        ),
        pytest.param("feat(my-scope): x", "feat", "my-scope", "x", id="scope-with-dash"),
        pytest.param("feat(core, db): x", "feat", "core, db", "x", id="scope-with-comma"),
        pytest.param("docs: fix typo", "docs", None, "fix typo", id="other-type"),
        pytest.param("chore(deps): bump x", "chore", "deps", "bump x", id="chore-with-scope"),
        pytest.param("FEAT: shout", "feat", None, "shout", id="type-upper-case"),
        pytest.param("Fix(Api): mixed", "fix", "Api", "mixed", id="type-mixed-case-scope-kept"),
        pytest.param("feat: a: b: c", "feat", None, "a: b: c", id="colons-in-description"),
        pytest.param("feat:  two spaces", "feat", None, "two spaces", id="extra-space"),
        pytest.param("  feat: padded  ", "feat", None, "padded", id="surrounding-spaces"),
        pytest.param("\n\nfeat: late\n", "feat", None, "late", id="leading-blank-lines"),
        pytest.param("my_type: x", "my_type", None, "x", id="underscore-in-type"),
    ],
)
def test_a_conventional_header_is_read_into_its_parts(
    message: str, type_: str, scope: str | None, description: str
) -> None:
    read = change(message)

    assert read.type == type_
    assert read.scope == scope
    assert read.description == description
    assert not read.breaking
    assert read.breaking_notes == ()
    assert read.reverts is None


def test_the_change_keeps_the_commit_it_was_read_from() -> None:
    original = commit("feat(api): x\n\nbody")

    read = parse_commit(original)

    assert isinstance(read, Change)
    assert read.commit is original


def test_a_header_only_message_has_an_empty_body_and_no_footers() -> None:
    read = change("fix: y")

    assert read.body == ""
    assert read.footers == ()
    assert read.references == ()


def test_the_body_is_the_text_between_the_header_and_the_footers() -> None:
    read = change("fix: y\n\nFirst paragraph\nstill first.\n\nSecond paragraph.\n\nRefs: #4\n")

    assert read.body == "First paragraph\nstill first.\n\nSecond paragraph."
    assert read.footers == (("Refs", "#4"),)


def test_an_empty_body_between_blank_lines_is_empty() -> None:
    read = change("fix: y\n\n\n\n")

    assert read.body == ""
    assert read.footers == ()


# --- breaking changes ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "scope"),
    [
        pytest.param("feat!: drop v1", None, id="bang-without-scope"),
        pytest.param("feat(api)!: drop v1", "api", id="bang-with-scope"),
        pytest.param("feat(api/v2)!: drop v1", "api/v2", id="bang-with-slash-scope"),
        pytest.param("refactor!: drop v1", None, id="bang-on-other-type"),
        pytest.param("FIX(db)!: drop v1", "db", id="bang-upper-case-type"),
    ],
)
def test_a_bang_before_the_colon_makes_a_change_breaking(message: str, scope: str | None) -> None:
    read = change(message)

    assert read.breaking
    assert read.scope == scope
    assert read.description == "drop v1"
    assert read.breaking_notes == ()


@pytest.mark.parametrize("token", BREAKING_TOKENS)
def test_a_breaking_footer_makes_a_change_breaking_and_keeps_its_note(token: str) -> None:
    read = change(f"feat: new config\n\n{token}: the `port` key is gone")

    assert read.breaking
    assert read.breaking_notes == ("the `port` key is gone",)
    assert read.footers == ((token, "the `port` key is gone"),)


def test_the_breaking_tokens_are_the_two_the_specification_names() -> None:
    assert set(BREAKING_TOKENS) == {"BREAKING CHANGE", "BREAKING-CHANGE"}


@pytest.mark.parametrize(
    "footer",
    [
        pytest.param("breaking change: x", id="lower-case"),
        pytest.param("Breaking Change: x", id="title-case"),
        pytest.param("breaking-change: x", id="lower-case-dash"),
        pytest.param("Breaking-Change: x", id="title-case-dash"),
        pytest.param("BREAKING_CHANGE: x", id="underscore"),
        pytest.param("BREAKING CHANGES: x", id="plural"),
    ],
)
def test_a_breaking_footer_not_in_upper_case_is_not_breaking(footer: str) -> None:
    read = change(f"feat: x\n\n{footer}")

    assert not read.breaking
    assert read.breaking_notes == ()


def test_breaking_change_text_in_the_body_is_not_a_footer() -> None:
    read = change("feat: x\n\nThis mentions a BREAKING CHANGE: in passing.")

    assert not read.breaking
    assert read.footers == ()


def test_a_bang_and_a_footer_together_keep_the_note() -> None:
    read = change("feat(api)!: x\n\nBREAKING CHANGE: y is gone")

    assert read.breaking
    assert read.breaking_notes == ("y is gone",)


def test_several_breaking_footers_are_all_kept_in_order() -> None:
    message = (
        "feat: v3\n\n"
        "BREAKING CHANGE: first\n"
        "Refs: #1\n"
        "BREAKING-CHANGE: second\n"
        "BREAKING CHANGE: third"
    )

    read = change(message)

    assert read.breaking
    assert read.breaking_notes == ("first", "second", "third")
    assert [token for token, _ in read.footers] == [
        "BREAKING CHANGE",
        "Refs",
        "BREAKING-CHANGE",
        "BREAKING CHANGE",
    ]


def test_a_breaking_footer_value_may_contain_colons() -> None:
    read = change("feat: x\n\nBREAKING CHANGE: set `mode: strict` in config: see docs")

    assert read.breaking_notes == ("set `mode: strict` in config: see docs",)


def test_a_footer_value_continues_on_the_following_lines() -> None:
    message = (
        "feat: x\n\n"
        "BREAKING CHANGE: the first line\n"
        "  and the second line\n"
        "and the third\n"
        "Reviewed-by: Z"
    )

    read = change(message)

    assert read.breaking_notes == ("the first line\n  and the second line\nand the third",)
    assert read.footers[-1] == ("Reviewed-by", "Z")


@pytest.mark.parametrize("token", BREAKING_TOKENS)
def test_a_breaking_footer_whose_value_starts_on_the_next_line_is_breaking(token: str) -> None:
    # Editors and `git commit --cleanup` strip the trailing space of "BREAKING CHANGE: ".
    read = change(f"feat: x\n\n{token}:\nThe config format changed.\nSee the docs.")

    assert read.breaking
    assert read.breaking_notes == ("The config format changed.\nSee the docs.",)


# --- footers ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "footer"),
    [
        pytest.param("Reviewed-by: Z", ("Reviewed-by", "Z"), id="colon"),
        pytest.param("Closes #9", ("Closes", "#9"), id="hash"),
        pytest.param("Refs: #1, #2", ("Refs", "#1, #2"), id="list"),
        pytest.param("Acked-by: A <a@x.io>", ("Acked-by", "A <a@x.io>"), id="email"),
        pytest.param("See-also: https://x.io/a:b", ("See-also", "https://x.io/a:b"), id="url"),
        pytest.param("Note: a: b: c", ("Note", "a: b: c"), id="colons-in-value"),
    ],
)
def test_footers_are_token_colon_value_or_token_hash_value(
    line: str, footer: tuple[str, str]
) -> None:
    read = change(f"fix: y\n\nbody\n\n{line}")

    assert read.footers == (footer,)
    assert read.body == "body"


def test_several_footers_keep_their_order() -> None:
    read = change("fix: y\n\nCloses #9\nReviewed-by: Z\nSigned-off-by: A <a@x.io>")

    assert read.footers == (
        ("Closes", "#9"),
        ("Reviewed-by", "Z"),
        ("Signed-off-by", "A <a@x.io>"),
    )
    assert read.body == ""


# --- reverts ---------------------------------------------------------------------------------


def test_a_conventional_revert_is_a_revert_naming_the_hash_it_reverts() -> None:
    read = change(f"revert: feat: add login\n\nThis reverts commit {REVERTED}.")

    assert read.type == "revert"
    assert read.description == "add login"  # as git's Revert "feat: add login" reads
    assert read.reverts == REVERTED
    assert not read.breaking


def test_a_conventional_revert_takes_the_scope_of_what_it_reverts() -> None:
    read = change("revert: feat(ui): dark mode")
    assert (read.scope, read.description) == ("ui", "dark mode")
    own = change("revert(api): fix(ui): x")
    assert (own.scope, own.description) == ("api", "x")
    plain = change("revert: the dark mode experiment")
    assert (plain.scope, plain.description) == (None, "the dark mode experiment")


def test_a_conventional_revert_without_a_hash_reverts_nothing_known() -> None:
    read = change("revert: feat: add login")

    assert read.type == "revert"
    assert read.reverts is None


@pytest.mark.parametrize(
    ("header", "scope", "description"),
    [
        pytest.param('Revert "feat: add login"', None, "add login", id="type"),
        pytest.param('Revert "feat(api): add login"', "api", "add login", id="type-and-scope"),
        pytest.param('Revert "feat(api)!: add login"', "api", "add login", id="breaking"),
        pytest.param('Revert "Update the readme"', None, "Update the readme", id="unconventional"),
    ],
)
def test_a_git_revert_is_a_revert_naming_the_hash_it_reverts(
    header: str, scope: str | None, description: str
) -> None:
    read = change(f"{header}\n\nThis reverts commit {REVERTED}.")

    assert read.type == "revert"
    assert read.scope == scope
    assert read.description == description
    assert read.reverts == REVERTED
    assert not read.breaking


def test_a_git_revert_without_a_body_reverts_nothing_known() -> None:
    read = change('Revert "feat: add login"')

    assert read.type == "revert"
    assert read.description == "add login"
    assert read.reverts is None


def test_a_git_revert_reads_an_abbreviated_hash() -> None:
    read = change('Revert "fix: y"\n\nThis reverts commit fedcba9.')

    assert read.reverts == "fedcba9"


def test_a_git_revert_of_a_merge_names_the_merge() -> None:
    body = f"This reverts commit {REVERTED}, reversing\nchanges made to {HASH}."

    read = change(f"Revert \"Merge branch 'x'\"\n\n{body}")

    assert read.type == "revert"
    assert read.reverts == REVERTED


def test_a_git_revert_keeps_its_references_and_footers() -> None:
    read = change(f'Revert "fix: y (#12)"\n\nThis reverts commit {REVERTED}.\n\nRefs: #13')

    assert read.footers == (("Refs", "#13"),)
    assert [ref.text for ref in read.references] == ["#12", "#13"]


@pytest.mark.parametrize(
    ("message", "type_", "scope"),
    [
        pytest.param('Revert "Revert "feat: x""', "feat", None, id="feat"),
        pytest.param('Revert "Revert "fix(db): x""', "fix", "db", id="fix-with-scope"),
        pytest.param(
            f'Revert "Revert "feat: x""\n\nThis reverts commit {REVERTED}.', "feat", None, id="body"
        ),
    ],
)
def test_a_revert_of_a_revert_reapplies_the_change(
    message: str, type_: str, scope: str | None
) -> None:
    read = change(message)

    assert read.type == type_
    assert read.scope == scope
    assert read.description == "x"
    assert not read.breaking


def test_a_revert_of_a_revert_keeps_the_commit_it_was_read_from() -> None:
    original = commit(f'Revert "Revert "feat: x""\n\nThis reverts commit {REVERTED}.')

    read = parse_commit(original)

    assert isinstance(read, Change)
    assert read.commit == original


def test_a_revert_of_a_revert_of_a_revert_is_a_revert_of_the_hash_it_names() -> None:
    read = change(f'Revert "Revert "Revert "feat: x"""\n\nThis reverts commit {REVERTED}.')

    assert read.type == "revert"
    assert read.reverts == REVERTED


def test_a_revert_of_a_revert_of_an_unconventional_commit_is_unconventional() -> None:
    read = unconventional('Revert "Revert "Update the readme""')

    assert "Update the readme" in read.reason


# --- merges ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "message",
    [
        pytest.param("Merge branch 'feature/x'", id="branch"),
        pytest.param("Merge branch 'main' into feature/x", id="branch-into"),
        pytest.param("Merge pull request #1 from a/b\n\nfeat: x", id="pull-request"),
        pytest.param("Merge remote-tracking branch 'origin/main'", id="remote-tracking"),
        pytest.param("Merge tag 'v1.0.0'", id="tag"),
        pytest.param("Merge commit 'abc1234'", id="commit"),
    ],
)
def test_a_merge_header_is_read_as_a_merge(message: str) -> None:
    read = change(message)

    assert read.type == "merge"
    assert not read.breaking


@pytest.mark.parametrize(
    "message",
    [
        pytest.param("feat!: looks conventional", id="conventional"),
        pytest.param("Some words", id="unconventional"),
        pytest.param("", id="empty"),
        pytest.param("fix: x\n\nBREAKING CHANGE: y", id="breaking-footer"),
    ],
)
def test_a_commit_with_several_parents_is_a_merge_whatever_its_message(message: str) -> None:
    read = parse_commit(merge(message))

    assert isinstance(read, Change)
    assert read.type == "merge"
    assert not read.breaking
    assert read.breaking_notes == ()


def test_a_merge_word_that_is_not_a_merge_header_is_not_a_merge() -> None:
    assert isinstance(parse_commit(commit("Merged the two lists")), Unconventional)
    assert isinstance(parse_commit(commit("Merging is hard")), Unconventional)


# --- unconventional messages -----------------------------------------------------------------


@pytest.mark.parametrize(
    "message",
    [
        pytest.param("", id="empty"),
        pytest.param("\n\n", id="blank-lines"),
        pytest.param("   \n \n", id="whitespace"),
        pytest.param("\r\n\r\n", id="crlf-blank-lines"),
    ],
)
def test_an_empty_message_is_unconventional_and_says_so(message: str) -> None:
    read = unconventional(message)

    assert "empty" in read.reason


@pytest.mark.parametrize(
    "message",
    [
        pytest.param("fixup! feat: x", id="fixup"),
        pytest.param("squash! fix: y", id="squash"),
        pytest.param("amend! fix: y", id="amend"),
    ],
)
def test_an_autosquash_commit_is_unconventional_with_a_reason(message: str) -> None:
    read = unconventional(message)

    assert "fixup!" in read.reason
    assert "squash" in read.reason


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        pytest.param("feat:x", "no space after the colon", id="no-space-after-colon"),
        pytest.param("feat(api):x", "no space after the colon", id="no-space-with-scope"),
        pytest.param("Add login", "no 'type: ' prefix", id="no-type"),
        pytest.param("feat(api: x", "scope is not closed", id="scope-not-closed"),
        pytest.param("feat(): x", "scope in parentheses is empty", id="empty-scope"),
        pytest.param("feat( ): x", "scope in parentheses is empty", id="blank-scope"),
        pytest.param("feat()!: x", "scope in parentheses is empty", id="empty-scope-bang"),
        pytest.param("new feature: x", "is not a type", id="two-words"),
        pytest.param("1feat: x", "is not a type", id="digit-first"),
        pytest.param("feat!(api): x", "is not a type", id="bang-before-scope"),
        pytest.param("feat : x", "is not a type", id="space-before-colon"),
    ],
)
def test_an_unconventional_header_says_why(message: str, reason: str) -> None:
    read = unconventional(message)

    assert reason in read.reason


@pytest.mark.parametrize(
    "message",
    [
        pytest.param("feat:", id="nothing-after-colon"),
        pytest.param("feat: ", id="space-only"),
        pytest.param("feat:    \n\nbody", id="spaces-then-body"),
        pytest.param("feat(api): ", id="with-scope"),
        pytest.param("feat!: \t", id="bang-and-tab"),
    ],
)
def test_an_empty_description_is_unconventional(message: str) -> None:
    assert isinstance(parse_commit(commit(message)), Unconventional)


@pytest.mark.parametrize("message", ["feat:", "feat: ", "feat(api): ", "feat!: \t"])
def test_the_reason_for_an_empty_description_says_the_description_is_empty(message: str) -> None:
    read = unconventional(message)

    assert "description" in read.reason
    assert "empty" in read.reason


def test_the_unconventional_result_keeps_the_commit() -> None:
    original = commit("wip")

    read = parse_commit(original)

    assert isinstance(read, Unconventional)
    assert read.commit is original


# --- line endings and odd bytes --------------------------------------------------------------


def test_crlf_line_endings_are_read_like_lf() -> None:
    crlf = "feat(api)!: x\r\n\r\nBody line.\r\n\r\nBREAKING CHANGE: y\r\n  more\r\nCloses #9\r\n"

    read = change(crlf)

    assert read == Change(
        commit=read.commit,
        type="feat",
        scope="api",
        description="x",
        breaking=True,
        breaking_notes=("y\n  more",),
        body="Body line.",
        footers=(("BREAKING CHANGE", "y\n  more"), ("Closes", "#9")),
        references=(Reference("issue", "#9", "9"),),
    )


def test_a_crlf_git_revert_names_its_hash() -> None:
    read = change(f'Revert "feat: x"\r\n\r\nThis reverts commit {REVERTED}.\r\n')

    assert read.type == "revert"
    assert read.reverts == REVERTED


def test_a_lone_cr_is_a_line_break() -> None:
    read = change("fix: y\r\rBREAKING CHANGE: z")

    assert read.description == "y"
    assert read.breaking_notes == ("z",)


@pytest.mark.parametrize(
    "message",
    [
        pytest.param("feat: caf\ufffd au lait", id="description"),
        pytest.param("feat(\ufffd): x", id="scope"),
        pytest.param("feat: x\n\nbody \ufffd\ufffd bytes", id="body"),
        pytest.param("feat: x\n\nBREAKING CHANGE: na\ufffdve", id="footer"),
    ],
)
def test_a_message_with_replacement_characters_still_parses(message: str) -> None:
    read = change(message)

    assert read.type == "feat"


def test_replacement_characters_are_kept_in_the_text() -> None:
    read = change("feat(\ufffd): caf\ufffd\n\nBREAKING CHANGE: na\ufffdve")

    assert read.scope == "\ufffd"
    assert read.description == "caf\ufffd"
    assert read.breaking_notes == ("na\ufffdve",)


def test_a_replacement_character_in_the_type_makes_it_unconventional() -> None:
    read = unconventional("f\ufffdat: x")

    assert read.reason


# --- references ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "refs"),
    [
        pytest.param("fix: crash (#123)", ["#123"], id="in-description"),
        pytest.param("fix: #1 and #22", ["#1", "#22"], id="two-in-description"),
        pytest.param("fix: #7 and #7 again", ["#7"], id="repeated-once"),
        pytest.param("fix: y\n\nCloses #9", ["#9"], id="closes-footer"),
        pytest.param("fix: y\n\nRefs: #4, #5", ["#4", "#5"], id="refs-footer"),
        pytest.param("fix: y (#1)\n\nFixes #2", ["#1", "#2"], id="description-then-footer"),
        pytest.param("fix: y\n\nBREAKING CHANGE: see #8", ["#8"], id="breaking-footer"),
        pytest.param("fix: y\n\nThe body names #3.", [], id="not-in-body"),
        pytest.param("fix: use #0", [], id="zero"),
        pytest.param("fix: colour #fff", [], id="hex-colour"),
        pytest.param("fix: issue#12", [], id="glued-to-a-word"),
        pytest.param("fix: see org/repo#12", [], id="other-repository"),
        pytest.param("fix: entity &#123;", [], id="html-entity"),
        pytest.param("fix: #12abc", [], id="followed-by-letters"),
    ],
)
def test_issue_references_are_found_in_the_description_and_footers(
    message: str, refs: list[str]
) -> None:
    read = change(message)

    assert [ref.text for ref in read.references] == refs
    assert all(ref.kind == "issue" for ref in read.references)


def test_an_issue_reference_carries_its_number_as_id() -> None:
    read = change("fix: y\n\nCloses #9")

    assert read.references == (Reference(kind="issue", text="#9", id="9"),)


@pytest.mark.parametrize(
    "description",
    [
        pytest.param("decode UTF-8 names", id="utf-8"),
        pytest.param("sign with SHA-256", id="sha-256"),
        pytest.param("fix PROJ-123 crash", id="project-key-not-configured"),
        pytest.param("support ISO-8601 dates", id="iso-8601"),
    ],
)
def test_dashed_words_are_not_references_by_default(description: str) -> None:
    read = change(f"fix: {description}")

    assert read.references == ()


@pytest.mark.parametrize(
    ("message", "refs"),
    [
        pytest.param("fix: PROJ-123 crash", ["PROJ-123"], id="in-description"),
        pytest.param("fix: y\n\nRefs: PROJ-7", ["PROJ-7"], id="in-footer"),
        pytest.param("fix: OPS-4 and PROJ-5", ["OPS-4", "PROJ-5"], id="two-keys"),
        pytest.param("fix: UTF-8 and SHA-256", [], id="other-keys"),
        pytest.param("fix: proj-123", [], id="lower-case"),
        pytest.param("fix: XPROJ-123", [], id="longer-key"),
        pytest.param("fix: PROJ-0", [], id="zero"),
        pytest.param("fix: PROJ-12a", [], id="followed-by-letters"),
        pytest.param("fix: PROJ-1 (#2)", ["PROJ-1", "#2"], id="with-an-issue"),
    ],
)
def test_ticket_references_are_found_only_for_the_given_project_keys(
    message: str, refs: list[str]
) -> None:
    read = change(message, ticket_prefixes=("PROJ", "OPS"))

    assert sorted(ref.text for ref in read.references) == sorted(refs)


def test_a_ticket_reference_carries_its_whole_text_as_id() -> None:
    read = change("fix: PROJ-123", ticket_prefixes=("PROJ",))

    assert read.references == (Reference(kind="ticket", text="PROJ-123", id="PROJ-123"),)


def test_a_project_key_with_regex_characters_is_taken_literally() -> None:
    assert [r.text for r in change("fix: A.B-1", ticket_prefixes=("A.B",)).references] == ["A.B-1"]
    assert change("fix: AXB-1", ticket_prefixes=("A.B",)).references == ()


def test_the_git_revert_header_finds_ticket_references() -> None:
    read = change('Revert "fix: PROJ-9 crash"', ticket_prefixes=("PROJ",))

    assert [ref.text for ref in read.references] == ["PROJ-9"]


# --- the commit ------------------------------------------------------------------------------


def test_a_commit_knows_its_short_hash_and_subject() -> None:
    read = commit("\r\n  feat: x  \r\n\r\nbody")

    assert read.short_hash == HASH[:7]
    assert read.subject == "feat: x"


# --- properties ------------------------------------------------------------------------------

types = st.from_regex(r"[A-Za-z][A-Za-z0-9_-]{0,9}", fullmatch=True)
scopes = st.one_of(st.none(), st.from_regex(r"[a-z0-9/._-]{1,12}", fullmatch=True))
descriptions = st.text(
    alphabet=st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")), min_size=1
).filter(lambda text: text.strip() != "" and text == text.strip())


@given(st.text())
def test_any_text_is_read_as_a_change_or_an_unconventional_commit(message: str) -> None:
    original = commit(message)

    read = parse_commit(original, ticket_prefixes=("PROJ",))

    assert isinstance(read, Change | Unconventional)
    if isinstance(read, Change):
        assert read.type == read.type.lower()
        assert read.type
    else:
        assert read.reason


@given(types, scopes, st.booleans(), descriptions)
def test_a_well_formed_header_reads_back_its_parts(
    type_: str, scope: str | None, bang: bool, description: str
) -> None:
    header = type_ + (f"({scope})" if scope is not None else "") + ("!" if bang else "")
    read = change(f"{header}: {description}")

    assert read.type == type_.lower()
    assert read.scope == scope
    assert read.breaking == bang
    assert read.description == description


@given(
    st.lists(
        st.text(alphabet=st.characters(blacklist_categories=("Cc", "Cs")), min_size=1).filter(
            lambda text: text.strip() == text and text != ""
        ),
        min_size=1,
        max_size=4,
    )
)
def test_every_breaking_footer_is_kept(notes: list[str]) -> None:
    footers = "\n".join(f"BREAKING CHANGE: {note}" for note in notes)

    read = change(f"feat: x\n\nbody\n\n{footers}")

    assert read.breaking
    assert read.breaking_notes == tuple(notes)


@given(st.text(alphabet="abc \r\n:#!()"))
def test_crlf_and_lf_messages_read_alike(message: str) -> None:
    lf = parse_commit(commit(message.replace("\r", "")))
    crlf = parse_commit(commit(message.replace("\r", "").replace("\n", "\r\n")))

    assert type(lf) is type(crlf)
    if isinstance(lf, Change) and isinstance(crlf, Change):
        assert (lf.type, lf.scope, lf.description, lf.body, lf.footers) == (
            crlf.type,
            crlf.scope,
            crlf.description,
            crlf.body,
            crlf.footers,
        )


def test_a_squash_merge_quoting_a_revert_in_its_body_is_no_revert() -> None:
    """GitHub's squash merges list the squashed commits' messages in the body."""
    read = change(
        'feat(search): fuzzy matching (#42)\n\n* Revert "feat: dark mode"\n\n'
        f"This reverts commit {REVERTED}."
    )
    assert (read.type, read.reverts) == ("feat", None)
