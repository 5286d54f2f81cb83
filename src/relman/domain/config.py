"""The shape of relman.yaml: frozen specs, and `parse_config`, which validates plain data.

`parse_config` takes what a YAML loader returns (dicts, lists, strings, numbers) and returns a
ConfigDocument, or raises ConfigError carrying every problem found, not just the first. Each
ConfigIssue is located by its path, e.g. ("services", 2, "lifecycle"); turning paths into line
numbers is the file loader's job (relman.configfile), so this module knows nothing of YAML.

The file is self-contained: every reference (a phase's environments, a service's lifecycle,
a strategy's environment and analyses) must name an object defined in the same file. The
generic field readers are in relman.domain.checks; the progressive-delivery sections (`traffic`,
`strategies`, `analyses`) are read by relman.domain.delivery_config.
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta
from functools import partial
from types import MappingProxyType
from typing import Any, TypeVar

from relman.domain import checks
from relman.domain.checks import Defined, Issues, Path
from relman.domain.delivery import (
    AnalysisSpec,
    TrafficSpec,
    analysis_to_dict,
    moves_traffic,
    referenced_analyses,
    strategy_to_dict,
    traffic_to_dict,
)
from relman.domain.delivery_config import read_analysis, read_strategies, read_traffic
from relman.domain.durations import format_duration
from relman.domain.freezes import FreezeSpec, parse_freezes
from relman.domain.gate_specs import (
    Dependency,
    GateSpec,
    gate_to_dict,
    parse_depends_on,
    parse_gates,
)
from relman.domain.names import closest_name
from relman.domain.notes import BUMP_NAMES, NotesSettings
from relman.domain.permissions import parse_permissions
from relman.domain.slo import SloSpec, parse_slos
from relman.domain.strategies import Strategy
from relman.domain.versions import PRE_MAJOR, Version, parse_version
from relman.errors import ConfigError, InvalidInput

__all__ = [
    "CONFIG_VERSION",
    "DRIVERS",
    "ON_FAILURE",
    "STEP_PLACEHOLDERS",
    "TIERS",
    "ConfigDocument",
    "EnvironmentSpec",
    "LifecycleSpec",
    "PhaseSpec",
    "RunSpec",
    "ServiceSpec",
    "parse_config",
    "parse_notes_settings",
]

CONFIG_VERSION = 1
TIERS = ("production", "staging", "testing", "development", "other")  # GitLab's deployment tiers
DRIVERS = ("script", "process")  # run drivers known today; more come later
ON_FAILURE = ("rollback", "fail")  # what a failed deployment leads to; absent means fail
STEP_PLACEHOLDERS = (  # what commands and URLs of a run step may use
    "service",
    "version",
    "previous_version",
    "environment",
    "slot",
    "target",
    "deployment_id",
)
PROCESS_PLACEHOLDERS = (*STEP_PLACEHOLDERS, "port", "python")  # the process driver adds these

INITIAL_VERSION = Version(0, 1, 0)  # a service's first release when it has no tag yet
DEFAULT_NOTES = NotesSettings()


# --- specs -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EnvironmentSpec:
    name: str
    tier: str
    on_failure: str | None = None  # one of ON_FAILURE; a service's own value wins
    gates: tuple[GateSpec, ...] = ()
    permissions: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: MappingProxyType({}))

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "tier": self.tier, "on_failure": self.on_failure}
        if self.gates:  # only when set: an unchanged file stays unchanged on apply
            out["gates"] = [gate_to_dict(gate) for gate in self.gates]
        if self.permissions:
            out["permissions"] = {action: list(names) for action, names in self.permissions.items()}
        return out


@dataclass(frozen=True, slots=True)
class PhaseSpec:
    name: str
    environments: tuple[str, ...]
    optional: bool = False
    minimum: int | None = None  # None: every environment of the phase
    soak: timedelta | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "environments": list(self.environments),
            "optional": self.optional,
            "minimum": self.minimum,
            "soak": None if self.soak is None else format_duration(self.soak),
        }


@dataclass(frozen=True, slots=True)
class LifecycleSpec:
    name: str
    phases: tuple[PhaseSpec, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "phases": [phase.to_dict() for phase in self.phases]}


@dataclass(frozen=True, slots=True)
class RunSpec:
    """How a service's version is run: a driver and the driver's own, JSON-able settings."""

    driver: str
    settings: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    def to_dict(self) -> dict[str, Any]:
        return {"driver": self.driver, "settings": checks.plain(self.settings)}


@dataclass(frozen=True, slots=True)
class ServiceSpec:
    name: str
    lifecycle: str
    repository: str | None = None
    tag_format: str = "v{version}"
    paths: tuple[str, ...] = ()
    run: RunSpec | None = None
    on_failure: str | None = None  # one of ON_FAILURE; None: the environment's, else fail
    initial_version: Version = INITIAL_VERSION  # the first release when no tag exists yet
    pre_major: str = "major"  # one of PRE_MAJOR: what a breaking change does to 0.y.z
    notes: NotesSettings = DEFAULT_NOTES  # the file's `notes:` section, kept with the service
    traffic: TrafficSpec | None = None  # how users reach the blue and green slots
    # environment → strategy; an environment not named here deploys all-at-once
    strategies: Mapping[str, Strategy] = field(default_factory=lambda: MappingProxyType({}))
    # the file's analyses that the strategies name, kept with the service like `notes`
    analyses: Mapping[str, AnalysisSpec] = field(default_factory=lambda: MappingProxyType({}))
    gates: tuple[GateSpec, ...] = ()  # the service's own, each scoped to environments or not
    depends_on: tuple[Dependency, ...] = ()  # must already run in the same environment

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "lifecycle": self.lifecycle,
            "on_failure": self.on_failure,
            "repository": self.repository,
            "tag_format": self.tag_format,
            "paths": list(self.paths),
            "initial_version": str(self.initial_version),
            "pre_major": self.pre_major,
            "notes": self.notes.to_dict(),
            "run": None if self.run is None else self.run.to_dict(),
            **self._delivery_dict(),
        }

    def _delivery_dict(self) -> dict[str, Any]:
        """traffic, strategies and analyses in the file's syntax, each only when set: a service
        without them keeps the dict it had before they existed (so `relman apply` of an
        unchanged file reports it unchanged)."""
        out: dict[str, Any] = {}
        if self.traffic is not None:
            out["traffic"] = traffic_to_dict(self.traffic)
        if self.strategies:
            out["strategies"] = {
                environment: strategy_to_dict(strategy)
                for environment, strategy in self.strategies.items()
            }
        if self.analyses:
            out["analyses"] = [analysis_to_dict(spec) for spec in self.analyses.values()]
        if self.gates:
            out["gates"] = [gate_to_dict(gate) for gate in self.gates]
        if self.depends_on:
            out["depends_on"] = [dep.to_dict() for dep in self.depends_on]
        return out


@dataclass(frozen=True, slots=True)
class ConfigDocument:
    version: int
    environments: tuple[EnvironmentSpec, ...]
    lifecycles: tuple[LifecycleSpec, ...]
    services: tuple[ServiceSpec, ...]
    notes: NotesSettings = DEFAULT_NOTES
    analyses: tuple[AnalysisSpec, ...] = ()
    # None: the file has no such section, so `apply` leaves the store's as they are
    freezes: tuple[FreezeSpec, ...] | None = None
    slos: tuple[SloSpec, ...] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "freezes": None if self.freezes is None else [f.to_dict() for f in self.freezes],
            "slos": None if self.slos is None else [spec.to_dict() for spec in self.slos],
            "version": self.version,
            "environments": [spec.to_dict() for spec in self.environments],
            "lifecycles": [spec.to_dict() for spec in self.lifecycles],
            "services": [spec.to_dict() for spec in self.services],
            "notes": self.notes.to_dict(),
            "analyses": [analysis_to_dict(spec) for spec in self.analyses],
        }

    def service(self, name: str) -> ServiceSpec:
        """The service called `name`; InvalidInput naming the defined ones otherwise."""
        for spec in self.services:
            if spec.name == name:
                return spec
        known = ", ".join(spec.name for spec in self.services) or "none"
        hint = closest_name(name, [spec.name for spec in self.services])
        suggestion = f" (did you mean '{hint}'?)" if hint else ""
        raise InvalidInput(
            f"No service '{name}' in the config{suggestion}; defined: {known}",
            details={"service": name, "defined": [spec.name for spec in self.services]},
        )


# --- the entry point -------------------------------------------------------------------------

_TOP_FIELDS = (
    "version",
    "environments",
    "lifecycles",
    "services",
    "notes",
    "analyses",
    "freezes",
    "slos",
)
_ENVIRONMENT_FIELDS = ("name", "tier", "on_failure", "gates", "permissions")
_LIFECYCLE_FIELDS = ("name", "phases")
_PHASE_FIELDS = ("name", "environments", "optional", "minimum", "soak")
_SERVICE_FIELDS = (
    "name",
    "lifecycle",
    "on_failure",
    "repository",
    "tag_format",
    "paths",
    "initial_version",
    "pre_major",
    "run",
    "traffic",
    "strategies",
    "gates",
    "depends_on",
)


def parse_config(data: object) -> ConfigDocument:
    """Validate a loaded relman.yaml; raise ConfigError listing every problem found."""
    issues = Issues()
    document = _parse_document(data, issues)
    if issues.found or document is None:
        raise ConfigError(issues.found)
    return document


# --- document and sections -------------------------------------------------------------------
# Every parser below reports its problems to `issues` and still returns a value of the right
# type (a placeholder such as "" where the input was unusable), so that checking goes on and
# finds every problem; parse_config never returns a document once a problem was reported.

_Spec = TypeVar("_Spec", EnvironmentSpec, LifecycleSpec, ServiceSpec, AnalysisSpec)
_ItemParser = Callable[[object, Path, Issues], _Spec]


@dataclass(frozen=True)
class _References:
    """What a service may name: lifecycles, for its strategies and gates environments and
    analyses, SLOs, and for `depends_on` the other services."""

    lifecycles: Defined
    environments: Defined
    analyses: Defined
    slos: Defined
    services: Defined


def _parse_document(data: object, issues: Issues) -> ConfigDocument | None:
    if data is None:
        issues.add((), "the config is empty", "a mapping with version: 1")
        return None
    top = checks.fields(data, (), issues, "a mapping with version: 1", _TOP_FIELDS)
    if top is None:
        return None
    version = _parse_version(top, issues)
    slos = parse_slos(top["slos"], ("slos",), issues) if top.get("slos") is not None else None
    slo_names = Defined("SLO", _raw_names(top.get("slos")), hint=True)
    environments = _parse_section(
        top, "environments", issues, partial(_parse_environment, slos=slo_names)
    )
    env_names = Defined("environment", _names_of(environments))
    lifecycles = _parse_section(
        top, "lifecycles", issues, partial(_parse_lifecycle, envs=env_names)
    )
    analyses = _parse_section(top, "analyses", issues, read_analysis, kind="analysis")
    references = _References(
        lifecycles=Defined("lifecycle", _names_of(lifecycles)),
        environments=replace(env_names, hint=True),
        analyses=Defined("analysis", _names_of(analyses), plural="analyses", hint=True),
        slos=slo_names,
        services=Defined("service", _raw_names(top.get("services")), hint=True),
    )
    services = _parse_section(
        top, "services", issues, partial(_parse_service, references=references)
    )
    notes = _parse_notes(top.get("notes"), ("notes",), issues)
    freezes = (
        None
        if top.get("freezes") is None
        else _parse_freezes(top["freezes"], issues, references.environments, references.services)
    )
    return ConfigDocument(
        version=version,
        environments=tuple(environments or ()),
        lifecycles=tuple(lifecycles or ()),
        services=tuple(
            _with_file_settings(service, notes, analyses or ()) for service in services or ()
        ),
        notes=notes,
        analyses=tuple(analyses or ()),
        freezes=freezes,
        slos=slos,
    )


def _parse_freezes(
    raw: object, issues: Issues, environments: Defined, services: Defined
) -> tuple[FreezeSpec, ...]:
    """The file's freezes; the environments and services they name must be defined."""
    for index, item in enumerate(raw if isinstance(raw, list) else []):
        if not isinstance(item, Mapping):
            continue
        for key, defined in (("environments", environments), ("services", services)):
            names = item.get(key)
            for position, name in enumerate(names if isinstance(names, list) else []):
                if isinstance(name, str):
                    defined.check(name, ("freezes", index, key, position), issues)
    return parse_freezes(raw, ("freezes",), issues)


def _with_file_settings(
    service: ServiceSpec, notes: NotesSettings, analyses: Sequence[AnalysisSpec]
) -> ServiceSpec:
    """The service with the file-wide settings it uses: the notes settings, and the analyses
    its strategies name, so that the server's copy of a service is complete on its own."""
    named = {
        name for strategy in service.strategies.values() for name in referenced_analyses(strategy)
    }
    used = {spec.name: spec for spec in analyses if spec.name in named}
    return replace(service, notes=notes, analyses=MappingProxyType(used))


def _parse_version(top: Mapping[str, Any], issues: Issues) -> int:
    raw = top.get("version")
    expected = f"version: {CONFIG_VERSION}"
    if raw is None:
        issues.add(("version",), "required field 'version' is missing", expected)
    elif not checks.is_int(raw):
        issues.add(("version",), f"got {checks.describe(raw)}", expected)
    elif raw != CONFIG_VERSION:
        message = f"unsupported version {raw}; this relman reads version {CONFIG_VERSION}"
        issues.add(("version",), message, expected)
    return CONFIG_VERSION


def _parse_section(
    top: Mapping[str, Any],
    key: str,
    issues: Issues,
    parse_item: _ItemParser[_Spec],
    *,
    kind: str = "",
) -> list[_Spec] | None:
    """Parse one top-level list of `kind`s (by default `key` without its s); None when it is
    not a list, so its names are unknown."""
    raw = top.get(key)
    if raw is None:
        return []
    items = checks.list_of(raw, (key,), issues, f"a list of {key}")
    if items is None:
        return None
    specs = [parse_item(item, (key, index), issues) for index, item in enumerate(items)]
    checks.check_unique(
        [spec.name for spec in specs], kind or key.removesuffix("s"), (key,), issues
    )
    return specs


def _raw_names(raw: object) -> tuple[str, ...] | None:
    """The names in a section not parsed yet (for references to it); None when unreadable."""
    if raw is None:
        return ()
    if not isinstance(raw, list):
        return None
    return tuple(
        item["name"]
        for item in raw
        if isinstance(item, Mapping) and isinstance(item.get("name"), str)
    )


def _names_of(specs: list[_Spec] | None) -> tuple[str, ...] | None:
    if specs is None:
        return None
    return tuple(dict.fromkeys(spec.name for spec in specs if spec.name))


# --- environments ----------------------------------------------------------------------------


def _parse_environment(raw: object, path: Path, issues: Issues, slos: Defined) -> EnvironmentSpec:
    expected = "an environment: a mapping with name and tier"
    fields = checks.fields(raw, path, issues, expected, _ENVIRONMENT_FIELDS)
    if fields is None:
        return EnvironmentSpec(name="", tier="")
    name = checks.required_name(fields, path, issues, "environment")
    tier = checks.choice(fields, "tier", path, issues, TIERS)
    on_failure = checks.optional_choice(fields, "on_failure", path, issues, ON_FAILURE)
    gates = parse_gates(fields.get("gates"), (*path, "gates"), issues, slos=slos)
    permissions = parse_permissions(fields.get("permissions"), (*path, "permissions"), issues, name)
    return EnvironmentSpec(
        name=name,
        tier=tier,
        on_failure=on_failure,
        gates=gates,
        permissions=MappingProxyType(dict(permissions.allowed)),
    )


# --- lifecycles and phases -------------------------------------------------------------------


def _parse_lifecycle(raw: object, path: Path, issues: Issues, envs: Defined) -> LifecycleSpec:
    expected = "a lifecycle: a mapping with name and phases"
    fields = checks.fields(raw, path, issues, expected, _LIFECYCLE_FIELDS)
    if fields is None:
        return LifecycleSpec(name="", phases=())
    name = checks.required_name(fields, path, issues, "lifecycle")
    return LifecycleSpec(name=name, phases=_parse_phases(fields, path, issues, envs))


def _parse_phases(
    fields: Mapping[str, Any], path: Path, issues: Issues, envs: Defined
) -> tuple[PhaseSpec, ...]:
    items = checks.required_list(fields, "phases", path, issues, "a non-empty list of phases")
    here = (*path, "phases")
    phases = [
        _parse_phase(item, (*here, index), issues, envs, is_first=index == 0)
        for index, item in enumerate(items)
    ]
    checks.check_unique([phase.name for phase in phases], "phase", here, issues)
    _check_one_phase_per_environment(phases, here, issues)
    return tuple(phases)


def _parse_phase(
    raw: object, path: Path, issues: Issues, envs: Defined, *, is_first: bool
) -> PhaseSpec:
    expected = "a phase: a mapping with name and environments"
    fields = checks.fields(raw, path, issues, expected, _PHASE_FIELDS)
    if fields is None:
        return PhaseSpec(name="", environments=())
    name = checks.required_name(fields, path, issues, "phase")
    environments = _phase_environments(fields, path, issues, envs)
    return PhaseSpec(
        name=name,
        environments=environments,
        optional=checks.optional_bool(fields, "optional", path, issues),
        minimum=_minimum(fields, path, issues, len(environments)),
        soak=_soak(fields, path, issues, is_first=is_first),
    )


def _phase_environments(
    fields: Mapping[str, Any], path: Path, issues: Issues, envs: Defined
) -> tuple[str, ...]:
    """The phase's environment names, one entry per item ("" where an item is unusable)."""
    expected = "a non-empty list of environment names"
    items = checks.required_list(fields, "environments", path, issues, expected)
    names: list[str] = []
    for index, item in enumerate(items):
        here = (*path, "environments", index)
        name = checks.string(item, here, issues, "an environment name")
        envs.check(name, here, issues)
        names.append(name)
    return tuple(names)


def _check_one_phase_per_environment(
    phases: Sequence[PhaseSpec], phases_path: Path, issues: Issues
) -> None:
    expected = "each environment in at most one phase of a lifecycle"
    seen: dict[str, int] = {}
    for phase_index, phase in enumerate(phases):
        for item_index, env in enumerate(phase.environments):
            if not env:
                continue
            if env not in seen:
                seen[env] = phase_index
                continue
            here = (*phases_path, phase_index, "environments", item_index)
            issues.add(here, _repeated_environment(env, phases, seen[env], phase_index), expected)


def _repeated_environment(
    env: str, phases: Sequence[PhaseSpec], first_index: int, index: int
) -> str:
    if first_index == index:
        return f"environment '{env}' is listed twice in this phase"
    first = phases[first_index].name or f"#{first_index + 1}"
    return f"environment '{env}' is already in phase '{first}' of this lifecycle"


def _minimum(fields: Mapping[str, Any], path: Path, issues: Issues, count: int) -> int | None:
    raw = fields.get("minimum")
    if raw is None:
        return None
    here = (*path, "minimum")
    expected = f"a whole number from 1 to {count}" if count else "a whole number ≥ 1"
    if not checks.is_int(raw):
        issues.add(here, f"got {checks.describe(raw)}", expected)
        return None
    if raw < 1 or (count and raw > count):
        issues.add(
            here,
            f"minimum {raw} is out of range for {checks.plural(count, 'environment')}",
            expected,
        )
        return None
    return int(raw)


def _soak(
    fields: Mapping[str, Any], path: Path, issues: Issues, *, is_first: bool
) -> timedelta | None:
    soak = checks.optional_duration(fields, "soak", path, issues)
    if soak is not None and is_first:
        message = "soak on the first phase has nothing to wait for"
        issues.add(
            (*path, "soak"),
            message,
            "soak only on later phases; it counts from the previous phase",
        )
    return soak


# --- services --------------------------------------------------------------------------------

_TAG_FORMAT_EXPECTED = (
    "a tag pattern with {version} and optionally {service}, like 'v{version}' or "
    "'{service}-v{version}'"
)
_TAG_PLACEHOLDERS = ("{version}", "{service}")


def _parse_service(raw: object, path: Path, issues: Issues, references: _References) -> ServiceSpec:
    expected = "a service: a mapping with name and lifecycle"
    fields = checks.fields(raw, path, issues, expected, _SERVICE_FIELDS)
    if fields is None:
        return ServiceSpec(name="", lifecycle="")
    spec = ServiceSpec(
        name=checks.required_name(fields, path, issues, "service"),
        lifecycle=checks.reference(fields, "lifecycle", path, issues, references.lifecycles),
        repository=_repository(fields, path, issues),
        tag_format=_tag_format(fields, path, issues),
        paths=_paths(fields, path, issues),
        run=_parse_run(fields.get("run"), (*path, "run"), issues),
        on_failure=checks.optional_choice(fields, "on_failure", path, issues, ON_FAILURE),
        initial_version=_initial_version(fields, path, issues),
        pre_major=checks.optional_choice(fields, "pre_major", path, issues, PRE_MAJOR) or "major",
    )
    spec = replace(
        spec,
        gates=parse_gates(
            fields.get("gates"),
            (*path, "gates"),
            issues,
            slos=references.slos,
            environments=references.environments,
        ),
        depends_on=parse_depends_on(
            fields.get("depends_on"), (*path, "depends_on"), issues, references.services, spec.name
        ),
    )
    return _with_delivery(spec, fields, path, issues, references)


def _paths(fields: Mapping[str, Any], path: Path, issues: Issues) -> tuple[str, ...]:
    paths = checks.string_list(fields, "paths", path, issues)
    for index, text in enumerate(paths):
        parts = text.replace("\\", "/").split("/")
        if text.startswith(("/", "\\")) or ".." in parts:
            issues.add(
                (*path, "paths", index),
                f"'{text}' is outside the repository",
                "a path from the repository's top, like services/api",
            )
    return paths


def _repository(fields: Mapping[str, Any], path: Path, issues: Issues) -> str | None:
    text = checks.optional_string(fields, "repository", path, issues)
    if text and ("://" in text or text.startswith("git@")):
        issues.add(
            (*path, "repository"),
            f"'{text}' is a remote URL; relman reads git history from a checkout on disk",
            "the path of a checkout, relative to this file, like '.' or '../api'",
        )
    return text


def _initial_version(fields: Mapping[str, Any], path: Path, issues: Issues) -> Version:
    raw = fields.get("initial_version")
    default = INITIAL_VERSION
    if raw is None:
        return default
    here = (*path, "initial_version")
    expected = "a release version like 0.1.0 or 1.0.0, quoted"
    if not isinstance(raw, str):
        issues.add(here, f"got {checks.describe(raw)}", expected)
        return default
    try:
        version = parse_version(raw)
    except InvalidInput as exc:
        issues.add(here, exc.message, expected)
        return default
    if version.prerelease or version.build:
        issues.add(here, f"'{raw}' is not a plain release", expected)
    return version


# --- progressive delivery --------------------------------------------------------------------

_SLOT_EXPECTED = {
    "deploy": "a deploy command with {slot}, like ['./deploy.sh', '{version}', '{slot}']",
    "stop": "a command that stops the version in a slot, like ['./stop.sh', '{slot}']",
}


def _with_delivery(
    spec: ServiceSpec,
    fields: Mapping[str, Any],
    path: Path,
    issues: Issues,
    references: _References,
) -> ServiceSpec:
    """The service with its `traffic` and `strategies`, checked against its run settings."""
    raw = fields.get("traffic")
    here = (*path, "traffic")
    traffic = None if raw is None else read_traffic(raw, here, issues, service=spec.name)
    strategies = read_strategies(
        fields.get("strategies"),
        (*path, "strategies"),
        issues,
        environments=references.environments,
        analyses=references.analyses,
        has_traffic=traffic is not None,
    )
    spec = replace(spec, traffic=traffic, strategies=MappingProxyType(strategies))
    _check_run_for_slots(spec, path, issues, run_given=fields.get("run") is not None)
    return spec


def _check_run_for_slots(spec: ServiceSpec, path: Path, issues: Issues, *, run_given: bool) -> None:
    """Canary and blue-green run two versions side by side, each in a slot of its own (blue,
    green): the run must deploy into the slot it is given, and stop one slot alone."""
    movers = [
        f"{strategy_to_dict(strategy)['type']} in {environment}"
        for environment, strategy in spec.strategies.items()
        if moves_traffic(strategy)
    ]
    if not movers:
        return
    who, here = ", ".join(movers), (*path, "run")
    if not run_given:
        message = f"required field 'run' is missing: with {who}, relman deploys into a slot"
        issues.add(here, message, "run: {driver: script, deploy: […, '{slot}'], stop: […]}")
        return
    if spec.run is None or spec.run.driver != "script":
        return  # the run settings were reported already
    deploy, stop = spec.run.settings.get("deploy"), spec.run.settings.get("stop")
    if deploy is not None and not _uses_slot(deploy["command"]):
        message = (
            f"deploy has no {{slot}}: with {who}, each version goes into a slot of its own "
            "beside the stable one; without {slot} the candidate would overwrite the stable "
            "version and take every user down"
        )
        issues.add((*here, "deploy"), message, _SLOT_EXPECTED["deploy"])
    if stop is None:
        message = (
            f"required field 'stop' is missing: with {who}, relman stops a slot to free it "
            "(the candidate's on rollback, the old one after a blue-green switch)"
        )
        issues.add((*here, "stop"), message, _SLOT_EXPECTED["stop"])
    elif not _uses_slot(stop["command"]):
        message = (
            f"stop has no {{slot}}: with {who}, relman stops one slot and keeps the other "
            "running; without {slot} the command can't tell which"
        )
        issues.add((*here, "stop"), message, _SLOT_EXPECTED["stop"])


def _uses_slot(command: str | Sequence[str] | None) -> bool:
    """Whether a parsed command has {slot}; True for an unusable one, reported already."""
    if command is None:
        return True
    parts = [command] if isinstance(command, str) else list(command)
    try:
        return any("{slot}" in _placeholders(part) for part in parts)
    except ValueError:
        return True


# --- release notes ---------------------------------------------------------------------------

_NOTES_FIELDS = (
    "sections",
    "bump",
    "include_unconventional",
    "tickets",
    "issue_url",
    "ticket_url",
    "commit_url",
)
_TYPE = re.compile(r"[a-z][a-z0-9_-]*", re.ASCII)
_TICKET_KEY = re.compile(r"[A-Z][A-Z0-9_]*", re.ASCII)
_FIXED_TYPES = ("feat", "fix", "perf", "revert")
MAX_NOTE_SECTIONS = 50


def parse_notes_settings(data: object) -> NotesSettings:
    """A `notes:` section as plain data (as `NotesSettings.to_dict` writes it, e.g. from the
    server's copy of a service); ConfigError listing what is wrong."""
    issues = Issues()
    settings = _parse_notes(data, ("notes",), issues)
    if issues.found:
        raise ConfigError(issues.found)
    return settings


def _parse_notes(raw: object, path: Path, issues: Issues) -> NotesSettings:
    """The `notes:` section: which extra types show and bump, and how references link."""
    if raw is None:
        return NotesSettings()
    fields = checks.fields(raw, path, issues, "a mapping of release-note settings", _NOTES_FIELDS)
    if fields is None:
        return NotesSettings()
    sections = tuple(_type_map(fields, "sections", path, issues, _section_title).items())
    if len(sections) > MAX_NOTE_SECTIONS:
        issues.add(
            (*path, "sections"),
            f"{len(sections)} extra sections; at most {MAX_NOTE_SECTIONS}",
            "fewer types shown; the others still count for the bump",
        )
    return NotesSettings(
        sections=sections,
        bumps=MappingProxyType(_type_map(fields, "bump", path, issues, _bump_name)),
        include_unconventional=checks.optional_bool(fields, "include_unconventional", path, issues),
        ticket_prefixes=_ticket_keys(fields, path, issues),
        issue_url=_link(fields, "issue_url", "{id}", path, issues),
        ticket_url=_link(fields, "ticket_url", "{id}", path, issues),
        commit_url=_link(fields, "commit_url", "{hash}", path, issues),
    )


_Value = TypeVar("_Value")


def _type_map(
    fields: Mapping[str, Any],
    key: str,
    path: Path,
    issues: Issues,
    value_of: Callable[[object, Path, Issues], _Value | None],
) -> dict[str, _Value]:
    raw = fields.get(key)
    if raw is None:
        return {}
    expected = "a mapping from commit type to a value, like {docs: Documentation}"
    mapping = checks.mapping(raw, (*path, key), issues, expected)
    out: dict[str, _Value] = {}
    for kind, item in (mapping or {}).items():
        here = (*path, key, str(kind))
        if not isinstance(kind, str) or not _TYPE.fullmatch(kind):
            issues.add(here, f"'{kind}' is not a commit type", "a lower-case type like docs")
        elif kind in _FIXED_TYPES and key == "sections":
            issues.add(here, f"'{kind}' already has its own section", "another type, like docs")
        else:
            value = value_of(item, here, issues)
            if value is not None:
                out[kind] = value
    return out


def _section_title(raw: object, path: Path, issues: Issues) -> str | None:
    text = checks.string(raw, path, issues, "a section title, like Documentation")
    return text.strip() or None


def _bump_name(raw: object, path: Path, issues: Issues) -> Any:
    if not isinstance(raw, str) or raw not in BUMP_NAMES:
        choices = ", ".join(BUMP_NAMES)
        issues.add(
            path,
            f"got {checks.describe(raw)}",
            f"one of {choices} (only a breaking change is major)",
        )
        return None
    return BUMP_NAMES[raw]


def _ticket_keys(fields: Mapping[str, Any], path: Path, issues: Issues) -> tuple[str, ...]:
    keys = checks.string_list(fields, "tickets", path, issues)
    for index, key in enumerate(keys):
        if key and not _TICKET_KEY.fullmatch(key):
            issues.add(
                (*path, "tickets", index),
                f"'{key}' is not a ticket project key",
                "upper-case letters and digits, like PROJ or OPS",
            )
    return keys


def _link(
    fields: Mapping[str, Any], key: str, placeholder: str, path: Path, issues: Issues
) -> str | None:
    if fields.get(key) is None:
        return None
    here = (*path, key)
    expected = f"a URL with {placeholder} in it, like 'https://example.com/x/{placeholder}'"
    text = checks.string(fields[key], here, issues, expected)
    problem = checks.url_problem(text) if isinstance(fields[key], str) else None
    if problem is None and isinstance(fields[key], str) and placeholder not in text:
        problem = f"the URL '{text}' lacks {placeholder}"
    if problem:
        issues.add(here, problem, expected)
    return text or None


def _tag_format(fields: Mapping[str, Any], path: Path, issues: Issues) -> str:
    raw = fields.get("tag_format")
    if raw is None:
        return "v{version}"
    here = (*path, "tag_format")
    text = checks.string(raw, here, issues, _TAG_FORMAT_EXPECTED)
    problem = _tag_format_problem(text) if isinstance(raw, str) else None
    if problem:
        issues.add(here, problem, _TAG_FORMAT_EXPECTED)
    return text


def _tag_format_problem(text: str) -> str | None:
    try:
        placeholders = _placeholders(text)
    except ValueError as exc:
        return f"bad tag format '{text}': {exc}"
    unknown = [item for item in placeholders if item not in _TAG_PLACEHOLDERS]
    if unknown:
        available = ", ".join(_TAG_PLACEHOLDERS)
        return f"unknown placeholder {unknown[0]} in tag format '{text}'; available: {available}"
    if "{version}" not in placeholders:
        return f"tag format '{text}' lacks {{version}}"
    return None


def _placeholders(text: str) -> list[str]:
    """The replacement fields of a format string as written ("{version:>5}"); ValueError on
    bad braces."""
    return [
        "{" + name + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "") + "}"
        for _, name, spec, conversion in string.Formatter().parse(text)
        if name is not None
    ]


# --- run drivers -----------------------------------------------------------------------------

_SettingsParser = Callable[[Mapping[str, Any], Path, Issues], dict[str, Any]]
_SCRIPT_FIELDS = (
    "deploy",
    "verify",
    "rollback",
    "stop",
    "shell",
    "timeout",
    "retries",
    "idempotent",
)
_STEP_FIELDS = ("command", "timeout", "retries", "idempotent")
_VERIFY_FIELDS = ("command", "url", "timeout", "retries", "idempotent")
_COMMAND_EXPECTED = (
    "a non-empty list of strings, like ['./deploy.sh', '{version}'], or one string with shell: true"
)
_URL_EXPECTED = "a URL starting with http:// or https://, like 'http://127.0.0.1:8080/health'"
_PLACEHOLDER_EXPECTED = "a known placeholder, or {{ and }} for a literal brace"


def _parse_run(raw: object, path: Path, issues: Issues) -> RunSpec | None:
    if raw is None:
        return None
    fields = checks.mapping(raw, path, issues, "a mapping with driver and the driver's settings")
    if fields is None:
        return None
    driver = checks.choice(fields, "driver", path, issues, DRIVERS)
    schema = _DRIVER_SCHEMAS.get(driver)
    if schema is None:
        return None
    keys, parse_settings = schema
    checks.check_fields(fields, ("driver", *keys), path, issues)
    return RunSpec(driver=driver, settings=MappingProxyType(parse_settings(fields, path, issues)))


def _script_settings(fields: Mapping[str, Any], path: Path, issues: Issues) -> dict[str, Any]:
    """The `script` driver: commands run without a shell unless `shell: true`.

    Each step is a read-only mapping of command, url, timeout, retries and idempotent; a step's
    None means "use the top-level default". `stop` (which frees a slot, for canary and
    blue-green) is there only when given, so that settings written before it existed compare
    equal to the same file read now.
    """
    shell = checks.optional_bool(fields, "shell", path, issues)
    settings = {
        "deploy": _step(fields, "deploy", path, issues, shell=shell, required=True),
        "verify": _step(fields, "verify", path, issues, shell=shell),
        "rollback": _step(fields, "rollback", path, issues, shell=shell),
        "shell": shell,
        "timeout": _timeout(fields, path, issues),
        "retries": _retries(fields, path, issues) or 0,
        "idempotent": checks.optional_bool(fields, "idempotent", path, issues),
    }
    stop = _step(fields, "stop", path, issues, shell=shell)
    return settings if stop is None else {**settings, "stop": stop}


_PROCESS_FIELDS = ("command", "ports", "health", "start_timeout", "env", "state_dir")
_PORTS_EXPECTED = "a mapping of slot to port, like {blue: 8101, green: 8102}"


def _process_settings(fields: Mapping[str, Any], path: Path, issues: Issues) -> dict[str, Any]:
    """The `process` driver (drivers/process.py): a local process per slot on its own port,
    healthy once `health` answers 200. Optional keys are there only when given."""
    here = (*path, "command")
    command: list[str] = []
    if fields.get("command") is None:
        issues.add(here, "required field 'command' is missing", _COMMAND_EXPECTED)
    else:
        items = checks.list_of(fields["command"], here, issues, _COMMAND_EXPECTED, non_empty=True)
        for index, item in enumerate(items or ()):
            text = checks.string(item, (*here, index), issues)
            _check_placeholders(text, (*here, index), issues, PROCESS_PLACEHOLDERS)
            command.append(text)
    settings: dict[str, Any] = {"command": command, "ports": _ports(fields, path, issues)}
    health = checks.optional_string(fields, "health", path, issues)
    if health is not None and not health.startswith("/"):
        issues.add((*path, "health"), f"'{health}' is not a path", "a path like /healthz")
    settings["health"] = health or "/healthz"
    start = checks.optional_duration(fields, "start_timeout", path, issues)
    settings["start_timeout"] = start.total_seconds() if start else 20.0
    env = fields.get("env")
    if env is not None:
        found = checks.mapping(env, (*path, "env"), issues, "a mapping of NAME: value") or {}
        settings["env"] = {
            str(name): checks.string(value, (*path, "env", name), issues)
            for name, value in found.items()
        }
    state_dir = checks.optional_string(fields, "state_dir", path, issues)
    if state_dir is not None:
        settings["state_dir"] = state_dir
    return settings


def _ports(fields: Mapping[str, Any], path: Path, issues: Issues) -> dict[str, int]:
    here = (*path, "ports")
    if fields.get("ports") is None:
        issues.add(here, "required field 'ports' is missing", _PORTS_EXPECTED)
        return {}
    found = checks.mapping(fields["ports"], here, issues, _PORTS_EXPECTED) or {}
    ports = {}
    for slot, port in found.items():
        if not checks.is_int(port) or not 0 < port < 65536:
            issues.add((*here, slot), f"got {checks.describe(port)}", "a port from 1 to 65535")
            continue
        ports[str(slot)] = int(port)
    return ports


_DRIVER_SCHEMAS: dict[str, tuple[tuple[str, ...], _SettingsParser]] = {
    "script": (_SCRIPT_FIELDS, _script_settings),
    "process": (_PROCESS_FIELDS, _process_settings),
}


def _step(
    fields: Mapping[str, Any],
    key: str,
    path: Path,
    issues: Issues,
    *,
    shell: bool,
    required: bool = False,
) -> Mapping[str, Any] | None:
    """One step of a script: a command, a URL (verify only), or a mapping with options."""
    raw = fields.get(key)
    here = (*path, key)
    if raw is None:
        if required:
            issues.add(here, f"required field '{key}' is missing", _COMMAND_EXPECTED)
        return None
    if isinstance(raw, Mapping):
        return _step_mapping(raw, key, here, issues, shell=shell)
    if key == "verify" and isinstance(raw, str) and raw.startswith(checks.URL_PREFIXES):
        return _step_spec(url=_url(raw, here, issues))
    return _step_spec(
        command=_command(raw, here, issues, shell=shell, expected=_step_expected(key))
    )


def _step_expected(key: str) -> str:
    if key == "verify":
        return (
            "a command like ['./verify.sh', '{version}'], a URL like "
            "'http://127.0.0.1:8080/health', or a mapping with command or url and optional "
            "timeout, retries, idempotent"
        )
    argument = "{slot}" if key == "stop" else "{version}"
    return (
        f"a command like ['./{key}.sh', '{argument}'], or a mapping with command and optional "
        "timeout, retries, idempotent"
    )


def _step_mapping(
    raw: Mapping[Any, Any], key: str, path: Path, issues: Issues, *, shell: bool
) -> Mapping[str, Any]:
    fields = {str(name): value for name, value in raw.items()}
    misplaced_url = fields.pop("url", None) if key != "verify" else None
    if misplaced_url is not None:
        _refuse_url(key, misplaced_url, (*path, "url"), issues)
    checks.check_fields(fields, _VERIFY_FIELDS if key == "verify" else _STEP_FIELDS, path, issues)
    _check_one_target(fields, key, path, issues, url_refused=misplaced_url is not None)
    command, url = fields.get("command"), fields.get("url")
    if command is not None:
        command = _command(command, (*path, "command"), issues, shell=shell)
    return _step_spec(
        command=command,
        url=None if url is None else _url(url, (*path, "url"), issues),
        timeout=_timeout(fields, path, issues),
        retries=_retries(fields, path, issues),
        idempotent=checks.flag(fields, "idempotent", path, issues),
    )


def _refuse_url(key: str, raw: object, path: Path, issues: Issues) -> None:
    example = raw if isinstance(raw, str) else "http://…"
    message = (
        f"url works only for verify; to call a URL from {key}, run a command, "
        f"like command: ['curl', '-fsS', '{example}']"
    )
    issues.add(path, message, f"command for {key}; url only for verify")


def _check_one_target(
    fields: Mapping[str, Any], key: str, path: Path, issues: Issues, *, url_refused: bool
) -> None:
    """A step mapping runs a command or (verify only) requests a URL, never both."""
    has_command, has_url = fields.get("command") is not None, fields.get("url") is not None
    if has_command and has_url:
        message = f"{key} has both command and url; keep one of them"
        issues.add(path, message, "exactly one of command, url")
    elif has_command or has_url or url_refused:
        pass  # a refused url was reported already, with the way to write a command
    elif key == "verify":
        issues.add(path, "verify needs a command or a url", "exactly one of command, url")
    else:
        issues.add((*path, "command"), "required field 'command' is missing", _COMMAND_EXPECTED)


def _step_spec(
    *,
    command: str | tuple[str, ...] | None = None,
    url: str | None = None,
    timeout: str | None = None,
    retries: int | None = None,
    idempotent: bool | None = None,
) -> Mapping[str, Any]:
    return MappingProxyType(
        {
            "command": command,
            "url": url,
            "timeout": timeout,
            "retries": retries,
            "idempotent": idempotent,
        }
    )


def _command(
    raw: object, path: Path, issues: Issues, *, shell: bool, expected: str = _COMMAND_EXPECTED
) -> str | tuple[str, ...] | None:
    if isinstance(raw, str):
        return _shell_command(raw, path, issues, shell=shell)
    if not isinstance(raw, list):
        issues.add(path, f"got {checks.describe(raw)}", expected)
        return None
    items = checks.list_of(raw, path, issues, _COMMAND_EXPECTED, non_empty=True)
    if items is None:
        return None
    return tuple(_template(item, (*path, index), issues) for index, item in enumerate(items))


def _shell_command(text: str, path: Path, issues: Issues, *, shell: bool) -> str:
    if not shell:
        message = "a single string needs a shell; set shell: true, or write the command as a list"
        issues.add(path, message, _COMMAND_EXPECTED)
    elif not text.strip():
        issues.add(path, "the command is empty", _COMMAND_EXPECTED)
    _check_placeholders(text, path, issues)
    return text


def _template(raw: object, path: Path, issues: Issues) -> str:
    """A string that may hold step placeholders, such as one item of a command."""
    text = checks.string(raw, path, issues)
    if isinstance(raw, str):
        _check_placeholders(text, path, issues)
    return text


def _url(raw: object, path: Path, issues: Issues) -> str:
    text = checks.string(raw, path, issues, _URL_EXPECTED)
    if not isinstance(raw, str):
        return text
    problem = checks.url_problem(text)
    if problem:
        issues.add(path, problem, _URL_EXPECTED)
    else:
        _check_placeholders(text, path, issues)
    return text


def _check_placeholders(
    text: str, path: Path, issues: Issues, names: Sequence[str] = STEP_PLACEHOLDERS
) -> None:
    try:
        placeholders = _placeholders(text)
    except ValueError as exc:
        issues.add(path, f"bad braces in '{text}': {exc}", _PLACEHOLDER_EXPECTED)
        return
    known = tuple("{" + name + "}" for name in names)
    unknown = [item for item in placeholders if item not in known]
    if unknown:
        message = f"unknown placeholder {unknown[0]} in '{text}'; available: {', '.join(known)}"
        issues.add(path, message, _PLACEHOLDER_EXPECTED)


def _timeout(fields: Mapping[str, Any], path: Path, issues: Issues) -> str | None:
    timeout = checks.optional_duration(fields, "timeout", path, issues)
    if timeout is None:
        return None
    if timeout == timedelta(0):
        message = "a timeout of 0s would stop every command at once"
        issues.add((*path, "timeout"), message, "a duration above 0s")
    return format_duration(timeout)


def _retries(fields: Mapping[str, Any], path: Path, issues: Issues) -> int | None:
    raw = fields.get("retries")
    if raw is None:
        return None
    if not checks.is_int(raw) or raw < 0:
        message = (
            "retries can't be negative" if checks.is_int(raw) else f"got {checks.describe(raw)}"
        )
        issues.add((*path, "retries"), message, "a whole number ≥ 0")
        return None
    return int(raw)
