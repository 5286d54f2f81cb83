"""Gates: what must hold before a release may go to an environment, and their verdicts.

A promotion gathers the gates of the lifecycle (order, soak), of the environment and of the
service (`gates:` in relman.yaml, `depends_on`), and relman's own state (locks, freezes). Each
gate answers with a verdict:

    pass     nothing stands in the way
    pending  not yet: it may clear by itself (a freeze ends, a lock expires) or by someone's
             act (an approval, a test report, a dependency deployed, a lock lifted)
    fail     no: a rejection, failed tests, a spent error budget; the promotion is refused

A promotion goes ahead when every gate passes, waits (state `waiting`) while some are pending,
and is refused as soon as one fails. Each verdict carries its reason and its evidence (the
values, times and people it was decided from), for the go/no-go report and the deployment's
evidence record.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

__all__ = [
    "RECHECK",
    "GateReport",
    "GateResult",
    "Verdict",
    "next_check",
    "report_from_dict",
    "report_of",
]

# A waiting deployment is looked at again after this at the latest (metrics, dependencies);
# approvals, test reports, unlocks and freeze changes look at it at once.
RECHECK = timedelta(seconds=30)


class Verdict(StrEnum):
    PASS = "pass"  # noqa: S105 - a verdict, not a password
    PENDING = "pending"
    FAIL = "fail"


@dataclass(frozen=True)
class GateResult:
    """One gate's verdict. `gate` is its kind (lock, freeze, approval, tests, dependency, slo,
    metric, lifecycle, soak), `name` what a person reads ("lock on production"), `clears_at`
    when a pending gate clears by itself (a freeze's end, a lock's expiry)."""

    gate: str
    name: str
    verdict: Verdict
    reason: str
    evidence: dict[str, Any] = field(default_factory=dict)
    clears_at: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "gate": self.gate,
            "name": self.name,
            "verdict": self.verdict.value,
            "reason": self.reason,
            "evidence": self.evidence,
            "clears_at": None if self.clears_at is None else self.clears_at.isoformat(),
        }


@dataclass(frozen=True)
class GateReport:
    """Every gate's verdict at `at`; the promotion's verdict is the worst of them."""

    at: datetime
    results: tuple[GateResult, ...]

    @property
    def verdict(self) -> Verdict:
        verdicts = {result.verdict for result in self.results}
        for worst in (Verdict.FAIL, Verdict.PENDING):
            if worst in verdicts:
                return worst
        return Verdict.PASS

    def having(self, verdict: Verdict) -> list[GateResult]:
        return [result for result in self.results if result.verdict is verdict]

    @property
    def summary(self) -> str:
        """One line: why the promotion is refused, or what it waits for."""
        failed = self.having(Verdict.FAIL)
        if failed:
            return "; ".join(f"{r.name}: {r.reason}" for r in failed)
        pending = self.having(Verdict.PENDING)
        if pending:
            return "waiting for " + "; ".join(f"{r.name}: {r.reason}" for r in pending)
        return f"all {len(self.results)} gates pass" if self.results else "no gates"

    def clears_at(self) -> datetime | None:
        """When every pending gate clears by itself, if they all do (else None)."""
        pending = self.having(Verdict.PENDING)
        times = [r.clears_at for r in pending]
        if not pending or any(t is None for t in times):
            return None
        return max(t for t in times if t is not None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict.value,
            "summary": self.summary,
            "at": self.at.isoformat(),
            "gates": [result.to_dict() for result in self.results],
        }


def report_of(at: datetime, results: Iterable[GateResult]) -> GateReport:
    return GateReport(at=at, results=tuple(results))


def report_from_dict(data: dict[str, Any]) -> GateReport:
    return GateReport(
        at=datetime.fromisoformat(data["at"]),
        results=tuple(
            GateResult(
                gate=item["gate"],
                name=item["name"],
                verdict=Verdict(item["verdict"]),
                reason=item["reason"],
                evidence=item.get("evidence") or {},
                clears_at=datetime.fromisoformat(item["clears_at"])
                if item.get("clears_at")
                else None,
            )
            for item in data["gates"]
        ),
    )


def next_check(report: GateReport, now: datetime) -> datetime:
    """When to judge a waiting deployment again: when its first pending gate clears by itself,
    and within RECHECK anyway."""
    times = [r.clears_at for r in report.having(Verdict.PENDING) if r.clears_at is not None]
    return min([now + RECHECK, *(max(t, now) for t in times)])
