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
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from functools import partial
from types import MappingProxyType
from typing import Any, TypeVar

from relman.domain.durations import DURATION_EXAMPLES, format_duration, parse_duration
from relman.domain.names import closest_name
from relman.domain.notes import BUMP_NAMES, NotesSettings
from relman.domain.versions import PRE_MAJOR, Version, parse_version
from relman.errors import ConfigError, ConfigIssue, InvalidInput

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
DRIVERS = ("script",)  # run drivers known today; more come later
ON_FAILURE = ("rollback", "fail")  # what a failed deployment leads to; absent means fail
STEP_PLACEHOLDERS = (  # what commands and URLs of a run step may use
    "service",
    "version",
    "previous_version",
    "environment",
    "slot",
    "deployment_id",
)

Path = tuple[str | int, ...]
INITIAL_VERSION = Version(0, 1, 0)  # a service's first release when it has no tag yet
DEFAULT_NOTES = NotesSettings()


# --- specs -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EnvironmentSpec:
    name: str
    tier: str
    on_failure: str | None = None  # one of ON_FAILURE; a service's own value wins

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "tier": self.tier, "on_failure": self.on_failure}


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
    on_failure: str | None = None  # one of ON_FAILURE; None: the environment's, else fail
    initial_version: Version = INITIAL_VERSION  # the first release when no tag exists yet
    pre_major: str = "major"  # one of PRE_MAJOR: what a breaking change does to 0.y.z
    notes: NotesSettings = DEFAULT_NOTES  # the file's `notes:` section, kept with the service

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
        }


@dataclass(frozen=True, slots=True)
class ConfigDocument:
    version: int
    environments: tuple[EnvironmentSpec, ...]
    lifecycles: tuple[LifecycleSpec, ...]
    services: tuple[ServiceSpec, ...]
    notes: NotesSettings = DEFAULT_NOTES

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "environments": [spec.to_dict() for spec in self.environments],
            "lifecycles": [spec.to_dict() for spec in self.lifecycles],
            "services": [spec.to_dict() for spec in self.services],
            "notes": self.notes.to_dict(),
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


def _plain(value: object) -> object:
    """A JSON-able copy: mappings become dicts, tuples and lists become lists."""
    if isinstance(value, Mapping):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


# --- the entry point -------------------------------------------------------------------------

_TOP_FIELDS = ("version", "environments", "lifecycles", "services", "notes")
_ENVIRONMENT_FIELDS = ("name", "tier", "on_failure")
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
)
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
    notes = _parse_notes(top.get("notes"), ("notes",), issues)
    return ConfigDocument(
        version=version,
        environments=tuple(environments or ()),
        lifecycles=tuple(lifecycles or ()),
        # Each service keeps the notes settings, so the server knows them too.
        services=tuple(replace(service, notes=notes) for service in services or ()),
        notes=notes,
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
    on_failure = _optional_choice(fields, "on_failure", path, issues, ON_FAILURE)
    return EnvironmentSpec(name=name, tier=tier, on_failure=on_failure)


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
        repository=_repository(fields, path, issues),
        tag_format=_tag_format(fields, path, issues),
        paths=_paths(fields, path, issues),
        run=_parse_run(fields.get("run"), (*path, "run"), issues),
        on_failure=_optional_choice(fields, "on_failure", path, issues, ON_FAILURE),
        initial_version=_initial_version(fields, path, issues),
        pre_major=_optional_choice(fields, "pre_major", path, issues, PRE_MAJOR) or "major",
    )


def _paths(fields: Mapping[str, Any], path: Path, issues: _Issues) -> tuple[str, ...]:
    paths = _string_list(fields, "paths", path, issues)
    for index, text in enumerate(paths):
        parts = text.replace("\\", "/").split("/")
        if text.startswith(("/", "\\")) or ".." in parts:
            issues.add(
                (*path, "paths", index),
                f"'{text}' is outside the repository",
                "a path from the repository's top, like services/api",
            )
    return paths


def _repository(fields: Mapping[str, Any], path: Path, issues: _Issues) -> str | None:
    text = _optional_string(fields, "repository", path, issues)
    if text and ("://" in text or text.startswith("git@")):
        issues.add(
            (*path, "repository"),
            f"'{text}' is a remote URL; relman reads git history from a checkout on disk",
            "the path of a checkout, relative to this file, like '.' or '../api'",
        )
    return text


def _initial_version(fields: Mapping[str, Any], path: Path, issues: _Issues) -> Version:
    raw = fields.get("initial_version")
    default = INITIAL_VERSION
    if raw is None:
        return default
    here = (*path, "initial_version")
    expected = "a release version like 0.1.0 or 1.0.0, quoted"
    if not isinstance(raw, str):
        issues.add(here, f"got {_describe(raw)}", expected)
        return default
    try:
        version = parse_version(raw)
    except InvalidInput as exc:
        issues.add(here, exc.message, expected)
        return default
    if version.prerelease or version.build:
        issues.add(here, f"'{raw}' is not a plain release", expected)
    return version


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
    issues = _Issues()
    settings = _parse_notes(data, ("notes",), issues)
    if issues.found:
        raise ConfigError(issues.found)
    return settings


def _parse_notes(raw: object, path: Path, issues: _Issues) -> NotesSettings:
    """The `notes:` section: which extra types show and bump, and how references link."""
    if raw is None:
        return NotesSettings()
    fields = _fields(raw, path, issues, "a mapping of release-note settings", _NOTES_FIELDS)
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
        include_unconventional=_optional_bool(fields, "include_unconventional", path, issues),
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
    issues: _Issues,
    value_of: Callable[[object, Path, _Issues], _Value | None],
) -> dict[str, _Value]:
    raw = fields.get(key)
    if raw is None:
        return {}
    expected = "a mapping from commit type to a value, like {docs: Documentation}"
    mapping = _mapping(raw, (*path, key), issues, expected)
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


def _section_title(raw: object, path: Path, issues: _Issues) -> str | None:
    text = _string(raw, path, issues, "a section title, like Documentation")
    return text.strip() or None


def _bump_name(raw: object, path: Path, issues: _Issues) -> Any:
    if not isinstance(raw, str) or raw not in BUMP_NAMES:
        choices = ", ".join(BUMP_NAMES)
        issues.add(
            path, f"got {_describe(raw)}", f"one of {choices} (only a breaking change is major)"
        )
        return None
    return BUMP_NAMES[raw]


def _ticket_keys(fields: Mapping[str, Any], path: Path, issues: _Issues) -> tuple[str, ...]:
    keys = _string_list(fields, "tickets", path, issues)
    for index, key in enumerate(keys):
        if key and not _TICKET_KEY.fullmatch(key):
            issues.add(
                (*path, "tickets", index),
                f"'{key}' is not a ticket project key",
                "upper-case letters and digits, like PROJ or OPS",
            )
    return keys


def _link(
    fields: Mapping[str, Any], key: str, placeholder: str, path: Path, issues: _Issues
) -> str | None:
    if fields.get(key) is None:
        return None
    here = (*path, key)
    expected = f"a URL with {placeholder} in it, like 'https://example.com/x/{placeholder}'"
    text = _string(fields[key], here, issues, expected)
    problem = _url_problem(text) if isinstance(fields[key], str) else None
    if problem is None and isinstance(fields[key], str) and placeholder not in text:
        problem = f"the URL '{text}' lacks {placeholder}"
    if problem:
        issues.add(here, problem, expected)
    return text or None


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

_SettingsParser = Callable[[Mapping[str, Any], Path, _Issues], dict[str, Any]]
_SCRIPT_FIELDS = ("deploy", "verify", "rollback", "shell", "timeout", "retries", "idempotent")
_STEP_FIELDS = ("command", "timeout", "retries", "idempotent")
_VERIFY_FIELDS = ("command", "url", "timeout", "retries", "idempotent")
_COMMAND_EXPECTED = (
    "a non-empty list of strings, like ['./deploy.sh', '{version}'], or one string with shell: true"
)
_URL_PREFIXES = ("http://", "https://")
_URL_EXPECTED = "a URL starting with http:// or https://, like 'http://127.0.0.1:8080/health'"
_PLACEHOLDER_EXPECTED = "a known placeholder, or {{ and }} for a literal brace"


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
    """The `script` driver: commands run without a shell unless `shell: true`.

    Each step is a read-only mapping of command, url, timeout, retries and idempotent; a step's
    None means "use the top-level default".
    """
    shell = _optional_bool(fields, "shell", path, issues)
    return {
        "deploy": _step(fields, "deploy", path, issues, shell=shell, required=True),
        "verify": _step(fields, "verify", path, issues, shell=shell),
        "rollback": _step(fields, "rollback", path, issues, shell=shell),
        "shell": shell,
        "timeout": _timeout(fields, path, issues),
        "retries": _retries(fields, path, issues) or 0,
        "idempotent": _optional_bool(fields, "idempotent", path, issues),
    }


_DRIVER_SCHEMAS: dict[str, tuple[tuple[str, ...], _SettingsParser]] = {
    "script": (_SCRIPT_FIELDS, _script_settings),
}


def _step(
    fields: Mapping[str, Any],
    key: str,
    path: Path,
    issues: _Issues,
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
    if key == "verify" and isinstance(raw, str) and raw.startswith(_URL_PREFIXES):
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
    return (
        f"a command like ['./{key}.sh', '{{version}}'], or a mapping with command and optional "
        "timeout, retries, idempotent"
    )


def _step_mapping(
    raw: Mapping[Any, Any], key: str, path: Path, issues: _Issues, *, shell: bool
) -> Mapping[str, Any]:
    fields = {str(name): value for name, value in raw.items()}
    misplaced_url = fields.pop("url", None) if key != "verify" else None
    if misplaced_url is not None:
        _refuse_url(key, misplaced_url, (*path, "url"), issues)
    _check_fields(fields, _VERIFY_FIELDS if key == "verify" else _STEP_FIELDS, path, issues)
    _check_one_target(fields, key, path, issues, url_refused=misplaced_url is not None)
    command, url = fields.get("command"), fields.get("url")
    if command is not None:
        command = _command(command, (*path, "command"), issues, shell=shell)
    return _step_spec(
        command=command,
        url=None if url is None else _url(url, (*path, "url"), issues),
        timeout=_timeout(fields, path, issues),
        retries=_retries(fields, path, issues),
        idempotent=_flag(fields, "idempotent", path, issues),
    )


def _refuse_url(key: str, raw: object, path: Path, issues: _Issues) -> None:
    example = raw if isinstance(raw, str) else "http://…"
    message = (
        f"url works only for verify; to call a URL from {key}, run a command, "
        f"like command: ['curl', '-fsS', '{example}']"
    )
    issues.add(path, message, f"command for {key}; url only for verify")


def _check_one_target(
    fields: Mapping[str, Any], key: str, path: Path, issues: _Issues, *, url_refused: bool
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
    raw: object, path: Path, issues: _Issues, *, shell: bool, expected: str = _COMMAND_EXPECTED
) -> str | tuple[str, ...] | None:
    if isinstance(raw, str):
        return _shell_command(raw, path, issues, shell=shell)
    if not isinstance(raw, list):
        issues.add(path, f"got {_describe(raw)}", expected)
        return None
    items = _list(raw, path, issues, _COMMAND_EXPECTED, non_empty=True)
    if items is None:
        return None
    return tuple(_template(item, (*path, index), issues) for index, item in enumerate(items))


def _shell_command(text: str, path: Path, issues: _Issues, *, shell: bool) -> str:
    if not shell:
        message = "a single string needs a shell; set shell: true, or write the command as a list"
        issues.add(path, message, _COMMAND_EXPECTED)
    elif not text.strip():
        issues.add(path, "the command is empty", _COMMAND_EXPECTED)
    _check_placeholders(text, path, issues)
    return text


def _template(raw: object, path: Path, issues: _Issues) -> str:
    """A string that may hold step placeholders, such as one item of a command."""
    text = _string(raw, path, issues)
    if isinstance(raw, str):
        _check_placeholders(text, path, issues)
    return text


def _url(raw: object, path: Path, issues: _Issues) -> str:
    text = _string(raw, path, issues, _URL_EXPECTED)
    if not isinstance(raw, str):
        return text
    problem = _url_problem(text)
    if problem:
        issues.add(path, problem, _URL_EXPECTED)
    else:
        _check_placeholders(text, path, issues)
    return text


def _url_problem(text: str) -> str | None:
    if not text.startswith(_URL_PREFIXES):
        return f"bad URL '{text}'; a URL starts with http:// or https://"
    if not text.partition("://")[2].partition("/")[0]:
        return f"bad URL '{text}'; it names no host"
    if any(char.isspace() for char in text):
        return f"bad URL '{text}'; it contains whitespace, write a space as %20"
    return None


def _check_placeholders(text: str, path: Path, issues: _Issues) -> None:
    try:
        placeholders = _placeholders(text)
    except ValueError as exc:
        issues.add(path, f"bad braces in '{text}': {exc}", _PLACEHOLDER_EXPECTED)
        return
    known = tuple("{" + name + "}" for name in STEP_PLACEHOLDERS)
    unknown = [item for item in placeholders if item not in known]
    if unknown:
        message = f"unknown placeholder {unknown[0]} in '{text}'; available: {', '.join(known)}"
        issues.add(path, message, _PLACEHOLDER_EXPECTED)


def _timeout(fields: Mapping[str, Any], path: Path, issues: _Issues) -> str | None:
    timeout = _optional_duration(fields, "timeout", path, issues)
    if timeout is None:
        return None
    if timeout == timedelta(0):
        message = "a timeout of 0s would stop every command at once"
        issues.add((*path, "timeout"), message, "a duration above 0s")
    return format_duration(timeout)


def _retries(fields: Mapping[str, Any], path: Path, issues: _Issues) -> int | None:
    raw = fields.get("retries")
    if raw is None:
        return None
    if not _is_int(raw) or raw < 0:
        message = "retries can't be negative" if _is_int(raw) else f"got {_describe(raw)}"
        issues.add((*path, "retries"), message, "a whole number ≥ 0")
        return None
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


def _optional_choice(
    fields: Mapping[str, Any], key: str, path: Path, issues: _Issues, choices: Sequence[str]
) -> str | None:
    if fields.get(key) is None:
        return None
    return _choice(fields, key, path, issues, choices)


def _optional_bool(fields: Mapping[str, Any], key: str, path: Path, issues: _Issues) -> bool:
    return _flag(fields, key, path, issues) or False


def _flag(fields: Mapping[str, Any], key: str, path: Path, issues: _Issues) -> bool | None:
    """True or false when given; None when absent (or unusable, after reporting it)."""
    raw = fields.get(key)
    if raw is None:
        return None
    if not isinstance(raw, bool):
        issues.add((*path, key), f"got {_describe(raw)}", "true or false")
        return None
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
