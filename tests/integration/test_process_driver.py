"""The `process` driver against real processes (the demo app) on the loopback."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import httpx
import pytest

from relman.drivers.base import PlannedStep, StepResult, StepRun
from relman.drivers.process import ProcessDriver, default_state_dir
from tests.e2e.servers import free_port, tiny_http_server

DEMOAPP = ["{python}", "-m", "relman.demoapp", "--port", "{port}", "--version", "{version}"]
SLEEPER = [sys.executable, "-c", "import time; print('warming up', flush=True); time.sleep(60)"]


@pytest.fixture
def state_dir(tmp_path: Path) -> Iterator[Path]:
    """Where the driver keeps pid files; at the end, every process they name is killed by pid."""
    path = tmp_path / "state"
    yield path
    for pid_file in path.glob("*.pid"):
        pid = json.loads(pid_file.read_text())["pid"]
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)


@pytest.fixture
def settings(state_dir: Path) -> dict[str, Any]:
    return {
        "command": [*DEMOAPP, "--slot", "{slot}"],
        "ports": {"blue": free_port(), "green": free_port()},
        "start_timeout": 10,
        "state_dir": str(state_dir),
    }


def _step(
    settings: Mapping[str, Any], step: str = "deploy", version: str = "1.0.0", slot: str = "blue"
) -> StepRun:
    return StepRun(
        deployment_id=7,
        step_index=0,
        step=step,
        attempt=1,
        service="web",
        version=version,
        previous_version=None,
        environment="dev",
        settings=settings,
        slot=slot,
    )


def _run(step: StepRun, cancel: threading.Event | None = None) -> tuple[StepResult, list[str]]:
    lines: list[str] = []
    result = ProcessDriver().run(step, lines.append, cancel or threading.Event())
    return result, lines


def _get(port: int) -> str:
    return httpx.get(f"http://127.0.0.1:{port}/", timeout=5).text


def _gone(pid: int) -> bool:
    """Gone, or a zombie waiting for its parent to reap it."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def _refuses(port: int) -> bool:
    try:
        httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
    except httpx.ConnectError:
        return True
    return False


def test_the_plan_is_deploy_then_verify_both_idempotent() -> None:
    assert ProcessDriver().plan({"start_timeout": 12}, rollback=False) == [
        PlannedStep("deploy", timeout=17, idempotent=True),
        PlannedStep("verify", idempotent=True),
    ]
    assert ProcessDriver().plan({}, rollback=True)[0].timeout == 25


def test_deploy_starts_the_version_in_its_slot_and_verify_passes(settings: dict[str, Any]) -> None:
    result, lines = _run(_step(settings))

    assert result.ok, result.summary
    port = settings["ports"]["blue"]
    assert f"blue (port {port}) runs 1.0.0" in result.summary
    assert _get(port) == "hello from 1.0.0 (blue)\n"
    assert any("listening on" in line for line in lines)  # the app's own output is streamed
    verified, _ = _run(_step(settings, "verify"))
    assert verified.ok
    assert verified.summary == f"blue (port {port}) answered 200 at http://127.0.0.1:{port}/healthz"


def test_redeploying_a_slot_replaces_its_process(settings: dict[str, Any]) -> None:
    first, _ = _run(_step(settings, version="1.0.0"))
    second, lines = _run(_step(settings, version="1.1.0"))

    assert second.ok, second.summary
    assert _gone(first.details["pid"])
    assert second.details["pid"] != first.details["pid"]
    assert _get(settings["ports"]["blue"]) == "hello from 1.1.0 (blue)\n"
    assert lines[0].startswith(f"stopping blue (port {settings['ports']['blue']})")


def test_stop_frees_the_slot_and_stopping_an_empty_slot_is_fine(
    settings: dict[str, Any], state_dir: Path
) -> None:
    deployed, _ = _run(_step(settings))

    stopped, _ = _run(_step(settings, "stop"))
    again, _ = _run(_step(settings, "stop"))

    assert stopped.ok
    assert stopped.summary.startswith("stopped blue")
    assert _gone(deployed.details["pid"])
    assert _refuses(settings["ports"]["blue"])
    assert "demoapp 1.0.0 (blue) stopped" in (state_dir / "web-dev-blue.log").read_text()
    assert again.ok
    assert again.summary.startswith("nothing runs in blue")
    verified, _ = _run(_step(settings, "verify"))
    assert not verified.ok
    assert "no process runs there" in verified.summary


def test_blue_and_green_run_side_by_side(settings: dict[str, Any]) -> None:
    _run(_step(settings, version="1.0.0", slot="blue"))
    green, _ = _run(_step(settings, version="1.1.0", slot="green"))

    assert green.ok, green.summary
    assert _get(settings["ports"]["blue"]) == "hello from 1.0.0 (blue)\n"
    assert _get(settings["ports"]["green"]) == "hello from 1.1.0 (green)\n"


def test_a_fresh_worker_stops_the_process_another_worker_started(
    settings: dict[str, Any],
) -> None:
    """The first worker is another Python process that deploys, then exits; the app lives on."""
    worker = (
        "import json, sys, threading\n"
        "from relman.drivers.base import StepRun\n"
        "from relman.drivers.process import ProcessDriver\n"
        "settings = json.loads(sys.argv[1])\n"
        "step = StepRun(7, 0, 'deploy', 1, 'web', '2.0.0', None, 'dev', settings, slot='blue')\n"
        "result = ProcessDriver().run(step, print, threading.Event())\n"
        "sys.exit(0 if result.ok else 1)\n"
    )
    finished = subprocess.run(
        [sys.executable, "-c", worker, json.dumps(settings)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert finished.returncode == 0, finished.stdout + finished.stderr
    port = settings["ports"]["blue"]
    assert _get(port) == "hello from 2.0.0 (blue)\n"  # outlived its worker

    stopped, _ = _run(_step(settings, "stop"))

    assert stopped.ok
    assert stopped.summary.startswith(f"stopped blue (port {port}): pid ")
    assert _gone(stopped.details["pid"])
    assert _refuses(port)


def test_a_command_that_exits_at_once_fails_with_its_last_lines(settings: dict[str, Any]) -> None:
    settings["command"] = [
        sys.executable,
        "-c",
        "import os; print('boom:', os.environ['WHERE']); raise SystemExit(3)",
    ]
    settings["env"] = {"WHERE": "{service} {slot} {port}"}
    port = settings["ports"]["blue"]

    result, lines = _run(_step(settings))

    assert not result.ok
    assert result.details["exit_code"] == 3
    assert result.summary.startswith(f"blue (port {port}) exited with code 3 before answering")
    assert result.summary.endswith(f"last lines of web-dev-blue.log: boom: web blue {port}")
    assert f"boom: web blue {port}" in lines


def test_cancel_stops_waiting_and_stops_the_process(settings: dict[str, Any]) -> None:
    settings["command"] = SLEEPER
    cancel = threading.Event()
    lines: list[str] = []

    def log(line: str) -> None:
        lines.append(line)
        if line == "warming up":
            cancel.set()

    result = ProcessDriver().run(_step(settings), log, cancel)

    assert not result.ok
    assert result.summary.startswith("cancelled while blue")
    assert "stopped it" in result.summary
    assert _gone(result.details["pid"])


def test_a_slot_that_never_answers_fails_after_start_timeout(settings: dict[str, Any]) -> None:
    settings.update(command=SLEEPER, start_timeout=0.5, health="ready")
    port = settings["ports"]["blue"]

    result, _ = _run(_step(settings))

    assert not result.ok
    assert result.summary.startswith(
        f"blue (port {port}) did not answer 200 at http://127.0.0.1:{port}/ready within 0.5s; "
        "stopped it; last lines of web-dev-blue.log: warming up"
    )
    assert _gone(result.details["pid"])


def test_a_port_taken_by_a_process_relman_did_not_start_fails_the_deploy(
    settings: dict[str, Any],
) -> None:
    stranger = tiny_http_server("not yours")
    try:
        settings["ports"]["blue"] = stranger.server_address[1]
        result, _ = _run(_step(settings))
    finally:
        stranger.shutdown()
        stranger.server_close()

    assert not result.ok
    assert result.summary.startswith(
        f"port {settings['ports']['blue']} of slot blue is taken by a process relman did not start"
    )


def test_a_pid_file_naming_another_process_is_never_signalled(
    settings: dict[str, Any], state_dir: Path
) -> None:
    bystander = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        state_dir.mkdir()
        record = {"pid": bystander.pid, "started": "1", "port": 1, "version": "0.9.0"}
        (state_dir / "web-dev-blue.pid").write_text(json.dumps(record))

        result, lines = _run(_step(settings))

        assert result.ok, result.summary
        assert bystander.poll() is None
        assert f"blue: pid {bystander.pid} is no longer the process relman started" in lines[0]
    finally:
        bystander.kill()
        bystander.wait()


def test_the_error_rate_reaches_the_demo_app_through_env(settings: dict[str, Any]) -> None:
    settings["env"] = {"RELMAN_DEMO_ERROR_RATE": "0.25"}
    _run(_step(settings))
    port = settings["ports"]["blue"]

    with httpx.Client() as client:
        codes = [client.get(f"http://127.0.0.1:{port}/").status_code for _ in range(100)]

    assert codes.count(500) == 25
    assert codes[:8] == [200, 200, 200, 500, 200, 200, 200, 500]


def test_a_demo_release_can_be_made_bad_by_its_version(settings: dict[str, Any]) -> None:
    settings["env"] = {"RELMAN_DEMO_ERROR_RATES": "9.9.9=0.1, {version}=0.5"}
    _run(_step(settings))
    port = settings["ports"]["blue"]

    with httpx.Client() as client:
        codes = [client.get(f"http://127.0.0.1:{port}/").status_code for _ in range(20)]

    assert codes.count(500) == 10


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"command": "./server --port {port}"}, "command must be a list of arguments"),
        ({"command": ["./server", "{nope}"]}, "unknown placeholder {nope}; available:"),
        ({"ports": {"green": 8102}}, "no port for slot 'blue' in ports (green); add one"),
        ({"ports": {"blue": "eighty"}}, "port 'eighty' of slot 'blue' is not a port number"),
        ({"start_timeout": -1}, "start_timeout -1 is not a number of seconds above 0"),
    ],
)
def test_bad_settings_fail_the_step_without_raising(
    settings: dict[str, Any], change: dict[str, Any], message: str
) -> None:
    result, _ = _run(_step({**settings, **change}))

    assert not result.ok
    assert message in result.summary


def test_an_unknown_step_fails_naming_the_steps(settings: dict[str, Any]) -> None:
    result, _ = _run(_step(settings, "rollback"))

    assert result == StepResult(
        False, "the process driver has no step 'rollback'; deploy, verify, stop"
    )


def test_a_plain_deployment_uses_the_first_port_unless_default_is_given(
    settings: dict[str, Any],
) -> None:
    blue = settings["ports"]["blue"]
    first, _ = _run(_step(settings, "verify", slot="default"))
    named, _ = _run(
        _step({**settings, "ports": {"blue": blue, "default": 9}}, "verify", slot="default")
    )

    assert first.details["port"] == blue
    assert named.details["port"] == 9


def test_the_state_dir_defaults_under_xdg_state_home(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    assert default_state_dir() == tmp_path / "relman" / "processes"
    monkeypatch.delenv("XDG_STATE_HOME")
    assert default_state_dir() == Path.home() / ".local" / "state" / "relman" / "processes"
