"""The reads of the requests a worker answers side by side, sent to PostgreSQL together.

A round trip costs the mock and the server more than the statement it carries: each wakes for
it, and the server ends each transaction. Requests run side by side (mockserver/interleaving.py)
queue their reads here and step aside. The reads queued meanwhile go to the server in one
pipeline on a connection of their own: one write, one sync at its end (one transaction, in
which each read sees what was committed before it began, as in autocommit). The event loop
goes on while the server answers; the reads asked for while a pipeline is out queue up for the
next one. A read that fails fails alone: those after it in its pipeline, which the server
skipped, go again in the next.

The server sends a pipeline's answers together, at its end: a message and a wakeup of the
worker's for the pipeline, not one for each read. (Each answered as soon as it was ready cost,
in the bench's read mix, 35 us of the mock's CPU and 13 of PostgreSQL's a request, out of about
850, measured in alternating seconds of one run.) Several slow reads in one pipeline, each
within the server's statement_timeout, may then keep it silent past ANSWER_SECONDS: the server
is asked on a connection of the mock's own whether it is still running the pipeline, and only
a server that does not say so within ASK_SECONDS is taken for down.

Measured with the bench's read mix on its 2 cores (two replicas of one worker, 5 connections
each): 4 reads a pipeline, PostgreSQL's CPU per request 49-78 us against 90-119 with a round
trip per read (bench/RESULTS.md has the requests/s).
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import os
import time
from collections.abc import Awaitable, Callable
from typing import Any

import psycopg
from psycopg import errors
from psycopg.pq import ConnStatus, ExecStatus
from psycopg.pq.abc import PGresult

from mockserver import interleaving
from mockserver.storage.postgresql.session import (
    ANSWER_SECONDS,
    NoAnswer,
    Query,
    Row,
    checked,
    prepared_on,
    rows_in,
)


@dataclasses.dataclass
class _Read:
    query: Query
    parameters: tuple[bytes, ...]
    request: interleaving.Request
    #: Whether the query is prepared in the read's pipeline, before it.
    preparing: bool = False
    #: The result of the read's query, or the first that failed of its statements.
    result: PGresult | None = None
    #: Its statements whose results have all come.
    ended: int = 0
    #: Sent again once, on a session opened anew, after the one it was sent on was lost.
    again: bool = False

    def unsent(self) -> None:
        """Forget what a pipeline that did not run it said: it is to be sent again."""
        self.preparing, self.result, self.ended = False, None, 0


#: How long a server silent past ANSWER_SECONDS has to say, on a connection of its own, that it
#: is still running the pipeline out: a server that answers at all does in milliseconds.
ASK_SECONDS = 1.0
#: What the server runs for the session of the process $1: "active" while it runs a pipeline,
#: "idle" once it has sent the answers (or none, for a session that has ended).
_STATE = "SELECT state FROM pg_stat_activity WHERE pid = %s"
#: The end of a pipeline, in Reads._sent.
_SYNC = None
#: What the server says as it ends the session a read ran in (an administrator's
#: pg_terminate_backend, the server stopping): not the read's failure.
_SESSION_ENDED = (errors.AdminShutdown, errors.CrashShutdown)


class Reads:
    """Reads sent in pipelines on a connection that CONNECT opens (again, once lost), from
    the event loop of the requests that ask for them; CONNECT_APART opens one, closed once
    used, to ask the server whether it is still running a pipeline that has not answered."""

    def __init__(
        self,
        connect: Callable[[], psycopg.Connection[Any]],
        connect_apart: Callable[[], Awaitable[psycopg.AsyncConnection[Any]]],
    ) -> None:
        self._connect = connect
        self._connect_apart = connect_apart
        self._connection: psycopg.Connection[Any] | None = None
        self._socket = -1  # _connection's
        self._owner = 0  # the process that opened _connection
        self._loop: asyncio.AbstractEventLoop | None = None
        #: Asked for, not sent; sent, their results to come in this order.
        self._queued: list[_Read] = []
        self._sent: collections.deque[_Read | None] = collections.deque()
        #: When the server last answered, or was first waited for since.
        self._heard = 0.0
        self._watching: asyncio.TimerHandle | None = None
        self._asking: asyncio.Task[None] | None = None  # whether the server is still running
        self._opening: asyncio.Future[psycopg.Connection[Any]] | None = None
        self._writing = False  # waiting for the socket to take the rest of a pipeline
        self._renewing = False  # the next pipeline goes on a connection opened anew

    @property
    def connection(self) -> psycopg.Connection[Any] | None:
        return self._connection

    def rows(self, query: Query, parameters: tuple[bytes, ...]) -> list[Row]:
        """The rows of QUERY for PARAMETERS; the request asking (interleaving.current()) is
        suspended until the server has answered. Raises the psycopg.Error of the read (NoAnswer
        or OperationalError for the connection lost, with the reads sent on it), or
        StoreUnavailable when no connection could be had."""
        request = interleaving.current()
        assert request is not None, "a read outside a request run by interleaving.answer"
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            self._start(loop)
        if not self._queued and not self._sent:
            # Not at once: the requests ready now, and those the loop reads next, ask first.
            loop.call_soon(loop.call_soon, self._send)
        self._queued.append(_Read(query, parameters, request))
        found: list[Row] = request.suspend()
        return found

    def renew(self) -> None:
        """Send the next pipeline on a session opened anew (the reads sent meanwhile are
        answered on this one)."""
        self._renewing = True

    def close(self) -> None:
        """Close this process's connection; the reads asked for fail. From the event loop's
        thread, or once the loop has stopped."""
        self._lost(psycopg.OperationalError("the connection was closed"))

    def _send(self) -> None:
        """The reads queued, in one pipeline."""
        queued, self._queued = self._queued, []
        if not queued:
            return
        if self._renewing and not self._sent:
            self._renewing = False
            self._lost(psycopg.OperationalError("closed to open another"))  # none waits
        connection = self._connection
        if connection is None or self._owner != os.getpid():
            self._queued[:0] = queued  # sent once a connection is open
            self._open()
            return
        pgconn = connection.pgconn
        prepared = prepared_on(connection)
        # Queries prepared by pipelines out already, if not yet answered.
        preparing = {read.query.name for read in self._sent if read and read.preparing}
        try:
            for read in queued:
                name = read.query.name
                if name not in prepared and name not in preparing:
                    pgconn.send_prepare(name, read.query.sql.encode())
                    read.preparing = True
                    preparing.add(name)
                binary = [1] * len(read.parameters)
                pgconn.send_query_prepared(name, read.parameters, binary, result_format=1)
            pgconn.pipeline_sync()
            self._heard = time.monotonic()
            self._sent.extend(queued)
            self._sent.append(_SYNC)
            self._flush()
        except psycopg.Error as error:
            self._sent.extend(queued)
            self._lost(error, again=True)
            return
        if self._watching is None:
            self._watching = self._event_loop().call_later(ANSWER_SECONDS, self._watch)

    def _flush(self) -> None:
        """Send what libpq holds; what the socket does not take now goes once it may."""
        assert self._connection is not None
        writing = bool(self._connection.pgconn.flush())
        if writing and not self._writing:
            self._event_loop().add_writer(self._socket, self._writable)
        elif self._writing and not writing:
            self._event_loop().remove_writer(self._socket)
        self._writing = writing

    def _writable(self) -> None:
        try:
            self._flush()
        except psycopg.Error as error:
            self._lost(error, again=True)

    def _readable(self) -> None:
        connection = self._connection
        if connection is None:
            return
        pgconn = connection.pgconn
        try:
            pgconn.consume_input()  # raises OperationalError once the connection is lost
            if pgconn.status == ConnStatus.BAD:
                raise psycopg.OperationalError("the connection to the server was lost")
            while self._sent and not pgconn.is_busy():
                self._heard = time.monotonic()
                self._answered(pgconn.get_result(), connection)
        except psycopg.Error as error:
            self._lost(error, again=True)
        if not self._sent:
            self._send()  # what was asked for meanwhile

    def _answered(self, result: PGresult | None, connection: psycopg.Connection[Any]) -> None:
        """RESULT (None: the end of a statement's), the next of the first read or sync sent."""
        read = self._sent[0]
        if read is _SYNC:
            assert result is not None and result.status == ExecStatus.PIPELINE_SYNC
            self._sent.popleft()
            return
        if result is not None:
            if read.preparing and read.ended == 0 and _succeeded(result):
                # Prepared, whether or not its query then succeeds.
                prepared_on(connection).add(read.query.name)
            if read.result is None or _succeeded(read.result):
                read.result = result  # the statements after one that failed are skipped
            return
        read.ended += 1
        if read.ended < (2 if read.preparing else 1):
            return
        outcome = read.result
        failure: psycopg.Error | None = None
        if not _succeeded(outcome) and outcome is not None:
            if outcome.status != ExecStatus.PIPELINE_ABORTED:
                try:
                    checked(outcome)
                except psycopg.Error as error:
                    failure = error
            if isinstance(failure, _SESSION_ENDED):
                raise failure  # the read is sent again, with the others: _readable
        self._sent.popleft()
        if _succeeded(outcome):
            assert outcome is not None
            _settle(read, rows_in(outcome))
        elif failure is None:
            # Skipped after another read failed: asked again with the next pipeline.
            read.unsent()
            self._queued.append(read)
        else:
            _settle(read, failure)

    def _watch(self) -> None:
        """After ANSWER_SECONDS without a result, ask whether the server is still running the
        pipeline out."""
        self._watching = None
        if not self._sent:
            return
        left = self._heard + ANSWER_SECONDS - time.monotonic()
        if left > 0:
            self._watching = self._event_loop().call_later(left, self._watch)
            return
        assert self._connection is not None
        self._asking = self._event_loop().create_task(self._ask(self._connection))

    async def _ask(self, connection: psycopg.Connection[Any]) -> None:
        """NoAnswer for the reads sent on CONNECTION, unless the server says within
        ASK_SECONDS that it is still running their pipeline: then they wait on."""
        asked = time.monotonic()
        running: bool | None  # None: no answer
        try:
            running = await asyncio.wait_for(
                self._running(connection.pgconn.backend_pid), ASK_SECONDS
            )
        except (OSError, psycopg.Error, TimeoutError):
            running = None
        self._asking = None
        if connection is not self._connection or self._heard > asked:
            return  # lost meanwhile, or answered (a pipeline sent since has its own watch)
        if running:
            self._heard = time.monotonic()
            self._watching = self._event_loop().call_later(ANSWER_SECONDS, self._watch)
            return
        silent = f"no answer from the server within {ANSWER_SECONDS:g} s"
        self._lost(
            NoAnswer(
                f"{silent}, nor on a connection of its own within {ASK_SECONDS:g} s"
                if running is None
                else f"{silent}, which runs no statement of the session's"
            )
        )

    async def _running(self, backend: int) -> bool:
        """Whether the server is running statements of its process BACKEND's session."""
        async with await self._connect_apart() as connection:
            cursor = await connection.execute(_STATE, [backend])
            found = await cursor.fetchone()
        return found is not None and found[0] not in (None, "idle")

    def _lost(self, error: Exception, *, again: bool = False) -> None:
        """The connection closed (it may be mid-pipeline: no statement can follow on it); each
        read asked for raises ERROR (the database it could not reach is marked down), but with
        AGAIN, a read not sent again yet is sent again, on a session opened anew: a session
        ended by the server (an administrator's pg_terminate_backend, a proxy's idle timeout)
        costs its reads nothing where PostgreSQL is up. A server that gives no answer is not
        asked again: the client has waited for it already."""
        waiting = [read for read in self._sent if read is not _SYNC] + self._queued
        self._forget()
        if again:
            for read in waiting:
                read.unsent()
            self._queued = [read for read in waiting if not read.again]
            waiting = [read for read in waiting if read.again]
            for read in self._queued:
                read.again = True
            if self._queued:
                self._event_loop().call_soon(self._send)
        for read in waiting:
            _settle(read, error)

    def _open(self) -> None:
        """Open the connection of this process, in a thread: a server that takes the
        connection and says nothing (paused) holds it for CONNECT's timeout, which the loop
        would wait through, with every request of the worker."""
        if self._opening is None:
            self._opening = self._event_loop().run_in_executor(None, self._connect)
            self._opening.add_done_callback(self._opened)

    def _opened(self, opening: asyncio.Future[psycopg.Connection[Any]]) -> None:
        """The connection OPENING opened, in pipeline mode, watched by the event loop, and the
        reads queued sent on it; if it could not be had, each raises why (StoreUnavailable)."""
        failure = opening.exception()
        if opening is not self._opening:  # forgotten meanwhile (_forget)
            if failure is None:
                opening.result().close()
            return
        self._opening = None
        if failure is not None:
            queued, self._queued = self._queued, []
            for read in queued:
                _settle(read, failure)
            return
        connection = opening.result()
        connection.pgconn.enter_pipeline_mode()
        self._connection, self._owner = connection, os.getpid()
        self._socket, self._writing = connection.pgconn.socket, False
        self._event_loop().add_reader(self._socket, self._readable)
        self._send()

    def _start(self, loop: asyncio.AbstractEventLoop) -> None:
        """Read in LOOP from now on. A process's one worker runs one loop; a program that runs
        another after the first has stopped (as tests do) leaves what the first had asked for,
        whose requests are gone with it."""
        self._forget()
        self._loop = loop

    def _forget(self) -> None:
        """Close the connection, unwatched, and forget the reads asked for on it."""
        connection, self._connection = self._connection, None
        self._sent, self._queued = collections.deque(), []
        if self._watching is not None:
            self._watching.cancel()
            self._watching = None
        if self._asking is not None:
            self._asking.cancel()
            self._asking = None
        self._opening = None  # what it opens is closed once opened: _opened
        if connection is not None and self._owner == os.getpid():
            if self._loop is not None and not self._loop.is_closed():
                self._loop.remove_reader(self._socket)
                self._loop.remove_writer(self._socket)
            connection.close()
        self._writing = False

    def _event_loop(self) -> asyncio.AbstractEventLoop:
        assert self._loop is not None, "reads started in a loop (_start)"
        return self._loop


def _succeeded(result: PGresult | None) -> bool:
    return result is not None and result.status in (ExecStatus.COMMAND_OK, ExecStatus.TUPLES_OK)


def _settle(read: _Read, outcome: list[Row] | BaseException) -> None:
    """Go on with READ's request, OUTCOME returned or raised where it asked for the rows."""
    if isinstance(outcome, BaseException):
        read.request.fail(outcome)
    else:
        read.request.resume(outcome)
