"""The Store in PostgreSQL, which any number of replicas share.

The rules hold in the database, whichever replica writes: the identifiers' primary key keeps
an identifier to one holder per source and account, the customers' keeps ids unique. Write
transactions take one table lock first (SHARE ROW EXCLUSIVE on capkit.customers, which
readers never wait for), so the writers of every replica run one at a time, as SQLite's
writers do: a registration that loses a race sees the winner's identifier (8006), a combine
or a merge reads the customers it changes as they are. The lock is the database's: it goes
with the transaction, or with the session of a replica that died holding it.

Reads wait for no writer, and take no transaction of their own: each statement sees every write
committed before it began (READ COMMITTED), whether it runs alone or in the pipeline of the
reads of requests answered side by side (reads.py). A read of one customer, or of the holders
of an identifier with their documents, is one statement, so the one read of most requests
is as consistent as a snapshot; one that reads twice (the customer a merged one went into)
sees a write that commits in between. A snapshot, where SQLite's is free, took BEGIN and
COMMIT around the read, and a second round trip: 207-255 us of CPU per read (the mock's and
the database's) against 140-150.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager

import msgspec

from mockserver import interleaving
from mockserver.domain.records import Blob, Customer, Identifier
from mockserver.storage import FIRST_NEW_ID, Found, Holding, IdentifierTaken, search_key
from mockserver.storage.postgresql.database import Database
from mockserver.storage.postgresql.schema import (
    TERM_PREFIX,
    add_customers,
    held_arrays,
    index_customers,
    replace_customers,
)
from mockserver.storage.postgresql.session import (
    Query,
    Reader,
    Row,
    Session,
    array,
    int8,
    integer,
    utf8,
)

_BEGIN = Query("BEGIN")
_WRITE = (_BEGIN, Query("LOCK TABLE capkit.customers IN SHARE ROW EXCLUSIVE MODE"))

_CUSTOMER = Query("SELECT doc FROM capkit.customers WHERE id = $1")
_CUSTOMERS = Query("SELECT doc FROM capkit.customers ORDER BY seq")
#: Holders in the order their customers were first stored, then by source and account (bytea:
#: byte by byte, as SQLite compares text).
_HOLDERS_ORDER = "seq, source, account_id"
#: Who holds the identifiers ($1 types, $2 values, in step), in every source and account, with
#: the holder's document: a lookup reads the customer next, a registration asks in its source
#: then in every other, and a save checks who holds them again (a round trip less each). The
#: document comes with a holder's first row alone (NULL in the others): each row with it made
#: a customer of 5,000 identifiers 5,000 documents, 4.6 s to send.
_HOLDERS = Query(
    "SELECT wanted.type, wanted.value, customer_id, source, account_id,"
    "  CASE WHEN row_number() OVER (PARTITION BY customer_id) = 1 THEN doc END"
    " FROM unnest($1::text[], $2::bytea[]) AS wanted (type, value)"
    " JOIN capkit.identifiers AS held ON held.type = wanted.type"
    "  AND sha256(held.value) = sha256(wanted.value) AND held.value = wanted.value"
    " JOIN capkit.customers ON customers.id = customer_id"
    f" ORDER BY {_HOLDERS_ORDER}"
)
#: The same for one identifier (type $1, value $2), as most requests ask: 26 us to run, where
#: _HOLDERS takes 37.
_HOLDERS_OF_ONE = Query(
    "SELECT type, value, customer_id, source, account_id, doc FROM capkit.identifiers"
    " JOIN capkit.customers ON customers.id = customer_id"
    " WHERE type = $1 AND sha256(value) = sha256($2) AND value = $2"
    f" ORDER BY {_HOLDERS_ORDER}"
)
#: How many customers have a term from $3 up to $4 (the terms that start with a prefix), found
#: by their first TERM_PREFIX bytes (from $1 up to $2), and the page of their documents from
#: offset $6, $5 of them (a JSON array; NULL for none); of those terms in source $7 and account
#: $8 alone in _SEARCH_IN.
_SEARCH, _SEARCH_IN = (
    Query(
        "WITH matched AS (SELECT DISTINCT customer_id FROM capkit.search_terms"
        f"  WHERE substring(term FROM 1 FOR {TERM_PREFIX}) >= $1"
        f"  AND substring(term FROM 1 FOR {TERM_PREFIX}) < $2 AND term >= $3 AND term < $4"
        f"  {place})"
        " SELECT (SELECT count(*) FROM matched), (SELECT json_agg(doc ORDER BY seq) FROM"
        "  (SELECT seq, doc FROM capkit.customers WHERE id IN (SELECT customer_id FROM matched)"
        "   ORDER BY seq LIMIT $5 OFFSET $6) AS page)"
    )
    for place in ("", "AND source = $7 AND account_id = $8")
)
#: A LIMIT that is none: the largest bigint.
_ALL = 2**63 - 1
#: A holder, other than customers $1, of the identifiers ($2 sources, $3 accounts, $4 types,
#: $5 values, in step): what a save must not take from them.
_TAKEN = Query(
    "SELECT customer_id, held.source, held.account_id, held.type, held.value"
    " FROM unnest($2::text[], $3::bytea[], $4::text[], $5::bytea[])"
    " AS held (source, account_id, type, value)"
    " JOIN capkit.identifiers AS holding ON holding.type = held.type"
    "  AND sha256(holding.value) = sha256(held.value) AND holding.value = held.value"
    "  AND holding.source = held.source AND holding.account_id = held.account_id"
    " WHERE customer_id <> ALL($1::bigint[]) LIMIT 1"
)
_SAVEPOINT, _ROLLBACK_TO_SAVEPOINT, _RELEASE_SAVEPOINT = (
    Query(f"{command} capkit_save_all")
    for command in ("SAVEPOINT", "ROLLBACK TO SAVEPOINT", "RELEASE SAVEPOINT")
)
#: The customers save_all writes with each statement.
_CHUNK = 1000
#: The id a new customer gets: the counter, or past it every id a customer holds.
_FREE_ID = Query(
    "WITH RECURSIVE candidates (id) AS ("
    "  SELECT value FROM capkit.counters WHERE name = 'next_id'"
    "  UNION ALL SELECT id + 1 FROM candidates"
    "  WHERE EXISTS (SELECT FROM capkit.customers WHERE customers.id = candidates.id))"
    " SELECT max(id) FROM candidates"
)
_TAKE_ID = Query("UPDATE capkit.counters SET value = $1::bigint + 1 WHERE name = 'next_id'")

#: One more of key $1 in window $2. A window older than the one counted (a replica whose clock
#: is behind) counts in the newer.
_COUNT = Query(
    "INSERT INTO capkit.counts (key, period, value) VALUES (sha256($1), $2, 1)"
    " ON CONFLICT (key) DO"
    " UPDATE SET value = CASE WHEN excluded.period > counts.period THEN 1"
    " ELSE counts.value + 1 END, period = greatest(counts.period, excluded.period)"
    " RETURNING value"
)
_COUNTED = Query("SELECT value FROM capkit.counts WHERE key = sha256($1) AND period = $2")
_FORGET_EVERYTHING = (
    Query("DELETE FROM capkit.customers"),
    Query("DELETE FROM capkit.identifiers"),
    Query("DELETE FROM capkit.search_terms"),
    Query("DELETE FROM capkit.counts"),
    Query("UPDATE capkit.counters SET value = $1 WHERE name = 'next_id'"),
)
#: A write of no row, which the database refuses as it would any write (a standby, a database
#: set read-only, a role that may not write), and takes no lock a write waits for.
_WRITES_NOTHING = Query("UPDATE capkit.counters SET value = value WHERE false")
_SETTINGS_CHANNEL = "capkit_shared_settings"
_SHARED_SETTINGS = Query("SELECT doc FROM capkit.shared_settings")
_UNSHARE_SETTINGS = Query("DELETE FROM capkit.shared_settings")
_NOTIFY = Query(f"NOTIFY {_SETTINGS_CHANNEL}")
_SHARE_SETTINGS = Query(
    "INSERT INTO capkit.shared_settings (id, doc) VALUES (1, $1)"
    " ON CONFLICT (id) DO UPDATE SET doc = excluded.doc"
)

_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder(Customer).decode
_decode_page = msgspec.json.Decoder(list[Customer]).decode
_decode_settings = msgspec.json.Decoder(Blob).decode


class PostgresStore:
    """A Store in DATABASE, whose schema is up to date."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self._listener = database.listener(_SETTINGS_CHANNEL)
        self._settings_lock = threading.Lock()
        self._settings: Blob | None = None
        #: Whether _settings may be out of date: until they are first read, and from a change
        #: heard of until a read succeeds.
        self._settings_stale = True

    @contextmanager
    def read(self) -> Iterator[_Reading]:
        with self.database.reading() as session:
            yield _Reading(session)

    @contextmanager
    def write(self) -> Iterator[_Writing]:
        with self.database.transaction(*_WRITE, durable=True) as session:
            yield _Writing(session)

    def reset(self, customers: Iterable[Customer]) -> None:
        with self.write() as transaction:
            transaction.forget_everything()
            transaction.save_all(list(customers))

    def shared_settings(self) -> Blob | None:
        # Asked on every request: read again only when a replica notified a change. The
        # listener tells of a change once: a read that fails (the database down) leaves the
        # settings stale, and the next request reads them, where it would have kept the old
        # ones until the next change.
        # The lock is the listener's too (see Listener), and the settings are read holding it:
        # one read for the requests that find them stale at once. Either may wait aside.
        with interleaving.locked(self._settings_lock):
            if self._listener.heard():
                self._settings_stale = True
            if self._settings_stale:
                with self.database.session() as session:
                    found = session.rows(_SHARED_SETTINGS)
                self._settings = _decode_settings(_text(found[0][0])) if found else None
                self._settings_stale = False
            return self._settings

    def share_settings(self, settings: Blob | None) -> None:
        with self.database.transaction(_BEGIN) as session:
            if settings is None:
                session.queue(_UNSHARE_SETTINGS)
            else:
                session.queue(_SHARE_SETTINGS, _encode(settings))
            session.queue(_NOTIFY)
        with interleaving.locked(self._settings_lock):  # in force here at once; others hear
            self._settings = settings

    def count(self, key: str, window: int) -> int:
        with self.database.session() as session:
            ((value,),) = session.rows(_COUNT, utf8(key), int8(window))
        return integer(value)

    def counted(self, key: str, window: int) -> int:
        with self.database.session() as session:
            found = session.rows(_COUNTED, utf8(key), int8(window))
        return integer(found[0][0]) if found else 0

    def check_writable(self) -> None:
        with self.database.session() as session:
            session.rows(_WRITES_NOTHING)

    def close(self) -> None:
        """Nothing to let go of: a transaction returns its connection to the pool."""


def _field(field: bytes | None) -> bytes:
    assert field is not None
    return field


def _text(field: bytes | None) -> str:
    return _field(field).decode("utf-8", "surrogatepass")


def _document(field: bytes | None) -> Customer:
    assert field is not None
    return _decode(field)


def _past_prefix(prefix: bytes) -> bytes:
    """The least byte string greater than every one in UTF-8 that starts with PREFIX (UTF-8
    has no byte 0xFF, which is past every one for no prefix)."""
    return prefix[:-1] + bytes([prefix[-1] + 1]) if prefix else b"\xff"


class _Reading:
    def __init__(self, session: Reader) -> None:
        self._db = session
        #: What this transaction found, as it sees it: the holders of the identifiers looked
        #: up, and the holders' documents by id.
        self._holdings: dict[Identifier, list[Holding]] = {}
        self._held: dict[int, bytes | None] = {}

    def customer(self, customer_id: int) -> Customer | None:
        if customer_id in self._held:
            return _document(self._held[customer_id])
        found = self._db.rows(_CUSTOMER, int8(customer_id))
        return _document(found[0][0]) if found else None

    def holders(
        self, *identifiers: Identifier, source: str | None = None, account_id: str | None = None
    ) -> list[Holding]:
        # The identifiers this transaction has not asked for yet, by their fields as found.
        unknown: dict[tuple[bytes, bytes], Identifier] = {
            (utf8(identifier.type), utf8(identifier.value)): identifier
            for identifier in identifiers
            if identifier not in self._holdings
        }
        if unknown:
            if len(unknown) == 1:
                ((kind, value),) = unknown
                found = self._holders(_HOLDERS_OF_ONE, kind, value)
            else:
                kinds = array([kind for kind, _ in unknown], of="text")
                values = array([value for _, value in unknown], of="bytea")
                found = self._holders(_HOLDERS, kinds, values)
            for identifier in unknown.values():
                self._holdings[identifier] = []
            for held_kind, held_value, customer_id, held_source, held_account, doc in found:
                identifier = unknown[_field(held_kind), _field(held_value)]
                holding = Holding(
                    integer(customer_id), _text(held_source), _text(held_account), identifier
                )
                self._holdings[identifier].append(holding)
                if doc is not None:
                    self._held[holding.customer_id] = doc
        return [
            holding
            for identifier in dict.fromkeys(identifiers)
            for holding in self._holdings[identifier]
            if source in (None, holding.source) and account_id in (None, holding.account_id)
        ]

    def _holders(self, query: Query, *parameters: bytes) -> list[Row]:
        return self._db.rows(query, *parameters)

    def search(
        self,
        prefix: str,
        *,
        source: str | None = None,
        account_id: str = "",
        limit: int | None = None,
        offset: int = 0,
    ) -> Found:
        start = utf8(search_key(prefix))
        indexed = start[:TERM_PREFIX]
        bounds = (indexed, _past_prefix(indexed), start, _past_prefix(start))
        page = (int8(_ALL if limit is None else limit), int8(offset))
        if source is None:
            ((total, docs),) = self._db.rows(_SEARCH, *bounds, *page)
        else:
            place = (utf8(source), utf8(account_id))
            ((total, docs),) = self._db.rows(_SEARCH_IN, *bounds, *page, *place)
        return Found(integer(total), [] if docs is None else _decode_page(docs))

    def customers(self) -> list[Customer]:
        return [_document(doc) for (doc,) in self._db.rows(_CUSTOMERS)]


class _Writing(_Reading):
    def __init__(self, session: Session) -> None:
        super().__init__(session)
        #: _db itself, as the Session it is in a write: what queues and pipelines statements.
        self._tx = session
        #: The id a new customer would get, as found with the transaction's first statement.
        self._free_id: int | None = None
        #: The ids new_id gave that no customer saved holds yet.
        self._new_ids: set[int] = set()

    def _holders(self, query: Query, *parameters: bytes) -> list[Row]:
        if self._tx.sent:
            return super()._holders(query, *parameters)
        # A registration asks who holds its identifiers, then for a new id: the id comes with
        # the first question, a round trip less (an update that asks first wastes a lookup).
        found, ((free_id,),) = self._tx.rows_of((query, parameters), (_FREE_ID, ()))
        self._free_id = integer(free_id)
        return found

    def save(self, customer: Customer) -> None:
        taken = self._taken(customer) or _held_twice([customer])
        if taken is not None:
            raise IdentifierTaken(taken)
        self._forget_found([customer])
        # Nothing can refuse these now: they go with the next statement, or the commit.
        if customer.id in self._new_ids:
            self._new_ids.discard(customer.id)
            add_customers(self._tx, [customer])
            return
        self._replace([customer])
        self._add_index([customer])

    def save_all(self, customers: Sequence[Customer]) -> None:
        taken = _held_twice(customers)
        if taken is not None:
            raise IdentifierTaken(taken)
        self._forget_found(customers)
        chunks = [customers[start : start + _CHUNK] for start in range(0, len(customers), _CHUNK)]
        self._tx.queue(_SAVEPOINT)
        for chunk in chunks:
            self._replace(chunk)
        # Their own identifiers gone, any holder of theirs is another customer.
        for chunk in chunks:
            held = [holding for customer in chunk for holding in customer.holdings()]
            found = self._tx.rows(_TAKEN, array([], of="int8"), *held_arrays(held))
            if found:
                self._tx.queue(_ROLLBACK_TO_SAVEPOINT)
                raise IdentifierTaken(_holding(found[0]))
        for chunk in chunks:
            self._add_index(chunk)
        self._tx.queue(_RELEASE_SAVEPOINT)

    def _forget_found(self, saved: Sequence[Customer]) -> None:
        """Forget what this transaction found that saving SAVED changes: the holders of
        identifiers, their documents, the id a new customer would get."""
        self._holdings.clear()
        for customer in saved:
            self._held.pop(customer.id, None)
        self._free_id = None

    def _replace(self, customers: Sequence[Customer]) -> None:
        self._new_ids.difference_update(customer.id for customer in customers)
        replace_customers(self._tx, customers)

    def _add_index(self, customers: Sequence[Customer]) -> None:
        """Add the identifiers and search terms of CUSTOMERS."""
        index_customers(self._tx, customers)

    def _taken(self, customer: Customer) -> Holding | None:
        """A holding of another customer that saving CUSTOMER would take. Writers hold the
        table lock: the holders this transaction found are still the holders, until it saves
        (which forgets them). The primary keys stand behind this."""
        held = customer.holdings()
        if any(identifier not in self._holdings for _, identifier in held):
            mine = array([int8(customer.id)], of="int8")
            taken = self._tx.rows(_TAKEN, mine, *held_arrays(held))
            return _holding(taken[0]) if taken else None
        for profile, identifier in held:
            for holding in self.holders(
                identifier, source=profile.source, account_id=profile.account_id
            ):
                if holding.customer_id != customer.id:
                    return holding
        return None

    def new_id(self) -> int:
        if self._free_id is None:
            ((free_id,),) = self._tx.rows(_FREE_ID)
            self._free_id = integer(free_id)
        new_id, self._free_id = self._free_id, None
        self._tx.queue(_TAKE_ID, int8(new_id))
        self._new_ids.add(new_id)
        return new_id

    def forget_everything(self) -> None:
        """No customer, and ids from FIRST_NEW_ID again."""
        self._holdings.clear()
        self._held.clear()
        self._free_id = None
        *tables, ids = _FORGET_EVERYTHING
        for table in tables:
            self._tx.queue(table)
        self._tx.queue(ids, int8(FIRST_NEW_ID))


def _holding(row: Row) -> Holding:
    """A row of _TAKEN as the holding it found."""
    holder, source, account_id, kind, value = row
    identifier = Identifier(_text(kind), _text(value))
    return Holding(integer(holder), _text(source), _text(account_id), identifier)


def _held_twice(customers: Sequence[Customer]) -> Holding | None:
    """A holding of an identifier that CUSTOMERS hold twice in one source and account, which
    the index cannot hold either; None if there is none."""
    holders: dict[tuple[str, str, Identifier], int] = {}
    for customer in customers:
        for profile, identifier in customer.holdings():
            key = (profile.source, profile.account_id, identifier)
            if key in holders:
                return Holding(holders[key], profile.source, profile.account_id, identifier)
            holders[key] = customer.id
    return None
