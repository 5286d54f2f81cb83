"""The haproxy traffic driver against a real HAProxy (Debian's package; `make test` installs it),
balancing real HTTP requests between two tiny servers on loopback."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from relman.drivers.haproxy import HAProxyError, HAProxyRuntime, HAProxyTraffic
from relman.errors import InvalidInput
from tests.e2e.infra import answers, eventually, running_haproxy
from tests.e2e.servers import free_port, tiny_http_server

pytestmark = pytest.mark.skipif(
    shutil.which("haproxy") is None, reason="HAProxy is not installed ('make test' installs it)"
)

SLOTS = {"blue": "web-blue", "green": "web-green"}


@dataclass
class Proxy:
    url: str
    socket: Path
    process: subprocess.Popen[bytes]

    def traffic(self) -> HAProxyTraffic:
        return HAProxyTraffic(HAProxyRuntime(str(self.socket)), "web", SLOTS)

    def served(self, requests: int) -> Counter[str]:
        with httpx.Client(limits=httpx.Limits(max_keepalive_connections=0)) as client:
            return Counter(client.get(self.url).text for _ in range(requests))

    def reload(self) -> None:
        """What `systemctl reload haproxy` does: the master starts a new worker from the
        config, which knows nothing of the weights set at runtime."""
        before = HAProxyRuntime(str(self.socket)).command("show info")
        os.kill(self.process.pid, signal.SIGUSR2)
        eventually(lambda: answers(self.socket) and _pid_of(self.socket) != _pid(before))


def _pid_of(path: Path) -> str:
    return _pid(HAProxyRuntime(str(path)).command("show info"))


def _pid(info: str) -> str:
    return next(line for line in info.splitlines() if line.startswith("Pid:"))


@pytest.fixture
def proxy(tmp_path: Path) -> Iterator[Proxy]:
    blue, green = tiny_http_server("blue"), tiny_http_server("green")
    ports = {"web-blue": blue.server_address[1], "web-green": green.server_address[1]}
    try:
        with running_haproxy(tmp_path, {"web": ports}) as haproxy:
            yield Proxy(haproxy.url, haproxy.socket, haproxy.process)
    finally:
        for server in (blue, green):
            server.shutdown()
            server.server_close()


def test_weights_move_real_requests_between_the_slots_without_a_reload(proxy: Proxy) -> None:
    traffic = proxy.traffic()
    assert traffic.current() == {"blue": 100, "green": 0}
    assert proxy.served(20) == Counter({"blue": 20})

    traffic.apply({"blue": 90, "green": 10})
    assert traffic.current() == {"blue": 90, "green": 10}
    served = proxy.served(200)
    assert 15 <= served["green"] <= 25, served  # round robin by weight: about 20 of 200

    traffic.apply({"green": 100})  # a slot not named goes to 0: all on green at once
    assert traffic.current() == {"blue": 0, "green": 100}
    assert proxy.served(30) == Counter({"green": 30})


def test_after_a_reload_the_weights_relman_holds_are_put_back(proxy: Proxy) -> None:
    traffic = proxy.traffic()
    wanted = {"blue": 50, "green": 50}
    traffic.apply(wanted)
    assert traffic.ensure(wanted) is False  # nothing lost, nothing done

    proxy.reload()
    assert traffic.current() == {"blue": 100, "green": 0}  # the config's weights again
    assert traffic.ensure(wanted) is True
    assert traffic.current() == wanted
    served = proxy.served(100)
    assert 40 <= served["green"] <= 60, served


def test_a_missing_socket_is_a_clear_error_naming_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "no.sock"
    with pytest.raises(HAProxyError) as caught:
        HAProxyTraffic(HAProxyRuntime(str(missing)), "web", SLOTS).current()
    assert f"HAProxy admin socket '{missing}' does not exist" in caught.value.message
    assert "stats socket PATH mode 600 level admin" in caught.value.message

    with pytest.raises(HAProxyError, match="Nothing answers on the HAProxy admin socket"):
        HAProxyRuntime(f"127.0.0.1:{free_port()}").command("show info")
    with pytest.raises(InvalidInput, match="Bad HAProxy socket 'admin'"):
        HAProxyRuntime("admin").command("show info")


def test_a_wrong_backend_server_slot_or_weight_is_refused_naming_it(proxy: Proxy) -> None:
    runtime = HAProxyRuntime(str(proxy.socket))
    with pytest.raises(HAProxyError, match="HAProxy has no backend 'api'"):
        HAProxyTraffic(runtime, "api", SLOTS).current()
    with pytest.raises(HAProxyError, match="Backend web has no server web-purple"):
        HAProxyTraffic(runtime, "web", {"blue": "web-blue", "purple": "web-purple"}).current()
    with pytest.raises(HAProxyError, match="refused to set web/web-purple to weight 10"):
        runtime.set_weight("web", "web-purple", 10)
    with pytest.raises(InvalidInput, match="Unknown slot purple"):
        proxy.traffic().apply({"purple": 10})
    with pytest.raises(InvalidInput, match="Weight 120 for slot blue is not a percentage"):
        proxy.traffic().apply({"blue": 120})
    assert proxy.traffic().current() == {"blue": 100, "green": 0}  # nothing changed
