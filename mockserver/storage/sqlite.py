"""The embedded store: one SQLite file that every worker process shares.

WAL lets readers run beside the one writer; `BEGIN IMMEDIATE` serialises writers across
processes, and synchronous=FULL makes a committed write survive a crash of the process
(and of the machine). The identifiers table's primary key is what keeps an identifier to
one holder per source and account, whichever worker registers it first.

Counts are no record a client was promised: they commit without waiting for the disk
(synchronous=NORMAL), which costs a hundredth of a synchronous commit. Shared settings are
read again only once their version has changed: a number in a small file beside the state
that every process maps into its memory, so that asking on every request reads memory (a
query of SQLite, even `PRAGMA data_version`, took as long as a tenth of a request).
"""

from __future__ import annotations

import fcntl
import mmap
import os
import sqlite3
import sys
import threading
import weakref
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import msgspec

from mockserver.domain.records import RESPELT_TYPES, Blob, Customer, Identifier
from mockserver.storage import (
    FIRST_NEW_ID,
    Found,
    Holding,
    IdentifierTaken,
    StateUnusable,
    StoreUnavailable,
    canonical_customer,
    respelt,
    search_key,
    search_terms,
)

#: How long a statement waits for another process's lock on the file.
_BUSY_SECONDS = 30

_SCHEMA = """
CREATE TABLE IF NOT EXISTS customers (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id INTEGER NOT NULL UNIQUE,
    doc BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS identifiers (
    source TEXT NOT NULL,
    account_id TEXT NOT NULL,
    type TEXT NOT NULL,
    value TEXT NOT NULL,
    customer_id INTEGER NOT NULL,
    PRIMARY KEY (source, account_id, type, value)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS identifiers_by_value ON identifiers (type, value);
CREATE INDEX IF NOT EXISTS identifiers_by_customer ON identifiers (customer_id);
CREATE TABLE IF NOT EXISTS search_terms (
    term TEXT NOT NULL,
    customer_id INTEGER NOT NULL,
    source TEXT NOT NULL,
    account_id TEXT NOT NULL,
    PRIMARY KEY (term, customer_id, source, account_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS search_terms_by_customer ON search_terms (customer_id);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS counts (
    key TEXT PRIMARY KEY,
    period INTEGER NOT NULL,
    value INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS shared_settings (id INTEGER PRIMARY KEY CHECK (id = 1), doc BLOB);
"""

#: The version of the tables above, which a file keeps as its user_version: 1 keeps the source
#: and account of each search term (0, those of a capkit before it, no version); 2 holds each
#: identifier in its canonical form (Identifier.canonical), where 1 kept it as sent.
_VERSION = 2
_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder(Customer).decode
_decode_settings = msgspec.json.Decoder(dict[str, Any]).decode
_COUNT = (
    "INSERT INTO counts (key, period, value) VALUES (?, ?, 1) ON CONFLICT (key) DO UPDATE"
    " SET value = CASE WHEN period = excluded.period THEN value + 1 ELSE 1 END,"
    " period = excluded.period RETURNING value"
)


class SqliteStore:
    """A Store in the SQLite file at PATH, created if missing; one connection per thread."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()
        # Writers queue here, threads and processes alike, and a waiter wakes the moment the
        # lock is free: SQLite's own busy handler sleeps up to 100 ms between its tries,
        # which gave concurrent registrations a p99 of 200 ms.
        self._threads = threading.Lock()
        self._lock_file = os.open(f"{path}-writer.lock", os.O_RDWR | os.O_CREAT, 0o644)
        weakref.finalize(self, os.close, self._lock_file)
        self._settings_version = _mapped_counter(Path(f"{path}-settings.version"))
        connection = self._connection()
        with self._writing(connection):
            (version,) = connection.execute("PRAGMA user_version").fetchone()
            if version > _VERSION:
                raise StateUnusable(
                    f"holds capkit's SQLite state version {version}, newer than the version"
                    f" {_VERSION} that this capkit knows: upgrade capkit, or use another file"
                )
            if version < 1:  # search terms of no source, made by a capkit before version 1
                connection.execute("DROP TABLE IF EXISTS search_terms")
            # One statement at a time: executescript() would commit the transaction first.
            for statement in _SCHEMA.split(";"):
                connection.execute(statement)
            transaction = _Writing(connection)
            if version < 1:
                for customer in transaction.customers():
                    transaction.index_search_terms(customer)
            if version < 2:
                transaction.respell_identifiers()
            connection.execute(f"PRAGMA user_version = {_VERSION}")
            connection.execute(
                "INSERT OR IGNORE INTO counters (name, value) VALUES ('next_id', ?)",
                (FIRST_NEW_ID,),
            )

    @contextmanager
    def read(self) -> Iterator[_Reading]:
        connection = self._connection()
        connection.execute("BEGIN")
        try:
            yield _Reading(connection)
        finally:
            connection.execute("COMMIT")

    @contextmanager
    def write(self) -> Iterator[_Writing]:
        connection = self._connection()
        with self._writing(connection):
            yield _Writing(connection)

    def reset(self, customers: Iterable[Customer]) -> None:
        connection = self._connection()
        with self._writing(connection):
            for table in ("customers", "identifiers", "search_terms", "counts"):
                connection.execute(f"DELETE FROM {table}")  # noqa: S608 (a fixed table name)
            connection.execute(
                "UPDATE counters SET value = ? WHERE name = 'next_id'", (FIRST_NEW_ID,)
            )
            _Writing(connection).save_all(list(customers))

    def shared_settings(self) -> Blob | None:
        local = self._local
        version = self._settings_version[0]
        if version != getattr(local, "settings_version", None):
            row = self._connection().execute("SELECT doc FROM shared_settings").fetchone()
            local.settings = _decode_settings(row[0]) if row and row[0] is not None else None
            local.settings_version = version
        settings: Blob | None = local.settings
        return settings

    def share_settings(self, settings: Blob | None) -> None:
        connection = self._connection()
        with self._exclusive():
            with _immediate(connection):
                connection.execute(
                    "INSERT INTO shared_settings (id, doc) VALUES (1, ?)"
                    " ON CONFLICT (id) DO UPDATE SET doc = excluded.doc",
                    (None if settings is None else _encode(settings),),
                )
            # Once committed, and still alone: no reader reads the version before the row.
            self._settings_version[0] += 1

    def count(self, key: str, window: int) -> int:
        connection = self._connection()
        connection.execute("PRAGMA synchronous=NORMAL")
        try:
            with self._writing(connection):
                (value,) = connection.execute(_COUNT, (key, window)).fetchone()
        finally:
            connection.execute("PRAGMA synchronous=FULL")
        return int(value)

    def counted(self, key: str, window: int) -> int:
        row = (
            self._connection()
            .execute("SELECT value FROM counts WHERE key = ? AND period = ?", (key, window))
            .fetchone()
        )
        return 0 if row is None else int(row[0])

    def check_writable(self) -> None:
        # Neither behind the writers' lock nor waiting for one (a health check answers at
        # once): a write under way (busy) shows that writes are taken.
        connection = self._connection()
        connection.execute("PRAGMA busy_timeout = 0")
        try:
            connection.execute("BEGIN IMMEDIATE")
            connection.execute("ROLLBACK")
        except sqlite3.OperationalError as error:
            if error.sqlite_errorname not in ("SQLITE_BUSY", "SQLITE_LOCKED"):
                raise StoreUnavailable(
                    f"SQLite file {self.path} takes no writes: {error}"
                ) from None
        finally:
            connection.execute(f"PRAGMA busy_timeout = {_BUSY_SECONDS * 1000}")

    def close(self) -> None:
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            connection.close()
            del self._local.connection

    @contextmanager
    def _writing(self, connection: sqlite3.Connection) -> Iterator[None]:
        with self._exclusive(), _immediate(connection):
            yield

    @contextmanager
    def _exclusive(self) -> Iterator[None]:
        """The one writer, of every thread and process."""
        with self._threads:
            fcntl.flock(self._lock_file, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(self._lock_file, fcntl.LOCK_UN)

    def _connection(self) -> sqlite3.Connection:
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            # isolation_level=None: transactions are the explicit BEGINs above.
            connection = sqlite3.connect(self.path, isolation_level=None, timeout=_BUSY_SECONDS)
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=FULL")
            self._local.connection = connection
        return connection


def _mapped_counter(path: Path) -> memoryview:
    """A number that every process opening PATH shares, in memory: the file mapped, as an
    unsigned 64-bit integer (the first and only item of the view)."""
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        if os.fstat(descriptor).st_size < 8:
            os.ftruncate(descriptor, 8)
        mapped = mmap.mmap(descriptor, 8)
    finally:
        os.close(descriptor)
    return memoryview(mapped).cast("Q")


def _past_prefix(prefix: str) -> str | None:
    """The least string greater than every string that starts with PREFIX; None if none is.

    SQLite compares text as UTF-8 bytes, in the order of code points.
    """
    kept = prefix.rstrip(chr(sys.maxunicode))
    if not kept:
        return None
    following = ord(kept[-1]) + 1
    # Surrogates are no text; the code point after them keeps the order.
    return kept[:-1] + chr(0xE000 if 0xD800 <= following <= 0xDFFF else following)


@contextmanager
def _immediate(connection: sqlite3.Connection) -> Iterator[None]:
    connection.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")


class _Reading:
    def __init__(self, connection: sqlite3.Connection) -> None:
        self._db = connection

    def customer(self, customer_id: int) -> Customer | None:
        row = self._db.execute("SELECT doc FROM customers WHERE id = ?", (customer_id,)).fetchone()
        return _decode(row[0]) if row else None

    def holders(
        self, *identifiers: Identifier, source: str | None = None, account_id: str | None = None
    ) -> list[Holding]:
        return [
            holding
            for identifier in dict.fromkeys(identifiers)
            for holding in self._holders(identifier, source, account_id)
        ]

    def _holders(
        self, identifier: Identifier, source: str | None, account_id: str | None
    ) -> list[Holding]:
        query = (
            "SELECT customer_id, source, account_id FROM identifiers"
            " JOIN customers ON customers.id = customer_id WHERE type = ? AND value = ?"
        )
        arguments: list[str] = [identifier.type, identifier.value]
        if source is not None:
            query += " AND source = ?"
            arguments.append(source)
        if account_id is not None:
            query += " AND account_id = ?"
            arguments.append(account_id)
        query += " ORDER BY seq, source, account_id"
        return [
            Holding(customer_id, found_source, found_account, identifier)
            for customer_id, found_source, found_account in self._db.execute(query, arguments)
        ]

    def search(
        self,
        prefix: str,
        *,
        source: str | None = None,
        account_id: str = "",
        limit: int | None = None,
        offset: int = 0,
    ) -> Found:
        # The terms from PREFIX up to the first string past every one that starts with it: a
        # comparison takes a prefix of any length, where LIKE refuses one over 50,000 bytes.
        start = search_key(prefix)
        end = _past_prefix(start)
        terms = "SELECT customer_id FROM search_terms WHERE term >= ?"
        arguments: list[str | int] = [start]
        if end is not None:
            terms += " AND term < ?"
            arguments.append(end)
        if source is not None:
            terms += " AND source = ? AND account_id = ?"
            arguments += [source, account_id]
        (total,) = self._db.execute(  # noqa: S608 (fixed conditions, each value a parameter)
            f"SELECT count(DISTINCT customer_id) FROM ({terms})", arguments
        ).fetchone()
        rows = self._db.execute(  # noqa: S608 (as above)
            f"SELECT doc FROM customers WHERE id IN ({terms}) ORDER BY seq LIMIT ? OFFSET ?",
            [*arguments, -1 if limit is None else limit, offset],
        )
        return Found(total, [_decode(doc) for (doc,) in rows])

    def customers(self) -> list[Customer]:
        return [
            _decode(doc) for (doc,) in self._db.execute("SELECT doc FROM customers ORDER BY seq")
        ]


class _Writing(_Reading):
    def save(self, customer: Customer) -> None:
        self.save_all([customer])

    def save_all(self, customers: Sequence[Customer]) -> None:
        # A savepoint: a refused save changes nothing, even for a caller that catches
        # IdentifierTaken and carries on with the transaction.
        self._db.execute("SAVEPOINT save")
        try:
            self._db.executemany(
                "DELETE FROM identifiers WHERE customer_id = ?",
                [(customer.id,) for customer in customers],
            )
            for customer in customers:
                self._save(customer)
        except BaseException:
            self._db.execute("ROLLBACK TO save")
            raise
        finally:
            self._db.execute("RELEASE save")

    def _save(self, customer: Customer) -> None:
        """Save CUSTOMER, whose identifiers are gone from the table."""
        self._db.execute(
            "INSERT INTO customers (id, doc) VALUES (?, ?) ON CONFLICT (id)"
            " DO UPDATE SET doc = excluded.doc",
            (customer.id, _encode(customer)),
        )
        for profile, identifier in customer.holdings():
            try:
                self._db.execute(
                    "INSERT INTO identifiers (source, account_id, type, value, customer_id)"
                    " VALUES (?, ?, ?, ?, ?)",
                    (
                        profile.source,
                        profile.account_id,
                        identifier.type,
                        identifier.value,
                        customer.id,
                    ),
                )
            except sqlite3.IntegrityError:
                (holder,) = self.holders(
                    identifier, source=profile.source, account_id=profile.account_id
                )
                raise IdentifierTaken(holder) from None
        self._db.execute("DELETE FROM search_terms WHERE customer_id = ?", (customer.id,))
        self.index_search_terms(customer)

    def index_search_terms(self, customer: Customer) -> None:
        """Add CUSTOMER's search terms (it has none in the table)."""
        self._db.executemany(
            "INSERT INTO search_terms (customer_id, source, account_id, term) VALUES (?, ?, ?, ?)",
            [(customer.id, *term) for term in sorted(search_terms(customer))],
        )

    def respell_identifiers(self) -> None:
        """Save again, in their canonical form, the customers that hold identifiers in another
        spelling. Raises StateUnusable for two customers that would hold one identifier."""
        kinds = ", ".join("?" for _ in RESPELT_TYPES)
        rows = self._db.execute(  # noqa: S608 (a placeholder per type)
            "SELECT customer_id, source, account_id, type, value FROM identifiers"
            f" WHERE type IN ({kinds}) ORDER BY customer_id",
            RESPELT_TYPES,
        )
        customers = respelt(
            Holding(customer_id, source, account_id, Identifier(kind, value))
            for customer_id, source, account_id, kind, value in rows
        )
        for customer_id in customers:
            customer = self.customer(customer_id)
            assert customer is not None, "the identifiers are of stored customers"
            self.save(canonical_customer(customer))

    def new_id(self) -> int:
        (candidate,) = self._db.execute(
            "SELECT value FROM counters WHERE name = 'next_id'"
        ).fetchone()
        while self._db.execute("SELECT 1 FROM customers WHERE id = ?", (candidate,)).fetchone():
            candidate += 1
        self._db.execute("UPDATE counters SET value = ? WHERE name = 'next_id'", (candidate + 1,))
        return int(candidate)
