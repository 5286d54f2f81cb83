"""Safe expressions for metric-analysis conditions: `result < 0.01`, `result[0] >= 0.95 && ...`.

Conditions come from relman.yaml (`success_condition`, `failure_condition`) and are never run
with Python's eval, exec or compile: `parse_expression` reads the text into a tree with
`ast.parse`, checks that every node is on a short whitelist, and `Expression.evaluate` walks
that tree itself. The language is the part of expr-lang (Argo Rollouts' language) conditions use:

    literals     42, 0.5, 1e-3, 'text', "text", true/false (True/False), nil (None), [1, 2]
    names        only those given to parse_expression, usually just `result`
    indexing     result[0], result[-1]; a map by key, result['p99']
    arithmetic   + - * / % and unary minus; + joins two strings or two lists
    comparison   == != < <= > >=, chained like 0 < result < 1; `in` and `not in`
    logic        and/&&, or/||, not/!  (on true and false only); a if condition else b
    functions    len(x) abs(x) min(...) max(...) sum(list) isNaN(x) isInf(x) all(list)
                 any(list) default(x, fallback) float(x) int(x)

`&&`, `||` and `!` are spelled `and`, `or` and `not` before parsing; `!=` stays, and nothing
inside a string literal changes. For "every value below 0.5" write `max(result) < 0.5`.

Refused when parsing (InvalidInput, quoting the expression and the column): attribute access
(`result.x`), `**`, `//`, bitwise operators, `is`, slices, lambdas, comprehensions, maps and
sets, f-strings and other string prefixes, triple quotes, unknown escapes, comments, walrus,
keyword or starred arguments, calls to anything but the functions above, unknown names, text
outside strings that is not ASCII, and expressions over 1,000 characters or nested deeper than
50 levels.

Refused when evaluating (ExpressionError, quoting the expression): an index out of range,
mixing types (`[0.1] < 0.5` says to compare one value, like result[0]), and/or/not/if on
anything but true or false, division by zero, building a list or string of more than 10,000
items, whole numbers over 10,000 bits; and `Expression.test` on anything but true or false.
Comparisons with NaN follow IEEE (false); callers treat NaN as no data before evaluating.
"""

from __future__ import annotations

import ast
import math
import operator
import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeGuard, TypeVar

from relman.errors import InvalidInput

__all__ = [
    "MAX_DEPTH",
    "MAX_ITEMS",
    "MAX_LENGTH",
    "Expression",
    "ExpressionError",
    "parse_expression",
]

MAX_LENGTH = 1_000  # characters in an expression
MAX_DEPTH = 50  # levels of the parsed tree
MAX_ITEMS = 10_000  # items (or characters) in a list (or string) an expression builds
_MAX_INT_BITS = 10_000  # whole numbers an expression computes (about 3,000 digits)

_T = TypeVar("_T")
_LITERALS: dict[str, object] = {"true": True, "false": False, "nil": None}
_EXAMPLES = "like result < 0.01 or result[0] >= 0.95 && result[1] < 500"


class ExpressionError(Exception):
    """An expression that parsed but cannot be evaluated for these values."""

    def __init__(self, source: str, problem: str) -> None:
        super().__init__(f"Can't evaluate {_quote(source)}: {problem}")
        self.source = source
        self.problem = problem


@dataclass(frozen=True, slots=True)
class Expression:
    """A checked expression; build it with `parse_expression`."""

    source: str
    names_used: frozenset[str]
    _tree: ast.Expression = field(repr=False, compare=False)

    def evaluate(self, names: Mapping[str, object]) -> object:
        """The value of the expression for these names; ExpressionError if it has none."""
        missing = sorted(name for name in self.names_used if name not in names)
        if missing:
            raise ExpressionError(self.source, f"no value was given for {', '.join(missing)}")
        try:
            return _value(self._tree.body, names)
        except _Failure as failure:
            raise ExpressionError(self.source, failure.problem) from None
        except (ArithmeticError, ValueError, TypeError, LookupError, RecursionError) as exc:
            raise ExpressionError(self.source, str(exc) or type(exc).__name__) from None

    def test(self, names: Mapping[str, object]) -> bool:
        """Evaluate a condition: its value must be true or false."""
        value = self.evaluate(names)
        if not isinstance(value, bool):
            raise ExpressionError(
                self.source,
                f"a condition must be true or false, but it gives {_describe(value)}; "
                f"compare it, {_EXAMPLES}",
            )
        return value


def parse_expression(source: str, *, names: Collection[str] = ("result",)) -> Expression:
    """Check an expression; InvalidInput says what is wrong, where, and what is allowed."""
    if not isinstance(source, str):
        raise InvalidInput(
            f"An expression must be text, not {type(source).__name__}",
            details={"expression": repr(source)},
        )
    allowed = frozenset((names,) if isinstance(names, str) else names)
    try:
        text = _Text.of(source)
        tree = text.parse()
        checker = _Checker(text, allowed)
        checker.check_depth(tree.body)
        checker.check(tree.body)
    except _Refusal as refusal:
        raise _invalid(source, refusal, allowed) from None
    return Expression(source, frozenset(checker.used), tree)


# --- reading the text ----------------------------------------------------------------------


class _Refusal(Exception):
    def __init__(self, problem: str, column: int | None = None, advice: str | None = None) -> None:
        super().__init__(problem)
        self.problem = problem
        self.column = column  # 1-based, in the source as written; None: unknown
        self.advice = advice  # None: list what the language allows


_NUMBER = re.compile(
    r"0[xX][0-9a-fA-F_]+|0[oO][0-7_]+|0[bB][01_]+"
    r"|(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9][0-9_]*)(?:[eE][+-]?[0-9][0-9_]*)?[jJ]?"
)
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_DIGITS = re.compile(r"[0-9]+")
_SPELLINGS = {"&&": " and ", "||": " or ", "!=": "!=", "!": " not "}
_ESCAPES = frozenset("\\'\"ntr")


@dataclass(frozen=True, slots=True)
class _Text:
    """The source translated to Python's spelling, with where each character came from."""

    source: str
    python: str
    origin: tuple[int, ...]  # for each character of `python`, its index in `source`

    @classmethod
    def of(cls, source: str) -> _Text:
        if len(source) > MAX_LENGTH:
            raise _Refusal(
                f"it is {len(source):,} characters long",
                None,
                f"the most is {MAX_LENGTH:,}; split the check into several metrics",
            )
        if not source.strip():
            raise _Refusal("it is empty", None, f"write a condition, {_EXAMPLES}")
        python, origin = _translate(source)
        lead = len(python) - len(python.lstrip(" "))
        return cls(source, python[lead:], tuple(origin[lead:]))

    def parse(self) -> ast.Expression:
        try:
            return ast.parse(self.python, mode="eval")
        except SyntaxError as exc:
            problem = (exc.msg or "invalid syntax").replace(" (detected at line 1)", "")
            index = exc.offset - 1 if exc.offset else len(self.python)  # 0: at the end
            raise _Refusal(problem, self.column_at(index)) from None
        except (ValueError, OverflowError, MemoryError, RecursionError) as exc:
            raise _Refusal(str(exc) or "it cannot be read") from None

    def column_at(self, index: int) -> int:
        """The 1-based source column of character `index` of `python`; past the end, one more
        than the source's length."""
        if 0 <= index < len(self.origin):
            return self.origin[index] + 1
        return len(self.source) + 1

    def column_of(self, node: ast.AST) -> int | None:
        offset = getattr(node, "col_offset", None)
        return None if offset is None else self.column_at(self._index(offset))

    def column_after(self, node: ast.AST, symbol: str) -> int | None:
        """The column of the first `symbol` after `node`, like the `**` in `a ** b`."""
        found = self.python.find(symbol, self._index(getattr(node, "end_col_offset", 0) or 0))
        return self.column_at(found) if found >= 0 else self.column_of(node)

    def _index(self, utf8_offset: int) -> int:
        return len(self.python.encode()[:utf8_offset].decode("utf-8", "ignore"))


def _translate(source: str) -> tuple[str, list[int]]:
    """Spell &&, || and ! as and, or, not outside strings; refuse what Python reads otherwise."""
    out: list[str] = []
    origin: list[int] = []
    index = 0
    while index < len(source):
        end, replacement = _token(source, index)
        out.append(source[index:end] if replacement is None else replacement)
        origin.extend(range(index, end) if replacement is None else [index] * len(replacement))
        index = end
    return "".join(out), origin


def _token(source: str, index: int) -> tuple[int, str | None]:
    """The end of the token at `index` and its replacement (None: keep it as written)."""
    char = source[index]
    if char in "'\"":
        return _string_end(source, index), None
    if char in "\t\r\n":
        return index + 1, " "
    for spelling, replacement in _SPELLINGS.items():
        if source.startswith(spelling, index):
            return index + len(spelling), replacement
    if char == "#":
        raise _Refusal(
            "'#' is not allowed outside a string: there are no comments, nor predicates like "
            "{# < 1}",
            index + 1,
            "for every value of a list, compare max(result) or min(result)",
        )
    if not char.isascii():
        raise _Refusal(
            f"{char!r} is not allowed outside a string",
            index + 1,
            "names, numbers and operators are plain ASCII",
        )
    word = _WORD.match(source, index)
    if word:
        _refuse_string_prefix(source, word)
        return word.end(), None
    number = _NUMBER.match(source, index)
    if number:
        _refuse_glued_number(source, number)
        return number.end(), None
    return index + 1, None


def _string_end(source: str, start: int) -> int:
    quote = source[start]
    if source.startswith(quote * 3, start):
        raise _Refusal("triple-quoted strings are not allowed", start + 1, "use 'text' or \"text\"")
    index = start + 1
    while index < len(source) and source[index] != quote:
        if source[index] == "\\" and index + 1 < len(source):
            if source[index + 1] not in _ESCAPES:
                raise _Refusal(
                    f"unknown escape '\\{source[index + 1]}' in a string",
                    index + 1,
                    "strings may use \\\\ \\' \\\" \\n \\t \\r",
                )
            index += 1
        index += 1
    return min(index + 1, len(source))  # an unterminated string is left to the parser


def _refuse_string_prefix(source: str, word: re.Match[str]) -> None:
    if word.end() < len(source) and source[word.end()] in "'\"":
        kind = "f-strings are" if "f" in word.group().lower() else "string prefixes are"
        raise _Refusal(
            f"{kind} not allowed ({word.group()}{source[word.end()]}...)",
            word.start() + 1,
            "write plain 'text' or \"text\"",
        )


def _refuse_glued_number(source: str, number: re.Match[str]) -> None:
    glued = _WORD.match(source, number.end()) or _DIGITS.match(source, number.end())
    if glued:
        raise _Refusal(
            f"{source[number.start() : glued.end()]!r} is not a number",
            number.start() + 1,
            "write numbers like 42, 0.5 or 1e-3, with a space before a word",
        )


# --- checking the tree ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Function:
    usage: str
    least: int
    most: int | None
    run: Callable[[list[object], list[str]], object]


_REFUSED_NODES: dict[type[ast.AST], str] = {
    ast.Lambda: "lambdas",
    ast.ListComp: "comprehensions ([x for x in ...])",
    ast.SetComp: "comprehensions ({x for x in ...})",
    ast.DictComp: "comprehensions ({k: v for ...})",
    ast.GeneratorExp: "comprehensions ((x for x in ...))",
    ast.JoinedStr: "f-strings",
    ast.FormattedValue: "f-strings",
    ast.NamedExpr: "assignments (:=)",
    ast.Starred: "starred arguments (*x)",
    ast.Dict: "maps ({...})",
    ast.Set: "sets ({...})",
    ast.Tuple: "tuples (a, b)",
    ast.Slice: "slices (x[1:3])",
    ast.Await: "await expressions",
    ast.Yield: "yield expressions",
    ast.YieldFrom: "yield expressions",
}
_REFUSED_OPERATORS: dict[type[ast.AST], tuple[str, str]] = {
    ast.Pow: ("**", "powers can build huge numbers; multiply instead, like x * x"),
    ast.FloorDiv: ("//", "divide with / and round with int(...)"),
    ast.BitAnd: ("&", "use && or and"),
    ast.BitOr: ("|", "use || or or"),
    ast.BitXor: ("^", "there are no bitwise operators"),
    ast.LShift: ("<<", "there are no bitwise operators"),
    ast.RShift: (">>", "there are no bitwise operators"),
    ast.MatMult: ("@", "use + - * / %"),
    ast.Invert: ("~", "use - or !"),
    ast.Is: ("is", "use =="),
    ast.IsNot: ("is not", "use !="),
}


@dataclass
class _Checker:
    text: _Text
    allowed: frozenset[str]
    used: set[str] = field(default_factory=set)

    def check_depth(self, top: ast.AST) -> None:
        """Refuse a deep tree before anything recurses into it."""
        stack = [(top, 1)]
        while stack:
            node, depth = stack.pop()
            if depth > MAX_DEPTH:
                raise _Refusal(
                    f"it is nested deeper than {MAX_DEPTH} levels",
                    self.text.column_of(node),
                    "split it into simpler conditions",
                )
            children = ast.iter_child_nodes(node)
            stack.extend((child, depth + 1) for child in children if not _is_marker(child))

    def check(self, node: ast.AST) -> None:
        self._check_node(node)
        children = node.args if isinstance(node, ast.Call) else ast.iter_child_nodes(node)
        for child in children:
            if isinstance(child, ast.expr):
                self.check(child)

    def _check_node(self, node: ast.AST) -> None:
        match node:
            case ast.Constant(value=value):
                self._check_constant(node, value)
            case ast.Name(id=name):
                self._check_name(node, name)
            case ast.Call():
                self._check_call(node)
            case ast.Attribute(value=value, attr=attr):
                raise _Refusal(
                    f"attribute access (.{attr}) is not allowed",
                    self.text.column_after(value, "."),
                    f"use an index, like {ast.unparse(value)}[0]",
                )
            case ast.Subscript(slice=ast.Slice() | ast.Tuple()):
                raise _Refusal(
                    "slices and several indexes are not allowed",
                    self.text.column_of(node.slice),
                    "use one index, like result[0] or result[-1]",
                )
            case ast.BinOp(left=left, op=op) if type(op) in _REFUSED_OPERATORS:
                self._refuse_operator(op, self.text.column_after(left, _symbol(op)))
            case ast.UnaryOp(op=ast.Invert() as op):
                self._refuse_operator(op, self.text.column_of(node))
            case ast.Compare(left=left, ops=ops, comparators=comparators):
                for comparison, before in zip(ops, [left, *comparators], strict=False):
                    if type(comparison) in _REFUSED_OPERATORS:
                        column = self.text.column_after(before, _symbol(comparison))
                        self._refuse_operator(comparison, column)
            case ast.List() | ast.Subscript() | ast.BinOp() | ast.UnaryOp() | ast.BoolOp():
                pass  # their operands are checked as children
            case ast.IfExp():
                pass
            case _:
                what = _REFUSED_NODES.get(type(node), f"{type(node).__name__} expressions")
                raise _Refusal(f"{what} are not allowed", self.text.column_of(node))

    def _check_constant(self, node: ast.AST, value: object) -> None:
        if value is None or isinstance(value, bool | int | float | str):
            return
        what = "complex numbers are" if isinstance(value, complex) else f"the value {value!r} is"
        raise _Refusal(f"{what} not allowed", self.text.column_of(node))

    def _check_name(self, node: ast.AST, name: str) -> None:
        if name in _LITERALS:
            return
        if name in self.allowed:
            self.used.add(name)
            return
        column = self.text.column_of(node)
        if name in _FUNCTIONS:
            raise _Refusal(
                f"{name} is a function", column, f"call it, like {_FUNCTIONS[name].usage}"
            )
        raise _Refusal(f"unknown name {name!r}", column, _names_advice(self.allowed))

    def _check_call(self, node: ast.Call) -> None:
        if not isinstance(node.func, ast.Name):
            self._check_node(node.func)  # names a lambda or an attribute when it is one
            raise _Refusal(
                f"calling {ast.unparse(node.func)} is not allowed",
                self.text.column_of(node),
                _functions_advice(),
            )
        name, column = node.func.id, self.text.column_of(node)
        function = _FUNCTIONS.get(name)
        if function is None:
            raise _Refusal(f"{name}() is not a function here", column, _functions_advice())
        if node.keywords or any(isinstance(arg, ast.Starred) for arg in node.args):
            what = "keyword arguments" if node.keywords else "starred arguments (*x)"
            raise _Refusal(f"{what} are not allowed", column, f"call it like {function.usage}")
        count = len(node.args)
        if count < function.least or (function.most is not None and count > function.most):
            raise _Refusal(
                f"{name}() does not take {count} argument{'' if count == 1 else 's'}",
                column,
                f"call it like {function.usage}",
            )

    def _refuse_operator(self, op: ast.AST, column: int | None) -> None:
        symbol, advice = _REFUSED_OPERATORS[type(op)]
        raise _Refusal(f"the operator {symbol!r} is not allowed", column, advice)


def _is_marker(node: ast.AST) -> bool:
    """Load contexts and operators: nodes that hold no expression."""
    return isinstance(node, ast.expr_context | ast.operator | ast.unaryop | ast.cmpop | ast.boolop)


def _symbol(op: ast.AST) -> str:
    return _REFUSED_OPERATORS[type(op)][0].split()[0]


def _invalid(source: str, refusal: _Refusal, names: frozenset[str]) -> InvalidInput:
    where = f" at column {refusal.column}" if refusal.column is not None else ""
    advice = _language(names) if refusal.advice is None else refusal.advice
    shown = source if len(source) <= 80 else source[:77] + "..."
    message = f"Bad expression {_quote(shown)}{where}: {refusal.problem}"
    return InvalidInput(
        message + (f"; {advice}" if advice else ""),
        details={"expression": source, "column": refusal.column, "problem": refusal.problem},
    )


def _language(names: frozenset[str]) -> str:
    return (
        f"write a condition {_EXAMPLES}; allowed: numbers, 'strings', true, false, nil, "
        f"lists [1, 2], {_names_list(names)}, indexes like x[0], + - * / %, "
        "== != < <= > >= in, and (&&), or (||), not (!), a if condition else b, "
        f"and the functions {', '.join(_FUNCTIONS)}"
    )


def _names_advice(names: frozenset[str]) -> str:
    if not names:
        return "this expression can use no names, only values"
    return f"{_names_list(names)} {'is' if len(names) == 1 else 'are'} all you can use here"


def _names_list(names: frozenset[str]) -> str:
    if not names:
        return "no names"
    return ("the name " if len(names) == 1 else "the names ") + ", ".join(sorted(names))


def _functions_advice() -> str:
    return f"the functions are {', '.join(function.usage for function in _FUNCTIONS.values())}"


# --- evaluating ----------------------------------------------------------------------------


class _Failure(Exception):
    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem


_ARITHMETIC: dict[type[ast.operator], tuple[str, Callable[[object, object], object]]] = {
    ast.Add: ("+", operator.add),
    ast.Sub: ("-", operator.sub),
    ast.Mult: ("*", operator.mul),
    ast.Div: ("/", operator.truediv),
    ast.Mod: ("%", operator.mod),
}
_ORDER: dict[type[ast.cmpop], Callable[[Any, Any], object]] = {
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
}


def _value(node: ast.expr, names: Mapping[str, object]) -> object:
    match node:
        case ast.Constant(value=value):
            return value
        case ast.Name(id=name):
            return _LITERALS[name] if name in _LITERALS else names[name]
        case ast.List(elts=items):
            return _built([_value(item, names) for item in items])
        case ast.Subscript(value=container, slice=key):
            return _index(_value(container, names), _value(key, names), container, key)
        case ast.UnaryOp(op=op, operand=operand):
            return _unary(op, _value(operand, names), operand)
        case ast.BinOp(left=left, op=op, right=right):
            return _arithmetic(op, _value(left, names), _value(right, names), left, right)
        case ast.BoolOp(op=op, values=values):
            return _logic(isinstance(op, ast.And), values, names)
        case ast.Compare(left=left, ops=ops, comparators=comparators):
            return _compare_chain(left, ops, comparators, names)
        case ast.IfExp(test=test, body=body, orelse=orelse):
            chosen = _truth(_value(test, names), test, "'if'")
            return _value(body if chosen else orelse, names)
        case ast.Call(func=ast.Name(id=name), args=args):
            arguments = [_value(arg, names) for arg in args]
            return _FUNCTIONS[name].run(arguments, [_text(arg) for arg in args])
    raise _Failure(f"{type(node).__name__} cannot be evaluated")  # the checker refuses it


def _index(container: object, key: object, container_node: ast.expr, key_node: ast.expr) -> object:
    name = _text(container_node)
    if isinstance(container, Mapping):
        if not isinstance(key, str | int | float | bool | None):
            raise _Failure(
                f"a key must be a string or a number; {_text(key_node)} is {_describe(key)}"
            )
        if key not in container:
            keys = ", ".join(repr(k) for k in list(container)[:10])
            raise _Failure(f"{name} has no key {key!r}; it has {keys or 'no keys'}")
        return container[key]
    if not isinstance(container, list | tuple | str):
        raise _Failure(
            f"{name} is {_describe(container)}; only lists, strings and maps have indexes"
        )
    if not _is_whole(key):
        raise _Failure(f"an index must be a whole number; {_text(key_node)} is {_describe(key)}")
    if not -len(container) <= key < len(container):
        unit = "character" if isinstance(container, str) else "value"
        raise _Failure(f"index {key} is out of range: {name} has {_count(len(container), unit)}")
    return container[key]


def _unary(op: ast.unaryop, operand: object, node: ast.expr) -> object:
    if isinstance(op, ast.Not):
        return not _truth(operand, node, "'not' (!)")
    if not _is_number(operand):
        raise _Failure(f"a sign needs a number; {_operand(operand, node)}")
    return -operand if isinstance(op, ast.USub) else +operand


def _arithmetic(
    op: ast.operator, left: object, right: object, left_node: ast.expr, right_node: ast.expr
) -> object:
    symbol, compute = _ARITHMETIC[type(op)]
    if _is_number(left) and _is_number(right):
        if right == 0 and symbol in "/%":
            zero = _text(right_node)
            raise _Failure("division by zero" + ("" if zero in ("0", "0.0") else f": {zero} is 0"))
        try:
            result = compute(left, right)
        except OverflowError:
            raise _Failure(
                f"{_text(left_node)} {symbol} {_text(right_node)} is too large"
            ) from None
        if isinstance(result, int) and result.bit_length() > _MAX_INT_BITS:
            raise _Failure(f"{_text(left_node)} {symbol} {_text(right_node)} is too large")
        return result
    if symbol == "+" and isinstance(left, str) and isinstance(right, str):
        return _built(left + right, _size(left) + _size(right))
    if symbol == "+" and _is_list(left) and _is_list(right):
        return _built([*left, *right], _size(left) + _size(right))
    if symbol == "*" and _is_sequence(left) and _is_whole(right):
        return _built(left * right, _size(left) * max(right, 0))
    if symbol == "*" and _is_whole(left) and _is_sequence(right):
        return _built(left * right, _size(right) * max(left, 0))
    raise _Failure(
        f"can't compute {_text(left_node)} {symbol} {_text(right_node)}: "
        f"{_operand(left, left_node)} and {_operand(right, right_node)}"
    )


def _logic(is_and: bool, values: list[ast.expr], names: Mapping[str, object]) -> bool:
    word = "'and' (&&)" if is_and else "'or' (||)"
    for node in values:
        if _truth(_value(node, names), node, word) is not is_and:
            return not is_and
    return is_and


def _compare_chain(
    left: ast.expr, ops: list[ast.cmpop], comparators: list[ast.expr], names: Mapping[str, object]
) -> bool:
    before = _value(left, names)
    for op, before_node, after_node in zip(
        ops, [left, *comparators[:-1]], comparators, strict=True
    ):
        after = _value(after_node, names)
        if not _compare(op, before, after, before_node, after_node):
            return False
        before = after
    return True


def _compare(
    op: ast.cmpop, left: object, right: object, left_node: ast.expr, right_node: ast.expr
) -> bool:
    if isinstance(op, ast.In | ast.NotIn):
        return _contains(right, left, right_node, left_node) is isinstance(op, ast.In)
    for value, node, other in ((left, left_node, right), (right, right_node, left)):
        if _is_list(value) and (_is_number(other) or not isinstance(op, ast.Eq | ast.NotEq)):
            raise _Failure(_one_of_them(value, node))
    if isinstance(op, ast.Eq | ast.NotEq):
        return _equal(left, right) is isinstance(op, ast.Eq)
    if (_is_number(left) and _is_number(right)) or (
        isinstance(left, str) and isinstance(right, str)
    ):
        return bool(_ORDER[type(op)](left, right))
    raise _Failure(
        f"can't compare {_text(left_node)} with {_text(right_node)}: "
        f"{_operand(left, left_node)} and {_operand(right, right_node)}"
    )


def _contains(
    container: object, item: object, container_node: ast.expr, item_node: ast.expr
) -> bool:
    if isinstance(container, list | tuple):
        return any(_equal(item, member) for member in container)
    if isinstance(container, str) and isinstance(item, str):
        return item in container
    if isinstance(container, Mapping) and isinstance(item, str | int | float | bool | None):
        return item in container
    raise _Failure(
        f"'in' needs a list, a string or a map on its right and something that fits on its "
        f"left; {_operand(item, item_node)} and {_operand(container, container_node)}"
    )


def _equal(left: object, right: object) -> bool:
    if isinstance(left, bool) or isinstance(right, bool):
        return isinstance(left, bool) and isinstance(right, bool) and left == right
    if isinstance(left, list | tuple) and isinstance(right, list | tuple):
        return len(left) == len(right) and all(map(_equal, left, right))
    if isinstance(left, list | tuple) or isinstance(right, list | tuple):
        return False
    return bool(left == right)


def _truth(value: object, node: ast.expr, word: str) -> bool:
    if not isinstance(value, bool):
        raise _Failure(f"{word} needs true or false; {_operand(value, node)}")
    return value


# --- functions -----------------------------------------------------------------------------

_Run = Callable[[list[object], list[str]], object]


def _argument(
    name: str,
    args: list[object],
    texts: list[str],
    fits: Callable[[object], TypeGuard[_T]],
    want: str,
) -> _T:
    value = args[0]
    if not fits(value):
        raise _Failure(f"{name}() needs {want}; {_operand_text(value, texts[0])}")
    return value


def _numbers(name: str, args: list[object], texts: list[str]) -> list[int | float]:
    """The numbers of min(list), min(a, b, ...) and sum(list)."""
    if len(args) == 1:
        items = list(_argument(name, args, texts, _is_list, "a list or several numbers"))
        labels = [f"{texts[0]}[{position}]" for position in range(len(items))]
    else:
        items, labels = args, texts
    numbers: list[int | float] = []
    for item, label in zip(items, labels, strict=True):
        if not _is_number(item):
            raise _Failure(f"{name}() needs numbers; {_operand_text(item, label)}")
        numbers.append(item)
    return numbers


def _len(args: list[object], texts: list[str]) -> object:
    return len(_argument("len", args, texts, _has_length, "a list, a string or a map"))


def _abs(args: list[object], texts: list[str]) -> object:
    return abs(_argument("abs", args, texts, _is_number, "a number"))


def _sum(args: list[object], texts: list[str]) -> object:
    _argument("sum", args, texts, _is_list, "a list of numbers")
    return sum(_numbers("sum", args, texts))


def _default(args: list[object], texts: list[str]) -> object:
    return args[1] if args[0] is None else args[0]


def _extreme(name: str, pick: Callable[[list[int | float]], int | float]) -> _Run:
    def run(args: list[object], texts: list[str]) -> object:
        numbers = _numbers(name, args, texts)
        if not numbers:
            raise _Failure(f"{name}() of an empty list has no value; {texts[0]} is empty")
        return pick(numbers)

    return run


def _float_test(name: str, test: Callable[[float], bool]) -> _Run:
    def run(args: list[object], texts: list[str]) -> object:
        value = _argument(name, args, texts, _is_number, "a number")
        return isinstance(value, float) and test(value)

    return run


def _truths(name: str, pick: Callable[[list[bool]], bool]) -> _Run:
    def run(args: list[object], texts: list[str]) -> object:
        values = _argument(name, args, texts, _is_list, "a list of true/false values")
        for position, value in enumerate(values):
            if not isinstance(value, bool):
                label = f"{texts[0]}[{position}]"
                raise _Failure(
                    f"{name}() needs a list of true/false values; {_operand_text(value, label)}"
                )
        return pick([value is True for value in values])

    return run


def _conversion(name: str, convert: Callable[[int | float | str], int | float]) -> _Run:
    def run(args: list[object], texts: list[str]) -> object:
        value = _argument(name, args, texts, _is_convertible, "a number or a string")
        try:
            result = convert(value)
        except (ValueError, OverflowError):
            raise _Failure(
                f"{name}() can't make a number of {_operand_text(value, texts[0])}"
            ) from None
        if isinstance(result, int) and result.bit_length() > _MAX_INT_BITS:
            raise _Failure(f"{name}({texts[0]}) is too large")
        return result

    return run


_FUNCTIONS: dict[str, _Function] = {
    "len": _Function("len(x)", 1, 1, _len),
    "abs": _Function("abs(x)", 1, 1, _abs),
    "min": _Function("min(list) or min(a, b, ...)", 1, None, _extreme("min", min)),
    "max": _Function("max(list) or max(a, b, ...)", 1, None, _extreme("max", max)),
    "sum": _Function("sum(list)", 1, 1, _sum),
    "isNaN": _Function("isNaN(x)", 1, 1, _float_test("isNaN", math.isnan)),
    "isInf": _Function("isInf(x)", 1, 1, _float_test("isInf", math.isinf)),
    "all": _Function("all(list)", 1, 1, _truths("all", all)),
    "any": _Function("any(list)", 1, 1, _truths("any", any)),
    "default": _Function("default(x, fallback)", 2, 2, _default),
    "float": _Function("float(x)", 1, 1, _conversion("float", float)),
    "int": _Function("int(x)", 1, 1, _conversion("int", int)),
}


# --- values --------------------------------------------------------------------------------


def _is_number(value: object) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_whole(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_sequence(value: object) -> TypeGuard[list[object] | tuple[object, ...] | str]:
    return isinstance(value, list | tuple | str)


def _is_list(value: object) -> TypeGuard[list[object] | tuple[object, ...]]:
    return isinstance(value, list | tuple)


def _has_length(
    value: object,
) -> TypeGuard[list[object] | tuple[object, ...] | str | Mapping[object, object]]:
    return isinstance(value, list | tuple | str | Mapping)


def _is_convertible(value: object) -> TypeGuard[int | float | str]:
    return isinstance(value, int | float | str)


def _size(value: object) -> int:
    """What building a value costs: the characters of a string; the items of a list, plus
    those of the lists and strings in it (so `[[1] * 10000] * 2` costs 20,002)."""
    if isinstance(value, str):
        return len(value)
    if isinstance(value, list | tuple):
        nested = (item for item in value if isinstance(item, list | tuple | str))
        return len(value) + sum(_size(item) for item in nested)
    return 1


def _built(value: object, size: int | None = None) -> object:
    """Refuse a list or string an expression would build with more than MAX_ITEMS items."""
    size = _size(value) if size is None else size
    if size > MAX_ITEMS:
        raise _Failure(f"it would build {size:,} items; the most is {MAX_ITEMS:,}")
    return value


def _one_of_them(value: list[object] | tuple[object, ...], node: ast.expr) -> str:
    text = _text(node)
    plain = isinstance(node, ast.Name | ast.Subscript | ast.Call | ast.List)
    indexable = text if plain else f"({text})"
    return (
        f"{text} is a list of {_count(len(value), 'value')}; "
        f"compare one of them, like {indexable}[0]"
    )


def _operand(value: object, node: ast.expr) -> str:
    return _operand_text(value, _text(node))


def _operand_text(value: object, text: str) -> str:
    described = _describe(value)
    return described if text == _describe_short(value) else f"{text} is {described}"


def _text(node: ast.expr) -> str:
    return ast.unparse(node)


def _describe_short(value: object) -> str:
    if value is None:
        return "nil"
    if isinstance(value, bool):
        return "true" if value else "false"
    if _is_number(value):
        if isinstance(value, int) and value.bit_length() > 64:
            return f"about 10^{int(value.bit_length() * math.log10(2))}"
        return f"{value:.6g}" if isinstance(value, float) else str(value)
    if isinstance(value, str):
        return repr(value if len(value) <= 40 else value[:37] + "...")
    return ""


def _describe(value: object) -> str:
    if value is None:
        return "nil"
    if isinstance(value, bool):
        return f"a bool ({_describe_short(value)})"
    if _is_number(value):
        return f"a number ({_describe_short(value)})"
    if isinstance(value, str):
        return f"a string ({_describe_short(value)})"
    if isinstance(value, list | tuple):
        return f"a list of {_count(len(value), 'value')}"
    if isinstance(value, Mapping):
        return f"a map of {_count(len(value), 'key')}"
    return f"a {type(value).__name__}"


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _quote(source: str) -> str:
    """The source on one line, in quotes it does not use."""
    shown = source.replace("\r", " ").replace("\n", " ")  # keeps the columns
    for quote in ("'", '"', "`"):
        if quote not in shown:
            return f"{quote}{shown}{quote}"
    return f"«{shown}»"
