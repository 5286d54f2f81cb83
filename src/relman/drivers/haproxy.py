"""The `haproxy` traffic driver: moves users between a service's slots through HAProxy's runtime
API (the admin socket), with no reload.

Each slot is a server of one backend (`slots: {blue: web-blue, green: web-green}`). A weight of
N percent becomes `set server BACKEND/SERVER weight N`, so with round-robin balancing the slots
get exactly their share; a slot at 0 takes no new requests but stays up (a blue-green preview).
HAProxy forgets runtime weights when it reloads and goes back to the weights of its config:
`ensure` compares what HAProxy holds with what relman wants and sets them again when they differ.

The socket is a UNIX path (`/run/haproxy/admin.sock`) or `host:port`, configured in haproxy.cfg
with `stats socket /run/haproxy/admin.sock mode 600 level admin`. One command per connection,
as HAProxy's non-interactive mode expects.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass

from relman.errors import InvalidInput, RelmanError

__all__ = ["HAProxyError", "HAProxyRuntime", "HAProxyTraffic"]

_TIMEOUT = 5.0
_ADMIN_HINT = (
    "enable it in haproxy.cfg with 'stats socket PATH mode 600 level admin' (global section)"
)


class HAProxyError(RelmanError):
    """HAProxy could not be reached or refused a command."""

    code = "traffic_error"


@dataclass(frozen=True)
class HAProxyRuntime:
    """HAProxy's runtime API at `address`: a UNIX socket path, or host:port."""

    address: str
    timeout: float = _TIMEOUT

    def command(self, line: str) -> str:
        """Send one command and return HAProxy's answer (empty when it has nothing to say)."""
        if "\n" in line or ";" in line:
            raise InvalidInput(f"One HAProxy command at a time, not {line!r}")
        try:
            with self._connect() as connection:
                connection.sendall(line.encode() + b"\n")
                chunks = []
                while chunk := connection.recv(65536):
                    chunks.append(chunk)
        except FileNotFoundError:
            raise HAProxyError(
                f"HAProxy admin socket '{self.address}' does not exist; is HAProxy running, "
                f"and is the socket enabled? {_ADMIN_HINT}",
                details={"socket": self.address},
            ) from None
        except PermissionError:
            raise HAProxyError(
                f"No permission to use the HAProxy admin socket '{self.address}'; run relman "
                "as a user that may (the socket's owner or group, see 'mode' and 'user' on the "
                "stats socket line)",
                details={"socket": self.address},
            ) from None
        except ConnectionRefusedError:
            raise HAProxyError(
                f"Nothing answers on the HAProxy admin socket '{self.address}'; is HAProxy "
                "running?",
                details={"socket": self.address},
            ) from None
        except TimeoutError:
            raise HAProxyError(
                f"HAProxy did not answer on '{self.address}' within {self.timeout:g}s",
                details={"socket": self.address},
            ) from None
        except OSError as exc:
            raise HAProxyError(
                f"Cannot use the HAProxy admin socket '{self.address}': {exc.strerror or exc}",
                details={"socket": self.address},
            ) from None
        return b"".join(chunks).decode("utf-8", "replace").strip()

    def _connect(self) -> socket.socket:
        if self.address.startswith("/") or os.sep in self.address:
            connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            target: str | tuple[str, int] = self.address
        else:
            host, _, port = self.address.rpartition(":")
            if not host or not port.isdigit():
                raise InvalidInput(
                    f"Bad HAProxy socket '{self.address}'; expected a UNIX socket path like "
                    "/run/haproxy/admin.sock, or host:port like 127.0.0.1:9999",
                    details={"socket": self.address},
                )
            connection = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            target = (host, int(port))
        connection.settimeout(self.timeout)
        try:
            connection.connect(target)
        except BaseException:
            connection.close()
            raise
        return connection

    def weights(self, backend: str) -> dict[str, int]:
        """The current weight of each server of `backend` (`show servers state`)."""
        answer = self.command(f"show servers state {backend}")
        if answer.startswith(("Can't find backend", "No such backend")):
            raise HAProxyError(f"HAProxy has no backend '{backend}'", details={"backend": backend})
        lines = answer.splitlines()
        header = next((line[2:].split() for line in lines if line.startswith("# be_id")), None)
        if header is None:
            raise HAProxyError(
                f"Unexpected answer from HAProxy to 'show servers state {backend}': "
                f"{answer[:200]!r}",
                details={"backend": backend},
            )
        name_at, weight_at = header.index("srv_name"), header.index("srv_uweight")
        rows = [line.split() for line in lines if line and not line.startswith("#")]
        # The first line is the format's version, a lone number.
        return {row[name_at]: int(row[weight_at]) for row in rows if len(row) > weight_at}

    def set_weight(self, backend: str, server: str, weight: int) -> None:
        answer = self.command(f"set server {backend}/{server} weight {weight}")
        if answer:
            raise HAProxyError(
                f"HAProxy refused to set {backend}/{server} to weight {weight}: {answer}",
                details={"backend": backend, "server": server, "answer": answer},
            )


@dataclass(frozen=True)
class HAProxyTraffic:
    """A service's slots as servers of one HAProxy backend."""

    runtime: HAProxyRuntime
    backend: str
    slots: Mapping[str, str]  # slot -> HAProxy server name

    def apply(self, weights: Mapping[str, int]) -> None:
        """Give each slot its percentage of the traffic; slots not named get 0."""
        unknown = sorted(set(weights) - set(self.slots))
        if unknown:
            raise InvalidInput(
                f"Unknown slot {', '.join(unknown)} for backend {self.backend}; slots: "
                f"{', '.join(self.slots)}",
                details={"slots": list(self.slots), "unknown": unknown},
            )
        for slot, weight in weights.items():
            if not 0 <= weight <= 100:
                raise InvalidInput(f"Weight {weight} for slot {slot} is not a percentage 0-100")
        # Raise the slots that gain first, so that no moment has every slot at 0.
        order = sorted(self.slots, key=lambda slot: -weights.get(slot, 0))
        for slot in order:
            self.runtime.set_weight(self.backend, self.slots[slot], weights.get(slot, 0))

    def current(self) -> dict[str, int]:
        """What HAProxy holds now, per slot."""
        servers = self.runtime.weights(self.backend)
        missing = [server for server in self.slots.values() if server not in servers]
        if missing:
            raise HAProxyError(
                f"Backend {self.backend} has no server {', '.join(missing)}; it has "
                f"{', '.join(servers) or 'none'}",
                details={"backend": self.backend, "missing": missing},
            )
        return {slot: servers[server] for slot, server in self.slots.items()}

    def ensure(self, weights: Mapping[str, int]) -> bool:
        """Set the weights again if HAProxy lost them (a reload); True if it had to."""
        wanted = {slot: weights.get(slot, 0) for slot in self.slots}
        if self.current() == wanted:
            return False
        self.apply(wanted)
        return True
