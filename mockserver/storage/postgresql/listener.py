"""A connection of the process's own that LISTENs on a channel: what a replica keeps in memory
(the shared settings) is read again only once another replica has notified a change.

Whether a notification came is a look at the connection's socket, without a round trip
(4 us): asking the database on every request cost 61-77 us of the mock's CPU.
PostgreSQL sends a notification to every listening session when the transaction that made it
commits, so a change is heard on every replica within moments of its commit.
"""

from __future__ import annotations

import os
import select
from collections.abc import Callable
from typing import Any

import psycopg

from mockserver import interleaving
from mockserver.storage import StoreUnavailable
from mockserver.storage.postgresql.session import Query, Session

Connect = Callable[[], psycopg.Connection[Any]]


class Listener:
    """Notifications on CHANNEL, to this process, on a connection that CONNECT opens (raising
    StoreUnavailable); a child forked from a parent that listened opens one of its own. Not
    thread-safe: its caller locks."""

    def __init__(self, connect: Connect, channel: str) -> None:
        self.connect = connect
        self.channel = channel
        self._connection: psycopg.Connection[Any] | None = None
        self._owner = 0  # the process that opened _connection
        self._inherited: list[psycopg.Connection[Any]] = []

    def heard(self) -> bool:
        """Whether a notification came since the last call; also True when the connection is
        new (the first call, or one after the connection was lost), since one may have been
        missed. Raises StoreUnavailable while the database cannot be reached."""
        connection = self._connection
        if connection is None or self._owner != os.getpid() or connection.closed:
            self._listen()
            return True
        if not select.select([connection.fileno()], [], [], 0)[0]:
            return False
        pgconn = connection.pgconn
        try:
            # Until the socket holds nothing more: a session the server ended (a restart,
            # pg_terminate_backend) reads as its error message first, without raising, and
            # raises at the end of the stream that follows it.
            while True:
                pgconn.consume_input()
                if not select.select([connection.fileno()], [], [], 0)[0]:
                    break
        except psycopg.OperationalError:
            connection.close()
            self._listen()
            return True
        heard = False
        while pgconn.notifies() is not None:
            heard = True
        return heard

    def close(self) -> None:
        if self._connection is not None and self._owner == os.getpid():
            self._connection.close()
        self._connection = None

    def _listen(self) -> None:
        if self._connection is not None and self._owner != os.getpid():
            # The parent's session: closing it here would end it for the parent.
            self._inherited.append(self._connection)
        self._connection = None
        # In a thread: a server that takes the connection and says nothing (paused) holds it
        # for the connect's timeout, which the worker's loop would wait through.
        connection = interleaving.in_thread(self.connect)
        try:
            # As the store's statements go: within seconds, from a server paused meanwhile too.
            Session(connection).rows(Query(f"LISTEN {self.channel}"))
        except psycopg.Error as error:
            connection.close()
            raise StoreUnavailable(f"PostgreSQL did not LISTEN: {error}") from error
        self._connection, self._owner = connection, os.getpid()
