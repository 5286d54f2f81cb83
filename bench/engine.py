"""Benchmark the durable deployment engine against a floor of bare database commits.

    .venv/bin/python bench/engine.py [--deployments N] [--steps K] [--postgres-url URL]

For each database (SQLite, then PostgreSQL when reachable) and for 1 and 2 workers, a fresh
store gets N queued deployments of K steps, spread over many services of one environment (one
deployment per service runs at a time; the others queue). Worker processes, spawned like
`relman worker --slots 1`, then run them with a driver that does nothing, so all the time is
the engine's: claims, fences, timeline and audit rows, commits. The clock runs from "go" until
the last deployment has succeeded; setup is not timed.

The floor is the same number of commits (one small UPDATE + COMMIT per step) by as many
processes, through the same kind of SQLAlchemy engine on the same database, in the same run.
"""

from __future__ import annotations

import argparse
import itertools
import multiprocessing as mp
import queue
import sys
import tempfile
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import psycopg
from sqlalchemy import Column, Integer, MetaData, Table, event, func, insert, select, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError, OperationalError

from relman.configfile import load_config
from relman.domain.deployments import DeploymentState
from relman.domain.releases import ReleaseContent
from relman.drivers.base import LogSink, PlannedStep, StepResult, StepRun
from relman.engine.worker import Worker, WorkerOptions
from relman.services.config_apply import apply_config
from relman.services.promotions import promote
from relman.services.releases import create_release
from relman.store.database import Database
from relman.store.tables import DeploymentRow, DeploymentStepRow
from relman.store.unit_of_work import UnitOfWork, read_session
from relman.testing.store import empty_postgres_store

GOAL_MS = 5.0
DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
ENVIRONMENT = "bench"
IDLE_POLL = 0.002  # seconds a worker waits when nothing is due but deployments remain
READY_TIMEOUT = 60.0  # seconds for spawned processes to import and connect
FINAL = [s.value for s in DeploymentState if s.is_final]

FLOOR = Table(
    "bench_floor",
    MetaData(),
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("n", Integer, nullable=False),
)


class BenchError(Exception):
    """A run did not finish, or finished with deployments that did not succeed."""


# --- what runs ---------------------------------------------------------------------------------


class NoopDriver:
    """Plans `steps` steps named step0, step1, …; every attempt succeeds at once."""

    name = "script"  # the only run driver relman.yaml accepts today

    def __init__(self, steps: int) -> None:
        self.steps = steps
        self.runs = 0

    def plan(self, settings: Mapping[str, Any], *, rollback: bool) -> list[PlannedStep]:
        return [PlannedStep(f"step{n}") for n in range(self.steps)]

    def run(self, step: StepRun, log: LogSink, cancel: threading.Event) -> StepResult:
        self.runs += 1
        return StepResult(True, "ok")


@dataclass(frozen=True)
class Job:
    """One spawned process: `kind` "engine" runs deployments of `amount` steps; "floor" makes
    `amount` bare commits on its own row `index`."""

    kind: str
    url: str
    index: int
    amount: int
    timeout: float


class Tally:
    """Counts the SQL statements and commits of one engine while `counting`."""

    def __init__(self, database: Database) -> None:
        self.statements = 0
        self.commits = 0
        self.counting = True
        event.listen(database.writer, "after_cursor_execute", self._statement)
        event.listen(database.writer, "commit", self._commit)

    def _statement(self, *_: Any) -> None:
        self.statements += self.counting

    def _commit(self, *_: Any) -> None:
        self.commits += self.counting


def engine_work(database: Database, job: Job) -> Callable[[], dict[str, Any]]:
    driver = NoopDriver(job.amount)
    worker = Worker(database, {driver.name: driver}, options=WorkerOptions(slots=1))
    tally = Tally(database)

    def work() -> dict[str, Any]:
        claims = retried = 0
        last = time.monotonic()
        deadline = last + job.timeout
        while time.monotonic() < deadline:
            try:
                worked = worker.work_one()
            except (OperationalError, IntegrityError):  # as Worker._loop does: try again
                retried += 1
                continue
            if worked:
                claims += 1
                last = time.monotonic()
                continue
            tally.counting = False
            left = unfinished(database)
            tally.counting = True
            if not left:
                break
            time.sleep(IDLE_POLL)
        return {
            "last": last,
            "claims": claims,
            "runs": driver.runs,
            "retried": retried,
            "statements": tally.statements,
            "commits": tally.commits,
        }

    return work


def floor_work(database: Database, job: Job) -> Callable[[], dict[str, Any]]:
    bump = update(FLOOR).where(FLOOR.c.id == job.index).values(n=FLOOR.c.n + 1)

    def work() -> dict[str, Any]:
        for _ in range(job.amount):
            with database.writer.begin() as connection:
                connection.execute(bump)
        return {"last": time.monotonic()}

    return work


def unfinished(database: Database) -> int:
    with read_session(database) as session:
        query = select(func.count()).where(DeploymentRow.state.not_in(FINAL))
        return session.scalar(query) or 0


def child(jobs: list[Job], reports: Any, gos: list[Any]) -> None:
    """A spawned process; for each job in turn: get ready, say so, wait for its `go`, work,
    report."""
    index = jobs[0].index
    try:
        database = Database(jobs[0].url)
        try:
            for phase, (job, go) in enumerate(zip(jobs, gos, strict=True)):
                work = (engine_work if job.kind == "engine" else floor_work)(database, job)
                for engine in {database.writer, database.reader}:  # connect before the clock
                    with engine.connect() as connection:
                        connection.execute(select(1))
                reports.put(("ready", phase, index, None))
                go.wait()
                reports.put(("done", phase, index, work()))
        finally:
            database.dispose()
    except BaseException:
        reports.put(("error", -1, index, traceback.format_exc()))


# --- running processes and timing them --------------------------------------------------------


class Crew:
    """Spawned worker processes that run the same phases (floor, then engine) together."""

    def __init__(self, jobs: list[list[Job]]) -> None:
        context = mp.get_context("spawn")
        self.reports = context.Queue()
        self.gos = [context.Event() for _ in jobs[0]]
        self.processes = [
            context.Process(target=child, args=(own, self.reports, self.gos)) for own in jobs
        ]
        self.messages: list[tuple[str, int, int, Any]] = []
        for process in self.processes:
            process.start()

    def time(self, phase: int, timeout: float) -> tuple[float, list[dict[str, Any]]]:
        """Time `phase` from its "go" to the last process's last piece of work."""
        self.collect("ready", phase, time.monotonic() + READY_TIMEOUT)
        start = time.monotonic()
        self.gos[phase].set()
        done = self.collect("done", phase, start + timeout + 5)
        return max(d["last"] for d in done) - start, done

    def collect(self, wanted: str, phase: int, deadline: float) -> list[dict[str, Any]]:
        while True:
            got = {i: p for k, ph, i, p in self.messages if (k, ph) == (wanted, phase)}
            if len(got) == len(self.processes):
                return [got[i] or {} for i in sorted(got)]
            self.messages.append(self.next_message(wanted, deadline))

    def next_message(self, wanted: str, deadline: float) -> tuple[str, int, int, Any]:
        while True:
            try:
                message: tuple[str, int, int, Any] = self.reports.get(timeout=0.2)
            except queue.Empty:
                if time.monotonic() > deadline:
                    raise BenchError(f"timed out waiting for '{wanted}' from workers") from None
                if any(p.exitcode not in (None, 0) for p in self.processes):
                    raise BenchError("a worker process died without a report") from None
                continue
            if message[0] == "error":
                raise BenchError(f"worker {message[2]} failed:\n{message[3]}")
            return message

    def close(self) -> None:
        for process in self.processes:
            process.join(5)
            if process.is_alive():
                process.terminate()
                process.join()


# --- stores ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    deployments: int
    steps: int
    services: int
    timeout: float
    repeat: int

    def releases(self) -> Iterator[tuple[str, str]]:
        """(service, version) of each deployment, round robin over the services."""
        for n in range(self.deployments):
            yield f"svc{n % self.services:03d}", f"1.0.{n // self.services}"


def config_text(services: int) -> str:
    lines = [
        "version: 1",
        f"environments: [{{name: {ENVIRONMENT}, tier: development}}]",
        f"lifecycles: [{{name: one, phases: [{{name: only, environments: [{ENVIRONMENT}]}}]}}]",
        "services:",
    ]
    run = '{driver: script, deploy: ["true"]}'
    lines += [f"  - {{name: svc{n:03d}, lifecycle: one, run: {run}}}" for n in range(services)]
    return "\n".join(lines) + "\n"


def prepare(url: str, plan: Plan) -> None:
    """Migrate, apply the config, queue every deployment, add the floor's rows (untimed)."""
    database = Database(url)
    try:
        database.upgrade()
        drivers = {"script": NoopDriver(plan.steps)}
        with UnitOfWork(database) as uow, uow.batch():
            apply_config(uow, load_config(config_text(plan.services)), actor="bench")
            for service, version in plan.releases():
                create_release(uow, service, ReleaseContent.build(version), actor="bench")
                promote(
                    uow,
                    drivers,
                    service=service,
                    version=version,
                    environment=ENVIRONMENT,
                    actor="bench",
                )
        FLOOR.create(database.writer, checkfirst=True)
        with database.writer.begin() as connection:
            connection.execute(insert(FLOOR), [{"id": 0, "n": 0}, {"id": 1, "n": 0}])
            if not database.is_sqlite:
                connection.execute(text("ANALYZE"))
    finally:
        database.dispose()


def empty_postgres(url: str) -> None:
    database = Database(url)
    try:
        if database.has_schema():
            empty_postgres_store(database, FLOOR)
    finally:
        database.dispose()


def check_all_succeeded(url: str, plan: Plan) -> None:
    database = Database(url)
    try:
        with read_session(database) as session:
            states = dict(
                session.execute(
                    select(DeploymentRow.state, func.count()).group_by(DeploymentRow.state)
                ).all()
            )
            steps = session.scalar(
                select(func.count()).where(DeploymentStepRow.state == "succeeded")
            )
    finally:
        database.dispose()
    if states != {"succeeded": plan.deployments} or steps != plan.deployments * plan.steps:
        raise BenchError(f"not every deployment succeeded: {states}, {steps} steps succeeded")


# --- one database ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Result:
    database: str
    workers: int
    engine_s: float
    floor_s: float
    reports: list[dict[str, Any]]

    def total(self, key: str) -> int:
        return sum(int(r[key]) for r in self.reports)


def bench_database(label: str, fresh_url: Callable[[], str], plan: Plan) -> list[Result]:
    results = []
    for workers in (1, 2):
        runs = [measure(label, fresh_url(), workers, plan) for _ in range(plan.repeat)]
        best = min(runs, key=lambda r: r.engine_s)
        floor_s = min(r.floor_s for r in runs)
        results.append(Result(label, workers, best.engine_s, floor_s, best.reports))
        times = ", ".join(f"{r.engine_s:.2f} s (floor {r.floor_s:.2f} s)" for r in runs)
        print(f"  {label}, {workers} worker(s): {times}", file=sys.stderr)
    return results


def measure(label: str, url: str, workers: int, plan: Plan) -> Result:
    """Prepare a fresh store; time the floor, then the engine, in the same processes."""
    prepare(url, plan)
    steps = plan.deployments * plan.steps
    shares = [steps // workers + (i < steps % workers) for i in range(workers)]
    crew = Crew(
        [
            [
                Job("floor", url, i, shares[i], plan.timeout),
                Job("engine", url, i, plan.steps, plan.timeout),
            ]
            for i in range(workers)
        ]
    )
    try:
        floor_s, _ = crew.time(0, plan.timeout)
        engine_s, reports = crew.time(1, plan.timeout)
    finally:
        crew.close()
    check_all_succeeded(url, plan)
    return Result(label, workers, engine_s, floor_s, reports)


def bench_sqlite(plan: Plan, directory: str | None) -> list[Result]:
    with tempfile.TemporaryDirectory(prefix="relman-bench-", dir=directory) as tmp:
        print(f"SQLite: files in {tmp}", file=sys.stderr)
        files = (f"sqlite:///{tmp}/bench-{n}.db" for n in itertools.count())
        return bench_database("sqlite", lambda: next(files), plan)


def bench_postgres(plan: Plan, admin_url: str) -> list[Result]:
    admin = make_url(admin_url).set(drivername="postgresql").render_as_string(hide_password=False)
    try:
        with psycopg.connect(admin, connect_timeout=3):
            pass
    except psycopg.Error as exc:
        problem = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        shown = make_url(admin_url).render_as_string(hide_password=True)
        print(f"PostgreSQL not reachable at {shown} ({problem}): SQLite only")
        return []
    name = f"relman_bench_{uuid.uuid4().hex[:10]}"
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    print(f"PostgreSQL: throwaway database {name}", file=sys.stderr)

    def fresh() -> str:
        empty_postgres(url)
        return url

    try:
        return bench_database("postgresql", fresh, plan)
    finally:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# --- the report --------------------------------------------------------------------------------

HEADER = (
    f"{'database':<11}{'workers':>8}{'wall s':>8}{'deploys/s':>11}{'steps/s':>9}"
    f"{'ms/step':>9}{'floor ms/commit':>17}{'engine/floor':>14}{'SQL/step':>10}"
    f"{'commits/step':>14}{'under ' + format(GOAL_MS, 'g') + ' ms':>12}"
)


def line(result: Result, plan: Plan) -> str:
    steps = plan.deployments * plan.steps
    ms_step = result.engine_s * 1000 / steps
    floor_ms = result.floor_s * 1000 / steps
    return (
        f"{result.database:<11}{result.workers:>8}{result.engine_s:>8.2f}"
        f"{plan.deployments / result.engine_s:>11.1f}{steps / result.engine_s:>9.1f}"
        f"{ms_step:>9.2f}{floor_ms:>17.2f}{result.engine_s / result.floor_s:>13.1f}x"
        f"{result.total('statements') / steps:>10.1f}{result.total('commits') / steps:>14.2f}"
        f"{'yes' if ms_step < GOAL_MS else 'NO':>12}"
    )


def report(results: list[Result], plan: Plan, seconds: float) -> None:
    steps = plan.deployments * plan.steps
    print(
        f"relman engine: {plan.deployments} deployments x {plan.steps} steps = {steps} steps, "
        f"{plan.services} services, no-op driver"
    )
    print(HEADER)
    for result in results:
        print(line(result, plan))
    retried = sum(r.total("retried") for r in results)
    extra = sum(r.total("runs") for r in results) - steps * len(results)
    print(
        "ms/step: engine wall time / steps (the driver does nothing, so this is the engine's "
        "whole cost per step)\n"
        "floor ms/commit: the same number of bare commits (one UPDATE + COMMIT each, as many "
        "processes), wall time / commits\n"
        f"SQL/step, commits/step: the workers' statements and commits per step; store errors "
        f"retried: {retried}; steps run more than once: {extra}\n"
        f"total run time {seconds:.1f} s"
    )


def positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"expected a positive whole number, got {value}")
    return number


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deployments", type=positive, default=200)
    parser.add_argument("--steps", type=positive, default=3, help="steps per deployment")
    parser.add_argument("--services", type=positive, default=50, help="(at most --deployments)")
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES, help="an admin URL")
    parser.add_argument("--sqlite-dir", default=None, help="where the SQLite files go (temp)")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds per timed run")
    parser.add_argument("--repeat", type=positive, default=1, help="runs of each; best is shown")
    return parser.parse_args()


def main() -> int:
    args = arguments()
    services = min(args.services, args.deployments)
    plan = Plan(args.deployments, args.steps, services, args.timeout, args.repeat)
    began = time.monotonic()
    try:
        results = bench_sqlite(plan, args.sqlite_dir)
        results += bench_postgres(plan, args.postgres_url)
    except BenchError as exc:
        print(f"benchmark failed: {exc}", file=sys.stderr)
        return 1
    report(results, plan, time.monotonic() - began)
    return 0


if __name__ == "__main__":
    sys.exit(main())
