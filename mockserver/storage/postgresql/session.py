"""Statements on a connection of the pool, straight through libpq.

psycopg's execute() adapts parameters and rows for any query in Python, which costs four times
what running a statement through libpq does (90 us of CPU against 23, measured on the bench's
2 cores): more than the rest of a lookup. The few statements of a request (BEGIN and COMMIT,
the store's and the journal's queries) therefore run through psycopg's libpq binding, each
query prepared once on each connection, its parameters and rows in PostgreSQL's binary format.
A transaction's BEGIN travels with its first statement, in one round trip: a round trip to
the server costs more than the statement, on a busy machine.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import select
import struct
import weakref
from collections.abc import Sequence
from typing import Any

import psycopg
from psycopg.pq import ExecStatus
from psycopg.pq.abc import PGconn, PGresult

Row = list[bytes | None]


@dataclasses.dataclass(frozen=True)
class Query:
    """A statement with parameters ($1, $2...), prepared on each connection that runs it."""

    sql: str

    @functools.cached_property
    def name(self) -> bytes:
        return b"capkit_" + hashlib.sha1(self.sql.encode()).hexdigest()[:16].encode()


class Session:
    """CONNECTION, in autocommit, or in the transaction that the statements BEGIN start
    (sent with the first statement run, if any is)."""

    def __init__(self, connection: psycopg.Connection[Any], begin: Sequence[bytes] = ()) -> None:
        self.connection = connection
        self._begin = list(begin)

    @property
    def begun(self) -> bool:
        """Whether a statement has run (a transaction's BEGIN with it)."""
        return not self._begin

    def rows(self, query: Query, *parameters: bytes) -> list[Row]:
        """The rows QUERY gives for PARAMETERS (encoded by the functions below), each field in
        binary (None for NULL). Raises the psycopg.Error of a statement that fails."""
        pgconn = self.connection.pgconn
        prepared = _prepared.setdefault(self.connection, set())
        unprepared = query.name not in prepared
        formats = [1] * len(parameters)
        if not self._begin:
            if unprepared:
                _checked(pgconn.prepare(query.name, query.sql.encode()))
                prepared.add(query.name)
            result = pgconn.exec_prepared(query.name, parameters, formats, result_format=1)
        else:
            pgconn.enter_pipeline_mode()
            try:
                for statement in self._begin:
                    pgconn.send_query_params(statement, None)
                if unprepared:
                    pgconn.send_prepare(query.name, query.sql.encode())
                pgconn.send_query_prepared(query.name, parameters, formats, result_format=1)
                pgconn.pipeline_sync()
                results = _pipelined(pgconn, len(self._begin) + unprepared + 1)
                pgconn.exit_pipeline_mode()
            except BaseException:
                self.connection.close()  # halfway through a pipeline: of no more use
                raise
            self._begin = []
            for each in results[:-1]:
                _checked(each)
            if unprepared:
                prepared.add(query.name)
            result = results[-1]
        _checked(result)
        fields = range(result.nfields)
        return [[result.get_value(row, field) for field in fields] for row in range(result.ntuples)]

    def run(self, *commands: bytes) -> None:
        """COMMANDS, statements without parameters, in one round trip (with BEGIN, if it is
        still to be sent). Raises the psycopg.Error of the first that fails."""
        _checked(self.connection.pgconn.exec_(b"; ".join([*self._begin, *commands])))
        self._begin = []


def int8(number: int) -> bytes:
    return number.to_bytes(8, "big", signed=True)


def float8(number: float) -> bytes:
    return struct.pack(">d", number)


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


def _pipelined(pgconn: PGconn, commands: int) -> list[PGresult]:
    """The results of the COMMANDS sent in pipeline mode, once they are sent and answered,
    up to the sync that follows them."""
    while pgconn.flush():  # a connection of psycopg's does not block: send the rest
        select.select([], [pgconn.socket], [])
    results = [_result(pgconn) for _ in range(commands)]
    if _result(pgconn).status != ExecStatus.PIPELINE_SYNC:
        raise psycopg.OperationalError("the server's answers went out of step with the pipeline")
    return results


def _result(pgconn: PGconn) -> PGresult:
    """The next command's result, read up to its end. Raises OperationalError when the
    connection is lost instead."""
    # get_result() holds the GIL while it waits: wait in select(), which lets it go.
    pgconn.consume_input()
    while pgconn.is_busy():
        select.select([pgconn.socket], [], [])
        pgconn.consume_input()
    result = pgconn.get_result()
    if result is None:
        raise psycopg.OperationalError(pgconn.get_error_message() or "connection lost")
    if result.status != ExecStatus.PIPELINE_SYNC:
        end = pgconn.get_result()  # the end of this command's results, already read
        assert end is None
    return result


def _checked(result: PGresult) -> PGresult:
    if result.status not in _DONE:
        raise psycopg.errors.error_from_result(result)
    return result


_DONE = (ExecStatus.COMMAND_OK, ExecStatus.TUPLES_OK)
_OIDS = {"text": 25, "bytea": 17, "float8": 701, "json": 114}
#: The queries each connection has prepared, by the connection.
_prepared: weakref.WeakKeyDictionary[psycopg.Connection[Any], set[bytes]] = (
    weakref.WeakKeyDictionary()
)
