"""Guessing which name a user meant."""

from __future__ import annotations

import difflib
from collections.abc import Sequence

__all__ = ["closest_name"]


def closest_name(value: str, choices: Sequence[str]) -> str | None:
    """The choice the user most likely meant: a close spelling, or one it abbreviates."""
    guesses = difflib.get_close_matches(value, choices, n=1)
    guesses += [choice for choice in choices if len(value) >= 2 and choice.startswith(value)]
    return guesses[0] if guesses else None
