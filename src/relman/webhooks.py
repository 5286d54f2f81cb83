"""Calling a webhook gate: a signed POST whose answer is a verdict (docs/gates.md#webhook).

relman sends JSON and two headers:

    X-Relman-Timestamp: 1764547200              (Unix seconds)
    X-Relman-Signature: sha256=<hex>            HMAC-SHA256 of "<timestamp>.<body>" with the secret

The receiver recomputes the HMAC with the shared secret, compares in constant time, and refuses
timestamps older than a few minutes (a replay). It answers 200 with
`{"verdict": "pass" | "pending" | "fail", "reason": "..."}`. Anything else (another status, a
body that is not such an object, no answer in time) leaves the gate pending with what happened:
a webhook that is down holds promotions, it never lets them through.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

import httpx

__all__ = ["ask_webhook", "signature"]

VERDICTS = ("pass", "pending", "fail")


def signature(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


def ask_webhook(
    url: str, payload: dict[str, Any], secret: str, timeout: float
) -> tuple[str, str, dict[str, Any]]:
    """(verdict, reason, what happened) from the webhook at `url`."""
    body = json.dumps(payload, sort_keys=True).encode()
    stamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "relman-gate",
        "X-Relman-Timestamp": stamp,
        "X-Relman-Signature": signature(secret, stamp, body),
    }
    try:
        response = httpx.post(url, content=body, headers=headers, timeout=timeout)
    except httpx.HTTPError as exc:
        return "pending", f"no answer from {url} ({type(exc).__name__})", {"url": url}
    seen: dict[str, Any] = {"url": url, "status": response.status_code}
    if response.status_code != 200:
        return "pending", f"{url} answered HTTP {response.status_code}", seen
    try:
        answer = response.json()
        verdict, reason = answer["verdict"], str(answer.get("reason") or "")
    except (ValueError, KeyError, TypeError):
        return "pending", f"{url} answered something other than {{verdict, reason}}", seen
    if verdict not in VERDICTS:
        return "pending", f"{url} answered verdict {verdict!r}; verdicts: pass, pending, fail", seen
    seen["answer"] = {"verdict": verdict, "reason": reason[:1000]}
    return verdict, reason[:1000] or f"the webhook says {verdict}", seen
