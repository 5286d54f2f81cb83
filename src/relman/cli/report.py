"""`relman report tests`: send CI's test results for a release (the `tests` gate reads them)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from relman.cli.common import JsonOption, api
from relman.cli.output import console, emit
from relman.domain.testreports import MAX_REPORT_BYTES, parse_coverage
from relman.errors import InvalidInput

app = typer.Typer(help="Report results from CI.", no_args_is_help=True)


@app.command("tests")
def report_tests(
    release: Annotated[str, typer.Option(help="SERVICE@VERSION, like api@1.4.0.")],
    junit: Annotated[Path, typer.Option(help="The JUnit XML report (pytest --junitxml=…).")],
    coverage: Annotated[
        str | None, typer.Option(help="Line coverage in percent, like 87.5 or 87.5%.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Record a release's test results: the counts, the failed cases and the coverage."""
    service, _, version = release.partition("@")
    if not service or not version:
        raise InvalidInput(
            f"--release '{release}' is not SERVICE@VERSION; give it like api@1.4.0",
            details={"release": release},
        )
    try:
        data = junit.read_bytes()
    except OSError as exc:
        raise InvalidInput(f"Cannot read the JUnit report {junit}: {exc.strerror}") from None
    if len(data) > MAX_REPORT_BYTES:
        raise InvalidInput(
            f"{junit} is {len(data) // 2**20} MiB; relman takes JUnit reports up to "
            f"{MAX_REPORT_BYTES // 2**20} MiB"
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInput(
            f"{junit} is not UTF-8 text (byte {exc.start}); JUnit reports are UTF-8 XML"
        ) from None
    body = {
        "junit": text,
        "coverage": None if coverage is None else parse_coverage(coverage),
        "source": junit.name,
    }
    with api() as client:
        row = client.post(f"/api/v1/releases/{service}/{version}/test-reports", body)

    def render() -> None:
        cover = f", coverage {row['coverage']:g}%" if row["coverage"] is not None else ""
        console.print(f"{service} {version}: {row['verdict']}{cover} (report {row['id']})")
        for case in row["summary"].get("failed_cases", [])[:10]:
            console.print(
                f"  ✗ {case['classname']}::{case['name']}: {case['message']}", markup=False
            )

    emit(row, as_json, render)
