"""`capkit serve` as a user runs it: a real process, real sockets, several workers, signals."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import gzip
import hashlib
import http.client
import importlib.metadata
import itertools
import json
import os
import pty
import re
import select
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
import zlib
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from email.message import Message
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import brotli
import pytest
from aiohttp import web
from playwright.sync_api import Browser

import spec
from mockserver import Settings, create_app
from mockserver import server as server_module
from tests.ports import free_port
from tests.processes import CAPKIT, refused

if sys.version_info >= (3, 14):
    from compression import zstd
else:
    from backports import zstd

TILL = "Basic " + base64.b64encode(f"till:{hashlib.md5(b'secret').hexdigest()}".encode()).decode()
LOOKUP_306 = (
    "/v2/customers/lookup?source=INSTORE&identifierName=mobile&identifierValue=919111111111"
)
README = Path(__file__).resolve().parents[2] / "README.md"
STARTUP_SECONDS = 30
ANNOUNCED_PORT = re.compile(r"at http://127\.0\.0\.1:(\d+)/v2 ")


@dataclasses.dataclass
class Reply:
    status: int
    headers: Message
    body: Any


@dataclasses.dataclass
class Server:
    """A `capkit serve` process, leader of its own process group (it and its workers)."""

    process: subprocess.Popen[bytes]
    port: int
    log: Path

    def output(self) -> str:
        return self.log.read_text()

    def request(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        data: bytes | None = None,
        headers: dict[str, str] | None = None,
        authorization: str | None = TILL,
    ) -> Reply:
        """METHOD PATH with BODY as JSON, or DATA as it is; the reply's body parsed."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        if body is not None:
            data = json.dumps(body).encode()
        sent = {"Content-Type": "application/json"} if data is not None else {}
        if authorization is not None:
            sent["Authorization"] = authorization
        try:
            connection.request(method, path, body=data, headers=sent | (headers or {}))
            response = connection.getresponse()
            answer = response.read()
        finally:
            connection.close()
        return Reply(response.status, response.headers, json.loads(answer) if answer else None)

    def signal(self, number: signal.Signals) -> None:
        """Send NUMBER to the whole group, as a terminal does on Ctrl-C."""
        os.killpg(self.process.pid, number)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.signal(signal.SIGKILL)
        self.process.wait()


def answers(server: Server) -> bool:
    try:
        return server.request("GET", "/__admin/health").status == 200
    except OSError:
        return False


def serves_with_both_workers(server: Server) -> bool:
    return answers(server) and len(WORKER_READY.findall(server.output())) == 2


def spawns_its_workers(server: Server) -> bool:
    """gunicorn has started the second worker's process, which is still building its app."""
    return server.output().count("Booting worker with pid") == 2


#: What a worker says once its app is built and it answers: its process id.
WORKER_READY = re.compile(r"^capkit worker (\d+) answers$", re.MULTILINE)


@contextmanager
def running(
    tmp_path: Path,
    *flags: str | Path,
    until: Callable[[Server], bool] = answers,
    port: int | None = None,
) -> Iterator[Server]:
    """`capkit serve FLAGS` on PORT (a free one by default; 0 lets the mock pick and print
    it), from the moment UNTIL(server) holds; killed on the way out. Its temporary files go
    in TMP_PATH/tmp, its output in TMP_PATH/serve-PORT.log."""
    port = free_port() if port is None else port
    log = tmp_path / f"serve-{port}.log"
    scratch = tmp_path / "tmp"
    scratch.mkdir(exist_ok=True)
    with log.open("wb") as output:
        process = subprocess.Popen(
            [CAPKIT, "serve", "--port", str(port), *flags],
            stdout=output,
            stderr=subprocess.STDOUT,
            env=os.environ | {"TMPDIR": str(scratch)},
            start_new_session=True,
        )
    server = Server(process, port, log)
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while not until(server):
            if server.port == 0 and (announced := ANNOUNCED_PORT.search(server.output())):
                server.port = int(announced[1])
            assert process.poll() is None, f"exited {process.returncode}:\n{server.output()}"
            assert time.monotonic() < deadline, f"not {until.__name__}:\n{server.output()}"
            time.sleep(0.01)
        yield server
    finally:
        server.kill()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """Two workers on one state file, the till `till` pinned with the password `secret`."""
    tmp_path = tmp_path_factory.mktemp("serve")
    with running(
        tmp_path, "--workers", "2", "--state", tmp_path / "state.db", "--auth", "till:secret"
    ) as server:
        yield server


def registration(mobile: str) -> dict[str, Any]:
    profile = {"firstName": "Becky", "identifiers": [{"type": "mobile", "value": mobile}]}
    return {"loyaltyInfo": {"loyaltyType": "loyalty"}, "profiles": [profile]}


def register(server: Server, mobile: str) -> Reply:
    return server.request("POST", "/v2/customers?source=INSTORE", body=registration(mobile))


def lookup(server: Server, mobile: str) -> Reply:
    return server.request(
        "GET",
        f"/v2/customers/lookup?source=INSTORE&identifierName=mobile&identifierValue={mobile}",
    )


def in_parallel(count: int, task: Callable[[int], Reply]) -> list[Reply]:
    """TASK(0..COUNT-1), each in its own thread, released at once."""
    barrier = threading.Barrier(count)

    def released(index: int) -> Reply:
        barrier.wait()
        return task(index)

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(released, range(count)))


# --- two workers, one state -----------------------------------------------------------------


def test_the_printed_line_names_the_url_and_the_operations(server: Server) -> None:
    first = server.output().splitlines()[0]
    operations = len(list(spec.operations(spec.load())))
    assert first.startswith(
        f"capkit mock: {operations} operations at http://127.0.0.1:{server.port}/v2 "
    )
    assert "(2 workers, state kept in " in first and "auth on" in first


def test_parallel_registrations_get_distinct_ids(server: Server) -> None:
    mobiles = [f"9181{index:08d}" for index in range(24)]
    replies = in_parallel(len(mobiles), lambda index: register(server, mobiles[index]))
    assert [reply.status for reply in replies] == [200] * len(mobiles)
    created = [reply.body["createdId"] for reply in replies]
    assert len(set(created)) == len(mobiles)
    for mobile, customer_id in zip(mobiles, created, strict=True):
        assert lookup(server, mobile).body["entity"] == customer_id


def test_one_identifier_registered_by_many_clients_at_once_is_taken_once(server: Server) -> None:
    replies = in_parallel(16, lambda _: register(server, "918200000001"))
    [won] = [reply for reply in replies if reply.status == 200]
    lost = [reply for reply in replies if reply is not won]
    assert {reply.status for reply in lost} == {400}
    assert {error["code"] for reply in lost for error in reply.body["errors"]} == {8006}
    assert lookup(server, "918200000001").body["entity"] == won.body["createdId"]


def test_a_second_mock_on_the_same_port_is_refused(server: Server) -> None:
    # With SO_REUSEPORT, the second would share the port: two states behind one URL.
    error = refused("--port", server.port)
    assert f"port {server.port}: Address already in use" in error


# --- browsers and credentials ---------------------------------------------------------------


def test_cors_preflight_and_requests_from_another_origin(server: Server) -> None:
    origin = "http://localhost:3000"
    preflight = server.request(
        "OPTIONS",
        "/v2/customers/lookup",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "authorization, x-cap-api-oauth-token",
        },
        authorization=None,
    )
    assert preflight.status == 200
    assert preflight.headers["Access-Control-Allow-Origin"] in ("*", origin)
    allowed = preflight.headers["Access-Control-Allow-Headers"].lower().split(",")
    assert {"authorization", "x-cap-api-oauth-token"} <= {name.strip() for name in allowed}
    # The answer, and an error the app shows on screen, are both readable by the app.
    for authorization, status in [(TILL, 200), (None, 401)]:
        answer = server.request(
            "GET",
            "/v2/customers/306?source=ALL",
            headers={"Origin": origin},
            authorization=authorization,
        )
        assert answer.status == status
        assert answer.headers["Access-Control-Allow-Origin"] in ("*", origin)


def test_a_page_of_another_origin_reads_the_rate_limit_and_when_to_retry(
    browser: Browser, tmp_path: Path
) -> None:
    with running(tmp_path, "--rate-limit", "1/d") as server:  # a window that outlasts the test
        context = browser.new_context()
        page = context.new_page()
        # localhost is another origin than 127.0.0.1: the page's requests are CORS requests.
        page.goto(f"http://localhost:{server.port}/__admin/health")
        read = page.evaluate(
            """async ([url, authorization]) => {
                const read = [];
                for (const attempt of [1, 2]) {
                    const answer = await fetch(url, {headers: {Authorization: authorization}});
                    read.push([answer.status, ...["RateLimit-Limit", "RateLimit-Remaining",
                        "RateLimit-Reset", "Retry-After"].map((name) => answer.headers.get(name))]);
                }
                return read;
            }""",
            [f"http://127.0.0.1:{server.port}/v2/customers/306?source=ALL", TILL],
        )
        context.close()
    (status, limit, remaining, reset, retry), (status_past, _, remaining_past, _, retry_past) = read
    assert (status, limit, remaining, retry) == (200, "1", "0", None)
    assert (status_past, remaining_past) == (429, "0")
    assert reset is not None and retry_past is not None and 1 <= int(retry_past) <= 86400


def test_a_page_of_another_site_cannot_reset_the_mock_nor_read_its_journal(
    browser: Browser, server: Server
) -> None:
    """What a page a developer happens to open could otherwise do to a mock on localhost."""
    context = browser.new_context()
    page = context.new_page()
    # localhost is another site than 127.0.0.1 (a host that is no registrable domain is a
    # site of its own): the page's requests are cross-site.
    page.goto(f"http://localhost:{server.port}/__admin/health")
    mock = f"http://127.0.0.1:{server.port}"
    answered = page.evaluate(
        """async (mock) => [
            (await fetch(`${mock}/__admin/reset`, {method: "POST"})).status,
            (await fetch(`${mock}/__admin/requests`)).status,
            (await fetch(`${mock}/v2/customers/306?source=ALL`,
                {headers: {Authorization: "Basic dGlsbDpzZWNyZXQ="}})).status,
        ]""",
        mock,
    )
    # The console's own requests, of the mock's site, are served.
    same_site = page.evaluate(
        "async () => (await fetch('/__admin/requests')).status",
    )
    context.close()
    assert answered[:2] == [403, 403]
    assert answered[2] != 403  # the API is for pages of any site
    assert same_site == 200


def basic(credentials: str) -> str:
    return "Basic " + base64.b64encode(credentials.encode()).decode()


@pytest.mark.parametrize(
    ("authorization", "said"),
    [
        (None, "No credentials: send Authorization: Basic base64(till:md5(password))"),
        (
            basic("till:secret"),
            "Till 'till' sent its password as it is, where Capillary takes the md5 hex digest"
            " of it: Authorization: Basic base64(till:md5(password)).",
        ),
        (basic(f"till:{hashlib.md5(b'other').hexdigest()}"), "travels as its md5 hex digest"),
        (basic(f"other:{hashlib.md5(b'secret').hexdigest()}"), "Till 'other' or its password"),
        (basic("till:s\u00e9cret"), "travels as its md5 hex digest"),
    ],
    ids=["none", "plain-password", "wrong-password", "other-till", "non-ascii-password"],
)
def test_a_pinned_till_refuses_other_credentials_saying_how_to_send_them(
    server: Server, authorization: str | None, said: str
) -> None:
    assert server.request("GET", LOOKUP_306, authorization=TILL).status == 200
    refused = server.request("GET", LOOKUP_306, authorization=authorization)
    assert refused.status == 401
    assert refused.headers["WWW-Authenticate"].startswith("Basic")
    [error] = refused.body["errors"]
    assert error["code"] == 401 and said in error["message"]


def test_the_readme_curl_commands_work_against_a_pinned_mock_as_written(server: Server) -> None:
    """Each `$ curl` of the README that reads, sent to a mock pinned to till:secret; where the
    README shows the output, the mock answers it. (Its admin changes, with -X, are sent to
    replicas with an admin token: test_replicas.py.)"""
    found = re.findall(r"^\$ (curl .+)\n(.*)", README.read_text(), re.MULTILINE)
    commands = [(command, shown) for command, shown in found if " -X " not in command]
    assert len(commands) >= 2
    for command, shown in commands:
        words = shlex.split(command.partition(" > ")[0])[1:]
        url = next(word for word in words if word.startswith("http"))
        credentials = basic(words[words.index("-u") + 1]) if "-u" in words else None
        reply = server.request("GET", "/" + url.split("/", 3)[3], authorization=credentials)
        assert reply.status == 200, (command, reply.body)
        if not shown.startswith(("$", "```")):
            assert reply.body == json.loads(shown), command


# --- the admin endpoints --------------------------------------------------------------------


def test_deleting_the_journal_empties_it_for_every_worker_and_keeps_the_state(
    server: Server,
) -> None:
    registered = register(server, "918600000001").body["createdId"]
    for _ in range(4):  # to both workers, most likely
        assert lookup(server, "918600000001").status == 200
    assert server.request("GET", "/__admin/requests").body["requests"]
    assert server.request("DELETE", "/__admin/requests").body == {"cleared": True}
    assert server.request("GET", "/__admin/requests").body == {"requests": []}
    assert lookup(server, "918600000001").body["entity"] == registered
    [entry] = server.request("GET", "/__admin/requests").body["requests"]
    assert entry["url"].endswith("identifierValue=918600000001")


def test_an_unknown_journal_format_is_a_400_naming_the_formats(server: Server) -> None:
    reply = server.request("GET", "/__admin/requests?format=xml")
    assert reply.status == 400
    assert reply.body["errors"] == [
        {
            "status": False,
            "code": 400,
            "message": "query parameter 'format' must be json (the default) or har, got 'xml'",
        }
    ]


def test_health_and_the_har_creator_carry_the_package_version(server: Server) -> None:
    version = importlib.metadata.version("capkit")
    assert server.request("GET", "/__admin/health").body["version"] == version
    har = server.request("GET", "/__admin/requests?format=har").body
    assert har["log"]["creator"] == {"name": "capkit mock", "version": version}
    assert (
        subprocess.run(
            [CAPKIT, "--version"], capture_output=True, text=True, check=True
        ).stdout.split()[-1]
        == version
    )


def test_a_page_whose_site_name_leads_here_cannot_reset_the_mock_nor_read_its_journal(
    server: Server,
) -> None:
    """DNS rebinding: the browser sends the page's own name as the Host, and as the target's
    host to a proxy (a browser whose proxy is the mock)."""
    for target in ("/__admin/reset", "http://evil.example:8080/__admin/reset"):
        refused = server.request("POST", target, headers={"Host": "evil.example:8080"})
        assert refused.status == 403, target
        [error] = refused.body["errors"]
        assert error["message"].startswith("Host 'evil.example:8080' is not a name this mock")
        assert error["message"].endswith(
            "start the mock with --allowed-host evil.example to allow it"
        )
    assert (
        server.request("GET", "/__admin/requests", headers={"Host": "evil.example"}).status == 403
    )
    for path in (LOOKUP_306, "/openapi.json"):
        assert server.request("GET", path, headers={"Host": "evil.example"}).status == 200


def test_a_request_without_a_host_reaches_the_admin_endpoints(server: Server) -> None:
    """HTTP/1.0 may send none; a page's request always sends one."""
    answered = []
    for host in (b"", b"Host: evil.example\r\n"):
        with socket.create_connection(("127.0.0.1", server.port), timeout=30) as client:
            client.sendall(b"GET /__admin/requests HTTP/1.0\r\n" + host + b"\r\n")
            response = http.client.HTTPResponse(client)
            response.begin()
            answered.append((response.status, list(json.loads(response.read()))))
    assert answered == [(200, ["requests"]), (403, ["warnings", "errors"])]


# --- bodies over the limit -----------------------------------------------------------------

LIMIT = 1024 * 1024  # --max-body's default


def post_streamed(
    server: Server, chunks: Iterable[bytes], *, length: int | None = None
) -> tuple[Reply, int]:
    """A registration whose body goes as CHUNKS (Transfer-Encoding: chunked, or as they are
    after a Content-Length of LENGTH), sent as curl sends it: until the whole body is gone or
    the mock answers, which it may do early, and close. The reply, and the bytes sent."""
    framing = b"Transfer-Encoding: chunked" if length is None else b"Content-Length: %d" % length
    sent = 0
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as client:
        client.sendall(
            b"POST /v2/customers?source=INSTORE HTTP/1.1\r\nHost: localhost\r\n"
            + f"Authorization: {TILL}\r\n".encode()
            + b"Content-Type: application/json\r\n"
            + framing
            + b"\r\n\r\n"
        )
        for chunk in chunks:
            if select.select([client], [], [], 0)[0]:
                break  # answered already
            try:
                client.sendall(
                    chunk if length is not None else b"%x\r\n%s\r\n" % (len(chunk), chunk)
                )
            except OSError:
                break  # answered and closed: the answer is in the buffer
            sent += len(chunk)
        else:
            if length is None:
                client.sendall(b"0\r\n\r\n")
        response = http.client.HTTPResponse(client)
        response.begin()
        answer = response.read()
    return Reply(response.status, response.headers, json.loads(answer)), sent


def padded_registration(mobile: str, size: int) -> bytes:
    """A valid registration of SIZE bytes: its first name is long."""
    body = registration(mobile)
    body["profiles"][0]["firstName"] = ""
    padding = size - len(json.dumps(body))
    body["profiles"][0]["firstName"] = "B" * padding
    return json.dumps(body).encode()


def in_pieces(data: bytes, size: int = 64 * 1024) -> Iterator[bytes]:
    return (data[start : start + size] for start in range(0, len(data), size))


def test_a_chunked_body_over_the_limit_is_a_413_as_with_a_length(server: Server) -> None:
    body = padded_registration("918500000001", 2 * LIMIT)
    # Both as curl sends them: the mock may answer before the body is all sent, and close.
    with_length, _ = post_streamed(server, in_pieces(body), length=len(body))
    chunked, _ = post_streamed(server, in_pieces(body))
    assert with_length.status == chunked.status == 413, chunked.body
    [error] = chunked.body["errors"]
    assert error == {
        "status": False,
        "code": 413,
        "message": f"Request body is over the limit of {LIMIT} bytes",
    }
    assert lookup(server, "918500000001").status == 400  # nobody was registered


def test_a_chunked_body_of_the_limit_exactly_is_read_whole(server: Server) -> None:
    reply, _ = post_streamed(server, in_pieces(padded_registration("918500000002", LIMIT)))
    assert reply.status == 200, reply.body
    assert lookup(server, "918500000002").body["entity"] == reply.body["createdId"]


def test_an_endless_chunked_body_is_refused_once_past_the_limit(server: Server) -> None:
    """The mock answers 413 having read a little over the limit, not the whole body: the
    client is still sending when the answer comes."""
    chunk, endless = b" " * 65536, 256 * LIMIT
    reply, sent = post_streamed(server, itertools.repeat(chunk, endless // len(chunk)))
    assert reply.status == 413
    assert sent < endless


def test_a_gzip_body_is_read_decoded_and_over_the_limit_once_decoded(server: Server) -> None:
    # Smaller compressed than its text: read by the compressed Content-Length, it was cut.
    body = padded_registration("918500000003", 10_000)
    registered = server.request(
        "POST",
        "/v2/customers?source=INSTORE",
        data=gzip.compress(body),
        headers={"Content-Encoding": "gzip"},
    )
    assert registered.status == 200, registered.body
    assert lookup(server, "918500000003").body["entity"] == registered.body["createdId"]
    bomb = gzip.compress(padded_registration("918500000004", 2 * LIMIT))
    assert len(bomb) < LIMIT
    over = server.request(
        "POST", "/v2/customers?source=INSTORE", data=bomb, headers={"Content-Encoding": "gzip"}
    )
    assert over.status == 413, over.body


@pytest.mark.parametrize(
    ("coding", "compress"),
    [
        ("br", brotli.compress),
        ("zstd", zstd.compress),
        ("deflate", zlib.compress),
        ("GZIP", gzip.compress),
        ("identity", bytes),
    ],
)
def test_a_body_in_any_coding_http_clients_send_is_read(
    server: Server, coding: str, compress: Callable[[bytes], bytes]
) -> None:
    mobile = f"91850001{sum(map(ord, coding)):04d}"
    registered = server.request(
        "POST",
        "/v2/customers?source=INSTORE",
        data=compress(padded_registration(mobile, 2_000)),
        headers={"Content-Encoding": coding},
    )
    assert registered.status == 200, registered.body
    assert lookup(server, mobile).body["entity"] == registered.body["createdId"]


@pytest.mark.parametrize("coding", ["compress", "gzip, br", "x-custom"])
def test_a_body_in_a_coding_the_mock_does_not_decode_is_a_415_saying_which_it_does(
    server: Server, coding: str
) -> None:
    refused = server.request(
        "POST",
        "/v2/customers?source=INSTORE",
        data=padded_registration("918500020001", 2_000),
        headers={"Content-Encoding": coding},
    )
    assert refused.status == 415, refused.body
    assert refused.headers["Accept-Encoding"] == "gzip, deflate, br, zstd"
    [error] = refused.body["errors"]
    assert error["message"] == (
        f"Content-Encoding must be gzip, deflate, br or zstd (or none), got {coding!r}"
    )
    assert lookup(server, "918500020001").status == 400  # nobody was registered


def test_a_body_its_content_encoding_does_not_decode_is_a_400_in_the_envelope(
    server: Server,
) -> None:
    reply = server.request(
        "POST",
        "/v2/customers?source=INSTORE",
        data=b"not gzip",
        headers={"Content-Encoding": "gzip"},
    )
    assert reply.status == 400, reply.body
    [error] = reply.body["errors"]
    assert error["message"].endswith("body: Can not decode content-encoding: gzip")
    assert reply.headers["Connection"] == "close"  # the rest of the stream is unreadable too
    # Where the operation takes no body, the body is not read.
    got = server.request(
        "GET",
        "/v2/customers/306?source=ALL",
        data=b"not gzip",
        headers={"Content-Encoding": "gzip"},
    )
    assert got.status == 200, got.body
    assert "Traceback" not in server.output()


def test_a_body_that_stops_coming_is_a_400_and_its_connection_closed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A worker's own aiohttp app, in this process, so that the wait can be made short: a
    # stalled body held its connection for as long as the client kept it open.
    monkeypatch.setattr(server_module, "KEEP_ALIVE", 0.2)
    settings = Settings(
        state=str(tmp_path / "state.db"), journal=tmp_path / "journal", auth_required=False
    )

    async def exchange() -> bytes:
        app = await server_module._aiohttp_app(lambda: create_app(settings), 1024 * 1024)
        runner = web.AppRunner(app)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        try:
            reader, writer = await asyncio.open_connection(*runner.addresses[0])
            writer.write(
                b"POST /v2/customers?source=INSTORE HTTP/1.1\r\nHost: mock\r\n"
                b'Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"pro'
            )
            answer = await asyncio.wait_for(reader.read(), 10)  # up to the close
            writer.close()
            return answer
        finally:
            await runner.cleanup()

    with ThreadPoolExecutor(1) as thread:  # of its own: Playwright's loop may run in this one
        head, _, body = thread.submit(asyncio.run, exchange()).result().partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400 ")
    [error] = json.loads(body)["errors"]
    assert error["message"].endswith("body: it stopped coming: no more of it arrived within 0.2 s")


def test_a_request_in_absolute_form_is_answered_as_its_path(server: Server) -> None:
    """As a client sends it to a proxy: an app whose HTTP_PROXY is the mock."""
    url = "http://eu.api.capillarytech.com/v2/customers/306?source=ALL"
    got = server.request("GET", url)
    assert got.status == 200, got.body
    assert got.body["id"] == 306
    journal = server.request("GET", "/__admin/requests").body["requests"]
    assert journal[-1]["url"] == url


@pytest.mark.parametrize(
    "host", ["[::1", "a:99999", "a b", "a%zz", "[not-ipv6]", "a:" + "9" * 5000]
)
def test_a_host_that_is_no_host_is_a_400_in_the_envelope_journalled_under_the_mock_s_address(
    server: Server, host: str
) -> None:
    mobile = f"91860000{len(host):04d}"
    refused = server.request(
        "POST",
        "/v2/customers?source=INSTORE",
        data=padded_registration(mobile, 500),
        headers={"Host": host},
    )
    assert refused.status == 400, refused.body
    [error] = refused.body["errors"]
    assert "header 'Host' must be a host name or address and an optional port" in error["message"]
    assert lookup(server, mobile).status == 400  # nobody was registered
    journal = server.request("GET", "/__admin/requests").body["requests"]
    assert journal[-2]["url"] == f"http://127.0.0.1:{server.port}/v2/customers?source=INSTORE"
    assert "Traceback" not in server.output()


def test_a_request_in_absolute_form_with_userinfo_keeps_it_out_of_its_host(server: Server) -> None:
    url = "http://user:s3cret@eu.api.capillarytech.com/v2/customers/306?source=ALL"
    got = server.request("GET", url, headers={"Host": "eu.api.capillarytech.com"})
    assert got.status == 200, got.body
    journal = server.request("GET", "/__admin/requests?format=har").body["log"]["entries"]
    assert "s3cret" not in json.dumps(journal[-1])


def test_the_journal_names_a_request_by_its_target_as_sent(server: Server) -> None:
    server.request("GET", "/v2/customers/%3F%23x?source=ALL", headers={"Host": "[::1]:8080"})
    journal = server.request("GET", "/__admin/requests").body["requests"]
    assert journal[-1]["url"] == "http://[::1]:8080/v2/customers/%3F%23x?source=ALL"


# --- any input, however long ----------------------------------------------------------------

DOCUMENT = spec.load()
#: Values past what HTTP parsers take by default (8 KB a line for aiohttp, 64 KB for hyper):
#: the mock reads a request line or a header up to a megabyte, and answers them itself.
LONG_VALUES = ("9" * 60_000, "9" * 100_000)


@dataclasses.dataclass(frozen=True)
class Call:
    """A request of an operation: its method, spec path, parameters by (in, name), body."""

    operation_id: str
    method: str
    path: str
    parameters: dict[tuple[str, str], Any]
    body: Any

    def target(self) -> str:
        path, query = self.path, {}
        for (where, name), value in self.parameters.items():
            if value is None:
                continue
            text = ",".join(map(str, value)) if isinstance(value, list) else str(value)
            if where == "path":
                path = path.replace(f"{{{name}}}", quote(text, safe=""))
            elif where == "query":
                query[name] = text
        return f"/v2{path}?{urlencode(query)}" if query else f"/v2{path}"

    def send(self, server: Server, **changes: Any) -> Reply:
        call = dataclasses.replace(self, **changes)
        headers = {
            name: str(value)
            for (where, name), value in call.parameters.items()
            if where == "header" and value is not None
        }
        return server.request(call.method, call.target(), body=call.body, headers=headers)


def documented_calls() -> list[Call]:
    """Each operation's first documented request: its parameters' examples of one name (or
    their first example), and its body's example."""
    calls = []
    for path, item in DOCUMENT["paths"].items():
        for method, operation in item.items():
            if method == "parameters":
                continue
            declared = {}
            for node in item.get("parameters", []) + operation.get("parameters", []):
                parameter = spec.follow(DOCUMENT, node)[1]
                declared[(parameter["in"], parameter["name"])] = parameter
            body_examples = {}
            if "requestBody" in operation:
                content = spec.follow(DOCUMENT, operation["requestBody"])[1]["content"]
                body_examples = content["application/json"]["examples"]
            named = [name for p in declared.values() for name in p.get("examples", {})]
            name = next(iter(named + list(body_examples)), None)
            parameters = {}
            for key, parameter in declared.items():
                examples = parameter.get("examples", {})
                example = examples.get(name) or next(iter(examples.values()), None)
                # Parameters without examples are still sent, so that each gets a long value.
                parameters[key] = example["value"] if example else None
            body = (body_examples.get(name) or next(iter(body_examples.values()), {})).get("value")
            calls.append(Call(operation["operationId"], method.upper(), path, parameters, body))
    return calls


def with_each_field(schema: Any, value: Any, new: str) -> Iterator[Any]:
    """VALUE (a body that SCHEMA describes) again and again, each time with one field of
    SCHEMA, at any depth, set to NEW; containers it lacks are added on the way."""
    schema = spec.follow(DOCUMENT, schema)[1]
    for branch in schema.get("allOf", []) + schema.get("anyOf", []) + schema.get("oneOf", []):
        yield from with_each_field(branch, value, new)
    if schema.get("type") == "object" or "properties" in schema:
        fields = value if isinstance(value, dict) else {}
        for name, field in schema.get("properties", {}).items():
            yield {**fields, name: new}
            inner = fields.get(name, _container(field))
            for changed in with_each_field(field, inner, new):
                yield {**fields, name: changed}
    if schema.get("type") == "array" and "items" in schema:
        items = value if isinstance(value, list) and value else [_container(schema["items"])]
        for changed in with_each_field(schema["items"], items[0], new):
            yield [changed, *items[1:]]


def _container(schema: Any) -> Any:
    kind = spec.follow(DOCUMENT, schema)[1].get("type")
    return {} if kind == "object" else [] if kind == "array" else None


def assert_answered_cleanly(reply: Reply) -> None:
    """REPLY is the mock's own answer, below 500 (a 2xx where the spec sets no maxLength),
    an error in the envelope with the long value cut short."""
    assert reply.status < 500, reply.body
    if reply.status >= 400:
        assert reply.body["errors"] and all(not e["status"] for e in reply.body["errors"])
        assert all(len(e["message"]) < 2_000 for e in reply.body["errors"])


CALLS = documented_calls()


@pytest.mark.parametrize("call", CALLS, ids=[call.operation_id for call in CALLS])
def test_a_long_value_in_any_parameter_is_answered_cleanly(server: Server, call: Call) -> None:
    assert call.parameters, call.operation_id
    for key in call.parameters:
        for long in LONG_VALUES:
            assert_answered_cleanly(call.send(server, parameters=call.parameters | {key: long}))


WRITES = [call for call in CALLS if call.body is not None]


@pytest.mark.parametrize("call", WRITES, ids=[call.operation_id for call in WRITES])
def test_a_long_value_in_any_body_field_is_answered_cleanly(server: Server, call: Call) -> None:
    operation = DOCUMENT["paths"][call.path][call.method.lower()]
    content = spec.follow(DOCUMENT, operation["requestBody"])[1]["content"]
    bodies = list(with_each_field(content["application/json"]["schema"], call.body, LONG_VALUES[1]))
    assert len(bodies) >= 3, call.operation_id
    for body in bodies:
        assert_answered_cleanly(call.send(server, body=body))


@pytest.mark.parametrize("call", WRITES, ids=[call.operation_id for call in WRITES])
def test_a_body_nested_100000_deep_is_a_400(server: Server, call: Call) -> None:
    nested = b"[" * 100_000 + b"]" * 100_000
    reply = server.request(call.method, call.target(), data=nested)
    assert reply.status == 400
    [error] = reply.body["errors"]
    assert "nested" in error["message"]


def test_a_search_for_60000_characters_finds_nobody(server: Server) -> None:
    reply = server.request("GET", f"/v2/customers/search?source=INSTORE&q={'a' * 60_000}")
    assert reply.status == 200, reply.body
    assert (reply.body["data"], reply.body["pagination"]["total"]) == ([], 0)


# --- the console: a line per request -------------------------------------------------------

#: A request's line in text: time, method, path with query, status (and code), duration,
#: and for a refused request its first problem.
REQUEST_LINE = re.compile(
    r"(?P<time>\d\d:\d\d:\d\d) (?P<method>[A-Z]+) (?P<target>/v2/\S+)"
    r" (?P<status>\d{3})(?: \((?P<code>\d+)\))? (?P<ms>\d+\.\d) ms(?:: (?P<problem>.+))?"
)
#: A refused request whose first problem is long: lines of several workers could interleave.
REFUSED = "/v2/customers/lookup?source=MYSPACE&identifierName=mobile&identifierValue=9" + "1" * 200


def request_lines(output: str) -> list[re.Match[str]]:
    lines = output.splitlines()
    first = next(i for i, line in enumerate(lines) if REQUEST_LINE.match(line))
    return [REQUEST_LINE.fullmatch(line) or pytest.fail(repr(line)) for line in lines[first:]]


def test_each_request_is_one_line_on_the_console_with_several_workers(tmp_path: Path) -> None:
    with running(tmp_path, "--workers", "2", until=serves_with_both_workers) as server:
        statuses = [
            reply.status
            for reply in in_parallel(
                60,
                lambda index: server.request("GET", REFUSED if index % 2 else LOOKUP_306),
            )
        ]
        assert statuses.count(400) == statuses.count(200) == 30
        output = server.output()
    assert output.splitlines()[0].startswith("capkit mock: ")
    assert "Websockets" not in output and "\x1b[" not in output  # no colour in a file
    lines = request_lines(output)
    assert len(lines) == 60
    refused = [line for line in lines if line["status"] == "400"]
    assert len(refused) == 30
    for line in refused:
        assert (line["method"], line["target"], line["code"]) == ("GET", REFUSED, "8011")
        assert line["problem"].startswith(
            "Source is invalid: query parameter 'source' must be one of FACEBOOK,"
        )
    for line in lines:
        assert line["status"] == "400" or (line["target"], line["problem"]) == (LOOKUP_306, None)


def test_the_log_format_json_gives_machines_one_object_a_line(tmp_path: Path) -> None:
    with running(tmp_path, "--log-format", "json", "--no-auth") as server:
        server.request("GET", REFUSED, authorization=None)
        server.request("POST", "/v2/customers?source=INSTORE", body={}, authorization=None)
        output = server.output()
    records = [json.loads(line) for line in output.splitlines()]
    operations = len(list(spec.operations(spec.load())))
    assert records[0]["message"].startswith(f"capkit mock: {operations} operations at")
    exchanges = [record for record in records if "method" in record]
    assert [(e["method"], e["path"], e["status"], e["code"]) for e in exchanges] == [
        ("GET", REFUSED, 400, 8011),
        ("POST", "/v2/customers?source=INSTORE", 400, 400),
    ]
    assert exchanges[1]["problem"].endswith("body field 'loyaltyInfo' is required")
    assert exchanges[1]["moreProblems"] == 1  # profiles is required too
    assert all(exchange["durationMs"] > 0 for exchange in exchanges)


def test_quiet_prints_no_line_per_request(tmp_path: Path) -> None:
    with running(tmp_path, "--quiet") as server:
        assert server.request("GET", LOOKUP_306).status == 200
        assert server.request("GET", REFUSED).status == 400
        output = server.output()
    assert output.startswith("capkit mock: ")
    assert "/v2/customers" not in output


def test_on_a_terminal_the_status_is_coloured(tmp_path: Path) -> None:
    terminal, its_end = pty.openpty()
    port = free_port()
    process = subprocess.Popen(
        [CAPKIT, "serve", "--port", str(port), "--no-auth"],
        stdout=its_end,
        stderr=its_end,
        start_new_session=True,
    )
    os.close(its_end)
    server = Server(process, port, tmp_path / "unused.log")
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while not answers(server):
            assert process.poll() is None and time.monotonic() < deadline
            time.sleep(0.01)
        assert server.request("GET", REFUSED, authorization=None).status == 400
        seen = b""
        while b" ms" not in seen.split(b"/v2/customers/lookup")[-1]:
            assert select.select([terminal], [], [], 10)[0], seen
            seen += os.read(terminal, 65536)
    finally:
        server.kill()
        os.close(terminal)
    [line] = [line for line in seen.decode().splitlines() if "/v2/customers/lookup" in line]
    assert "\x1b[33m400 (8011)\x1b[0m" in line  # yellow, as every 4xx


# --- processes: kill -9, Ctrl-C -------------------------------------------------------------


def test_every_acknowledged_registration_survives_kill_9(tmp_path: Path) -> None:
    state = tmp_path / "state.db"
    acknowledged: dict[str, int] = {}
    with running(tmp_path, "--workers", "2", "--state", state) as server:
        enough = threading.Event()

        def keep_registering(client: int) -> None:
            try:
                for index in range(1000):
                    mobile = f"9183{client:02d}{index:06d}"
                    try:
                        reply = register(server, mobile)
                    except (OSError, http.client.HTTPException):
                        return  # the server is gone: this one was never acknowledged
                    assert reply.status == 200, reply.body
                    acknowledged[mobile] = reply.body["createdId"]
                    if len(acknowledged) >= 40:
                        enough.set()
            finally:
                enough.set()  # also when this client failed: the test need not wait

        with ThreadPoolExecutor(8) as pool:
            clients = [pool.submit(keep_registering, client) for client in range(8)]
            assert enough.wait(30), "fewer than 40 registrations in 30 s"
            server.signal(signal.SIGKILL)  # while the clients are still registering
            for client in clients:
                client.result()
        server.process.wait()
    assert server.process.returncode == -signal.SIGKILL

    with running(tmp_path, "--workers", "2", "--state", state) as restarted:
        for mobile, customer_id in acknowledged.items():
            assert lookup(restarted, mobile).body["entity"] == customer_id, mobile
            customer = restarted.request("GET", f"/v2/customers/{customer_id}?source=ALL")
            assert customer.status == 200, customer.body
            [profile] = customer.body["profiles"]
            assert {"type": "mobile", "value": mobile} in profile["identifiers"]
        later = register(restarted, "918400000001")
        assert later.status == 200
        assert later.body["createdId"] not in acknowledged.values()


def test_ctrl_c_stops_every_worker_gracefully_and_removes_the_temporary_state(
    tmp_path: Path,
) -> None:
    with running(tmp_path, "--workers", "2", until=serves_with_both_workers) as server:
        # TMPDIR points the server's temporary files at tmp_path/tmp: its state is there.
        [scratch] = (tmp_path / "tmp").iterdir()
        assert (scratch / "state.db").is_file()
        started = time.monotonic()
        server.signal(signal.SIGINT)
        assert server.process.wait(timeout=15) == 0, server.output()
        assert time.monotonic() - started < 5
        assert "SIGKILL" not in server.output()  # each stopped when asked
    assert list((tmp_path / "tmp").iterdir()) == []


def test_ctrl_c_stops_at_once_what_sigterm_would_wait_for(tmp_path: Path) -> None:
    """A request waiting (`Prefer: delay`, a held fault) holds a SIGTERM, not a Ctrl-C."""
    with running(tmp_path) as server, ThreadPoolExecutor() as pool:
        waiting = pool.submit(server.request, "GET", LOOKUP_306, headers={"Prefer": "delay=20000"})
        time.sleep(0.5)  # the request is in, its answer waits
        server.signal(signal.SIGINT)
        assert server.process.wait(timeout=15) == 0, server.output()
        assert "SIGKILL" not in server.output()  # each worker stopped when asked
        with pytest.raises(OSError):  # left without an answer, as Ctrl-C does
            waiting.result()


def test_ctrl_c_while_its_workers_start_stops_it_too(tmp_path: Path) -> None:
    with running(tmp_path, "--workers", "2", until=spawns_its_workers) as server:
        started = time.monotonic()
        server.signal(signal.SIGINT)
        assert server.process.wait(timeout=15) == 0, server.output()
        assert time.monotonic() - started < 10, server.output()
    assert list((tmp_path / "tmp").iterdir()) == []


def test_sigterm_answers_the_requests_in_flight_then_stops(tmp_path: Path) -> None:
    """As a process manager or a rolling restart stops the mock: a request taken before, which
    waits longer than a moment (`Prefer: delay`, `--latency`), still gets its answer."""
    with running(tmp_path) as server, ThreadPoolExecutor() as pool:
        waiting = pool.submit(
            server.request,
            "POST",
            "/v2/customers?source=INSTORE",
            body=registration("919000013014"),
            headers={"Prefer": "delay=4000"},
        )
        time.sleep(0.5)  # the request is in, its answer waits
        os.kill(server.process.pid, signal.SIGTERM)  # the arbiter alone, as systemd or k8s
        # It takes no more connections, while the request waits (a balancer's next goes to
        # another replica); aiohttp's worker looked at the signal once a second.
        time.sleep(0.3)
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", server.port), timeout=1).close()
        assert waiting.result().status == 200
        assert server.process.wait(timeout=30) == 0, server.output()
        assert "SIGKILL" not in server.output()


def test_a_worker_that_ends_leaves_the_state_to_the_others_and_its_successor(
    tmp_path: Path,
) -> None:
    """gunicorn replaces a worker that ends (here, told to by SIGTERM); the one that ended
    takes nothing of the mock's with it."""
    with running(tmp_path, "--workers", "2", until=serves_with_both_workers) as server:
        created = register(server, "919000013013").body["createdId"]
        first = int(WORKER_READY.findall(server.output())[0])
        os.kill(first, signal.SIGTERM)
        deadline = time.monotonic() + 15
        while len(WORKER_READY.findall(server.output())) < 3 and time.monotonic() < deadline:
            assert server.process.poll() is None, server.output()
            time.sleep(0.1)
        assert len(WORKER_READY.findall(server.output())) == 3, server.output()
        for _ in range(4):  # on either worker
            assert lookup(server, "919000013013").body["entity"] == created


def test_no_auth_accepts_requests_without_credentials(tmp_path: Path) -> None:
    with running(tmp_path, "--no-auth") as server:
        assert "state in a temporary file" in server.output() and "auth off" in server.output()
        for path in (LOOKUP_306, "/v2/customers/306?source=ALL"):
            assert server.request("GET", path, authorization=None).status == 200


def test_port_0_serves_on_a_free_port_and_prints_that_one(tmp_path: Path) -> None:
    with running(tmp_path, "--no-auth", port=0) as server:
        assert server.port != 0  # read from the printed URL, where the mock answers
        assert server.request("GET", LOOKUP_306, authorization=None).body["entity"] == 306


def test_a_path_and_query_reach_the_mock_as_sent(server: Server) -> None:
    """Percent-encoded: the query as it came (the server decodes nothing the app decodes)."""
    reply = server.request("GET", "/v2/customers/lookup?source=INSTORE&identifierName=mobile"
                           "&identifierValue=%E2%82%AC%2B1&accountId=%C2%9E")  # fmt: skip
    assert reply.status == 400
    [error] = reply.body["errors"]
    assert error["code"] == 8013 and "'€+1'" in error["message"]
    reply = server.request("GET", "/v2/customers/%33%30%36?source=ALL")
    assert reply.body["id"] == 306


@pytest.mark.parametrize(
    ("method", "path", "mobile"),
    [
        ("POST", "/__admin%2Freset", "919000021001"),
        ("POST", "/__admin%2freset", "919000021002"),
        ("GET", "/v2%2Fcustomers/306", "919000021003"),
    ],
)
def test_an_encoded_slash_is_no_slash(server: Server, method: str, path: str, mobile: str) -> None:
    # Read as a slash, it passed a proxy's rule for /__admin/ (one that keeps others out).
    assert register(server, mobile).status == 200
    reply = server.request(method, path)
    assert reply.status == 404
    [error] = reply.body["errors"]
    assert error["message"].startswith(f"No operation at {path}: ")
    assert lookup(server, mobile).status == 200
