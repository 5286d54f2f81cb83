from datetime import timedelta
from typing import Any

import pytest

from relman.domain.config import (
    DRIVERS,
    ON_FAILURE,
    STEP_PLACEHOLDERS,
    TIERS,
    ConfigDocument,
    EnvironmentSpec,
    LifecycleSpec,
    PhaseSpec,
    RunSpec,
    ServiceSpec,
    parse_config,
    parse_notes_settings,
)
from relman.errors import ConfigError, ConfigIssue


def valid() -> dict[str, Any]:
    """A fresh, valid document that each test may change."""
    return {
        "version": 1,
        "environments": [
            {"name": "dev", "tier": "development"},
            {"name": "staging", "tier": "staging"},
            {"name": "production", "tier": "production"},
            {"name": "production-eu", "tier": "production"},
        ],
        "lifecycles": [
            {
                "name": "default",
                "phases": [
                    {"name": "dev", "environments": ["dev"], "optional": True},
                    {"name": "test", "environments": ["staging"]},
                    {
                        "name": "prod",
                        "environments": ["production", "production-eu"],
                        "minimum": 1,
                        "soak": "10m",
                    },
                ],
            }
        ],
        "services": [
            {
                "name": "api",
                "lifecycle": "default",
                "repository": ".",
                "tag_format": "{service}-v{version}",
                "paths": ["services/api"],
                "run": {
                    "driver": "script",
                    "deploy": ["./deploy.sh", "{version}", "{environment}"],
                    "verify": "curl -fsS https://api/healthz",
                    "shell": True,
                    "timeout": "90s",
                    "retries": 2,
                },
            },
            {"name": "worker", "lifecycle": "default"},
        ],
    }


def step(
    command: object = None,
    url: str | None = None,
    timeout: str | None = None,
    retries: int | None = None,
    idempotent: bool | None = None,
) -> dict[str, Any]:
    """A normalized script step; None means "use the top-level default"."""
    return {
        "command": command,
        "url": url,
        "timeout": timeout,
        "retries": retries,
        "idempotent": idempotent,
    }


def issues_of(data: object) -> list[ConfigIssue]:
    with pytest.raises(ConfigError) as caught:
        parse_config(data)
    return caught.value.issues


def the_issue(data: object, *path: str | int) -> ConfigIssue:
    """The one issue reported, which must be at `path`."""
    issues = issues_of(data)
    assert [issue.path for issue in issues] == [path], [str(issue) for issue in issues]
    return issues[0]


# --- a valid document ------------------------------------------------------------------------


def test_a_full_valid_document_parses_to_specs() -> None:
    document = parse_config(valid())

    assert document.version == 1
    assert document.environments[1] == EnvironmentSpec(name="staging", tier="staging")
    assert document.lifecycles[0].name == "default"
    assert document.lifecycles[0].phases == (
        PhaseSpec(name="dev", environments=("dev",), optional=True),
        PhaseSpec(name="test", environments=("staging",)),
        PhaseSpec(
            name="prod",
            environments=("production", "production-eu"),
            minimum=1,
            soak=timedelta(minutes=10),
        ),
    )
    api, worker = document.services
    assert (api.name, api.lifecycle, api.repository) == ("api", "default", ".")
    assert (api.tag_format, api.paths) == ("{service}-v{version}", ("services/api",))
    assert api.run is not None
    assert api.run.driver == "script"
    assert api.run.settings["deploy"] == step(("./deploy.sh", "{version}", "{environment}"))
    assert api.run.settings["verify"] == step("curl -fsS https://api/healthz")
    assert worker == ServiceSpec(name="worker", lifecycle="default")


def test_optional_fields_take_their_defaults() -> None:
    service = parse_config(valid()).services[1]

    assert service.repository is None
    assert service.tag_format == "v{version}"
    assert service.paths == ()
    assert service.run is None
    assert service.on_failure is None


def test_only_a_version_is_needed() -> None:
    assert parse_config({"version": 1}) == ConfigDocument(1, (), (), ())


def test_null_sections_count_as_empty() -> None:
    document = parse_config({"version": 1, "environments": None, "services": None})
    assert document.environments == ()
    assert document.services == ()


def test_script_settings_are_complete_with_defaults_and_a_canonical_timeout() -> None:
    run = parse_config(valid()).services[0].run
    assert run is not None
    assert run.to_dict() == {
        "driver": "script",
        "settings": {
            "deploy": step(["./deploy.sh", "{version}", "{environment}"]),
            "verify": step("curl -fsS https://api/healthz"),
            "rollback": None,
            "shell": True,
            "timeout": "1m30s",
            "retries": 2,
            "idempotent": False,
        },
    }


def test_run_settings_are_read_only() -> None:
    run = parse_config(valid()).services[0].run
    assert run is not None
    with pytest.raises(TypeError):
        run.settings["shell"] = False  # type: ignore[index]


def test_the_constants_name_gitlabs_tiers_and_the_known_drivers() -> None:
    assert TIERS == ("production", "staging", "testing", "development", "other")
    assert DRIVERS == ("script", "process")


def test_the_constants_name_the_failure_policies_and_the_step_placeholders() -> None:
    assert ON_FAILURE == ("rollback", "fail")
    assert STEP_PLACEHOLDERS == (
        "service",
        "version",
        "previous_version",
        "environment",
        "slot",
        "target",
        "deployment_id",
    )


# --- to_dict ---------------------------------------------------------------------------------


def test_equal_documents_give_equal_dicts() -> None:
    assert parse_config(valid()).to_dict() == parse_config(valid()).to_dict()


def test_equal_durations_written_differently_give_equal_dicts() -> None:
    short, long = valid(), valid()
    long["lifecycles"][0]["phases"][2]["soak"] = "0h10m"
    assert parse_config(short).lifecycles[0].to_dict() == parse_config(long).lifecycles[0].to_dict()


def test_a_changed_field_gives_a_different_dict() -> None:
    changed = valid()
    changed["services"][0]["paths"] = ["services/api", "libs"]
    before, after = parse_config(valid()).services[0], parse_config(changed).services[0]
    assert before.to_dict() != after.to_dict()


def test_to_dict_is_plain_json_with_defaults_included() -> None:
    phase = PhaseSpec(
        name="prod", environments=("production",), soak=timedelta(hours=1, minutes=30)
    )
    assert phase.to_dict() == {
        "name": "prod",
        "environments": ["production"],
        "optional": False,
        "minimum": None,
        "soak": "1h30m",
    }
    assert LifecycleSpec("default", (phase,)).to_dict()["phases"] == [phase.to_dict()]
    assert ServiceSpec("api", "default").to_dict() == {
        "name": "api",
        "lifecycle": "default",
        "on_failure": None,
        "repository": None,
        "tag_format": "v{version}",
        "paths": [],
        "initial_version": "0.1.0",
        "pre_major": "major",
        "notes": {
            "sections": {},
            "bump": {},
            "include_unconventional": False,
            "tickets": [],
            "issue_url": None,
            "ticket_url": None,
            "commit_url": None,
        },
        "run": None,
    }
    assert EnvironmentSpec("dev", "development", on_failure="fail").to_dict() == {
        "name": "dev",
        "tier": "development",
        "on_failure": "fail",
    }
    assert RunSpec("script", {"deploy": ("a", "b")}).to_dict() == {
        "driver": "script",
        "settings": {"deploy": ["a", "b"]},
    }


# --- the top level ---------------------------------------------------------------------------


def test_the_version_is_required() -> None:
    data = valid()
    del data["version"]
    issue = the_issue(data, "version")
    assert "required field 'version' is missing" in issue.message
    assert issue.expected == "version: 1"


def test_only_version_1_is_understood() -> None:
    issue = the_issue({"version": 2}, "version")
    assert "unsupported version 2" in issue.message
    assert issue.expected == "version: 1"


def test_a_version_that_is_not_a_number_is_refused() -> None:
    issue = the_issue({"version": "1"}, "version")
    assert issue.message == "got the text '1'"


@pytest.mark.parametrize(
    ("data", "described"), [(None, "the config is empty"), (["a"], "got a list")]
)
def test_the_document_must_be_a_mapping(data: object, described: str) -> None:
    issue = the_issue(data)
    assert issue.message == described
    assert issue.expected == "a mapping with version: 1"


def test_an_unknown_top_level_field_suggests_the_closest_one() -> None:
    data = valid()
    data["lifecycels"] = data.pop("lifecycles")
    data["services"] = []
    issue = the_issue(data, "lifecycels")
    assert issue.message == "unknown field 'lifecycels'; did you mean 'lifecycles'?"
    assert issue.expected == (
        "one of: version, environments, lifecycles, services, notes, analyses, freezes, slos"
    )


def test_an_unknown_field_with_no_close_match_lists_the_allowed_ones() -> None:
    data = valid()
    data["environments"][0]["colour"] = "blue"
    issue = the_issue(data, "environments", 0, "colour")
    assert issue.message == "unknown field 'colour'"
    assert issue.expected == "one of: name, tier, on_failure, gates, permissions"


@pytest.mark.parametrize("section", ["environments", "lifecycles", "services"])
def test_a_section_must_be_a_list(section: str) -> None:
    issue = the_issue({"version": 1, section: {"name": "x"}}, section)
    assert issue.message == "got a mapping"
    assert issue.expected == f"a list of {section}"


# --- names -----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["Staging", "eu_west", "-dev", "dev-", "a" * 64, "dev\n", ""])
def test_a_name_must_fit_in_urls_and_commands(name: str) -> None:
    data = valid()
    data["environments"].append({"name": name, "tier": "other"})
    issue = the_issue(data, "environments", 4, "name")
    assert f"bad environment name '{name}'" in issue.message
    assert (
        issue.expected == "an environment name: at most 63 lowercase letters, digits and inner '-'"
    )


@pytest.mark.parametrize("name", ["a", "0", "eu-west-1", "a" * 63])
def test_short_long_and_hyphenated_names_are_fine(name: str) -> None:
    data = valid()
    data["environments"].append({"name": name, "tier": "other"})
    assert parse_config(data).environments[-1].name == name


def test_a_name_given_as_a_number_suggests_quotes() -> None:
    data = valid()
    data["services"][1]["name"] = 2024
    issue = the_issue(data, "services", 1, "name")
    assert issue.message == "got the number 2024; put it in quotes if you meant it as text"
    assert issue.expected is not None
    assert issue.expected.startswith("a service name")


def test_a_missing_name_is_reported_on_the_name_field() -> None:
    data = valid()
    del data["lifecycles"][0]["phases"][1]["name"]
    issue = the_issue(data, "lifecycles", 0, "phases", 1, "name")
    assert issue.message == "required field 'name' is missing"
    assert issue.expected is not None
    assert issue.expected.startswith("a phase name")


@pytest.mark.parametrize(
    ("section", "path", "kind"),
    [
        ("environments", ("environments", 4, "name"), "environment"),
        ("lifecycles", ("lifecycles", 1, "name"), "lifecycle"),
        ("services", ("services", 2, "name"), "service"),
    ],
)
def test_a_duplicate_name_points_at_the_first_definition(
    section: str, path: tuple[str | int, ...], kind: str
) -> None:
    data = valid()
    data[section].append(dict(data[section][0]))
    issue = the_issue(data, *path)
    first = data[section][0]["name"]
    assert issue.message == f"duplicate {kind} name '{first}' (first defined at {section}[0])"
    assert issue.expected == f"a unique {kind} name"


def test_phase_names_are_unique_within_their_lifecycle() -> None:
    data = valid()
    data["lifecycles"][0]["phases"][1]["name"] = "dev"
    issue = the_issue(data, "lifecycles", 0, "phases", 1, "name")
    assert "(first defined at lifecycles[0].phases[0])" in issue.message


def test_phase_names_may_repeat_across_lifecycles() -> None:
    data = valid()
    data["lifecycles"].append(
        {"name": "fast", "phases": [{"name": "dev", "environments": ["dev"]}]}
    )
    assert [lc.phases[0].name for lc in parse_config(data).lifecycles] == ["dev", "dev"]


# --- environments ----------------------------------------------------------------------------


def test_an_unknown_tier_suggests_the_closest_one() -> None:
    data = valid()
    data["environments"][0]["tier"] = "prod"
    issue = the_issue(data, "environments", 0, "tier")
    assert issue.message == "unknown tier 'prod'; did you mean 'production'?"
    assert issue.expected == "one of: production, staging, testing, development, other"


def test_an_unknown_tier_with_no_close_match_lists_the_tiers() -> None:
    data = valid()
    data["environments"][0]["tier"] = "qa"
    issue = the_issue(data, "environments", 0, "tier")
    assert issue.message == (
        "unknown tier 'qa'; available: production, staging, testing, development, other"
    )


def test_an_environment_without_a_tier_is_refused() -> None:
    data = valid()
    del data["environments"][0]["tier"]
    issue = the_issue(data, "environments", 0, "tier")
    assert issue.message == "required field 'tier' is missing"


def test_an_environment_must_be_a_mapping() -> None:
    data = valid()
    data["environments"].append("qa")
    issue = the_issue(data, "environments", 4)
    assert issue.message == "got the text 'qa'"
    assert issue.expected == "an environment: a mapping with name and tier"


# --- lifecycles and phases -------------------------------------------------------------------


def test_a_lifecycle_needs_phases() -> None:
    data = valid()
    data["lifecycles"][0]["phases"] = []
    issue = the_issue(data, "lifecycles", 0, "phases")
    assert issue.message == "the list is empty"
    assert issue.expected == "a non-empty list of phases"


def test_a_phase_needs_environments() -> None:
    data = valid()
    del data["lifecycles"][0]["phases"][0]["environments"]
    issue = the_issue(data, "lifecycles", 0, "phases", 0, "environments")
    assert issue.message == "required field 'environments' is missing"
    assert issue.expected == "a non-empty list of environment names"


def test_a_phase_refers_only_to_environments_defined_in_the_file() -> None:
    data = valid()
    data["lifecycles"][0]["phases"][2]["environments"] = ["prod"]
    del data["lifecycles"][0]["phases"][2]["minimum"]
    issue = the_issue(data, "lifecycles", 0, "phases", 2, "environments", 0)
    assert issue.message == (
        "unknown environment 'prod'; defined: dev, staging, production, production-eu"
    )
    assert issue.expected == "the name of an environment defined in this file"


def test_a_reference_with_nothing_defined_says_so() -> None:
    data = valid()
    data["environments"] = []
    issues = issues_of(data)
    assert {issue.message for issue in issues} == {
        "unknown environment 'dev'; no environments are defined",
        "unknown environment 'staging'; no environments are defined",
        "unknown environment 'production'; no environments are defined",
        "unknown environment 'production-eu'; no environments are defined",
    }


def test_references_are_not_checked_when_their_section_is_unreadable() -> None:
    data = valid()
    data["environments"] = "dev, staging"
    issue = the_issue(data, "environments")
    assert issue.expected == "a list of environments"


def test_an_environment_belongs_to_at_most_one_phase_of_a_lifecycle() -> None:
    data = valid()
    data["lifecycles"][0]["phases"][1]["environments"] = ["staging", "dev"]
    issue = the_issue(data, "lifecycles", 0, "phases", 1, "environments", 1)
    assert issue.message == "environment 'dev' is already in phase 'dev' of this lifecycle"
    assert issue.expected == "each environment in at most one phase of a lifecycle"


def test_an_environment_listed_twice_in_one_phase_is_refused() -> None:
    data = valid()
    data["lifecycles"][0]["phases"][1]["environments"] = ["staging", "staging"]
    issue = the_issue(data, "lifecycles", 0, "phases", 1, "environments", 1)
    assert issue.message == "environment 'staging' is listed twice in this phase"


def test_optional_must_be_true_or_false() -> None:
    data = valid()
    data["lifecycles"][0]["phases"][0]["optional"] = "yes"
    issue = the_issue(data, "lifecycles", 0, "phases", 0, "optional")
    assert issue.message == "got the text 'yes'"
    assert issue.expected == "true or false"


@pytest.mark.parametrize("minimum", [0, 3])
def test_minimum_lies_between_one_and_the_phase_environments(minimum: int) -> None:
    data = valid()
    data["lifecycles"][0]["phases"][2]["minimum"] = minimum
    issue = the_issue(data, "lifecycles", 0, "phases", 2, "minimum")
    assert issue.message == f"minimum {minimum} is out of range for 2 environments"
    assert issue.expected == "a whole number from 1 to 2"


@pytest.mark.parametrize("minimum", [True, 1.5, "1"])
def test_minimum_must_be_a_whole_number(minimum: object) -> None:
    data = valid()
    data["lifecycles"][0]["phases"][2]["minimum"] = minimum
    issue = the_issue(data, "lifecycles", 0, "phases", 2, "minimum")
    assert issue.message.startswith("got ")
    assert issue.expected == "a whole number from 1 to 2"


def test_a_bad_soak_reports_the_duration_error_on_the_soak_field() -> None:
    data = valid()
    data["lifecycles"][0]["phases"][2]["soak"] = "10 minutes"
    issue = the_issue(data, "lifecycles", 0, "phases", 2, "soak")
    assert issue.message.startswith("Bad duration '10 minutes'; use a number and a unit")
    assert issue.expected == "a duration like 30s, 10m, 1h30m, 2d"


def test_a_soak_without_a_unit_is_refused() -> None:
    data = valid()
    data["lifecycles"][0]["phases"][2]["soak"] = 10
    issue = the_issue(data, "lifecycles", 0, "phases", 2, "soak")
    assert issue.message == "got the number 10; a duration needs a unit"


def test_soak_on_the_first_phase_has_nothing_to_wait_for() -> None:
    data = valid()
    data["lifecycles"][0]["phases"][0]["soak"] = "1h"
    issue = the_issue(data, "lifecycles", 0, "phases", 0, "soak")
    assert issue.message == "soak on the first phase has nothing to wait for"
    assert issue.expected == "soak only on later phases; it counts from the previous phase"


# --- services --------------------------------------------------------------------------------


def test_a_service_refers_only_to_lifecycles_defined_in_the_file() -> None:
    data = valid()
    data["services"][0]["lifecycle"] = "defualt"
    issue = the_issue(data, "services", 0, "lifecycle")
    assert issue.message == "unknown lifecycle 'defualt'; defined: default"
    assert issue.expected == "the name of a lifecycle defined in this file"


def test_a_service_needs_a_lifecycle() -> None:
    data = valid()
    del data["services"][1]["lifecycle"]
    issue = the_issue(data, "services", 1, "lifecycle")
    assert issue.message == "required field 'lifecycle' is missing"


@pytest.mark.parametrize(
    ("tag_format", "message"),
    [
        ("release", "tag format 'release' lacks {version}"),
        ("{service}", "tag format '{service}' lacks {version}"),
        ("v{ver}", "unknown placeholder {ver} in tag format 'v{ver}'"),
        ("v{version:>5}", "unknown placeholder {version:>5}"),
        ("v{}", "unknown placeholder {}"),
        ("v{version", "bad tag format 'v{version'"),
    ],
)
def test_a_tag_format_needs_version_and_no_other_placeholder_than_service(
    tag_format: str, message: str
) -> None:
    data = valid()
    data["services"][0]["tag_format"] = tag_format
    issue = the_issue(data, "services", 0, "tag_format")
    assert message in issue.message
    assert issue.expected is not None
    assert "{version}" in issue.expected


def test_paths_must_be_a_list_of_strings() -> None:
    data = valid()
    data["services"][0]["paths"] = ["src", 7]
    issue = the_issue(data, "services", 0, "paths", 1)
    assert issue.expected == "a string"


def test_a_repository_must_be_a_non_empty_string() -> None:
    data = valid()
    data["services"][0]["repository"] = " "
    issue = the_issue(data, "services", 0, "repository")
    assert issue.message == "the text is empty"


# --- run -------------------------------------------------------------------------------------


def run_of(data: dict[str, Any]) -> dict[str, Any]:
    run: dict[str, Any] = data["services"][0]["run"]
    return run


def test_an_unknown_driver_lists_the_available_ones() -> None:
    data = valid()
    data["services"][0]["run"] = {"driver": "k8s", "manifest": "k8s.yaml"}
    issue = the_issue(data, "services", 0, "run", "driver")
    assert issue.message == "unknown driver 'k8s'; available: script, process"
    assert issue.expected == "one of: script, process"


def test_run_needs_a_driver() -> None:
    data = valid()
    del run_of(data)["driver"]
    issue = the_issue(data, "services", 0, "run", "driver")
    assert issue.message == "required field 'driver' is missing"


def test_an_unknown_script_setting_suggests_the_closest_one() -> None:
    data = valid()
    run_of(data)["rollbak"] = ["./rollback.sh"]
    issue = the_issue(data, "services", 0, "run", "rollbak")
    assert issue.message == "unknown field 'rollbak'; did you mean 'rollback'?"
    assert issue.expected == (
        "one of: driver, deploy, verify, rollback, stop, shell, timeout, retries, idempotent"
    )


def test_a_script_needs_a_deploy_command() -> None:
    data = valid()
    del run_of(data)["deploy"]
    issue = the_issue(data, "services", 0, "run", "deploy")
    assert issue.message == "required field 'deploy' is missing"
    assert issue.expected is not None
    assert issue.expected.startswith("a non-empty list of strings")


def test_a_command_as_one_string_needs_shell_true() -> None:
    data = valid()
    run_of(data)["shell"] = False
    issue = the_issue(data, "services", 0, "run", "verify")
    assert "set shell: true, or write the command as a list" in issue.message


@pytest.mark.parametrize(
    ("command", "path_tail", "message"),
    [
        ([], (), "the list is empty"),
        (["./deploy.sh", 3], (1,), "got the number 3; put it in quotes if you meant it as text"),
        (7, (), "got the number 7"),
    ],
)
def test_a_command_is_a_non_empty_list_of_strings(
    command: object, path_tail: tuple[int, ...], message: str
) -> None:
    data = valid()
    run_of(data)["rollback"] = command
    issue = the_issue(data, "services", 0, "run", "rollback", *path_tail)
    assert issue.message == message


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("shell", "yes", "true or false"),
        ("timeout", "ten", "a duration like 30s, 10m, 1h30m, 2d"),
        ("timeout", "0s", "a duration above 0s"),
        ("retries", -1, "a whole number ≥ 0"),
        ("retries", "3", "a whole number ≥ 0"),
        ("idempotent", "yes", "true or false"),
    ],
)
def test_script_options_have_their_types(key: str, value: object, expected: str) -> None:
    data = valid()
    run_of(data)["verify"] = ["./verify.sh"]
    run_of(data)[key] = value
    issue = the_issue(data, "services", 0, "run", key)
    assert issue.expected == expected


def script_of(data: dict[str, Any]) -> dict[str, Any]:
    """The normalized settings of the first service, as plain JSON."""
    run = parse_config(data).services[0].run
    assert run is not None
    settings: dict[str, Any] = run.to_dict()["settings"]
    return settings


def test_a_command_list_normalizes_to_a_step_that_takes_the_defaults() -> None:
    data = valid()
    run_of(data)["deploy"] = ["./deploy.sh", "{version}"]
    run = parse_config(data).services[0].run
    assert run is not None
    assert run.settings["deploy"] == {
        "command": ("./deploy.sh", "{version}"),
        "url": None,
        "timeout": None,
        "retries": None,
        "idempotent": None,
    }


def test_a_step_mapping_carries_its_own_options() -> None:
    data = valid()
    run_of(data)["rollback"] = {
        "command": ["./rollback.sh", "{previous_version}"],
        "timeout": "300s",
        "retries": 2,
        "idempotent": True,
    }
    assert script_of(data)["rollback"] == step(
        ["./rollback.sh", "{previous_version}"], timeout="5m", retries=2, idempotent=True
    )


def test_a_step_mapping_needs_only_a_command() -> None:
    data = valid()
    run_of(data)["deploy"] = {"command": ["./deploy.sh"]}
    assert script_of(data)["deploy"] == step(["./deploy.sh"])


def test_a_step_mapping_takes_one_string_when_shell_is_true() -> None:
    data = valid()
    run_of(data)["deploy"] = {"command": "./deploy.sh {version} && ./notify.sh"}
    assert script_of(data)["deploy"] == step("./deploy.sh {version} && ./notify.sh")


@pytest.mark.parametrize("url", ["http://127.0.0.1:8080/health", "https://api.example/healthz"])
def test_a_verify_string_starting_with_http_is_a_url_that_needs_no_shell(url: str) -> None:
    data = valid()
    run_of(data)["shell"] = False
    run_of(data)["verify"] = url
    assert script_of(data)["verify"] == step(url=url)


def test_verify_may_be_a_url_mapping_with_options() -> None:
    data = valid()
    run_of(data)["verify"] = {"url": "http://127.0.0.1:8080/health", "timeout": "5s", "retries": 10}
    assert script_of(data)["verify"] == step(
        url="http://127.0.0.1:8080/health", timeout="5s", retries=10
    )


def test_a_verify_string_that_is_not_an_http_url_is_a_command() -> None:
    data = valid()
    run_of(data)["shell"] = False
    run_of(data)["verify"] = "ftp://files.example/health"
    issue = the_issue(data, "services", 0, "run", "verify")
    assert "a single string needs a shell" in issue.message


def test_idempotent_is_false_unless_set_and_then_the_default_of_every_step() -> None:
    data = valid()
    assert script_of(data)["idempotent"] is False
    run_of(data)["idempotent"] = True
    settings = script_of(data)
    assert settings["idempotent"] is True
    assert settings["deploy"]["idempotent"] is None


def test_step_settings_are_read_only() -> None:
    run = parse_config(valid()).services[0].run
    assert run is not None
    with pytest.raises(TypeError):
        run.settings["deploy"]["timeout"] = "1s"


# --- run steps: errors -----------------------------------------------------------------------


@pytest.mark.parametrize("key", ["deploy", "rollback"])
def test_a_url_only_verifies_and_other_steps_are_told_to_run_a_command(key: str) -> None:
    data = valid()
    run_of(data)[key] = {"url": "http://127.0.0.1:8080/deploy"}
    issue = the_issue(data, "services", 0, "run", key, "url")
    assert issue.message == (
        f"url works only for verify; to call a URL from {key}, run a command, "
        "like command: ['curl', '-fsS', 'http://127.0.0.1:8080/deploy']"
    )
    assert issue.expected == f"command for {key}; url only for verify"


def test_a_step_mapping_without_a_command_is_refused_on_the_command_field() -> None:
    data = valid()
    run_of(data)["deploy"] = {"timeout": "5m"}
    issue = the_issue(data, "services", 0, "run", "deploy", "command")
    assert issue.message == "required field 'command' is missing"
    assert issue.expected is not None
    assert issue.expected.startswith("a non-empty list of strings")


def test_a_verify_mapping_needs_a_command_or_a_url() -> None:
    data = valid()
    run_of(data)["verify"] = {"retries": 3}
    issue = the_issue(data, "services", 0, "run", "verify")
    assert issue.message == "verify needs a command or a url"
    assert issue.expected == "exactly one of command, url"


def test_a_verify_mapping_takes_a_command_or_a_url_but_not_both() -> None:
    data = valid()
    run_of(data)["verify"] = {"command": ["./verify.sh"], "url": "http://127.0.0.1/health"}
    issue = the_issue(data, "services", 0, "run", "verify")
    assert issue.message == "verify has both command and url; keep one of them"
    assert issue.expected == "exactly one of command, url"


def test_an_unknown_step_option_suggests_the_closest_one() -> None:
    data = valid()
    run_of(data)["deploy"] = {"command": ["./deploy.sh"], "retry": 2}
    issue = the_issue(data, "services", 0, "run", "deploy", "retry")
    assert issue.message == "unknown field 'retry'; did you mean 'retries'?"
    assert issue.expected == "one of: command, timeout, retries, idempotent"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("127.0.0.1:8080/health", "a URL starts with http:// or https://"),
        ("HTTP://127.0.0.1/health", "a URL starts with http:// or https://"),
        ("http://", "it names no host"),
        ("https:///health", "it names no host"),
        ("http://host/a b", "it contains whitespace, write a space as %20"),
    ],
)
def test_a_url_starts_with_http_or_https_and_names_a_host(url: str, message: str) -> None:
    data = valid()
    run_of(data)["verify"] = {"url": url}
    issue = the_issue(data, "services", 0, "run", "verify", "url")
    assert issue.message == f"bad URL '{url}'; {message}"
    assert issue.expected == (
        "a URL starting with http:// or https://, like 'http://127.0.0.1:8080/health'"
    )


def test_a_url_must_be_text() -> None:
    data = valid()
    run_of(data)["verify"] = {"url": 8080}
    issue = the_issue(data, "services", 0, "run", "verify", "url")
    assert issue.message == "got the number 8080; put it in quotes if you meant it as text"


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("timeout", "five minutes", "a duration like 30s, 10m, 1h30m, 2d"),
        ("timeout", "0s", "a duration above 0s"),
        ("retries", -1, "a whole number ≥ 0"),
        ("retries", 1.5, "a whole number ≥ 0"),
        ("idempotent", "true", "true or false"),
    ],
)
def test_step_options_have_their_types(key: str, value: object, expected: str) -> None:
    data = valid()
    run_of(data)["rollback"] = {"command": ["./rollback.sh"], key: value}
    issue = the_issue(data, "services", 0, "run", "rollback", key)
    assert issue.expected == expected


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        (
            "deploy",
            "a command like ['./deploy.sh', '{version}'], or a mapping with command and "
            "optional timeout, retries, idempotent",
        ),
        (
            "verify",
            "a command like ['./verify.sh', '{version}'], a URL like "
            "'http://127.0.0.1:8080/health', or a mapping with command or url and optional "
            "timeout, retries, idempotent",
        ),
    ],
)
def test_a_step_of_the_wrong_type_lists_the_forms_it_may_take(key: str, expected: str) -> None:
    data = valid()
    run_of(data)[key] = True
    issue = the_issue(data, "services", 0, "run", key)
    assert issue.message == "got true"
    assert issue.expected == expected


def test_a_command_inside_a_step_mapping_is_checked_like_a_command() -> None:
    data = valid()
    run_of(data)["shell"] = False
    run_of(data)["verify"] = ["./verify.sh"]
    run_of(data)["deploy"] = {"command": "./deploy.sh {version}"}
    issue = the_issue(data, "services", 0, "run", "deploy", "command")
    assert "set shell: true, or write the command as a list" in issue.message


# --- placeholders ----------------------------------------------------------------------------

_EVERY_PLACEHOLDER = "/".join("{" + name + "}" for name in STEP_PLACEHOLDERS)
_AVAILABLE = (
    "available: {service}, {version}, {previous_version}, {environment}, {slot}, {target}, "
    "{deployment_id}"
)


def test_commands_and_urls_may_use_every_placeholder_and_doubled_braces() -> None:
    data = valid()
    run_of(data)["deploy"] = ["./deploy.sh", _EVERY_PLACEHOLDER, "{{literal}}"]
    run_of(data)["verify"] = "http://127.0.0.1/" + _EVERY_PLACEHOLDER
    run_of(data)["rollback"] = {"command": "echo ${{HOME}} " + _EVERY_PLACEHOLDER}
    assert script_of(data)["deploy"]["command"][1] == _EVERY_PLACEHOLDER


@pytest.mark.parametrize(
    ("deploy", "path_tail"),
    [
        (["./deploy.sh", "{ver}"], (1,)),
        ({"command": ["./deploy.sh", "{ver}"]}, ("command", 1)),
        ("./deploy.sh {ver}", ()),
        ({"command": "./deploy.sh {ver}"}, ("command",)),
    ],
)
def test_an_unknown_placeholder_is_reported_where_it_is_written(
    deploy: object, path_tail: tuple[str | int, ...]
) -> None:
    data = valid()
    run_of(data)["deploy"] = deploy
    issue = the_issue(data, "services", 0, "run", "deploy", *path_tail)
    assert issue.message.startswith("unknown placeholder {ver} in '")
    assert issue.message.endswith(_AVAILABLE)
    assert issue.expected == "a known placeholder, or {{ and }} for a literal brace"


@pytest.mark.parametrize("url", ["http://h/{host}", {"url": "http://h/{host}"}])
def test_an_unknown_placeholder_in_a_url_is_reported_on_the_url(url: object) -> None:
    data = valid()
    run_of(data)["verify"] = url
    tail = ("url",) if isinstance(url, dict) else ()
    issue = the_issue(data, "services", 0, "run", "verify", *tail)
    assert issue.message == f"unknown placeholder {{host}} in 'http://h/{{host}}'; {_AVAILABLE}"


@pytest.mark.parametrize("item", ["{version!r}", "{version:>5}", "{}", "{0}", "{version.x}"])
def test_placeholders_take_no_conversions_formats_or_positions(item: str) -> None:
    data = valid()
    run_of(data)["deploy"] = ["./deploy.sh", item]
    issue = the_issue(data, "services", 0, "run", "deploy", 1)
    assert issue.message.startswith(f"unknown placeholder {item} in '{item}'")


@pytest.mark.parametrize(
    ("item", "problem"),
    [
        ("{version", "expected '}' before end of string"),
        ("version}", "Single '}' encountered in format string"),
        ("${HOME", "expected '}' before end of string"),
    ],
)
def test_bad_braces_are_reported_with_the_way_to_write_a_literal_brace(
    item: str, problem: str
) -> None:
    data = valid()
    run_of(data)["rollback"] = ["./rollback.sh", item]
    issue = the_issue(data, "services", 0, "run", "rollback", 1)
    assert issue.message == f"bad braces in '{item}': {problem}"
    assert issue.expected == "a known placeholder, or {{ and }} for a literal brace"


# --- on_failure ------------------------------------------------------------------------------


@pytest.mark.parametrize("policy", ["rollback", "fail"])
def test_a_service_and_an_environment_may_say_what_a_failed_deployment_leads_to(
    policy: str,
) -> None:
    data = valid()
    data["services"][0]["on_failure"] = policy
    data["environments"][2]["on_failure"] = policy
    document = parse_config(data)
    assert document.services[0].on_failure == policy
    assert document.services[0].to_dict()["on_failure"] == policy
    assert document.environments[2] == EnvironmentSpec("production", "production", policy)
    assert document.environments[0].on_failure is None


@pytest.mark.parametrize(
    ("section", "index"), [("services", 0), ("environments", 2)], ids=["service", "environment"]
)
def test_an_unknown_on_failure_suggests_the_closest_policy(section: str, index: int) -> None:
    data = valid()
    data[section][index]["on_failure"] = "rolback"
    issue = the_issue(data, section, index, "on_failure")
    assert issue.message == "unknown on_failure 'rolback'; did you mean 'rollback'?"
    assert issue.expected == "one of: rollback, fail"


def test_an_on_failure_that_is_not_text_is_refused() -> None:
    data = valid()
    data["services"][1]["on_failure"] = True  # what YAML makes of an unquoted `yes`
    issue = the_issue(data, "services", 1, "on_failure")
    assert issue.message == "got true; put it in quotes if you meant it as text"
    assert issue.expected == "one of: rollback, fail"


# --- all at once -----------------------------------------------------------------------------


def test_every_problem_is_reported_at_once() -> None:
    data = valid()
    data["version"] = 3
    data["environments"][0]["tier"] = "dev"
    data["lifecycles"][0]["phases"][2]["soak"] = "soon"
    data["services"][0]["lifecycle"] = "fast"
    data["services"][1]["colour"] = "blue"

    paths = [issue.path for issue in issues_of(data)]

    assert paths == [
        ("version",),
        ("environments", 0, "tier"),
        ("lifecycles", 0, "phases", 2, "soak"),
        ("services", 0, "lifecycle"),
        ("services", 1, "colour"),
    ]


def test_every_problem_of_a_step_is_reported_at_once() -> None:
    data = valid()
    run_of(data)["rollback"] = {
        "command": ["./rollback.sh", "{ver}"],
        "url": "http://127.0.0.1/rollback",
        "timeout": "soon",
        "idempotent": "yes",
    }

    paths = [issue.path[3:] for issue in issues_of(data)]

    assert paths == [
        ("rollback", "url"),
        ("rollback", "command", 1),
        ("rollback", "timeout"),
        ("rollback", "idempotent"),
    ]


def test_the_error_message_lists_every_issue() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config({"version": 1, "services": [{"name": "api"}, {"lifecycle": "x"}]})
    assert caught.value.message.splitlines() == [
        "3 problems in the config:",
        "  <config>: services[0].lifecycle: required field 'lifecycle' is missing"
        " (expected the name of a lifecycle defined in this file)",
        "  <config>: services[1].name: required field 'name' is missing"
        " (expected a service name: at most 63 lowercase letters, digits and inner '-')",
        "  <config>: services[1].lifecycle: unknown lifecycle 'x'; no lifecycles are defined"
        " (expected the name of a lifecycle defined in this file)",
    ]


# --- versions and release notes --------------------------------------------------------------


def test_the_notes_section_parses_and_every_service_keeps_it() -> None:
    data = valid()
    data["notes"] = {
        "sections": {"docs": "Documentation", "refactor": "Refactoring"},
        "bump": {"docs": "patch", "refactor": "none"},
        "include_unconventional": True,
        "tickets": ["PROJ", "OPS2"],
        "issue_url": "https://github.com/acme/shop/issues/{id}",
        "ticket_url": "https://acme.atlassian.net/browse/{id}",
        "commit_url": "https://github.com/acme/shop/commit/{hash}",
    }
    data["services"][0]["initial_version"] = "1.0.0"
    data["services"][0]["pre_major"] = "minor"
    document = parse_config(data)
    notes = document.notes
    assert notes.sections == (("docs", "Documentation"), ("refactor", "Refactoring"))
    assert notes.to_dict()["bump"] == {"docs": "patch", "refactor": "none"}
    assert notes.ticket_prefixes == ("PROJ", "OPS2")
    assert all(service.notes == notes for service in document.services)
    api = document.services[0]
    assert (str(api.initial_version), api.pre_major) == ("1.0.0", "minor")
    assert parse_notes_settings(api.to_dict()["notes"]) == notes  # the server's copy reads back


@pytest.mark.parametrize(
    ("notes", "path", "message"),
    [
        ({"sections": {"feat": "New"}}, ("sections", "feat"), "'feat' already has its own section"),
        ({"sections": {"Docs!": "D"}}, ("sections", "Docs!"), "'Docs!' is not a commit type"),
        ({"bump": {"docs": "major"}}, ("bump", "docs"), "got the text 'major'"),
        ({"tickets": ["proj"]}, ("tickets", 0), "'proj' is not a ticket project key"),
        ({"issue_url": "https://x/issues"}, ("issue_url",), "lacks {id}"),
        ({"commit_url": "ftp://x/{hash}"}, ("commit_url",), "a URL starts with http://"),
        ({"colour": "blue"}, ("colour",), "unknown field 'colour'"),
        (
            {"sections": {f"t{n}": "T" for n in range(51)}},
            ("sections",),
            "51 extra sections; at most 50",
        ),
    ],
    ids=["fixed-type", "bad-type", "major-bump", "ticket-key", "no-id", "ftp", "unknown", "many"],
)
def test_a_bad_notes_section_is_reported_where_it_is(
    notes: dict[str, Any], path: tuple[str | int, ...], message: str
) -> None:
    data = valid()
    data["notes"] = notes
    issue = the_issue(data, "notes", *path)
    assert message in issue.message


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("initial_version", "v1.0.0", "drop the leading 'v'"),
        ("initial_version", "1.0.0-rc.1", "is not a plain release"),
        ("initial_version", 1, "got the number 1"),
        ("pre_major", "patch", "patch"),
        ("repository", "https://github.com/acme/api.git", "is a remote URL"),
        ("repository", "git@github.com:acme/api.git", "is a remote URL"),
    ],
)
def test_bad_versioning_fields_of_a_service_are_reported(
    field: str, value: object, message: str
) -> None:
    data = valid()
    data["services"][0][field] = value
    issue = the_issue(data, "services", 0, field)
    assert message in issue.message


@pytest.mark.parametrize("outside", ["/srv/api", "../other", "services/../../x"])
def test_a_path_outside_the_repository_is_refused(outside: str) -> None:
    data = valid()
    data["services"][0]["paths"] = ["services/api", outside]
    issue = the_issue(data, "services", 0, "paths", 1)
    assert issue.message == f"'{outside}' is outside the repository"
