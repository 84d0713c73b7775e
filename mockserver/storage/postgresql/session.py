"""Statements on a connection of the pool, straight through libpq.

psycopg's execute() adapts parameters and rows for any query in Python, which costs four times
what running a statement through libpq does (90 us of CPU against 23, measured on the bench's
2 cores): more than the rest of a lookup. The few statements of a request (BEGIN and COMMIT,
the store's and the journal's queries) therefore run through psycopg's libpq binding, each
query prepared once on each connection, its parameters and rows in PostgreSQL's binary format.
A transaction's BEGIN is sent when its first statement is (with it, for one without
parameters): a transaction that runs nothing costs nothing. (Sent in one pipeline with the
first statement, it cost more CPU than the round trip it saves.)
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import struct
import weakref
from typing import Any

import psycopg
from psycopg.pq import ExecStatus
from psycopg.pq.abc import PGresult

Row = list[bytes | None]


@dataclasses.dataclass(frozen=True)
class Query:
    """A statement with parameters ($1, $2...), prepared on each connection that runs it."""

    sql: str

    @functools.cached_property
    def name(self) -> bytes:
        return b"capkit_" + hashlib.sha1(self.sql.encode()).hexdigest()[:16].encode()


class Session:
    """CONNECTION, in autocommit, or in the transaction that BEGIN (statements) starts, once
    a statement runs."""

    def __init__(self, connection: psycopg.Connection[Any], begin: bytes = b"") -> None:
        self.connection = connection
        self._begin = begin

    @property
    def begun(self) -> bool:
        """Whether a statement has run (a transaction's BEGIN before it)."""
        return not self._begin

    def rows(self, query: Query, *parameters: bytes) -> list[Row]:
        """The rows QUERY gives for PARAMETERS (encoded by the functions below), each field in
        binary (None for NULL). Raises the psycopg.Error of a statement that fails."""
        if self._begin:
            self.run()
        pgconn = self.connection.pgconn
        prepared = _prepared.setdefault(self.connection, set())
        if query.name not in prepared:
            _checked(pgconn.prepare(query.name, query.sql.encode()))
            prepared.add(query.name)
        result = _checked(
            pgconn.exec_prepared(query.name, parameters, [1] * len(parameters), result_format=1)
        )
        fields = range(result.nfields)
        return [[result.get_value(row, field) for field in fields] for row in range(result.ntuples)]

    def run(self, *commands: bytes) -> None:
        """COMMANDS, statements without parameters, in one round trip (after BEGIN, if it is
        still to be sent). Raises the psycopg.Error of the first that fails."""
        _checked(self.connection.pgconn.exec_(b"; ".join([self._begin, *commands]).strip(b"; ")))
        self._begin = b""


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
