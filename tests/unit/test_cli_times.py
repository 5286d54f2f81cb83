from __future__ import annotations

from datetime import datetime

import pytest

from relman.cli.gates import parse_when
from relman.errors import InvalidInput


def test_times_with_an_offset_are_kept_and_local_ones_get_this_machines_offset() -> None:
    assert parse_when("2026-12-01T21:00Z", "--at") == "2026-12-01T21:00:00+00:00"
    assert parse_when("2026-12-01 22:00+01:00", "--at") == "2026-12-01T22:00:00+01:00"
    local = parse_when("2026-12-01T22:00", "--until")
    assert local is not None
    assert datetime.fromisoformat(local).tzinfo is not None
    assert parse_when(None, "--at") is None


def test_a_time_that_is_not_one_says_how_to_write_it() -> None:
    with pytest.raises(InvalidInput, match=r"--at 'tomorrow' is not a time; give ISO 8601"):
        parse_when("tomorrow", "--at")
