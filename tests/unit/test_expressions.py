"""Safe expressions for analysis conditions: what they evaluate to, and everything they refuse."""

from __future__ import annotations

import ast
import builtins
import dataclasses
import math
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import relman.domain.expressions as expressions_module
from relman.domain.expressions import Expression, ExpressionError, parse_expression
from relman.errors import InvalidInput


def evaluate(source: str, result: object = None) -> object:
    return parse_expression(source).evaluate({"result": result})


def refusal(source: str) -> InvalidInput:
    with pytest.raises(InvalidInput) as caught:
        parse_expression(source)
    return caught.value


def failure(source: str, result: object = None) -> ExpressionError:
    expression = parse_expression(source)
    with pytest.raises(ExpressionError) as caught:
        expression.evaluate({"result": result})
    return caught.value


# --- what conditions evaluate to -----------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "result", "expected"),
    [
        pytest.param("result < 0.01", 0.001, True, id="below-a-threshold"),
        pytest.param("result < 0.01", 0.02, False, id="above-a-threshold"),
        pytest.param("result[0] >= 0.95 && result[1] < 500", [0.97, 320], True, id="two-values"),
        pytest.param("result[0] >= 0.95 && result[1] < 500", [0.9, 320], False, id="one-fails"),
        pytest.param("len(result) > 0 and max(result) < 0.5", [0.1, 0.4], True, id="all-below"),
        pytest.param("len(result) > 0 and max(result) < 0.5", [0.1, 0.6], False, id="one-above"),
        pytest.param("!isNaN(result)", 0.5, True, id="not-nan"),
        pytest.param("result[-1] == 3", [1, 2, 3], True, id="negative-index"),
        pytest.param("0 < result < 1", 0.5, True, id="chain-inside"),
        pytest.param("0 < result < 1", 1.5, False, id="chain-outside"),
        pytest.param("0.5 in result", [0.1, 0.5], True, id="in-a-list"),
        pytest.param("0.7 not in result", [0.1, 0.5], True, id="not-in-a-list"),
        pytest.param("result['p99'] < 0.3", {"p99": 0.25}, True, id="map-by-key"),
        pytest.param("'ok' in result", "all ok", True, id="substring"),
        pytest.param("result == 'healthy'", "healthy", True, id="string-equality"),
        pytest.param("result == nil", None, True, id="nil"),
        pytest.param("result == [1, 2]", [1, 2], True, id="list-equality"),
        pytest.param("sum(result) / len(result) < 2", [1, 2, 3], False, id="mean"),
        pytest.param("result % 2 == 1", 7, True, id="modulo"),
        pytest.param("-result > -1", 0.5, True, id="unary-minus"),
        pytest.param("(result + 1) * 2", 1, 4, id="parentheses"),
        pytest.param("'a' + 'b'", None, "ab", id="join-strings"),
        pytest.param("result + [3]", [1, 2], [1, 2, 3], id="join-lists"),
        pytest.param("result + [3]", (1, 2), [1, 2, 3], id="join-a-tuple-and-a-list"),
        pytest.param("[0] * 3", None, [0, 0, 0], id="repeat-a-list"),
        pytest.param("'yes' if result > 1 else 'no'", 2, "yes", id="if-else"),
        pytest.param("[1, result, [2]]", 9, [1, 9, [2]], id="list-literal"),
    ],
)
def test_a_condition_evaluates_like_argo_rollouts(
    source: str, result: object, expected: object
) -> None:
    assert evaluate(source, result) == expected


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        pytest.param("42", 42, id="integer"),
        pytest.param("0.5", 0.5, id="float"),
        pytest.param("1e-3", 0.001, id="exponent"),
        pytest.param("2.5E2", 250.0, id="capital-exponent"),
        pytest.param(".5", 0.5, id="leading-dot"),
        pytest.param("1_000", 1000, id="underscores"),
        pytest.param("'single'", "single", id="single-quotes"),
        pytest.param('"double"', "double", id="double-quotes"),
        pytest.param("'it\\'s'", "it's", id="escaped-quote"),
        pytest.param("'a\\nb'", "a\nb", id="escaped-newline"),
        pytest.param("true", True, id="true"),
        pytest.param("false", False, id="false"),
        pytest.param("True", True, id="python-true"),
        pytest.param("False", False, id="python-false"),
        pytest.param("nil", None, id="nil"),
        pytest.param("None", None, id="python-none"),
        pytest.param("[]", [], id="empty-list"),
        pytest.param("[1, 'a', nil]", [1, "a", None], id="mixed-list"),
    ],
)
def test_literals_read_as_their_values(source: str, expected: object) -> None:
    value = evaluate(source)
    assert value == expected
    assert type(value) is type(expected)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        pytest.param("true && false", False, id="and"),
        pytest.param("false || true", True, id="or"),
        pytest.param("!false", True, id="not"),
        pytest.param("!!true", True, id="not-not"),
        pytest.param("!(1 > 2)", True, id="not-parentheses"),
        pytest.param("1 != 2", True, id="not-equal-stays"),
        pytest.param("!(1 != 1)", True, id="not-and-not-equal"),
        pytest.param("1!=1||2!=3", True, id="no-spaces"),
        pytest.param("true&&!false", True, id="glued"),
        pytest.param("'a && b'", "a && b", id="and-inside-single-quotes"),
        pytest.param('"a || !b"', "a || !b", id="or-and-not-inside-double-quotes"),
        pytest.param("'x != y'", "x != y", id="not-equal-inside-a-string"),
        pytest.param("'it\\'s && !' == \"it's && !\"", True, id="escaped-quote-then-operators"),
        pytest.param("'!' + \"&&\"", "!&&", id="two-strings"),
        pytest.param("true and not false or false", True, id="python-words"),
    ],
)
def test_expr_lang_spellings_become_python_words_outside_strings(
    source: str, expected: object
) -> None:
    assert evaluate(source) == expected


def test_a_string_keeps_its_operators_when_compared_with_a_value() -> None:
    assert parse_expression("result == 'x || !y && z'").test({"result": "x || !y && z"})


def test_line_breaks_and_leading_spaces_are_spaces() -> None:
    assert parse_expression("  result > 0\n  && result < 1\n").test({"result": 0.5})


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        pytest.param("len(result)", 3, id="len"),
        pytest.param("abs(-result[0])", 1, id="abs"),
        pytest.param("min(result)", 1, id="min-of-a-list"),
        pytest.param("max(result)", 3, id="max-of-a-list"),
        pytest.param("min(result[2], 0.5)", 0.5, id="min-of-numbers"),
        pytest.param("max(1, 4, result[1])", 4, id="max-of-numbers"),
        pytest.param("sum(result)", 6, id="sum"),
        pytest.param("isNaN(result[0])", False, id="is-nan-of-a-number"),
        pytest.param("isInf(1e999)", True, id="is-inf"),
        pytest.param("all([result[0] > 0, result[1] > 0])", True, id="all"),
        pytest.param("any([result[0] > 5, result[1] > 5])", False, id="any"),
        pytest.param("all([])", True, id="all-of-nothing"),
        pytest.param("default(nil, 5)", 5, id="default-of-nil"),
        pytest.param("default(result[0], 5)", 1, id="default-of-a-value"),
        pytest.param("float('0.25')", 0.25, id="float-of-a-string"),
        pytest.param("int(2.9)", 2, id="int-truncates"),
        pytest.param("int('42')", 42, id="int-of-a-string"),
    ],
)
def test_the_whitelisted_functions(source: str, expected: object) -> None:
    assert evaluate(source, [1, 2, 3]) == expected


def test_is_nan_sees_nan() -> None:
    assert evaluate("isNaN(result)", math.nan) is True


@pytest.mark.parametrize(
    "source", ["result < 1", "result > 1", "result == result", "result >= 0 && result <= 0"]
)
def test_comparisons_with_nan_are_false_as_ieee_says(source: str) -> None:
    assert parse_expression(source).test({"result": math.nan}) is False


def test_a_bool_equals_only_a_bool() -> None:
    assert evaluate("true == 1") is False
    assert evaluate("false != 0") is True


def test_and_and_or_stop_at_the_first_answer() -> None:
    # The right side would fail with an index out of range.
    assert evaluate("len(result) > 5 && result[5] > 0", [1]) is False
    assert evaluate("len(result) < 5 || result[5] > 0", [1]) is True


# --- the expression object -----------------------------------------------------------------


def test_an_expression_keeps_its_source_and_the_names_it_reads() -> None:
    expression = parse_expression("result[0] >= 0.95 && len(result) > 1")
    assert expression.source == "result[0] >= 0.95 && len(result) > 1"
    assert expression.names_used == frozenset({"result"})
    assert parse_expression("1 < 2").names_used == frozenset()


def test_an_expression_is_immutable_and_equal_by_source() -> None:
    expression = parse_expression("result < 1")
    with pytest.raises(dataclasses.FrozenInstanceError):
        expression.source = "true"  # type: ignore[misc]
    assert expression == parse_expression("result < 1")
    assert hash(expression) == hash(parse_expression("result < 1"))


def test_other_names_can_be_allowed() -> None:
    expression = parse_expression("result < baseline * 1.1", names=("result", "baseline"))
    assert expression.names_used == frozenset({"result", "baseline"})
    assert expression.test({"result": 1.0, "baseline": 1.0}) is True
    with pytest.raises(ExpressionError, match="no value was given for baseline"):
        expression.evaluate({"result": 1.0})


def test_test_gives_the_bool() -> None:
    assert parse_expression("result < 0.01").test({"result": 0.001}) is True
    assert parse_expression("result < 0.01").test({"result": 0.5}) is False


@pytest.mark.parametrize(
    ("source", "described"),
    [
        pytest.param("result", "a number (0.5)", id="number"),
        pytest.param("[result]", "a list of 1 value", id="list"),
        pytest.param("'yes'", "a string ('yes')", id="string"),
        pytest.param("nil", "nil", id="nil"),
    ],
)
def test_a_condition_that_is_not_true_or_false_is_an_error_saying_what_came_out(
    source: str, described: str
) -> None:
    with pytest.raises(ExpressionError) as caught:
        parse_expression(source).test({"result": 0.5})
    assert f"a condition must be true or false, but it gives {described}" in str(caught.value)
    assert caught.value.source == source


# --- refused when parsing ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "named"),
    [
        pytest.param("__import__('os')", "__import__() is not a function here", id="import"),
        pytest.param("open('f')", "open() is not a function here", id="open"),
        pytest.param("all_below(result, 1)", "all_below() is not a function", id="unknown-call"),
        pytest.param("result.__class__", "attribute access (.__class__)", id="dunder"),
        pytest.param("result.count(1)", "attribute access (.count)", id="method"),
        pytest.param("(1).real", "attribute access (.real)", id="attribute-of-a-number"),
        pytest.param("(lambda: 1)()", "lambdas are not allowed", id="lambda"),
        pytest.param("[x for x in result]", "comprehensions", id="list-comprehension"),
        pytest.param("sum(x for x in result)", "comprehensions", id="generator"),
        pytest.param("result ** 99999", "the operator '**'", id="power"),
        pytest.param("'a' * 10**9", "the operator '**'", id="power-in-a-repetition"),
        pytest.param("result // 2", "the operator '//'", id="floor-division"),
        pytest.param("result & 1", "the operator '&'", id="bitwise-and"),
        pytest.param("result | 1", "the operator '|'", id="bitwise-or"),
        pytest.param("1 << 10000", "the operator '<<'", id="shift"),
        pytest.param("~result", "the operator '~'", id="invert"),
        pytest.param("result is nil", "the operator 'is'", id="is"),
        pytest.param("result is not nil", "the operator 'is not'", id="is-not"),
        pytest.param("result[1:3]", "slices", id="slice"),
        pytest.param("result[0, 1]", "several indexes", id="two-indexes"),
        pytest.param("f'{result}'", "f-strings are not allowed", id="f-string"),
        pytest.param("rb'x'", "string prefixes are not allowed", id="string-prefix"),
        pytest.param("'''x'''", "triple-quoted strings", id="triple-quotes"),
        pytest.param("'\\d'", "unknown escape '\\d'", id="unknown-escape"),
        pytest.param("(x := 1)", "assignments (:=)", id="walrus"),
        pytest.param("max(*result)", "starred arguments", id="starred"),
        pytest.param("[*result]", "starred arguments", id="starred-in-a-list"),
        pytest.param("len(obj=result)", "keyword arguments", id="keyword"),
        pytest.param("{'a': 1}", "maps ({...})", id="dict"),
        pytest.param("{1}", "sets ({...})", id="set"),
        pytest.param("1, 2", "tuples", id="tuple"),
        pytest.param("1j", "complex numbers", id="complex"),
        pytest.param("...", "Ellipsis", id="ellipsis"),
        pytest.param("result # note", "'#' is not allowed", id="comment"),
        pytest.param("all(result, {# < 1})", "predicates", id="expr-lang-predicate"),
        pytest.param("1if true else 2", "'1if' is not a number", id="number-glued-to-a-word"),
        pytest.param("résultat", "'é' is not allowed outside a string", id="non-ascii"),
        pytest.param("result[0]()", "calling result[0]", id="call-a-value"),
        pytest.param("len", "len is a function", id="function-as-a-value"),
        pytest.param("len(result, 1)", "len() does not take 2 arguments", id="arity"),
        pytest.param("default(result)", "default() does not take 1 argument", id="too-few"),
        pytest.param("(yield)", "yield expressions", id="yield"),
        pytest.param("await result", "await expressions", id="await"),
        pytest.param("os", "unknown name 'os'", id="unknown-name"),
        pytest.param("result =< 1", "invalid syntax", id="syntax-error"),
        pytest.param("result >= 0.95 and", "invalid syntax", id="unfinished"),
        pytest.param("(result", "'(' was never closed", id="unclosed-parenthesis"),
        pytest.param("'abc", "unterminated string literal", id="unterminated-string"),
        pytest.param("result = 1", "invalid syntax", id="assignment"),
        pytest.param("", "it is empty", id="empty"),
        pytest.param("   ", "it is empty", id="blank"),
    ],
)
def test_a_refused_construct_is_invalid_input_naming_it_and_quoting_the_expression(
    source: str, named: str
) -> None:
    error = refusal(source)
    assert named in error.message
    assert error.message.startswith("Bad expression ")
    assert source.strip() in error.message
    assert error.details["expression"] == source


@pytest.mark.parametrize(
    ("source", "column"),
    [
        pytest.param("result.__class__", 7, id="the-dot"),
        pytest.param("result ** 99999", 8, id="the-power"),
        pytest.param("result > 1 && result.x", 21, id="after-a-translated-and"),
        pytest.param("!result.x", 8, id="after-a-translated-not"),
        pytest.param("'é' == result.x", 14, id="after-a-non-ascii-string"),
        pytest.param("result =< 1", 8, id="a-syntax-error"),
        pytest.param("result >= 0.95 and", 19, id="past-the-end"),
        pytest.param("reslt < 1", 1, id="an-unknown-name"),
        pytest.param("  reslt < 1", 3, id="after-leading-spaces"),
        pytest.param("1 +\n reslt", 6, id="after-a-line-break"),
    ],
)
def test_a_refusal_points_at_the_column(source: str, column: int) -> None:
    error = refusal(source)
    assert f"at column {column}:" in error.message
    assert error.details["column"] == column


def test_a_syntax_error_says_what_the_language_allows() -> None:
    message = refusal("result =< 1").message
    assert "write a condition like result < 0.01" in message
    assert "the name result" in message
    assert "and (&&), or (||), not (!)" in message
    assert "len, abs, min, max, sum, isNaN, isInf, all, any, default, float, int" in message


def test_an_unknown_call_lists_the_functions() -> None:
    message = refusal("open('f')").message
    assert "the functions are len(x), abs(x)" in message
    assert "default(x, fallback), float(x), int(x)" in message


@pytest.mark.parametrize(
    ("names", "advice"),
    [
        pytest.param(("result",), "the name result is all you can use here", id="one-name"),
        pytest.param(("result", "baseline"), "the names baseline, result are", id="two-names"),
        pytest.param((), "this expression can use no names", id="no-names"),
    ],
)
def test_an_unknown_name_is_refused_with_the_names_allowed(
    names: tuple[str, ...], advice: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_expression("reslt < 1", names=names)
    assert "at column 1: unknown name 'reslt'" in caught.value.message
    assert advice in caught.value.message


def test_names_can_be_given_as_one_string() -> None:
    assert parse_expression("result < 1", names="result").names_used == {"result"}


def test_a_long_expression_is_refused() -> None:
    fits = "[" + ", ".join(["1"] * 332 + ["10"]) + "]"
    assert len(fits) == 1_000
    assert evaluate(fits) == [1] * 332 + [10]
    error = refusal(fits + " ")
    assert "it is 1,001 characters long; the most is 1,000" in error.message
    assert error.message.startswith("Bad expression '[1, 1, 1")


def test_an_expression_nested_deeper_than_50_levels_is_refused() -> None:
    assert evaluate("-" * 49 + "1") == -1
    assert "nested deeper than 50 levels" in refusal("-" * 50 + "1").message
    assert "nested deeper than 50 levels" in refusal("[" * 51 + "]" * 51).message
    # Python's own limits are refusals too, never a crash.
    assert "too many nested parentheses" in refusal("(" * 300 + "1" + ")" * 300).message
    assert "nested deeper" in refusal("(" + "-" * 990 + "1).real").message


def test_a_sum_of_more_than_50_terms_is_too_deep() -> None:
    assert evaluate(" + ".join(["1"] * 50)) == 50
    assert "nested deeper" in refusal(" + ".join(["1"] * 51)).message


def test_text_that_is_not_a_string_is_invalid_input() -> None:
    with pytest.raises(InvalidInput, match="must be text, not int"):
        parse_expression(5)  # type: ignore[arg-type]


def test_the_parser_warns_about_nothing_it_accepts_or_refuses() -> None:
    # Python's parser warns (and under -W error, fails) on bad escapes and on numbers glued to
    # keywords; those are refused before it sees them, so behaviour is the same everywhere.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for source in ["'\\d'", "'\\777'", "1if true else 2", "0x1for", "1or 2", "'\\N{x}'"]:
            with pytest.raises(InvalidInput):
                parse_expression(source)
    assert [str(warning.message) for warning in caught] == []


# --- refused when evaluating ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "result", "problem"),
    [
        pytest.param(
            "result < 0.5",
            [0.1],
            "result is a list of 1 value; compare one of them, like result[0]",
            id="a-list-compared-with-a-number",
        ),
        pytest.param(
            "[0.1] < 0.5",
            None,
            "[0.1] is a list of 1 value; compare one of them, like [0.1][0]",
            id="a-list-literal-compared-with-a-number",
        ),
        pytest.param(
            "0.5 >= result",
            [0.1, 0.2],
            "result is a list of 2 values; compare one of them, like result[0]",
            id="a-number-compared-with-a-list",
        ),
        pytest.param(
            "result == 0",
            [0.1],
            "result is a list of 1 value",
            id="a-list-equal-to-a-number",
        ),
        pytest.param(
            "result < [1]",
            [0.1],
            "result is a list of 1 value",
            id="lists-ordered",
        ),
        pytest.param(
            "result[3] < 1",
            [0.5],
            "index 3 is out of range: result has 1 value",
            id="index-out-of-range",
        ),
        pytest.param(
            "result[-2] < 1",
            [0.5],
            "index -2 is out of range",
            id="negative-index-out-of-range",
        ),
        pytest.param(
            "result[0.5]", [1], "an index must be a whole number", id="index-not-a-whole-number"
        ),
        pytest.param("result[0]", 0.5, "result is a number (0.5)", id="index-of-a-number"),
        pytest.param("result['p95']", {"p99": 1}, "no key 'p95'; it has 'p99'", id="no-key"),
        pytest.param("result / 0", 1, "division by zero", id="division-by-zero"),
        pytest.param("result % 0.0", 1, "division by zero", id="modulo-by-zero"),
        pytest.param("1 / result", 0, "division by zero: result is 0", id="zero-from-result"),
        pytest.param("result < 'a'", 1, "can't compare result with 'a'", id="number-with-string"),
        pytest.param("result < 1", None, "result is nil", id="nil-compared"),
        pytest.param("result + 1", "a", "can't compute result + 1", id="string-plus-number"),
        pytest.param("'%s' % result", 1, "can't compute '%s' % result", id="no-formatting"),
        pytest.param("true + 1", None, "a bool (true)", id="bool-arithmetic"),
        pytest.param("-result", "a", "a sign needs a number", id="minus-a-string"),
        pytest.param("result && true", 1, "'and' (&&) needs true or false", id="and-a-number"),
        pytest.param("!result", [1], "'not' (!) needs true or false", id="not-a-list"),
        pytest.param("1 if result else 2", 1, "'if' needs true or false", id="if-a-number"),
        pytest.param("1 in result", 5, "'in' needs a list", id="in-a-number"),
        pytest.param("len(result)", 5, "len() needs a list, a string or a map", id="len-number"),
        pytest.param("max(result)", [], "max() of an empty list", id="max-of-nothing"),
        pytest.param("sum(result)", [1, "a"], "result[1] is a string", id="sum-of-a-string"),
        pytest.param("all(result)", [1], "result[0] is a number (1)", id="all-of-numbers"),
        pytest.param("int(result)", "1.5", "int() can't make a number", id="int-of-a-decimal"),
        pytest.param("int(result)", math.inf, "int() can't make a number", id="int-of-inf"),
        pytest.param("float(result)", [1], "float() needs a number", id="float-of-a-list"),
        pytest.param("isNaN(result)", [1.0], "isNaN() needs a number", id="is-nan-of-a-list"),
        pytest.param("'a' * 10001", None, "10,001 items; the most is 10,000", id="long-string"),
        pytest.param("[0] * 10001", None, "10,001 items", id="long-list"),
        pytest.param("[[1] * 5000] * 2", None, "10,002 items", id="nested-repetition"),
        pytest.param("'a' * 6000 + 'b' * 6000", None, "12,000 items", id="joined-strings"),
        pytest.param(
            "int('9' * 4000) * int('9' * 4000)", None, "is too large", id="huge-whole-number"
        ),
    ],
)
def test_a_runtime_problem_is_an_expression_error_quoting_the_expression(
    source: str, result: object, problem: str
) -> None:
    error = failure(source, result)
    assert problem in error.problem
    assert str(error).startswith("Can't evaluate ")
    assert source in str(error)
    assert error.source == source


def test_building_exactly_the_limit_is_fine() -> None:
    assert len(evaluate("'a' * 10000")) == 10_000  # type: ignore[arg-type]
    assert evaluate("len([0] * 10000)") == 10_000


def test_huge_numbers_are_an_error_not_a_crash() -> None:
    assert "too large" in failure("result * 1.5", 10**400).problem
    assert "too large" in failure("result / 3", 10**400).problem


def test_a_list_from_the_query_is_never_compared_with_a_number_silently() -> None:
    with pytest.raises(ExpressionError) as caught:
        parse_expression("result < 0.01").test({"result": [0.001]})
    assert str(caught.value) == (
        "Can't evaluate 'result < 0.01': result is a list of 1 value; "
        "compare one of them, like result[0]"
    )


# --- safety --------------------------------------------------------------------------------

ALPHABET_TOKENS = [
    *["result", "result[0]", "result[-1]", "[", "]", "(", ")", ",", ".", ":", "{", "}"],
    *["0", "1", "-1", "0.5", "1e-3", "1e999", "'a'", '"&& !"', "'\\n'", "'", '"'],
    *["+", "-", "*", "/", "%", "**", "//", "<", "<=", ">", ">=", "==", "!=", "=", "!"],
    *["&&", "||", "&", "|", "and", "or", "not", "in", "is", "if", "else", "lambda", "for"],
    *["true", "false", "nil", "None", "len", "abs", "min", "max", "sum", "isNaN", "isInf"],
    *["all", "any", "default", "float", "int", "__class__", "__import__", "open", "#", "*"],
]
VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=3), inner),
    max_leaves=8,
)


@contextmanager
def no_code_is_compiled_or_run() -> Iterator[None]:
    """eval and exec fail, and compile may only build a syntax tree (what ast.parse does)."""
    real_compile = builtins.compile

    def only_trees(
        source: Any, filename: Any, mode: Any, flags: int = 0, *args: Any, **kwargs: Any
    ) -> Any:
        if not flags & ast.PyCF_ONLY_AST:
            raise AssertionError(f"compiled {source!r} to code")
        return real_compile(source, filename, mode, flags, *args, **kwargs)

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"ran {args!r}")

    with (
        mock.patch.object(builtins, "compile", only_trees),
        mock.patch.object(builtins, "eval", refuse),
        mock.patch.object(builtins, "exec", refuse),
    ):
        yield


def parse_and_evaluate(source: str, result: object) -> None:
    try:
        expression = parse_expression(source)
    except InvalidInput:
        return
    try:
        expression.evaluate({"result": result})
        expression.test({"result": result})
    except ExpressionError:
        pass


@given(st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=60), VALUES)
def test_printable_text_only_ever_parses_or_is_invalid_input(source: str, result: object) -> None:
    with no_code_is_compiled_or_run():
        parse_and_evaluate(source, result)


@settings(max_examples=300)
@given(
    st.lists(st.sampled_from(ALPHABET_TOKENS), max_size=12),
    st.sampled_from([" ", ""]),
    VALUES,
)
def test_token_soup_only_ever_parses_or_is_invalid_input_and_evaluates_or_errs(
    tokens: list[str], glue: str, result: object
) -> None:
    with no_code_is_compiled_or_run():
        parse_and_evaluate(glue.join(tokens), result)


@given(st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=30))
def test_any_string_literal_reads_back_unchanged(text: str) -> None:
    literal = "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"
    assert parse_expression(literal).evaluate({}) == text


def test_the_guard_catches_code_being_compiled() -> None:
    with no_code_is_compiled_or_run(), pytest.raises(AssertionError, match="compiled"):
        compile("1", "<test>", "eval")


def test_the_module_imports_only_the_standard_library_and_relman_errors() -> None:
    tree = ast.parse(Path(expressions_module.__file__).read_text(encoding="utf-8"))
    imported: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module)
    outside = {
        name
        for name in imported
        if name.split(".")[0] not in sys.stdlib_module_names and name != "relman.errors"
    }
    assert outside == set()


def test_the_module_never_names_eval_exec_or_compile() -> None:
    tree = ast.parse(Path(expressions_module.__file__).read_text(encoding="utf-8"))
    called = {
        node.func.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
    }
    assert called.isdisjoint({"eval", "exec", "compile", "__import__"})


def test_expression_is_the_public_type() -> None:
    assert isinstance(parse_expression("1"), Expression)
