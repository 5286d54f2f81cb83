"""Approvals as policy: who may approve a deployment, how many must, and who may not.

An approval rule (`approval: {required: 2, from: [release-manager, alice], forbid: [requester,
release_author, commit_authors]}`) names approvers by role (that role or a higher one) or by user.
`forbid` is separation of duties: the person who requested the deployment, the person who
registered the release, and the authors of its commits cannot approve it.

Several rules on one promotion (the environment's and the service's) merge into one: the union of
their approvers, the highest `required`, the union of `forbid`. One approval counts once, so
merged rules never wait on each other: there is no deadlock between rules. A rule that names only
users needs at least `required` of them; the config refuses fewer.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from relman.domain import checks
from relman.domain.checks import Issues, Path
from relman.domain.gates import GateResult, Verdict
from relman.domain.names import closest_name
from relman.domain.roles import Role
from relman.errors import Forbidden

__all__ = [
    "FORBID",
    "ApprovalFact",
    "ApprovalRule",
    "Parties",
    "check_approver",
    "evaluate_approvals",
    "merge_rules",
    "parse_approval",
]

FORBID = ("requester", "release_author", "commit_authors")
DEFAULT_FROM = (Role.RELEASE_MANAGER.value,)
DEFAULT_FORBID = ("requester",)
_FIELDS = ("required", "from", "forbid")
_ROLES = tuple(role.value for role in Role)


@dataclass(frozen=True)
class ApprovalRule:
    required: int = 1
    approvers: tuple[str, ...] = DEFAULT_FROM  # role names and user names
    forbid: tuple[str, ...] = DEFAULT_FORBID

    @property
    def roles(self) -> tuple[Role, ...]:
        return tuple(Role(name) for name in self.approvers if name in _ROLES)

    @property
    def users(self) -> tuple[str, ...]:
        return tuple(name for name in self.approvers if name not in _ROLES)

    def describe(self) -> str:
        who = " or ".join([*(f"a {role.value}" for role in self.roles), *self.users])
        return f"{self.required} approval{'s' if self.required != 1 else ''} from {who}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "required": self.required,
            "from": list(self.approvers),
            "forbid": list(self.forbid),
        }


@dataclass(frozen=True)
class Parties:
    """Who had a hand in the deployment: each of them may be barred from approving it."""

    requester: str
    release_author: str | None
    commit_authors: tuple[tuple[str, str], ...] = ()  # (name, email)

    def barred(self, user: str, forbid: Sequence[str]) -> str | None:
        """Why `user` may not approve under `forbid`, or None."""
        who = user.casefold()
        if "requester" in forbid and who == self.requester.casefold():
            return f"{user} requested this deployment"
        if (
            "release_author" in forbid
            and self.release_author is not None
            and who == self.release_author.casefold()
        ):
            return f"{user} registered this release"
        if "commit_authors" in forbid:
            for name, email in self.commit_authors:
                if who in (name.casefold(), email.casefold()):
                    return f"{user} wrote commits of this release ({name} <{email}>)"
        return None


@dataclass(frozen=True)
class ApprovalFact:
    user: str
    role: str
    decision: str  # approve | reject
    comment: str | None
    at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {
            "user": self.user,
            "role": self.role,
            "decision": self.decision,
            "comment": self.comment,
            "at": self.at.isoformat(),
        }


def parse_approval(raw: object, path: Path, issues: Issues) -> ApprovalRule:
    expected = "approval: {required: N, from: [roles or users], forbid: [...]}"
    found = checks.fields(raw, path, issues, expected, _FIELDS)
    if found is None:
        return ApprovalRule()
    required = found.get("required", 1)
    if not checks.is_int(required) or required < 1:
        issues.add((*path, "required"), f"got {checks.describe(required)}", "a whole number ≥ 1")
        required = 1
    approvers = checks.string_list(found, "from", path, issues) or DEFAULT_FROM
    for index, name in enumerate(approvers):
        guess = closest_name(name, _ROLES) if name not in _ROLES else None
        if guess:
            issues.add(
                (*path, "from", index),
                f"'{name}' is not a role (did you mean '{guess}'?); a name that is not a role "
                "is read as a user's, so this one would never match",
                "a role (" + ", ".join(_ROLES) + ") or a user name",
            )
    forbid = (
        checks.string_list(found, "forbid", path, issues) if "forbid" in found else DEFAULT_FORBID
    )
    for index, name in enumerate(forbid):
        if name not in FORBID:
            issues.add(
                (*path, "forbid", index),
                f"unknown party '{name}'; {checks.suggest(name, FORBID)}",
                "one of: " + ", ".join(FORBID),
            )
    rule = ApprovalRule(required=required, approvers=approvers, forbid=forbid)
    if not rule.roles and len(set(rule.users)) < required:
        issues.add(
            (*path, "required"),
            f"{required} approvals are required but only {len(set(rule.users))} users may give "
            "them, so it could never pass",
            "a role in 'from' (like release-manager), more users, or a lower 'required'",
        )
    return rule


def merge_rules(rules: Iterable[ApprovalRule]) -> ApprovalRule | None:
    """One rule for all: union of approvers and of forbid, the highest `required`."""
    rules = list(rules)
    if not rules:
        return None
    return ApprovalRule(
        required=max(rule.required for rule in rules),
        approvers=tuple(dict.fromkeys(name for rule in rules for name in rule.approvers)),
        forbid=tuple(dict.fromkeys(name for rule in rules for name in rule.forbid)),
    )


def _eligible(rule: ApprovalRule, user: str, role: Role) -> bool:
    if user.casefold() in (name.casefold() for name in rule.users):
        return True
    return any(role.rank >= needed.rank for needed in rule.roles)


def check_approver(
    rule: ApprovalRule, user: str, role: Role, parties: Parties, deployment_id: int
) -> None:
    """Raise Forbidden when `user` may not approve or reject the deployment: not an approver
    the rule names, or barred by separation of duties."""
    if not _eligible(rule, user, role):
        raise Forbidden(
            f"{user} ({role.value}) may not approve deployment {deployment_id}: it needs "
            f"{rule.describe()}",
            details={"deployment": deployment_id, "rule": rule.to_dict(), "user": user},
        )
    barred = parties.barred(user, rule.forbid)
    if barred is not None:
        raise Forbidden(
            f"{barred}, so they may not approve deployment {deployment_id} (separation of "
            f"duties: forbid {', '.join(rule.forbid)}); ask another approver",
            details={"deployment": deployment_id, "rule": rule.to_dict(), "user": user},
        )


def evaluate_approvals(
    rule: ApprovalRule, facts: Sequence[ApprovalFact], parties: Parties
) -> GateResult:
    """Pass with `required` approvals from distinct eligible people; fail on a rejection by one
    of them; pending otherwise. Decisions from people the rule does not (or no longer) allow
    are kept in the evidence but do not count."""
    latest: dict[str, ApprovalFact] = {}
    for fact in sorted(facts, key=lambda f: f.at):
        latest[fact.user.casefold()] = fact
    counted = [
        f
        for f in latest.values()
        if _eligible(rule, f.user, Role(f.role)) and parties.barred(f.user, rule.forbid) is None
    ]
    evidence = {
        "rule": rule.to_dict(),
        "decisions": [f.to_dict() for f in latest.values()],
        "counted": [f.user for f in counted],
    }
    rejected = [f for f in counted if f.decision == "reject"]
    name = "approval"
    if rejected:
        first = rejected[0]
        why = f": {first.comment}" if first.comment else ""
        return GateResult(
            "approval", name, Verdict.FAIL, f"rejected by {first.user}{why}", evidence
        )
    approved = [f.user for f in counted if f.decision == "approve"]
    if len(approved) >= rule.required:
        return GateResult(
            "approval", name, Verdict.PASS, f"approved by {', '.join(approved)}", evidence
        )
    have = f"; approved by {', '.join(approved)}" if approved else ""
    return GateResult(
        "approval",
        name,
        Verdict.PENDING,
        f"needs {rule.describe()}: {len(approved)} of {rule.required}{have}",
        evidence,
    )
