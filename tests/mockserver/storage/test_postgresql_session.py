"""A request's statements on a connection of the pool: where the server is slow to answer, or
the connection is held by another, the request waits aside and the worker's loop goes on."""

from __future__ import annotations

import asyncio
import time

from mockserver import interleaving
from mockserver.storage import StoreUnavailable
from mockserver.storage.postgresql.database import Database
from mockserver.storage.postgresql.session import ANSWER_SECONDS, HOLD_SECONDS, Query
from tests import postgresql
from tests.served import Ticker, loop_held_by, run

BEGIN = Query("BEGIN")
ONE = Query("SELECT 1")
#: A statement that keeps the session's one connection for a while (many times HOLD_SECONDS).
SLOW = Query("SELECT pg_sleep(0.3)")


def write(database: Database, query: Query = ONE) -> float:
    """QUERY run in a transaction, as a write is; when it was answered."""
    with database.transaction(BEGIN) as session:
        session.rows(query)
    return time.monotonic()


def test_a_write_to_a_paused_server_holds_up_no_other_request(
    database: Database, postgresql_server: postgresql.Server
) -> None:
    async def main() -> tuple[float, float, float | Exception]:
        await interleaving.answer(write, database)  # the pool's connection is open
        started = time.monotonic()
        with postgresql_server.paused():
            longest_pause, outcome = await loop_held_by(write, database)
        return longest_pause, time.monotonic() - started, outcome

    longest_pause, seconds, outcome = run(main)
    assert isinstance(outcome, StoreUnavailable)
    assert f"no answer from the server within {ANSWER_SECONDS:g} s" in str(outcome)
    assert seconds < ANSWER_SECONDS + 1
    assert longest_pause < 0.5


def test_a_request_waits_aside_for_the_connection_another_holds_through_a_slow_statement(
    database: Database,
) -> None:
    async def main() -> tuple[float, list[float | BaseException]]:
        await interleaving.answer(write, database)  # the pool's connection is open
        ticker = Ticker()
        slow = asyncio.ensure_future(interleaving.answer(write, database, SLOW))
        await asyncio.sleep(4 * HOLD_SECONDS)  # the slow one waits aside, holding it
        quick = asyncio.ensure_future(interleaving.answer(write, database))
        answered = await asyncio.gather(slow, quick, return_exceptions=True)
        return ticker.longest_pause(), answered

    longest_pause, (slow, quick) = run(main)
    assert isinstance(slow, float) and isinstance(quick, float)
    assert quick > slow  # it had the connection once the slow one let go of it
    assert longest_pause < 0.2
