"""The CLI's HTTP client for the relman API; error envelopes become relman errors."""

from __future__ import annotations

from collections.abc import Iterator
from types import TracebackType
from typing import Any, Self

import httpx

from relman import errors
from relman.settings import Settings

__all__ = ["ApiClient"]

_ERRORS: dict[str, type[errors.RelmanError]] = {
    "invalid_input": errors.InvalidInput,
    "invalid_config": errors.InvalidInput,  # the message lists every issue with its line
    "unauthenticated": errors.Unauthenticated,
    "forbidden": errors.Forbidden,
    "not_found": errors.NotFound,
    "conflict": errors.Conflict,
    "refused": errors.Refused,
}


class ApiClient:
    def __init__(self, settings: Settings, *, transport: httpx.BaseTransport | None = None):
        headers = {"User-Agent": "relman-cli"}
        if settings.token:
            if not settings.token.isascii() or not settings.token.isprintable():
                raise errors.InvalidInput(
                    "RELMAN_TOKEN holds characters no token has; copy the token again "
                    "(it looks like relman_<id>_<secret>)"
                )
            headers["Authorization"] = f"Bearer {settings.token}"
        self.url = settings.url
        self.last_status = 0
        self._http = httpx.Client(
            base_url=settings.url, headers=headers, timeout=30.0, transport=transport
        )

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._http.close()

    def get(self, path: str, **params: Any) -> Any:
        clean = {k: v for k, v in params.items() if v is not None}
        return self._send("GET", path, params=clean)

    def post(self, path: str, body: dict[str, Any]) -> Any:
        return self._send("POST", path, json=body)

    def put(self, path: str, body: dict[str, Any]) -> Any:
        return self._send("PUT", path, json=body)

    def delete(self, path: str) -> Any:
        return self._send("DELETE", path)

    def lines(self, path: str) -> Iterator[str]:
        """The lines of a streamed response (JSON Lines), read as they come."""
        try:
            with self._http.stream("GET", path) as response:
                self.last_status = response.status_code
                if not response.is_success:
                    response.read()
                    raise _error_from(response)
                yield from response.iter_lines()
        except httpx.TransportError as exc:
            raise self._unreachable(exc) from None

    def _unreachable(self, exc: httpx.TransportError) -> errors.ServerUnreachable:
        return errors.ServerUnreachable(
            f"Cannot reach the relman server at {self.url} ({exc.__class__.__name__}); "
            "start it with 'relman serve' or set RELMAN_URL",
            details={"url": self.url},
        )

    def _send(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise self._unreachable(exc) from None
        self.last_status = response.status_code
        if not response.is_success:
            raise _error_from(response)
        if response.status_code == 204:
            return None
        try:
            return response.json()
        except ValueError:
            raise errors.RelmanError(
                f"{self.url} answered {response.status_code} with something other than JSON; "
                "is RELMAN_URL the relman server's root (like http://127.0.0.1:8000)?",
                details={"url": self.url, "status": response.status_code},
            ) from None


def _error_from(response: httpx.Response) -> errors.RelmanError:
    try:
        body = response.json()["error"]
        code, message, details = body["code"], body["message"], body.get("details") or {}
    except (ValueError, KeyError, TypeError):
        code, message, details = "error", f"HTTP {response.status_code}: {response.text[:200]}", {}
    return _ERRORS.get(code, errors.RelmanError)(message, details=details)
