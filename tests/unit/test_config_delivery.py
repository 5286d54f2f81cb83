"""Progressive-delivery settings of relman.yaml: a service's traffic, stop step and strategies,
the file's analyses, what each refuses (where, and what it says), and the server's copy read
back to equal specs."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from relman.configfile import load_config
from relman.domain.analysis import AnalysisLimits
from relman.domain.config import ServiceSpec, parse_config
from relman.domain.delivery import (
    JUDGE_PLACEHOLDERS,
    QUERY_PLACEHOLDERS,
    STRATEGY_TYPES,
    AnalysisSpec,
    MetricSpec,
    ProviderSpec,
    TrafficSpec,
    analysis_to_dict,
    parse_analysis,
    parse_strategy,
    parse_traffic,
    referenced_analyses,
    strategy_to_dict,
    traffic_to_dict,
)
from relman.domain.judge import SequentialJudge
from relman.domain.strategies import AllAtOnce, BlueGreen, Canary, CanaryStep, Rolling
from relman.errors import ConfigError, ConfigIssue

ERROR_RATIO = (
    'sum(rate(http_requests_total{slot="{candidate_slot}",code=~"5.."}[30s])) / '
    'sum(rate(http_requests_total{slot="{candidate_slot}"}[30s]))'
)


def valid() -> dict[str, Any]:
    """The example of the user guide as loaded data, fresh for each test to change."""
    return {
        "version": 1,
        "environments": [
            {"name": "staging", "tier": "staging"},
            {"name": "production", "tier": "production"},
            {"name": "edge", "tier": "production"},
        ],
        "lifecycles": [
            {
                "name": "default",
                "phases": [{"name": "all", "environments": ["staging", "production", "edge"]}],
            }
        ],
        "services": [
            {
                "name": "web",
                "lifecycle": "default",
                "run": {
                    "driver": "script",
                    "deploy": ["./start.sh", "{version}", "{slot}"],
                    "stop": ["./stop.sh", "{slot}"],
                },
                "traffic": {
                    "driver": "haproxy",
                    "socket": "/run/haproxy/admin.sock",
                    "backend": "web",
                    "slots": {"blue": "web-blue", "green": "web-green"},
                },
                "strategies": {
                    "staging": {
                        "type": "blue-green",
                        "auto_promote": True,
                        "pre_promotion_analysis": "smoke",
                        "scale_down_delay": "30s",
                    },
                    "production": {
                        "type": "canary",
                        "steps": [
                            {"set_weight": 10},
                            {"pause": "30s"},
                            {"analysis": "error-rate"},
                            {"set_weight": 50},
                            {"pause": {}},
                            {"set_weight": 100},
                        ],
                        "background_analysis": "error-rate",
                    },
                    "edge": {"type": "rolling", "targets": ["h1", "h2", "h3", "h4"], "batch": 2},
                },
            },
            {"name": "worker", "lifecycle": "default"},
        ],
        "analyses": [
            {
                "name": "error-rate",
                "provider": {"type": "prometheus", "address": "http://127.0.0.1:9090"},
                "interval": "10s",
                "count": 6,
                "initial_delay": "0s",
                "failure_limit": 0,
                "inconclusive_limit": 0,
                "consecutive_error_limit": 4,
                "metrics": [
                    {
                        "name": "error-ratio",
                        "query": ERROR_RATIO,
                        "success_condition": "result < 0.01",
                    },
                    {
                        "name": "errors-vs-stable",
                        "judge": {
                            "type": "sequential",
                            "alpha": 0.01,
                            "beta": 0.1,
                            "ratio": 2,
                            "min_requests": 1000,
                        },
                        "requests": 'sum(http_requests_total{slot="{slot}"})',
                        "errors": 'sum(http_requests_total{slot="{slot}",code=~"5.."})',
                    },
                ],
            },
            {
                "name": "smoke",
                "provider": {"type": "builtin"},
                "count": 1,
                "metrics": [
                    {
                        "name": "up",
                        "query": 'up{slot="{candidate_slot}"}',
                        "failure_condition": "result < 1",
                    }
                ],
            },
            {
                "name": "unused",
                "provider": {"type": "builtin", "timeout": "5s"},
                "metrics": [{"name": "m", "query": "m", "success_condition": "result > 0"}],
            },
        ],
    }


def web(data: dict[str, Any]) -> dict[str, Any]:
    service: dict[str, Any] = data["services"][0]
    return service


def strategies(data: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = web(data)["strategies"]
    return found


def analysis(data: dict[str, Any], index: int = 0) -> dict[str, Any]:
    found: dict[str, Any] = data["analyses"][index]
    return found


def metric(data: dict[str, Any], index: int = 0) -> dict[str, Any]:
    found: dict[str, Any] = analysis(data)["metrics"][index]
    return found


def issues_of(data: object) -> list[ConfigIssue]:
    with pytest.raises(ConfigError) as caught:
        parse_config(data)
    return caught.value.issues


def the_issue(data: object, *path: str | int) -> ConfigIssue:
    """The one issue reported, which must be at `path`."""
    issues = issues_of(data)
    assert [issue.path for issue in issues] == [path], [str(issue) for issue in issues]
    return issues[0]


SERVICE = ("services", 0)
TRAFFIC = (*SERVICE, "traffic")
STRATEGIES = (*SERVICE, "strategies")
ANALYSIS = ("analyses", 0)
METRIC = (*ANALYSIS, "metrics", 0)


# --- the whole example -----------------------------------------------------------------------


def test_the_example_parses_to_specs() -> None:
    document = parse_config(valid())
    service = document.services[0]

    assert service.traffic == TrafficSpec(
        driver="haproxy",
        address="/run/haproxy/admin.sock",
        backend="web",
        slots={"blue": "web-blue", "green": "web-green"},
    )
    assert dict(service.strategies) == {
        "staging": BlueGreen(auto_promote=True, pre_promotion_analysis="smoke"),
        "production": Canary(
            steps=(
                CanaryStep(set_weight=10),
                CanaryStep(pause=True, duration=timedelta(seconds=30)),
                CanaryStep(analysis="error-rate"),
                CanaryStep(set_weight=50),
                CanaryStep(pause=True),
                CanaryStep(set_weight=100),
            ),
            background_analysis="error-rate",
        ),
        "edge": Rolling(targets=("h1", "h2", "h3", "h4"), batch=2),
    }
    error_rate = document.analyses[0]
    assert error_rate == AnalysisSpec(
        name="error-rate",
        provider=ProviderSpec(type="prometheus", address="http://127.0.0.1:9090", timeout=10.0),
        metrics=(
            MetricSpec(name="error-ratio", query=ERROR_RATIO, success_condition="result < 0.01"),
            MetricSpec(
                name="errors-vs-stable",
                judge=SequentialJudge(alpha=0.01, beta=0.1, ratio=2.0, min_requests=1000),
                requests='sum(http_requests_total{slot="{slot}"})',
                errors='sum(http_requests_total{slot="{slot}",code=~"5.."})',
            ),
        ),
        limits=AnalysisLimits(count=6, interval=timedelta(seconds=10)),
    )


def test_a_service_keeps_the_analyses_its_strategies_name_and_no_others() -> None:
    document = parse_config(valid())
    web_spec, worker = document.services

    assert list(web_spec.analyses) == ["error-rate", "smoke"]
    assert web_spec.analyses["smoke"] == document.analyses[1]
    assert [spec.name for spec in document.analyses] == ["error-rate", "smoke", "unused"]
    assert worker == ServiceSpec(name="worker", lifecycle="default")


def test_referenced_analyses_lists_each_name_once_in_the_order_written() -> None:
    canary = Canary(
        steps=(CanaryStep(analysis="b"), CanaryStep(set_weight=5), CanaryStep(analysis="a")),
        background_analysis="b",
    )
    assert referenced_analyses(canary) == ("b", "a")
    assert referenced_analyses(BlueGreen(post_promotion_analysis="c")) == ("c",)
    assert referenced_analyses(Rolling(targets=("h1",))) == ()


def test_a_service_without_delivery_settings_deploys_all_at_once_and_writes_no_new_keys() -> None:
    worker = parse_config(valid()).services[1]
    assert (worker.traffic, dict(worker.strategies), dict(worker.analyses)) == (None, {}, {})
    assert not {"traffic", "strategies", "analyses"} & worker.to_dict().keys()


def test_the_constants_name_the_strategies_and_the_query_placeholders() -> None:
    assert STRATEGY_TYPES == ("canary", "blue-green", "rolling", "all-at-once")
    assert QUERY_PLACEHOLDERS == (
        "service",
        "environment",
        "version",
        "stable_version",
        "candidate_slot",
        "stable_slot",
        "weight",
        "deployment_id",
    )
    assert (*QUERY_PLACEHOLDERS, "slot") == JUDGE_PLACEHOLDERS


# --- the server's copy -----------------------------------------------------------------------


def test_a_service_written_as_json_reads_back_to_equal_specs() -> None:
    service = parse_config(valid()).services[0]
    stored = json.loads(json.dumps(service.to_dict()))  # what the server keeps

    assert parse_traffic(stored["traffic"]) == service.traffic
    for environment, strategy in service.strategies.items():
        assert parse_strategy(stored["strategies"][environment], environment) == strategy
    assert [parse_analysis(item) for item in stored["analyses"]] == list(service.analyses.values())


def test_the_server_copy_is_in_the_file_syntax() -> None:
    stored = parse_config(valid()).services[0].to_dict()

    assert stored["traffic"] == {
        "driver": "haproxy",
        "socket": "/run/haproxy/admin.sock",
        "backend": "web",
        "slots": {"blue": "web-blue", "green": "web-green"},
    }
    assert stored["strategies"]["production"]["steps"][1:3] == [
        {"pause": "30s"},
        {"analysis": "error-rate"},
    ]
    assert stored["strategies"]["production"]["steps"][4] == {"pause": {}}
    assert stored["strategies"]["staging"] == {
        "type": "blue-green",
        "auto_promote": True,
        "pre_promotion_analysis": "smoke",
        "post_promotion_analysis": None,
        "scale_down_delay": "30s",
    }
    assert stored["analyses"][1] == {
        "name": "smoke",
        "provider": {"type": "builtin", "address": None, "timeout": "10s"},
        "interval": "1m",
        "count": 1,
        "initial_delay": "0s",
        "failure_limit": 0,
        "inconclusive_limit": 0,
        "consecutive_error_limit": 4,
        "metrics": [
            {
                "name": "up",
                "query": 'up{slot="{candidate_slot}"}',
                "success_condition": None,
                "failure_condition": "result < 1",
            }
        ],
    }


@pytest.mark.parametrize(
    "strategy",
    [
        AllAtOnce(),
        BlueGreen(),
        BlueGreen(True, "a", "b", timedelta(minutes=5)),
        BlueGreen(scale_down_delay=timedelta(0)),
        Canary(steps=(CanaryStep(set_weight=0), CanaryStep(pause=True))),
        Canary(steps=(CanaryStep(pause=True, duration=timedelta(hours=1, seconds=5)),)),
        Rolling(targets=("h1",)),
        Rolling(targets=("a", "b"), batch="25%"),
    ],
    ids=repr,
)
def test_every_strategy_survives_a_round_trip(strategy: Any) -> None:
    written = json.loads(json.dumps(strategy_to_dict(strategy)))
    assert parse_strategy(written, "production") == strategy


def test_a_router_traffic_and_a_builtin_analysis_survive_a_round_trip() -> None:
    traffic = TrafficSpec("router", "127.0.0.1:8081", "web", {"blue": "h:1", "green": "h:2"})
    spec = AnalysisSpec(
        name="x",
        provider=ProviderSpec(type="builtin", timeout=3.0),
        metrics=(MetricSpec(name="m", query="q", failure_condition="result > 1"),),
        limits=AnalysisLimits(interval=timedelta(seconds=5), initial_delay=timedelta(minutes=1)),
    )
    assert traffic_to_dict(traffic)["address"] == "127.0.0.1:8081"
    assert parse_traffic(json.loads(json.dumps(traffic_to_dict(traffic)))) == traffic
    assert parse_analysis(json.loads(json.dumps(analysis_to_dict(spec)))) == spec


def test_bad_stored_data_is_a_config_error_at_the_environment() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_strategy({"type": "canary", "steps": []}, "production")
    [issue] = caught.value.issues
    assert issue.path == ("strategies", "production", "steps")
    assert issue.message == "the list is empty"


def test_stored_data_is_read_without_the_file_around_it() -> None:
    """The server's copy names analyses the deployment keeps; nothing else is checked."""
    canary = {"type": "canary", "steps": [{"analysis": "anything"}]}
    assert parse_strategy(canary, "x") == Canary(steps=(CanaryStep(analysis="anything"),))
    with pytest.raises(ConfigError) as caught:
        parse_analysis({"name": "a", "provider": {"type": "builtin"}, "metrics": []})
    assert [issue.path for issue in caught.value.issues] == [("analyses", "a", "metrics")]
    with pytest.raises(ConfigError):
        parse_traffic({"driver": "haproxy"})


# --- the stop step ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stop", "command"),
    [
        (["./stop.sh", "{slot}"], ("./stop.sh", "{slot}")),
        ({"command": ["./stop.sh", "{slot}"], "timeout": "60s"}, ("./stop.sh", "{slot}")),
    ],
)
def test_stop_takes_the_forms_of_deploy(stop: object, command: tuple[str, ...]) -> None:
    data = valid()
    web(data)["run"]["stop"] = stop
    run = parse_config(data).services[0].run
    assert run is not None
    assert run.settings["stop"]["command"] == command


def test_a_stop_string_needs_a_shell_like_any_command() -> None:
    data = valid()
    web(data)["run"]["stop"] = "./stop.sh {slot}"
    issue = the_issue(data, *SERVICE, "run", "stop")
    assert "set shell: true, or write the command as a list" in issue.message
    web(data)["run"]["shell"] = True
    run = parse_config(data).services[0].run
    assert run is not None
    assert run.settings["stop"]["command"] == "./stop.sh {slot}"


def test_stop_takes_no_url_and_no_unknown_placeholder() -> None:
    data = valid()
    web(data)["run"]["stop"] = {"url": "http://127.0.0.1/stop"}
    issue = the_issue(data, *SERVICE, "run", "stop", "url")
    assert issue.message.startswith("url works only for verify; to call a URL from stop")

    web(data)["run"]["stop"] = ["./stop.sh", "{slott}"]
    issues = issues_of(data)
    assert issues[0].path == (*SERVICE, "run", "stop", 1)
    assert issues[0].message.startswith("unknown placeholder {slott}")


def test_without_stop_the_settings_have_no_stop_key() -> None:
    data = valid()
    del strategies(data)["production"], strategies(data)["staging"]
    del web(data)["run"]["stop"]
    run = parse_config(data).services[0].run
    assert run is not None
    assert "stop" not in run.settings


# --- what canary and blue-green need from the run ---------------------------------------------


def test_a_deploy_without_slot_is_refused_for_strategies_that_move_traffic() -> None:
    data = valid()
    web(data)["run"]["deploy"] = ["./start.sh", "{version}"]
    issue = the_issue(data, *SERVICE, "run", "deploy")
    assert issue.message == (
        "deploy has no {slot}: with blue-green in staging, canary in production, each version "
        "goes into a slot of its own beside the stable one; without {slot} the candidate would "
        "overwrite the stable version and take every user down"
    )
    assert (
        issue.expected
        == "a deploy command with {slot}, like ['./deploy.sh', '{version}', '{slot}']"
    )


@pytest.mark.parametrize(
    "deploy",
    [
        {"command": ["./start.sh", "--slot={slot}"]},
        "./start.sh {version} {slot}",
    ],
)
def test_slot_may_be_anywhere_in_the_deploy_command(deploy: object) -> None:
    data = valid()
    web(data)["run"]["shell"] = True
    web(data)["run"]["deploy"] = deploy
    parse_config(data)


def test_a_doubled_brace_slot_is_literal_text_not_the_slot() -> None:
    data = valid()
    web(data)["run"]["deploy"] = ["./start.sh", "{{slot}}"]
    assert the_issue(data, *SERVICE, "run", "deploy").message.startswith("deploy has no {slot}")


def test_a_missing_stop_is_reported_with_the_fix() -> None:
    data = valid()
    del web(data)["run"]["stop"]
    issue = the_issue(data, *SERVICE, "run", "stop")
    assert issue.message == (
        "required field 'stop' is missing: with blue-green in staging, canary in production, "
        "relman stops a slot to free it (the candidate's on rollback, the old one after a "
        "blue-green switch)"
    )
    assert (
        issue.expected == "a command that stops the version in a slot, like ['./stop.sh', '{slot}']"
    )


def test_a_stop_without_slot_is_refused() -> None:
    data = valid()
    web(data)["run"]["stop"] = ["./stop.sh"]
    issue = the_issue(data, *SERVICE, "run", "stop")
    assert issue.message.startswith("stop has no {slot}: with blue-green in staging, canary in")


def test_a_strategy_that_moves_traffic_needs_run_settings() -> None:
    data = valid()
    del web(data)["run"]
    issue = the_issue(data, *SERVICE, "run")
    assert issue.message == (
        "required field 'run' is missing: with blue-green in staging, canary in production, "
        "relman deploys into a slot"
    )


def test_rolling_and_all_at_once_need_neither_slot_nor_stop() -> None:
    data = valid()
    web(data)["run"] = {"driver": "script", "deploy": ["./deploy.sh", "{version}"]}
    del web(data)["traffic"]
    web(data)["strategies"] = {
        "edge": {"type": "rolling", "targets": ["h1"]},
        "production": {"type": "all-at-once"},
    }
    service = parse_config(data).services[0]
    assert dict(service.strategies) == {"edge": Rolling(("h1",)), "production": AllAtOnce()}


# --- traffic ---------------------------------------------------------------------------------


def test_a_router_takes_an_address_and_defaults_its_backend_to_the_service() -> None:
    data = valid()
    web(data)["traffic"] = {
        "driver": "router",
        "address": "127.0.0.1:8081",
        "slots": {"blue": "127.0.0.1:8001", "green": "localhost:8002"},
    }
    traffic = parse_config(data).services[0].traffic
    assert traffic == TrafficSpec(
        "router", "127.0.0.1:8081", "web", {"blue": "127.0.0.1:8001", "green": "localhost:8002"}
    )
    assert traffic_to_dict(traffic)["address"] == "127.0.0.1:8081"


@pytest.mark.parametrize("socket", ["/run/haproxy/admin.sock", "run/admin.sock", "127.0.0.1:9999"])
def test_an_haproxy_socket_is_a_unix_path_or_host_port(socket: str) -> None:
    data = valid()
    web(data)["traffic"]["socket"] = socket
    traffic = parse_config(data).services[0].traffic
    assert traffic is not None
    assert traffic.address == socket


@pytest.mark.parametrize(
    ("change", "path", "message", "expected"),
    [
        (
            {"socket": None},
            ("socket",),
            "required field 'socket' is missing",
            "a UNIX socket path like /run/haproxy/admin.sock, or host:port like 127.0.0.1:9999",
        ),
        (
            {"socket": "admin.sock"},
            ("socket",),
            "bad socket 'admin.sock'",
            "a UNIX socket path like /run/haproxy/admin.sock, or host:port like 127.0.0.1:9999",
        ),
        (
            {"socket": "127.0.0.1:99999"},
            ("socket",),
            "bad socket '127.0.0.1:99999'",
            "a UNIX socket path like /run/haproxy/admin.sock, or host:port like 127.0.0.1:9999",
        ),
        (
            {"backend": None},
            ("backend",),
            "required field 'backend' is missing",
            "an HAProxy name: letters, digits and - _ . :",
        ),
        (
            {"backend": "web app"},
            ("backend",),
            "bad HAProxy name 'web app'",
            "an HAProxy name: letters, digits and - _ . :",
        ),
        (
            {"slots": None},
            ("slots",),
            "required field 'slots' is missing",
            "a mapping of blue and green, each to an HAProxy name: letters, digits and - _ . :",
        ),
        (
            {"slots": {"blue": "web-blue"}},
            ("slots",),
            "slot green is missing",
            "a mapping of blue and green, each to an HAProxy name: letters, digits and - _ . :",
        ),
        (
            {"slots": ["web-blue", "web-green"]},
            ("slots",),
            "got a list",
            "a mapping of blue and green, each to an HAProxy name: letters, digits and - _ . :",
        ),
        (
            {"slots": {"blue": "web-blue", "green": " "}},
            ("slots", "green"),
            "the text is empty",
            "an HAProxy name: letters, digits and - _ . :",
        ),
        (
            {"slots": {"blue": "web-blue", "green": 2}},
            ("slots", "green"),
            "got the number 2; put it in quotes if you meant it as text",
            "an HAProxy name: letters, digits and - _ . :",
        ),
        (
            {"slots": {"blue": "web", "green": "web"}},
            ("slots",),
            "blue and green are both 'web'; each slot needs its own",
            None,
        ),
        (
            {"address": "/run/haproxy/admin.sock"},
            ("address",),
            "the haproxy driver takes 'socket', not 'address'; rename the field",
            "socket: …",
        ),
        (
            {"weight": 5},
            ("weight",),
            "unknown field 'weight'",
            "one of: driver, socket, backend, slots",
        ),
        (
            {"driver": "nginx"},
            ("driver",),
            "unknown driver 'nginx'; available: haproxy, router",
            "one of: haproxy, router",
        ),
    ],
)
def test_bad_haproxy_settings_are_reported_where_they_are(
    change: dict[str, Any], path: tuple[str, ...], message: str, expected: str | None
) -> None:
    data = valid()
    traffic = web(data)["traffic"]
    for key, value in change.items():
        if value is None:
            del traffic[key]
        else:
            traffic[key] = value
    issues = [issue for issue in issues_of(data) if issue.path[:3] == TRAFFIC]
    assert [issue.path for issue in issues] == [(*TRAFFIC, *path)], [str(i) for i in issues]
    assert issues[0].message == message
    if expected is not None:
        assert issues[0].expected == expected


def test_an_unknown_slot_names_the_two_there_are() -> None:
    data = valid()
    web(data)["traffic"]["slots"]["red"] = "web-red"
    issue = the_issue(data, *TRAFFIC, "slots", "red")
    assert issue.message == "unknown slot 'red'; the slots are blue and green"


def router(data: dict[str, Any]) -> dict[str, Any]:
    """The first service's traffic, switched to the development router."""
    traffic = {
        "driver": "router",
        "address": "http://127.0.0.1:8081",
        "backend": "shop",
        "slots": {"blue": "127.0.0.1:8001", "green": "[::1]:8002"},
    }
    web(data)["traffic"] = traffic
    return traffic


def test_a_router_address_may_start_with_http_and_its_backend_may_be_given() -> None:
    data = valid()
    router(data)
    traffic = parse_config(data).services[0].traffic
    assert traffic is not None
    assert (traffic.address, traffic.backend) == ("http://127.0.0.1:8081", "shop")


@pytest.mark.parametrize(
    ("change", "path", "message"),
    [
        ({"address": None}, ("address",), "required field 'address' is missing"),
        ({"address": "localhost"}, ("address",), "bad address 'localhost'"),
        ({"address": "/run/router.sock"}, ("address",), "bad address '/run/router.sock'"),
        ({"socket": "/x.sock"}, ("socket",), "the router driver takes 'address', not 'socket'"),
        (
            {"slots": {"blue": "127.0.0.1:8001", "green": "web-green"}},
            ("slots", "green"),
            "bad upstream address 'web-green'",
        ),
        (
            {"slots": {"blue": "127.0.0.1:8001", "green": "h:0"}},
            ("slots", "green"),
            "bad upstream address 'h:0'",
        ),
        ({"backend": ""}, ("backend",), "the backend is empty"),
    ],
)
def test_bad_router_settings_are_reported_where_they_are(
    change: dict[str, Any], path: tuple[str, ...], message: str
) -> None:
    data = valid()
    traffic = router(data)
    for key, value in change.items():
        if value is None:
            del traffic[key]
        else:
            traffic[key] = value
    issue = the_issue(data, *TRAFFIC, *path)
    assert issue.message.startswith(message), issue.message


def test_traffic_must_be_a_mapping() -> None:
    data = valid()
    web(data)["traffic"] = "haproxy"
    issues = issues_of(data)
    assert issues[0].path == TRAFFIC
    assert issues[0].message == "got the text 'haproxy'"


# --- strategies ------------------------------------------------------------------------------


def test_a_strategy_for_an_unknown_environment_suggests_the_closest_one() -> None:
    data = valid()
    strategies(data)["prodution"] = strategies(data).pop("production")
    issue = the_issue(data, *STRATEGIES, "prodution")
    assert issue.message == (
        "unknown environment 'prodution' (did you mean 'production'?); "
        "defined: staging, production, edge"
    )
    assert issue.expected == "the name of an environment defined in this file"


def test_strategies_must_be_a_mapping_of_environments() -> None:
    data = valid()
    web(data)["strategies"] = [{"type": "canary"}]
    issue = the_issue(data, *STRATEGIES)
    assert issue.message == "got a list"
    assert issue.expected is not None
    assert issue.expected.startswith("a mapping of environment name to strategy")


@pytest.mark.parametrize(
    ("strategy", "path", "message"),
    [
        ({}, ("type",), "required field 'type' is missing"),
        ({"type": "canry"}, ("type",), "unknown type 'canry'; did you mean 'canary'?"),
        ("canary", (), "got the text 'canary'"),
        ({"type": "blue-green", "steps": []}, ("steps",), "unknown field 'steps'"),
        ({"type": "all-at-once", "batch": 2}, ("batch",), "unknown field 'batch'"),
        ({"type": "canary"}, ("steps",), "required field 'steps' is missing"),
        ({"type": "canary", "steps": []}, ("steps",), "the list is empty"),
        ({"type": "canary", "steps": [{}]}, ("steps", 0), "the step is empty"),
        ({"type": "canary", "steps": [5]}, ("steps", 0), "got the number 5"),
        (
            {"type": "canary", "steps": [{"set_weight": 10, "pause": "1m"}]},
            ("steps", 0),
            "a step has both set_weight and pause; write each as a step of its own",
        ),
        (
            {"type": "canary", "steps": [{"set_wieght": 10}]},
            ("steps", 0, "set_wieght"),
            "unknown field 'set_wieght'; did you mean 'set_weight'?",
        ),
        (
            {"type": "canary", "steps": [{"set_weight": 120}]},
            ("steps", 0, "set_weight"),
            "weight 120 is out of range",
        ),
        (
            {"type": "canary", "steps": [{"set_weight": -1}]},
            ("steps", 0, "set_weight"),
            "weight -1 is out of range",
        ),
        (
            {"type": "canary", "steps": [{"set_weight": "10%"}]},
            ("steps", 0, "set_weight"),
            "got the text '10%'",
        ),
        (
            {"type": "canary", "steps": [{"set_weight": True}]},
            ("steps", 0, "set_weight"),
            "got true",
        ),
        (
            {"type": "canary", "steps": [{"pause": 30}]},
            ("steps", 0, "pause"),
            "got the number 30; a duration needs a unit",
        ),
        (
            {"type": "canary", "steps": [{"pause": None}]},
            ("steps", 0, "pause"),
            "got nothing (null)",
        ),
        (
            {"type": "canary", "steps": [{"pause": "soon"}]},
            ("steps", 0, "pause"),
            "Bad duration 'soon'",
        ),
        (
            {"type": "canary", "steps": [{"pause": {"duration": "x"}}]},
            ("steps", 0, "pause", "duration"),
            "Bad duration 'x'",
        ),
        (
            {"type": "canary", "steps": [{"pause": {"for": "1m"}}]},
            ("steps", 0, "pause", "for"),
            "unknown field 'for'",
        ),
        (
            {"type": "canary", "steps": [{"analysis": "eror-rate"}]},
            ("steps", 0, "analysis"),
            "unknown analysis 'eror-rate' (did you mean 'error-rate'?); "
            "defined: error-rate, smoke, unused",
        ),
        (
            {"type": "canary", "steps": [{"set_weight": 5}], "background_analysis": "nope"},
            ("background_analysis",),
            "unknown analysis 'nope'; defined: error-rate, smoke, unused",
        ),
        (
            {"type": "blue-green", "pre_promotion_analysis": "smok"},
            ("pre_promotion_analysis",),
            "unknown analysis 'smok' (did you mean 'smoke'?); defined: error-rate, smoke, unused",
        ),
        (
            {"type": "blue-green", "post_promotion_analysis": 3},
            ("post_promotion_analysis",),
            "got the number 3",
        ),
        ({"type": "blue-green", "auto_promote": "yes"}, ("auto_promote",), "got the text 'yes'"),
        (
            {"type": "blue-green", "scale_down_delay": "5"},
            ("scale_down_delay",),
            "Bad duration '5'",
        ),
        ({"type": "rolling"}, ("targets",), "required field 'targets' is missing"),
        ({"type": "rolling", "targets": []}, ("targets",), "the list is empty"),
        ({"type": "rolling", "targets": "h1"}, ("targets",), "got the text 'h1'"),
        ({"type": "rolling", "targets": ["h1", 2]}, ("targets", 1), "got the number 2"),
        ({"type": "rolling", "targets": ["h1", " "]}, ("targets", 1), "the target is empty"),
        (
            {"type": "rolling", "targets": ["h1", "h2", "h1"]},
            ("targets", 2),
            "target 'h1' is listed twice (first at services[0].strategies.edge.targets[0])",
        ),
        (
            {"type": "rolling", "targets": ["h1"], "batch": 0},
            ("batch",),
            "a batch of 0 would deploy nothing",
        ),
        ({"type": "rolling", "targets": ["h1"], "batch": "0%"}, ("batch",), "got the text '0%'"),
        (
            {"type": "rolling", "targets": ["h1"], "batch": "101%"},
            ("batch",),
            "got the text '101%'",
        ),
        (
            {"type": "rolling", "targets": ["h1"], "batch": "12.5%"},
            ("batch",),
            "got the text '12.5%'",
        ),
        (
            {"type": "rolling", "targets": ["h1"], "batch": "half"},
            ("batch",),
            "got the text 'half'",
        ),
        ({"type": "rolling", "targets": ["h1"], "batch": 1.5}, ("batch",), "got the number 1.5"),
    ],
)
def test_a_bad_strategy_is_reported_where_it_is(
    strategy: object, path: tuple[str | int, ...], message: str
) -> None:
    data = valid()
    strategies(data)["edge"] = strategy
    issue = the_issue(data, *STRATEGIES, "edge", *path)
    assert issue.message.startswith(message), issue.message


def test_canary_and_blue_green_need_traffic_said_at_the_strategy() -> None:
    data = valid()
    del web(data)["traffic"]
    issues = issues_of(data)
    assert [issue.path for issue in issues] == [
        (*STRATEGIES, "staging"),
        (*STRATEGIES, "production"),
    ]
    assert issues[1].message == (
        "a canary strategy moves users between the blue and green slots, but this service has "
        "no traffic settings; add traffic: {driver: haproxy, socket: …, backend: …, slots: "
        "{blue: …, green: …}} (or driver: router) to the service"
    )
    assert issues[0].message.startswith("a blue-green strategy moves users between")


def test_blue_green_and_rolling_take_their_defaults() -> None:
    data = valid()
    strategies(data)["staging"] = {"type": "blue-green"}
    strategies(data)["edge"] = {"type": "rolling", "targets": ["h1", "h2"]}
    service = parse_config(data).services[0]
    assert service.strategies["staging"] == BlueGreen(
        auto_promote=False, scale_down_delay=timedelta(seconds=30)
    )
    assert service.strategies["edge"] == Rolling(targets=("h1", "h2"), batch=1)


@pytest.mark.parametrize(
    ("batch", "read"), [(3, 3), ("25%", "25%"), ("100%", "100%"), ("07%", "7%")]
)
def test_a_batch_is_a_count_or_a_percentage(batch: object, read: object) -> None:
    data = valid()
    strategies(data)["edge"]["batch"] = batch
    edge = parse_config(data).services[0].strategies["edge"]
    assert isinstance(edge, Rolling)
    assert edge.batch == read


@pytest.mark.parametrize(
    ("pause", "step"),
    [
        ("1h30m", CanaryStep(pause=True, duration=timedelta(hours=1, minutes=30))),
        ({}, CanaryStep(pause=True)),
        ({"duration": "30s"}, CanaryStep(pause=True, duration=timedelta(seconds=30))),
        ("0s", CanaryStep(pause=True, duration=timedelta(0))),
    ],
)
def test_a_pause_is_a_duration_or_a_mapping_that_waits_for_a_person(
    pause: object, step: CanaryStep
) -> None:
    data = valid()
    strategies(data)["production"]["steps"][1] = {"pause": pause}
    production = parse_config(data).services[0].strategies["production"]
    assert isinstance(production, Canary)
    assert production.steps[1] == step


@pytest.mark.parametrize("weight", [0, 100])
def test_weights_from_0_to_100_are_fine(weight: int) -> None:
    data = valid()
    strategies(data)["production"]["steps"][0] = {"set_weight": weight}
    production = parse_config(data).services[0].strategies["production"]
    assert isinstance(production, Canary)
    assert production.steps[0] == CanaryStep(set_weight=weight)


def test_a_strategy_naming_analyses_when_none_are_defined_says_so() -> None:
    data = valid()
    del data["analyses"]
    paths = [issue.path for issue in issues_of(data)]
    assert paths == [
        (*STRATEGIES, "staging", "pre_promotion_analysis"),
        (*STRATEGIES, "production", "steps", 2, "analysis"),
        (*STRATEGIES, "production", "background_analysis"),
    ]
    assert issues_of(data)[0].message == "unknown analysis 'smoke'; no analyses are defined"


def test_when_analyses_is_not_a_list_the_names_are_not_checked() -> None:
    data = valid()
    data["analyses"] = {"name": "error-rate"}
    issue = the_issue(data, "analyses")
    assert issue.message == "got a mapping"
    assert issue.expected == "a list of analyses"


# --- analyses --------------------------------------------------------------------------------


def test_an_analysis_takes_the_defaults_of_analysis_limits() -> None:
    data = valid()
    data["analyses"][0] = {
        "name": "error-rate",
        "provider": {"type": "builtin"},
        "metrics": [{"name": "m", "query": "m", "success_condition": "result > 0"}],
    }
    spec = parse_config(data).analyses[0]
    assert spec.limits == AnalysisLimits()
    assert spec.limits.count is None  # measured until the deployment ends
    assert spec.provider == ProviderSpec(type="builtin", address=None, timeout=10.0)


def test_a_provider_timeout_is_a_duration() -> None:
    data = valid()
    analysis(data)["provider"]["timeout"] = "1m"
    assert parse_config(data).analyses[0].provider.timeout == 60.0


@pytest.mark.parametrize(
    ("change", "path", "message", "expected"),
    [
        ({"name": None}, ("name",), "required field 'name' is missing", None),
        ({"name": "Error_Rate"}, ("name",), "bad analysis name 'Error_Rate'", None),
        (
            {"provider": None},
            ("provider",),
            "required field 'provider' is missing",
            "a provider: {type: prometheus, address: 'http://127.0.0.1:9090'} or "
            "{type: builtin}, with an optional timeout",
        ),
        ({"provider": "prometheus"}, ("provider",), "got the text 'prometheus'", None),
        ({"provider": {}}, ("provider", "type"), "required field 'type' is missing", None),
        (
            {"provider": {"type": "graphite"}},
            ("provider", "type"),
            "unknown type 'graphite'; available: prometheus, builtin",
            "one of: prometheus, builtin",
        ),
        (
            {"provider": {"type": "prometheus"}},
            ("provider", "address"),
            "required field 'address' is missing",
            "the Prometheus server's URL, like 'http://127.0.0.1:9090'",
        ),
        (
            {"provider": {"type": "prometheus", "address": "127.0.0.1:9090"}},
            ("provider", "address"),
            "bad URL '127.0.0.1:9090'; a URL starts with http:// or https://",
            "the Prometheus server's URL, like 'http://127.0.0.1:9090'",
        ),
        (
            {"provider": {"type": "builtin", "address": "http://x"}},
            ("provider", "address"),
            "the builtin provider reads the samples posted to relman's API and takes no "
            "address; remove it, or use type: prometheus",
            "no address with type: builtin",
        ),
        (
            {"provider": {"type": "builtin", "timeout": "0s"}},
            ("provider", "timeout"),
            "timeout 0s would stop every query at once",
            "a duration above 0s",
        ),
        (
            {"provider": {"type": "builtin", "timeout": 10}},
            ("provider", "timeout"),
            "got the number 10; a duration needs a unit",
            "a duration like 30s, 10m, 1h30m, 2d",
        ),
        (
            {"interval": "0s"},
            ("interval",),
            "interval 0s would leave no time between measurements",
            "a duration above 0s",
        ),
        ({"interval": "10"}, ("interval",), "Bad duration '10'", None),
        ({"initial_delay": "-1s"}, ("initial_delay",), "Bad duration '-1s'", None),
        (
            {"count": 0},
            ("count",),
            "got the number 0",
            "a whole number ≥ 1, or no count to measure until the deployment ends",
        ),
        ({"count": "6"}, ("count",), "got the text '6'", None),
        (
            {"failure_limit": -1},
            ("failure_limit",),
            "failure_limit can't be negative",
            "a whole number ≥ 0",
        ),
        (
            {"inconclusive_limit": 1.5},
            ("inconclusive_limit",),
            "got the number 1.5",
            "a whole number ≥ 0",
        ),
        (
            {"consecutive_error_limit": True},
            ("consecutive_error_limit",),
            "got true",
            "a whole number ≥ 0",
        ),
        (
            {"metrics": None},
            ("metrics",),
            "required field 'metrics' is missing",
            "a non-empty list of metrics",
        ),
        ({"metrics": []}, ("metrics",), "the list is empty", "a non-empty list of metrics"),
        ({"threshold": 1}, ("threshold",), "unknown field 'threshold'", None),
    ],
)
def test_a_bad_analysis_is_reported_where_it_is(
    change: dict[str, Any], path: tuple[str, ...], message: str, expected: str | None
) -> None:
    data = valid()
    spec = analysis(data)
    for key, value in change.items():
        if value is None:
            del spec[key]
        else:
            spec[key] = value
    issues = [issue for issue in issues_of(data) if issue.path[:2] == ANALYSIS]
    assert [issue.path for issue in issues] == [(*ANALYSIS, *path)], [str(i) for i in issues]
    assert issues[0].message.startswith(message), issues[0].message
    if expected is not None:
        assert issues[0].expected == expected


def test_analysis_names_are_unique() -> None:
    data = valid()
    data["analyses"][2]["name"] = "smoke"
    issue = the_issue(data, "analyses", 2, "name")
    assert issue.message == "duplicate analysis name 'smoke' (first defined at analyses[1])"
    assert issue.expected == "a unique analysis name"


def test_metric_names_are_unique_within_an_analysis() -> None:
    data = valid()
    metric(data, 1)["name"] = "error-ratio"
    issue = the_issue(data, *ANALYSIS, "metrics", 1, "name")
    assert issue.message == (
        "duplicate metric name 'error-ratio' (first defined at analyses[0].metrics[0])"
    )


# --- metrics ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "conditions",
    [
        {"success_condition": "result[0] >= 0.95 && result[1] < 500"},
        {"failure_condition": "result >= 0.05"},
        {"success_condition": "result < 0.01", "failure_condition": "result >= 0.05"},
    ],
)
def test_a_query_takes_either_condition_or_both(conditions: dict[str, str]) -> None:
    data = valid()
    del metric(data)["success_condition"]
    metric(data).update(conditions)
    spec = parse_config(data).analyses[0].metrics[0]
    assert (spec.success_condition, spec.failure_condition) == (
        conditions.get("success_condition"),
        conditions.get("failure_condition"),
    )


def test_a_query_without_a_condition_is_refused() -> None:
    data = valid()
    del metric(data)["success_condition"]
    issue = the_issue(data, *METRIC)
    assert issue.message == "the query has no success_condition or failure_condition to judge it by"
    assert issue.expected == "success_condition: 'result < 0.01', failure_condition: …, or both"


@pytest.mark.parametrize(
    ("field", "condition", "message"),
    [
        ("success_condition", "result <", "Bad expression 'result <' at column 9: invalid syntax"),
        (
            "failure_condition",
            "value > 1",
            "Bad expression 'value > 1' at column 1: unknown name 'value'",
        ),
        ("success_condition", "", "Bad expression '': it is empty"),
        ("success_condition", 0.01, "got the number 0.01"),
    ],
)
def test_a_bad_condition_is_reported_at_its_field_with_the_parsers_message(
    field: str, condition: object, message: str
) -> None:
    data = valid()
    metric(data)[field] = condition
    issue = the_issue(data, *METRIC, field)
    assert issue.message.startswith(message), issue.message
    assert issue.expected == "a condition over result, like 'result < 0.01'"


def test_mixing_a_query_and_a_judge_names_both() -> None:
    data = valid()
    metric(data)["judge"] = {"type": "sequential"}
    issue = the_issue(data, *METRIC)
    assert issue.message == (
        "the metric has both query and judge; a metric is either a query with conditions or a "
        "judge with requests and errors: make it two metrics"
    )


def test_a_metric_with_neither_form_is_refused() -> None:
    data = valid()
    analysis(data)["metrics"][0] = {"name": "empty"}
    issue = the_issue(data, *METRIC)
    assert issue.message == "the metric has neither a query nor a judge"


@pytest.mark.parametrize(
    ("change", "path", "message"),
    [
        ({"judge": None}, ("judge",), "required field 'judge' is missing"),
        ({"judge": {"alpha": 0.01}}, ("judge", "type"), "required field 'type' is missing"),
        (
            {"judge": {"type": "bayesian"}},
            ("judge", "type"),
            "unknown type 'bayesian'; available: sequential",
        ),
        (
            {"judge": {"type": "sequential", "alpha": "0.01"}},
            ("judge", "alpha"),
            "got the text '0.01'",
        ),
        ({"judge": {"type": "sequential", "beta": True}}, ("judge", "beta"), "got true"),
        (
            {"judge": {"type": "sequential", "min_requests": 10.5}},
            ("judge", "min_requests"),
            "got the number 10.5",
        ),
        (
            {"judge": {"type": "sequential", "alpha": 0.6}},
            ("judge",),
            "Bad sequential judge: alpha 0.6 must be above 0 and below 0.5",
        ),
        (
            {"judge": {"type": "sequential", "ratio": 1, "min_requests": -1}},
            ("judge",),
            "Bad sequential judge: ratio 1.0 must be above 1 (2 catches a doubled error rate); "
            "min_requests -1 must not be negative",
        ),
        (
            {"judge": {"type": "sequential", "power": 0.9}},
            ("judge", "power"),
            "unknown field 'power'",
        ),
        ({"requests": None}, ("requests",), "required field 'requests' is missing"),
        (
            {"errors": "sum(errors_total)"},
            ("errors",),
            "errors has no {slot}: the judge runs it once for the candidate's slot and once for "
            "the stable one, and without {slot} both sides would get the same count",
        ),
        ({"requests": ""}, ("requests",), "the query is empty"),
        (
            {"requests": 'sum(x{slot="{slot}",v="{versoin}"})'},
            ("requests",),
            "unknown placeholder {versoin} in",
        ),
    ],
)
def test_a_bad_judge_metric_is_reported_where_it_is(
    change: dict[str, Any], path: tuple[str, ...], message: str
) -> None:
    data = valid()
    judged = metric(data, 1)
    for key, value in change.items():
        if value is None:
            del judged[key]
        else:
            judged[key] = value
    issue = the_issue(data, *ANALYSIS, "metrics", 1, *path)
    assert issue.message.startswith(message), issue.message


def test_a_judge_takes_the_defaults_of_sequential_judge() -> None:
    data = valid()
    metric(data, 1)["judge"] = {"type": "sequential"}
    assert parse_config(data).analyses[0].metrics[1].judge == SequentialJudge()


def test_the_judges_own_check_is_reported_with_the_ranges() -> None:
    data = valid()
    metric(data, 1)["judge"]["beta"] = 0
    issue = the_issue(data, *ANALYSIS, "metrics", 1, "judge")
    assert issue.expected == "alpha and beta above 0 and below 0.5, ratio above 1, min_requests ≥ 0"


# --- query placeholders ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        'sum(rate(x{code=~"5.."}[30s]))',
        '{__name__="x"}',
        '{job="a"}',
        'x{job!="a", code!~"2.."}',
        "x{}",
        'x{slot="{candidate_slot}", v="{version}"} / on() x{slot="{stable_slot}"}',
        'x{code=~"5.{2}"}',
        'x{service="{service}", env="{environment}"} * {weight} + {deployment_id}',
        'x{v="{stable_version}"}',
        "max_over_time(x[5m:1m])",
    ],
)
def test_real_promql_braces_are_left_alone(query: str) -> None:
    data = valid()
    metric(data)["query"] = query
    assert parse_config(data).analyses[0].metrics[0].query == query


@pytest.mark.parametrize(
    ("query", "written"),
    [
        ('x{slot="{candidate_slott}"}', "{candidate_slott}"),
        ('x{slot="{ candidate_slot }"}', "{ candidate_slot }"),
        ('x{slot="{candidate-slot}"}', "{candidate-slot}"),
        ("{job}", "{job}"),
    ],
)
def test_a_misspelt_placeholder_is_refused_with_the_available_ones(
    query: str, written: str
) -> None:
    data = valid()
    metric(data)["query"] = query
    issue = the_issue(data, *METRIC, "query")
    available = ", ".join("{" + name + "}" for name in QUERY_PLACEHOLDERS)
    assert issue.message == f"unknown placeholder {written} in '{query}'; available: {available}"
    assert issue.expected == "a query with known placeholders, like 'up{slot=\"{candidate_slot}\"}'"


def test_slot_works_only_in_a_judges_queries() -> None:
    data = valid()
    metric(data)["query"] = 'x{slot="{slot}"}'
    issue = the_issue(data, *METRIC, "query")
    assert issue.message == (
        "{slot} works only in a judge's requests and errors; in 'x{slot=\"{slot}\"}' write "
        "{candidate_slot} or {stable_slot}"
    )


def test_a_query_must_be_text() -> None:
    data = valid()
    metric(data)["query"] = 1
    issue = the_issue(data, *METRIC, "query")
    assert issue.message == "got the number 1; put it in quotes if you meant it as text"


# --- the user guide --------------------------------------------------------------------------

USER_GUIDE = Path(__file__).parents[2] / "docs" / "config.md"


def test_the_progressive_delivery_example_of_the_user_guide_is_valid() -> None:
    section = USER_GUIDE.read_text(encoding="utf-8").split("## Progressive delivery", 1)[1]
    example = re.findall(r"```yaml\n(.*?)```", section, re.DOTALL)[0]
    document = load_config(example)
    service = document.services[0]
    assert set(service.strategies) == {"staging", "production", "edge"}
    assert list(service.analyses) == ["smoke", "error-rate", "vs-stable"]


def test_the_user_guide_shows_what_relman_really_prints_for_its_bad_delivery_example() -> None:
    section = USER_GUIDE.read_text(encoding="utf-8").split("## Progressive delivery", 1)[1]
    bad_example = re.findall(r"```yaml\n(.*?)```", section, re.DOTALL)[1]
    with pytest.raises(ConfigError) as caught:
        load_config(bad_example)
    issues = caught.value.issues
    printed = f"error: {len(issues)} problems:\n" + "".join(f"  {issue}\n" for issue in issues)
    assert printed in section
