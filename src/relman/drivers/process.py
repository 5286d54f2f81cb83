"""The `process` run driver: each slot of a service is a long-running local process, started
and stopped by relman on the worker's machine (the demo, a laptop; no Kubernetes needed).

Settings, as relman.yaml's `run: {driver: process, …}` stores them:

    {"command": ["{python}", "-m", "relman.demoapp", "--port", "{port}", "--version", "{version}"],
     "ports": {"blue": 8101, "green": 8102},   # slot -> port on 127.0.0.1
     "health": "/healthz",                     # path that answers 200 once the slot is up
     "start_timeout": 20,                      # seconds (or "20s") to wait for that
     "env": {"APP_PORT": "{port}"},            # optional extra environment variables
     "state_dir": "/path"}                     # pid files and logs; default below

`command` is an argument list, never run by a shell; each argument (and each `env` value) is
formatted with `{version}`, `{previous_version}`, `{slot}`, `{port}`, `{environment}`,
`{service}`, `{deployment_id}` and `{python}` (the worker's own Python). A deployment without
slots runs in the slot "default": it uses `ports.default` if set, else the first port listed.

Steps: `deploy` stops what runs in the slot, starts the command detached (its own session, so
it outlives the step and the worker), appends its output to `<state_dir>/<service>-<environment>-
<slot>.log`, records it in `….pid`, and waits until GET http://127.0.0.1:{port}{health} answers
200; it fails (and stops the process again) when the process exits, `start_timeout` passes or
the step is cancelled. `verify` GETs the health URL once. `stop` stops the slot's process:
SIGTERM to its process group, SIGKILL after a grace; fine when nothing runs there.

A pid file records the process's start time too: a pid that now belongs to another process (the
machine restarted) is never signalled. A port that answers although no pid file names a process
is someone else's, and `deploy` refuses it instead of reporting a stranger healthy.

The default state_dir is $XDG_STATE_HOME/relman/processes, or ~/.local/state/relman/processes.
The command gets the worker's environment without any RELMAN_* variable (the worker's token and
database URL stay private), plus RELMAN_SERVICE, RELMAN_VERSION, RELMAN_PREVIOUS_VERSION,
RELMAN_ENVIRONMENT, RELMAN_SLOT, RELMAN_PORT and RELMAN_DEPLOYMENT_ID, then `env`.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from http.client import HTTPConnection, HTTPException
from pathlib import Path
from typing import Any

from relman.domain.durations import parse_duration
from relman.drivers.base import DEFAULT_SLOT, LogSink, PlannedStep, StepResult, StepRun, fill
from relman.errors import InvalidInput

__all__ = ["ProcessDriver", "default_state_dir"]

DEFAULT_HEALTH = "/healthz"
DEFAULT_START_TIMEOUT = 20.0  # seconds
KILL_GRACE = 5.0  # seconds between SIGTERM and SIGKILL
PORT_RELEASE = 2.0  # seconds a stopped process's port may take to close
TAIL_LINES = 5  # log lines in a failure's summary
_PROBE_TIMEOUT = 1.0
_POLL = 0.05
_HEADER = "--- relman "  # starts the line written to the log before each start

# Processes this worker started, so that it can reap them (a fresh worker finds the others by
# their pid files; they are its grandchildren's, reaped by init).
_children: dict[int, subprocess.Popen[bytes]] = {}
_children_lock = threading.Lock()


def default_state_dir() -> Path:
    """$XDG_STATE_HOME/relman/processes, or ~/.local/state/relman/processes."""
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "relman" / "processes"


class ProcessDriver:
    """Runs each slot of a service as a local process, found again by its pid file."""

    name = "process"

    def plan(self, settings: Mapping[str, Any], *, rollback: bool = False) -> list[PlannedStep]:
        """[deploy, verify], for a rollback too (it deploys the old version)."""
        start_timeout = _start_timeout(settings)
        return [
            PlannedStep("deploy", timeout=start_timeout + 5, idempotent=True),
            PlannedStep("verify", idempotent=True),
        ]

    def run(self, step: StepRun, log: LogSink, cancel: threading.Event) -> StepResult:
        """One attempt of deploy, verify or stop; never raises for a failed step."""
        _reap()
        action = _ACTIONS.get(step.step)
        if action is None:
            steps = ", ".join(_ACTIONS)
            return StepResult(False, f"the process driver has no step '{step.step}'; {steps}")
        try:
            slot = _Slot.of(step)
        except (ValueError, InvalidInput) as exc:
            return StepResult(False, str(exc))
        return action(slot, log, cancel)


# --- settings ---------------------------------------------------------------------------------


def _start_timeout(settings: Mapping[str, Any]) -> float:
    raw = settings.get("start_timeout", DEFAULT_START_TIMEOUT)
    if isinstance(raw, str):
        return parse_duration(raw).total_seconds()
    if isinstance(raw, bool) or not isinstance(raw, int | float) or raw <= 0:
        raise InvalidInput(f"start_timeout {raw!r} is not a number of seconds above 0, or '20s'")
    return float(raw)


@dataclass(frozen=True)
class _Slot:
    """One slot of one service in one environment, resolved from a step's settings."""

    name: str
    port: int
    argv: list[str]
    env: dict[str, str]
    health: str
    start_timeout: float
    files: Path  # <state_dir>/<service>-<environment>-<slot>, without a suffix
    version: str

    @classmethod
    def of(cls, step: StepRun) -> _Slot:
        settings = step.settings
        port = _port(settings.get("ports"), step.slot)
        values = {**step.placeholders(), "port": str(port), "python": sys.executable}
        command = settings.get("command")
        if not isinstance(command, list | tuple) or not command:
            raise ValueError(
                f'command must be a list of arguments, like ["./server", "--port", '
                f'"{{port}}"], not {command!r}; the process driver never uses a shell'
            )
        extra = settings.get("env") or {}
        if not isinstance(extra, Mapping):
            raise ValueError(f"env must be a mapping of names to values, not {extra!r}")
        health = str(settings.get("health") or DEFAULT_HEALTH)
        state_dir = Path(str(settings.get("state_dir") or default_state_dir())).expanduser()
        key = re.sub(r"[^A-Za-z0-9_.-]", "_", f"{step.service}-{step.environment}-{step.slot}")
        return cls(
            name=step.slot,
            port=port,
            argv=[fill(str(argument), values) for argument in command],
            env={
                **_inherited(step, port),
                **{str(k): fill(str(v), values) for k, v in extra.items()},
            },
            health=health if health.startswith("/") else f"/{health}",
            start_timeout=_start_timeout(settings),
            files=state_dir / key,
            version=step.version,
        )

    @property
    def pid_file(self) -> Path:
        return self.files.with_name(self.files.name + ".pid")

    @property
    def log_file(self) -> Path:
        return self.files.with_name(self.files.name + ".log")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.health}"

    def describe(self) -> str:
        return f"{self.name} (port {self.port})"


def _port(ports: object, slot: str) -> int:
    if not isinstance(ports, Mapping) or not ports:
        raise ValueError(
            f"ports must map each slot to a port, like {{blue: 8101, green: 8102}}; got {ports!r}"
        )
    if slot in ports:
        raw = ports[slot]
    elif slot == DEFAULT_SLOT:
        raw = next(iter(ports.values()))
    else:
        raise ValueError(
            f"no port for slot '{slot}' in ports ({', '.join(map(str, ports))}); "
            f"add one, like {slot}: 8103"
        )
    if isinstance(raw, bool) or not str(raw).isdigit() or not 0 < int(raw) < 65536:
        raise ValueError(f"port {raw!r} of slot '{slot}' is not a port number 1-65535")
    return int(raw)


def _inherited(step: StepRun, port: int) -> dict[str, str]:
    inherited = {key: value for key, value in os.environ.items() if not key.startswith("RELMAN_")}
    return {
        **inherited,
        "RELMAN_SERVICE": step.service,
        "RELMAN_VERSION": step.version,
        "RELMAN_PREVIOUS_VERSION": step.previous_version or "",
        "RELMAN_ENVIRONMENT": step.environment,
        "RELMAN_SLOT": step.slot,
        "RELMAN_PORT": str(port),
        "RELMAN_DEPLOYMENT_ID": str(step.deployment_id),
    }


# --- steps ------------------------------------------------------------------------------------


def _deploy(slot: _Slot, log: LogSink, cancel: threading.Event) -> StepResult:
    stopped = _stop_slot(slot, log)
    if not stopped.ok:
        return stopped
    if not _port_released(slot.port, PORT_RELEASE if "stopped" in stopped.details else 0.0):
        return StepResult(
            False,
            f"port {slot.port} of slot {slot.name} is taken by a process relman did not start "
            f"(no pid file in {slot.pid_file.parent} names it); stop it, or give {slot.name} "
            "another port",
            {"slot": slot.name, "port": slot.port},
        )
    if cancel.is_set():
        return StepResult(False, f"cancelled before starting {slot.describe()}")
    slot.log_file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    offset = slot.log_file.stat().st_size if slot.log_file.exists() else 0
    try:
        process = _start(slot)
    except OSError as exc:
        return StepResult(False, _start_failure(slot, exc), {"command": slot.argv})
    log(f"started {slot.describe()}: pid {process.pid}, {' '.join(slot.argv)}")
    return _await_health(slot, process, _Tail(slot.log_file, offset, log), cancel)


def _verify(slot: _Slot, log: LogSink, cancel: threading.Event) -> StepResult:
    status, problem = _probe(slot)
    details: dict[str, Any] = {"slot": slot.name, "port": slot.port, "url": slot.url}
    if status == 200:
        summary = f"{slot.describe()} answered 200 at {slot.url}"
    else:
        details["status"] = status
        running = _running(slot)
        where = f"pid {running}" if running else "no process runs there"
        summary = f"{slot.describe()} {problem} at {slot.url} ({where})"
    log(summary)
    return StepResult(status == 200, summary, details)


def _stop_step(slot: _Slot, log: LogSink, cancel: threading.Event) -> StepResult:
    return _stop_slot(slot, log)


_ACTIONS = {"deploy": _deploy, "verify": _verify, "stop": _stop_step}


def _await_health(
    slot: _Slot, process: subprocess.Popen[bytes], tail: _Tail, cancel: threading.Event
) -> StepResult:
    """Wait until the slot answers 200, or its process exits, or time runs out, or cancel."""
    details: dict[str, Any] = {"slot": slot.name, "port": slot.port, "pid": process.pid}
    details["log_file"] = str(slot.log_file)
    deadline = time.monotonic() + slot.start_timeout
    while True:
        tail.follow()
        code = process.poll()
        if code is not None:
            _forget(process.pid, slot)
            details["exit_code"] = code
            why = f"{slot.describe()} exited with code {code} before answering at {slot.url}"
            return StepResult(False, why + tail.last_lines(), details)
        if _probe(slot)[0] == 200:
            tail.follow()
            return StepResult(
                True, f"{slot.describe()} runs {slot.version}: pid {process.pid}", details
            )
        if cancel.is_set() or time.monotonic() >= deadline:
            why = (
                f"cancelled while {slot.describe()} was starting"
                if cancel.is_set()
                else f"{slot.describe()} did not answer 200 at {slot.url} within "
                f"{slot.start_timeout:g}s"
            )
            _stop_slot(slot, tail.log)
            tail.follow()
            return StepResult(False, f"{why}; stopped it" + tail.last_lines(), details)
        cancel.wait(_POLL)


def _start_failure(slot: _Slot, error: OSError) -> str:
    program = slot.argv[0]
    if isinstance(error, FileNotFoundError):
        return f"cannot start {slot.name}: command not found: {program}"
    return f"cannot start {slot.name}: {program}: {error.strerror or type(error).__name__}"


# --- processes --------------------------------------------------------------------------------


def _start(slot: _Slot) -> subprocess.Popen[bytes]:
    """Start the command detached, output appended to the slot's log; record its pid file."""
    with slot.log_file.open("ab") as output:
        stamp = time.strftime("%Y-%m-%d %H:%M:%S")
        output.write(f"{_HEADER}{stamp}: starting {slot.name} {slot.version}\n".encode())
        output.flush()
        process = subprocess.Popen(
            slot.argv,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            env=slot.env,
            start_new_session=True,
        )
    with _children_lock:
        _children[process.pid] = process
    record = {
        "pid": process.pid,
        "started": _start_time(process.pid),
        "port": slot.port,
        "version": slot.version,
        "command": slot.argv,
    }
    temporary = slot.pid_file.with_name(slot.pid_file.name + ".tmp")
    temporary.write_text(json.dumps(record))
    os.replace(temporary, slot.pid_file)
    return process


def _stop_slot(slot: _Slot, log: LogSink) -> StepResult:
    """Stop the slot's process, if one runs; ok when none does."""
    details: dict[str, Any] = {"slot": slot.name, "port": slot.port}
    record = _read_pid_file(slot.pid_file)
    if record is None:
        return StepResult(True, f"nothing runs in {slot.describe()}", details)
    pid = record["pid"]
    details["pid"] = pid
    if not _is_ours(record):
        slot.pid_file.unlink(missing_ok=True)
        log(f"{slot.name}: pid {pid} is no longer the process relman started; left it alone")
        return StepResult(True, f"nothing runs in {slot.describe()} (stale pid file)", details)
    log(f"stopping {slot.describe()}: pid {pid}, version {record.get('version', '?')}")
    if not _terminate(pid):
        return StepResult(
            False, f"{slot.describe()}: pid {pid} did not exit, even after SIGKILL", details
        )
    _forget(pid, slot)
    return StepResult(True, f"stopped {slot.describe()}: pid {pid}", {**details, "stopped": pid})


def _terminate(pid: int) -> bool:
    """SIGTERM the process group; SIGKILL what is left once the leader exits or after a grace.
    True once the leader is gone."""
    _signal_group(pid, signal.SIGTERM)
    gone = _wait_gone(pid, KILL_GRACE)
    _signal_group(pid, signal.SIGKILL)
    return gone or _wait_gone(pid, KILL_GRACE)


def _signal_group(group: int, signum: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):  # the whole group is gone already
        os.killpg(group, signum)


def _wait_gone(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while _alive(pid):
        if time.monotonic() >= deadline:
            return False
        time.sleep(_POLL)
    return True


def _alive(pid: int) -> bool:
    """Running: neither gone nor a zombie (reaped here when it is this worker's child)."""
    with _children_lock:
        child = _children.get(pid)
    if child is not None:
        return child.poll() is None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return _state(pid) != "Z"


def _forget(pid: int, slot: _Slot) -> None:
    """The process has ended: reap it and drop its pid file."""
    with _children_lock:
        child = _children.pop(pid, None)
    if child is not None:
        child.wait()
    record = _read_pid_file(slot.pid_file)
    if record is not None and record["pid"] == pid:
        slot.pid_file.unlink(missing_ok=True)


def _reap() -> None:
    """Reap children that exited by themselves (their pid files stay until the next step)."""
    with _children_lock:
        for pid, child in list(_children.items()):
            if child.poll() is not None:
                del _children[pid]


def _running(slot: _Slot) -> int | None:
    record = _read_pid_file(slot.pid_file)
    if record is None or not _is_ours(record) or not _alive(record["pid"]):
        return None
    pid: int = record["pid"]
    return pid


def _read_pid_file(path: Path) -> dict[str, Any] | None:
    try:
        record = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict) or not isinstance(record.get("pid"), int):
        return None
    return record


def _is_ours(record: Mapping[str, Any]) -> bool:
    """The pid still names the process relman started: same start time."""
    started = record.get("started")
    return started is not None and started == _start_time(record["pid"])


def _start_time(pid: int) -> str | None:
    """When the process started: clock ticks since boot on Linux, else what `ps` says."""
    if not Path("/proc/self/stat").exists():
        return _ps_start_time(pid)
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]  # field 22
    except (OSError, IndexError):
        return None


def _ps_start_time(pid: int) -> str | None:
    try:
        answer = subprocess.run(
            ["ps", "-o", "lstart=", "-p", str(pid)], capture_output=True, text=True, timeout=5
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return answer.stdout.strip() or None


def _state(pid: int) -> str | None:
    """The process's state letter on Linux ("Z": a zombie); None when unknown."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return None


# --- health and output ------------------------------------------------------------------------


def _probe(slot: _Slot) -> tuple[int | None, str]:
    """GET the slot's health URL once: its status, and what happened in words."""
    connection = HTTPConnection("127.0.0.1", slot.port, timeout=_PROBE_TIMEOUT)
    try:
        connection.request("GET", slot.health)
        status = connection.getresponse().status
    except (OSError, HTTPException) as exc:
        return None, f"did not answer ({type(exc).__name__})"
    finally:
        connection.close()
    return status, f"answered {status}"


def _port_released(port: int, grace: float) -> bool:
    """True once nothing accepts connections on 127.0.0.1:`port`, within `grace` seconds (for
    the children of a process just stopped)."""
    deadline = time.monotonic() + grace
    while _port_answers(port):
        if time.monotonic() >= deadline:
            return False
        time.sleep(_POLL)
    return True


def _port_answers(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(_PROBE_TIMEOUT)
        return probe.connect_ex(("127.0.0.1", port)) == 0


class _Tail:
    """Follows a log file from `offset`, passing each new complete line to `log`, and keeps
    the last few for a failure's summary."""

    def __init__(self, path: Path, offset: int, log: LogSink) -> None:
        self.path = path
        self.offset = offset
        self.log = log
        self.lines: list[str] = []
        self._pending = b""

    def follow(self) -> None:
        try:
            with self.path.open("rb") as file:
                file.seek(self.offset)
                chunk = file.read()
        except OSError:
            return
        self.offset += len(chunk)
        *complete, self._pending = (self._pending + chunk).split(b"\n")
        for raw in complete:
            line = raw.decode("utf-8", errors="replace").rstrip("\r")[:4000]
            if line.startswith(_HEADER):
                continue
            self.log(line)
            self.lines = [*self.lines[-(TAIL_LINES - 1) :], line]

    def last_lines(self) -> str:
        lines = [*self.lines]
        if self._pending:
            lines = [*lines[-(TAIL_LINES - 1) :], self._pending.decode("utf-8", "replace")]
        shown = [line for line in lines if not line.startswith(_HEADER)]
        if not shown:
            return f"; no output in {self.path}"
        return f"; last lines of {self.path.name}: " + " | ".join(shown)
