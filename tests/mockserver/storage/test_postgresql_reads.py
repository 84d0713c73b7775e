"""The reads of requests answered side by side (mockserver/storage/postgresql/reads.py): they go
to PostgreSQL together, each answered as it would be alone, and an outage fails them in
seconds as it fails a read of the pool's."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Callable
from typing import TypeVar

import psycopg

from mockserver import interleaving
from mockserver.storage import StoreUnavailable
from mockserver.storage.postgresql.database import RETRY_SECONDS, Database
from mockserver.storage.postgresql.reads import ASK_SECONDS
from mockserver.storage.postgresql.session import ANSWER_SECONDS, Query, Row, int8
from tests import postgresql
from tests.served import loop_held_by, run

T = TypeVar("T")
#: When the transaction that runs it began: the same for the reads of one transaction.
BEGAN = Query("SELECT now()::text")
DIVIDED = Query("SELECT (1 / $1::int8)::text")
DIVIDED_BY_ONE = Query("SELECT (1 / 1)::text")


def read(database: Database, query: Query, *parameters: bytes) -> str:
    """The one field QUERY reads, as text: what a request reads."""
    with database.reading() as reader:
        rows: list[Row] = reader.rows(query, *parameters)
    (field,) = rows[0]
    assert field is not None
    return field.decode()


def read_or_refusal(database: Database, query: Query) -> str | StoreUnavailable:
    """What `read` gives, or the StoreUnavailable it raises."""
    try:
        return read(database, query)
    except StoreUnavailable as error:
        return error


async def side_by_side(*reads: Callable[[], T]) -> list[T | BaseException]:
    """What each of READS returns or raises, each run as a request, all started at once."""
    answers = [interleaving.answer(each) for each in reads]
    return await asyncio.gather(*answers, return_exceptions=True)


def test_the_reads_of_requests_side_by_side_run_in_one_transaction(database: Database) -> None:
    async def main() -> list[str | BaseException]:
        return await side_by_side(*[lambda: read(database, BEGAN)] * 6)

    began = run(main)
    assert len(set(began)) == 1, began
    alone = run(main)  # another pipeline, another transaction
    assert alone != began


def test_a_read_that_fails_fails_alone_and_those_after_it_are_answered(
    database: Database,
) -> None:
    async def main() -> list[str | BaseException]:
        return await side_by_side(
            lambda: read(database, DIVIDED, int8(1)),
            lambda: read(database, DIVIDED, int8(0)),
            lambda: read(database, DIVIDED, int8(-1)),
            lambda: read(database, DIVIDED, int8(1)),
        )

    first, failed, *after = run(main)
    assert first == "1"
    assert isinstance(failed, psycopg.errors.DivisionByZero)
    assert after == ["-1", "1"]


def test_slow_reads_in_one_pipeline_are_no_outage(database: Database) -> None:
    """Each within the server's statement_timeout, together past the time the mock gives a
    server to answer: the server says it is running them, and the reads wait for it."""
    slow = Query("SELECT 'slept' FROM pg_sleep(1.2)")

    async def main() -> list[tuple[str | BaseException, float]]:
        await interleaving.answer(lambda: read(database, BEGAN))  # the reads' connection is open
        started = time.monotonic()

        def timed(query: Query) -> tuple[str | BaseException, float]:
            return read_or_refusal(database, query), time.monotonic() - started

        queries = [DIVIDED_BY_ONE, slow, slow, slow]
        return await asyncio.gather(*(interleaving.answer(timed, query) for query in queries))

    answers = run(main)
    assert [found for found, _ in answers] == ["1", "slept", "slept", "slept"]
    assert answers[-1][1] > ANSWER_SECONDS


def test_a_query_whose_first_read_fails_is_read_after(database: Database) -> None:
    """Its preparation, in the pipeline of the read that failed, holds."""

    async def main() -> list[str | BaseException]:
        (failed,) = await side_by_side(lambda: read(database, DIVIDED, int8(0)))
        return [failed, *await side_by_side(lambda: read(database, DIVIDED, int8(2)))]

    failed, after = run(main)
    assert isinstance(failed, psycopg.errors.DivisionByZero)
    assert after == "0"


def test_reads_out_when_the_server_ends_their_session_are_answered_on_another(
    database: Database, postgresql_server: postgresql.Server
) -> None:
    """As an administrator's pg_terminate_backend, or a proxy's idle timeout, ends it."""
    slow = Query("SELECT 'slept' FROM pg_sleep(0.3)")

    def terminate(pid: int) -> None:
        with psycopg.connect(postgresql_server.url(), autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", [pid])

    async def main() -> tuple[int, list[str | BaseException], int]:
        ended = await interleaving.answer(lambda: backend(database))
        reads = asyncio.gather(
            *(interleaving.answer(lambda: read(database, slow)) for _ in range(3)),
            return_exceptions=True,
        )
        await asyncio.sleep(0.1)  # the reads are out
        await asyncio.to_thread(terminate, ended)
        return ended, await reads, await interleaving.answer(lambda: backend(database))

    ended, reads, now = run(main)
    assert reads == ["slept"] * 3
    assert now != ended


def backend(database: Database) -> int:
    """The process of the server that a request's reads run in."""
    with database.reading() as reader:
        ((pid,),) = reader.rows(Query("SELECT pg_backend_pid()::text"))
    assert pid is not None
    return int(pid.decode())


def test_reads_of_a_server_that_stops_answering_fail_in_seconds_and_come_back(
    database: Database, postgresql_server: postgresql.Server
) -> None:
    async def main() -> list[tuple[float, str | BaseException]]:
        await interleaving.answer(lambda: read(database, BEGAN))  # the reads' connection is open
        started = time.monotonic()

        def timed() -> tuple[float, str | BaseException]:
            found = read_or_refusal(database, BEGAN)
            return time.monotonic() - started, found

        with postgresql_server.paused():
            answers = [asyncio.ensure_future(interleaving.answer(timed)) for _ in range(3)]
            await asyncio.sleep(0.1)  # these two are asked for while the first pipeline is out
            answers += [asyncio.ensure_future(interleaving.answer(timed)) for _ in range(2)]
            return await asyncio.gather(*answers)

    outcomes = run(main)
    for seconds, outcome in outcomes:
        assert seconds < ANSWER_SECONDS + ASK_SECONDS + 1
        assert isinstance(outcome, StoreUnavailable)
        assert str(outcome).startswith("PostgreSQL at ")
        assert "cannot be reached" in str(outcome)
        assert "nor on a connection of its own" in str(outcome)

    async def again() -> str:
        return await interleaving.answer(lambda: read(database, DIVIDED, int8(1)))

    deadline = time.monotonic() + 15
    while True:
        try:
            assert run(again) == "1"
            break
        except StoreUnavailable:
            assert time.monotonic() < deadline, "the reads did not come back"
            time.sleep(RETRY_SECONDS)


def test_opening_the_reads_connection_to_a_paused_server_holds_up_no_other_request(
    database: Database, postgresql_server: postgresql.Server
) -> None:
    """The server takes the connection and says nothing until the connect times out, as
    `docker pause` leaves a database: the worker's loop goes on meanwhile."""

    async def main() -> tuple[float, str | Exception]:
        with postgresql_server.paused():
            return await loop_held_by(read, database, BEGAN)

    longest_pause, outcome = run(main)
    assert isinstance(outcome, StoreUnavailable)
    assert "cannot be reached" in str(outcome)
    assert longest_pause < 0.5


def test_reads_of_a_session_the_server_does_not_run_fail_in_seconds_and_come_back(
    database: Database,
) -> None:
    """The server answers on another connection that it is not running their pipeline (its
    process stopped, as a process hung alone would be): the reads are not waited for on."""

    async def main() -> tuple[float, str | BaseException]:
        stopped = await interleaving.answer(lambda: backend(database))
        os.kill(stopped, signal.SIGSTOP)
        try:
            started = time.monotonic()
            answer = interleaving.answer(read_or_refusal, database, BEGAN)
            try:
                # Bounded: were they waited for on, the process would never answer them.
                found: str | BaseException = await asyncio.wait_for(answer, ANSWER_SECONDS + 5)
            except TimeoutError as error:
                found = error
            return time.monotonic() - started, found
        finally:
            os.kill(stopped, signal.SIGCONT)

    seconds, outcome = run(main)
    assert isinstance(outcome, StoreUnavailable)
    assert "which runs no statement of the session's" in str(outcome)
    assert seconds < ANSWER_SECONDS + 1

    time.sleep(RETRY_SECONDS)
    assert run(lambda: interleaving.answer(lambda: read(database, DIVIDED, int8(1)))) == "1"


def test_a_session_the_server_ends_while_idle_is_replaced_without_a_failure(
    database: Database, postgresql_server: postgresql.Server
) -> None:
    async def main() -> tuple[int, int, list[str | BaseException]]:
        ended = await interleaving.answer(lambda: backend(database))
        with psycopg.connect(postgresql_server.url(), autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", [ended])
        await asyncio.sleep(0.2)  # the worker's loop hears of it, as it does between requests
        reads = await side_by_side(*[lambda: read(database, DIVIDED, int8(1))] * 3)
        return ended, await interleaving.answer(lambda: backend(database)), reads

    ended, now, reads = run(main)
    assert reads == ["1", "1", "1"]
    assert now != ended
