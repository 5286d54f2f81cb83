"""Request and response bodies of the REST API (Pydantic lives only at this edge)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from relman.domain.audit import ChainReport

T = TypeVar("T")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PageOf(BaseModel, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int


class EnvironmentRead(BaseModel):
    name: str
    tier: str
    position: int
    created_at: datetime
    updated_at: datetime


class LifecycleRead(BaseModel):
    name: str
    phases: list[dict[str, Any]]
    created_at: datetime
    updated_at: datetime


class ServiceRead(BaseModel):
    name: str
    lifecycle: str
    spec: dict[str, Any]
    created_at: datetime
    updated_at: datetime


Name = Annotated[str, Field(min_length=1, max_length=63)]
Text = Annotated[str, Field(max_length=100_000)]


class Artifact(Strict):
    name: str = Field(max_length=200)
    digest: str = Field(
        max_length=300, examples=["sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c1"]
    )


Short = Annotated[str, Field(max_length=1000)]
CommitHash = Annotated[str, Field(pattern=r"^[0-9a-f]{7,64}$")]


class NoteEntry(Strict):
    """One line of release notes: a conventional commit (type None: one that is not)."""

    # Generous per item: whatever a commit message holds, `relman release create --from-git`
    # sends; the size of the whole request is what the limits on `notes` and `entries` bound.
    type: Text | None
    scope: Text | None
    description: Text
    breaking: bool
    breaking_notes: list[Text] = Field(default=[], max_length=1000)
    hash: CommitHash | None
    refs: list[Annotated[str, Field(max_length=1000)]] = Field(default=[], max_length=10_000)
    author: Text | None


class NoteSection(Strict):
    title: Text
    entries: list[NoteEntry] = Field(max_length=100_000)


class ReleaseCommit(Strict):
    """A commit the release contains, for lead time and authorship."""

    hash: CommitHash
    author: Annotated[str, Field(max_length=200)]
    email: Annotated[str, Field(max_length=320)]
    authored_at: datetime


class ReleaseCreate(Strict):
    service: Name
    version: str = Field(max_length=128, examples=["1.4.0", "1.4.0-rc.1"])
    commit: str | None = Field(default=None, max_length=64)
    notes: Annotated[str, Field(max_length=2_000_000)] | None = None
    artifacts: list[Artifact] = Field(default=[], max_length=100)
    changes: list[NoteSection] | None = Field(
        default=None, max_length=100, description="The notes as data (relman release --from-git)"
    )
    commits: list[ReleaseCommit] = Field(
        default=[], max_length=100_000, description="The commits the release contains"
    )


class ReleaseRead(BaseModel):
    id: int
    service: str
    version: str
    commit: str | None
    notes: str | None
    artifacts: list[Artifact]
    changes: list[dict[str, Any]] | None
    commit_count: int
    created_at: datetime
    created_by: str


class ReleaseChanges(BaseModel):
    """What promoting `candidate` to `environment` changes: releases added (forward) or
    taken away (back), newest first."""

    service: str
    environment: str
    running: str | None
    candidate: str
    direction: str = Field(examples=["forward", "back", "none"])
    releases: list[ReleaseRead]


class DeploymentCreate(Strict):
    """Record a deployment that ran outside relman; it must have ended."""

    service: Name
    version: str = Field(max_length=128)
    environment: Name
    state: str = Field(max_length=20, examples=["succeeded"])
    reason: Text | None = None


class PromotionCreate(Strict):
    """Deploy a release to an environment, judged by every gate (docs/gates.md)."""

    service: Name
    version: str = Field(max_length=128)
    environment: Name
    at: AwareDatetime | None = Field(
        default=None,
        description="Start no earlier than this (with a time zone); it waits until then, and "
        "approvals may be given before",
    )


class GateRead(BaseModel):
    gate: str = Field(
        description="permission, lifecycle, lock, freeze, schedule, approval, tests, "
        "dependency, slo, metric"
    )
    name: str
    verdict: str = Field(description="pass, pending or fail")
    reason: str
    evidence: dict[str, Any]
    clears_at: datetime | None = Field(description="when a pending gate clears by itself")


class GateReportRead(BaseModel):
    verdict: str = Field(description="pass (it would start), pending (wait) or fail (refused)")
    summary: str
    at: datetime
    gates: list[GateRead]


class TestReportCreate(Strict):
    """A JUnit XML report as CI wrote it (pytest --junitxml, Surefire, Gradle, Jest, …)."""

    __test__ = False  # not a pytest test class

    junit: str = Field(max_length=50 * 1024 * 1024, description="The report's XML text")
    coverage: float | None = Field(default=None, ge=0, le=100, description="Line coverage, %")
    source: str = Field(default="report.xml", max_length=200, description="Its file name")


class TestReportRead(BaseModel):
    __test__ = False

    id: int
    tests: int
    failures: int
    errors: int
    skipped: int
    coverage: float | None
    passed: bool
    verdict: str
    summary: dict[str, Any] = Field(description="Counts, duration and the failed cases")
    source: str
    reported_by: str
    reported_at: datetime


class ApprovalCreate(Strict):
    decision: Literal["approve", "reject"]
    comment: Text | None = Field(default=None, description="Required to reject: the reason")


class ApprovalRead(BaseModel):
    user: str
    role: str
    decision: str
    comment: str | None
    at: datetime

    model_config = ConfigDict(from_attributes=True)


class ReasonRequest(Strict):
    reason: Text = Field(min_length=1)


class FreezeWindowRead(BaseModel):
    start: datetime
    end: datetime


class FreezeRead(BaseModel):
    name: str
    source: str = Field(description="config (relman.yaml), cli (freeze create) or stop")
    spec: dict[str, Any] = Field(description="the fields as in relman.yaml")
    created_by: str
    created_at: datetime
    active: bool
    window: FreezeWindowRead | None = Field(description="the window in force now")
    next: FreezeWindowRead | None = Field(description="the next window")


class LockCreate(Strict):
    reason: Text = Field(min_length=1)
    until: AwareDatetime | None = Field(default=None, description="Unlocks by itself then")


class LockRead(BaseModel):
    environment: str
    reason: str
    locked_by: str
    locked_at: datetime
    until: datetime | None


class RollbackCreate(Strict):
    """Put back an earlier successful release: the one before what runs, or `to_version`."""

    service: Name
    environment: Name
    to_version: str | None = Field(default=None, max_length=128)


class ControlRequest(Strict):
    reason: Text | None = None


class DeploymentRead(BaseModel):
    id: int
    service: str
    environment: str
    version: str
    state: str
    reason: str | None
    kind: str = Field(description="deploy, rollback, or record (ran outside relman)")
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    created_by: str
    queue_position: int | None = Field(
        default=None, description="1 = next to start; only while queued"
    )


class StepRead(BaseModel):
    position: int
    name: str
    kind: str = Field(
        default="run", description="run (the run driver), weight, pause, analysis or promote"
    )
    params: dict[str, Any] | None = None
    state: str
    attempts: int
    retries: int
    idempotent: bool
    timeout: float | None
    started_at: datetime | None
    finished_at: datetime | None
    summary: str | None


class EventRead(BaseModel):
    at: datetime
    actor: str
    kind: str
    message: str
    details: dict[str, Any]


class MeasurementRead(BaseModel):
    """One measurement of an analysis: what was asked, what came back, and the verdict."""

    analysis: str
    metric: str
    step: int | None = Field(description="the analysis step's position; null: background")
    at: datetime
    query: str
    value: Any
    phase: str = Field(description="successful, failed, inconclusive, error or pending")
    reason: str


class DeploymentDetailRead(DeploymentRead):
    previous_version: str | None
    rollback_of: int | None = Field(description="the deployment this rollback undoes")
    rolled_back_by: int | None = Field(description="the newest rollback that undoes this one")
    candidate_slot: str | None = Field(default=None, description="canary or blue-green only")
    stable_slot: str | None = None
    weights: dict[str, int] | None = Field(
        default=None, description="the traffic weights this deployment last set, by slot"
    )
    steps: list[StepRead]
    events: list[EventRead]
    measurements: list[MeasurementRead] = Field(default_factory=list)
    gates: GateReportRead | None = Field(
        default=None, description="the newest judgement of its gates (while and before it waited)"
    )
    not_before: datetime | None = Field(default=None, description="its scheduled start")
    approvals: list[ApprovalRead] = Field(default_factory=list)


class LogLineRead(BaseModel):
    id: int
    step: int = Field(description="the step's position in the plan, from 0")
    step_name: str = Field(description="deploy, verify, rollback, …")
    attempt: int
    at: datetime
    line: str


class LogsRead(BaseModel):
    items: list[LogLineRead]
    state: str = Field(description="the deployment's state when the lines were read")
    next_after: int = Field(description="pass as `after` to get the lines that follow")


class TokenCreate(Strict):
    user: str = Field(max_length=100)
    role: str = Field(max_length=20, examples=["deployer"])
    description: str | None = Field(default=None, max_length=200)


class TokenRead(BaseModel):
    id: str
    user: str
    role: str
    description: str | None
    created_at: datetime
    created_by: str
    last_used_at: datetime | None
    revoked_at: datetime | None

    model_config = ConfigDict(from_attributes=True)


class TokenCreated(TokenRead):
    token: str = Field(description="The token itself. Shown once; store it now.")


class ConfigRequest(Strict):
    text: str = Field(max_length=2_000_000, description="The relman.yaml text")
    filename: str = Field(default="relman.yaml", max_length=300)
    dry_run: bool = False


class ApplyRead(BaseModel):
    created: list[str]
    changed: list[str]
    unchanged: list[str]
    deleted: list[str] = Field(
        default_factory=list, description="freezes an earlier apply made that the file dropped"
    )
    changes: dict[str, list[str]]
    dry_run: bool


class AuditRead(BaseModel):
    id: int
    at: datetime
    actor: str
    action: str
    object: str
    details: dict[str, Any]
    prev_hash: str
    hash: str

    model_config = ConfigDict(from_attributes=True)


class AuditProblemRead(BaseModel):
    entry: int = Field(description="The id of the first bad entry (or where one is missing)")
    kind: str = Field(description="changed, deleted, truncated or unchained")
    message: str


class AuditVerifyRead(BaseModel):
    intact: bool
    entries: int = Field(description="How many entries were checked and found good")
    head_id: int = Field(description="The last good entry")
    head_hash: str
    problem: AuditProblemRead | None

    @classmethod
    def of(cls, report: ChainReport) -> AuditVerifyRead:
        problem = report.problem
        return cls(
            intact=report.intact,
            entries=report.entries,
            head_id=report.head_id,
            head_hash=report.head_hash,
            problem=None if problem is None else AuditProblemRead(**vars(problem)),
        )
