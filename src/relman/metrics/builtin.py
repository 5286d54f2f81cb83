"""The `builtin` metric provider: a small PromQL subset over the samples posted to relman's API.

The language (docs/metrics.md has examples):

    expr      := term (('+' | '-') term)*
    term      := unary (('*' | '/') unary)*
    unary     := ('-' | '+') unary | primary
    primary   := NUMBER | '(' expr ')' | 'sum' '(' expr ')'
               | ('rate' | 'increase') '(' selector '[' DURATION ']' ')' | selector
    selector  := METRIC ('{' (matcher (',' matcher)* ','?)? '}')?
    matcher   := LABEL ('=' | '!=' | '=~' | '!~') STRING

- a selector gives the latest sample of each matching series (name + full label set) at or
  before `at` and less than LOOKBACK (5 minutes) old; a label a series lacks matches "", and a
  regex must match the whole value, like PromQL;
- `increase(s[d])` is the last sample in (at - d, at] minus the first, plus the value before each
  drop (a counter that restarted from 0); `rate` divides that by the seconds between the first
  and the last sample. No extrapolation; a series needs two samples at different times;
- `sum(e)` adds the series of `e` into one; the sum of no series is no series (`[]`);
- `+ - * /` take a number and anything, or two sides of at most one series each; a side without
  series gives none; `x/0` is ±Inf and `0/0` NaN, like PromQL.

What `query` returns, like the prometheus provider: one series or a number: a float; several
series: a list of floats (ordered by their labels); none: `[]`. A query it refuses raises
MetricQueryError with `details["position"]` (characters before the problem) and, for syntax,
`details["expected"]`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import NoReturn, Protocol

from sqlalchemy import select

from relman.metrics.prometheus import MetricQueryError
from relman.store.database import Database
from relman.store.tables import MetricSampleRow
from relman.store.unit_of_work import Clock, read_session, utcnow

__all__ = [
    "LOOKBACK",
    "MAX_QUERY_LENGTH",
    "RETENTION",
    "BuiltinProvider",
    "MemorySamples",
    "Sample",
    "SampleSource",
    "StoredSamples",
    "evaluate",
    "parse_query",
]

LOOKBACK = timedelta(minutes=5)  # a series without a newer sample is stale, like Prometheus
RETENTION = timedelta(hours=24)  # posting deletes samples older than this
MAX_QUERY_LENGTH = 10_000
_MAX_DEPTH = 50  # parentheses, functions and signs inside each other
_MAX_OPERATORS = 100  # binary operators in a query
_FUNCTIONS = ("increase", "rate", "sum")


# --- samples and where they come from ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Sample:
    name: str
    labels: Mapping[str, str]
    value: float
    at: datetime


class SampleSource(Protocol):
    def samples(self, name: str, start: datetime, end: datetime) -> Iterable[Sample]:
        """The samples named `name` with start < at <= end, oldest first (as posted, on ties)."""
        ...


@dataclass
class MemorySamples:
    """A SampleSource over a list, for tests; `append` adds a sample."""

    items: list[Sample] = field(default_factory=list)

    def append(self, name: str, value: float, at: datetime, /, **labels: str) -> None:
        self.items.append(Sample(name, labels, value, at))

    def samples(self, name: str, start: datetime, end: datetime) -> Iterator[Sample]:
        chosen = [s for s in self.items if s.name == name and start < s.at <= end]
        return iter(sorted(chosen, key=lambda s: s.at))


@dataclass(frozen=True)
class StoredSamples:
    """The samples in the store: one SQL query per selector, by name and time (the index)."""

    database: Database

    def samples(self, name: str, start: datetime, end: datetime) -> Iterator[Sample]:
        row = MetricSampleRow
        statement = (
            select(row.labels, row.value, row.at)
            .where(row.name == name, row.at > start, row.at <= end)
            .order_by(row.at, row.id)
            .execution_options(yield_per=1000)
        )
        with read_session(self.database) as session:
            for labels, value, at in session.execute(statement):
                yield Sample(name, labels, value, at)


@dataclass(frozen=True)
class BuiltinProvider:
    """Answers an analysis' queries from the samples posted to relman (see the docstring)."""

    database: Database
    clock: Clock = utcnow

    def query(self, text: str, at: datetime | None = None) -> float | list[float]:
        return evaluate(text, StoredSamples(self.database), self.clock() if at is None else at)


# --- the syntax tree -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Matcher:
    label: str
    op: str  # = != =~ !~
    value: str
    pattern: re.Pattern[str] | None = None  # for =~ and !~

    def matches(self, labels: Mapping[str, str]) -> bool:
        actual = labels.get(self.label, "")
        if self.pattern is None:
            return (actual == self.value) == (self.op == "=")
        return (self.pattern.fullmatch(actual) is not None) == (self.op == "=~")


@dataclass(frozen=True, slots=True)
class Number:
    value: float
    position: int


@dataclass(frozen=True, slots=True)
class Selector:
    name: str
    matchers: tuple[Matcher, ...]
    position: int

    def matches(self, labels: Mapping[str, str]) -> bool:
        return all(m.matches(labels) for m in self.matchers)


@dataclass(frozen=True, slots=True)
class RangeFunction:
    function: str  # rate, increase
    selector: Selector
    seconds: float
    position: int


@dataclass(frozen=True, slots=True)
class Sum:
    argument: Expr
    position: int


@dataclass(frozen=True, slots=True)
class Binary:
    op: str
    left: Expr
    right: Expr
    position: int


Expr = Number | Selector | RangeFunction | Sum | Binary


# --- tokens --------------------------------------------------------------------------------


_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
    | (?P<duration>(?:[0-9]+(?:ms|[smhdwy]))+)(?![A-Za-z0-9_:])
    | (?P<number>(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)
    | (?P<name>[A-Za-z_:][A-Za-z0-9_:]*)
    | (?P<string>"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'|`[^`]*`)
    | (?P<op>=~|!~|!=|[-+*/(){}\[\],=])
    """,
    re.VERBOSE,
)
_ESCAPES = {"n": "\n", "t": "\t", "\\": "\\", '"': '"', "'": "'"}
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}
_LABEL = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # duration number name string op end
    text: str
    position: int

    def describe(self) -> str:
        return "the end of the query" if self.kind == "end" else repr(self.text)


def _tokens(query: str) -> list[_Token]:
    found, position = [], 0
    while position < len(query):
        match = _TOKEN.match(query, position)
        if match is None:
            char = query[position]
            what = "an unterminated string" if char in "\"'`" else f"the character {char!r}"
            _fail(query, position, "a number, a name, a string or an operator", what)
        kind = match.lastgroup or "op"
        if kind != "space":
            found.append(_Token(kind, match.group(), position))
        position = match.end()
    found.append(_Token("end", "", len(query)))
    return found


def _fail(query: str, position: int, expected: str, found: str, hint: str = "") -> NoReturn:
    raise MetricQueryError(
        f"Bad query at position {position} ({_near(query, position)}): expected {expected}, "
        f"found {found}{hint}",
        details={"query": query, "position": position, "expected": expected, "found": found},
    )


def _near(query: str, position: int) -> str:
    """Where `position` is, for people: "after 'sum(rate(x', at '[1m])'"."""
    before = query[max(0, position - 30) : position]
    at = f"at {query[position : position + 30]!r}" if position < len(query) else "at the end"
    return f"after {before!r}, {at}" if before else at


# --- the parser ----------------------------------------------------------------------------


def parse_query(query: str) -> Expr:
    """The syntax tree of `query`; MetricQueryError names the position and what was expected."""
    if len(query) > MAX_QUERY_LENGTH:
        raise MetricQueryError(
            f"The query is {len(query)} characters long; at most {MAX_QUERY_LENGTH}",
            details={"position": MAX_QUERY_LENGTH, "expected": "the end of the query"},
        )
    return _Parser(query).parse()


class _Parser:
    def __init__(self, query: str) -> None:
        self.query = query
        self.tokens = _tokens(query)
        self.index = 0
        self.depth = 0
        self.operators = 0

    def parse(self) -> Expr:
        expr = self.expression()
        self.expect("end", "an operator (+ - * /) or the end of the query")
        return expr

    def peek(self) -> _Token:
        return self.tokens[self.index]

    def take(self) -> _Token:
        token = self.tokens[self.index]
        self.index += min(1, len(self.tokens) - 1 - self.index)
        return token

    def accept(self, text: str) -> _Token | None:
        token = self.peek()
        return self.take() if token.kind == "op" and token.text == text else None

    def expect(self, text: str, expected: str) -> _Token:
        token = self.peek()
        if (token.kind == "end" and text == "end") or (token.kind == "op" and token.text == text):
            return self.take()
        self.fail(expected, token)

    def fail(self, expected: str, token: _Token, hint: str = "") -> NoReturn:
        _fail(self.query, token.position, expected, token.describe(), hint)

    def expression(self) -> Expr:
        left = self.term()
        while (token := self.peek()).kind == "op" and token.text in ("+", "-"):
            self.count_operator(token)
            left = Binary(self.take().text, left, self.term(), token.position)
        return left

    def term(self) -> Expr:
        left = self.unary()
        while (token := self.peek()).kind == "op" and token.text in ("*", "/"):
            self.count_operator(token)
            left = Binary(self.take().text, left, self.unary(), token.position)
        return left

    def count_operator(self, token: _Token) -> None:
        self.operators += 1
        if self.operators > _MAX_OPERATORS:
            self.fail(f"at most {_MAX_OPERATORS} operators", token)

    def unary(self) -> Expr:
        token = self.peek()
        if token.kind == "op" and token.text in ("+", "-"):
            self.take()
            operand = self.nested(self.unary)
            sign = -1.0 if token.text == "-" else 1.0
            return Binary("*", Number(sign, token.position), operand, token.position)
        return self.primary()

    def nested(self, parse: Callable[[], Expr]) -> Expr:
        if self.depth >= _MAX_DEPTH:
            self.fail(f"at most {_MAX_DEPTH} levels of nesting", self.peek(), "")
        self.depth += 1
        try:
            return parse()
        finally:
            self.depth -= 1

    def primary(self) -> Expr:
        token = self.peek()
        if token.kind == "number":
            return Number(float(self.take().text), token.position)
        if token.kind == "op" and token.text == "(":
            self.take()
            inner = self.nested(self.expression)
            self.expect(")", "')' or an operator (+ - * /)")
            return inner
        if token.kind == "name":
            after = self.tokens[self.index + 1]
            if token.text in _FUNCTIONS or (after.kind == "op" and after.text == "("):
                return self.nested(self.call)
            return self.selector()
        self.fail("a number, a metric name, a function (sum, rate, increase) or '('", token)

    def call(self) -> Expr:
        name = self.take()
        if name.text not in _FUNCTIONS:
            _fail(
                self.query,
                name.position,
                "one of the functions " + ", ".join(_FUNCTIONS),
                repr(name.text),
                "; the builtin provider knows only these",
            )
        if name.text == "sum":
            return self.sum(name)
        self.expect("(", f"'(' after {name.text}")
        selector = self.selector(ranged=True)
        self.expect("[", f"a range like [1m] after the selector in {name.text}()")
        duration = self.take()
        if duration.kind != "duration":
            self.fail("a duration like 30s, 5m or 1h", duration)
        seconds = self.seconds(duration)
        self.expect("]", "']' after the duration")
        self.expect(")", f"')' to close {name.text}(")
        return RangeFunction(name.text, selector, seconds, name.position)

    def sum(self, name: _Token) -> Expr:
        if (grouping := self.peek()).text in ("by", "without"):
            self.fail("'(' after sum", grouping, hint=f"; 'sum {grouping.text}' is not supported")
        self.expect("(", "'(' after sum")
        argument = self.expression()
        if _is_number(argument):
            _fail(self.query, name.position, "series inside sum()", "only numbers")
        self.expect(")", "')' to close sum( or an operator (+ - * /)")
        if (grouping := self.peek()).text in ("by", "without"):
            self.fail("an operator or the end", grouping, hint=f"; '{grouping.text}' not supported")
        return Sum(argument, name.position)

    def selector(self, *, ranged: bool = False) -> Selector:
        name = self.take()
        if name.kind != "name":
            self.fail("a metric name", name)
        matchers: list[Matcher] = []
        if self.accept("{"):
            while not self.accept("}"):
                matchers.append(self.matcher())
                if not self.accept(","):
                    self.expect("}", "',' or '}' after a label matcher")
                    break
        bracket = self.peek()
        if not ranged and bracket.kind == "op" and bracket.text == "[":
            self.fail(
                "an operator or the end",
                bracket,
                hint="; a range like x[5m] goes inside rate() or increase()",
            )
        return Selector(name.text, tuple(matchers), name.position)

    def matcher(self) -> Matcher:
        label = self.take()
        if label.kind != "name" or not _LABEL.fullmatch(label.text):
            self.fail("a label name (letters, digits, _) or '}'", label)
        op = self.take()
        if op.kind != "op" or op.text not in ("=", "!=", "=~", "!~"):
            self.fail("one of = != =~ !~ after the label name", op)
        value = self.take()
        if value.kind != "string":
            self.fail('a quoted string like "green"', value)
        text = _unquote(value.text)
        if op.text in ("=", "!="):
            return Matcher(label.text, op.text, text)
        try:
            pattern = re.compile(text)
        except re.error as exc:
            self.fail("a valid regular expression", value, hint=f" ({exc})")
        return Matcher(label.text, op.text, text, pattern)

    def seconds(self, token: _Token) -> float:
        parts = re.findall(r"([0-9]+)(ms|[smhdwy])", token.text)
        seconds = sum(float(count) * _UNITS[unit] for count, unit in parts)
        if not 0 < seconds <= RETENTION.total_seconds():
            hours = RETENTION.total_seconds() / 3600
            self.fail(f"a range above 0 and at most {hours:g}h (the retention)", token)
        return float(seconds)


def _unquote(text: str) -> str:
    if text[0] == "`":
        return text[1:-1]
    body = text[1:-1]
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(0)), body)


def _is_number(expr: Expr) -> bool:
    if isinstance(expr, Number):
        return True
    if isinstance(expr, Binary):
        return _is_number(expr.left) and _is_number(expr.right)
    return False


# --- evaluation ----------------------------------------------------------------------------

Value = float | list[float]  # a number, or one value per series


def evaluate(query: str, source: SampleSource, at: datetime) -> float | list[float]:
    """The value of `query` at `at` over the samples of `source` (shape: module docstring)."""
    if at.tzinfo is None:
        raise ValueError("evaluate needs an aware datetime; got a naive one")
    value = _Evaluation(query, source, at).value(parse_query(query))
    if isinstance(value, float):
        return value
    return value[0] if len(value) == 1 else value


_Key = tuple[tuple[str, str], ...]


def _key(labels: Mapping[str, str]) -> _Key:
    return tuple(sorted(labels.items()))


@dataclass
class _Run:
    """A series' samples in a range, folded: first, last, and the values before each drop."""

    first: float
    first_at: datetime
    last: float
    last_at: datetime
    resets: float = 0.0


@dataclass(frozen=True)
class _Evaluation:
    query: str
    source: SampleSource
    at: datetime

    def value(self, expr: Expr) -> Value:
        if isinstance(expr, Number):
            return expr.value
        if isinstance(expr, Selector):
            return self.latest(expr)
        if isinstance(expr, RangeFunction):
            return self.over_range(expr)
        if isinstance(expr, Sum):
            values = self.value(expr.argument)  # series: the parser refuses numbers here
            if isinstance(values, float) or not values:
                return values
            return [sum(values)]
        return self.binary(expr, self.value(expr.left), self.value(expr.right))

    def matching(self, selector: Selector, start: datetime) -> Iterator[tuple[_Key, Sample]]:
        matched: dict[_Key, bool] = {}
        for sample in self.source.samples(selector.name, start, self.at):
            key = _key(sample.labels)
            if key not in matched:
                matched[key] = selector.matches(sample.labels)
            if matched[key]:
                yield key, sample

    def latest(self, selector: Selector) -> list[float]:
        latest = {key: float(s.value) for key, s in self.matching(selector, self.at - LOOKBACK)}
        return [latest[key] for key in sorted(latest)]

    def over_range(self, expr: RangeFunction) -> list[float]:
        runs: dict[_Key, _Run] = {}
        start = self.at - timedelta(seconds=expr.seconds)
        for key, s in self.matching(expr.selector, start):
            run = runs.get(key)
            if run is None:
                runs[key] = _Run(float(s.value), s.at, float(s.value), s.at)
                continue
            if s.value < run.last:
                run.resets += run.last  # the counter restarted from 0
            run.last, run.last_at = float(s.value), s.at
        values = []
        for key in sorted(runs):
            run = runs[key]
            span = (run.last_at - run.first_at).total_seconds()
            if span <= 0:
                continue  # fewer than two samples at different times: no data
            increase = run.last - run.first + run.resets
            values.append(increase if expr.function == "increase" else increase / span)
        return values

    def binary(self, expr: Binary, left: Value, right: Value) -> Value:
        if isinstance(left, float):
            if isinstance(right, float):
                return _apply(expr.op, left, right)
            return [_apply(expr.op, left, v) for v in right]
        if isinstance(right, float):
            return [_apply(expr.op, v, right) for v in left]
        if not left or not right:
            return []
        if len(left) > 1 or len(right) > 1:
            sides = f"{len(left)} series on the left, {len(right)} on the right"
            raise MetricQueryError(
                f"'{expr.op}' at position {expr.position} ({_near(self.query, expr.position)}) "
                f"needs at most one series on each side; it has {sides}: wrap them in sum(), "
                "or match fewer series",
                details={"query": self.query, "position": expr.position},
            )
        return [_apply(expr.op, left[0], right[0])]


def _apply(op: str, a: float, b: float) -> float:
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    if b == 0:  # IEEE 754, as PromQL: x/0 is ±Inf, 0/0 NaN
        if a == 0 or math.isnan(a):
            return math.nan
        return math.copysign(math.inf, a) * math.copysign(1.0, b)
    return a / b
