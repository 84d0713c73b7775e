"""`capkit serve` as a user runs it: a real process, real sockets, several workers, signals."""

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
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from email.message import Message
from pathlib import Path
from typing import Any

import pytest

from tests.ports import free_port

CAPKIT = Path(sys.executable).parent / "capkit"
TILL = "Basic " + base64.b64encode(f"till:{hashlib.md5(b'secret').hexdigest()}".encode()).decode()
LOOKUP_306 = (
    "/v2/customers/lookup?source=INSTORE&identifierName=mobile&identifierValue=919111111111"
)
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
        headers: dict[str, str] | None = None,
        authorization: str | None = TILL,
    ) -> Reply:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        sent = {"Content-Type": "application/json"} if body is not None else {}
        if authorization is not None:
            sent["Authorization"] = authorization
        try:
            connection.request(
                method,
                path,
                body=None if body is None else json.dumps(body),
                headers=sent | (headers or {}),
            )
            response = connection.getresponse()
            data = response.read()
        finally:
            connection.close()
        return Reply(response.status, response.headers, json.loads(data) if data else None)

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
    output = server.output()
    return answers(server) and "Started worker-1" in output and "Started worker-2" in output


def spawns_its_workers(server: Server) -> bool:
    """granian has started the second worker's process, which is still building its app."""
    return "Spawning worker-2" in server.output()


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
    assert first.startswith(f"capkit mock: 16 operations at http://127.0.0.1:{server.port}/v2 ")
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
    # granian alone would share the port (SO_REUSEPORT): two states behind one URL.
    second = subprocess.Popen(
        [CAPKIT, "serve", "--port", str(server.port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        _, error = second.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(second.pid, signal.SIGKILL)
        second.communicate()
        raise AssertionError("a second mock serves on the port of the first") from None
    assert second.returncode == 2, error
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


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "Basic " + base64.b64encode(b"till:secret").decode(),  # the password, not its md5
        "Basic " + base64.b64encode(f"till:{hashlib.md5(b'other').hexdigest()}".encode()).decode(),
        "Basic "
        + base64.b64encode(f"other:{hashlib.md5(b'secret').hexdigest()}".encode()).decode(),
    ],
    ids=["none", "plain-password", "wrong-password", "other-till"],
)
def test_a_pinned_till_refuses_other_credentials(server: Server, authorization: str | None) -> None:
    assert server.request("GET", LOOKUP_306, authorization=TILL).status == 200
    refused = server.request("GET", LOOKUP_306, authorization=authorization)
    assert refused.status == 401
    assert refused.headers["WWW-Authenticate"].startswith("Basic")
    assert [error["code"] for error in refused.body["errors"]] == [401]


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
        assert "Killing worker" not in server.output()  # each stopped when asked
    assert list((tmp_path / "tmp").iterdir()) == []


def test_ctrl_c_while_its_workers_start_stops_it_too(tmp_path: Path) -> None:
    with running(tmp_path, "--workers", "2", until=spawns_its_workers) as server:
        started = time.monotonic()
        server.signal(signal.SIGINT)
        assert server.process.wait(timeout=15) == 0, server.output()
        assert time.monotonic() - started < 10, server.output()
    assert list((tmp_path / "tmp").iterdir()) == []


def test_no_auth_accepts_requests_without_credentials(tmp_path: Path) -> None:
    with running(tmp_path, "--no-auth") as server:
        assert "state in a temporary file" in server.output() and "auth off" in server.output()
        for path in (LOOKUP_306, "/v2/customers/306?source=ALL"):
            assert server.request("GET", path, authorization=None).status == 200


def test_port_0_serves_on_a_free_port_and_prints_that_one(tmp_path: Path) -> None:
    with running(tmp_path, "--no-auth", port=0) as server:
        assert server.port != 0  # read from the printed URL, where the mock answers
        assert server.request("GET", LOOKUP_306, authorization=None).body["entity"] == 306
