"""The `script` run driver: each step is a command, or (for `verify`) a URL to GET.

Settings, as the config loader stores them (after a database round trip tuples are lists):

    {"deploy": STEP, "verify": STEP | None, "rollback": STEP | None,
     "shell": bool, "timeout": "30s" | None, "retries": int, "idempotent": bool}
    STEP = {"command": [...] | "text" | None, "url": str | None,
            "timeout": str | None, "retries": int | None, "idempotent": bool | None}

A per-step None falls back to the top-level value; with neither, a step may run 30 minutes, is not
retried and is not idempotent. A bare command in place of STEP is read as {"command": ...}.

A list command runs without a shell, each argument formatted with the step's placeholders, so a
value such as "1.0; rm -rf /" stays one literal argument. A string command needs `shell: true` and
runs under /bin/sh with every placeholder value shell-quoted. The command gets the worker's
environment without any RELMAN_* variable (the worker's token and database URL stay private), plus
RELMAN_SERVICE, RELMAN_VERSION, … and RELMAN_IDEMPOTENCY_KEY. It runs in a session of its own: a
timeout or a cancel sends SIGTERM to its whole process group, then SIGKILL. Processes it leaves
running in the background after it exits are left alone, but should not write to its output,
which is closed shortly after the command exits.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import shlex
import signal
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import IO, Any
from urllib.parse import quote

import httpx

from relman.domain.durations import format_duration, parse_duration
from relman.drivers.base import LogSink, PlannedStep, StepResult, StepRun, fill

__all__ = ["ScriptDriver"]

DEFAULT_TIMEOUT = 30 * 60.0  # seconds a step may run when neither it nor the driver sets a timeout
URL_TIMEOUT = 10.0  # seconds for a verify URL when the step has no timeout
KILL_GRACE = 5.0  # seconds between SIGTERM and SIGKILL
OUTPUT_LINGER = 1.0  # seconds to keep reading output after the command exits
MAX_LINE = 4000  # characters kept of one output line
_POLL = 0.05


class ScriptDriver:
    """Runs a service's deploy, verify and rollback commands on the worker's machine."""

    name = "script"

    def plan(self, settings: Mapping[str, Any], *, rollback: bool = False) -> list[PlannedStep]:
        """[deploy, verify?]; a rollback runs the `rollback` step instead of `deploy` if set."""
        first = "rollback" if rollback and _step(settings, "rollback") else "deploy"
        names = [first, "verify"] if _step(settings, "verify") else [first]
        return [_planned(settings, name) for name in names]

    def run(self, step: StepRun, log: LogSink, cancel: threading.Event) -> StepResult:
        """One attempt of `step`; output lines go to `log`; never raises for a failed step."""
        config = _step(step.settings, step.step)
        if config is None:
            return StepResult(ok=False, summary=f"no '{step.step}' step is configured")
        if config.get("command") is None:
            return _get(str(config["url"]), step, log)
        try:
            argv = _argv(config["command"], step)
        except ValueError as exc:
            return StepResult(ok=False, summary=str(exc))
        if cancel.is_set():
            return StepResult(ok=False, summary="cancelled", details={"command": argv})
        return _run_command(argv, step, log, cancel)


# --- settings ---------------------------------------------------------------------------------


def _step(settings: Mapping[str, Any], name: str) -> Mapping[str, Any] | None:
    raw = settings.get(name)
    if raw is None:
        return None
    config: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {"command": raw}
    if config.get("command") is None and config.get("url") is None:
        return None
    return config


def _planned(settings: Mapping[str, Any], name: str) -> PlannedStep:
    config = _step(settings, name) or {}
    timeout = _default(config.get("timeout"), settings.get("timeout"), None)
    return PlannedStep(
        name=name,
        timeout=DEFAULT_TIMEOUT if timeout is None else parse_duration(timeout).total_seconds(),
        retries=int(_default(config.get("retries"), settings.get("retries"), 0)),
        idempotent=bool(_default(config.get("idempotent"), settings.get("idempotent"), False)),
    )


def _default(own: Any, shared: Any, fallback: Any) -> Any:
    if own is not None:
        return own
    return fallback if shared is None else shared


def _argv(command: str | Sequence[str], step: StepRun) -> list[str]:
    """The argument list to start; ValueError with a one-line reason when it can't be built."""
    values = step.placeholders()
    if isinstance(command, str):
        if not step.settings.get("shell", False):
            raise ValueError("a single-string command needs shell: true; or write it as a list")
        quoted = {key: shlex.quote(value) for key, value in values.items()}
        return ["/bin/sh", "-c", fill(command, quoted)]
    return [fill(str(argument), values) for argument in command]


def _environment(step: StepRun) -> dict[str, str]:
    inherited = {key: value for key, value in os.environ.items() if not key.startswith("RELMAN_")}
    return {
        **inherited,
        "RELMAN_SERVICE": step.service,
        "RELMAN_VERSION": step.version,
        "RELMAN_PREVIOUS_VERSION": step.previous_version or "",
        "RELMAN_ENVIRONMENT": step.environment,
        "RELMAN_SLOT": step.slot,
        "RELMAN_DEPLOYMENT_ID": str(step.deployment_id),
        "RELMAN_STEP": step.step,
        "RELMAN_ATTEMPT": str(step.attempt),
        "RELMAN_IDEMPOTENCY_KEY": step.idempotency_key,
    }


# --- commands ---------------------------------------------------------------------------------


def _run_command(
    argv: list[str], step: StepRun, log: LogSink, cancel: threading.Event
) -> StepResult:
    try:
        process = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=_environment(step),
            start_new_session=True,
        )
    except OSError as exc:
        return StepResult(False, _start_failure(argv[0], exc), {"command": argv})
    stopped = _supervise(process, _Lines(log), step.timeout, cancel)
    details = {"exit_code": process.returncode, "command": argv}
    if stopped is not None:
        return StepResult(False, stopped, details)
    return StepResult(process.returncode == 0, f"exit {process.returncode}", details)


def _start_failure(program: str, error: OSError) -> str:
    if isinstance(error, FileNotFoundError):
        return f"command not found: {program}"
    return f"could not start {program}: {error.strerror or type(error).__name__}"


def _supervise(
    process: subprocess.Popen[bytes], lines: _Lines, timeout: float | None, cancel: threading.Event
) -> str | None:
    """Follow the command to its end, or stop it and say why ("cancelled", "timed out…")."""
    output = process.stdout
    if output is None:  # cannot happen: we asked for a pipe
        raise RuntimeError("subprocess.Popen gave no pipe for the output")
    stopped: str | None = None
    try:
        with output:
            stopped = _follow(process, output, lines, timeout, cancel)
    finally:
        if stopped is not None or process.poll() is None:  # also when the log sink raised
            _stop(process)
    lines.close()
    return stopped


def _follow(
    process: subprocess.Popen[bytes],
    output: IO[bytes],
    lines: _Lines,
    timeout: float | None,
    cancel: threading.Event,
) -> str | None:
    """Stream the output until the command exits and its output ends (or lingers too long).

    Returns why the command must be stopped ("cancelled", "timed out after 30s"), or None.
    """
    deadline = None if timeout is None else time.monotonic() + timeout
    timed_out = "" if timeout is None else f"timed out after {_seconds(timeout)}"
    exited_at: float | None = None
    with selectors.DefaultSelector() as selector:
        selector.register(output, selectors.EVENT_READ)
        while True:
            now = time.monotonic()
            if exited_at is None and cancel.is_set():
                return "cancelled"
            if exited_at is None and deadline is not None and now >= deadline:
                return timed_out
            if not selector.get_map():
                cancel.wait(_POLL)  # the output has ended; the command still runs
            elif selector.select(_POLL) and not lines.feed(os.read(output.fileno(), 65536)):
                selector.unregister(output)
            if exited_at is None and process.poll() is not None:
                exited_at = now
            if exited_at is not None and (
                not selector.get_map() or now - exited_at > OUTPUT_LINGER
            ):
                return None


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM the process group; SIGKILL what is left once the leader exits or after a grace."""
    _signal_group(process.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=KILL_GRACE)
    _signal_group(process.pid, signal.SIGKILL)
    process.wait()


def _signal_group(group: int, signum: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):  # the whole group is gone already
        os.killpg(group, signum)


def _seconds(timeout: float) -> str:
    if timeout == int(timeout):
        return format_duration(timedelta(seconds=int(timeout)))
    return f"{timeout:g}s"


class _Lines:
    """Cuts a byte stream into lines for the log: decoded, without the newline, at most
    MAX_LINE characters (the rest of a longer line is dropped)."""

    _MAX_PENDING = MAX_LINE * 4  # bytes: MAX_LINE characters of UTF-8 at most

    def __init__(self, log: LogSink) -> None:
        self._log = log
        self._pending = b""
        self._skipping = False  # inside a line already cut and logged

    def feed(self, chunk: bytes) -> bool:
        """Log the complete lines in `chunk`; False when `chunk` is empty (end of output)."""
        if not chunk:
            return False
        *complete, rest = (self._pending + chunk).split(b"\n")
        for line in complete:
            if not self._skipping:
                self._emit(line)
            self._skipping = False
        self._pending = b""
        if self._skipping:
            return True
        if len(rest) > self._MAX_PENDING:
            self._emit(rest)
            self._skipping = True
        else:
            self._pending = rest
        return True

    def close(self) -> None:
        if self._pending and not self._skipping:
            self._emit(self._pending)
        self._pending = b""

    def _emit(self, line: bytes) -> None:
        self._log(line.decode("utf-8", errors="replace").removesuffix("\r")[:MAX_LINE])


# --- URLs -------------------------------------------------------------------------------------


def _get(template: str, step: StepRun, log: LogSink) -> StepResult:
    """GET the URL once (the engine retries); any 2xx answer passes."""
    values = {key: quote(value, safe="") for key, value in step.placeholders().items()}
    try:
        url = fill(template, values)
    except ValueError as exc:
        return StepResult(ok=False, summary=str(exc))
    details: dict[str, Any] = {"url": url}
    try:
        response = httpx.get(url, timeout=step.timeout or URL_TIMEOUT)
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        summary = f"GET {url} failed: {type(exc).__name__}"
    else:
        details["status"] = response.status_code
        summary = f"GET {url} answered {response.status_code}"
    log(summary)
    return StepResult(ok=200 <= details.get("status", 0) < 300, summary=summary, details=details)
