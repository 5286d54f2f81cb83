from __future__ import annotations

import dataclasses
import hashlib
import json
from datetime import UTC, datetime, timedelta, timezone

from relman.domain.audit import (
    GENESIS,
    Entry,
    canonical_details,
    check_head,
    entry_hash,
    verify_chain,
)

T0 = datetime(2026, 11, 30, 22, 0, tzinfo=UTC)


def chain(count: int) -> list[Entry]:
    out, prev = [], GENESIS
    for n in range(1, count + 1):
        at, details = T0 + timedelta(seconds=n), {"reason": f"step {n}", "n": n}
        digest = entry_hash(prev, n, at, "ana", "deployment.approve", f"deployment/{n}", details)
        out.append(
            Entry(n, at, "ana", "deployment.approve", f"deployment/{n}", details, prev, digest)
        )
        prev = digest
    return out


def test_an_untouched_chain_is_intact_and_reports_its_head() -> None:
    entries = chain(5)
    report = check_head(verify_chain(entries), (5, entries[-1].hash))
    assert report.intact
    assert (report.entries, report.head_id, report.head_hash) == (5, 5, entries[-1].hash)


def test_an_empty_log_is_intact() -> None:
    assert check_head(verify_chain([]), (0, GENESIS)).intact


def test_a_changed_field_names_the_entry() -> None:
    entries = chain(5)
    entries[2] = dataclasses.replace(entries[2], details={"reason": "nothing to see", "n": 3})
    report = verify_chain(entries)
    assert report.problem is not None
    assert (report.problem.entry, report.problem.kind) == (3, "changed")
    assert (
        "entry 3 (deployment.approve on deployment/3 by ana) was changed" in report.problem.message
    )
    assert report.entries == 2


def test_each_field_is_covered_by_the_hash() -> None:
    base = chain(1)[0]
    for field, value in [
        ("actor", "mallory"),
        ("action", "deployment.reject"),
        ("object", "deployment/9"),
        ("at", T0),
        ("details", {}),
    ]:
        assert dataclasses.replace(base, **{field: value}).recomputed() != base.hash, field


def test_a_deleted_entry_in_the_middle_is_named() -> None:
    entries = chain(6)
    del entries[3]
    report = verify_chain(entries)
    assert report.problem is not None
    assert (report.problem.entry, report.problem.kind) == (4, "deleted")
    assert "entry 4 is missing: the log jumps from entry 3 to entry 5" in report.problem.message
    del entries[3]
    again = verify_chain(entries)
    assert again.problem is not None
    assert "entries 4–5 are missing" in again.problem.message


def test_a_deleted_and_renumbered_entry_breaks_the_link() -> None:
    entries = chain(4)
    renumbered = [entries[0], *(dataclasses.replace(e, id=e.id - 1) for e in entries[2:])]
    report = verify_chain(renumbered)
    assert report.problem is not None
    assert (report.problem.entry, report.problem.kind) == (2, "unchained")


def test_a_rewritten_entry_with_a_fresh_hash_breaks_the_next_link() -> None:
    entries = chain(4)
    forged = dataclasses.replace(entries[1], actor="mallory")
    entries[1] = dataclasses.replace(forged, hash=forged.recomputed())
    report = verify_chain(entries)
    assert report.problem is not None
    assert (report.problem.entry, report.problem.kind) == (3, "unchained")


def test_the_head_catches_deleted_newest_entries_and_a_rewritten_tail() -> None:
    entries = chain(5)
    head = (5, entries[-1].hash)
    cut = check_head(verify_chain(entries[:3]), head)
    assert cut.problem is not None
    assert (cut.problem.entry, cut.problem.kind) == (4, "truncated")
    assert "the log ends at entry 3 but relman wrote up to entry 5: entries 4–5 are gone" in (
        cut.problem.message
    )
    forged = dataclasses.replace(entries[-1], actor="mallory")
    forged = dataclasses.replace(forged, hash=forged.recomputed())
    rewritten = check_head(verify_chain([*entries[:4], forged]), head)
    assert rewritten.problem is not None
    assert rewritten.problem.kind == "unchained"
    missing_head = check_head(verify_chain(entries), None)
    assert missing_head.problem is not None
    assert "audit_head" in missing_head.problem.message


def test_the_hash_is_the_documented_formula() -> None:
    at = datetime(2026, 11, 30, 23, 0, 0, 5, tzinfo=timezone(timedelta(hours=1)))
    body = {
        "id": 1,
        "at": "2026-11-30T22:00:00.000005+00:00",
        "actor": "ana",
        "action": "lock.create",
        "object": "environment/production",
        "details": {"reason": "Überprüfung"},
        "prev_hash": GENESIS,
    }
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    expected = hashlib.sha256(text.encode()).hexdigest()
    got = entry_hash(
        GENESIS, 1, at, "ana", "lock.create", "environment/production", {"reason": "Überprüfung"}
    )
    assert got == expected


def test_details_are_hashed_as_the_store_gives_them_back() -> None:
    assert canonical_details({"steps": (1, 2), 3: "x", "at": T0}) == {
        "steps": [1, 2],
        "3": "x",
        "at": str(T0),
    }


def test_an_exported_line_reads_back_as_the_same_entry() -> None:
    entry = chain(2)[1]
    line = json.loads(json.dumps({**dataclasses.asdict(entry), "at": entry.at.isoformat()}))
    assert Entry.from_json(line) == entry
    assert Entry.from_json(line).recomputed() == entry.hash
