"""contracts.fuzz: the mock passes its own contract in-process; a run does what its options say."""

from __future__ import annotations

import ast
import base64
import gc
import hashlib
import json
import socket
import sys
import threading
import xml.etree.ElementTree as ElementTree
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

import pytest

import spec
from contracts import BadOption, FuzzOptions, TargetUnreachable, assert_conforms, fuzz
from contracts.report import format_outcome
from mockserver import Settings, create_app
from tests.contracts import broken_target
from tests.contracts.conftest import EXAMPLES, SEED
from tests.ports import free_port

AUTH = f"{broken_target.TILL}:{broken_target.PASSWORD}"


def test_the_mock_passes_its_own_contract_in_process(tmp_path: Path) -> None:
    settings = Settings(
        auth=AUTH, state=str(tmp_path / "state.db"), journal=tmp_path / "journal.db"
    )
    outcome = fuzz(create_app(settings), FuzzOptions(auth=AUTH, max_examples=EXAMPLES, seed=SEED))
    assert_conforms(outcome)
    assert not outcome.unauthenticated
    # Every operation was tested, and the stateful phase followed the spec's links.
    assert all(operation.cases for operation in outcome.operations), outcome.operations
    assert len(outcome.operations) == len(list(spec.operations(spec.load())))


class Cycle:
    """Garbage only the collector frees, running a finalizer: where a collection falls within
    another thread's parse, the GIL may pass on the way."""

    def __init__(self) -> None:
        self.me = self

    def __del__(self) -> None:
        pass


def test_threads_of_a_run_parse_sources_at_once_without_failing() -> None:
    # hypothesis parses its strategies' sources in schemathesis' worker threads (--workers).
    source = "\n".join(
        f"def f{n}(x):\n    return [(a, b) for a in x if a for b in {{k: v for k, v in x}}]"
        for n in range(100)
    )
    failures: list[Exception] = []

    def parse() -> None:
        for _ in range(40):
            for _ in range(50):
                Cycle()
            try:
                ast.parse(source)
            except SystemError as error:
                failures.append(error)

    threshold, interval = gc.get_threshold(), sys.getswitchinterval()
    gc.set_threshold(50)
    sys.setswitchinterval(1e-6)
    try:
        threads = [threading.Thread(target=parse) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        gc.set_threshold(*threshold)
        sys.setswitchinterval(interval)
    assert not failures, failures[:1]


class Recorder:
    """A WSGI app around another that remembers the method of each request."""

    def __init__(self, app: WSGIApplication) -> None:
        self.app = app
        self.methods: set[str] = set()

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        self.methods.add(environ["REQUEST_METHOD"])
        return self.app(environ, start_response)


def test_read_only_sends_no_post_put_patch_or_delete() -> None:
    recorder = Recorder(broken_target.create_app())
    options = FuzzOptions(auth=AUTH, max_examples=3, seed=SEED, read_only=True)
    outcome = fuzz(recorder, options)
    assert recorder.methods and recorder.methods <= {"GET", "OPTIONS", "TRACE"}, recorder.methods
    assert "POST /customers" not in {operation.label for operation in outcome.operations}


def test_include_operation_tests_only_those() -> None:
    options = FuzzOptions(
        auth=AUTH, max_examples=3, seed=SEED, operations=("getSubscriptions", "getCustomer")
    )
    outcome = fuzz(broken_target.create_app(), options)
    tested = {operation.operation_id: operation.cases for operation in outcome.operations}
    assert set(tested) == {"getSubscriptions", "getCustomer"}
    assert all(tested.values())


def taking_any_token(app: WSGIApplication) -> WSGIApplication:
    """APP, which checks Basic credentials, behind a gate that lets any X-CAP-API-OAUTH-TOKEN in
    as the valid till: a target that ignores which token it is sent."""
    password = hashlib.md5(broken_target.PASSWORD.encode()).hexdigest()
    valid = base64.b64encode(f"{broken_target.TILL}:{password}".encode())

    def gate(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if environ.pop("HTTP_X_CAP_API_OAUTH_TOKEN", None) is not None:
            environ["HTTP_AUTHORIZATION"] = f"Basic {valid.decode()}"
        return app(environ, start_response)

    return gate


def test_a_target_that_takes_any_token_is_caught_by_the_made_up_token() -> None:
    options = FuzzOptions(
        headers={"X-CAP-API-OAUTH-TOKEN": "TOK123"},
        max_examples=3,
        seed=SEED,
        operations=("getSubscriptions",),
    )
    outcome = fuzz(taking_any_token(broken_target.create_app()), options)
    (finding,) = [finding for finding in outcome.findings if finding.check == "ignored_auth"]
    assert finding.title == "API accepts invalid authentication"
    # The probe altered the token (the run's one masked, the made-up one shown), not only Basic.
    run, probe = finding.reproduce
    assert "-H 'X-CAP-API-OAUTH-TOKEN: [Filtered]'" in run
    assert "-H 'X-CAP-API-OAUTH-TOKEN: SCHEMATHESIS-INVALID-VALUE'" in probe
    assert "Authorization" not in probe
    assert probe.endswith("  # invalid credentials (made up by ignored_auth)")
    report = format_outcome(outcome)
    assert "serve it with `capkit serve --token TOKEN`, this run's token" in report
    assert "TOK123" not in report


class Phases:
    """A Listener that writes down what it hears."""

    def __init__(self) -> None:
        self.heard: list[tuple[str, str]] = []

    def phase_started(self, phase: str) -> None:
        self.heard.append(("started", phase))

    def scenario_finished(self, phase: str, status: str) -> None:
        self.heard.append((phase, status))

    def phase_finished(self, phase: str, status: str) -> None:
        self.heard.append(("finished", phase))


def test_the_listener_hears_every_phase_and_scenario() -> None:
    phases = Phases()
    options = FuzzOptions(auth=AUTH, max_examples=3, seed=SEED, operations=("getSubscriptions",))
    fuzz(broken_target.create_app(), options, listener=phases)
    started = [phase for event, phase in phases.heard if event == "started"]
    assert started == ["examples", "coverage", "fuzzing", "stateful"]
    # getSubscriptions' planted bug fails its scenarios.
    assert ("coverage", "failure") in phases.heard
    # getSubscriptions alone holds no link: nothing for the stateful phase to follow.
    assert phases.heard[-2:] == [("started", "stateful"), ("finished", "stateful")]


@pytest.mark.parametrize(
    ("auth", "reason"),
    [
        (None, "the target wants credentials and the run sent none"),
        ("till:wrong", "the target refused the credentials of this run (--auth till 'till')"),
    ],
)
def test_a_run_whose_first_answers_are_all_401_stops_at_once(auth: str | None, reason: str) -> None:
    phases = Phases()
    options = FuzzOptions(auth=auth, max_examples=3, seed=SEED, operations=("getSubscriptions",))
    outcome = fuzz(broken_target.create_app(), options, listener=phases)
    assert outcome.unauthenticated and outcome.conforms
    assert outcome.inconclusive is not None and reason in outcome.inconclusive
    with pytest.raises(AssertionError, match="every request was answered 401"):
        assert_conforms(outcome)
    # Stopped after its first scenarios: the fuzzing phase never started.
    assert ("started", "fuzzing") not in phases.heard


def test_a_run_its_targets_rate_limit_mostly_refused_is_inconclusive(tmp_path: Path) -> None:
    settings = Settings(
        auth=AUTH,
        state=str(tmp_path / "state.db"),
        journal=tmp_path / "journal.db",
        rate_limit="30/m",
    )
    options = FuzzOptions(
        auth=AUTH,
        max_examples=5,
        seed=SEED,
        operations=("getCustomer", "lookupCustomer"),
        junit=tmp_path / "junit.xml",
    )
    outcome = fuzz(create_app(settings), options)
    # Some 200 cases in a few seconds: past the 30th of the minute (60th, when the run spans
    # two of the limit's windows), each answer is 429.
    assert outcome.conforms and outcome.answers > 150, format_outcome(outcome)
    assert 2 * outcome.throttled > outcome.answers
    with pytest.raises(AssertionError, match=f"{outcome.throttled} of {outcome.answers} answers"):
        assert_conforms(outcome)
    (error,) = ElementTree.parse(tmp_path / "junit.xml").getroot().iter("error")
    assert error.text == f"inconclusive: {outcome.inconclusive}"


def test_a_read_only_run_of_write_operations_alone_has_nothing_to_test() -> None:
    options = FuzzOptions(auth=AUTH, read_only=True, operations=("registerCustomer",))
    with pytest.raises(BadOption, match="no operation to test: --read-only sends no POST"):
        fuzz(broken_target.create_app(), options)


def test_reports_junit_xml_and_har(tmp_path: Path) -> None:
    options = FuzzOptions(
        auth=AUTH,
        max_examples=3,
        seed=SEED,
        operations=("getPointsTransfers",),
        junit=tmp_path / "junit.xml",
        har=tmp_path / "traffic.har",
    )
    outcome = fuzz(broken_target.create_app(), options)
    failures = ElementTree.parse(tmp_path / "junit.xml").getroot().iter("failure")
    assert any(
        "warnings" in (failure.get("message", "") + (failure.text or "")) for failure in failures
    )
    entries = json.loads((tmp_path / "traffic.har").read_text())["log"]["entries"]
    assert len(entries) >= outcome.cases > 0
    assert {entry["request"]["url"].split("?")[0].rsplit("/", 1)[-1] for entry in entries} == {
        "pointsTransfers"
    }


def test_the_junit_xml_of_an_inconclusive_run_carries_its_verdict_as_an_error(
    tmp_path: Path,
) -> None:
    # No credentials: every answer is 401, and each operation "passed".
    options = FuzzOptions(
        max_examples=3, seed=SEED, operations=("getSubscriptions",), junit=tmp_path / "junit.xml"
    )
    outcome = fuzz(broken_target.create_app(), options)
    assert outcome.inconclusive is not None
    suites = ElementTree.parse(tmp_path / "junit.xml").getroot()
    (suite,) = suites.iter("testsuite")
    for counted in (suites, suite):
        assert (counted.get("failures"), counted.get("errors")) == ("0", "1")
    (error,) = suites.iter("error")
    assert error.text == f"inconclusive: {outcome.inconclusive}"
    assert [case.get("name") for case in suite if case.find("error") is not None] == [
        "capkit verdict"
    ]


def test_the_junit_xml_of_a_conforming_run_is_schemathesis_own(tmp_path: Path) -> None:
    settings = Settings(
        auth=AUTH, state=str(tmp_path / "state.db"), journal=tmp_path / "journal.db"
    )
    options = FuzzOptions(
        auth=AUTH, max_examples=3, seed=SEED, operations=("getCustomer",), junit=tmp_path / "j.xml"
    )
    assert_conforms(fuzz(create_app(settings), options))
    suites = ElementTree.parse(tmp_path / "j.xml").getroot()
    assert (suites.get("failures"), suites.get("errors")) == ("0", "0")
    assert [case.get("name") for case in suites.iter("testcase")] == ["GET /customers/{customerId}"]


def test_an_origin_where_nothing_answers_is_unreachable() -> None:
    origin = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(TargetUnreachable, match=f"cannot reach {origin}/v2: connection refused"):
        fuzz(origin, FuzzOptions(auth=AUTH))


def test_an_origin_that_answers_no_http_is_unreachable_saying_so() -> None:
    with socket.create_server(("127.0.0.1", 0)) as server:

        def greet_as_ssh() -> None:
            connection, _ = server.accept()
            with connection:
                connection.recv(1024)
                connection.sendall(b"SSH-2.0-OpenSSH_9.2\r\n")

        greeter = threading.Thread(target=greet_as_ssh)
        greeter.start()
        origin = f"http://127.0.0.1:{server.getsockname()[1]}"
        with pytest.raises(TargetUnreachable, match="what answers there is not HTTP"):
            fuzz(origin, FuzzOptions(auth=AUTH))
        greeter.join()


def test_an_origin_reached_by_its_address_that_serves_by_name_is_reached_with_the_host_given() -> (
    None
):
    """As nginx's `return 444` does: a request for another name is dropped unanswered."""
    with socket.create_server(("127.0.0.1", 0)) as server:

        def serve_by_name() -> None:
            while True:
                try:
                    connection, _ = server.accept()
                except OSError:  # closed: the test is over
                    return
                with connection:
                    request = connection.recv(65536)
                    if b"\r\nhost: api.example\r\n" in request.lower():
                        connection.sendall(
                            b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n"
                            b"Connection: close\r\n\r\n"
                        )

        threading.Thread(target=serve_by_name, daemon=True).start()
        origin = f"http://127.0.0.1:{server.getsockname()[1]}"
        with pytest.raises(TargetUnreachable, match="remote end closed connection"):
            fuzz(origin, FuzzOptions(auth=AUTH))
        by_name = FuzzOptions(
            auth=AUTH, headers={"Host": "api.example"}, max_examples=1, operations=("getCustomer",)
        )
        assert fuzz(origin, by_name).findings  # 404s: reached, and judged


@pytest.mark.parametrize(
    ("target", "options", "message"),
    [
        ("http://127.0.0.1:8080/v2", {}, "expected an origin without a path"),
        ("127.0.0.1:8080", {}, "expected an origin such as http://127.0.0.1:8080"),
        ("http://127.0.0.1:8080", {"operations": ("getcustomer",)}, "did you mean 'getCustomer'"),
    ],
)
def test_what_a_run_cannot_take_is_a_bad_option(
    target: str, options: dict[str, Any], message: str
) -> None:
    with pytest.raises(BadOption, match=message):
        fuzz(target, FuzzOptions(**options))
