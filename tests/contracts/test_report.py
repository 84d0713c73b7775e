"""contracts.report: the table, each failure with expected, actual and curl, and the verdict."""

from __future__ import annotations

import dataclasses
import io

from schemathesis.engine import StopReason

import spec
from contracts import Credentials, Finding, OperationResult, Outcome, RunError
from contracts.coverage import CoverageCounter
from contracts.report import ProgressPrinter, advice, format_outcome, verdict

FINDING = Finding(
    operation="GET /customers/lookup",
    check="documented_error_code",
    title="Custom check failed: `documented_error_code`",
    message="Expected: a code that GET /customers/lookup documents for 400: 400, 8015\n"
    "Actual:   code 8009 ('Customer not found')",
    status=400,
    body='{"errors":[{"code":8009}]}',
    reproduce=("curl -X GET 'http://127.0.0.1:8080/v2/customers/lookup?source=ALL'",),
)
CONFORMING = Outcome(
    base_url="http://127.0.0.1:8080/v2",
    operations=(
        OperationResult("GET /customers/lookup", "lookupCustomer", 120, 0),
        OperationResult("POST /customers", "registerCustomer", 8, 0),
    ),
    findings=(),
    errors=(),
    elapsed=2.0,
    stop_reason=StopReason.COMPLETED,
    unauthenticated=False,
)
BROKEN = dataclasses.replace(
    CONFORMING,
    operations=(
        OperationResult("GET /customers/lookup", "lookupCustomer", 120, 1),
        OperationResult("POST /customers", "registerCustomer", 8, 0),
    ),
    findings=(FINDING,),
)


def test_a_conforming_run_is_a_table_and_a_verdict() -> None:
    assert format_outcome(CONFORMING) == (
        "operation         request                cases  failures\n"
        "lookupCustomer    GET /customers/lookup    120         0\n"
        "registerCustomer  POST /customers            8         0\n"
        "total                                      128         0\n"
        "\n"
        "conforms: 128 cases against http://127.0.0.1:8080/v2 in 2.0 s (64 cases/s), no failures"
    )


def test_each_failure_shows_operation_check_expected_actual_and_curl() -> None:
    report = format_outcome(BROKEN)
    assert (
        "Failures (1 distinct)\n"
        "\n"
        "1. lookupCustomer  GET /customers/lookup\n"
        "   check: documented_error_code\n"
        "   Expected: a code that GET /customers/lookup documents for 400: 400, 8015\n"
        "   Actual:   code 8009 ('Customer not found')\n"
        '   answer: 400 {"errors":[{"code":8009}]}\n'
        "   reproduce:\n"
        "      curl -X GET 'http://127.0.0.1:8080/v2/customers/lookup?source=ALL'\n"
    ) in report
    assert report.endswith(
        "contract broken: 1 distinct failure(s) in 1 operation(s); 128 cases against"
        " http://127.0.0.1:8080/v2 in 2.0 s (64 cases/s)"
    )


def test_a_builtin_checks_title_says_what_it_found() -> None:
    server_error = dataclasses.replace(
        FINDING, check="not_a_server_error", title="Server error", message="", status=500
    )
    report = format_outcome(dataclasses.replace(BROKEN, findings=(server_error,)))
    assert "   check: not_a_server_error: Server error\n   answer: 500 " in report


TIMEOUT = RunError("GET /customers/lookup", "Timeout", "No answer within 10 s")


def test_errors_are_listed_and_counted_beside_failures() -> None:
    outcome = dataclasses.replace(BROKEN, errors=(TIMEOUT,))
    report = format_outcome(outcome)
    assert "Errors (1): cases that could not run to their end\n\n" in report
    assert "- GET /customers/lookup: Timeout\n   No answer within 10 s" in report
    assert outcome.inconclusive is None
    assert verdict(outcome).startswith(
        "contract broken: 1 distinct failure(s) in 1 operation(s), 1 error(s);"
    )


def test_errors_without_a_failure_are_inconclusive_naming_them() -> None:
    reset = RunError("POST /customers", "Network Error", "Connection reset by peer")
    outcome = dataclasses.replace(CONFORMING, errors=(TIMEOUT, reset))
    assert "Errors (2): cases that could not run to their end\n\n" in format_outcome(outcome)
    assert verdict(outcome) == (
        "inconclusive: 2 error(s), cases that could not run to their end; no failures in 128"
        " cases against http://127.0.0.1:8080/v2 in 2.0 s (64 cases/s)"
    )
    assert outcome.inconclusive is not None
    assert outcome.inconclusive.startswith(
        "2 error(s), cases that could not run to their end: GET /customers/lookup: Timeout;"
        " POST /customers: Network Error; they tested nothing"
    )


def test_progress_is_a_line_per_phase_and_a_mark_per_scenario() -> None:
    stream = io.StringIO()
    printer = ProgressPrinter(stream)
    printer.phase_started("examples")
    for status in ("success", "failure", "error", "skip"):
        printer.scenario_finished("examples", status)
    printer.phase_finished("examples", "failure")
    printer.phase_started("stateful")
    printer.phase_finished("stateful", "skip")
    assert stream.getvalue() == "examples  .FEs failed\nstateful   skipped\n"


def test_a_run_that_ended_early_without_failures_is_inconclusive() -> None:
    stopped = dataclasses.replace(CONFORMING, stop_reason=StopReason.SERVER_UNAVAILABLE)
    assert verdict(stopped) == (
        "inconclusive: the run ended early; no failures in 128 cases against"
        " http://127.0.0.1:8080/v2 in 2.0 s (64 cases/s)"
    )


def test_a_target_that_went_away_is_inconclusive_with_the_errors_it_left() -> None:
    # schemathesis stops when the target stops answering, with an error of the case it cut.
    gone = RunError("Server", "Server Unavailable", "http://127.0.0.1:8080 stopped responding")
    stopped = dataclasses.replace(
        CONFORMING, stop_reason=StopReason.SERVER_UNAVAILABLE, errors=(TIMEOUT, gone)
    )
    assert verdict(stopped).startswith("inconclusive: the run ended early; no failures in 128")
    assert stopped.inconclusive == (
        "the run ended early: the target stopped answering (GET /customers/lookup: Timeout;"
        " Server: Server Unavailable)"
    )


IGNORED_AUTH = dataclasses.replace(
    FINDING,
    check="ignored_auth",
    title="API accepts requests without authentication",
    message="Expected 401 or 403, got `200 OK` for `GET /customers/lookup`",
)


def test_the_note_on_ignored_auth_pins_the_mock_to_the_runs_kind_of_credentials() -> None:
    basic = "`capkit serve --auth till:password`, this run's credentials"
    token = "`capkit serve --token TOKEN`, this run's token"
    for credentials, pin in [
        (Credentials(till="till"), basic),
        (Credentials(headers=("Authorization",)), basic),
        (Credentials(headers=("X-CAP-API-OAUTH-TOKEN",)), token),
        (
            Credentials("till", ("X-CAP-API-OAUTH-TOKEN",)),
            "`capkit serve --auth till:password --token TOKEN`, this run's credentials",
        ),
    ]:
        outcome = dataclasses.replace(BROKEN, findings=(IGNORED_AUTH,), credentials=credentials)
        assert advice(outcome) == [
            "Note on ignored_auth: the target answered requests that carried no credentials."
            f" capkit's mock does with --no-auth: serve it pinned, {pin}."
        ], credentials


def test_refused_credentials_say_what_to_check_the_md5_for_a_password_alone() -> None:
    refused = dataclasses.replace(CONFORMING, unauthenticated=True)
    token_header = Credentials(headers=("X-CAP-API-OAUTH-TOKEN",))
    token = dataclasses.replace(refused, credentials=token_header)
    basic = dataclasses.replace(refused, credentials=Credentials(till="till"))
    assert token.inconclusive is not None and token.inconclusive.endswith("; check the token")
    assert "md5" not in token.inconclusive
    assert basic.inconclusive is not None and basic.inconclusive.endswith(
        "; check them (the password goes as its md5, as Capillary takes it)"
    )
    both = dataclasses.replace(refused, credentials=Credentials("till", ("X-CAP-API-OAUTH-TOKEN",)))
    assert both.inconclusive is not None and both.inconclusive.endswith(
        "; check them: a request with a token is judged by the token (as Capillary does), so"
        " the target must take this one (capkit's mock: --token)"
    )


def throttled(lookup: tuple[int, int], register: tuple[int, int]) -> Outcome:
    """CONFORMING, its operations answered (answers, of which 429) as given."""
    return dataclasses.replace(
        CONFORMING,
        operations=(
            OperationResult("GET /customers/lookup", "lookupCustomer", 120, 0, *lookup),
            OperationResult("POST /customers", "registerCustomer", 8, 0, *register),
        ),
    )


def test_a_run_answered_mostly_429_is_inconclusive_saying_to_slow_down() -> None:
    outcome = throttled(lookup=(120, 70), register=(8, 0))
    assert verdict(outcome) == (
        "inconclusive: 70 of 128 answers were 429 (Too Many Requests); no failures in 128 cases"
        " against http://127.0.0.1:8080/v2 in 2.0 s (64 cases/s)"
    )
    assert outcome.inconclusive is not None
    assert "the target's rate limit refused most of the run's requests" in outcome.inconclusive
    assert outcome.inconclusive.endswith(
        "; send the requests slower than the target's limit with --rate-limit (rate_limit= in"
        " Python), e.g. --rate-limit 90/m against Capillary's demo cluster, which allows 100 a"
        " minute per API key"
    )


def test_an_operation_answered_only_429_went_untested() -> None:
    outcome = throttled(lookup=(120, 3), register=(8, 8))
    assert outcome.inconclusive is not None
    assert outcome.inconclusive.startswith(
        "11 of 128 answers were 429 (Too Many Requests): the target's rate limit refused every"
        " request of registerCustomer, which went untested; "
    )


def test_a_few_429s_among_many_answers_still_conform() -> None:
    for outcome in (throttled(lookup=(120, 5), register=(8, 1)), throttled((120, 64), (8, 0))):
        assert outcome.inconclusive is None
        assert verdict(outcome).startswith("conforms: 128 cases against ")


def test_a_run_answered_404_throughout_asks_whether_the_url_serves_the_api() -> None:
    counter = CoverageCounter(spec.load())
    counter.add("GET /customers/lookup", 404, "Not Found")
    counter.add("POST /customers", 404, "Not Found")
    nowhere = dataclasses.replace(BROKEN, coverage=counter.coverage())
    assert advice(nowhere) == [
        "Note: every answer was 404: http://127.0.0.1:8080/v2 serves none of the spec's paths."
        " Is it where the target serves the API (the spec's server path, appended to the origin"
        " given)?"
    ]
    counter.add("GET /customers/lookup", 200, "{}")
    assert advice(dataclasses.replace(BROKEN, coverage=counter.coverage())) == []
