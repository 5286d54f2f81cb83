"""The development router's pure parts: weights, the slot choice, addresses, the metrics text,
and the demo app's evenly spread failures."""

from __future__ import annotations

from collections import Counter

import pytest

from relman.demoapp import fails
from relman.router import choose_slot, parse_address, parse_weights, render_metrics


def test_a_slot_left_out_of_the_weights_gets_0() -> None:
    assert parse_weights({"green": 100}) == {"blue": 0, "green": 100}


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"blue": 60, "green": 60}, "weights must add up to 100, not 120 (blue 60, green 60)"),
        ({"blue": 100, "canary": 0}, "unknown slot canary; slots: blue, green"),
        ({"blue": True, "green": 99}, "weight True for slot blue is not a whole number 0-100"),
        ({"blue": 110, "green": -10}, "weight 110 for slot blue is not a whole number 0-100"),
        ({"blue": "100"}, "weight '100' for slot blue is not a whole number 0-100"),
        (None, "weights must be an object"),
    ],
)
def test_weights_that_are_not_percentages_adding_up_to_100_are_refused(
    raw: object, message: str
) -> None:
    with pytest.raises(ValueError, match="^" + message.replace("(", r"\(").replace(")", r"\)")):
        parse_weights(raw)


def test_each_slot_takes_exactly_its_share_of_the_draws() -> None:
    weights = {"blue": 90, "green": 10}

    shares = Counter(choose_slot(weights, draw) for draw in range(100))

    assert shares == {"blue": 90, "green": 10}


@pytest.mark.parametrize(("weights", "slot"), [({"blue": 100}, "blue"), ({"green": 100}, "green")])
def test_a_slot_at_0_gets_nothing(weights: dict[str, int], slot: str) -> None:
    assert {choose_slot(weights, draw) for draw in range(100)} == {slot}


def test_addresses_are_host_and_port_on_the_loopback() -> None:
    assert parse_address("127.0.0.1:8080") == ("127.0.0.1", 8080)
    assert parse_address("localhost:0") == ("localhost", 0)
    assert parse_address("[::1]:8080") == ("::1", 8080)
    assert parse_address("10.0.0.5:80", loopback_only=False) == ("10.0.0.5", 80)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("8080", "bad address '8080'; expected host:port"),
        ("127.0.0.1:http", "bad address '127.0.0.1:http'"),
        ("192.168.1.2:8080", "192.168.1.2:8080 is not a loopback address"),
        ("example.com:80", "example.com:80 is not a loopback address"),
    ],
)
def test_bad_or_outside_addresses_are_refused(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_address(text)


def test_the_metrics_text_escapes_label_values() -> None:
    text = render_metrics('we"b', {("blue", 200): 3})

    assert text.endswith(
        'relman_router_requests_total{service="we\\"b",slot="blue",code="200"} 3\n'
    )


@pytest.mark.parametrize(
    ("rate", "failed"), [(0.0, 0), (0.2, 20), (0.25, 25), (0.33, 33), (1.0, 100)]
)
def test_the_demo_app_fails_exactly_its_share_of_requests(rate: float, failed: int) -> None:
    assert sum(fails(n, rate) for n in range(1, 101)) == failed


def test_the_demo_app_spreads_its_failures_evenly() -> None:
    assert [n for n in range(1, 21) if fails(n, 0.2)] == [5, 10, 15, 20]
