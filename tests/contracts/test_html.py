"""contracts.html: a run as one self-contained page, for `capkit fuzz` and `capkit verify`."""

from __future__ import annotations

import base64
import dataclasses
import json
from html.parser import HTMLParser

from schemathesis.engine import StopReason

import spec
from contracts import Credentials, Finding, FuzzOptions, OperationResult, Outcome
from contracts.coverage import CoverageCounter, operations_of
from contracts.html import MOST_FAILURES, fuzz_page, render, verify_page
from contracts.verify import check_har

DOCUMENT = spec.load()
LOOKUP = "GET /customers/lookup"
FINDING = Finding(
    operation=LOOKUP,
    check="documented_error_code",
    title="Custom check failed: `documented_error_code`",
    message="Expected: a code that GET /customers/lookup documents for 400\nActual:   code 8009",
    status=400,
    body='{"errors":[{"code":8009,"message":"</pre><script>alert(1)</script>"}]}',
    reproduce=("curl -X GET -H 'Authorization: Basic [Filtered]' 'http://t/v2/customers/lookup'",),
)


def outcome(*findings: Finding) -> Outcome:
    counter = CoverageCounter(DOCUMENT)
    counter.add(LOOKUP, 200, "{}")
    counter.add(LOOKUP, 400, json.dumps({"errors": [{"code": 8015}]}))
    counter.add(LOOKUP, 405, "")
    return Outcome(
        base_url="http://t/v2",
        operations=(OperationResult(LOOKUP, "lookupCustomer", 120, len(findings)),),
        findings=findings,
        errors=(),
        elapsed=2.0,
        stop_reason=StopReason.COMPLETED,
        unauthenticated=False,
        credentials=Credentials(till="till"),
        coverage=counter.coverage(),
        seed=42,
    )


class Parts(HTMLParser):
    """What a page would load, run, or link to, and the text of the elements with an id."""

    def __init__(self) -> None:
        super().__init__()
        self.loads: list[str] = []
        self.scripts = 0
        self.cells: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        self.loads.extend(value or "" for name, value in attrs if name in ("src", "href"))
        self.scripts += tag == "script"
        if tag == "td" and "cell" in (found.get("class") or ""):
            self.cells.append((found.get("title") or "", found.get("class") or ""))


def parts(html: str) -> Parts:
    parser = Parts()
    parser.feed(html)
    return parser


def test_a_broken_run_shows_verdict_failures_with_curl_settings_and_seed() -> None:
    options = FuzzOptions(auth="till:s3cret-pass", seed=42)
    html = render(fuzz_page(outcome(FINDING), options, DOCUMENT))
    assert "contract broken: 1 distinct failure(s) in 1 operation(s)" in html
    assert "documented_error_code" in html and "Actual:   code 8009" in html
    assert "curl -X GET -H &#39;Authorization: Basic [Filtered]&#39;" in html
    assert "42 (--seed 42 runs the same cases)" in html
    assert "--auth till &#39;till&#39;" in html and "s3cret-pass" not in html
    # What the target answered is text on the page, never markup.
    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)" in html


def test_the_page_loads_nothing_and_runs_nothing() -> None:
    found = parts(render(fuzz_page(outcome(FINDING), FuzzOptions(), DOCUMENT)))
    assert (found.loads, found.scripts) == ([], 0)


def test_the_coverage_matrix_marks_each_status_reached_missed_or_undeclared() -> None:
    html = render(fuzz_page(outcome(), FuzzOptions(), DOCUMENT))
    cells = dict(parts(html).cells)
    assert cells["lookupCustomer 200: reached"] == "cell reached"
    assert cells["lookupCustomer 401: missed"] == "cell missed"
    assert cells["lookupCustomer 405: undeclared"] == "cell undeclared"
    operations = len(list(operations_of(DOCUMENT)))
    assert f"coverage: 1/{operations} operations, 1/" in html


def test_failures_beyond_the_most_a_page_shows_are_counted() -> None:
    many = [dataclasses.replace(FINDING, message=f"case {n}") for n in range(MOST_FAILURES + 3)]
    page = fuzz_page(outcome(*many), FuzzOptions(), DOCUMENT)
    assert (len(page.failures), page.more_failures) == (MOST_FAILURES, 3)
    assert "… and 3 more, left out of this page." in render(page)


def test_verify_counts_exchanges_per_operation_and_shows_each_broken_one_with_curl() -> None:
    def entry(url: str, status: int, body: str) -> dict[str, object]:
        return {
            "request": {
                "method": "GET",
                "url": url,
                "headers": [{"name": "Authorization", "value": "Basic [Filtered]"}],
            },
            "response": {
                "status": status,
                "headers": [{"name": "Content-Type", "value": "application/json"}],
                "content": {"text": body},
            },
        }

    lookup = "http://m/v2/customers/lookup?identifierName=mobile&identifierValue=9"
    har = {
        "log": {
            "entries": [
                entry(lookup + "&source=INSTORE", 200, '{"entity": 306, "warnings": []}'),
                entry(lookup + "&source=MYSPACE", 400, '{"warnings": [], "errors": []}'),
                entry("http://m/v2/nowhere", 404, "{}"),
            ]
        }
    }
    page = verify_page("journal.har", check_har(har, DOCUMENT), DOCUMENT)
    rows = {row.label: (row.count, row.failures) for row in page.rows}
    assert rows[LOOKUP] == (2, 1) and rows["no operation of the spec"] == (1, 1)
    assert page.state == "broken" and page.verdict.startswith("journal.har: ")
    [source, nowhere] = page.failures
    assert source.where == f"entries[1] GET {lookup}&source=MYSPACE"
    assert "request query parameter 'source'" in source.message
    assert source.reproduce == (
        f"curl -X GET -H 'Authorization: Basic [Filtered]' '{lookup}&source=MYSPACE'",
    )
    assert nowhere.message == "exchange: matches no operation of the spec"


def test_verify_reads_a_body_stored_as_base64_for_the_codes_it_reached() -> None:
    answer = json.dumps({"warnings": [], "errors": [{"status": False, "code": 8015}]}).encode()
    stored = {
        "request": {"method": "GET", "url": "http://m/v2/customers/lookup", "headers": []},
        "response": {
            "status": 400,
            "headers": [{"name": "Content-Type", "value": "application/json"}],
            "content": {"encoding": "base64", "text": base64.b64encode(answer).decode()},
        },
    }
    page = verify_page("journal.har", check_har({"log": {"entries": [stored]}}, DOCUMENT), DOCUMENT)
    assert page.coverage.reached_codes == 1
