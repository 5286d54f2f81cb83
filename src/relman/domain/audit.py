"""The audit log's hash chain: how an entry is hashed, and how a chain is checked.

Entry n (numbered 1, 2, 3, … with no gaps) stores the hash of entry n-1 and its own hash,
SHA-256 over the canonical JSON of its content and that previous hash:

    sha256(json.dumps({"id": n, "at": "2026-11-30T22:49:27.123456+00:00", "actor": …,
                       "action": …, "object": …, "details": {…}, "prev_hash": …},
                      sort_keys=True, separators=(",", ":"), ensure_ascii=False))

The first entry's previous hash is 64 zeros. The store also keeps the chain's head (the last
id and hash) in a row of its own, so deleting the newest entries is caught as well. Anyone can
recompute the chain from `relman audit export --jsonl` with these rules alone.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

__all__ = [
    "GENESIS",
    "ChainProblem",
    "ChainReport",
    "Entry",
    "canonical_details",
    "check_head",
    "entry_hash",
    "verify_chain",
]

GENESIS = "0" * 64


def canonical_details(details: dict[str, Any]) -> dict[str, Any]:
    """`details` as the store gives it back (JSON round trip: tuples become lists, keys
    strings), so the hash computed now matches the one recomputed later."""
    value: dict[str, Any] = json.loads(json.dumps(details, default=str, allow_nan=False))
    return value


def entry_hash(
    prev_hash: str,
    entry_id: int,
    at: datetime,
    actor: str,
    action: str,
    obj: str,
    details: dict[str, Any],
) -> str:
    body = {
        "id": entry_id,
        "at": at.astimezone(UTC).isoformat(timespec="microseconds"),
        "actor": actor,
        "action": action,
        "object": obj,
        "details": details,
        "prev_hash": prev_hash,
    }
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class Entry:
    id: int
    at: datetime
    actor: str
    action: str
    object: str
    details: dict[str, Any]
    prev_hash: str
    hash: str

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Entry:
        """An entry of `relman audit export --jsonl`; KeyError, TypeError or ValueError when
        the object is not one."""
        details = data["details"]
        if not isinstance(details, dict):
            raise TypeError("details is not an object")
        return cls(
            id=int(data["id"]),
            at=datetime.fromisoformat(data["at"]),
            actor=str(data["actor"]),
            action=str(data["action"]),
            object=str(data["object"]),
            details=details,
            prev_hash=str(data["prev_hash"]),
            hash=str(data["hash"]),
        )

    def recomputed(self) -> str:
        return entry_hash(
            self.prev_hash, self.id, self.at, self.actor, self.action, self.object, self.details
        )


@dataclass(frozen=True)
class ChainProblem:
    """The first place the chain is broken; `entry` is the id of the entry to look at."""

    entry: int
    kind: str  # changed | deleted | truncated | unchained
    message: str


@dataclass(frozen=True)
class ChainReport:
    entries: int
    head_id: int
    head_hash: str
    problem: ChainProblem | None

    @property
    def intact(self) -> bool:
        return self.problem is None


def verify_chain(entries: Iterable[Entry]) -> ChainReport:
    """Walk `entries` in id order and report the first break within them."""
    expected_id, expected_prev, count = 1, GENESIS, 0

    def broken(entry: int, kind: str, message: str) -> ChainReport:
        return ChainReport(
            count, expected_id - 1, expected_prev, ChainProblem(entry, kind, message)
        )

    for entry in entries:
        if entry.id != expected_id:
            return broken(
                expected_id,
                "deleted",
                f"{_entries(expected_id, entry.id - 1)} missing: the log jumps from entry "
                f"{expected_id - 1} to entry {entry.id}, so a row was deleted",
            )
        if entry.prev_hash != expected_prev:
            return broken(
                entry.id,
                "unchained",
                f"entry {entry.id} does not follow entry {entry.id - 1}: its prev_hash "
                f"{entry.prev_hash[:12]}… is not the hash {expected_prev[:12]}… of the entry "
                "before it, so a row was replaced or the chain re-written",
            )
        if entry.recomputed() != entry.hash:
            return broken(
                entry.id,
                "changed",
                f"entry {entry.id} ({entry.action} on {entry.object} by {entry.actor}) was "
                "changed after it was written: its content no longer matches its hash",
            )
        count += 1
        expected_id, expected_prev = entry.id + 1, entry.hash
    return ChainReport(count, expected_id - 1, expected_prev, None)


def check_head(report: ChainReport, head: tuple[int, str] | None) -> ChainReport:
    """`report` checked against the head the store keeps: the (id, hash) of the entry relman
    wrote last. This catches what a walk cannot see: the newest entries deleted."""
    if report.problem is not None:
        return report
    last = report.head_id
    if head is None:
        problem = ChainProblem(
            last + 1,
            "truncated",
            "the audit log's head (table audit_head) was deleted, so nothing shows whether "
            f"entries after entry {last} were deleted",
        )
    elif head == (last, report.head_hash):
        return report
    elif head[0] > last:
        problem = ChainProblem(
            last + 1,
            "truncated",
            f"the log ends at entry {last} but relman wrote up to entry {head[0]}: "
            f"{_entries(last + 1, head[0])} gone",
        )
    else:
        problem = ChainProblem(
            min(head[0], last),
            "unchained",
            f"the newest entry is {last}, but relman wrote entry {head[0]} last (hash "
            f"{head[1][:12]}…): the log was re-written or added to behind relman's back",
        )
    return ChainReport(report.entries, report.head_id, report.head_hash, problem)


def _entries(first: int, last: int) -> str:
    return f"entry {first} is" if first == last else f"entries {first}–{last} are"
