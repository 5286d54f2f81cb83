"""The `gates:` of environments and services, and a service's `depends_on`, as relman.yaml
writes them:

    environments:
      - name: production
        tier: production
        gates:
          - approval: {required: 2, from: [release-manager], forbid: [requester, commit_authors]}
          - tests: {require: passed, min_coverage: 80}
          - slo: checkout-availability
          - metric: {provider: {type: prometheus, address: "http://127.0.0.1:9090"},
                     query: "...", success_condition: "result < 0.5"}
    services:
      - name: api
        gates:                      # the service's own, in the environments listed (or all)
          - {approval: {required: 1, from: [alice]}, environments: [production]}
        depends_on: [{service: auth, version: ">=2.3.0"}]

Each gate item is a mapping with one kind. The server keeps them in the file's syntax
(`gate_to_dict`) and reads them back with `parse_gates`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from relman.domain import checks
from relman.domain.approvals import ApprovalRule, parse_approval
from relman.domain.checks import Defined, Issues, Path
from relman.domain.delivery import ProviderSpec
from relman.domain.delivery_config import read_provider
from relman.domain.durations import format_duration
from relman.domain.expressions import parse_expression
from relman.domain.versions import RANGE_EXAMPLES, VersionRange, parse_range
from relman.errors import InvalidInput

__all__ = [
    "GATE_KINDS",
    "Dependency",
    "GateSpec",
    "MetricCheck",
    "SloCheck",
    "TestsCheck",
    "WebhookCheck",
    "gate_to_dict",
    "parse_depends_on",
    "parse_gates",
]

GATE_KINDS = ("approval", "tests", "slo", "metric", "webhook")
_SECRET_ENV = re.compile(r"[A-Z_][A-Z0-9_]*", re.ASCII)
TEST_REQUIREMENTS = ("passed", "reported")


@dataclass(frozen=True)
class TestsCheck:
    """`require: passed`: the release's newest test report has no failures or errors;
    `reported`: a report exists, whatever it says. `min_coverage` in percent."""

    require: str = "passed"
    min_coverage: float | None = None


@dataclass(frozen=True)
class SloCheck:
    slo: str


@dataclass(frozen=True)
class MetricCheck:
    provider: ProviderSpec
    query: str
    success_condition: str


@dataclass(frozen=True)
class WebhookCheck:
    """A signed POST to `url` answered with a verdict; the HMAC secret is in the server's
    environment variable `secret_env`, never in the file."""

    url: str
    secret_env: str
    timeout: timedelta = timedelta(seconds=10)


@dataclass(frozen=True)
class GateSpec:
    """One gate; `environments` scopes a service's gate (empty: every environment)."""

    kind: str
    check: ApprovalRule | TestsCheck | SloCheck | MetricCheck | WebhookCheck
    environments: tuple[str, ...] = ()

    def applies_in(self, environment: str) -> bool:
        return not self.environments or environment in self.environments


@dataclass(frozen=True)
class Dependency:
    service: str
    versions: VersionRange

    def to_dict(self) -> dict[str, str]:
        return {"service": self.service, "version": str(self.versions)}


def gate_to_dict(gate: GateSpec) -> dict[str, Any]:
    check = gate.check
    body: Any
    if isinstance(check, ApprovalRule):
        body = check.to_dict()
    elif isinstance(check, TestsCheck):
        body = {"require": check.require, "min_coverage": check.min_coverage}
    elif isinstance(check, SloCheck):
        body = check.slo
    elif isinstance(check, WebhookCheck):
        body = {
            "url": check.url,
            "secret_env": check.secret_env,
            "timeout": format_duration(check.timeout),
        }
    else:
        body = {
            "provider": {
                "type": check.provider.type,
                "address": check.provider.address,
                "timeout": format_duration(timedelta(seconds=check.provider.timeout)),
            },
            "query": check.query,
            "success_condition": check.success_condition,
        }
    out: dict[str, Any] = {gate.kind: body}
    if gate.environments:
        out["environments"] = list(gate.environments)
    return out


_EXPECTED = "a list of gates like '- approval: {required: 1}' or '- tests: {require: passed}'"


def parse_gates(
    raw: object,
    path: Path,
    issues: Issues,
    *,
    slos: Defined,
    environments: Defined | None = None,
) -> tuple[GateSpec, ...]:
    """An environment's gates, or (with `environments`, the names a gate may be scoped to) a
    service's."""
    items = checks.list_of(raw, path, issues, _EXPECTED) if raw is not None else []
    return tuple(
        gate
        for index, item in enumerate(items or [])
        if (gate := _gate(item, (*path, index), issues, slos, environments)) is not None
    )


def _gate(
    raw: object, path: Path, issues: Issues, slos: Defined, environments: Defined | None
) -> GateSpec | None:
    allowed = (*GATE_KINDS, *(("environments",) if environments else ()))
    found = checks.fields(
        raw, path, issues, "a gate: a mapping with one of " + ", ".join(GATE_KINDS), allowed
    )
    if found is None:
        return None
    kinds = [key for key in found if key != "environments"]
    if len(kinds) != 1:
        issues.add(
            path,
            f"a gate has exactly one kind, got {len(kinds)}: {', '.join(kinds) or 'none'}",
            "one of " + ", ".join(GATE_KINDS) + " per item; write two items for two gates",
        )
        return None
    kind = kinds[0]
    here = (*path, kind)
    check: ApprovalRule | TestsCheck | SloCheck | MetricCheck | WebhookCheck
    if kind == "approval":
        check = parse_approval(found[kind] if found[kind] is not None else {}, here, issues)
    elif kind == "tests":
        check = _tests(found[kind], here, issues)
    elif kind == "slo":
        name = checks.string(found[kind], here, issues, "the name of an SLO defined in slos:")
        slos.check(name, here, issues)
        check = SloCheck(name)
    elif kind == "webhook":
        check = _webhook(found[kind], here, issues)
    else:
        check = _metric(found[kind], here, issues)
    scope: tuple[str, ...] = ()
    if environments is not None and "environments" in found:
        scope = checks.string_list(found, "environments", path, issues)
        for index, name in enumerate(scope):
            environments.check(name, (*path, "environments", index), issues)
    return GateSpec(kind, check, scope)


def _tests(raw: object, path: Path, issues: Issues) -> TestsCheck:
    found = checks.fields(
        raw if raw is not None else {},
        path,
        issues,
        "tests: {require: passed, min_coverage: 80}",
        ("require", "min_coverage"),
    )
    if found is None:
        return TestsCheck()
    require = checks.optional_choice(found, "require", path, issues, TEST_REQUIREMENTS) or "passed"
    coverage = found.get("min_coverage")
    if coverage is not None:
        coverage = _percent(coverage, (*path, "min_coverage"), issues)
    return TestsCheck(require=require, min_coverage=coverage)


def _percent(raw: object, path: Path, issues: Issues) -> float | None:
    text = raw.strip().removesuffix("%") if isinstance(raw, str) else raw
    try:
        value = (
            float(text)
            if isinstance(text, int | float | str) and not isinstance(text, bool)
            else None
        )
    except ValueError:
        value = None
    if value is None or not 0 <= value <= 100:
        issues.add(
            path, f"got {checks.describe(raw)}", "a percentage from 0 to 100, like 80 or '80%'"
        )
        return None
    return value


def _metric(raw: object, path: Path, issues: Issues) -> MetricCheck:
    expected = "metric: {provider: {...}, query: '...', success_condition: 'result < 0.5'}"
    found = checks.fields(raw, path, issues, expected, ("provider", "query", "success_condition"))
    if found is None:
        return MetricCheck(ProviderSpec(type=""), "", "")
    provider = read_provider(found, path, issues)
    query = checks.string(found.get("query"), (*path, "query"), issues, "a query for the provider")
    condition = checks.string(
        found.get("success_condition"),
        (*path, "success_condition"),
        issues,
        "an expression over result, like 'result < 0.5'",
    )
    if condition:
        try:
            parse_expression(condition)
        except InvalidInput as exc:
            issues.add((*path, "success_condition"), exc.message, "an expression over result")
    return MetricCheck(provider, query, condition)


def _webhook(raw: object, path: Path, issues: Issues) -> WebhookCheck:
    expected = "webhook: {url: 'https://ci.example/check', secret_env: RELMAN_CHECK_SECRET}"
    found = checks.fields(raw, path, issues, expected, ("url", "secret_env", "timeout"))
    if found is None:
        return WebhookCheck("", "")
    url = checks.string(found.get("url"), (*path, "url"), issues, "the webhook's http(s) URL")
    problem = checks.url_problem(url) if url else None
    if problem:
        issues.add((*path, "url"), problem, "the webhook's http(s) URL")
    secret = checks.string(
        found.get("secret_env"),
        (*path, "secret_env"),
        issues,
        "the name of the server's environment variable holding the signing secret",
    )
    if secret and not _SECRET_ENV.fullmatch(secret):
        issues.add(
            (*path, "secret_env"),
            f"'{secret}' is not an environment variable name; the secret itself never goes "
            "in relman.yaml",
            "a name like RELMAN_CHECK_SECRET",
        )
    timeout = checks.optional_duration(found, "timeout", path, issues)
    return WebhookCheck(url, secret, timeout or timedelta(seconds=10))


def parse_depends_on(
    raw: object, path: Path, issues: Issues, services: Defined, own: str
) -> tuple[Dependency, ...]:
    expected = "a list like [{service: auth, version: '>=2.3.0'}]"
    items = checks.list_of(raw, path, issues, expected) if raw is not None else []
    out: list[Dependency] = []
    for index, item in enumerate(items or []):
        here = (*path, index)
        found = checks.fields(item, here, issues, expected, ("service", "version"))
        if found is None:
            continue
        service = checks.string(found.get("service"), (*here, "service"), issues, "a service name")
        services.check(service, (*here, "service"), issues)
        if service and service == own:
            issues.add((*here, "service"), f"{own} cannot depend on itself", "another service")
        text = checks.string(
            found.get("version", ">=0.0.0-0"), (*here, "version"), issues, RANGE_EXAMPLES
        )
        try:
            versions = parse_range(text)
        except InvalidInput as exc:
            issues.add((*here, "version"), exc.message, "a range like " + RANGE_EXAMPLES)
            continue
        out.append(Dependency(service, versions))
    return tuple(out)
