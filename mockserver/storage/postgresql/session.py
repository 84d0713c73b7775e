"""Statements on a connection of the pool, straight through libpq, in pipelines.

psycopg's execute() adapts parameters and rows for any query in Python, which costs four times
what running a statement through libpq does (90 us of CPU against 23, measured on the bench's
2 cores): more than the rest of a lookup. The statements of a request (BEGIN and COMMIT, the
store's and the journal's queries) therefore run through psycopg's libpq binding, each
prepared once on each connection, its parameters and rows in PostgreSQL's binary format.

A round trip to the server costs the mock more than the statements it carries: a pipeline of
BEGIN, a query and COMMIT took as much CPU as the query alone (43 us against 47), and the
three one after the other 108 us. So a statement whose rows nobody waits for (BEGIN, a write
whose failure may wait for the next statement) is queued, and goes in one pipeline with the
next statement whose rows are wanted, or with the COMMIT.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import select
import struct
import time
import weakref
from typing import Any, Protocol

import psycopg
from psycopg.pq import ConnStatus, ExecStatus
from psycopg.pq.abc import PGresult

from mockserver import interleaving

Row = list[bytes | None]

#: Seconds the mock waits for the answer of a round trip: the server's own statement_timeout
#: and lock_timeout (database.py) answer a slow statement before then.
ANSWER_SECONDS = 2.5
#: Seconds a request's wait for the server holds its worker's event loop, at most: a working
#: server answers well within it, and a request that waits longer (a paused server, a lock
#: held long) steps aside (mockserver/interleaving.py), the loop going on with the others.
#: Each wait stepped aside costs the loop more than one held: in the bench's write mix, a
#: registration's two round trips, each stepped aside, cost a request 90-140 us more of the
#: mock's CPU and 20-40 of PostgreSQL's, for fewer requests answered.
HOLD_SECONDS = 0.05


@dataclasses.dataclass(frozen=True)
class Query:
    """A statement with parameters ($1, $2...), prepared on each connection that runs it."""

    sql: str

    @functools.cached_property
    def name(self) -> bytes:
        return b"capkit_" + hashlib.sha1(self.sql.encode()).hexdigest()[:16].encode()


class Reader(Protocol):
    """What reads the rows of queries: a Session, or one whose reads go with others'."""

    def rows(self, query: Query, *parameters: bytes) -> list[Row]: ...


class Session:
    """CONNECTION, in autocommit, or in the transaction that the OPENING statements (BEGIN...)
    start, which are sent with its first statement."""

    def __init__(self, connection: psycopg.Connection[Any], *opening: Query) -> None:
        self.connection = connection
        self._queued: list[tuple[Query, tuple[bytes, ...]]] = [(query, ()) for query in opening]
        #: Whether a statement has been given (the transaction begins with the first),
        #: whether one has been sent, and whether the server has answered one (if only with
        #: an error of the statement's): it is up.
        self.begun = not opening
        self.sent = False
        self.answered = False

    def rows(self, query: Query, *parameters: bytes) -> list[Row]:
        """The rows QUERY gives for PARAMETERS (encoded by the functions below), each field in
        binary (None for NULL); the statements queued before it go in the same round trip.
        Raises the psycopg.Error of the first statement that fails."""
        (rows,) = self.rows_of((query, parameters))
        return rows

    def rows_of(self, *statements: tuple[Query, tuple[bytes, ...]]) -> list[list[Row]]:
        """The rows of each of STATEMENTS (a query and its parameters, as rows takes them),
        all in one round trip with the statements queued before them."""
        for query, parameters in statements:
            self.queue(query, *parameters)
        return [rows_in(result) for result in self.send()[-len(statements) :]]

    def queue(self, query: Query, *parameters: bytes) -> None:
        """QUERY, to be run with the next statement whose rows are asked for (or by send):
        a failure of it is raised then."""
        self._queued.append((query, parameters))
        self.begun = True

    def renew(self) -> None:
        """Close the connection: the pool opens another in its place."""
        self.connection.close()

    def discard(self) -> None:
        """Forget the queued statements: they are not to run."""
        self._queued = []

    def send(self) -> list[PGresult]:
        """Run the queued statements in one round trip; the result of each. Raises the
        psycopg.Error of the first that fails (the statements after it do not run)."""
        queued, self._queued = self._queued, []
        if not queued:
            return []
        self.sent = True
        pgconn = self.connection.pgconn
        try:
            prepared = prepared_on(self.connection)
            for query, _ in queued:
                if query.name not in prepared:
                    pgconn.send_prepare(query.name, query.sql.encode())
                    preparation = _result(pgconn)
                    self.answered = True
                    checked(preparation)
                    prepared.add(query.name)
            if len(queued) == 1:
                ((query, parameters),) = queued
                binary = [1] * len(parameters)
                pgconn.send_query_prepared(query.name, parameters, binary, result_format=1)
                results = [_result(pgconn)]
            else:
                results = _pipeline(pgconn, queued)
        except BaseException:
            # The connection may be left mid-statement, or mid-pipeline: no statement can
            # follow on it. Closed, the pool puts a new one in its place.
            self.connection.close()
            raise
        self.answered = True
        for result in results:
            checked(result)
        return results


def script(connection: psycopg.Connection[Any], sql: str) -> list[list[Row]]:
    """The rows of each statement of SQL (several, separated by semicolons, no parameters),
    fields as text, run on CONNECTION in one round trip with the deadline of the statements
    above. Raises the psycopg.Error of the first that fails (those after it do not run), and
    NoAnswer for a server that stopped answering, CONNECTION then closed."""
    try:
        connection.pgconn.send_query(sql.encode())
        results = _results(connection.pgconn)
    except BaseException:
        connection.close()  # it may be left mid-statement
        raise
    return [rows_in(checked(result)) for result in results]


class NoAnswer(psycopg.OperationalError):
    """The server gave no answer, not even its own timeout's, within ANSWER_SECONDS of being
    asked for one: it is not working (its processes stopped, its disk hung)."""


def _pipeline(pgconn: Any, statements: list[tuple[Query, tuple[bytes, ...]]]) -> list[PGresult]:
    """The result of each of STATEMENTS, prepared, sent in one pipeline; the statements after
    one that failed give PIPELINE_ABORTED. Raises psycopg.OperationalError for a connection
    lost on the way (NoAnswer for a server that stopped answering)."""
    pgconn.enter_pipeline_mode()
    for query, parameters in statements:
        pgconn.send_query_prepared(query.name, parameters, [1] * len(parameters), result_format=1)
    pgconn.pipeline_sync()
    results: list[PGresult] = []
    while True:
        _wait(pgconn)
        result = pgconn.get_result()
        if result is None:  # the end of one statement's results
            continue
        if result.status == ExecStatus.PIPELINE_SYNC:
            break
        results.append(result)
    pgconn.exit_pipeline_mode()
    return results


def _result(pgconn: Any) -> PGresult:
    """The result of the one statement sent (not in a pipeline)."""
    (result,) = _results(pgconn)
    return result


def _results(pgconn: Any) -> list[PGresult]:
    """The result of each statement of what was sent (not in a pipeline), up to libpq's end
    of them."""
    results: list[PGresult] = []
    while True:
        _wait(pgconn)
        result: PGresult | None = pgconn.get_result()
        if result is None:
            return results
        results.append(result)


def _wait(pgconn: Any) -> None:
    """Until PGCONN has a result to give; NoAnswer after ANSWER_SECONDS. libpq's own wait lasts
    as long as the server takes: forever for a server whose processes are stopped while its
    host takes the data for them (a paused container); in get_result, it holds the GIL, and
    every other thread of the process, all along. Each result of a pipeline has the time of
    its own: a long pipeline is no answer only where the server stopped."""
    deadline = time.monotonic() + ANSWER_SECONDS
    # psycopg's connections do not block: what the socket did not take at once (a statement of
    # thousands of identifiers, hundreds of KB) waits in libpq until flushed, while the server
    # reads and answers what it has.
    while (sending := pgconn.flush()) or pgconn.is_busy():
        left = deadline - time.monotonic()
        readable, writable = _ready(pgconn.socket, sending, left) if left > 0 else (False, False)
        if not readable and not writable:
            raise NoAnswer(f"no answer from the server within {ANSWER_SECONDS:g} s")
        if readable:
            pgconn.consume_input()  # raises OperationalError once the connection is lost
            if pgconn.status == ConnStatus.BAD:
                raise psycopg.OperationalError("the connection to the server was lost")


def _ready(socket: int, sending: bool, seconds: float) -> tuple[bool, bool]:
    """Whether SOCKET can be read, and written if SENDING, within SECONDS; a request that may
    step aside waits past HOLD_SECONDS aside."""
    request = interleaving.current()
    held = seconds if request is None else min(seconds, HOLD_SECONDS)
    ready = _selected(socket, sending, held)
    if request is not None and held < seconds and not any(ready):
        written = socket if sending else None
        interleaving.wait_aside(request, seconds - held, readable=socket, writable=written)
        ready = _selected(socket, sending, 0)
    return ready


def _selected(socket: int, sending: bool, seconds: float) -> tuple[bool, bool]:
    readable, writable, _ = select.select([socket], [socket] if sending else [], [], seconds)
    return bool(readable), bool(writable)


def utf8(text: str) -> bytes:
    """TEXT as the bytes of a text or bytea field (a lone surrogate kept as it came)."""
    return text.encode("utf-8", "surrogatepass")


def int8(number: int) -> bytes:
    return number.to_bytes(8, "big", signed=True)


def integer(field: bytes | None) -> int:
    """A bigint field as an int."""
    assert field is not None
    return int.from_bytes(field, "big", signed=True)


def array(items: list[bytes], *, of: str) -> bytes:
    """ITEMS, each already binary, as a one-dimensional array of the type OF (of _OIDS)."""
    oid = _OIDS[of]
    if not items:
        return struct.pack(">iii", 0, 0, oid)
    header = struct.pack(">iiiii", 1, 0, oid, len(items), 1)
    return header + b"".join(struct.pack(">i", len(item)) + item for item in items)


def prepared_on(connection: psycopg.Connection[Any]) -> set[bytes]:
    """The names of the queries prepared on CONNECTION."""
    return _prepared.setdefault(connection, set())


def rows_in(result: PGresult) -> list[Row]:
    fields = range(result.nfields)
    return [[result.get_value(row, field) for field in fields] for row in range(result.ntuples)]


def checked(result: PGresult) -> PGresult:
    if result.status not in _DONE:
        raise psycopg.errors.error_from_result(result)
    return result


_DONE = (ExecStatus.COMMAND_OK, ExecStatus.TUPLES_OK)
_OIDS = {"text": 25, "bytea": 17, "int8": 20, "json": 114}
#: The queries each connection has prepared, by the connection.
_prepared: weakref.WeakKeyDictionary[psycopg.Connection[Any], set[bytes]] = (
    weakref.WeakKeyDictionary()
)
