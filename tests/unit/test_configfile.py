import re
from pathlib import Path
from textwrap import dedent

import pytest

from relman.configfile import load_config, load_config_file
from relman.domain.config import EnvironmentSpec
from relman.errors import ConfigError, ConfigIssue, InvalidInput

VALID = """\
version: 1
environments:
  - {name: staging, tier: staging}
  - {name: production, tier: production}
lifecycles:
  - name: default
    phases:
      - {name: test, environments: [staging]}
      - {name: prod, environments: [production], soak: 10m}
services:
  - name: api
    lifecycle: default
    repository: .
    tag_format: "v{version}"
    paths: []
    run:
      driver: script
      deploy: ["./deploy.sh", "{version}", "{environment}", "{slot}"]
"""


def issues_in(text: str, filename: str = "relman.yaml") -> list[ConfigIssue]:
    with pytest.raises(ConfigError) as caught:
        load_config(dedent(text), filename=filename)
    return caught.value.issues


def lines_by_field(text: str) -> dict[str, int | None]:
    return {issue.field_name: issue.line for issue in issues_in(text)}


def test_a_valid_file_loads_into_a_document() -> None:
    document = load_config(VALID)
    assert document.environments[0] == EnvironmentSpec(name="staging", tier="staging")
    assert document.services[0].run is not None


def test_a_file_on_disk_is_read_and_named_in_issues(tmp_path: Path) -> None:
    path = tmp_path / "relman.yaml"
    path.write_text(VALID.replace("lifecycle: default", "lifecycle: defualt"), encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config_file(path)
    (issue,) = caught.value.issues
    assert issue.file == str(path)
    assert issue.line == 12


def test_a_valid_file_on_disk_loads(tmp_path: Path) -> None:
    path = tmp_path / "relman.yaml"
    path.write_text(VALID, encoding="utf-8")
    assert load_config_file(path) == load_config(VALID)


def test_a_missing_file_is_named_in_the_error(tmp_path: Path) -> None:
    missing = tmp_path / "x.yaml"
    with pytest.raises(InvalidInput) as caught:
        load_config_file(missing)
    assert caught.value.message == f"Config file '{missing}' not found"
    assert caught.value.details == {"path": str(missing)}
    assert not isinstance(caught.value, ConfigError)


def test_a_directory_is_not_a_config_file(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="Can't read config file"):
        load_config_file(tmp_path)


def test_a_file_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "relman.yaml"
    path.write_bytes(b"version: 1\nname: \xff\n")
    with pytest.raises(InvalidInput, match="is not UTF-8 text"):
        load_config_file(path)


# --- line numbers ----------------------------------------------------------------------------


def test_an_unknown_field_points_at_its_own_line() -> None:
    text = VALID.replace("    paths: []\n", "    paths: []\n    colour: blue\n")
    assert lines_by_field(text) == {"services[0].colour": 16}


def test_an_unknown_top_level_field_points_at_its_line() -> None:
    assert lines_by_field("version: 1\nlifecycels: []\n") == {"lifecycels": 2}


def test_a_bad_reference_points_at_the_reference() -> None:
    text = VALID.replace("environments: [production]", "environments: [prod]")
    assert lines_by_field(text) == {"lifecycles[0].phases[1].environments[0]": 9}


def test_a_bad_reference_in_a_block_list_points_at_its_item() -> None:
    text = """\
    version: 1
    environments:
      - {name: staging, tier: staging}
    lifecycles:
      - name: default
        phases:
          - name: test
            environments:
              - staging
              - prod
    """
    assert lines_by_field(text) == {"lifecycles[0].phases[0].environments[1]": 10}


def test_a_bad_duration_points_at_the_soak_line() -> None:
    text = """\
    version: 1
    environments:
      - {name: a, tier: staging}
      - {name: b, tier: production}
    lifecycles:
      - name: default
        phases:
          - name: first
            environments: [a]
          - name: second
            environments: [b]
            soak: 10 minutes
    """
    assert lines_by_field(text) == {"lifecycles[0].phases[1].soak": 12}


def test_a_missing_required_field_points_at_the_mapping_it_is_missing_from() -> None:
    text = """\
    version: 1
    environments:
      - name: staging
        tier: staging
      - name: production
    """
    assert lines_by_field(text) == {"environments[1].tier": 5}


def test_a_missing_version_points_at_the_start_of_the_document() -> None:
    assert lines_by_field("# relman\n\nenvironments: []\n") == {"version": 3}


def test_a_duplicate_key_is_refused_at_its_second_occurrence() -> None:
    text = """\
    version: 1
    environments:
      - name: staging
        tier: staging
        tier: production
    """
    (issue,) = issues_in(text)
    assert issue.field_name == "environments[0].tier"
    assert issue.line == 5
    assert issue.message == "duplicate field 'tier' (first at line 4); give it once"
    assert issue.expected == "each field once per mapping"


def test_a_duplicate_top_level_section_is_refused() -> None:
    text = "version: 1\nservices: []\nenvironments: []\nservices: []\n"
    assert lines_by_field(text) == {"services": 4}


def test_yaml_merge_keys_are_not_duplicates() -> None:
    text = """\
    version: 1
    environments:
      - &base {name: prod-us, tier: production}
      - <<: *base
        name: prod-eu
    """
    document = load_config(dedent(text))
    assert [env.name for env in document.environments] == ["prod-us", "prod-eu"]
    assert document.environments[1].tier == "production"


def test_anchors_and_aliases_are_fine() -> None:
    text = """\
    version: 1
    environments:
      - {name: a, tier: staging}
    lifecycles:
      - name: one
        phases: &phases
          - {name: only, environments: [a]}
      - name: two
        phases: *phases
    """
    document = load_config(dedent(text))
    assert document.lifecycles[0].phases == document.lifecycles[1].phases


def test_issues_come_in_the_order_of_the_file() -> None:
    text = """\
    services:
      - {name: api, lifecycle: nope}
    version: 1
    environments:
      - {name: a, tier: nope}
    """
    assert [issue.line for issue in issues_in(text)] == [2, 5]


# --- YAML itself -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("version: 1\nenvironments: x: y\n", 2, "mapping values are not allowed here"),
        ("version: 1\nservices:\n  - a\n - b\n", 4, "expected <block end>, but found"),
        ("version: 1\nenvironments:\n\t- a\n", 3, "found character '\\t' that cannot start"),
        ("version: 1\nenvironments: [a\n", 3, "expected ',' or ']'"),
        ("version: 1\n---\nversion: 1\n", 2, "expected a single document in the stream, but"),
        ("version: 1\nname: \x07\n", 2, "unacceptable character #x0007"),
    ],
)
def test_a_yaml_syntax_error_gives_its_line_and_the_parsers_words(
    text: str, line: int, message: str
) -> None:
    (issue,) = issues_in(text)
    assert issue.line == line
    assert message in issue.message
    assert issue.expected == "valid YAML"
    assert issue.path == ()


def test_a_custom_tag_is_refused_with_its_line() -> None:
    (issue,) = issues_in("version: 1\nenvironments: !include envs.yaml\n")
    assert issue.line == 2
    assert "could not determine a constructor for the tag '!include'" in issue.message


@pytest.mark.parametrize("text", ["", "\n\n", "# nothing yet\n", "---\n"])
def test_an_empty_file_says_what_it_should_hold(text: str) -> None:
    (issue,) = issues_in(text)
    assert issue.message == "the file is empty; expected a mapping with version: 1"
    assert issue.line == 1


# --- how issues read -------------------------------------------------------------------------


def test_an_issue_reads_as_file_line_field_and_message() -> None:
    text = VALID.replace("lifecycle: default", "lifecycle: defualt")
    (issue,) = issues_in(text)
    assert str(issue) == (
        "relman.yaml:12: services[0].lifecycle: unknown lifecycle 'defualt'; defined: default"
        " (expected the name of a lifecycle defined in this file)"
    )


def test_every_issue_carries_the_file_name() -> None:
    issues = issues_in("version: 2\nservices: {}\n", filename="deploy/relman.yaml")
    assert [(issue.file, issue.line) for issue in issues] == [
        ("deploy/relman.yaml", 1),
        ("deploy/relman.yaml", 2),
    ]


# --- the user guide --------------------------------------------------------------------------

USER_GUIDE = Path(__file__).parents[2] / "docs" / "config.md"


def yaml_blocks_of_the_user_guide() -> list[str]:
    return re.findall(r"```yaml\n(.*?)```", USER_GUIDE.read_text(encoding="utf-8"), re.DOTALL)


def test_the_annotated_example_in_the_user_guide_is_valid() -> None:
    example = yaml_blocks_of_the_user_guide()[0]
    document = load_config(example)
    assert [phase.minimum for phase in document.lifecycles[0].phases] == [None, None, 1]


def test_the_user_guide_shows_what_relman_really_prints_for_its_bad_example() -> None:
    bad_example = yaml_blocks_of_the_user_guide()[1]
    with pytest.raises(ConfigError) as caught:
        load_config(bad_example)
    issues = caught.value.issues
    # As `relman validate` prints it: a count, then one line per problem.
    printed = f"error: {len(issues)} problems:\n" + "".join(f"  {issue}\n" for issue in issues)
    assert printed in USER_GUIDE.read_text(encoding="utf-8")


def test_a_pathologically_deep_file_is_an_issue_not_a_crash() -> None:
    deep = "version: 1\nservices: " + "[" * 5000 + "]" * 5000 + "\n"
    with pytest.raises(ConfigError) as caught:
        load_config(deep, "deep.yaml")
    [issue] = caught.value.issues
    assert "nests lists or mappings too deeply" in issue.message
    assert issue.file == "deep.yaml"
