import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from relman.domain.config import LifecycleSpec, PhaseSpec
from relman.domain.lifecycles import check_promotion, lifecycle_from_dict
from relman.errors import InvalidInput

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
_US = timedelta(microseconds=1)

DEFAULT = LifecycleSpec(
    name="default",
    phases=(
        PhaseSpec(name="test", environments=("staging",)),
        PhaseSpec(name="prod", environments=("production",), soak=timedelta(minutes=10)),
    ),
)


def lifecycle(*phases: PhaseSpec) -> LifecycleSpec:
    return LifecycleSpec(name="lc", phases=phases)


def minutes(count: float) -> timedelta:
    return timedelta(minutes=count)


# --- EnvironmentInLifecycle ------------------------------------------------------------------


def test_an_environment_outside_the_lifecycle_is_refused_and_the_lifecycle_listed() -> None:
    verdict = check_promotion(DEFAULT, "prod", {}, T0)

    assert not verdict.allowed
    assert verdict.rule == "EnvironmentInLifecycle"
    assert verdict.reason == (
        "lifecycle 'default' has no environment 'prod'; choose one of: staging, production"
    )
    assert verdict.details["environments"] == ["staging", "production"]
    assert verdict.missing == ()
    assert verdict.not_before is None


# --- the first phase -------------------------------------------------------------------------


@pytest.mark.parametrize("environment", ["dev", "qa"])
def test_any_environment_of_the_first_phase_is_always_allowed(environment: str) -> None:
    spec = lifecycle(
        PhaseSpec(name="dev", environments=("dev", "qa")),
        PhaseSpec(name="prod", environments=("production",)),
    )

    verdict = check_promotion(spec, environment, {}, T0)

    assert verdict.allowed
    assert verdict.rule == ""
    assert verdict.reason == ""
    assert verdict.details["phase"] is None


# --- RequirePreviousPhase --------------------------------------------------------------------


def test_a_later_phase_is_refused_until_the_release_succeeded_in_the_previous_phase() -> None:
    verdict = check_promotion(DEFAULT, "production", {}, T0)

    assert not verdict.allowed
    assert verdict.rule == "RequirePreviousPhase"
    assert verdict.reason == "it has not succeeded in staging (phase 'test')"
    assert verdict.missing == ("staging",)
    assert verdict.details["phase"] == "test"
    assert verdict.details["target_phase"] == "prod"
    assert (verdict.details["needed"], verdict.details["have"]) == (1, 0)


def test_a_later_phase_is_allowed_once_the_previous_phase_succeeded() -> None:
    spec = lifecycle(
        PhaseSpec(name="test", environments=("staging",)),
        PhaseSpec(name="prod", environments=("production",)),
    )

    verdict = check_promotion(spec, "production", {"staging": T0}, T0)

    assert verdict.allowed
    assert verdict.details["phase"] == "test"
    assert verdict.details["completed_at"] == "2026-01-05T09:00:00Z"


def test_a_phase_without_a_minimum_needs_every_one_of_its_environments() -> None:
    spec = lifecycle(
        PhaseSpec(name="test", environments=("dev", "staging", "qa")),
        PhaseSpec(name="prod", environments=("production",)),
    )

    verdict = check_promotion(spec, "production", {"staging": T0}, T0)

    assert verdict.rule == "RequirePreviousPhase"
    assert verdict.reason == "it has not succeeded in dev, qa (phase 'test')"
    assert verdict.missing == ("dev", "qa")


def test_a_phase_with_a_minimum_says_how_many_it_has_and_how_many_it_needs() -> None:
    spec = lifecycle(
        PhaseSpec(name="test", environments=("dev", "staging", "qa"), minimum=2),
        PhaseSpec(name="prod", environments=("production",)),
    )

    verdict = check_promotion(spec, "production", {"staging": T0}, T0)

    assert verdict.rule == "RequirePreviousPhase"
    assert verdict.reason == "it has succeeded in 1 of dev, staging, qa (phase 'test' needs 2)"
    assert verdict.missing == ("dev", "qa")
    assert (verdict.details["needed"], verdict.details["have"]) == (2, 1)


def test_a_phase_with_a_minimum_is_complete_at_its_minimum_th_earliest_success() -> None:
    spec = lifecycle(
        PhaseSpec(name="test", environments=("dev", "staging", "qa"), minimum=2),
        PhaseSpec(name="prod", environments=("production",), soak=minutes(10)),
    )
    successes = {"qa": T0 + minutes(30), "dev": T0, "staging": T0 + minutes(5)}

    early = check_promotion(spec, "production", successes, T0 + minutes(14))
    late = check_promotion(spec, "production", successes, T0 + minutes(15))

    assert early.rule == "RequireSoakTime"
    assert early.not_before == T0 + minutes(15)
    assert late.allowed
    assert late.details["completed_at"] == "2026-01-05T09:05:00Z"


def test_an_incomplete_optional_phase_is_skipped() -> None:
    spec = lifecycle(
        PhaseSpec(name="test", environments=("staging",)),
        PhaseSpec(name="qa", environments=("qa",), optional=True),
        PhaseSpec(name="prod", environments=("production",)),
    )

    verdict = check_promotion(spec, "production", {"staging": T0}, T0)

    assert verdict.allowed
    assert verdict.details["phase"] == "test"


def test_a_required_phase_before_a_skipped_optional_phase_still_blocks() -> None:
    spec = lifecycle(
        PhaseSpec(name="dev", environments=("dev",)),
        PhaseSpec(name="test", environments=("staging",)),
        PhaseSpec(name="qa", environments=("qa",), optional=True),
        PhaseSpec(name="prod", environments=("production",)),
    )

    verdict = check_promotion(spec, "production", {"dev": T0}, T0)

    assert verdict.rule == "RequirePreviousPhase"
    assert verdict.reason == "it has not succeeded in staging (phase 'test')"
    assert verdict.missing == ("staging",)


def test_only_the_nearest_complete_phase_counts_not_the_ones_before_it() -> None:
    spec = lifecycle(
        PhaseSpec(name="dev", environments=("dev",)),
        PhaseSpec(name="test", environments=("staging",)),
        PhaseSpec(name="prod", environments=("production",)),
    )

    verdict = check_promotion(spec, "production", {"staging": T0}, T0)

    assert verdict.allowed
    assert verdict.details["phase"] == "test"


def test_a_target_is_allowed_when_every_earlier_phase_is_optional_and_incomplete() -> None:
    spec = lifecycle(
        PhaseSpec(name="dev", environments=("dev",), optional=True),
        PhaseSpec(name="qa", environments=("qa",), optional=True),
        PhaseSpec(name="prod", environments=("production",), soak=minutes(10)),
    )

    verdict = check_promotion(spec, "production", {}, T0)

    assert verdict.allowed
    assert verdict.details["phase"] is None
    assert verdict.not_before is None


def test_redeploying_to_a_reached_phase_follows_the_same_rules() -> None:
    spec = lifecycle(
        PhaseSpec(name="test", environments=("staging", "qa"), minimum=1),
        PhaseSpec(name="prod", environments=("production",)),
    )
    reached = {"staging": T0, "production": T0 + minutes(5)}

    assert check_promotion(spec, "production", reached, T0 + minutes(6)).allowed
    assert check_promotion(spec, "staging", reached, T0 + minutes(6)).allowed
    refused = check_promotion(spec, "production", {"production": T0}, T0 + minutes(6))
    assert refused.rule == "RequirePreviousPhase"


# --- RequireSoakTime -------------------------------------------------------------------------


def test_soak_refuses_with_the_time_left_and_when_it_becomes_allowed() -> None:
    verdict = check_promotion(DEFAULT, "production", {"staging": T0}, T0 + minutes(6))

    assert not verdict.allowed
    assert verdict.rule == "RequireSoakTime"
    assert verdict.reason == (
        "phase 'prod' needs 10m of soak after phase 'test' succeeded at 2026-01-05 09:00 UTC; "
        "4m left (from 2026-01-05 09:10 UTC)"
    )
    assert verdict.not_before == T0 + minutes(10)
    assert verdict.missing == ()
    assert verdict.details["not_before"] == "2026-01-05T09:10:00Z"
    assert verdict.details["remaining"] == "4m"
    assert verdict.details["soak"] == "10m"


def test_soak_is_over_exactly_at_its_boundary() -> None:
    successes = {"staging": T0}

    just_before = check_promotion(DEFAULT, "production", successes, T0 + minutes(10) - _US)
    at_boundary = check_promotion(DEFAULT, "production", successes, T0 + minutes(10))

    assert just_before.rule == "RequireSoakTime"
    assert "; 1s left" in just_before.reason
    assert at_boundary.allowed


def test_soak_times_with_seconds_and_other_zones_are_shown_in_utc_to_the_second() -> None:
    paris = timezone(timedelta(hours=1))
    done = datetime(2026, 1, 5, 10, 0, 30, tzinfo=paris)

    verdict = check_promotion(DEFAULT, "production", {"staging": done}, done + minutes(1))

    assert "succeeded at 2026-01-05 09:00:30 UTC; 9m left (from 2026-01-05 09:10:30 UTC)" in (
        verdict.reason
    )
    assert verdict.details["completed_at"] == "2026-01-05T09:00:30Z"


def test_soak_counts_from_the_earlier_complete_phase_when_an_optional_phase_is_skipped() -> None:
    spec = lifecycle(
        PhaseSpec(name="test", environments=("staging",)),
        PhaseSpec(name="qa", environments=("qa",), optional=True),
        PhaseSpec(name="prod", environments=("production",), soak=minutes(10)),
    )

    verdict = check_promotion(spec, "production", {"staging": T0}, T0 + minutes(3))

    assert verdict.rule == "RequireSoakTime"
    assert "after phase 'test' succeeded at 2026-01-05 09:00 UTC; 7m left" in verdict.reason
    assert verdict.not_before == T0 + minutes(10)


def test_soak_counts_from_an_optional_phase_once_it_is_complete() -> None:
    spec = lifecycle(
        PhaseSpec(name="test", environments=("staging",)),
        PhaseSpec(name="qa", environments=("qa",), optional=True),
        PhaseSpec(name="prod", environments=("production",), soak=minutes(10)),
    )
    successes = {"staging": T0, "qa": T0 + minutes(20)}

    verdict = check_promotion(spec, "production", successes, T0 + minutes(25))

    assert verdict.rule == "RequireSoakTime"
    assert verdict.details["phase"] == "qa"
    assert verdict.not_before == T0 + minutes(30)


def test_a_soak_too_long_for_the_calendar_waits_until_the_last_moment_it_can_name() -> None:
    spec = lifecycle(
        PhaseSpec(name="test", environments=("staging",)),
        PhaseSpec(name="prod", environments=("production",), soak=timedelta(days=999_999_999)),
    )

    verdict = check_promotion(spec, "production", {"staging": T0}, T0)

    assert verdict.rule == "RequireSoakTime"
    assert verdict.not_before == datetime.max.replace(tzinfo=UTC)


# --- inputs and outputs ----------------------------------------------------------------------


def test_naive_datetimes_are_refused_because_they_cannot_be_compared() -> None:
    with pytest.raises(ValueError, match="Naive datetime given for now"):
        check_promotion(DEFAULT, "production", {"staging": T0}, datetime(2026, 1, 5))
    with pytest.raises(ValueError, match="successes in staging"):
        check_promotion(DEFAULT, "production", {"staging": datetime(2026, 1, 5)}, T0)


@pytest.mark.parametrize(
    ("environment", "successes"),
    [
        ("nowhere", {}),
        ("staging", {}),
        ("production", {}),
        ("production", {"staging": T0}),
        ("production", {"staging": T0 - minutes(30)}),
    ],
)
def test_details_are_json_and_name_the_rule(
    environment: str, successes: dict[str, datetime]
) -> None:
    verdict = check_promotion(DEFAULT, environment, successes, T0)

    details = json.loads(json.dumps(verdict.details))

    assert details["rule"] == verdict.rule
    assert details["environment"] == environment
    assert details["lifecycle"] == "default"


# --- the stored form -------------------------------------------------------------------------


def test_a_lifecycle_reads_back_from_its_stored_form() -> None:
    spec = lifecycle(
        PhaseSpec(name="test", environments=("dev", "staging", "qa"), minimum=2),
        PhaseSpec(name="qa", environments=("perf",), optional=True, soak=timedelta(hours=1)),
        PhaseSpec(name="prod", environments=("production",), soak=minutes(90)),
    )

    stored = json.loads(json.dumps(spec.to_dict()))

    assert lifecycle_from_dict(stored) == spec


def test_a_stored_phase_may_leave_out_its_defaults() -> None:
    stored = {"name": "lc", "phases": [{"name": "test", "environments": ["staging"]}]}

    assert lifecycle_from_dict(stored) == lifecycle(
        PhaseSpec(name="test", environments=("staging",))
    )


@pytest.mark.parametrize(
    ("phase", "field"),
    [
        ({"name": "test"}, "environments"),
        ({"name": "test", "environments": []}, "environments"),
        ({"name": "test", "environments": [1]}, "environments"),
        ({"environments": ["staging"]}, "name"),
        ({"name": "test", "environments": ["staging"], "optional": "yes"}, "optional"),
        ({"name": "test", "environments": ["staging"], "minimum": 2}, "minimum"),
        ({"name": "test", "environments": ["staging"], "minimum": True}, "minimum"),
        ({"name": "test", "environments": ["staging"], "soak": "10"}, "soak"),
        ({"name": "test", "environments": ["staging"], "soak": 600}, "soak"),
    ],
)
def test_a_bad_stored_lifecycle_is_refused_naming_the_field(
    phase: dict[str, object], field: str
) -> None:
    with pytest.raises(InvalidInput, match=f"lifecycle 'lc', phase #1: field '{field}'") as info:
        lifecycle_from_dict({"name": "lc", "phases": [phase]})

    assert info.value.details["field"] == field


def test_a_stored_lifecycle_without_phases_is_refused() -> None:
    with pytest.raises(InvalidInput, match="field 'phases'"):
        lifecycle_from_dict({"name": "lc", "phases": []})


# --- properties ------------------------------------------------------------------------------


@st.composite
def lifecycles(draw: st.DrawFn) -> LifecycleSpec:
    sizes = draw(st.lists(st.integers(1, 3), min_size=1, max_size=4))
    phases = []
    for index, size in enumerate(sizes):
        envs = tuple(f"e{index}{n}" for n in range(size))
        soak = None if index == 0 else draw(st.none() | st.integers(0, 7200).map(_seconds))
        phases.append(
            PhaseSpec(
                name=f"p{index}",
                environments=envs,
                optional=draw(st.booleans()),
                minimum=draw(st.none() | st.integers(1, size)),
                soak=soak,
            )
        )
    return LifecycleSpec(name="lc", phases=tuple(phases))


def _seconds(count: int) -> timedelta:
    return timedelta(seconds=count)


@st.composite
def situations(draw: st.DrawFn) -> tuple[LifecycleSpec, str, dict[str, datetime], datetime]:
    spec = draw(lifecycles())
    envs = [env for phase in spec.phases for env in phase.environments]
    chosen = draw(st.lists(st.sampled_from(envs), unique=True))
    successes = {env: T0 + draw(st.integers(0, 10_800).map(_seconds)) for env in chosen}
    now = T0 + draw(st.integers(0, 14_400).map(_seconds))
    return spec, draw(st.sampled_from(envs)), successes, now


@given(situations(), st.integers(0, 20_000).map(_seconds))
def test_an_allowed_promotion_is_never_refused_later_as_time_passes(
    situation: tuple[LifecycleSpec, str, dict[str, datetime], datetime], wait: timedelta
) -> None:
    spec, environment, successes, now = situation

    before = check_promotion(spec, environment, successes, now)
    after = check_promotion(spec, environment, successes, now + wait)

    if before.allowed:
        assert after.allowed
    if before.rule != "RequireSoakTime":
        assert after == before


@given(situations())
def test_a_promotion_waiting_for_soak_is_allowed_exactly_at_not_before(
    situation: tuple[LifecycleSpec, str, dict[str, datetime], datetime],
) -> None:
    spec, environment, successes, now = situation

    verdict = check_promotion(spec, environment, successes, now)

    assert (verdict.not_before is not None) == (verdict.rule == "RequireSoakTime")
    if verdict.not_before is not None:
        assert verdict.not_before > now
        assert check_promotion(spec, environment, successes, verdict.not_before).allowed
        almost = verdict.not_before - _US
        assert not check_promotion(spec, environment, successes, almost).allowed


@given(situations())
def test_a_refusal_for_the_previous_phase_names_what_is_missing(
    situation: tuple[LifecycleSpec, str, dict[str, datetime], datetime],
) -> None:
    spec, environment, successes, now = situation

    verdict = check_promotion(spec, environment, successes, now)

    assert verdict.allowed == (verdict.rule == "")
    if verdict.rule == "RequirePreviousPhase":
        assert verdict.missing
        assert not set(verdict.missing) & set(successes)
    else:
        assert verdict.missing == ()


@given(lifecycles())
def test_any_lifecycle_reads_back_from_its_stored_form(spec: LifecycleSpec) -> None:
    assert lifecycle_from_dict(json.loads(json.dumps(spec.to_dict()))) == spec
