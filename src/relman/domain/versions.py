"""Semantic Versioning 2.0.0: parsing, precedence, and a sort key that databases can use.

Precedence follows semver.org §11: major, minor, patch numerically; a pre-release sorts before
its release; pre-release identifiers compare numerically when numeric, in ASCII order otherwise,
numeric before alphanumeric, and a shorter list first when all else is equal. Build metadata is
kept but ignored for precedence.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import IntEnum
from functools import total_ordering

from relman.errors import InvalidInput

__all__ = [
    "PRE_MAJOR",
    "RANGE_EXAMPLES",
    "Bump",
    "Version",
    "VersionRange",
    "bump_version",
    "check_prerelease_label",
    "next_prerelease",
    "parse_range",
    "parse_version",
]

MAX_DIGITS = 64  # longer numbers are refused: no real version needs them
MAX_LENGTH = 128  # as long as a container image tag may be
_NUM = r"0|[1-9][0-9]*"
_PRE_ID = r"(?:0|[1-9][0-9]*|[0-9]*[a-zA-Z-][0-9a-zA-Z-]*)"
_BUILD_ID = r"[0-9a-zA-Z-]+"
_SEMVER = re.compile(
    rf"^(?P<major>{_NUM})\.(?P<minor>{_NUM})\.(?P<patch>{_NUM})"
    rf"(?:-(?P<pre>{_PRE_ID}(?:\.{_PRE_ID})*))?"
    rf"(?:\+(?P<build>{_BUILD_ID}(?:\.{_BUILD_ID})*))?",
    re.ASCII,
)
_LONG_NUMBER = re.compile(rf"(?:^|[.+-])[0-9]{{{MAX_DIGITS + 1},}}(?:$|[.+-])")


@total_ordering
@dataclass(frozen=True)
class Version:
    major: int
    minor: int
    patch: int
    prerelease: tuple[str, ...] = ()
    build: tuple[str, ...] = ()

    def __str__(self) -> str:
        text = f"{self.major}.{self.minor}.{self.patch}"
        if self.prerelease:
            text += "-" + ".".join(self.prerelease)
        if self.build:
            text += "+" + ".".join(self.build)
        return text

    def _precedence(self) -> tuple[object, ...]:
        pre: tuple[object, ...] = tuple(
            (0, int(part), "") if part.isdigit() else (1, 0, part) for part in self.prerelease
        )
        # A release (no pre-release) outranks every pre-release of the same core version.
        return (self.major, self.minor, self.patch, 0 if self.prerelease else 1, pre)

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return self._precedence() < other._precedence()

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return self._precedence() == other._precedence()

    def __hash__(self) -> int:
        return hash(self._precedence())

    @property
    def is_prerelease(self) -> bool:
        return bool(self.prerelease)

    @property
    def core(self) -> tuple[int, int, int]:
        """MAJOR, MINOR, PATCH: what 1.5.0-rc.2 and 1.5.0 share."""
        return (self.major, self.minor, self.patch)

    def sort_key(self) -> str:
        """A string whose byte order is SemVer precedence (store it in a "C"-collated column)."""
        key = ".".join(_encode_number(n) for n in (self.major, self.minor, self.patch))
        if not self.prerelease:
            return key + "~"
        parts = ("0" + _encode_number(int(p)) if p.isdigit() else "1" + p for p in self.prerelease)
        # '!' sorts below every identifier character, so a shorter list sorts first.
        return key + "-" + "!".join(parts) + "!"


def _encode_number(value: int) -> str:
    digits = str(value)
    return f"{len(digits):03d}{digits}"


def parse_version(text: str) -> Version:
    """Parse a SemVer 2.0 string; a leading 'v' is not part of a version and is refused."""
    if isinstance(text, str) and len(text.strip()) > MAX_LENGTH:
        raise InvalidInput(
            f"Version '{text[:40]}…' is {len(text.strip())} characters long; at most "
            f"{MAX_LENGTH} are allowed",
            details={"value": text[:200]},
        )
    match = _SEMVER.fullmatch(text.strip()) if isinstance(text, str) else None
    if match is not None and _LONG_NUMBER.search(match.group(0)):
        raise InvalidInput(
            f"'{text[:40]}…' has a number longer than {MAX_DIGITS} digits; no version needs one",
            details={"value": text[:200]},
        )
    if match is None:
        hint = " (drop the leading 'v')" if isinstance(text, str) and text[:1] in ("v", "V") else ""
        raise InvalidInput(
            f"'{text}' is not a semantic version{hint}; expected MAJOR.MINOR.PATCH with optional "
            "-prerelease and +build, like 1.4.0, 1.4.0-rc.1 or 1.4.0+build.7",
            details={"value": text},
        )
    pre = match.group("pre")
    build = match.group("build")
    return Version(
        major=int(match.group("major")),
        minor=int(match.group("minor")),
        patch=int(match.group("patch")),
        prerelease=tuple(pre.split(".")) if pre else (),
        build=tuple(build.split(".")) if build else (),
    )


class Bump(IntEnum):
    """How much a set of changes moves a version; higher wins."""

    NONE = 0
    PATCH = 1
    MINOR = 2
    MAJOR = 3


PRE_MAJOR = ("major", "minor")  # what a breaking change does to 0.y.z


def bump_version(current: Version, bump: Bump, *, pre_major: str = "major") -> Version:
    """The next release after `current` (a release, not a pre-release) for `bump`.

    Before 1.0.0, pre_major 'major' (release-please's and semantic-release's default) takes a
    breaking change to 1.0.0; 'minor' keeps the project on 0.y.z: breaking → minor,
    feature → patch.
    """
    if current.major == 0 and pre_major == "minor" and bump > Bump.PATCH:
        bump = Bump(bump - 1)
    if bump == Bump.MAJOR:
        return Version(current.major + 1, 0, 0)
    if bump == Bump.MINOR:
        return Version(current.major, current.minor + 1, 0)
    if bump == Bump.PATCH:
        return Version(current.major, current.minor, current.patch + 1)
    return Version(current.major, current.minor, current.patch)


def next_prerelease(core: Version, label: str, existing: Iterable[Version]) -> Version:
    """`core`-`label`.N with N one above the highest `label`.N of `core` already in `existing`."""
    highest = 0
    for version in existing:
        pre = version.prerelease
        if version.core == core.core and len(pre) == 2 and pre[0] == label and pre[1].isdigit():
            highest = max(highest, int(pre[1]))
    return Version(core.major, core.minor, core.patch, prerelease=(label, str(highest + 1)))


_LABEL = re.compile(r"[0-9A-Za-z-]*[A-Za-z-][0-9A-Za-z-]*", re.ASCII)


def check_prerelease_label(label: str) -> str:
    """A pre-release label like 'rc', 'beta' or 'alpha': one alphanumeric SemVer identifier."""
    if not _LABEL.fullmatch(label):
        raise InvalidInput(
            f"'{label}' is not a pre-release label; use one word of letters, digits and '-' "
            "with at least one letter, like rc, beta or alpha",
            details={"field": "pre", "value": label},
        )
    return label


# --- ranges: which versions a dependency accepts ---------------------------------------------

_COMPARATOR = re.compile(r"\s*(>=|<=|==|!=|>|<|=|\^|~)?\s*(\S+)\s*")
_OPS: dict[str, Callable[[Version, Version], bool]] = {
    ">=": lambda v, b: v >= b,
    "<=": lambda v, b: v <= b,
    ">": lambda v, b: v > b,
    "<": lambda v, b: v < b,
    "=": lambda v, b: v == b,
    "==": lambda v, b: v == b,
    "!=": lambda v, b: v != b,
}
RANGE_EXAMPLES = "'>=2.3.0', '>=2.3.0, <3.0.0', '^2.3.0' (same major), '~2.3.0' (same minor)"


@dataclass(frozen=True)
class VersionRange:
    """Comparators that must all hold: `>=2.3.0, <3.0.0`; `^2.3.0` is `>=2.3.0, <3.0.0` (for
    0.x, `<0.(x+1).0`), `~2.3.0` is `>=2.3.0, <2.4.0`, a bare version means exactly it."""

    text: str
    bounds: tuple[tuple[str, Version], ...]

    def matches(self, version: Version) -> bool:
        return all(_OPS[op](version, bound) for op, bound in self.bounds)

    def __str__(self) -> str:
        return self.text


def parse_range(text: str) -> VersionRange:
    """InvalidInput names the part that is not a comparator and a version."""
    bounds: list[tuple[str, Version]] = []
    parts = text.split(",") if isinstance(text, str) else []
    if not parts or not all(part.strip() for part in parts):
        raise InvalidInput(
            f"'{text}' is not a version range; expected comparators separated by commas, like "
            f"{RANGE_EXAMPLES}",
            details={"value": text},
        )
    for part in parts:
        match = _COMPARATOR.fullmatch(part)
        op, raw = (match.group(1) or "=", match.group(2)) if match else ("", part)
        try:
            version = parse_version(raw)
        except InvalidInput as exc:
            raise InvalidInput(
                f"'{part.strip()}' in range '{text}': {exc.message}", details={"value": text}
            ) from None
        # the upper bound's pre-releases (3.0.0-rc.1) are above the range too: X.Y.Z-0 is the
        # lowest version of X.Y.Z
        if op == "^":
            upper = (
                Version(version.major + 1, 0, 0, ("0",))
                if version.major
                else Version(0, version.minor + 1, 0, ("0",))
            )
            bounds += [(">=", version), ("<", upper)]
        elif op == "~":
            upper = Version(version.major, version.minor + 1, 0, ("0",))
            bounds += [(">=", version), ("<", upper)]
        else:
            bounds.append((op, version))
    return VersionRange(text.strip(), tuple(bounds))
