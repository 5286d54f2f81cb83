"""Reading plain data (what a YAML loader returns) field by field, collecting every problem.

The config parsers (relman.domain.config, relman.domain.delivery_config) are built from these.
Each reader reports what is wrong to an `Issues` and still returns a value of the right type (a
placeholder such as "" where the input was unusable), so that checking goes on and one run
reports every problem. A problem is located by its path, e.g. ("services", 2, "lifecycle"), and
says what was wrong; `expected` says what would be right.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from relman.domain.durations import DURATION_EXAMPLES, parse_duration
from relman.domain.names import closest_name
from relman.errors import ConfigIssue, InvalidInput

__all__ = [
    "DURATION_EXPECTED",
    "NAME_RULE",
    "URL_PREFIXES",
    "Defined",
    "Issues",
    "Path",
    "check_fields",
    "check_unique",
    "choice",
    "describe",
    "dotted",
    "fields",
    "flag",
    "is_int",
    "list_of",
    "mapping",
    "optional_bool",
    "optional_choice",
    "optional_duration",
    "optional_string",
    "plain",
    "plural",
    "reference",
    "required_list",
    "required_name",
    "string",
    "string_list",
    "suggest",
    "url_problem",
    "with_article",
]

Path = tuple[str | int, ...]
NAME = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?", re.ASCII)
NAME_RULE = "at most 63 lowercase letters, digits and inner '-'"
DURATION_EXPECTED = f"a duration like {DURATION_EXAMPLES}"
URL_PREFIXES = ("http://", "https://")


class Issues:
    """Collects problems so that one run reports them all."""

    def __init__(self) -> None:
        self.found: list[ConfigIssue] = []

    def add(self, path: Path, message: str, expected: str | None = None) -> None:
        self.found.append(ConfigIssue(path=path, message=message, expected=expected))


@dataclass(frozen=True)
class Defined:
    """Names a reference may use; `names` is None when the section itself was unreadable (or
    is not at hand, as in the server's copy of a service), so nothing can be checked.

    `plural` is for kinds whose plural is not kind + "s" ("analyses"); with `hint`, an unknown
    name gets a "did you mean" when one is close.
    """

    kind: str
    names: tuple[str, ...] | None
    plural: str = ""
    hint: bool = False

    def check(self, value: str, path: Path, issues: Issues) -> None:
        if self.names is None or not value or value in self.names:
            return
        plural = self.plural or f"{self.kind}s"
        known = f"defined: {', '.join(self.names)}" if self.names else f"no {plural} are defined"
        expected = f"the name of {with_article(self.kind)} defined in this file"
        guess = closest_name(value, self.names) if self.hint else None
        meant = f" (did you mean '{guess}'?)" if guess else ""
        issues.add(path, f"unknown {self.kind} '{value}'{meant}; {known}", expected)


# --- containers -------------------------------------------------------------------------------


def mapping(raw: object, path: Path, issues: Issues, expected: str) -> dict[str, Any] | None:
    if not isinstance(raw, Mapping):
        issues.add(path, f"got {describe(raw)}", expected)
        return None
    return {str(key): value for key, value in raw.items()}


def fields(
    raw: object, path: Path, issues: Issues, expected: str, allowed: Sequence[str]
) -> dict[str, Any] | None:
    """A mapping whose keys must all be in `allowed`; None (reported) when not a mapping."""
    found = mapping(raw, path, issues, expected)
    if found is not None:
        check_fields(found, allowed, path, issues)
    return found


def check_fields(
    found: Mapping[str, Any], allowed: Sequence[str], path: Path, issues: Issues
) -> None:
    for key in found:
        if key in allowed:
            continue
        guess = closest_name(key, allowed)
        hint = f"; did you mean '{guess}'?" if guess else ""
        issues.add((*path, key), f"unknown field '{key}'{hint}", "one of: " + ", ".join(allowed))


def list_of(
    raw: object, path: Path, issues: Issues, expected: str, *, non_empty: bool = False
) -> list[Any] | None:
    if not isinstance(raw, list):
        issues.add(path, f"got {describe(raw)}", expected)
        return None
    if non_empty and not raw:
        issues.add(path, "the list is empty", expected)
        return None
    return raw


def required_list(
    found: Mapping[str, Any], key: str, path: Path, issues: Issues, expected: str
) -> list[Any]:
    raw = found.get(key)
    if raw is None:
        issues.add((*path, key), f"required field '{key}' is missing", expected)
        return []
    return list_of(raw, (*path, key), issues, expected, non_empty=True) or []


def check_unique(names: Sequence[str], kind: str, list_path: Path, issues: Issues) -> None:
    """Each name once in a list of named items; "" (an unusable name) is skipped."""
    first_at: dict[str, int] = {}
    for index, name in enumerate(names):
        if not name:
            continue
        if name in first_at:
            where = dotted((*list_path, first_at[name]))
            message = f"duplicate {kind} name '{name}' (first defined at {where})"
            issues.add((*list_path, index, "name"), message, f"a unique {kind} name")
        else:
            first_at[name] = index


# --- values -----------------------------------------------------------------------------------


def string(raw: object, path: Path, issues: Issues, expected: str = "a string") -> str:
    if isinstance(raw, str):
        return raw
    message = f"got {describe(raw)}"
    if isinstance(raw, int | float | date):
        message += "; put it in quotes if you meant it as text"
    issues.add(path, message, expected)
    return ""


def required_name(found: Mapping[str, Any], path: Path, issues: Issues, kind: str) -> str:
    """The `name` of an item: it appears in URLs and commands, so it follows NAME_RULE."""
    here = (*path, "name")
    expected = f"{with_article(kind)} name: {NAME_RULE}"
    raw = found.get("name")
    if raw is None:
        issues.add(here, "required field 'name' is missing", expected)
        return ""
    name = string(raw, here, issues, expected)
    if isinstance(raw, str) and not NAME.fullmatch(name):
        issues.add(here, f"bad {kind} name '{name}'; names appear in URLs and commands", expected)
    return name


def reference(
    found: Mapping[str, Any], key: str, path: Path, issues: Issues, defined: Defined
) -> str:
    """A required field naming something defined elsewhere in the file."""
    here = (*path, key)
    expected = f"the name of {with_article(defined.kind)} defined in this file"
    raw = found.get(key)
    if raw is None:
        issues.add(here, f"required field '{key}' is missing", expected)
        return ""
    name = string(raw, here, issues, expected)
    defined.check(name, here, issues)
    return name


def choice(
    found: Mapping[str, Any], key: str, path: Path, issues: Issues, choices: Sequence[str]
) -> str:
    here = (*path, key)
    expected = "one of: " + ", ".join(choices)
    raw = found.get(key)
    if raw is None:
        issues.add(here, f"required field '{key}' is missing", expected)
        return ""
    value = string(raw, here, issues, expected)
    if isinstance(raw, str) and value not in choices:
        issues.add(here, f"unknown {key} '{value}'; {suggest(value, choices)}", expected)
    return value


def suggest(value: str, choices: Sequence[str]) -> str:
    guess = closest_name(value, choices)
    return f"did you mean '{guess}'?" if guess else f"available: {', '.join(choices)}"


def optional_string(found: Mapping[str, Any], key: str, path: Path, issues: Issues) -> str | None:
    raw = found.get(key)
    if raw is None:
        return None
    text = string(raw, (*path, key), issues, "a non-empty string")
    if isinstance(raw, str) and not text.strip():
        issues.add((*path, key), "the text is empty", "a non-empty string, or leave the field out")
    return text


def string_list(found: Mapping[str, Any], key: str, path: Path, issues: Issues) -> tuple[str, ...]:
    raw = found.get(key)
    if raw is None:
        return ()
    items = list_of(raw, (*path, key), issues, "a list of strings") or []
    return tuple(string(item, (*path, key, index), issues) for index, item in enumerate(items))


def optional_choice(
    found: Mapping[str, Any], key: str, path: Path, issues: Issues, choices: Sequence[str]
) -> str | None:
    if found.get(key) is None:
        return None
    return choice(found, key, path, issues, choices)


def optional_bool(found: Mapping[str, Any], key: str, path: Path, issues: Issues) -> bool:
    return flag(found, key, path, issues) or False


def flag(found: Mapping[str, Any], key: str, path: Path, issues: Issues) -> bool | None:
    """True or false when given; None when absent (or unusable, after reporting it)."""
    raw = found.get(key)
    if raw is None:
        return None
    if not isinstance(raw, bool):
        issues.add((*path, key), f"got {describe(raw)}", "true or false")
        return None
    return raw


def optional_duration(
    found: Mapping[str, Any], key: str, path: Path, issues: Issues
) -> timedelta | None:
    raw = found.get(key)
    if raw is None:
        return None
    here = (*path, key)
    if not isinstance(raw, str):
        issues.add(here, f"got {describe(raw)}; a duration needs a unit", DURATION_EXPECTED)
        return None
    try:
        return parse_duration(raw)
    except InvalidInput as exc:
        issues.add(here, exc.message, DURATION_EXPECTED)
        return None


def url_problem(text: str) -> str | None:
    """What is wrong with an http(s) URL, in a few words; None when nothing is."""
    if not text.startswith(URL_PREFIXES):
        return f"bad URL '{text}'; a URL starts with http:// or https://"
    if not text.partition("://")[2].partition("/")[0]:
        return f"bad URL '{text}'; it names no host"
    if any(char.isspace() for char in text):
        return f"bad URL '{text}'; it contains whitespace, write a space as %20"
    return None


# --- small words ------------------------------------------------------------------------------


def is_int(value: object) -> bool:
    """A whole number, not a bool (YAML's true is an int to Python)."""
    return isinstance(value, int) and not isinstance(value, bool)


def describe(value: object) -> str:
    """A value as a message names it: "the text 'x'", "the number 3", "a mapping"."""
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


def with_article(noun: str) -> str:
    # an initialism is read letter by letter: "an SLO", "an HTTP check"
    vowel = noun[:1] in tuple("AEFHILMNORSX") if noun.isupper() else noun[:1] in tuple("aeiou")
    return f"{'an' if vowel else 'a'} {noun}"


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def dotted(path: Path) -> str:
    """A path as messages write it: services[0].run."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


def plain(value: object) -> object:
    """A JSON-able copy: mappings become dicts, tuples and lists become lists."""
    if isinstance(value, Mapping):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    return value
