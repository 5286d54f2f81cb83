from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from relman.errors import InvalidInput
from relman.settings import Settings


def test_defaults_serve_a_local_sqlite_store_and_server() -> None:
    settings = Settings.from_env({})
    assert settings.home == Path(".relman")
    assert settings.database_url == "sqlite:///.relman/relman.db"
    assert settings.url == "http://127.0.0.1:8000"
    assert settings.token is None
    assert settings.anonymous_read is True


def test_variables_override_the_defaults() -> None:
    settings = Settings.from_env(
        {
            "RELMAN_HOME": "/srv/relman",
            "RELMAN_URL": "http://10.0.0.5:9000/",
            "RELMAN_TOKEN": "relman_x",
            "RELMAN_ANONYMOUS_READ": "off",
        }
    )
    assert settings.database_url == "sqlite:////srv/relman/relman.db"
    assert settings.url == "http://10.0.0.5:9000"
    assert settings.token == "relman_x"
    assert settings.anonymous_read is False
    pg = Settings.from_env({"RELMAN_DATABASE_URL": "postgresql+psycopg://u@db/relman"})
    assert pg.database_url == "postgresql+psycopg://u@db/relman"


@pytest.mark.parametrize(
    ("word", "value"), [("TRUE", True), ("1", True), ("no", False), ("", True)]
)
def test_boolean_variables_take_the_usual_words(word: str, value: bool) -> None:
    assert Settings.from_env({"RELMAN_ANONYMOUS_READ": word}).anonymous_read is value


def test_a_misspelt_boolean_is_refused_instead_of_guessed() -> None:
    with pytest.raises(InvalidInput, match="RELMAN_ANONYMOUS_READ='flase' is not true or false"):
        Settings.from_env({"RELMAN_ANONYMOUS_READ": "flase"})


def test_workers_lease_for_15s_with_4_slots_unless_told_otherwise() -> None:
    assert Settings.from_env({}).lease == timedelta(seconds=15)
    assert Settings.from_env({}).worker_slots == 4
    custom = Settings.from_env({"RELMAN_LEASE": "1m30s", "RELMAN_WORKER_SLOTS": "8"})
    assert custom.lease == timedelta(seconds=90)
    assert custom.worker_slots == 8


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("RELMAN_LEASE", "soon", "RELMAN_LEASE: Bad duration 'soon'"),
        ("RELMAN_LEASE", "0s", "RELMAN_LEASE='0s' is too short"),
        ("RELMAN_WORKER_SLOTS", "0", "RELMAN_WORKER_SLOTS='0' is not a whole number from 1 to 64"),
        ("RELMAN_WORKER_SLOTS", "four", "is not a whole number from 1 to 64"),
    ],
)
def test_bad_worker_settings_are_refused_with_the_variable_named(
    variable: str, value: str, message: str
) -> None:
    with pytest.raises(InvalidInput, match=message):
        Settings.from_env({variable: value})
