import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path
from xml.etree import ElementTree

import pytest

from relman.domain import testreports
from relman.domain.testreports import (
    FailedCase,
    TestSummary,
    parse_coverage,
    parse_junit,
)
from relman.errors import InvalidInput

FIXTURES = Path(__file__).parent / "junit"

SAMPLE_TESTS = """
import pytest


@pytest.fixture
def database():
    raise RuntimeError("database is down")


@pytest.fixture
def scratch():
    yield
    raise RuntimeError("cleanup failed")


def test_adds():
    assert 1 + 1 == 2


def test_subtracts():
    assert 2 - 1 == 1


def test_compares():
    assert 1 == 2, "one is not two"


def test_queries(database):
    pass


@pytest.mark.skip(reason="not today")
def test_later():
    pass


@pytest.mark.xfail(reason="known bug")
def test_known_bug():
    assert False


def test_fails_then_cleanup_fails(scratch):
    assert False
"""


def summary_of(xml: str) -> TestSummary:
    return parse_junit(textwrap.dedent(xml).strip().encode())


def refusal(data: bytes, source: str = "report.xml") -> str:
    with pytest.raises(InvalidInput) as caught:
        parse_junit(data, source)
    return caught.value.message


# --- real reports from pytest ----------------------------------------------------------------


@pytest.fixture(scope="module")
def pytest_reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """The JUnit XML pytest writes for SAMPLE_TESTS, in each junit_family."""
    folder = tmp_path_factory.mktemp("sample")
    (folder / "test_sample.py").write_text(SAMPLE_TESTS)
    runs = {
        family: subprocess.Popen(
            [
                sys.executable,
                "-m",
                "pytest",
                "test_sample.py",
                f"--junitxml={family}.xml",
                "-o",
                f"junit_family={family}",
                "-p",
                "no:cacheprovider",
                "-q",
            ],
            cwd=folder,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for family in ("xunit1", "xunit2")
    }
    for family, run in runs.items():
        assert run.wait(timeout=60) == 1, f"pytest ({family}) should report failing tests"
    return {family: (folder / f"{family}.xml").read_bytes() for family in runs}


@pytest.mark.parametrize("family", ["xunit1", "xunit2"])
def test_a_pytest_report_is_counted_from_its_testcases(
    pytest_reports: dict[str, bytes], family: str
) -> None:
    summary = parse_junit(pytest_reports[family], f"{family}.xml")

    # test_fails_then_cleanup_fails is written twice: its failure, then its teardown error.
    assert (summary.tests, summary.failures, summary.errors, summary.skipped) == (8, 2, 2, 2)
    assert summary.suites == 1
    assert not summary.passed
    assert summary.verdict == "failed: 2 failures, 2 errors in 8 tests"
    assert summary.failed_total == 4
    assert summary.failed_cases == (
        FailedCase(
            "pytest",
            "test_sample",
            "test_compares",
            "failure",
            "AssertionError: one is not two\nassert 1 == 2",
        ),
        FailedCase(
            "pytest",
            "test_sample",
            "test_queries",
            "error",
            'failed on setup with "RuntimeError: database is down"',
        ),
        FailedCase(
            "pytest", "test_sample", "test_fails_then_cleanup_fails", "failure", "assert False"
        ),
        FailedCase(
            "pytest",
            "test_sample",
            "test_fails_then_cleanup_fails",
            "error",
            'failed on teardown with "RuntimeError: cleanup failed"',
        ),
    )


@pytest.mark.parametrize("family", ["xunit1", "xunit2"])
def test_a_pytest_report_agrees_with_the_counts_pytest_wrote_on_its_suite(
    pytest_reports: dict[str, bytes], family: str
) -> None:
    suite = ElementTree.fromstring(pytest_reports[family]).find("testsuite")  # noqa: S314 (pytest wrote it)
    assert suite is not None
    summary = parse_junit(pytest_reports[family])

    assert {
        name: int(suite.get(name, "-1")) for name in ("tests", "failures", "errors", "skipped")
    } == {
        "tests": summary.tests,
        "failures": summary.failures,
        "errors": summary.errors,
        "skipped": summary.skipped,
    }
    assert summary.duration_seconds == float(suite.get("time", "-1"))


def test_an_old_pytest_report_with_a_testsuite_root_reads_the_same(
    pytest_reports: dict[str, bytes],
) -> None:
    # pytest before 5.1 wrote <testsuite> as the root, without the <testsuites> around it.
    modern = pytest_reports["xunit1"].decode()
    old = re.sub(r"</?testsuites[^>]*>", "", modern)
    assert "<testsuites" not in old

    assert parse_junit(old.encode()) == parse_junit(modern.encode())


# --- static reports from other tools -----------------------------------------------------------


def test_a_surefire_report_counts_its_testcases_and_ignores_reruns() -> None:
    summary = parse_junit((FIXTURES / "surefire-CalculatorTest.xml").read_bytes())

    # parsesExpressions was flaky (<flakyFailure>) and passed on a rerun: it passed.
    assert (summary.tests, summary.failures, summary.errors, summary.skipped) == (6, 1, 1, 1)
    assert (summary.suites, summary.duration_seconds) == (1, 0.087)
    suite = "com.example.CalculatorTest"
    assert summary.failed_cases == (
        FailedCase(suite, suite, "multipliesTwoNumbers", "failure", "expected: <6> but was: <5>"),
        FailedCase(suite, suite, "dividesByZero", "error", "/ by zero"),
    )


def test_a_report_with_several_suites_adds_them_up() -> None:
    summary = parse_junit((FIXTURES / "jest-three-suites.xml").read_bytes())

    assert (summary.tests, summary.failures, summary.errors, summary.skipped) == (6, 1, 0, 1)
    assert summary.suites == 3
    assert summary.duration_seconds == 1.203  # the <testsuites> time, not the suites' sum
    # jest-junit writes no message attribute: the first line of the text is the message.
    assert summary.failed_cases == (
        FailedCase(
            "cart",
            "cart totals prices",
            "cart totals prices",
            "failure",
            "Error: expect(received).toBe(expected) // Object.is equality",
        ),
    )


def test_nested_suites_count_the_suites_that_hold_tests() -> None:
    summary = summary_of(
        """
        <testsuites>
          <testsuite name="All" tests="3" failures="1" time="0.5">
            <testsuite name="CartTest" tests="2" failures="1" time="0.3">
              <testcase name="testAdd" classname="CartTest" time="0.1"/>
              <testcase name="testTotal" classname="CartTest" time="0.2">
                <failure type="PHPUnit\\Framework\\ExpectationFailedException">
        CartTest::testTotal
        Failed asserting that 29 matches expected 30.</failure>
              </testcase>
            </testsuite>
            <testsuite name="PriceTest" tests="1" time="0.2">
              <testcase name="testRound" classname="PriceTest" time="0.2"/>
            </testsuite>
          </testsuite>
        </testsuites>
        """
    )

    assert (summary.tests, summary.failures, summary.suites) == (3, 1, 2)
    assert summary.duration_seconds == 0.5
    assert summary.failed_cases == (
        FailedCase("CartTest", "CartTest", "testTotal", "failure", "CartTest::testTotal"),
    )


def test_a_testcase_with_an_error_and_a_failure_counts_once_as_an_error() -> None:
    summary = summary_of(
        """
        <testsuite name="s">
          <testcase name="t"><failure message="no"/><error message="boom"/></testcase>
        </testsuite>
        """
    )

    assert (summary.tests, summary.failures, summary.errors) == (1, 0, 1)
    assert [case.kind for case in summary.failed_cases] == ["failure", "error"]


def test_without_a_suite_time_the_testcase_times_add_up() -> None:
    summary = summary_of(
        '<testsuite><testcase name="a" time="1,234.5"/><testcase name="b" time="0.25"/>'
        '<testcase name="c" time="soon"/></testsuite>'
    )

    assert summary.duration_seconds == 1234.75


# --- reports without testcases -----------------------------------------------------------------


def test_without_testcases_the_outermost_counts_are_used() -> None:
    summary = summary_of(
        """
        <testsuites tests="12" failures="1" errors="0" skipped="2">
          <testsuite name="a" tests="7" failures="1" errors="0" skipped="2"/>
          <testsuite name="b" tests="5" failures="0" errors="0" skipped="0"/>
        </testsuites>
        """
    )

    assert (summary.tests, summary.failures, summary.errors, summary.skipped) == (12, 1, 0, 2)
    assert summary.suites == 2


def test_without_testcases_or_totals_the_suites_counts_add_up() -> None:
    summary = summary_of(
        '<testsuites><testsuite tests="7" errors="1"/><testsuite tests="5"/></testsuites>'
    )

    assert (summary.tests, summary.failures, summary.errors, summary.skipped) == (12, 0, 1, 0)


def test_a_count_attribute_that_is_not_a_number_is_refused_where_it_is() -> None:
    message = refusal(b'<testsuites>\n  <testsuite tests="7" failures="x"/>\n</testsuites>')

    assert message.startswith("report.xml:2:3: failures='x' is not a whole number")


def test_a_report_without_tests_does_not_pass() -> None:
    summary = summary_of('<testsuites name="pytest tests"><testsuite tests="0"/></testsuites>')

    assert summary.tests == 0
    assert not summary.passed
    assert summary.verdict.startswith("not passed: the report has no tests")


def test_a_report_with_only_passes_and_skips_passes() -> None:
    summary = summary_of(
        '<testsuite><testcase name="a"/><testcase name="b"><skipped/></testcase></testsuite>'
    )

    assert summary.passed
    assert summary.verdict == "passed: 2 tests, 1 skipped"


# --- failure messages --------------------------------------------------------------------------


def test_a_failure_without_message_or_text_falls_back_to_its_type() -> None:
    summary = summary_of(
        '<testsuite><testcase name="a"><error type="Timeout"/></testcase></testsuite>'
    )

    assert summary.failed_cases[0].message == "Timeout"


def test_a_long_message_is_cut_to_500_characters() -> None:
    summary = summary_of(
        f'<testsuite><testcase name="a"><failure message="{"x" * 2000}"/></testcase></testsuite>'
    )

    assert summary.failed_cases[0].message == "x" * 499 + "…"


def test_only_the_first_50_failed_cases_are_kept_but_all_are_counted() -> None:
    cases = "".join(
        f'<testcase name="t{i}"><failure message="m{i}"/></testcase>' for i in range(70)
    )
    summary = summary_of(f"<testsuite>{cases}</testsuite>")

    assert (summary.failures, summary.failed_total, len(summary.failed_cases)) == (70, 70, 50)
    assert summary.failed_cases[-1].name == "t49"


# --- the JSON round trip -----------------------------------------------------------------------


def test_a_summary_survives_a_json_round_trip(pytest_reports: dict[str, bytes]) -> None:
    summary = parse_junit(pytest_reports["xunit2"])

    assert TestSummary.from_dict(json.loads(json.dumps(summary.to_dict()))) == summary


def test_a_dict_that_is_not_a_summary_is_refused() -> None:
    with pytest.raises(InvalidInput, match=r"Not a test summary.*TestSummary\.to_dict"):
        TestSummary.from_dict({"tests": 3})


# --- refusals ----------------------------------------------------------------------------------

BILLION_LAUGHS = (
    b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
"""
    + b"".join(
        b' <!ENTITY lol%d "%s">\n' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10)
        for i in range(1, 20)
    )
    + b"""]>
<testsuite name="&lol19;"/>
"""
)


def test_a_billion_laughs_report_is_refused_at_its_doctype() -> None:
    message = refusal(BILLION_LAUGHS)

    # Refused on line 2, where the DOCTYPE opens, before the first entity (line 3) is declared.

    assert message.startswith("report.xml:2:16: the report declares a DTD or entity (lolz)")
    assert "remove the <!DOCTYPE …> declaration" in message


@pytest.mark.parametrize(
    "doctype",
    [
        pytest.param(b'<!DOCTYPE t SYSTEM "file:///etc/passwd">', id="external-dtd"),
        pytest.param(
            b'<!DOCTYPE t [<!ENTITY x SYSTEM "file:///etc/passwd">]>', id="external-entity"
        ),
        pytest.param(b"<!DOCTYPE t>", id="bare-doctype"),
    ],
)
def test_any_doctype_is_refused(doctype: bytes) -> None:
    message = refusal(doctype + b'\n<testsuite name="&x;"/>', "TEST-a.xml")

    assert re.match(r"TEST-a\.xml:1:\d+: the report declares a DTD or entity \(t", message)


def test_malformed_xml_is_refused_with_its_line_and_column() -> None:
    data = b'<?xml version="1.0"?>\n<testsuites>\n  <testsuite name="a"></testcase>\n'

    assert refusal(data) == (
        "report.xml:3:25: not well-formed XML (mismatched tag); "
        "give the file pytest --junitxml or your test runner wrote"
    )


def test_a_truncated_report_is_refused() -> None:
    message = refusal(b"<testsuites>\n<testsuite>\n<testcase name='a'/>")

    assert message.startswith("report.xml:3:21: not well-formed XML (no element found)")


def test_text_that_is_not_xml_is_refused() -> None:
    message = refusal(b'{"tests": 3}', "results.json")

    assert message.startswith("results.json:1:1: not well-formed XML (invalid token)")


def test_a_document_of_another_kind_is_refused_by_its_root() -> None:
    message = refusal(b"<html><body>502 Bad Gateway</body></html>")

    assert message == (
        "report.xml: the root element is <html>, not <testsuites> or <testsuite>: "
        "is this a JUnit XML report? Give the file pytest --junitxml or your test runner wrote"
    )


@pytest.mark.parametrize("data", [b"", b"  \n\t\n"], ids=["empty", "blank"])
def test_an_empty_report_is_refused(data: bytes) -> None:
    assert refusal(data) == (
        "report.xml is empty; give the file pytest --junitxml or your test runner wrote"
    )


def test_a_report_over_the_size_limit_is_refused_before_parsing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(testreports, "MAX_REPORT_BYTES", 100)
    cases = "".join(f'<testcase name="t{i}"/>' for i in range(10))

    message = refusal(f"<testsuite>{cases}</testsuite>".encode())

    assert message.startswith("report.xml is 233 bytes; at most 100 are accepted")


def test_elements_nested_too_deep_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(testreports, "MAX_DEPTH", 3)

    message = refusal(
        b"<testsuites><testsuite><testsuite><testsuite/></testsuite></testsuite></testsuites>"
    )

    assert message.startswith("report.xml:1:35: elements nest over 3 deep")


# --- coverage ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "percent"),
    [("87.5", 87.5), ("87.5%", 87.5), (" 100 % ", 100.0), ("0", 0.0), ("66.67", 66.67)],
)
def test_a_coverage_percentage_is_read(text: str, percent: float) -> None:
    assert parse_coverage(text) == percent


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("eighty", "'eighty' is not a number"),
        ("", "'' is not a number"),
        ("nan", "'nan' is not a number"),
        ("inf%", "'inf%' is not a number"),
        ("101", "'101' is not between 0 and 100"),
        ("-1%", "'-1%' is not between 0 and 100"),
    ],
)
def test_a_coverage_that_is_no_percentage_is_refused(text: str, complaint: str) -> None:
    with pytest.raises(InvalidInput, match=re.escape(f"Coverage {complaint}; give")):
        parse_coverage(text)
