"""The connection to PostgreSQL: a pool per process, transactions on it, and what an outage
looks like from inside the mock.

A request must not hang on a database that is gone: connecting, waiting for a connection,
a statement and a lock each give up within seconds, and so does waiting for the answer of a
server that gives none (its processes paused, as by `docker pause`). Once the database is
known to be down, requests are refused at once (StoreUnavailable) but for one every
RETRY_SECONDS that tries it again. The pool replaces the connections the server closed, so
the mock comes back by itself when the database does.
"""

from __future__ import annotations

import functools
import logging
import os
import select
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

import psycopg
from psycopg import errors
from psycopg.conninfo import conninfo_to_dict
from psycopg.pq import Conninfo
from psycopg_pool import ConnectionPool, PoolTimeout

from mockserver import interleaving
from mockserver.storage import StoreUnavailable
from mockserver.storage.postgresql.listener import Listener
from mockserver.storage.postgresql.reads import Reads
from mockserver.storage.postgresql.session import (
    HOLD_SECONDS,
    NoAnswer,
    Query,
    Reader,
    Row,
    Session,
)

log = logging.getLogger(__name__)


def _not_a_closed_connection(record: logging.LogRecord) -> bool:
    # The pool says so, at WARNING, of each connection the mock closes and gives back: one the
    # server ended (an administrator, a proxy's idle timeout, a restart), one a statement left
    # mid-pipeline. The mock replaces it, and its own lines say when the database is down.
    return not record.getMessage().startswith("discarding closed connection")


logging.getLogger("psycopg.pool").addFilter(_not_a_closed_connection)

#: Seconds a transaction waits for a connection, and the server for a statement or a lock,
#: before the request is answered 503: well within the 5 s a client may wait.
WAIT_SECONDS = 2
#: Seconds between two tries of a database known to be down.
RETRY_SECONDS = 0.5
#: Seconds a request waits for a connection of the pool while holding its worker's loop: one
#: the pool has, not one it opens.
_AT_ONCE = 0.001
#: What each session of the mock sets: statements and locks time out; a session left in a
#: transaction by a replica that stopped answering is ended, and its locks freed. Plans use
#: the indexes: a statement is prepared once per connection, often while its tables hold a few
#: rows, when a sequential scan is the cheaper plan; PostgreSQL keeps that plan as the tables
#: grow (until autovacuum next analyzes them): from a fresh database, PostgreSQL's CPU per
#: registration grew from 760 us to 3,600 over 6,000 registrations; with this, 520-670 us.
#: The same for joins: each row is looked up in an index (a nested loop), where a merge join,
#: which a few rows price lower, reads the whole index.
#: And each statement is planned once: PostgreSQL plans a statement again on each run while the
#: plan for its parameters looks cheaper than the one for any, which the lookup of holders of
#: an array of identifiers always does (214 us of planning, against 36 to run it). And no
#: statement is compiled to machine code (JIT): none runs long enough to gain from it, and a
#: sequential scan, which the setting above prices at ten billion, made PostgreSQL load LLVM
#: and compile a read of a one-row table: 26-38 ms, the first time on each connection.
_SESSION = {
    "statement_timeout": f"{WAIT_SECONDS}s",
    "lock_timeout": f"{WAIT_SECONDS}s",
    "idle_in_transaction_session_timeout": "10s",
    "enable_seqscan": "off",
    "enable_mergejoin": "off",
    "enable_hashjoin": "off",
    "plan_cache_mode": "force_generic_plan",
    "jit": "off",
}
#: libpq's settings: a peer that stops answering is noticed in seconds, not minutes. Defaults:
#: one that the URL or libpq's environment (PGAPPNAME...) gives is used instead.
_CONNECTION: dict[str, Any] = {
    "connect_timeout": WAIT_SECONDS,
    "application_name": "capkit mock",
    "keepalives_idle": 5,
    "keepalives_interval": 2,
    "keepalives_count": 2,
    "tcp_user_timeout": WAIT_SECONDS * 1000,
}


def _arguments(url: str, session: dict[str, str]) -> dict[str, Any]:
    """psycopg.connect's arguments besides URL: autocommit, SESSION's settings, and libpq's
    that neither URL nor libpq's environment variables give. Those give options too (`-c
    name=value`): after SESSION's, they win; psycopg's arguments would replace them."""
    given = _given(url)
    options = " ".join(f"-c {name}={value}" for name, value in session.items())
    if given.get("options"):
        options = f"{options} {given['options']}"
    defaults = {name: value for name, value in _CONNECTION.items() if name not in given}
    return {"autocommit": True, "options": options, **defaults}


def _given(url: str) -> dict[str, Any]:
    """The settings of libpq that URL gives, over those its environment variables give (PGHOST,
    PGAPPNAME...), as libpq takes them. Raises psycopg.ProgrammingError for a URL that is no
    connection string."""
    from_environment = {
        option.keyword.decode(): os.environ[variable]
        for option in Conninfo.get_defaults()
        if option.envvar is not None and (variable := option.envvar.decode()) in os.environ
    }
    return {**from_environment, **conninfo_to_dict(url)}


class UrlUnusable(ValueError):
    """A URL psycopg cannot read; the message says why."""


def describe(url: str) -> str:
    """Where URL points, for messages, without its password: `capkit@db:5432/capkit`, what the
    URL leaves out as libpq's environment variables give it (PGHOST...). Raises UrlUnusable for
    a URL that is no PostgreSQL connection string."""
    try:
        parts = _given(url)
    except psycopg.ProgrammingError as error:
        raise UrlUnusable(str(error)) from None
    user = f"{parts['user']}@" if parts.get("user") else ""
    port = f":{parts['port']}" if parts.get("port") else ""
    return f"{user}{parts.get('host') or 'localhost'}{port}/{parts.get('dbname') or ''}"


def connect(url: str) -> psycopg.Connection[Any]:
    """One connection to URL, outside any pool, in autocommit. Raises psycopg.Error."""
    return psycopg.connect(url, **_arguments(url, _SESSION))


class Database:
    """The PostgreSQL at URL, through a pool of POOL_SIZE connections in each process; their
    commits wait for the disk unless SYNCHRONOUS is false."""

    def __init__(self, url: str, *, pool_size: int, synchronous: bool = True) -> None:
        self.url = url
        self.where = describe(url)
        self.pool_size = pool_size
        self._arguments = _arguments(
            url, {**_SESSION, "synchronous_commit": "on" if synchronous else "off"}
        )
        self._pool: ConnectionPool | None = None
        self._owner = 0  # the process that opened _pool
        self._inherited: list[ConnectionPool] = []
        self._lock = threading.Lock()
        self._listeners: list[Listener] = []
        self._reads: Reads | None = None
        #: Set while the database is known to be down: why, and when it is tried next.
        self._down: str | None = None
        self._next_try = 0.0

    @contextmanager
    def transaction(self, *begin: Query, durable: bool = False) -> Iterator[Session]:
        """A session in the transaction that the BEGIN statements start with its first
        statement, which commits when the block ends and rolls back if it raises; with
        DURABLE, the block ends once the commit is on disk.

        A durable transaction lets go of its locks before its commit reaches the disk: its
        commit does not wait for it (synchronous_commit off), and a commit that waits, of a
        transaction of its own right after, flushes the log up to it. Writers that take one
        lock in turn so share their disk flushes, where waiting for each flush with the lock
        held would queue them one flush at a time.

        Raises StoreUnavailable when the database cannot be reached in time, or a statement
        of the block fails for it (the connection lost, a timeout).
        """
        if durable:
            begin += (_ASYNCHRONOUS,)
        with self.session(*begin) as session:
            try:
                yield session
            except BaseException:
                session.discard()
                if session.sent and not session.connection.closed:
                    with suppress(psycopg.Error):
                        session.rows(_ROLLBACK)
                raise
            if session.begun:  # else nothing ran: nothing to commit
                session.queue(_COMMIT)
                if durable:
                    session.queue(_FLUSH)
                session.send()

    @contextmanager
    def session(self, *begin: Query) -> Iterator[Session]:
        """A session on a connection of the pool for the block, in autocommit, or in the
        transaction that the BEGIN statements start (which Session sends, and the caller ends).

        Raises StoreUnavailable when the database cannot be reached in time, or a statement
        of the block fails for it (the connection lost, a timeout).
        """
        pool = self._pool_of_this_process()
        self._admit()
        connection = self._connection(pool, time.monotonic() + WAIT_SECONDS)
        session = Session(connection, *begin)
        try:
            with self._judged(session):
                yield session
        finally:
            pool.putconn(connection)

    @contextmanager
    def reading(self) -> Iterator[Reader]:
        """A session for reads, in autocommit. In a request that may wait (one of those a
        worker answers side by side), its reads go with those of the others
        (reads.py); elsewhere, a session of the pool.

        Raises StoreUnavailable as session does.
        """
        if interleaving.current() is None:
            with self.session() as session:
                yield session
            return
        self._admit()
        reader = _Interleaved(self._reads_of_this_process())
        with self._judged(reader):
            yield reader

    @contextmanager
    def _judged(self, session: Session | _Interleaved) -> Iterator[None]:
        """The block's psycopg.Error as StoreUnavailable where it says the database cannot be
        used; the database marked up once SESSION had an answer of the server's."""
        unreachable = False
        try:
            yield
        except psycopg.Error as error:
            used = session.connection
            # A statement run straight through libpq on a lost connection raises a bare
            # DatabaseError (no SQLSTATE to class it by): the connection says it is broken.
            if isinstance(error, psycopg.OperationalError) or (used is not None and used.broken):
                unreachable = _unreachable(error, used)
                raise self._unavailable(error, used) from error
            if isinstance(error, _REFUSALS):
                # A session opened anew may be allowed: after a failover, the host's name
                # resolved again may lead to the new primary; a right granted since is in force.
                session.renew()
                raise StoreUnavailable(
                    f"PostgreSQL at {self.where} refuses: {_first_line(error)}"
                ) from error
            raise
        finally:
            # The database answered: it is up, whatever the block raised after (no customer
            # has the identifier looked up, it is taken, a lock was not had in time). Were it
            # marked up only by a block that raised nothing, the one request let through every
            # RETRY_SECONDS to try it again could keep a replica that only looked up unknown
            # customers answering 503 to all others for good.
            if session.answered and not unreachable:
                self._up()

    def own_connection(self) -> psycopg.Connection[Any]:
        """A connection outside the pool, in autocommit, set as the pool's are, for the
        caller to close. Raises StoreUnavailable."""
        self._admit()
        return self._connect()

    def _connect(self) -> psycopg.Connection[Any]:
        try:
            connection = psycopg.connect(self.url, **self._arguments)
        except psycopg.OperationalError as error:
            raise self._unavailable(error) from error
        self._up()
        return connection

    def listener(self, channel: str) -> Listener:
        """Notifications on CHANNEL to this process, until the database is closed."""
        listener = Listener(self.own_connection, channel)
        self._listeners.append(listener)
        return listener

    def close(self) -> None:
        """Close this process's connections; the next transaction opens them again."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None and self._owner == os.getpid():
            pool.close()
        for listener in self._listeners:
            listener.close()
        if self._reads is not None:
            self._reads.close()

    def _pool_of_this_process(self) -> ConnectionPool:
        """The pool of this process: one opened by a parent before it forked holds the
        parent's sockets, and is left alone (closing it would end the parent's sessions)."""
        with self._lock:
            if self._pool is not None and self._owner != os.getpid():
                self._inherited.append(self._pool)
                self._pool = None
            if self._pool is None:
                self._pool = ConnectionPool(
                    self.url,
                    min_size=self.pool_size,
                    max_size=self.pool_size,
                    kwargs=self._arguments,
                    timeout=WAIT_SECONDS,
                    # Gives up on a connection that cannot be made for this long (after a
                    # second try); the next transaction that finds the pool short asks for a
                    # new one at once. With psycopg_pool's back-off (1, 2, 4 s...) going on, a
                    # replica could answer 503 for seconds after the database is back.
                    reconnect_timeout=2 * RETRY_SECONDS,
                    name=f"capkit {self.where}",
                    open=False,
                )
                self._pool.open(wait=False)
                self._owner = os.getpid()
            return self._pool

    def _reads_of_this_process(self) -> Reads:
        if self._reads is None:
            self._reads = Reads(
                self._connect,
                functools.partial(psycopg.AsyncConnection.connect, self.url, **self._arguments),
            )
        return self._reads

    def _admit(self) -> None:
        """Refuse at once while the database is known to be down, but for one transaction
        every RETRY_SECONDS, which tries it."""
        with self._lock:
            if self._down is None:
                return
            now = time.monotonic()
            if now < self._next_try:
                raise StoreUnavailable(self._down)
            self._next_try = now + RETRY_SECONDS

    def _connection(self, pool: ConnectionPool, deadline: float) -> psycopg.Connection[Any]:
        """A connection of POOL, before DEADLINE; one the server closed since it was last
        used (as a restarted server does) is passed over. A request that may step aside takes
        one the pool has at once, else looks again every HOLD_SECONDS, aside: the pool's wait
        would hold the worker's loop, and with it the request that holds the connection aside
        (session.py) or the pool's connect to a database that is down."""
        request = interleaving.current()
        while True:
            left = deadline - time.monotonic()
            try:
                patience = max(left, _AT_ONCE) if request is None else _AT_ONCE
                connection = pool.getconn(timeout=patience)
            except PoolTimeout as error:
                if request is None or left <= _AT_ONCE:
                    raise self._unavailable(
                        PoolTimeout(f"no connection of the pool within {WAIT_SECONDS} s")
                    ) from error
                interleaving.wait_aside(request, min(HOLD_SECONDS, left))
                continue
            if not _closed_by_server(connection):
                return connection
            connection.close()
            pool.putconn(connection)  # the pool opens another in its place

    def _unavailable(
        self, error: Exception, connection: psycopg.Connection[Any] | None = None
    ) -> StoreUnavailable:
        """ERROR as StoreUnavailable; when it says the database is unreachable (no
        connection to be had, the one used is lost, or the server no longer answers on it),
        the database is marked down."""
        reason = _first_line(error)
        if _unreachable(error, connection):
            message = f"PostgreSQL at {self.where} cannot be reached: {reason}"
            with self._lock:
                if self._down is None:
                    log.error("capkit mock: %s; answering 503 until it is back", message)
                self._down = message
                self._next_try = time.monotonic() + RETRY_SECONDS
            return StoreUnavailable(message)
        if isinstance(error, _TIMEOUTS):
            return StoreUnavailable(
                f"PostgreSQL at {self.where} did not answer in time: {reason} (a statement runs"
                f" for at most {WAIT_SECONDS} s, and a write waits as long for the writes of"
                " every replica before it: one of thousands of customers or identifiers may"
                " hold the others that long)"
            )
        return StoreUnavailable(f"PostgreSQL at {self.where} failed: {reason}")

    def _up(self) -> None:
        if self._down is None:
            return
        with self._lock:
            if self._down is not None:
                log.warning("capkit mock: PostgreSQL at %s is back", self.where)
            self._down = None


def _unreachable(error: Exception, connection: psycopg.Connection[Any] | None) -> bool:
    """Whether ERROR says the database cannot be reached: no connection to be had, the one
    used lost, or the server no longer answering on it."""
    return connection is None or connection.broken or isinstance(error, NoAnswer)


def _closed_by_server(connection: psycopg.Connection[Any]) -> bool:
    """Whether the server has ended CONNECTION's session while it sat idle in the pool: it
    then said goodbye, or closed the socket, and there is something to read (a healthy idle
    session has nothing to say). Costs no round trip."""
    return bool(select.select([connection.fileno()], [], [], 0)[0])


def _first_line(error: Exception) -> str:
    """What psycopg says of ERROR, on one line (libpq's messages span several)."""
    text = " ".join(str(error).split())
    return text or type(error).__name__


#: What the database refuses whatever the mock asks, until an operator changes it: it takes no
#: writes (a standby, or a database set read-only), the mock's role lacks a right, or the
#: tables are gone (dropped under the replicas). Not a bug of the mock's (a 500), nor the
#: database down (reads may go on): a 503 that names it.
_REFUSALS = (
    errors.ReadOnlySqlTransaction,
    errors.InsufficientPrivilege,
    errors.UndefinedTable,
    errors.InvalidSchemaName,
)
#: The session's statement_timeout and lock_timeout; the other failures of the database
#: (no space left on its disk, say) say what failed.
_TIMEOUTS = (errors.QueryCanceled, errors.LockNotAvailable)
_COMMIT = Query("COMMIT")
_ROLLBACK = Query("ROLLBACK")
_ASYNCHRONOUS = Query("SET LOCAL synchronous_commit TO OFF")
#: A transaction that writes nothing but takes an id, so that its commit (synchronous, as the
#: session's are) flushes the log up to its own record, and so every commit before it. (In a
#: pipeline, a statement outside BEGIN and COMMIT is a transaction of its own.)
_FLUSH = Query("SELECT pg_current_xact_id()")


class _Interleaved:
    """A Reader whose reads go with those of the other requests (READS), as Database._judged
    takes it."""

    def __init__(self, reads: Reads) -> None:
        self._reads = reads
        #: Whether the server has answered a read (if only with an error of the read's).
        self.answered = False

    @property
    def connection(self) -> psycopg.Connection[Any] | None:
        """The connection of the reads; None once lost."""
        return self._reads.connection

    def rows(self, query: Query, *parameters: bytes) -> list[Row]:
        try:
            found = self._reads.rows(query, parameters)
        except psycopg.OperationalError:
            raise
        except psycopg.Error:
            self.answered = True
            raise
        self.answered = True
        return found

    def renew(self) -> None:
        self._reads.renew()
