"""CI test results: a JUnit XML report read into a `TestSummary`, and a coverage percentage.

`parse_junit` reads what pytest (`--junitxml`, either `junit_family`), Maven Surefire, Gradle,
Jest and PHPUnit write: a `<testsuites>` root holding `<testsuite>`s, a `<testsuite>` root, and
suites nested in suites. It counts `<testcase>` elements by their `<error>`, `<failure>` or
`<skipped>` child, in that order, so a testcase has one outcome (pytest writes a second testcase
for an error in teardown); Surefire's `<flakyFailure>`/`<rerunFailure>` are not failures. The
`tests=`, `failures=`, … attributes of the outermost suites carrying them count only in a report
without testcases.

The report comes from CI and is untrusted. Since Expat 2.4.0 (CVE-2013-0340; CPython bundles
≥ 2.4.1 since 3.9.7) entity expansion has an amplification limit, and "billion laughs" fails fast
("limit on input amplification factor … breached"; so it does with the Expat 2.5.0 relman's venv
links). But Python may link an older system Expat, and the Python docs ("XML security") say Expat
before 2.7.2 may still suffer quadratic blowup, large tokens or disproportionate memory use. No
JUnit report needs a DTD, so `<!DOCTYPE` is refused where Expat meets it, before any entity is
declared; size and nesting depth are capped, and elements are counted as they stream by.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal
from xml.parsers import expat

from relman.errors import InvalidInput

__all__ = [
    "MAX_FAILED_CASES",
    "MAX_REPORT_BYTES",
    "FailedCase",
    "TestSummary",
    "parse_coverage",
    "parse_junit",
]

MAX_REPORT_BYTES = 50 * 1024 * 1024  # larger uploads are refused before parsing
MAX_FAILED_CASES = 50  # failed cases kept in a summary; `failed_total` counts them all
MAX_MESSAGE_LENGTH = 500
MAX_DEPTH = 256  # element nesting; real reports nest a few levels
_TEXT_CAP = 4096  # characters of a <failure>'s text kept to find its first line
_COUNTS = ("tests", "failures", "errors", "skipped")
_SUITES = ("testsuites", "testsuite")
_GIVE = "give the file pytest --junitxml or your test runner wrote"

Kind = Literal["failure", "error"]


@dataclass(frozen=True, slots=True)
class FailedCase:
    suite: str
    classname: str
    name: str
    kind: Kind
    message: str  # the `message` attribute, else the first line of the text; ≤ 500 characters


@dataclass(frozen=True, slots=True)
class TestSummary:
    __test__ = False  # not a test class for pytest, though its name starts with "Test"

    tests: int
    failures: int
    errors: int
    skipped: int
    duration_seconds: float
    suites: int
    failed_cases: tuple[FailedCase, ...] = ()  # the first MAX_FAILED_CASES of failed_total
    failed_total: int = 0

    @property
    def passed(self) -> bool:
        """No failure, no error, and at least one test: a report without tests does not pass."""
        return self.tests > 0 and self.failures == 0 and self.errors == 0

    @property
    def verdict(self) -> str:
        if self.tests == 0:
            return "not passed: the report has no tests, and a report without tests does not pass"
        if self.passed:
            return f"passed: {_n(self.tests, 'test')}, {self.skipped} skipped"
        failed = f"{_n(self.failures, 'failure')}, {_n(self.errors, 'error')}"
        return f"failed: {failed} in {_n(self.tests, 'test')}"

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "failed_cases": [asdict(case) for case in self.failed_cases]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TestSummary:
        try:
            cases = tuple(FailedCase(**case) for case in data["failed_cases"])
            return cls(**{**data, "failed_cases": cases})
        except (KeyError, TypeError) as exc:
            raise InvalidInput(
                f"Not a test summary ({exc}); expected what TestSummary.to_dict() writes"
            ) from exc


def parse_junit(data: bytes, source: str = "report.xml") -> TestSummary:
    """Summarise a JUnit XML report; InvalidInput says what is wrong, where, and the way out."""
    if len(data) > MAX_REPORT_BYTES:
        raise InvalidInput(
            f"{source} is {len(data):,} bytes; at most {MAX_REPORT_BYTES:,} are accepted: "
            "split the report by suite, or leave test output (<system-out>) out of it"
        )
    if not data or data.isspace():
        raise InvalidInput(f"{source} is empty; {_GIVE}")
    parser = expat.ParserCreate()
    reader = _Reader(parser, source)
    parser.buffer_text = True
    parser.StartDoctypeDeclHandler = parser.EntityDeclHandler = reader.refuse_dtd
    parser.StartElementHandler = reader.start
    parser.EndElementHandler = reader.end
    parser.CharacterDataHandler = reader.text
    try:
        parser.Parse(data, True)
    except expat.ExpatError as exc:
        where = f"{source}:{exc.lineno}:{exc.offset + 1}"
        reason = re.sub(r"^not well-formed \((.*)\)$", r"\1", expat.ErrorString(exc.code))
        raise InvalidInput(f"{where}: not well-formed XML ({reason}); {_GIVE}") from None
    return reader.summary()


def parse_coverage(text: str) -> float:
    """A line coverage percentage: "87.5" or "87.5%" → 87.5."""
    value = _number(text.strip().removesuffix("%"))
    if math.isnan(value):
        raise InvalidInput(f"Coverage {text!r} is not a number; give a percentage like 87.5%")
    if not 0 <= value <= 100:
        raise InvalidInput(f"Coverage {text!r} is not between 0 and 100; give one like 87.5%")
    return value


@dataclass(slots=True)
class _Suite:
    """An open <testsuite> or <testsuites>."""

    tag: str
    name: str
    depth: int
    counted: bool  # this suite or an outer one carries tests=
    timed: bool  # this suite or an outer one carries time=
    has_cases: bool = False
    has_suites: bool = False


@dataclass(slots=True)
class _Case:
    """An open <testcase> and the result elements seen in it so far."""

    suite: str
    classname: str
    name: str
    depth: int
    results: set[str] = field(default_factory=set)


class _Reader:
    """Expat handlers that count testcases as they stream by; no tree is built."""

    def __init__(self, parser: expat.XMLParserType, source: str) -> None:
        self._parser, self._source = parser, source
        self._depth = 0
        self._suites: list[_Suite] = []
        self._case: _Case | None = None
        self._result: tuple[Kind, dict[str, str]] | None = None  # an open <failure>/<error>
        self._text = ""
        self._counts = dict.fromkeys(_COUNTS, 0)
        self._suite_count = 0
        self._failed: list[FailedCase] = []
        self._failed_total = 0
        self._seconds = {"testcase": 0.0, "testsuite": 0.0}
        self._timed = False  # a suite has time=: the suites' times count, not the testcases'
        self._attribute_counts: list[tuple[str, dict[str, str]]] = []  # (where, attributes)

    def _where(self) -> str:
        line, column = self._parser.CurrentLineNumber, self._parser.CurrentColumnNumber
        return f"{self._source}:{line}:{column + 1}"

    def refuse_dtd(self, name: str, *_: object) -> None:
        raise InvalidInput(
            f"{self._where()}: the report declares a DTD or entity ({name}); relman refuses them "
            "in uploaded XML, and no JUnit report needs one: remove the <!DOCTYPE …> declaration"
        )

    def start(self, tag: str, attrs: dict[str, str]) -> None:
        self._depth += 1
        if self._depth == 1 and tag not in _SUITES:
            raise InvalidInput(
                f"{self._source}: the root element is <{tag}>, not <testsuites> or <testsuite>: "
                f"is this a JUnit XML report? Give the file pytest --junitxml or your test "
                "runner wrote"
            )
        if self._depth > MAX_DEPTH:
            raise InvalidInput(f"{self._where()}: elements nest over {MAX_DEPTH} deep; {_GIVE}")
        case = self._case
        if tag in _SUITES:
            self._open_suite(tag, attrs)
        elif tag == "testcase" and case is None:
            self._open_case(attrs)
        elif case is not None and self._depth == case.depth + 1:
            case.results.add(tag)
            if tag in ("failure", "error"):
                self._result = ("error" if tag == "error" else "failure", attrs)
                self._text = ""

    def text(self, data: str) -> None:
        if self._result is not None and len(self._text) < _TEXT_CAP:
            self._text += data

    def end(self, tag: str) -> None:
        case = self._case
        if case is not None and self._depth == case.depth + 1 and self._result is not None:
            self._close_result(case, *self._result)
        elif case is not None and self._depth == case.depth:
            self._close_case(case)
        elif self._suites and self._depth == self._suites[-1].depth:
            suite = self._suites.pop()
            if suite.tag == "testsuite" and (suite.has_cases or not suite.has_suites):
                self._suite_count += 1
        self._depth -= 1

    def _open_suite(self, tag: str, attrs: dict[str, str]) -> None:
        outer = self._suites[-1] if self._suites else None
        counted = outer is not None and outer.counted
        if not counted and "tests" in attrs:
            self._attribute_counts.append((self._where(), attrs))
            counted = True
        timed = outer is not None and outer.timed
        if not timed and "time" in attrs:
            self._seconds["testsuite"] += _seconds(attrs["time"])
            self._timed = timed = True
        if outer is not None and tag == "testsuite":
            outer.has_suites = True
        self._suites.append(_Suite(tag, attrs.get("name", ""), self._depth, counted, timed))

    def _open_case(self, attrs: dict[str, str]) -> None:
        suite = self._suites[-1] if self._suites else None
        if suite is not None:
            suite.has_cases = True
        names = (attrs.get("classname", ""), attrs.get("name", ""))
        self._case = _Case(suite.name if suite else "", *names, depth=self._depth)
        self._seconds["testcase"] += _seconds(attrs.get("time", "0"))

    def _close_case(self, case: _Case) -> None:
        self._counts["tests"] += 1
        for result, count in (("error", "errors"), ("failure", "failures"), ("skipped", "skipped")):
            if result in case.results:
                self._counts[count] += 1
                break
        self._case = None

    def _close_result(self, case: _Case, kind: Kind, attrs: dict[str, str]) -> None:
        message = attrs.get("message", "").strip() or _first_line(self._text)
        message = message or attrs.get("type", "").strip()
        if len(message) > MAX_MESSAGE_LENGTH:
            message = message[: MAX_MESSAGE_LENGTH - 1] + "…"
        self._failed_total += 1
        if len(self._failed) < MAX_FAILED_CASES:
            self._failed.append(FailedCase(case.suite, case.classname, case.name, kind, message))
        self._result = None

    def summary(self) -> TestSummary:
        counts = self._counts
        if counts["tests"] == 0 and self._attribute_counts:
            counts = {name: 0 for name in _COUNTS}
            for where, attrs in self._attribute_counts:
                for name in _COUNTS:
                    counts[name] += _count(attrs.get(name, "0"), name, where)
        seconds = self._seconds["testsuite" if self._timed else "testcase"]
        return TestSummary(
            **counts,
            duration_seconds=round(seconds, 3),
            suites=self._suite_count,
            failed_cases=tuple(self._failed),
            failed_total=self._failed_total,
        )


def _first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), "")


def _number(text: str) -> float:
    """The finite float `text` spells, else NaN."""
    try:
        value = float(text)
    except ValueError:
        return math.nan
    return value if math.isfinite(value) else math.nan


def _seconds(text: str) -> float:
    """A time= attribute: "1,234.5" (old Surefire) is 1234.5, nonsense 0 (it is only shown)."""
    value = _number(text.replace(",", ""))
    return value if value > 0 else 0.0


def _count(text: str, name: str, where: str) -> int:
    if not (text.isascii() and text.strip().isdigit() and len(text) <= 12):
        raise InvalidInput(
            f"{where}: {name}={text!r} is not a whole number, and with no <testcase> in the "
            f"report, relman counts from these attributes; {_GIVE}"
        )
    return int(text)


def _n(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"
