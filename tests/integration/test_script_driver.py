"""The `script` driver against real processes and a real HTTP server on the loopback."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from relman.drivers.base import PlannedStep, StepRun
from relman.drivers.script import ScriptDriver

SH = "/bin/sh"
PRINT_ARGS = [SH, "-c", 'printf "%s\\n" "$@"', "sh"]  # one line per argument
SPAWN_SLEEP = [SH, "-c", "sleep 30 & echo $!; wait"]  # logs the pid of its child `sleep`


def _attempt(
    settings: Mapping[str, Any],
    *,
    step: str = "deploy",
    version: str = "1.2.3",
    timeout: float | None = 5.0,
) -> StepRun:
    return StepRun(
        deployment_id=42,
        step_index=0,
        step=step,
        attempt=2,
        service="api",
        version=version,
        previous_version="1.2.2",
        environment="staging",
        settings=settings,
        timeout=timeout,
        slot="blue",
    )


def _deploy(command: list[str] | str, **settings: Any) -> dict[str, Any]:
    return {"deploy": {"command": command}, **settings}


def _run(step: StepRun, cancel: threading.Event | None = None) -> tuple[Any, list[str]]:
    lines: list[str] = []
    result = ScriptDriver().run(step, lines.append, cancel or threading.Event())
    return result, lines


def _is_gone(pid: int) -> bool:
    """Gone, or a zombie waiting for its (new) parent to reap it."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def _wait_until_gone(pid: int) -> bool:
    """A killed process takes a moment to exit; this waits for it, not for a deadline."""
    for _ in range(200):
        if _is_gone(pid):
            return True
        time.sleep(0.01)
    return False


# --- commands ---------------------------------------------------------------------------------


def test_placeholders_reach_arguments_literally_without_a_shell() -> None:
    version = "1.0; echo pwned $(id) `id` *"
    step = _attempt(
        _deploy([*PRINT_ARGS, "{version}", "{service}-{environment}-{slot}"]), version=version
    )

    result, lines = _run(step)

    assert result.ok
    assert lines == [version, "api-staging-blue"]


def test_shell_mode_quotes_placeholder_values() -> None:
    version = "1.0'; echo pwned; '$(id)"
    settings = {"deploy": {"command": 'printf "%s\\n" {version} {previous_version}'}, "shell": True}

    result, lines = _run(_attempt(settings, version=version))

    assert result.ok
    assert lines == [version, "1.2.2"]


def test_a_single_string_command_without_shell_mode_fails_without_running() -> None:
    result, lines = _run(_attempt(_deploy("echo hi")))

    assert not result.ok
    assert "shell: true" in result.summary
    assert lines == []


def test_an_unknown_placeholder_fails_and_names_it() -> None:
    result, _ = _run(_attempt(_deploy([SH, "-c", "true", "{weight}"])))

    assert not result.ok
    assert result.summary.startswith("unknown placeholder {weight}; available: {service}")


def test_the_command_gets_relman_variables_but_not_the_workers_secrets(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("RELMAN_TOKEN", "relman_1_secret")
    monkeypatch.setenv("RELMAN_DATABASE_URL", "postgresql://user:pw@db/relman")
    monkeypatch.setenv("RELMAN_HOME", "/var/lib/relman")
    monkeypatch.setenv("DEPLOY_REGION", "eu-west")

    result, lines = _run(_attempt(_deploy(["env"])))

    environment = dict(line.split("=", 1) for line in lines if "=" in line)
    assert result.ok
    assert {
        key: environment.get(key)
        for key in (
            "RELMAN_SERVICE",
            "RELMAN_VERSION",
            "RELMAN_PREVIOUS_VERSION",
            "RELMAN_ENVIRONMENT",
            "RELMAN_SLOT",
            "RELMAN_DEPLOYMENT_ID",
            "RELMAN_STEP",
            "RELMAN_ATTEMPT",
            "RELMAN_IDEMPOTENCY_KEY",
        )
    } == {
        "RELMAN_SERVICE": "api",
        "RELMAN_VERSION": "1.2.3",
        "RELMAN_PREVIOUS_VERSION": "1.2.2",
        "RELMAN_ENVIRONMENT": "staging",
        "RELMAN_SLOT": "blue",
        "RELMAN_DEPLOYMENT_ID": "42",
        "RELMAN_STEP": "deploy",
        "RELMAN_ATTEMPT": "2",
        "RELMAN_IDEMPOTENCY_KEY": "42-0-2",
    }
    assert environment["DEPLOY_REGION"] == "eu-west"
    assert "RELMAN_TOKEN" not in environment
    assert "RELMAN_DATABASE_URL" not in environment
    assert "RELMAN_HOME" not in environment
    assert "relman_1_secret" not in "\n".join(lines)


def test_stdout_and_stderr_lines_reach_the_log_in_order() -> None:
    script = "echo one; echo two >&2; echo three; printf 'no newline' >&2"

    result, lines = _run(_attempt(_deploy([SH, "-c", script])))

    assert result.ok
    assert lines == ["one", "two", "three", "no newline"]


def test_output_lines_reach_the_log_while_the_command_still_runs(tmp_path: Path) -> None:
    signal_file = tmp_path / "seen"
    script = 'echo ready; while [ ! -e "$1" ]; do sleep 0.01; done; echo finished'
    lines: list[str] = []

    def log(line: str) -> None:
        lines.append(line)
        if line == "ready":
            signal_file.touch()  # the command waits for this, so "ready" must arrive early

    step = _attempt(_deploy([SH, "-c", script, "sh", str(signal_file)]))
    result = ScriptDriver().run(step, log, threading.Event())

    assert result.ok
    assert lines == ["ready", "finished"]


def test_long_lines_are_cut_and_bad_utf8_is_replaced() -> None:
    script = "head -c 10000 /dev/zero | tr '\\0' x; echo; printf 'caf\\351\\r\\n'; echo next"

    result, lines = _run(_attempt(_deploy([SH, "-c", script])))

    assert result.ok
    assert lines == ["x" * 4000, "caf\ufffd", "next"]


def test_a_successful_command_reports_its_exit_code_and_command() -> None:
    result, _ = _run(_attempt(_deploy(["true", "{version}"])))

    assert result.ok
    assert result.summary == "exit 0"
    assert result.details == {"exit_code": 0, "command": ["true", "1.2.3"]}


def test_a_non_zero_exit_fails_the_step() -> None:
    result, _ = _run(_attempt(_deploy([SH, "-c", "exit 3"])))

    assert not result.ok
    assert result.summary == "exit 3"
    assert result.details["exit_code"] == 3


def test_a_timeout_kills_the_whole_process_group() -> None:
    result, lines = _run(_attempt(_deploy(SPAWN_SLEEP), timeout=0.2))

    assert not result.ok
    assert result.summary == "timed out after 0.2s"
    assert _wait_until_gone(int(lines[0]))


def test_a_timeout_in_whole_seconds_reads_as_a_duration() -> None:
    result, _ = _run(_attempt(_deploy(SPAWN_SLEEP), timeout=0.0))

    assert result.summary == "timed out after 0s"


def test_cancelling_stops_the_command_and_its_children() -> None:
    cancel = threading.Event()
    lines: list[str] = []

    def log(line: str) -> None:
        lines.append(line)
        cancel.set()

    result = ScriptDriver().run(_attempt(_deploy(SPAWN_SLEEP), timeout=None), log, cancel)

    assert not result.ok
    assert result.summary == "cancelled"
    assert _wait_until_gone(int(lines[0]))


def test_a_step_cancelled_before_it_starts_runs_nothing(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    cancel = threading.Event()
    cancel.set()

    result, _ = _run(_attempt(_deploy(["touch", str(marker)])), cancel)

    assert result.summary == "cancelled"
    assert not marker.exists()


def test_a_command_that_does_not_exist_fails_cleanly() -> None:
    result, lines = _run(_attempt(_deploy(["./no-such-deploy.sh", "{version}"])))

    assert not result.ok
    assert result.summary == "command not found: ./no-such-deploy.sh"
    assert result.details == {"command": ["./no-such-deploy.sh", "1.2.3"]}
    assert lines == []


def test_a_command_that_cannot_be_executed_fails_cleanly(tmp_path: Path) -> None:
    script = tmp_path / "deploy.sh"
    script.write_text("#!/bin/sh\necho hi\n")  # not executable

    result, _ = _run(_attempt(_deploy([str(script)])))

    assert not result.ok
    assert result.summary == f"could not start {script}: Permission denied"


def test_a_step_that_is_not_configured_fails_and_says_so() -> None:
    result, _ = _run(_attempt(_deploy(["true"]), step="verify"))

    assert not result.ok
    assert result.summary == "no 'verify' step is configured"


def test_a_bare_command_and_a_list_from_the_database_both_run() -> None:
    settings = {"deploy": ["true"], "rollback": {"command": ("true",)}}

    assert _run(_attempt(settings))[0].ok
    assert _run(_attempt(settings, step="rollback"))[0].ok


# --- verify URLs ------------------------------------------------------------------------------


class _Health(BaseHTTPRequestHandler):
    paths: list[str] = []

    def do_GET(self) -> None:
        self.paths.append(self.path)
        self.send_response(200 if self.path.startswith("/ok") else 503)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep the test output clean


@pytest.fixture
def health_server() -> Iterator[tuple[str, list[str]]]:
    paths: list[str] = []
    handler = type("RecordingHealth", (_Health,), {"paths": paths})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", paths
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _verify(url: str) -> StepRun:
    return _attempt({"deploy": {"command": ["true"]}, "verify": {"url": url}}, step="verify")


def test_verify_passes_when_the_url_answers_200(health_server: tuple[str, list[str]]) -> None:
    base, paths = health_server

    result, lines = _run(_verify(base + "/ok/{service}/{version}"))

    assert result.ok
    assert result.summary == f"GET {base}/ok/api/1.2.3 answered 200"
    assert lines == [result.summary]
    assert paths == ["/ok/api/1.2.3"]


def test_verify_quotes_placeholder_values_in_the_url(
    health_server: tuple[str, list[str]],
) -> None:
    base, paths = health_server
    step = _attempt(
        {"verify": {"url": base + "/ok/{version}"}}, step="verify", version="1.0/../admin?x"
    )

    result, _ = _run(step)

    assert result.ok
    assert paths == ["/ok/1.0%2F..%2Fadmin%3Fx"]


def test_verify_fails_when_the_url_answers_503(health_server: tuple[str, list[str]]) -> None:
    base, _ = health_server

    result, lines = _run(_verify(base + "/unavailable"))

    assert not result.ok
    assert result.summary == f"GET {base}/unavailable answered 503"
    assert result.details["status"] == 503
    assert lines == [result.summary]


def test_verify_fails_when_the_connection_is_refused() -> None:
    with socket.socket() as bound_but_not_listening:
        bound_but_not_listening.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{bound_but_not_listening.getsockname()[1]}/ok"

        result, lines = _run(_verify(url))

    assert not result.ok
    assert result.summary == f"GET {url} failed: ConnectError"
    assert lines == [result.summary]


# --- plans ------------------------------------------------------------------------------------


def test_a_deploy_plan_is_deploy_then_verify() -> None:
    settings = {"deploy": {"command": ["./deploy.sh"]}, "verify": {"url": "http://x/health"}}

    plan = ScriptDriver().plan(settings, rollback=False)

    assert [step.name for step in plan] == ["deploy", "verify"]


def test_a_plan_without_verify_has_only_deploy() -> None:
    settings = {"deploy": {"command": ["./deploy.sh"]}, "verify": None, "rollback": None}

    assert ScriptDriver().plan(settings, rollback=False) == [PlannedStep("deploy", 1800.0)]


def test_a_rollback_plan_runs_the_rollback_step_when_there_is_one() -> None:
    settings = {
        "deploy": {"command": ["./deploy.sh"]},
        "rollback": {"command": ["./rollback.sh"]},
        "verify": {"command": ["./verify.sh"]},
    }

    plan = ScriptDriver().plan(settings, rollback=True)

    assert [step.name for step in plan] == ["rollback", "verify"]


def test_a_rollback_plan_redeploys_when_there_is_no_rollback_step() -> None:
    settings = {"deploy": {"command": ["./deploy.sh"]}, "verify": {"command": ["./verify.sh"]}}

    plan = ScriptDriver().plan(settings, rollback=True)

    assert [step.name for step in plan] == ["deploy", "verify"]


def test_steps_take_timeout_retries_and_idempotent_from_the_driver_unless_they_set_their_own() -> (
    None
):
    settings = {
        "deploy": {"command": ["./deploy.sh"], "timeout": None, "retries": None},
        "verify": {"url": "http://x/health", "timeout": "30s", "retries": 5, "idempotent": False},
        "shell": False,
        "timeout": "1h30m",
        "retries": 2,
        "idempotent": True,
    }

    plan = ScriptDriver().plan(settings, rollback=False)

    assert plan == [
        PlannedStep("deploy", timeout=5400.0, retries=2, idempotent=True),
        PlannedStep("verify", timeout=30.0, retries=5, idempotent=False),
    ]


def test_a_step_with_no_timeout_anywhere_gets_thirty_minutes_and_no_retries() -> None:
    plan = ScriptDriver().plan({"deploy": ["./deploy.sh"]}, rollback=False)

    assert plan == [PlannedStep("deploy", timeout=1800.0, retries=0, idempotent=False)]
