"""The shape of relman.yaml: frozen specs, and `parse_config`, which validates plain data.

`parse_config` takes what a YAML loader returns (dicts, lists, strings, numbers) and returns a
ConfigDocument, or raises ConfigError carrying every problem found, not just the first. Each
ConfigIssue is located by its path, e.g. ("services", 2, "lifecycle"); turning paths into line
numbers is the file loader's job (relman.configfile), so this module knows nothing of YAML.

The file is self-contained: every reference (a phase's environments, a service's lifecycle)
must name an object defined in the same file.
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import partial
from types import MappingProxyType
from typing import Any, TypeVar

from relman.domain.durations import DURATION_EXAMPLES, format_duration, parse_duration
from relman.domain.names import closest_name
from relman.errors import ConfigError, ConfigIssue, InvalidInput

__all__ = [
    "CONFIG_VERSION",
    "DRIVERS",
    "TIERS",
    "ConfigDocument",
    "EnvironmentSpec",
    "LifecycleSpec",
    "PhaseSpec",
    "RunSpec",
    "ServiceSpec",
    "parse_config",
]

CONFIG_VERSION = 1
TIERS = ("production", "staging", "testing", "development", "other")  # GitLab's deployment tiers
DRIVERS = ("script",)  # run drivers known today; more come later

Path = tuple[str | int, ...]


# --- specs -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EnvironmentSpec:
    name: str
    tier: str

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "tier": self.tier}


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
        return {"driver": self.driver, "settings": _plain(self.settings)}


@dataclass(frozen=True, slots=True)
class ServiceSpec:
    name: str
    lifecycle: str
    repository: str | None = None
    tag_format: str = "v{version}"
    paths: tuple[str, ...] = ()
    run: RunSpec | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "lifecycle": self.lifecycle,
            "repository": self.repository,
            "tag_format": self.tag_format,
            "paths": list(self.paths),
            "run": None if self.run is None else self.run.to_dict(),
        }


@dataclass(frozen=True, slots=True)
class ConfigDocument:
    version: int
    environments: tuple[EnvironmentSpec, ...]
    lifecycles: tuple[LifecycleSpec, ...]
    services: tuple[ServiceSpec, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "environments": [spec.to_dict() for spec in self.environments],
            "lifecycles": [spec.to_dict() for spec in self.lifecycles],
            "services": [spec.to_dict() for spec in self.services],
        }


def _plain(value: object) -> object:
    """A JSON-able copy: mappings become dicts, tuples and lists become lists."""
    if isinstance(value, Mapping):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


# --- the entry point -------------------------------------------------------------------------

_TOP_FIELDS = ("version", "environments", "lifecycles", "services")
_ENVIRONMENT_FIELDS = ("name", "tier")
_LIFECYCLE_FIELDS = ("name", "phases")
_PHASE_FIELDS = ("name", "environments", "optional", "minimum", "soak")
_SERVICE_FIELDS = ("name", "lifecycle", "repository", "tag_format", "paths", "run")
_NAME = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?", re.ASCII)
_NAME_RULE = "at most 63 lowercase letters, digits and inner '-'"
_DURATION = f"a duration like {DURATION_EXAMPLES}"


def parse_config(data: object) -> ConfigDocument:
    """Validate a loaded relman.yaml; raise ConfigError listing every problem found."""
    issues = _Issues()
    document = _parse_document(data, issues)
    if issues.found or document is None:
        raise ConfigError(issues.found)
    return document


class _Issues:
    """Collects problems so that one run reports them all."""

    def __init__(self) -> None:
        self.found: list[ConfigIssue] = []

    def add(self, path: Path, message: str, expected: str | None = None) -> None:
        self.found.append(ConfigIssue(path=path, message=message, expected=expected))


@dataclass(frozen=True)
class _Defined:
    """Names a reference may use; `names` is None when the section itself was unreadable."""

    kind: str
    names: tuple[str, ...] | None

    def check(self, value: str, path: Path, issues: _Issues) -> None:
        if self.names is None or not value or value in self.names:
            return
        plural = f"{self.kind}s"
        known = f"defined: {', '.join(self.names)}" if self.names else f"no {plural} are defined"
        expected = f"the name of {_a(self.kind)} defined in this file"
        issues.add(path, f"unknown {self.kind} '{value}'; {known}", expected)


# --- document and sections -------------------------------------------------------------------
# Every parser below reports its problems to `issues` and still returns a value of the right
# type (a placeholder such as "" where the input was unusable), so that checking goes on and
# finds every problem; parse_config never returns a document once a problem was reported.

_Spec = TypeVar("_Spec", EnvironmentSpec, LifecycleSpec, ServiceSpec)
_ItemParser = Callable[[object, Path, _Issues], _Spec]


def _parse_document(data: object, issues: _Issues) -> ConfigDocument | None:
    if data is None:
        issues.add((), "the config is empty", "a mapping with version: 1")
        return None
    top = _fields(data, (), issues, "a mapping with version: 1", _TOP_FIELDS)
    if top is None:
        return None
    version = _parse_version(top, issues)
    environments = _parse_section(top, "environments", issues, _parse_environment)
    env_names = _Defined("environment", _names_of(environments))
    lifecycles = _parse_section(
        top, "lifecycles", issues, partial(_parse_lifecycle, envs=env_names)
    )
    lifecycle_names = _Defined("lifecycle", _names_of(lifecycles))
    services = _parse_section(
        top, "services", issues, partial(_parse_service, lifecycles=lifecycle_names)
    )
    return ConfigDocument(
        version=version,
        environments=tuple(environments or ()),
        lifecycles=tuple(lifecycles or ()),
        services=tuple(services or ()),
    )


def _parse_version(top: Mapping[str, Any], issues: _Issues) -> int:
    raw = top.get("version")
    expected = f"version: {CONFIG_VERSION}"
    if raw is None:
        issues.add(("version",), "required field 'version' is missing", expected)
    elif not _is_int(raw):
        issues.add(("version",), f"got {_describe(raw)}", expected)
    elif raw != CONFIG_VERSION:
        message = f"unsupported version {raw}; this relman reads version {CONFIG_VERSION}"
        issues.add(("version",), message, expected)
    return CONFIG_VERSION


def _parse_section(
    top: Mapping[str, Any], key: str, issues: _Issues, parse_item: _ItemParser[_Spec]
) -> list[_Spec] | None:
    """Parse one top-level list; None when it is not a list, so its names are unknown."""
    raw = top.get(key)
    if raw is None:
        return []
    items = _list(raw, (key,), issues, f"a list of {key}")
    if items is None:
        return None
    specs = [parse_item(item, (key, index), issues) for index, item in enumerate(items)]
    _check_unique([spec.name for spec in specs], key.removesuffix("s"), (key,), issues)
    return specs


def _names_of(specs: list[_Spec] | None) -> tuple[str, ...] | None:
    if specs is None:
        return None
    return tuple(dict.fromkeys(spec.name for spec in specs if spec.name))


def _check_unique(names: Sequence[str], kind: str, list_path: Path, issues: _Issues) -> None:
    first_at: dict[str, int] = {}
    for index, name in enumerate(names):
        if not name:
            continue
        if name in first_at:
            where = _dotted((*list_path, first_at[name]))
            message = f"duplicate {kind} name '{name}' (first defined at {where})"
            issues.add((*list_path, index, "name"), message, f"a unique {kind} name")
        else:
            first_at[name] = index


# --- environments ----------------------------------------------------------------------------


def _parse_environment(raw: object, path: Path, issues: _Issues) -> EnvironmentSpec:
    expected = "an environment: a mapping with name and tier"
    fields = _fields(raw, path, issues, expected, _ENVIRONMENT_FIELDS)
    if fields is None:
        return EnvironmentSpec(name="", tier="")
    name = _required_name(fields, path, issues, "environment")
    tier = _choice(fields, "tier", path, issues, TIERS)
    return EnvironmentSpec(name=name, tier=tier)


# --- lifecycles and phases -------------------------------------------------------------------


def _parse_lifecycle(raw: object, path: Path, issues: _Issues, envs: _Defined) -> LifecycleSpec:
    expected = "a lifecycle: a mapping with name and phases"
    fields = _fields(raw, path, issues, expected, _LIFECYCLE_FIELDS)
    if fields is None:
        return LifecycleSpec(name="", phases=())
    name = _required_name(fields, path, issues, "lifecycle")
    return LifecycleSpec(name=name, phases=_parse_phases(fields, path, issues, envs))


def _parse_phases(
    fields: Mapping[str, Any], path: Path, issues: _Issues, envs: _Defined
) -> tuple[PhaseSpec, ...]:
    items = _required_list(fields, "phases", path, issues, "a non-empty list of phases")
    here = (*path, "phases")
    phases = [
        _parse_phase(item, (*here, index), issues, envs, is_first=index == 0)
        for index, item in enumerate(items)
    ]
    _check_unique([phase.name for phase in phases], "phase", here, issues)
    _check_one_phase_per_environment(phases, here, issues)
    return tuple(phases)


def _parse_phase(
    raw: object, path: Path, issues: _Issues, envs: _Defined, *, is_first: bool
) -> PhaseSpec:
    expected = "a phase: a mapping with name and environments"
    fields = _fields(raw, path, issues, expected, _PHASE_FIELDS)
    if fields is None:
        return PhaseSpec(name="", environments=())
    name = _required_name(fields, path, issues, "phase")
    environments = _phase_environments(fields, path, issues, envs)
    return PhaseSpec(
        name=name,
        environments=environments,
        optional=_optional_bool(fields, "optional", path, issues),
        minimum=_minimum(fields, path, issues, len(environments)),
        soak=_soak(fields, path, issues, is_first=is_first),
    )


def _phase_environments(
    fields: Mapping[str, Any], path: Path, issues: _Issues, envs: _Defined
) -> tuple[str, ...]:
    """The phase's environment names, one entry per item ("" where an item is unusable)."""
    expected = "a non-empty list of environment names"
    items = _required_list(fields, "environments", path, issues, expected)
    names: list[str] = []
    for index, item in enumerate(items):
        here = (*path, "environments", index)
        name = _string(item, here, issues, "an environment name")
        envs.check(name, here, issues)
        names.append(name)
    return tuple(names)


def _check_one_phase_per_environment(
    phases: Sequence[PhaseSpec], phases_path: Path, issues: _Issues
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


def _minimum(fields: Mapping[str, Any], path: Path, issues: _Issues, count: int) -> int | None:
    raw = fields.get("minimum")
    if raw is None:
        return None
    here = (*path, "minimum")
    expected = f"a whole number from 1 to {count}" if count else "a whole number ≥ 1"
    if not _is_int(raw):
        issues.add(here, f"got {_describe(raw)}", expected)
        return None
    if raw < 1 or (count and raw > count):
        issues.add(
            here, f"minimum {raw} is out of range for {_plural(count, 'environment')}", expected
        )
        return None
    return int(raw)


def _soak(
    fields: Mapping[str, Any], path: Path, issues: _Issues, *, is_first: bool
) -> timedelta | None:
    soak = _optional_duration(fields, "soak", path, issues)
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


def _parse_service(raw: object, path: Path, issues: _Issues, lifecycles: _Defined) -> ServiceSpec:
    expected = "a service: a mapping with name and lifecycle"
    fields = _fields(raw, path, issues, expected, _SERVICE_FIELDS)
    if fields is None:
        return ServiceSpec(name="", lifecycle="")
    return ServiceSpec(
        name=_required_name(fields, path, issues, "service"),
        lifecycle=_reference(fields, "lifecycle", path, issues, lifecycles),
        repository=_optional_string(fields, "repository", path, issues),
        tag_format=_tag_format(fields, path, issues),
        paths=_string_list(fields, "paths", path, issues),
        run=_parse_run(fields.get("run"), (*path, "run"), issues),
    )


def _tag_format(fields: Mapping[str, Any], path: Path, issues: _Issues) -> str:
    raw = fields.get("tag_format")
    if raw is None:
        return "v{version}"
    here = (*path, "tag_format")
    text = _string(raw, here, issues, _TAG_FORMAT_EXPECTED)
    problem = _tag_format_problem(text) if isinstance(raw, str) else None
    if problem:
        issues.add(here, problem, _TAG_FORMAT_EXPECTED)
    return text


def _tag_format_problem(text: str) -> str | None:
    try:
        pieces = list(string.Formatter().parse(text))
    except ValueError as exc:
        return f"bad tag format '{text}': {exc}"
    placeholders = [
        "{" + name + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "") + "}"
        for _, name, spec, conversion in pieces
        if name is not None
    ]
    unknown = [item for item in placeholders if item not in _TAG_PLACEHOLDERS]
    if unknown:
        available = ", ".join(_TAG_PLACEHOLDERS)
        return f"unknown placeholder {unknown[0]} in tag format '{text}'; available: {available}"
    if "{version}" not in placeholders:
        return f"tag format '{text}' lacks {{version}}"
    return None


# --- run drivers -----------------------------------------------------------------------------

_SettingsParser = Callable[[Mapping[str, Any], Path, _Issues], dict[str, Any]]
_COMMAND_EXPECTED = (
    "a non-empty list of strings, like ['./deploy.sh', '{version}'], or one string with shell: true"
)


def _parse_run(raw: object, path: Path, issues: _Issues) -> RunSpec | None:
    if raw is None:
        return None
    fields = _mapping(raw, path, issues, "a mapping with driver and the driver's settings")
    if fields is None:
        return None
    driver = _choice(fields, "driver", path, issues, DRIVERS)
    schema = _DRIVER_SCHEMAS.get(driver)
    if schema is None:
        return None
    keys, parse_settings = schema
    _check_fields(fields, ("driver", *keys), path, issues)
    return RunSpec(driver=driver, settings=MappingProxyType(parse_settings(fields, path, issues)))


def _script_settings(fields: Mapping[str, Any], path: Path, issues: _Issues) -> dict[str, Any]:
    """The `script` driver: commands run without a shell unless `shell: true`."""
    shell = _optional_bool(fields, "shell", path, issues)
    timeout = _optional_duration(fields, "timeout", path, issues)
    if timeout == timedelta(0):
        issues.add(
            (*path, "timeout"),
            "a timeout of 0s would stop every command at once",
            "a duration above 0s",
        )
    return {
        "deploy": _command(fields, "deploy", path, issues, shell=shell, required=True),
        "verify": _command(fields, "verify", path, issues, shell=shell),
        "rollback": _command(fields, "rollback", path, issues, shell=shell),
        "shell": shell,
        "timeout": None if timeout is None else format_duration(timeout),
        "retries": _retries(fields, path, issues),
    }


_DRIVER_SCHEMAS: dict[str, tuple[tuple[str, ...], _SettingsParser]] = {
    "script": (("deploy", "verify", "rollback", "shell", "timeout", "retries"), _script_settings),
}


def _command(
    fields: Mapping[str, Any],
    key: str,
    path: Path,
    issues: _Issues,
    *,
    shell: bool,
    required: bool = False,
) -> str | tuple[str, ...] | None:
    raw = fields.get(key)
    here = (*path, key)
    if raw is None:
        if required:
            issues.add(here, f"required field '{key}' is missing", _COMMAND_EXPECTED)
        return None
    if isinstance(raw, str):
        return _shell_command(raw, here, issues, shell=shell)
    items = _list(raw, here, issues, _COMMAND_EXPECTED, non_empty=True)
    if items is None:
        return None
    return tuple(_string(item, (*here, index), issues) for index, item in enumerate(items))


def _shell_command(text: str, path: Path, issues: _Issues, *, shell: bool) -> str:
    if not shell:
        message = "a single string needs a shell; set shell: true, or write the command as a list"
        issues.add(path, message, _COMMAND_EXPECTED)
    elif not text.strip():
        issues.add(path, "the command is empty", _COMMAND_EXPECTED)
    return text


def _retries(fields: Mapping[str, Any], path: Path, issues: _Issues) -> int:
    raw = fields.get("retries")
    if raw is None:
        return 0
    if not _is_int(raw) or raw < 0:
        message = "retries can't be negative" if _is_int(raw) else f"got {_describe(raw)}"
        issues.add((*path, "retries"), message, "a whole number ≥ 0")
        return 0
    return int(raw)


# --- field readers: each reports its own problems and returns a usable value -----------------


def _mapping(raw: object, path: Path, issues: _Issues, expected: str) -> dict[str, Any] | None:
    if not isinstance(raw, Mapping):
        issues.add(path, f"got {_describe(raw)}", expected)
        return None
    return {str(key): value for key, value in raw.items()}


def _fields(
    raw: object, path: Path, issues: _Issues, expected: str, allowed: Sequence[str]
) -> dict[str, Any] | None:
    fields = _mapping(raw, path, issues, expected)
    if fields is not None:
        _check_fields(fields, allowed, path, issues)
    return fields


def _check_fields(
    fields: Mapping[str, Any], allowed: Sequence[str], path: Path, issues: _Issues
) -> None:
    for key in fields:
        if key in allowed:
            continue
        guess = closest_name(key, allowed)
        hint = f"; did you mean '{guess}'?" if guess else ""
        issues.add((*path, key), f"unknown field '{key}'{hint}", "one of: " + ", ".join(allowed))


def _list(
    raw: object, path: Path, issues: _Issues, expected: str, *, non_empty: bool = False
) -> list[Any] | None:
    if not isinstance(raw, list):
        issues.add(path, f"got {_describe(raw)}", expected)
        return None
    if non_empty and not raw:
        issues.add(path, "the list is empty", expected)
        return None
    return raw


def _required_list(
    fields: Mapping[str, Any], key: str, path: Path, issues: _Issues, expected: str
) -> list[Any]:
    raw = fields.get(key)
    if raw is None:
        issues.add((*path, key), f"required field '{key}' is missing", expected)
        return []
    return _list(raw, (*path, key), issues, expected, non_empty=True) or []


def _string(raw: object, path: Path, issues: _Issues, expected: str = "a string") -> str:
    if isinstance(raw, str):
        return raw
    message = f"got {_describe(raw)}"
    if isinstance(raw, int | float | date):
        message += "; put it in quotes if you meant it as text"
    issues.add(path, message, expected)
    return ""


def _required_name(fields: Mapping[str, Any], path: Path, issues: _Issues, kind: str) -> str:
    here = (*path, "name")
    expected = f"{_a(kind)} name: {_NAME_RULE}"
    raw = fields.get("name")
    if raw is None:
        issues.add(here, "required field 'name' is missing", expected)
        return ""
    name = _string(raw, here, issues, expected)
    if isinstance(raw, str) and not _NAME.fullmatch(name):
        issues.add(here, f"bad {kind} name '{name}'; names appear in URLs and commands", expected)
    return name


def _reference(
    fields: Mapping[str, Any], key: str, path: Path, issues: _Issues, defined: _Defined
) -> str:
    here = (*path, key)
    expected = f"the name of {_a(defined.kind)} defined in this file"
    raw = fields.get(key)
    if raw is None:
        issues.add(here, f"required field '{key}' is missing", expected)
        return ""
    name = _string(raw, here, issues, expected)
    defined.check(name, here, issues)
    return name


def _choice(
    fields: Mapping[str, Any], key: str, path: Path, issues: _Issues, choices: Sequence[str]
) -> str:
    here = (*path, key)
    expected = "one of: " + ", ".join(choices)
    raw = fields.get(key)
    if raw is None:
        issues.add(here, f"required field '{key}' is missing", expected)
        return ""
    value = _string(raw, here, issues, expected)
    if isinstance(raw, str) and value not in choices:
        issues.add(here, f"unknown {key} '{value}'; {_suggest(value, choices)}", expected)
    return value


def _suggest(value: str, choices: Sequence[str]) -> str:
    guess = closest_name(value, choices)
    return f"did you mean '{guess}'?" if guess else f"available: {', '.join(choices)}"


def _optional_string(
    fields: Mapping[str, Any], key: str, path: Path, issues: _Issues
) -> str | None:
    raw = fields.get(key)
    if raw is None:
        return None
    text = _string(raw, (*path, key), issues, "a non-empty string")
    if isinstance(raw, str) and not text.strip():
        issues.add((*path, key), "the text is empty", "a non-empty string, or leave the field out")
    return text


def _string_list(
    fields: Mapping[str, Any], key: str, path: Path, issues: _Issues
) -> tuple[str, ...]:
    raw = fields.get(key)
    if raw is None:
        return ()
    items = _list(raw, (*path, key), issues, "a list of strings") or []
    return tuple(_string(item, (*path, key, index), issues) for index, item in enumerate(items))


def _optional_bool(fields: Mapping[str, Any], key: str, path: Path, issues: _Issues) -> bool:
    raw = fields.get(key)
    if raw is None:
        return False
    if not isinstance(raw, bool):
        issues.add((*path, key), f"got {_describe(raw)}", "true or false")
        return False
    return raw


def _optional_duration(
    fields: Mapping[str, Any], key: str, path: Path, issues: _Issues
) -> timedelta | None:
    raw = fields.get(key)
    if raw is None:
        return None
    here = (*path, key)
    if not isinstance(raw, str):
        issues.add(here, f"got {_describe(raw)}; a duration needs a unit", _DURATION)
        return None
    try:
        return parse_duration(raw)
    except InvalidInput as exc:
        issues.add(here, exc.message, _DURATION)
        return None


# --- small words -----------------------------------------------------------------------------


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _describe(value: object) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, str):
        return f"the text '{value}'"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    return f"a {type(value).__name__}"


def _a(noun: str) -> str:
    return f"{'an' if noun[:1] in tuple('aeiou') else 'a'} {noun}"


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _dotted(path: Path) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out
