"""Durations as people write them in relman.yaml: "30s", "10m", "1h30m", "2d", "1w".

A duration is one or more parts, each a whole number glued to a unit (s, m, h, d, w), largest
unit first; spaces between parts are fine ("1h 30m"). A bare number ("90") is refused because
it hides its unit. The canonical form, given by `format_duration`, uses the largest units and
no spaces: parse_duration("90m") formats as "1h30m", zero as "0s".
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import timedelta
from itertools import pairwise

from relman.errors import InvalidInput

__all__ = ["DURATION_EXAMPLES", "format_duration", "parse_duration"]

DURATION_EXAMPLES = "30s, 10m, 1h30m, 2d"

_SECONDS_PER_UNIT = {"w": 604_800, "d": 86_400, "h": 3_600, "m": 60, "s": 1}
_UNIT_ORDER = tuple(_SECONDS_PER_UNIT)
_FORM = re.compile(r"[0-9]+[wdhms](?:\s*[0-9]+[wdhms])*", re.ASCII)
_PART = re.compile(r"([0-9]+)([wdhms])", re.ASCII)
_MAX_DIGITS = 15  # more seconds than a timedelta holds, and far from int()'s digit limit


def parse_duration(text: str) -> timedelta:
    """Read a duration like "1h30m"; raise InvalidInput naming the value and the accepted form."""
    stripped = text.strip()
    if stripped.startswith("-"):
        raise _bad(text, "durations can't be negative, use 0s or more")
    if not _FORM.fullmatch(stripped):
        raise _bad(text, f"use a number and a unit, like {DURATION_EXAMPLES}")
    parts: list[tuple[str, str]] = _PART.findall(stripped)
    if not _largest_unit_first(unit for _, unit in parts):
        raise _bad(text, f"give each unit once, largest first, like {DURATION_EXAMPLES}")
    return _to_timedelta(text, parts)


def format_duration(value: timedelta) -> str:
    """The canonical short form of a whole, non-negative number of seconds: "1h30m", "0s"."""
    if value < timedelta(0) or value.microseconds:
        raise ValueError(f"Can't format {value!r}: durations are whole, non-negative seconds")
    remaining = int(value.total_seconds())
    parts: list[str] = []
    for unit in _UNIT_ORDER:
        count, remaining = divmod(remaining, _SECONDS_PER_UNIT[unit])
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts) or "0s"


def _largest_unit_first(units: Iterable[str]) -> bool:
    positions = [_UNIT_ORDER.index(unit) for unit in units]
    return all(before < after for before, after in pairwise(positions))


def _to_timedelta(text: str, parts: list[tuple[str, str]]) -> timedelta:
    too_long = _bad(text, "that is too long; the longest is 999999999d")
    if any(len(number) > _MAX_DIGITS for number, _ in parts):
        raise too_long
    try:
        return timedelta(seconds=sum(int(n) * _SECONDS_PER_UNIT[unit] for n, unit in parts))
    except OverflowError:
        raise too_long from None


def _bad(text: str, advice: str) -> InvalidInput:
    return InvalidInput(f"Bad duration '{text}'; {advice}", details={"value": text})
