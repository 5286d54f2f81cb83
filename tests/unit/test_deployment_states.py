import pytest

from relman.domain.deployments import RECORDABLE_STATES, DeploymentState, parse_state
from relman.errors import InvalidInput

CONTRACT = [
    "queued",
    "waiting",
    "running",
    "paused",
    "succeeded",
    "failed",
    "rolled_back",
    "aborted",
]
FINAL = {"succeeded", "failed", "rolled_back", "aborted"}


def test_the_states_are_exactly_the_contract_list_in_order() -> None:
    assert [state.value for state in DeploymentState] == CONTRACT


@pytest.mark.parametrize("name", CONTRACT)
def test_a_state_is_final_exactly_when_the_deployment_has_ended(name: str) -> None:
    assert DeploymentState(name).is_final is (name in FINAL)


def test_only_ended_deployments_can_be_recorded() -> None:
    assert [state.value for state in RECORDABLE_STATES] == [
        "succeeded",
        "failed",
        "rolled_back",
        "aborted",
    ]
    assert all(state.is_final for state in RECORDABLE_STATES)


def test_a_state_compares_equal_to_its_name() -> None:
    assert DeploymentState.ROLLED_BACK == "rolled_back"
    assert str(DeploymentState.ROLLED_BACK) == "rolled_back"


@pytest.mark.parametrize("name", CONTRACT)
def test_every_state_parses_from_its_name(name: str) -> None:
    assert parse_state(name) is DeploymentState(name)


@pytest.mark.parametrize("name", sorted(FINAL))
def test_a_final_state_parses_when_only_recordable_states_are_allowed(name: str) -> None:
    assert parse_state(name, RECORDABLE_STATES) is DeploymentState(name)


@pytest.mark.parametrize("text", ["", "done", "SUCCEEDED", "rolled-back", "rolledback", " queued"])
def test_an_unknown_state_is_refused_listing_every_state(text: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_state(text)

    message = caught.value.message
    assert f"'{text}'" in message
    assert ", ".join(CONTRACT) in message
    assert caught.value.details == {"field": "state", "value": text, "allowed": CONTRACT}


@pytest.mark.parametrize("text", ["queued", "waiting", "running", "paused"])
def test_a_state_outside_the_allowed_ones_is_refused_listing_only_the_allowed(text: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_state(text, RECORDABLE_STATES)

    message = caught.value.message
    assert f"'{text}'" in message
    assert message.endswith("expected one of: succeeded, failed, rolled_back, aborted")
    assert caught.value.details["allowed"] == ["succeeded", "failed", "rolled_back", "aborted"]
