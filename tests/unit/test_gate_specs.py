from __future__ import annotations

import pytest

from relman.configfile import load_config
from relman.domain.approvals import ApprovalRule, merge_rules
from relman.domain.versions import parse_range, parse_version
from relman.errors import ConfigError, InvalidInput

BASE = """
version: 1
environments:
  - name: production
    tier: production
    gates: GATES
lifecycles: [{name: d, phases: [{name: p, environments: [production]}]}]
services:
  - {name: auth, lifecycle: d}
  - {name: api, lifecycle: d, depends_on: DEPS}
"""


def problems(gates: str = "[]", deps: str = "[]") -> list[str]:
    with pytest.raises(ConfigError) as refused:
        load_config(BASE.replace("GATES", gates).replace("DEPS", deps))
    return [str(issue) for issue in refused.value.issues]


@pytest.mark.parametrize(
    ("text", "inside", "outside"),
    [
        (">=2.3.0", ["2.3.0", "9.0.0"], ["2.2.9", "2.3.0-rc.1"]),
        (">=2.3.0, <3.0.0", ["2.9.9"], ["3.0.0", "2.2.0"]),
        ("^2.3.0", ["2.3.0", "2.99.0"], ["3.0.0", "3.0.0-rc.1", "2.2.9"]),
        ("^0.3.1", ["0.3.5"], ["0.4.0", "0.4.0-alpha"]),
        ("~2.3.0", ["2.3.9"], ["2.4.0", "2.4.0-beta.1"]),
        ("2.3.1", ["2.3.1"], ["2.3.2"]),
        ("!=2.3.1", ["2.3.2"], ["2.3.1"]),
    ],
)
def test_version_ranges(text: str, inside: list[str], outside: list[str]) -> None:
    versions = parse_range(text)
    assert [v for v in inside if versions.matches(parse_version(v))] == inside
    assert [v for v in outside if versions.matches(parse_version(v))] == []


def test_a_bad_range_names_its_part() -> None:
    with pytest.raises(InvalidInput, match=r"'>=2\.3' in range '>=2\.3, <3\.0\.0'"):
        parse_range(">=2.3, <3.0.0")


def test_merged_rules_take_the_union_and_the_highest_required() -> None:
    merged = merge_rules(
        [
            ApprovalRule(1, ("cto",), ("requester",)),
            ApprovalRule(2, ("release-manager",), ("commit_authors",)),
        ]
    )
    assert merged == ApprovalRule(2, ("cto", "release-manager"), ("requester", "commit_authors"))
    assert merge_rules([]) is None


def test_gate_mistakes_are_reported_with_their_place_and_fix() -> None:
    found = problems(
        gates="[{approval: {required: 3, from: [alice, bob]}},"
        " {approval: {from: [release-manger]}}, {approval: {forbid: [author]}},"
        " {tests: {}, slo: x}, {slo: checkout}]",
        deps="[{service: auht, version: '>=2.3'}, {service: api}]",
    )
    assert any(
        "gates[0].approval.required: 3 approvals are required but only 2" in p for p in found
    )
    assert any(
        "gates[1].approval.from[0]: 'release-manger' is not a role (did you mean "
        "'release-manager'?)" in p
        for p in found
    )
    assert any(
        "gates[2].approval.forbid[0]: unknown party 'author'; did you mean" in p for p in found
    )
    assert any("gates[3]: a gate has exactly one kind, got 2: tests, slo" in p for p in found)
    assert any("gates[4].slo: unknown SLO 'checkout'; no SLOs are defined" in p for p in found)
    assert any(
        "depends_on[0].service: unknown service 'auht' (did you mean 'auth'?)" in p for p in found
    )
    assert any("depends_on[0].version: '>=2.3' in range" in p for p in found)
    assert any("depends_on[1].service: api cannot depend on itself" in p for p in found)
