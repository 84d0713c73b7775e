"""`capkit fuzz` as CI runs it: the installed console script, against real sockets."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import http.client
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
import xml.etree.ElementTree as ElementTree
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from wsgiref.types import StartResponse, WSGIApplication

import pytest
from playwright.sync_api import Browser, expect

import spec
from contracts import verify_har
from contracts.coverage import operations_of
from contracts.serving import serve_in_thread
from mockserver import Settings, create_app
from tests import har as har_1_2
from tests.browser import visiting
from tests.contracts import broken_target
from tests.contracts.dying_target import dying
from tests.ports import free_port

CAPKIT = Path(sys.executable).parent / "capkit"
AUTH = f"{broken_target.TILL}:{broken_target.PASSWORD}"
#: Few examples and a seed: fast, and the same cases on every run.
BOUNDED = ("--max-examples", "10", "--seed", "20241122")
STARTUP_SECONDS = 30


def capkit(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(CAPKIT), *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=300
    )


def answers(origin: str) -> bool:
    try:
        with urllib.request.urlopen(f"{origin}/__admin/health", timeout=5) as reply:
            return bool(reply.status == 200)
    except OSError:
        return False


@contextmanager
def capkit_serve(tmp_path: Path, *flags: str) -> Iterator[str]:
    """`capkit serve` on a free port, as a user starts it; yields its origin."""
    port = free_port()
    origin = f"http://127.0.0.1:{port}"
    log = tmp_path / "serve.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [CAPKIT, "serve", "--port", str(port), *flags],
            stdout=output,
            stderr=subprocess.STDOUT,
            cwd=tmp_path,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while not answers(origin):
            assert process.poll() is None, f"exited {process.returncode}: {log.read_text()}"
            assert time.monotonic() < deadline, f"not answering: {log.read_text()}"
            time.sleep(0.05)
        yield origin
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


@pytest.fixture(scope="module")
def broken() -> Iterator[str]:
    """The origin of the broken target, served from this process."""
    with serve_in_thread(broken_target.create_app()) as origin:
        yield origin


def only_the_broken_targets_operations() -> list[str]:
    return [flag for name in broken_target.OPERATIONS for flag in ("--include-operation", name)]


@dataclasses.dataclass(frozen=True)
class Run:
    origin: str
    result: subprocess.CompletedProcess[str]
    har: Path
    page: Path


@pytest.fixture(scope="module")
def pinned_mock_run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    """`capkit fuzz --har` of the mock served pinned, as the README chains them."""
    tmp_path = tmp_path_factory.mktemp("fuzz")
    with capkit_serve(tmp_path, "--auth", AUTH) as origin:
        result = capkit(
            "fuzz",
            origin,
            "--auth",
            AUTH,
            *BOUNDED,
            "--har",
            "traffic.har",
            "--report",
            "report.html",
            cwd=tmp_path,
        )
    return Run(origin, result, tmp_path / "traffic.har", tmp_path / "report.html")


def test_the_mock_served_by_capkit_serve_conforms(pinned_mock_run: Run) -> None:
    result = pinned_mock_run.result
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines()[-1].startswith("conforms: ")
    assert f"cases against {pinned_mock_run.origin}/v2 in " in result.stdout


def test_the_run_says_how_much_of_the_spec_it_reached(pinned_mock_run: Run) -> None:
    operations = len(list(operations_of(spec.load())))
    coverage = pinned_mock_run.result.stdout.splitlines()[-2]
    reached = re.fullmatch(
        rf"coverage: {operations}/{operations} operations, (\d+)/(\d+) documented error codes",
        coverage,
    )
    assert reached, coverage
    # The mock answers most of them to a fuzzer (the rest need state a run does not build).
    assert int(reached[2]) > int(reached[1]) > int(reached[2]) / 2
    page = pinned_mock_run.page.read_text()
    assert coverage in page and "conforms: " in page


def test_its_har_is_har_1_2_with_every_field_it_requires(pinned_mock_run: Run) -> None:
    har = json.loads(pinned_mock_run.har.read_text())
    assert har["log"]["entries"]
    assert har_1_2.missing(har) == []


def test_its_har_passes_verify_which_reaches_the_same_coverage(pinned_mock_run: Run) -> None:
    result = capkit("verify", pinned_mock_run.har, cwd=pinned_mock_run.har.parent)
    assert (result.returncode, result.stdout) == (0, ""), result.stdout[-3000:] + result.stderr
    coverage, verdict = result.stderr.splitlines()
    assert coverage == pinned_mock_run.result.stdout.splitlines()[-2]
    assert verdict.endswith(" exchanges, all conform")


def test_its_har_with_an_altered_answer_fails_verify_naming_the_entry(
    pinned_mock_run: Run, tmp_path: Path
) -> None:
    har = json.loads(pinned_mock_run.har.read_text())
    entries = har["log"]["entries"]
    index = next(
        index
        for index, entry in enumerate(entries)
        if entry["_capkit"]["operationId"] == "lookupCustomer"
        and entry["response"]["status"] == 200
    )
    entries[index]["response"]["content"]["text"] = json.dumps({"entity": "306", "warnings": []})
    # The run's exchanges up to the altered one (the test before verifies them all).
    del entries[index + 1 :]
    (tmp_path / "altered.har").write_text(json.dumps(har))
    result = capkit("verify", "altered.har", cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    assert result.stdout.startswith(f"entries[{index}] GET {entries[index]['request']['url']}:")
    assert result.stdout.endswith(
        ": response body field 'entity': '306' is not of type 'integer'\n"
    ), result.stdout


def test_its_entries_say_what_the_fuzzer_meant_and_mask_credentials(pinned_mock_run: Run) -> None:
    har = json.loads(pinned_mock_run.har.read_text())
    assert har["log"]["creator"]["name"] == "capkit fuzz"
    marks = [entry["_capkit"] for entry in har["log"]["entries"]]
    assert {mark["sentAs"] for mark in marks} == {"valid", "invalid"}
    why = {mark.get("invalid", "").split(" (")[0].split(",")[0] for mark in marks}
    # Negative data, other methods, no credentials and made-up ones, each said as such.
    assert {"invalid credentials", "no credentials"} <= why
    assert any(reason.startswith("method ") for reason in why)
    secret = base64.b64encode(f"till:{hashlib.md5(b'pw').hexdigest()}".encode()).decode()
    assert secret not in pinned_mock_run.har.read_text()


@pytest.fixture(scope="module")
def broken_run(broken: str, tmp_path_factory: pytest.TempPathFactory) -> Run:
    """`capkit fuzz` of the broken target, with every report."""
    tmp_path = tmp_path_factory.mktemp("broken")
    result = capkit(
        "fuzz",
        broken,
        "--auth",
        AUTH,
        *BOUNDED,
        *only_the_broken_targets_operations(),
        "--report",
        tmp_path / "junit.xml",
        "--har",
        tmp_path / "traffic.har",
        "--report",
        tmp_path / "report.html",
        cwd=tmp_path,
    )
    return Run(broken, result, tmp_path / "traffic.har", tmp_path / "report.html")


def test_a_broken_target_exits_1_naming_every_planted_bug(broken_run: Run) -> None:
    result, tmp_path = broken_run.result, broken_run.har.parent
    assert result.returncode == 1, result.stdout + result.stderr
    # A failure starts with its number; its message may hold blank lines of its own.
    blocks = re.split(r"\n\n(?=\d+\. )", result.stdout)
    for operation_id, check in broken_target.PLANTED:
        assert any(
            block.split(". ", 1)[-1].startswith(f"{operation_id}  ")
            and f"\n   check: {check}" in block
            and "\n   reproduce:\n      curl -X " in block
            for block in blocks
        ), f"{check} on {operation_id} not reported:\n{result.stdout}"
    assert "contract broken: " in result.stdout.splitlines()[-1]
    # Progress went to stderr, a line per phase.
    assert [line.split()[0] for line in result.stderr.splitlines()] == [
        "examples",
        "coverage",
        "fuzzing",
        "stateful",
    ]
    assert ElementTree.parse(tmp_path / "junit.xml").getroot().iter("failure")
    assert json.loads((tmp_path / "traffic.har").read_text())["log"]["entries"]


def test_the_html_report_of_a_broken_target_in_a_browser(broken_run: Run, browser: Browser) -> None:
    with visiting(browser, broken_run.page.as_uri(), screenshot="report-broken") as page:
        expect(page.locator("#verdict")).to_contain_text("contract broken: ")
        failures = page.locator("ol.failures > li")
        expect(failures).to_have_count(broken_run.result.stdout.count("\n   reproduce:"))
        for operation_id, check in broken_target.PLANTED:
            planted = failures.filter(has_text=f"{operation_id}  ").filter(has_text=check)
            expect(planted.first.locator("pre", has_text="curl -X ").first).to_be_visible()
        # The chart draws a bar per operation, and the table lists them with their counts.
        expect(page.locator("svg g")).to_have_count(len(broken_target.OPERATIONS))
        for operation_id in broken_target.OPERATIONS:
            expect(page.locator("#operations-table", has_text=operation_id)).to_be_visible()
        expect(page.locator("#coverage-matrix tbody tr")).to_have_count(
            len(list(operations_of(spec.load())))
        )


def test_an_unreachable_target_exits_2_saying_so(tmp_path: Path) -> None:
    origin = f"http://127.0.0.1:{free_port()}"
    result = capkit("fuzz", origin, "--auth", AUTH, cwd=tmp_path)
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == (
        f"capkit fuzz: cannot reach {origin}/v2: connection refused; is the target running there?\n"
    )


def test_a_target_that_goes_away_mid_run_exits_2_naming_the_errors(tmp_path: Path) -> None:
    settings = Settings(auth=AUTH, state=str(tmp_path / "state.db"), journal=tmp_path / "j.db")
    with dying(create_app(settings), answers=30) as origin:
        result = capkit(
            "fuzz",
            origin,
            "--auth",
            AUTH,
            *BOUNDED,
            "--include-operation",
            "getCustomer",
            "--report",
            "junit.xml",
            cwd=tmp_path,
        )
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Errors (" in result.stdout
    assert result.stdout.splitlines()[-1].startswith(
        "inconclusive: the run ended early; no failures in "
    )
    assert "capkit fuzz: the run ended early: the target stopped answering (" in result.stderr
    assert "Server: Server Unavailable)" in result.stderr
    verdicts = [
        case.find("error")
        for case in ElementTree.parse(tmp_path / "junit.xml").getroot().iter("testcase")
        if case.get("name") == "capkit verdict"
    ]
    assert [error.text for error in verdicts if error is not None] == [
        f"inconclusive: {result.stderr.splitlines()[-1].removeprefix('capkit fuzz: ')}"
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--rate-limit", "fast"), "Error: --rate-limit has value 'fast'; expected requests/unit"),
        (("--header", "no colon"), "Error: --header has value 'no colon'; expected 'Name: value'"),
        # Refused, not sent: a control character made every case an error and the run sent
        # none; a Content-Length of its own left the target waiting for a body.
        (("--header", "X-Bad: a\rb"), "Error: --header has value 'X-Bad: a\\rb'; a header value"),
        (("--header", "Content-Length: 5"), "the HTTP client sets Content-Length itself"),
        (("--auth", "till"), "Error: --auth has value 'till'; expected 'till:password'"),
        (("--max-examples", "many"), "Error: Invalid value for '--max-examples'"),
        (("--max-exmaples", "5"), "No such option '--max-exmaples'. (Did you mean one of"),
        (("--include-operation", "nope"), "Error: --include-operation has value 'nope'"),
        (
            ("--report", "report.txt"),
            "Error: --report has value 'report.txt'; expected a file ending in .xml (JUnit XML),"
            " .html (a page), .htm (a page)",
        ),
        # Refused before the run, not after it, when the report is written.
        (
            ("--report", "missing/report.html"),
            "Error: --report has value 'missing/report.html'; cannot write there: the folder"
            " missing does not exist",
        ),
        (
            ("--har", "missing/traffic.har"),
            "Error: --har has value 'missing/traffic.har'; cannot write there",
        ),
        (
            ("--report", "a.html", "--report", "b.html"),
            "Error: --report names two files of a page: 'a.html' and 'b.html'",
        ),
        # Nothing left to test: a run of zero cases would pass whatever the target does.
        (
            ("--read-only", "--include-operation", "registerCustomer"),
            "Error: no operation to test: --read-only sends no POST",
        ),
    ],
)
def test_a_bad_option_exits_2_saying_which(
    broken: str, tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    result = capkit("fuzz", broken, *args, cwd=tmp_path)
    assert (result.returncode, result.stdout) == (2, "")
    assert message in result.stderr


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://127.0.0.1:abc", "(Port could not be cast to integer value as 'abc')"),
        ("http://127.0.0.1:99999", "(Port out of range 0-65535)"),
        ("http://[::1", "(Invalid IPv6 URL)"),
        ("http://till:pw@127.0.0.1:8080", "without credentials: pass them with --auth"),
    ],
)
def test_a_url_that_is_no_origin_is_a_usage_error(tmp_path: Path, url: str, message: str) -> None:
    result = capkit("fuzz", url, cwd=tmp_path)
    assert (result.returncode, result.stdout) == (2, "")
    assert f"URL has value '{url}'; expected an origin" in result.stderr
    assert message in result.stderr


def test_a_bad_option_or_url_is_told_before_the_engine_loads() -> None:
    # The runner (schemathesis' engine) takes 1.5 s to import: a typo was told after it.
    probe = (
        "import sys; from click.testing import CliRunner; from capkit.cli import main; "
        "runs = [['fuzz', 'http://127.0.0.1:9', '--auth', 'till'], ['fuzz', 'http://[::1']]; "
        "print([CliRunner().invoke(main, run).exit_code for run in runs],"
        " 'contracts.runner' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.split() == ["[2,", "2]", "False"]


def test_a_spec_of_no_operation_is_a_usage_error(tmp_path: Path) -> None:
    empty = {"openapi": "3.1.0", "info": {"title": "x", "version": "1"}, "paths": {}}
    (tmp_path / "empty.json").write_text(json.dumps(empty))
    result = capkit("fuzz", "http://127.0.0.1:8080", "--spec", "empty.json", cwd=tmp_path)
    assert (result.returncode, result.stdout) == (2, "")
    assert "Error: no operation to test: the spec has none" in result.stderr


def test_a_url_with_a_path_is_a_usage_error(tmp_path: Path) -> None:
    result = capkit("fuzz", "http://127.0.0.1:8080/v2", cwd=tmp_path)
    assert result.returncode == 2
    assert "expected an origin without a path" in result.stderr


@pytest.mark.parametrize(
    ("auth", "reason"),
    [
        ((), "the target wants credentials and the run sent none"),
        (("--auth", "till:wrong"), "the target refused the credentials of this run"),
    ],
)
def test_a_run_answered_only_401_stops_and_exits_2_saying_why(
    broken: str, tmp_path: Path, auth: tuple[str, ...], reason: str
) -> None:
    result = capkit(
        "fuzz",
        broken,
        *auth,
        *BOUNDED,
        *only_the_broken_targets_operations(),
        "--report",
        "junit.xml",
        cwd=tmp_path,
    )
    assert result.returncode == 2, result.stdout + result.stderr
    assert "conforms" not in result.stdout
    assert result.stdout.splitlines()[-1].startswith(
        "inconclusive: every request was answered 401; no failures in "
    )
    assert reason in result.stderr
    # CI reads the JUnit report: it must not show green for a run that exits 2.
    (error,) = ElementTree.parse(tmp_path / "junit.xml").getroot().iter("error")
    assert error.text is not None and reason in error.text
    # It stopped at once: the fuzzing phase never started.
    assert "fuzzing" not in result.stderr


def test_fuzzing_a_mock_that_takes_any_credentials_says_to_pin_it(tmp_path: Path) -> None:
    with capkit_serve(tmp_path) as origin:
        result = capkit(
            "fuzz",
            origin,
            "--auth",
            AUTH,
            *BOUNDED,
            "--include-operation",
            "getSubscriptions",
            cwd=tmp_path,
        )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "check: ignored_auth: API accepts invalid authentication" in result.stdout
    assert "Note on ignored_auth: the target took credentials it cannot know" in result.stdout
    assert "`capkit serve --auth till:password`" in result.stdout
    # The repro tells the run's own credentials (masked) from the probe's made-up ones.
    made_up = base64.b64encode(b"SCHEMATHESIS-INVALID-VALUE:SCHEMATHESIS-INVALID-VALUE").decode()
    curls = [line.strip() for line in result.stdout.splitlines() if "curl -X" in line]
    assert f"-H 'Authorization: Basic {made_up}'" in curls[-1]
    assert curls[-1].endswith("# invalid credentials (made up by ignored_auth)")
    assert "-H 'Authorization: Basic [Filtered]'" in curls[0]
    real = f"till:{hashlib.md5(broken_target.PASSWORD.encode()).hexdigest()}"
    assert base64.b64encode(real.encode()).decode() not in result.stdout


def test_a_run_with_a_till_and_a_token_against_a_mock_that_takes_no_token_says_why(
    tmp_path: Path,
) -> None:
    # A request with a token is judged by its token: the till does not help it.
    with capkit_serve(tmp_path, "--auth", AUTH) as origin:
        result = capkit(
            "fuzz",
            origin,
            "--auth",
            AUTH,
            "--header",
            "X-CAP-API-OAUTH-TOKEN: TOK123",
            *BOUNDED,
            "--include-operation",
            "getSubscriptions",
            cwd=tmp_path,
        )
    assert result.returncode == 2, result.stdout + result.stderr
    assert (
        "the target refused the credentials of this run (--auth till 'till' and header"
        " X-CAP-API-OAUTH-TOKEN), so nothing was tested past authentication; check them: a"
        " request with a token is judged by the token" in result.stderr
    )


def test_a_run_with_the_token_by_header_conforms_against_a_mock_pinned_with_it(
    tmp_path: Path,
) -> None:
    # ignored_auth's probes must make the token invalid: the valid one left on took them. A
    # registration's read-back (created_resource_readable) must carry the token too.
    with capkit_serve(tmp_path, "--token", "TOK123") as origin:
        result = capkit(
            "fuzz",
            origin,
            "--header",
            "X-CAP-API-OAUTH-TOKEN: TOK123",
            "--max-examples",
            "5",
            "--seed",
            "1",
            "--include-operation",
            "lookupCustomer",
            "--include-operation",
            "registerCustomer",
            cwd=tmp_path,
        )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines()[-1].startswith("conforms: ")


#: What the mock refuses a request with, as a request it cannot take (not a business error).
REFUSALS = {401, 404, 405, 413, 415}


def refused_by_the_mock(entry: dict[str, Any]) -> bool:
    """The mock answered ENTRY's request as invalid input: a refusal of the HTTP edge, or a 400
    of its validation, whose errors name a parameter or the body (business errors do not)."""
    status = entry["response"]["status"]
    if status in REFUSALS:
        return True
    if status != 400:
        return False
    errors = json.loads(entry["response"]["content"]["text"])["errors"]
    return any(
        error["code"] == 400 or re.search(r"(parameter|header|body field) '", error["message"])
        for error in errors
    )


def carries_credentials(entry: dict[str, Any]) -> bool:
    names = {header["name"].lower() for header in entry["request"]["headers"]}
    return bool(names & {"authorization", "x-cap-api-oauth-token"})


def test_the_mock_and_verify_give_each_request_of_the_run_the_same_verdict(
    pinned_mock_run: Run,
) -> None:
    har = json.loads(pinned_mock_run.har.read_text())
    # Judged whole, as traffic of an app would be: without what the fuzzer meant.
    entries = [
        {name: part for name, part in entry.items() if name != "_capkit"}
        for entry in har["log"]["entries"]
    ]
    refused_by_verify = {
        violation.index
        for violation in verify_har({"log": {"entries": entries}}, spec.load())
        if violation.side != "response"
    }
    disagreements = []
    for index, entry in enumerate(har["log"]["entries"]):
        # A credential is judged by its presence and scheme: whether the server knows it (the
        # till's password, the token) is the server's knowledge, not the contract's.
        if entry["response"]["status"] == 401 and carries_credentials(entry):
            continue
        if entry["request"]["method"] == "OPTIONS":
            continue  # HTTP's own: the mock answers it with Allow, verify skips it
        if refused_by_the_mock(entry) != (index in refused_by_verify):
            disagreements.append(f"{index} {entry['request']['method']} {entry['request']['url']}")
    assert len(entries) > 1000
    assert not disagreements, disagreements[:20]


#: Headers of one connection, which a proxy does not pass on (RFC 9110, 7.6.1).
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length"}


def writing_entity_with_a_fraction(origin: str) -> WSGIApplication:
    """A proxy in front of ORIGIN that writes lookup's `entity` with a fraction: 306 as 306.0,
    which JSON Schema counts as an integer."""
    upstream = urlsplit(origin)

    def proxy(environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        headers = {
            name.removeprefix("HTTP_").replace("_", "-"): value
            for name, value in environ.items()
            # Plain bodies, so that the answer can be read and rewritten.
            if name.startswith("HTTP_") and name not in ("HTTP_HOST", "HTTP_ACCEPT_ENCODING")
        }
        if environ.get("CONTENT_TYPE"):
            headers["Content-Type"] = environ["CONTENT_TYPE"]
        connection = http.client.HTTPConnection(upstream.hostname, upstream.port, timeout=60)
        try:
            connection.request(
                environ["REQUEST_METHOD"],
                environ["RAW_URI"],
                body=environ["wsgi.input"].read(length) if length else None,
                headers=headers,
            )
            answer = connection.getresponse()
            content = answer.read()
        finally:
            connection.close()
        if environ["PATH_INFO"] == "/v2/customers/lookup" and answer.status == 200 and content:
            found = json.loads(content)
            content = json.dumps(found | {"entity": float(found["entity"])}).encode()
        start_response(
            f"{answer.status} {answer.reason}",
            [(name, value) for name, value in answer.getheaders() if name.lower() not in HOP_BY_HOP]
            + [("Content-Length", str(len(content)))],
        )
        return [content]

    return proxy


def test_fuzz_and_verify_of_its_har_name_the_same_fault_an_integer_written_with_a_fraction(
    tmp_path: Path,
) -> None:
    """A lookup that answers `entity` 306.0 passes its schema (JSON Schema counts 306.0 as an
    integer), and the spec's link carries it into getCustomer's path as '306.0', which the
    target refuses. Both commands name that answer, and neither blames the request the link
    made of it."""
    with (
        capkit_serve(tmp_path, "--auth", AUTH) as origin,
        serve_in_thread(writing_entity_with_a_fraction(origin)) as proxy,
    ):
        fuzzed = capkit(
            "fuzz",
            proxy,
            "--auth",
            AUTH,
            *BOUNDED,
            "--include-operation",
            "getCustomer",
            "--include-operation",
            "lookupCustomer",
            "--har",
            "traffic.har",
            cwd=tmp_path,
        )
    assert fuzzed.returncode == 1, fuzzed.stdout + fuzzed.stderr
    [failure] = re.findall(r"\n1\. .*?(?=\n\n)", fuzzed.stdout, re.DOTALL)
    assert failure.startswith("\n1. lookupCustomer  GET /customers/lookup\n")
    assert "\n   check: carried_integer_literal\n" in failure
    assert re.search(
        r"\n   Actual:   200 with `entity` (\d+)\.0, which goes there as '\1\.0', no integer",
        failure,
    ), failure
    assert "contract broken: 1 distinct failure(s) in 1 operation(s)" in fuzzed.stdout
    # The link's steps carried it into getCustomer's path: none sent as valid, and why said.
    entries = json.loads((tmp_path / "traffic.har").read_text())["log"]["entries"]
    carried = [
        entry["_capkit"]
        for entry in entries
        if re.search(r"/v2/customers/\d+\.0\b", entry["request"]["url"])
    ]
    assert carried and all(mark["sentAs"] == "invalid" for mark in carried), carried
    assert any(
        re.fullmatch(
            r"path parameter customerId (\d+)\.0 goes out as '\1\.0' \(carried from an earlier"
            r" answer\), which is no integer",
            mark["invalid"],
        )
        for mark in carried
    ), carried

    verified = capkit("verify", "traffic.har", cwd=tmp_path)
    assert verified.returncode == 1, verified.stdout + verified.stderr
    lines = verified.stdout.splitlines()
    # Each lookup answer that wrote it, and nothing else: the same fault, where fuzz put it.
    assert lines and all(
        re.fullmatch(
            r"entries\[\d+\] GET \S+/v2/customers/lookup\?\S*: response body field 'entity':"
            r" is (\d+)\.0, an integer written with a fraction: the spec's links carry it into the"
            r" integer path parameter customerId of getCustomer, .*, where it goes as '\1\.0',"
            r" which is no integer; expected \1",
            line,
        )
        for line in lines
    ), "\n".join(lines[:5])


def test_a_run_leaves_nothing_in_the_working_directory(broken: str, tmp_path: Path) -> None:
    result = capkit(
        "fuzz",
        broken,
        "--auth",
        AUTH,
        *BOUNDED,
        "--include-operation",
        "getSubscriptions",
        cwd=tmp_path,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert sorted(path.name for path in tmp_path.iterdir()) == []
