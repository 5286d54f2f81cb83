"""Conventional Commits 1.0: reading a commit message into a change, or saying why it is not one.

A conventional message is `type(scope)!: description`, then an optional body, then optional
footers (`Token: value` or `Token #value`; `BREAKING CHANGE` is the one token with a space).
Types are compared case-insensitively, as the specification asks; `BREAKING CHANGE` and its
synonym `BREAKING-CHANGE` must be upper case.

The records are NamedTuples, immutable like frozen dataclasses and six times cheaper to make:
a long history makes tens of thousands of them.

Reverts come in two shapes and both are understood: the conventional `revert: <header>` and git's
own `Revert "<header>"` with `This reverts commit <hash>.` in the body. A revert of a revert
re-applies the original change, so it is read as that change. Merge commits carry no change of
their own (the commits of the merged branch do) and are read as `merge`.
"""

from __future__ import annotations

import re
from typing import NamedTuple

__all__ = [
    "BREAKING_TOKENS",
    "Change",
    "Commit",
    "Reference",
    "Unconventional",
    "parse_commit",
]

BREAKING_TOKENS = ("BREAKING CHANGE", "BREAKING-CHANGE")

_HEADER = re.compile(
    r"(?P<type>[A-Za-z][A-Za-z0-9_-]*)"  # a noun; letters first
    r"(?:\((?P<scope>[^()\r\n]*)\))?"
    r"(?P<bang>!)?"
    r": (?P<description>.*)",
    re.ASCII,
)
_FOOTER = re.compile(
    r"(?P<token>BREAKING CHANGE|[A-Za-z][A-Za-z0-9-]*)(?:: | (?=#))(?P<value>.*)"
    r"|(?P<token_only>BREAKING[ -]CHANGE):[ \t]*"  # the text may start on the next line
)
_BREAKING_LINE = re.compile(r"BREAKING[ -]CHANGE:")
_GIT_REVERT = re.compile(r'Revert "(?P<inner>.*)"\Z')
_GIT_REAPPLY = re.compile(r'Reapply "(?P<inner>.*)"\Z')
_HEX = re.compile(r"\b[0-9a-f]{7,64}\b", re.ASCII)
_REVERTS_HASH = re.compile(r"This reverts commit (?P<hash>[0-9a-f]{7,64})", re.ASCII)
_ISSUE_REF = re.compile(r"(?<![\w&/])#(?P<number>[1-9][0-9]{0,9})\b", re.ASCII)
_MERGE_HEADER = re.compile(r"Merge (?:branch|pull request|remote-tracking branch|tag|commit) ")


class Commit(NamedTuple):
    """One commit as git gives it: the message is the raw text (subject and body)."""

    hash: str
    message: str
    author: str = ""
    email: str = ""
    time: int = 0  # author time, seconds since the epoch
    parents: int = 1  # more than one: a merge commit

    @property
    def short_hash(self) -> str:
        return self.hash[:7]

    @property
    def subject(self) -> str:
        return _normalised(self.message).split("\n", 1)[0].strip()


class Reference(NamedTuple):
    """An issue or ticket a commit names: `#123` (kind 'issue') or `PROJ-123` ('ticket')."""

    kind: str
    text: str  # as written: '#123', 'PROJ-123'
    id: str  # '123', 'PROJ-123'


class Change(NamedTuple):
    """A conventional commit, read."""

    commit: Commit
    type: str  # lower case; 'revert' for reverts, 'merge' for merge commits
    scope: str | None
    description: str
    breaking: bool
    breaking_notes: tuple[str, ...] = ()  # the text of BREAKING CHANGE footers
    body: str = ""
    footers: tuple[tuple[str, str], ...] = ()
    references: tuple[Reference, ...] = ()
    reverts: str | None = None  # the hash a git-style revert names, when it names one


class Unconventional(NamedTuple):
    """A commit whose message does not follow the convention, and why."""

    commit: Commit
    reason: str


def parse_commit(
    commit: Commit, *, ticket_prefixes: tuple[str, ...] = ()
) -> Change | Unconventional:
    """Read one commit. `ticket_prefixes` are the project keys (like 'PROJ') whose `PROJ-123`
    references are recognised; `#123` is always recognised."""
    header, _, rest = _normalised(commit.message).partition("\n")
    header = header.strip()
    if commit.parents > 1 or (header.startswith("Merge ") and _MERGE_HEADER.match(header)):
        return Change(commit, "merge", None, header, breaking=False)
    if not header:
        return Unconventional(commit, "the message is empty")
    if header.startswith(('Revert "', 'Reapply "')):
        return _git_revert(commit, header, rest, ticket_prefixes)
    match = _HEADER.fullmatch(header)
    if match is None:
        return Unconventional(commit, _why_not(header))
    kind, scope, bang, description = match.group("type", "scope", "bang", "description")
    description = description.strip()
    if scope is not None and not scope.strip():
        return Unconventional(commit, "the scope in parentheses is empty; drop the ()")
    body, footers = _body_and_footers(rest) if rest else ("", ())
    breaking_notes = (
        tuple(value for token, value in footers if token in BREAKING_TOKENS) if footers else ()
    )
    kind = kind.lower()
    if kind == "revert":
        # `revert: feat(ui): dark mode` reads like git's `Revert "feat(ui): dark mode"`:
        # "dark mode", scope ui.
        inner = _HEADER.fullmatch(description)
        if inner is not None and inner.group("description").strip():
            description = inner.group("description").strip()
            scope = scope if scope is not None else inner.group("scope")
    return Change(
        commit=commit,
        type=kind,
        scope=scope.strip() if scope is not None else None,
        description=description,
        breaking=bool(bang) or bool(breaking_notes),
        breaking_notes=breaking_notes,
        body=body,
        footers=footers,
        references=_references(description, footers, ticket_prefixes),
        # Only a revert reverts: a squash merge's body quotes "This reverts commit …" of the
        # commits it squashed, and must not cancel anything.
        reverts=_reverted_hash(body, footers) if kind == "revert" else None,
    )


def _git_revert(
    commit: Commit, header: str, rest: str, ticket_prefixes: tuple[str, ...]
) -> Change | Unconventional:
    """git's `Revert "X"` reverts X; `Revert "Revert "X""` (or `Reapply "X"`, as git 2.43
    writes it) applies X again, so it reads as X; three levels revert again, and so on.

    Either way `reverts` is the hash the body names, so that read_changes can cancel a revert
    against its target within a range.
    """
    depth, inner = 0, header
    while True:
        layer = _GIT_REVERT.match(inner)
        if layer is not None:
            depth, inner = depth + 1, layer.group("inner")
            continue
        layer = _GIT_REAPPLY.match(inner)
        if layer is not None:
            depth, inner = depth + 2, layer.group("inner")
            continue
        break
    body, footers = _body_and_footers(rest)
    reverts = _reverted_hash(rest, ())
    if depth % 2 == 0:  # applied again: the original change, from this commit
        original = parse_commit(Commit(commit.hash, inner), ticket_prefixes=ticket_prefixes)
        if isinstance(original, Unconventional):
            return Unconventional(
                commit, f"applies again a commit that is not conventional: {inner}"
            )
        return original._replace(commit=commit, body=body, footers=footers, reverts=reverts)
    original_header = _HEADER.fullmatch(inner)
    description, scope = inner, None
    if original_header is not None:
        description = original_header.group("description").strip() or inner
        scope = original_header.group("scope")
    return Change(
        commit=commit,
        type="revert",
        scope=scope.strip() if scope else None,
        description=description,
        breaking=False,
        body=body,
        footers=footers,
        references=_references(inner, footers, ticket_prefixes),
        reverts=reverts,
    )


def _normalised(message: str) -> str:
    if "\r" in message:
        message = message.replace("\r\n", "\n").replace("\r", "\n")
    return message.strip("\n")


def _why_not(header: str) -> str:
    if header.startswith(("fixup! ", "squash! ", "amend! ")):
        return "an autosquash commit (fixup!/squash!/amend!) that was never squashed"
    head, colon, rest = header.partition(":")
    if not colon:
        return "no 'type: ' prefix, like 'fix: …' or 'feat(api): …'"
    if not rest.strip():
        return "the description after 'type: ' is empty"
    if not rest.startswith(" "):
        return "no space after the colon; write 'type: description'"
    if "(" in head and not head.endswith((")", ")!")):
        return "the scope is not closed; write 'type(scope): …'"
    return f"'{head}' is not a type; a type is a word like feat, fix or docs"


def _body_and_footers(rest: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    """Split what follows the header: footers start at the first footer line that begins a
    paragraph (or at a `BREAKING CHANGE:` line wherever it stands: missing one would miss a
    major release), and every later line either starts a footer or continues the previous one.
    """
    if ": " not in rest and " #" not in rest and "CHANGE:" not in rest:
        return rest.strip(), ()  # no line of it can be a footer
    lines = rest.split("\n")
    start = None
    for index, line in enumerate(lines):
        starts_paragraph = index > 0 and not lines[index - 1].strip()
        if (starts_paragraph and _FOOTER.fullmatch(line)) or _BREAKING_LINE.match(line):
            start = index
            break
    if start is None:
        return "\n".join(lines).strip(), ()
    footers: list[list[str]] = []
    for line in lines[start:]:
        match = _FOOTER.fullmatch(line)
        if match is not None:
            token = match.group("token") or match.group("token_only")
            footers.append([token, match.group("value") or ""])
        elif footers:
            footers[-1][1] += "\n" + line
    body = "\n".join(lines[:start]).strip()
    return body, tuple((token, value.strip()) for token, value in footers)


def _reverted_hash(body: str, footers: tuple[tuple[str, str], ...]) -> str | None:
    """The commit a revert names: git's "This reverts commit H." or a `Refs: H` footer (as
    the Conventional Commits FAQ suggests for `revert:` commits)."""
    match = _REVERTS_HASH.search(body) if "This reverts commit" in body else None
    if match:
        return match.group("hash")
    for token, value in footers:
        if token.lower() == "refs":
            found = _HEX.search(value)
            if found:
                return found.group(0)
    return None


def _references(
    description: str, footers: tuple[tuple[str, str], ...], ticket_prefixes: tuple[str, ...]
) -> tuple[Reference, ...]:
    texts = [description, *(value for _, value in footers)]
    found: dict[str, Reference] = {}
    for text in texts:
        if "#" not in text and not ticket_prefixes:
            continue
        for match in _ISSUE_REF.finditer(text):
            ref = Reference("issue", match.group(0), match.group("number"))
            found.setdefault(ref.text, ref)
        if ticket_prefixes:
            for match in _ticket_pattern(ticket_prefixes).finditer(text):
                ref = Reference("ticket", match.group(0), match.group(0))
                found.setdefault(ref.text, ref)
    return tuple(found.values())


_TICKETS: dict[tuple[str, ...], re.Pattern[str]] = {}


def _ticket_pattern(prefixes: tuple[str, ...]) -> re.Pattern[str]:
    pattern = _TICKETS.get(prefixes)
    if pattern is None:
        keys = "|".join(re.escape(prefix) for prefix in prefixes)
        pattern = re.compile(rf"\b(?:{keys})-[1-9][0-9]{{0,9}}\b", re.ASCII)
        _TICKETS[prefixes] = pattern
    return pattern
