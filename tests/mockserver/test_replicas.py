"""Replicas on one PostgreSQL, as hosts behind a load balancer run them: `capkit serve --state
postgresql://...` processes on two ports, real sockets, one database that they share, the
admin endpoints guarded by --admin-token as the README's deployment has them."""

from __future__ import annotations

import itertools
import json
import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from pathlib import Path

import psycopg
import pytest

from mockserver.storage import FIRST_NEW_ID
from tests import postgresql
from tests.mockserver.test_app import ADMIN_CHANGES
from tests.mockserver.test_rehearsal import BECKY
from tests.mockserver.test_server import (
    CAPKIT,
    README,
    TILL,
    WORKER_READY,
    Reply,
    Server,
    in_parallel,
    lookup,
    register,
    running,
)
from tests.ports import free_port
from tests.waiting import soon

_databases = itertools.count()
ADMIN_TOKEN = "team-staging-7f3a"
ADMIN = f"Bearer {ADMIN_TOKEN}"
CUSTOMER_306 = "/v2/customers/306?source=ALL"


@contextmanager
def replicas_of(tmp_path: Path, url: str, *flags: str) -> Iterator[tuple[Server, Server]]:
    """Two `capkit serve --state URL FLAGS`, each on a port of its own."""
    with ExitStack() as stack:
        yield (
            stack.enter_context(running(tmp_path, "--state", url, *flags)),
            stack.enter_context(running(tmp_path, "--state", url, *flags)),
        )


@pytest.fixture(scope="module")
def replicas(
    tmp_path_factory: pytest.TempPathFactory, postgresql_server: postgresql.Server
) -> Iterator[tuple[Server, Server]]:
    """Two replicas on a database of their own, for the module's tests, which reset it."""
    url = postgresql_server.create_database("replicas")
    # The README's deployment allows the name its commands reach the mock by.
    with replicas_of(
        tmp_path_factory.mktemp("replicas"),
        url,
        "--admin-token",
        ADMIN_TOKEN,
        "--allowed-host",
        "mock.internal",
    ) as pair:
        yield pair


@pytest.fixture
def reset(replicas: tuple[Server, Server]) -> Iterator[tuple[Server, Server]]:
    """The replicas, back to the seed with an empty journal; the flags' chaos after the test."""
    assert replicas[0].request("POST", "/__admin/reset", authorization=ADMIN).status == 200
    yield replicas
    assert replicas[0].request("DELETE", "/__admin/chaos", authorization=ADMIN).status == 200


def codes(reply: Reply) -> list[int]:
    return [error["code"] for error in reply.body["errors"]]


def test_32_clients_racing_to_register_one_mobile_on_two_replicas_make_one_customer(
    reset: tuple[Server, Server],
) -> None:
    replies = in_parallel(32, lambda index: register(reset[index % 2], "918300000001"))
    [won] = [reply for reply in replies if reply.status == 200]
    lost = [reply for reply in replies if reply is not won]
    assert [(reply.status, codes(reply)) for reply in lost] == [(400, [8006])] * 31
    for replica in reset:
        assert lookup(replica, "918300000001").body["entity"] == won.body["createdId"]


def test_a_customer_registered_on_one_replica_is_found_and_changed_on_the_other(
    reset: tuple[Server, Server],
) -> None:
    first, second = reset
    created = register(first, "918300000002").body["createdId"]
    assert created == FIRST_NEW_ID
    assert lookup(second, "918300000002").body["entity"] == created
    update = {"profiles": [{"firstName": "Rebecca"}]}
    path = f"/v2/customers/{created}?source=INSTORE"
    assert second.request("PUT", path, body=update).status == 200
    assert first.request("GET", path).body["profiles"][0]["firstName"] == "Rebecca"
    # The ids are the database's: the next one, whichever replica registers.
    assert register(second, "918300000003").body["createdId"] == FIRST_NEW_ID + 1


def test_a_reset_on_one_replica_is_seen_by_the_other(reset: tuple[Server, Server]) -> None:
    first, second = reset
    register(first, "918300000004")
    assert second.request("POST", "/__admin/reset", authorization=ADMIN).status == 200
    assert codes(lookup(first, "918300000004")) == [8015]
    assert register(first, "918300000005").body["createdId"] == FIRST_NEW_ID


def test_the_journal_read_from_one_replica_lists_the_others_requests(
    reset: tuple[Server, Server],
) -> None:
    first, second = reset
    lookup(first, "918300000006")
    register(second, "918300000006")

    def listed() -> list[str]:
        requests = first.request("GET", "/__admin/requests").body["requests"]
        return [entry["url"] for entry in requests]

    # Each replica writes its entries a few milliseconds after it answers.
    soon(lambda: len(listed()) >= 2, seconds=2)
    assert listed() == [
        f"http://127.0.0.1:{first.port}/v2/customers/lookup?source=INSTORE&identifierName=mobile"
        "&identifierValue=918300000006",
        f"http://127.0.0.1:{second.port}/v2/customers?source=INSTORE",
    ]
    # One exchange of the other replica, by its id.
    theirs = first.request("GET", "/__admin/requests").body["requests"][1]
    one = first.request("GET", f"/__admin/requests/{theirs['id']}").body
    assert one["request"]["url"] == theirs["url"]
    assert second.request("DELETE", "/__admin/requests", authorization=ADMIN).status == 200
    assert first.request("GET", "/__admin/requests").body["requests"] == []


def test_chaos_put_on_one_replica_is_in_force_on_it_at_once_and_soon_on_the_other(
    reset: tuple[Server, Server],
) -> None:
    first, second = reset
    changed = first.request(
        "PUT", "/__admin/chaos", body={"faults": 1.0, "faultKinds": ["503"]}, authorization=ADMIN
    )
    assert changed.status == 200
    assert {first.request("GET", CUSTOMER_306).status for _ in range(4)} == {503}
    in_force_soon(second, changed.body)
    assert {second.request("GET", CUSTOMER_306).status for _ in range(4)} == {503}
    back = second.request("DELETE", "/__admin/chaos", authorization=ADMIN)
    assert back.status == 200
    assert {second.request("GET", CUSTOMER_306).status for _ in range(4)} == {200}
    in_force_soon(first, back.body)
    assert {first.request("GET", CUSTOMER_306).status for _ in range(4)} == {200}


def in_force_soon(replica: Server, settings: object) -> None:
    """Assert REPLICA has SETTINGS in force within a second: PostgreSQL notifies the other
    replicas of a change, which they hear moments after it commits."""

    def shown() -> object:
        return replica.request("GET", "/__admin/chaos").body

    assert soon(lambda: shown() == settings), shown()


def test_the_rate_limit_counts_the_requests_of_both_replicas(
    reset: tuple[Server, Server],
) -> None:
    limit = {"rateLimit": "4/s"}
    changed = reset[0].request("PUT", "/__admin/chaos", body=limit, authorization=ADMIN)
    assert changed.status == 200
    in_force_soon(reset[1], changed.body)
    time.sleep(1.02 - time.time() % 1)  # all in one window: the start of the next second
    replies = in_parallel(6, lambda index: reset[index % 2].request("GET", CUSTOMER_306))
    assert sorted(reply.status for reply in replies) == [200, 200, 200, 200, 429, 429]
    time.sleep(1.0)
    assert reset[1].request("GET", CUSTOMER_306).status == 200


@pytest.mark.parametrize(("method", "path", "body"), ADMIN_CHANGES)
def test_without_the_admin_token_no_replica_changes_anything(
    reset: tuple[Server, Server], method: str, path: str, body: object
) -> None:
    first, second = reset
    created = register(first, "918300000007").body["createdId"]
    for authorization in (None, TILL, "Bearer not-the-token"):
        refused = second.request(method, path, body=body, authorization=authorization)
        assert refused.status == 401, (authorization, refused.body)
        assert codes(refused) == [401]
        assert "--admin-token" in refused.body["errors"][0]["message"]
    assert lookup(first, "918300000007").body["entity"] == created
    state = first.request("GET", "/__admin/state").body["customers"]
    assert BECKY["id"] not in [customer["id"] for customer in state]
    assert first.request("GET", "/__admin/requests").body["requests"]
    assert first.request("GET", "/__admin/chaos").body["faults"] == 0
    # Reads are open to anyone.
    for read in ("/__admin/health", "/__admin/state", "/__admin/seed", "/__admin/chaos"):
        assert second.request("GET", read, authorization=None).status == 200, read
    assert second.request(method, path, body=body, authorization=ADMIN).status == 200


def test_the_readme_deployment_s_admin_commands_work_as_written(
    reset: tuple[Server, Server],
) -> None:
    commands = re.findall(r"^\$ (curl .* -X .+)\n(.*)", README.read_text(), re.MULTILINE)
    assert len(commands) == 2
    for command, shown in commands:
        # Sent to a replica as written, with mock.internal's Host.
        local = command.replace(
            "curl ", f"curl --connect-to mock.internal:8080:127.0.0.1:{reset[1].port} ", 1
        )
        sent = subprocess.run(
            ["bash", "-c", local],
            env=os.environ | {"CAPKIT_ADMIN_TOKEN": ADMIN_TOKEN},
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert json.loads(sent.stdout) == json.loads(shown), command


def test_a_replica_conforms_under_capkit_fuzz(
    tmp_path: Path, postgresql_server: postgresql.Server
) -> None:
    """Every operation, fuzzed through a socket: what PostgreSQL holds and limits (bytes,
    bigints, text without NUL) turns no request into a 500 or an answer the spec refuses."""
    url = postgresql_server.create_database(f"fuzzed_{next(_databases)}")
    with running(tmp_path, "--state", url, "--auth", "till:secret") as replica:
        fuzzed = subprocess.run(
            [CAPKIT, "fuzz", f"http://127.0.0.1:{replica.port}", "--auth", "till:secret"]
            + ["--max-examples", "10", "--seed", "20241122"],
            capture_output=True,
            text=True,
            timeout=300,
        )
    assert fuzzed.returncode == 0, fuzzed.stdout[-5000:] + fuzzed.stderr
    assert fuzzed.stdout.splitlines()[-1].startswith("conforms: ")


def test_replicas_share_a_database_reached_by_tls_as_managed_databases_want(
    tmp_path: Path, postgresql_tls_server: postgresql.Server
) -> None:
    url = f"{postgresql_tls_server.create_database('tls')}?sslmode=require"
    with replicas_of(tmp_path, url, "--admin-token", ADMIN_TOKEN) as (first, second):
        created = register(first, "918400000099").body["createdId"]
        assert lookup(second, "918400000099").body["entity"] == created
        changed = first.request(
            "PUT",
            "/__admin/chaos",
            body={"faults": 1.0, "faultKinds": ["503"]},
            authorization=ADMIN,
        )
        in_force_soon(second, changed.body)  # heard through a connection of its own
        with psycopg.connect(url) as connection:
            sessions = connection.execute(
                "SELECT ssl FROM pg_stat_ssl JOIN pg_stat_activity USING (pid)"
                " WHERE datname = current_database() AND backend_type = 'client backend'"
                " AND pid <> pg_backend_pid()"
            ).fetchall()
    assert sessions and all(ssl for (ssl,) in sessions), sessions


def test_a_database_that_refuses_the_password_stops_serve_with_one_line_and_exit_2(
    postgresql_server: postgresql.Server,
) -> None:
    state = postgresql_server.url().replace(postgresql_server.password, "wrong-password")
    refused = subprocess.run(
        [CAPKIT, "serve", "--state", state, "--port", str(free_port())],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert refused.returncode == 2, refused.stderr
    [said] = [line for line in refused.stderr.splitlines() if line.startswith("Error: ")]
    assert said.startswith(
        f"Error: --state cannot be used: PostgreSQL at capkit@127.0.0.1:{postgresql_server.port}"
        "/postgres says: connection failed:"
    )
    assert said.endswith('password authentication failed for user "capkit"')
    assert "wrong-password" not in refused.stderr


def test_a_replica_stopped_under_load_has_written_the_journal_entries_of_all_it_answered(
    tmp_path: Path, postgresql_server: postgresql.Server
) -> None:
    """As in a rolling restart: a replica gathers its entries a moment before writing them,
    and writes what it gathered as it stops."""
    url = postgresql_server.create_database(f"stopped_{next(_databases)}")
    with replicas_of(tmp_path, url) as (stopped, staying), ThreadPoolExecutor() as pool:
        answered: list[int] = []

        def register_until_it_stops() -> None:
            for number in itertools.count():
                try:
                    answered.append(register(stopped, f"9183{number:08d}").status)
                except OSError:  # it stopped taking connections
                    return

        load = pool.submit(register_until_it_stops)
        assert soon(lambda: len(answered) >= 20, seconds=10)
        stopped.signal(signal.SIGTERM)
        assert stopped.process.wait(timeout=30) == 0
        load.result()
        requests = staying.request("GET", "/__admin/requests").body["requests"]
        assert set(answered) == {200}
        assert len(requests) == len(answered)


def test_a_write_acknowledged_by_a_replica_killed_at_once_is_served_by_the_other(
    tmp_path: Path, postgresql_server: postgresql.Server
) -> None:
    url = postgresql_server.create_database(f"killed_{next(_databases)}")
    with replicas_of(tmp_path, url) as (first, second):
        created = [register(first, f"9184{number:08d}").body["createdId"] for number in range(5)]
        first.kill()
        for number, customer_id in enumerate(created):
            assert lookup(second, f"9184{number:08d}").body["entity"] == customer_id


def test_a_database_restarted_under_load_answers_503_then_serves_again(
    tmp_path: Path, postgresql_server: postgresql.Server
) -> None:
    url = postgresql_server.create_database(f"restarted_{next(_databases)}")
    with replicas_of(tmp_path, url) as pair:
        outage: dict[str, float] = {}
        health: list[Reply] = []

        def client(index: int) -> list[tuple[float, float, Reply]]:
            """Lookups on one replica for 12 s: when each started, how long it took, what
            it answered."""
            answered = []
            started = time.monotonic()
            while time.monotonic() - started < 12:
                sent = time.monotonic()
                reply = lookup(pair[index % 2], "919111111111")
                answered.append((sent, time.monotonic() - sent, reply))
            return answered

        def restart() -> None:
            time.sleep(2)
            outage["stopped"] = time.monotonic()
            postgresql_server.stop()
            time.sleep(1.5)
            health.append(pair[0].request("GET", "/__admin/health"))
            time.sleep(1.5)
            postgresql_server.start()
            outage["started"] = time.monotonic()

        with ThreadPoolExecutor(9) as pool:
            restarted = pool.submit(restart)
            answered = [each for replies in pool.map(client, range(8)) for each in replies]
            restarted.result()
    statuses = {reply.status for _, _, reply in answered}
    assert statuses == {200, 503}, statuses
    assert max(took for _, took, _ in answered) < 5
    unavailable = [reply for _, _, reply in answered if reply.status == 503]
    assert {tuple(codes(reply)) for reply in unavailable} == {(503,)}
    assert all(
        "PostgreSQL at capkit@127.0.0.1" in r.body["errors"][0]["message"] for r in unavailable
    )
    # Served before the outage, and again within seconds of the database's return.
    assert any(sent < outage["stopped"] and r.status == 200 for sent, _, r in answered)
    back = [sent for sent, _, r in answered if sent > outage["started"] and r.status == 200]
    assert back and back[0] - outage["started"] < 5
    late = [(sent - back[0], r.status, r.body) for sent, _, r in answered if sent > back[0] + 1]
    assert all(status == 200 for _, status, _ in late), [each for each in late if each[1] != 200]
    [down] = health
    assert down.status == 503
    assert down.body["status"] == "unavailable"
    assert down.body["store"].startswith("PostgreSQL at capkit@127.0.0.1")


def test_a_paused_database_answers_503_within_seconds_then_serves_again(
    tmp_path: Path, postgresql_server: postgresql.Server
) -> None:
    url = postgresql_server.create_database(f"paused_{next(_databases)}")
    with replicas_of(tmp_path, url) as pair:
        assert [lookup(replica, "919111111111").status for replica in pair] == [200, 200]
        with postgresql_server.paused():
            for replica in pair:
                sent = time.monotonic()
                reply = lookup(replica, "919111111111")
                assert (reply.status, codes(reply)) == (503, [503])
                assert time.monotonic() - sent < 5
            health = pair[0].request("GET", "/__admin/health")
            assert (health.status, health.body["status"]) == (503, "unavailable")

        def both_serve() -> bool:
            return all(lookup(replica, "919111111111").status == 200 for replica in pair)

        assert soon(both_serve, seconds=10)


def test_a_database_that_takes_no_writes_is_read_only_at_health_and_reads_go_on(
    tmp_path: Path, postgresql_server: postgresql.Server
) -> None:
    name = f"read_only_{next(_databases)}"
    url = postgresql_server.create_database(name)
    with running(tmp_path, "--state", url) as replica, psycopg.connect(url) as owner:
        owner.autocommit = True
        assert replica.request("GET", "/__admin/health").status == 200
        # Sessions begin read-only from now on, as a standby's do; the replica's end.
        owner.execute(f"ALTER DATABASE {name} SET default_transaction_read_only = on")
        owner.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = %s AND pid <> pg_backend_pid()",
            [name],
        )

        def read_only() -> bool:
            return replica.request("GET", "/__admin/health").body["status"] == "read-only"

        assert soon(read_only, seconds=10)
        health = replica.request("GET", "/__admin/health")
        assert health.status == 200  # up for the reads, as every replica of the database
        assert health.body["store"].startswith("PostgreSQL at capkit@127.0.0.1")
        assert "cannot execute UPDATE in a read-only transaction" in health.body["store"]
        assert lookup(replica, "919111111111").status == 200
        owner.execute(f"ALTER DATABASE {name} RESET default_transaction_read_only")
        # The session refused at health was replaced: a new one may write.
        assert soon(
            lambda: replica.request("GET", "/__admin/health").body["status"] == "ok", seconds=10
        )


def test_a_worker_restarted_while_the_database_is_down_answers_503_then_serves_again(
    tmp_path: Path, postgresql_server: postgresql.Server
) -> None:
    url = postgresql_server.create_database(f"restarted_worker_{next(_databases)}")
    with running(tmp_path, "--state", url) as replica:
        assert lookup(replica, "919111111111").status == 200
        [worker] = WORKER_READY.findall(replica.output())
        postgresql_server.stop()
        try:
            os.kill(int(worker), signal.SIGKILL)
            assert soon(lambda: len(WORKER_READY.findall(replica.output())) == 2, seconds=15)
            reply = lookup(replica, "919111111111")
            assert (reply.status, codes(reply)) == (503, [503])
        finally:
            postgresql_server.start()
        assert soon(lambda: lookup(replica, "919111111111").status == 200, seconds=10)
        assert replica.process.poll() is None
