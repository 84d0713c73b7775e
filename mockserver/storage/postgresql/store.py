"""The Store in PostgreSQL, which any number of replicas share.

The rules hold in the database, whichever replica writes: the identifiers' primary key keeps
an identifier to one holder per source and account, the customers' keeps ids unique. Write
transactions take one table lock first (SHARE ROW EXCLUSIVE on capkit.customers, which
readers never wait for), so the writers of every replica run one at a time, as SQLite's
writers do: a registration that loses a race sees the winner's identifier (8006), a combine
or a merge reads the customers it changes as they are. The lock is the database's: it goes
with the transaction, or with the session of a replica that died holding it. Reads are
REPEATABLE READ snapshots, and wait for no writer.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import msgspec
import psycopg

from mockserver.domain.records import Customer, Identifier
from mockserver.storage import FIRST_NEW_ID, Holding, IdentifierTaken, search_key, search_terms
from mockserver.storage.postgresql.database import Database

_READ = b"BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"
_WRITE = b"BEGIN; LOCK TABLE capkit.customers IN SHARE ROW EXCLUSIVE MODE"

_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder(Customer).decode


class PostgresStore:
    """A Store in DATABASE, whose schema is up to date."""

    def __init__(self, database: Database) -> None:
        self.database = database
        with database.transaction(_WRITE) as connection:
            connection.execute(
                "INSERT INTO capkit.counters VALUES ('next_id', %s) ON CONFLICT DO NOTHING",
                (FIRST_NEW_ID,),
            )

    @contextmanager
    def read(self) -> Iterator[_Reading]:
        with self.database.transaction(_READ) as connection:
            yield _Reading(connection)

    @contextmanager
    def write(self) -> Iterator[_Writing]:
        with self.database.transaction(_WRITE) as connection:
            yield _Writing(connection)

    def reset(self, customers: Iterable[Customer]) -> None:
        with self.write() as transaction:
            transaction.forget_everything()
            for customer in customers:
                transaction.save(customer)

    def close(self) -> None:
        """Nothing to let go of: a transaction returns its connection to the pool."""


def _bytes(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


def _text(data: bytes) -> str:
    return data.decode("utf-8", "surrogatepass")


def _past_prefix(prefix: bytes) -> bytes | None:
    """The least byte string greater than every one that starts with PREFIX (UTF-8, which
    has no byte 0xFF); None for the empty prefix, which every string starts with."""
    return prefix[:-1] + bytes([prefix[-1] + 1]) if prefix else None


class _Reading:
    def __init__(self, connection: psycopg.Connection[Any]) -> None:
        self._db = connection

    def customer(self, customer_id: int) -> Customer | None:
        row = self._db.execute(
            "SELECT doc FROM capkit.customers WHERE id = %s", (customer_id,)
        ).fetchone()
        return _decode(row[0]) if row else None

    def holders(
        self, identifier: Identifier, *, source: str | None = None, account_id: str | None = None
    ) -> list[Holding]:
        rows = self._db.execute(
            "SELECT customer_id, source, account_id FROM capkit.identifiers"
            " WHERE type = %s AND value = %s"
            " AND (%s::text IS NULL OR source = %s) AND (%s::bytea IS NULL OR account_id = %s)",
            (
                identifier.type,
                _bytes(identifier.value),
                source,
                source,
                *[None if account_id is None else _bytes(account_id)] * 2,
            ),
        )
        return [
            Holding(customer_id, found_source, _text(found_account), identifier)
            for customer_id, found_source, found_account in rows
        ]

    def search(self, prefix: str) -> list[Customer]:
        start = _bytes(search_key(prefix))
        end = _past_prefix(start)
        rows = self._db.execute(
            "SELECT doc FROM capkit.customers WHERE id IN (SELECT customer_id"
            " FROM capkit.search_terms WHERE term >= %s AND (%s::bytea IS NULL OR term < %s))"
            " ORDER BY seq",
            (start, end, end),
        )
        return [_decode(doc) for (doc,) in rows]

    def customers(self) -> list[Customer]:
        rows = self._db.execute("SELECT doc FROM capkit.customers ORDER BY seq")
        return [_decode(doc) for (doc,) in rows]


class _Writing(_Reading):
    def save(self, customer: Customer) -> None:
        holdings = customer.holdings()
        # One round trip for the whole save; the savepoint makes a refused save change
        # nothing, even for a caller that catches IdentifierTaken and carries on.
        try:
            with self._db.pipeline():
                self._db.execute("SAVEPOINT save")
                self._db.execute(
                    "INSERT INTO capkit.customers (id, doc) VALUES (%s, %s::json)"
                    " ON CONFLICT (id) DO UPDATE SET doc = excluded.doc",
                    (customer.id, _encode(customer).decode()),
                )
                self._db.execute(
                    "DELETE FROM capkit.identifiers WHERE customer_id = %s", (customer.id,)
                )
                self._db.execute(
                    "INSERT INTO capkit.identifiers (source, account_id, type, value, customer_id)"
                    " SELECT source, account_id, type, value, %s"
                    " FROM unnest(%s::text[], %s::bytea[], %s::text[], %s::bytea[])"
                    " AS held (source, account_id, type, value)",
                    (
                        customer.id,
                        [profile.source for profile, _ in holdings],
                        [_bytes(profile.account_id) for profile, _ in holdings],
                        [identifier.type for _, identifier in holdings],
                        [_bytes(identifier.value) for _, identifier in holdings],
                    ),
                )
                self._db.execute(
                    "DELETE FROM capkit.search_terms WHERE customer_id = %s", (customer.id,)
                )
                self._db.execute(
                    "INSERT INTO capkit.search_terms (customer_id, term)"
                    " SELECT %s, unnest(%s::bytea[])",
                    (customer.id, [_bytes(term) for term in sorted(search_terms(customer))]),
                )
                self._db.execute("RELEASE save")
        except psycopg.errors.UniqueViolation:
            self._db.execute("ROLLBACK TO save; RELEASE save")
            raise IdentifierTaken(self._taken(customer)) from None

    def _taken(self, customer: Customer) -> Holding:
        """The first of CUSTOMER's identifiers that someone else holds in its source and
        account; failing that, one it holds twice there."""
        seen: set[tuple[str, str, Identifier]] = set()
        for profile, identifier in customer.holdings():
            key = (profile.source, profile.account_id, identifier)
            for holding in self.holders(
                identifier, source=profile.source, account_id=profile.account_id
            ):
                if holding.customer_id != customer.id:
                    return holding
            if key in seen:
                return Holding(customer.id, profile.source, profile.account_id, identifier)
            seen.add(key)
        raise AssertionError(f"no identifier of customer {customer.id} is taken")

    def new_id(self) -> int:
        # The counter, then past every id a customer holds, in one statement.
        row = self._db.execute(
            "WITH RECURSIVE candidates (id) AS ("
            "  SELECT value FROM capkit.counters WHERE name = 'next_id'"
            "  UNION ALL SELECT id + 1 FROM candidates"
            "  WHERE EXISTS (SELECT FROM capkit.customers WHERE customers.id = candidates.id))"
            " UPDATE capkit.counters SET value = (SELECT max(id) + 1 FROM candidates)"
            " WHERE name = 'next_id' RETURNING value - 1"
        ).fetchone()
        assert row is not None
        return int(row[0])

    def forget_everything(self) -> None:
        """No customer, and ids from FIRST_NEW_ID again."""
        self._db.execute("DELETE FROM capkit.customers")  # their identifiers and terms too
        self._db.execute(
            "UPDATE capkit.counters SET value = %s WHERE name = 'next_id'", (FIRST_NEW_ID,)
        )
