"""The `router` traffic driver: moves users between a service's blue and green slots through
relman's development router (`python -m relman.router`, local use only) and its admin API.

`address` is the router's admin address (`--admin`, host:port or http://host:port); `backend`
is the service the router serves (`--service`), checked against the router's answer so that two
services can't move each other's traffic by mistake (empty: not checked). The router forgets its
weights when it restarts and starts again at blue 100: `ensure` sets them again, as for an
HAProxy reload.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from relman.errors import InvalidInput, RelmanError
from relman.router import SLOTS, parse_weights

__all__ = ["RouterError", "RouterTraffic"]

_TIMEOUT = 5.0
_START_HINT = "start it with 'python -m relman.router --admin {address} …'"


class RouterError(RelmanError):
    """The development router could not be reached or refused a request."""

    code = "traffic_error"


@dataclass(frozen=True)
class RouterTraffic:
    """A service's blue and green slots behind the development router whose admin API is at
    `address`."""

    address: str
    backend: str = ""
    timeout: float = _TIMEOUT
    transport: httpx.BaseTransport | None = None  # tests swap the network

    def apply(self, weights: Mapping[str, int]) -> None:
        """Give each slot its percentage of the traffic; slots not named get 0; the weights
        must add up to 100."""
        try:
            wanted = parse_weights(dict(weights))
        except ValueError as exc:
            raise InvalidInput(
                f"Cannot set the router at {self.address} to {dict(weights)}: {exc}",
                details={"slots": list(SLOTS), "weights": dict(weights)},
            ) from None
        self._check(self._request("PUT", wanted))

    def current(self) -> dict[str, int]:
        """What the router holds now, per slot."""
        status = self._check(self._request("GET"))
        weights = status.get("weights")
        if not isinstance(weights, Mapping) or set(weights) != set(SLOTS):
            raise RouterError(
                f"Unexpected answer from the router at {self.address}: {status!r:.200}",
                details={"address": self.address},
            )
        return {slot: int(weights[slot]) for slot in SLOTS}

    def ensure(self, weights: Mapping[str, int]) -> bool:
        """Set the weights again if the router lost them (a restart); True if it had to."""
        wanted = {slot: weights.get(slot, 0) for slot in SLOTS}
        if self.current() == wanted:
            return False
        self.apply(wanted)
        return True

    @property
    def url(self) -> str:
        base = self.address if "://" in self.address else f"http://{self.address}"
        return base.rstrip("/") + "/-/weights"

    def _request(self, method: str, body: Mapping[str, int] | None = None) -> httpx.Response:
        details = {"address": self.address}
        try:
            with httpx.Client(timeout=self.timeout, transport=self.transport) as client:
                return client.request(method, self.url, json=body)
        except httpx.ConnectError:
            raise RouterError(
                f"Nothing answers at the development router's admin address {self.address}; "
                f"is it running? {_START_HINT.format(address=self.address)}",
                details=details,
            ) from None
        except httpx.TimeoutException:
            raise RouterError(
                f"The development router at {self.address} did not answer within {self.timeout:g}s",
                details=details,
            ) from None
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            raise RouterError(
                f"Cannot use the development router at {self.address}: {exc}", details=details
            ) from None

    def _check(self, response: httpx.Response) -> dict[str, Any]:
        try:
            status = response.json()
        except ValueError:
            status = None
        if not isinstance(status, dict):
            raise RouterError(
                f"{self.address} answered {response.status_code} with something other than "
                f"the development router's JSON: {response.text[:200]!r}; is --admin the "
                "router's admin address?",
                details={"address": self.address, "status": response.status_code},
            )
        if response.status_code != 200:
            raise RouterError(
                f"The router at {self.address} refused: {status.get('error', status)}",
                details={"address": self.address, "status": response.status_code},
            )
        if self.backend and status.get("service") != self.backend:
            raise RouterError(
                f"The router at {self.address} serves {status.get('service')!r}, not "
                f"{self.backend!r}; check the service's traffic address",
                details={"address": self.address, "service": status.get("service")},
            )
        return status
