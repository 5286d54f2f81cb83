"""The plans deployment strategies make: which steps, in which order, on which slot."""

from __future__ import annotations

from datetime import timedelta

import pytest

from relman.domain.strategies import (
    AllAtOnce,
    BlueGreen,
    Canary,
    CanaryStep,
    PlanStep,
    Rolling,
    Strategy,
    batch_size,
    idle_slot,
    plan_for,
    rollback_plan,
)

CANARY = Canary(
    steps=(
        CanaryStep(set_weight=10),
        CanaryStep(pause=True, duration=timedelta(seconds=30)),
        CanaryStep(analysis="error-rate"),
        CanaryStep(set_weight=50),
        CanaryStep(pause=True),
        CanaryStep(set_weight=100),
    ),
    background_analysis="error-rate",
)


def names(plan_steps: tuple[PlanStep, ...]) -> list[str]:
    return [step.name for step in plan_steps]


def test_a_canary_goes_to_the_idle_slot_and_moves_weights_step_by_step() -> None:
    plan = plan_for(CANARY, stable="blue")

    assert (plan.candidate_slot, plan.stable_slot) == ("green", "blue")
    assert names(plan.steps) == [
        "deploy",
        "verify",
        "weight 10",
        "pause 30s",
        "analysis error-rate",
        "weight 50",
        "pause",  # until a person resumes or promotes
        "weight 100",
        "promote",
    ]
    assert {step.slot for step in plan.steps if step.kind != "pause"} - {None} == {"green"}
    assert plan.background_analysis == "error-rate"


def test_a_canary_whose_steps_stop_short_of_100_ends_at_100() -> None:
    short = Canary(steps=(CanaryStep(set_weight=20), CanaryStep(analysis="smoke")))
    assert names(plan_for(short, stable="green").steps)[-3:] == [
        "analysis smoke",
        "weight 100",
        "promote",
    ]
    assert plan_for(short, stable="green").candidate_slot == "blue"


@pytest.mark.parametrize("strategy", [CANARY, BlueGreen()], ids=["canary", "blue-green"])
def test_a_first_deployment_with_nothing_stable_goes_straight_to_100(strategy: Strategy) -> None:
    plan = plan_for(strategy, stable=None)

    assert names(plan.steps) == ["deploy", "verify", "weight 100", "promote"]
    assert (plan.candidate_slot, plan.stable_slot) == ("blue", None)


def test_blue_green_previews_at_0_waits_for_a_person_then_switches_and_keeps_the_old_slot() -> None:
    strategy = BlueGreen(
        pre_promotion_analysis="smoke",
        post_promotion_analysis="error-rate",
        scale_down_delay=timedelta(minutes=5),
    )
    plan = plan_for(strategy, stable="green")

    assert names(plan.steps) == [
        "deploy",
        "verify",
        "weight 0",
        "analysis smoke",
        "pause",
        "weight 100",
        "analysis error-rate",
        "pause 5m",
        "stop",
        "promote",
    ]
    assert plan.steps[-2].slot == "green"  # the old slot, kept for a switch back until then
    assert plan.steps[0].slot == "blue"


def test_blue_green_with_auto_promote_does_not_wait() -> None:
    plan = plan_for(BlueGreen(auto_promote=True), stable="blue")
    assert names(plan.steps) == [
        "deploy",
        "verify",
        "weight 0",
        "weight 100",
        "pause 30s",
        "stop",
        "promote",
    ]


@pytest.mark.parametrize(
    ("batch", "expected"),
    [
        pytest.param(2, ["deploy h1,h2", "verify h1,h2", "deploy h3,h4", "verify h3,h4"], id="2"),
        pytest.param(
            "25%", [f"{k} h{n}" for n in range(1, 5) for k in ("deploy", "verify")], id="25%"
        ),
        pytest.param(
            "60%", ["deploy h1,h2,h3", "verify h1,h2,h3", "deploy h4", "verify h4"], id="60%"
        ),
        pytest.param(9, ["deploy h1,h2,h3,h4", "verify h1,h2,h3,h4"], id="all"),
    ],
)
def test_rolling_deploys_batches_and_verifies_each(batch: int | str, expected: list[str]) -> None:
    plan = plan_for(Rolling(targets=("h1", "h2", "h3", "h4"), batch=batch), stable=None)
    assert names(plan.steps) == [*expected, "promote"]


def test_all_at_once_is_deploy_verify_promote() -> None:
    assert names(plan_for(AllAtOnce(), stable="blue").steps) == ["deploy", "verify", "promote"]


def test_rolling_back_puts_all_traffic_on_stable_at_once_then_stops_the_candidate() -> None:
    steps = rollback_plan(candidate="green", stable="blue")
    assert [(s.kind, s.slot, s.weight) for s in steps] == [
        ("weight", "green", 0),
        ("stop", "green", None),
    ]
    assert rollback_plan(candidate="blue", stable=None) == ()


def test_slots_and_batches() -> None:
    assert (idle_slot(None), idle_slot("blue"), idle_slot("green")) == ("blue", "green", "blue")
    with pytest.raises(ValueError, match="unknown slot 'purple'"):
        idle_slot("purple")
    assert (batch_size("10%", 3), batch_size(0, 5), batch_size("100%", 7)) == (1, 1, 7)
