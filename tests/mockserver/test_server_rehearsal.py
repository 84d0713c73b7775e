"""Rehearsal against `capkit serve --workers 2`, as a client sees it over real sockets: each fault
as what it claims (curl's exit codes, a read timeout), delays that hold no worker, the rate
limit and /__admin/chaos across the workers, seed files at start."""

from __future__ import annotations

import http.client
import json
import re
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.mockserver.test_rehearsal import BECKY
from tests.mockserver.test_server import (
    CAPKIT,
    LOOKUP_306,
    TILL,
    Server,
    in_parallel,
    lookup,
    register,
    running,
    serves_with_both_workers,
)

CUSTOMER_306 = "/v2/customers/306?source=ALL"
#: curl's exit codes: the connection was reset, or closed with no answer ("empty reply").
RECV_ERROR, GOT_NOTHING = 56, 52


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """Two workers, a timeout fault held 1 s."""
    tmp_path = tmp_path_factory.mktemp("rehearsal")
    with running(
        tmp_path, "--workers", "2", "--fault-hold", "1s", until=serves_with_both_workers
    ) as server:
        yield server


@pytest.fixture
def chaos(server: Server) -> Iterator[Any]:
    """A function that PUTs /__admin/chaos; the flags' settings again after the test."""

    def put(settings: dict[str, Any]) -> None:
        assert server.request("PUT", "/__admin/chaos", body=settings).status == 200

    yield put
    server.request("DELETE", "/__admin/chaos")


def curl(
    server: Server, path: str, *headers: str, timeout: float = 10
) -> subprocess.CompletedProcess[str]:
    command = ["curl", "-sS", "-m", str(timeout), "-H", f"Authorization: {TILL}"]
    for header in headers:
        command += ["-H", header]
    return subprocess.run(
        [*command, f"http://127.0.0.1:{server.port}{path}"],
        capture_output=True,
        text=True,
        check=False,
    )


# --- faults, as clients see them -----------------------------------------------------------


def test_a_reset_is_a_connection_reset_and_empty_an_empty_reply(server: Server) -> None:
    reset = curl(server, CUSTOMER_306, "Prefer: fault=reset")
    assert reset.returncode == RECV_ERROR, reset.stderr
    assert "Connection reset by peer" in reset.stderr and reset.stdout == ""
    empty = curl(server, CUSTOMER_306, "Prefer: fault=empty")
    assert empty.returncode == GOT_NOTHING, empty.stderr
    assert "Empty reply from server" in empty.stderr


def test_a_timeout_holds_the_connection_open_past_a_client_s_read_timeout(
    server: Server,
) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=0.5)
    connection.request(
        "GET", CUSTOMER_306, headers={"Authorization": TILL, "Prefer": "fault=timeout"}
    )
    with pytest.raises(TimeoutError):
        connection.getresponse()
    connection.close()
    # A patient client sees the connection closed, unanswered, once the hold (1 s) is over.
    started = time.monotonic()
    held = curl(server, CUSTOMER_306, "Prefer: fault=timeout")
    assert held.returncode == GOT_NOTHING, held.stderr
    assert 1.0 <= time.monotonic() - started < 3


def test_a_lost_registration_is_registered_and_the_client_never_hears(server: Server) -> None:
    body = json.dumps(
        {
            "loyaltyInfo": {"loyaltyType": "loyalty"},
            "profiles": [{"identifiers": [{"type": "mobile", "value": "918700000001"}]}],
        }
    )
    lost = subprocess.run(
        [
            "curl", "-sS", "-m", "10", "-X", "POST", "-H", f"Authorization: {TILL}",
            "-H", "Content-Type: application/json", "-H", "Prefer: fault=lost", "-d", body,
            f"http://127.0.0.1:{server.port}/v2/customers?source=INSTORE",
        ],
        capture_output=True,
        text=True,
        check=False,
    )  # fmt: skip
    assert lost.returncode == RECV_ERROR, lost.stderr
    assert lookup(server, "918700000001").status == 200  # the retry would meet 8006


@pytest.mark.parametrize("status", [500, 503])
def test_a_500_or_503_fault_is_capillary_s_envelope(server: Server, status: int) -> None:
    reply = server.request("GET", CUSTOMER_306, headers={"Prefer": f"fault={status}"})
    assert reply.status == status
    [error] = reply.body["errors"]
    assert error["code"] == status and error["status"] is False


@pytest.mark.parametrize(
    ("prefer", "echoed"),
    [
        ("delay=\udcb2", "'\xb2'"),  # the byte 0xb2 alone: no UTF-8, latin-1's superscript 2
        ("delay=１２", "'１２'"),  # full-width digits, in UTF-8
        ("delay=" + "9" * 5000, "'99999"),
    ],
    ids=["latin-1 superscript two", "full-width digits", "5000 digits"],
)
def test_a_delay_that_is_no_ascii_number_is_a_400_echoing_what_was_sent(
    server: Server, prefer: str, echoed: str
) -> None:
    # The command line is encoded as os.fsencode does: \udcb2 is the byte 0xb2 on the wire.
    sent = curl(server, CUSTOMER_306, f"Prefer: {prefer}")
    answer = json.loads(sent.stdout)
    [error] = answer["errors"]
    assert error["code"] == 400
    assert "header 'Prefer': delay must be" in error["message"] and echoed in error["message"]
    assert len(error["message"]) < 1000


def test_every_fault_is_in_the_journal_and_on_the_console(server: Server) -> None:
    for fault in ("reset", "empty", "503"):
        curl(server, LOOKUP_306, f"Prefer: fault={fault}")
    entries = server.request("GET", "/__admin/requests?format=har").body["log"]["entries"]
    faulted = [e for e in entries if e["request"]["url"].endswith(LOOKUP_306)][-3:]
    assert [e["response"]["status"] for e in faulted] == [0, 0, 503]
    assert faulted[0]["response"]["comment"].endswith("(fault=reset)")
    output = server.output()
    assert f"GET {LOOKUP_306} fault=reset " in output
    assert f"GET {LOOKUP_306} fault=empty " in output


# --- delays ---------------------------------------------------------------------------------


def test_50_delayed_requests_hold_no_worker(server: Server) -> None:
    answered_fast: list[float] = []

    def meanwhile() -> None:
        time.sleep(0.3)  # the delayed requests are in flight
        started = time.monotonic()
        assert server.request("GET", LOOKUP_306).status == 200
        answered_fast.append(time.monotonic() - started)

    other = threading.Thread(target=meanwhile)
    started = time.monotonic()
    other.start()

    def delayed(_: int) -> tuple[int, float]:
        began = time.monotonic()
        reply = server.request("GET", CUSTOMER_306, headers={"Prefer": "delay=1000"})
        return reply.status, time.monotonic() - began

    replies = in_parallel(50, delayed)
    other.join()
    assert {status for status, _ in replies} == {200}
    assert min(took for _, took in replies) >= 1.0
    assert time.monotonic() - started < 1.5 + 0.5  # all at once, not in turns of 2 workers
    assert answered_fast[0] < 0.3


def test_a_latency_of_one_operation_delays_it_alone(server: Server, chaos: Any) -> None:
    chaos({"latency": ["getCustomer=300ms"]})
    started = time.monotonic()
    assert server.request("GET", CUSTOMER_306).status == 200
    assert time.monotonic() - started >= 0.3
    started = time.monotonic()
    assert server.request("GET", LOOKUP_306).status == 200
    assert time.monotonic() - started < 0.3


# --- across the workers: the rate limit, chaos changed at runtime --------------------------


def test_the_rate_limit_counts_across_workers_and_serves_again_after_its_window(
    server: Server, chaos: Any
) -> None:
    chaos({"rateLimit": "4/s"})
    time.sleep(1.02 - time.time() % 1)  # all in one window: the start of the next second
    # New connections, which the two workers share: the count is one.
    statuses = sorted(
        reply.status for reply in in_parallel(6, lambda _: server.request("GET", CUSTOMER_306))
    )
    assert statuses == [200, 200, 200, 200, 429, 429]
    time.sleep(1.0)
    assert server.request("GET", CUSTOMER_306).status == 200


def test_chaos_put_changes_every_worker_at_once_and_delete_returns_to_the_flags(
    server: Server, chaos: Any
) -> None:
    chaos({"faults": 1.0, "faultKinds": ["503"]})
    replies = in_parallel(8, lambda _: server.request("GET", CUSTOMER_306))
    assert {reply.status for reply in replies} == {503}
    server.request("DELETE", "/__admin/chaos")
    replies = in_parallel(8, lambda _: server.request("GET", CUSTOMER_306))
    assert {reply.status for reply in replies} == {200}


def test_a_start_on_a_kept_state_says_what_it_goes_on_from_and_reset_repeats_the_run(
    tmp_path: Path,
) -> None:
    # Settings put at runtime and the sequence a chaos seed draws from are the state's: a
    # start leaves them to the processes that may serve it with it, and says they are there.
    flags = ("--state", tmp_path / "state.db", "--chaos-seed", "7", "--faults", "0.5")
    said = re.compile(r"^\[WARNING\] capkit mock: the state (?:holds|counted) .*$", re.MULTILINE)

    def statuses(server: Server) -> list[int]:
        return [server.request("GET", CUSTOMER_306).status for _ in range(12)]

    with running(tmp_path, *flags, "--fault-kinds", "503") as first:
        assert said.findall(first.output()) == []
        first_run = statuses(first)
        assert set(first_run) == {200, 503}
        first.request("PUT", "/__admin/chaos", body={"rateLimit": "1000/m"})
    with running(tmp_path, *flags, "--fault-kinds", "503") as second:
        assert said.findall(second.output()) == [
            "[WARNING] capkit mock: the state holds settings put at runtime (PUT"
            ' /__admin/chaos), in force over the flags: {"rateLimit":"1000/m"}; DELETE'
            " /__admin/chaos returns to the flags",
            "[WARNING] capkit mock: the state counted 12 requests of the sequence that chaos"
            " seed 7 draws from: the next is number 13; POST /__admin/reset starts it again"
            " (and the customers from the seed)",
        ]
        assert second.request("POST", "/__admin/reset").status == 200
        assert statuses(second) == first_run
        assert second.request("DELETE", "/__admin/chaos").status == 200
        assert second.request("POST", "/__admin/reset").status == 200
    with running(tmp_path, *flags, "--fault-kinds", "503") as third:
        assert said.findall(third.output()) == []


# --- seed files at start --------------------------------------------------------------------


def test_a_seed_file_is_served_alone_and_reset_returns_to_it(tmp_path: Path) -> None:
    seed = tmp_path / "customers.yaml"
    seed.write_text(
        "customers:\n"
        "  - id: 900001\n"
        "    loyaltyInfo: {loyaltyType: loyalty}\n"
        "    profiles:\n"
        "      - {firstName: Becky, source: INSTORE,"
        " identifiers: [{type: mobile, value: '919900000001'}]}\n"
    )
    with running(tmp_path, "--seed", seed, "--no-documented-seed") as server:
        assert lookup(server, "919900000001").body["entity"] == 900001
        assert lookup(server, "919111111111").status == 400  # 306, documented, is not there
        assert register(server, "918900000001").status == 200
        server.request("POST", "/__admin/reset")
        written = server.request("GET", "/__admin/seed").body
    assert [customer["id"] for customer in written["customers"]] == [900001]


def test_a_bad_seed_file_stops_the_mock_with_exit_2_naming_each_problem(tmp_path: Path) -> None:
    seed = tmp_path / "customers.json"
    wechat = BECKY["profiles"][0] | {"source": "WECHAT"}
    seed.write_text(json.dumps({"customers": [BECKY | {"profiles": [wechat]}]}))
    refused = subprocess.run(
        [CAPKIT, "serve", "--port", "0", "--seed", seed],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert refused.returncode == 2
    assert refused.stderr.splitlines() == [
        "customer 900001: profiles[0].accountId: the account in WECHAT, a source of several"
        " accounts",
        f"capkit serve: {seed} is not a seed file the mock can load: 1 problem(s)",
    ]


def test_the_server_resets_a_connection_even_when_the_client_sends_more(server: Server) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as client:
        client.sendall(
            f"GET {CUSTOMER_306} HTTP/1.1\r\nHost: x\r\nAuthorization: {TILL}\r\n"
            "Prefer: fault=reset\r\n\r\n".encode()
        )
        with pytest.raises(ConnectionResetError):
            client.recv(1024)
