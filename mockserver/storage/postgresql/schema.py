"""The tables in PostgreSQL, in a schema `capkit` of their own, and their versions.

Each migration takes the schema from the version before it to its own: a database made by an
older capkit is brought up to date when a mock opens it, and one made by a newer capkit is
refused. Replicas starting together migrate one at a time (an advisory lock), so a migration
runs once.

Values a request sets freely (identifier values, accounts, search terms) are kept as UTF-8
bytes: PostgreSQL's text cannot hold the NUL character that a request may carry. Search
compares bytes, which sorts UTF-8 in the order of code points, as SQLite does.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import msgspec
import psycopg

from mockserver.domain.records import RESPELT_TYPES, Customer, Identifier, Profile
from mockserver.storage import (
    FIRST_NEW_ID,
    Holding,
    StateUnusable,
    canonical_customer,
    respelt,
    search_terms,
)
from mockserver.storage.postgresql.session import (
    Query,
    Session,
    array,
    int8,
    integer,
    script,
    utf8,
)

#: The bytes of a search term that its index holds.
TERM_PREFIX = 256

#: What each version adds, in order: version N is MIGRATIONS[:N].
MIGRATIONS = (
    # 1: customers, the identifiers and search terms they are found by, the id of the next one
    """
    CREATE TABLE capkit.customers (
        seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        id bigint NOT NULL UNIQUE,
        doc json NOT NULL
    );
    CREATE TABLE capkit.identifiers (
        source text NOT NULL,
        account_id bytea NOT NULL,
        type text NOT NULL,
        value bytea NOT NULL,
        customer_id bigint NOT NULL REFERENCES capkit.customers (id) ON DELETE CASCADE,
        PRIMARY KEY (source, account_id, type, value)
    );
    CREATE INDEX identifiers_by_value ON capkit.identifiers (type, value);
    CREATE INDEX identifiers_by_customer ON capkit.identifiers (customer_id);
    CREATE TABLE capkit.search_terms (
        customer_id bigint NOT NULL REFERENCES capkit.customers (id) ON DELETE CASCADE,
        term bytea NOT NULL,
        PRIMARY KEY (customer_id, term)
    );
    CREATE INDEX search_terms_by_term ON capkit.search_terms (term);
    CREATE TABLE capkit.counters (name text PRIMARY KEY, value bigint NOT NULL);
    """,
    # 2: the journal of requests, shared by every replica: unlogged (a crash of the database
    # empties it), each entry JSON text (`entry::json` reads it), not parsed on the way in
    """
    CREATE UNLOGGED TABLE capkit.requests (
        seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        started double precision NOT NULL,
        entry text NOT NULL
    );
    CREATE INDEX requests_by_start ON capkit.requests (started);
    """,
    # 3: what the replicas share about how they answer: the settings put at runtime, and
    # counts per key and window (unlogged: no promise to a client, so no wait for the disk)
    """
    CREATE TABLE capkit.shared_settings (id integer PRIMARY KEY CHECK (id = 1), doc json NOT NULL);
    CREATE UNLOGGED TABLE capkit.counts (
        key bytea PRIMARY KEY,
        period bigint NOT NULL,
        value bigint NOT NULL
    );
    """,
    # 4: the journal as a row per batch of entries (a replica writes them every 200 ms), JSON
    # lines (`regexp_split_to_table(entries, E'\n')::json` reads them), compressed with lz4
    # where the server has it (pglz, PostgreSQL's default, took six times its CPU); the
    # entries of version 2 are dropped
    """
    DROP TABLE capkit.requests;
    CREATE UNLOGGED TABLE capkit.requests (
        seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        size bigint NOT NULL,
        entries text NOT NULL
    );
    DO $$ BEGIN
        ALTER TABLE capkit.requests ALTER entries SET COMPRESSION lz4;
    EXCEPTION WHEN feature_not_supported THEN NULL;
    END $$;
    """,
    # 5: identifiers, accounts, search terms and counted keys of any length, as SQLite keeps
    # them: a B-tree entry holds at most 2,704 bytes, so the indexes hold sha256 digests of an
    # identifier's value and account, and the first TERM_PREFIX bytes of each search term (a
    # search compares the whole term after), and a counted key is kept as its digest
    f"""
    ALTER TABLE capkit.identifiers DROP CONSTRAINT identifiers_pkey;
    CREATE UNIQUE INDEX identifiers_held
        ON capkit.identifiers (source, sha256(account_id), type, sha256(value));
    DROP INDEX capkit.identifiers_by_value;
    CREATE INDEX identifiers_by_value ON capkit.identifiers (type, sha256(value));
    ALTER TABLE capkit.search_terms DROP CONSTRAINT search_terms_pkey;
    CREATE INDEX search_terms_by_customer ON capkit.search_terms (customer_id);
    DROP INDEX capkit.search_terms_by_term;
    CREATE INDEX search_terms_by_term
        ON capkit.search_terms (substring(term FROM 1 FOR {TERM_PREFIX}));
    DELETE FROM capkit.counts;
    """,
    # 6: each search term with the source and account of the profile it was found in, so that
    # the database counts and pages a search in a source (migrate() indexes the customers
    # kept before it)
    f"""
    DROP TABLE capkit.search_terms;
    CREATE TABLE capkit.search_terms (
        customer_id bigint NOT NULL REFERENCES capkit.customers (id) ON DELETE CASCADE,
        source text NOT NULL,
        account_id bytea NOT NULL,
        term bytea NOT NULL
    );
    CREATE INDEX search_terms_by_customer ON capkit.search_terms (customer_id);
    CREATE INDEX search_terms_by_term
        ON capkit.search_terms (substring(term FROM 1 FOR {TERM_PREFIX}));
    """,
    # 7: each identifier in its canonical form (Identifier.canonical), where a capkit before it
    # kept it as a request spelt it: no table changes, migrate() saves again the customers
    # that hold another spelling
    "-- 7: identifiers in their canonical form\n",
    # 8: lighter writes (a registration cost PostgreSQL 575 us of CPU against 650, measured in
    # registrations alternating between two databases, autovacuum off): no foreign keys, whose
    # check of each identifier and search term was a query of its own (the store writes them
    # with their customer, and deletes them with it), and one index, the unique one with the
    # value first, finds an identifier's holders, where each identifier went into two
    """
    ALTER TABLE capkit.identifiers DROP CONSTRAINT identifiers_customer_id_fkey;
    ALTER TABLE capkit.search_terms DROP CONSTRAINT search_terms_customer_id_fkey;
    DROP INDEX capkit.identifiers_by_value;
    DROP INDEX capkit.identifiers_held;
    CREATE UNIQUE INDEX identifiers_held
        ON capkit.identifiers (type, sha256(value), source, sha256(account_id));
    """,
)
#: The search terms of customers ($1 ids, $2 sources, $3 accounts, $4 terms, in step), added.
ADD_SEARCH_TERMS = Query(
    "INSERT INTO capkit.search_terms (customer_id, source, account_id, term)"
    " SELECT * FROM unnest($1::bigint[], $2::text[], $3::bytea[], $4::bytea[])"
)
#: Customers $1 with the documents $2, in step, in place of what they were, their identifiers
#: and terms gone.
_REPLACE = Query(
    "WITH identifiers AS (DELETE FROM capkit.identifiers WHERE customer_id = ANY($1)),"
    " terms AS (DELETE FROM capkit.search_terms WHERE customer_id = ANY($1))"
    " INSERT INTO capkit.customers (id, doc) SELECT * FROM unnest($1::bigint[], $2::json[])"
    " ON CONFLICT (id) DO UPDATE SET doc = excluded.doc"
)
#: The identifiers of customers ($1 their holders, $2 sources, $3 accounts, $4 types, $5
#: values, in step).
_INDEX = Query(
    "INSERT INTO capkit.identifiers (customer_id, source, account_id, type, value)"
    " SELECT * FROM unnest($1::bigint[], $2::text[], $3::bytea[], $4::text[], $5::bytea[])"
)
#: New customers ($1 ids, $2 documents, in step), their identifiers ($3 holders, $4 sources, $5
#: accounts, $6 types, $7 values) and search terms ($8 holders, $9 sources, $10 accounts, $11
#: terms): one statement, where replace_customers and index_customers queue three, each
#: with an executor to start and end, and _REPLACE deletes what a new customer cannot have.
_ADD = Query(
    "WITH customers AS (INSERT INTO capkit.customers (id, doc)"
    "  SELECT * FROM unnest($1::bigint[], $2::json[])),"
    " identifiers AS (INSERT INTO capkit.identifiers (customer_id, source, account_id, type, value)"
    "  SELECT * FROM unnest($3::bigint[], $4::text[], $5::bytea[], $6::text[], $7::bytea[]))"
    " INSERT INTO capkit.search_terms (customer_id, source, account_id, term)"
    " SELECT * FROM unnest($8::bigint[], $9::text[], $10::bytea[], $11::bytea[])"
)
#: The next 500 customers by id after id $1.
_CUSTOMERS_AFTER = Query("SELECT id, doc FROM capkit.customers WHERE id > $1 ORDER BY id LIMIT 500")
#: The customers of ids $1.
_CUSTOMERS_OF = Query("SELECT doc FROM capkit.customers WHERE id = ANY($1) ORDER BY id")
#: Every holding of an identifier of types $1, by its holder's id.
_HOLDINGS_OF_TYPES = Query(
    "SELECT customer_id, source, account_id, type, value FROM capkit.identifiers"
    " WHERE type = ANY($1) ORDER BY customer_id"
)
VERSION = len(MIGRATIONS)
#: The version from which each search term has its place, indexed anew from the customers.
_TERMS_PLACED = 6
#: The version from which each identifier is in its canonical form.
CANONICAL = 7
_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder(Customer).decode
#: The oldest PostgreSQL (major version) whose SQL the migrations use: a column's COMPRESSION.
OLDEST_SERVER = 14
#: The server encodings of more than a byte a character besides UTF8: PostgreSQL refuses text
#: that is not a sequence of their characters, which a customer's UTF-8 name often is not. The
#: mock's sessions send and take UTF-8 as it is, in the server's encoding: in UTF8, or one of a
#: byte a character (LATIN1, WIN1252, SQL_ASCII...), which takes any byte, it keeps every name.
_MULTI_BYTE = {"EUC_CN", "EUC_JP", "EUC_JIS_2004", "EUC_KR", "EUC_TW", "MULE_INTERNAL"}
#: The advisory lock that replicas migrating at once take in turn ("capkit" in ASCII).
_MIGRATING = 0x636170_6B6974


class Unfit(Exception):
    """The database cannot hold this capkit's schema; the message says why."""


class ServerTooOld(Unfit):
    """The database runs on a PostgreSQL older than OLDEST_SERVER."""

    def __init__(self, major: int) -> None:
        super().__init__(
            f"runs on PostgreSQL {major}, older than {OLDEST_SERVER}, the oldest that capkit's"
            " schema runs on"
        )


class EncodingUnfit(Unfit):
    """The database's encoding checks the bytes of text as characters of its own."""

    def __init__(self, encoding: str) -> None:
        super().__init__(
            f"is in the encoding {encoding}, in which PostgreSQL refuses some of the names a"
            " client may send: create it with ENCODING 'UTF8'"
        )


class SchemaTooNew(Unfit):
    """The database holds a schema of a newer capkit than this one."""

    def __init__(self, found: int) -> None:
        super().__init__(
            f"holds capkit's schema version {found}, newer than the version {VERSION} that"
            " this capkit knows: upgrade capkit, or use another database"
        )
        self.found = found


def migrate(connection: psycopg.Connection[Any]) -> int:
    """Create the schema, or bring it from an older version to VERSION, and the counter of new
    ids, on CONNECTION (in autocommit); return the version it had (0: none). A schema up to
    date is only read: a role that may only read and write its tables starts a replica, and
    so does a database that takes no writes. Raises Unfit, and psycopg.Error for a database
    that refuses (no right to create a schema, say) or stops answering (NoAnswer: a start does
    not hang on a paused server)."""
    major = connection.info.server_version // 10000
    if major < OLDEST_SERVER:
        raise ServerTooOld(major)
    encoding = connection.info.parameter_status("server_encoding") or "SQL_ASCII"
    if encoding in _MULTI_BYTE:
        raise EncodingUnfit(encoding)
    found = _complete_version(connection)
    if found is not None and found > VERSION:
        raise SchemaTooNew(found)
    if found == VERSION:
        return found
    *_, versions = script(
        connection,
        f"""
        BEGIN;
        SELECT pg_advisory_xact_lock({_MIGRATING});
        CREATE SCHEMA IF NOT EXISTS capkit;
        CREATE TABLE IF NOT EXISTS capkit.schema_version (version integer NOT NULL);
        SELECT version FROM capkit.schema_version;
        """,
    )
    found = int(versions[0][0] or 0) if versions else 0
    if found > VERSION:
        script(connection, "ROLLBACK")
        raise SchemaTooNew(found)
    if not versions:
        recorded = f"INSERT INTO capkit.schema_version VALUES ({VERSION});"
    elif found < VERSION:
        recorded = f"UPDATE capkit.schema_version SET version = {VERSION};"
    else:
        recorded = ""
    created = (
        f"INSERT INTO capkit.counters VALUES ('next_id', {FIRST_NEW_ID}) ON CONFLICT DO NOTHING;"
    )
    # A statement that fails leaves the transaction aborted, undone when the caller closes
    # the connection.
    script(connection, "\n".join([*MIGRATIONS[found:], recorded, created]))
    if 0 < found < _TERMS_PLACED <= VERSION:
        _index_search_terms(Session(connection))
    if 0 < found < CANONICAL <= VERSION:
        try:
            _respell_identifiers(Session(connection))
        except StateUnusable as error:
            script(connection, "ROLLBACK")
            raise Unfit(str(error)) from None
    script(connection, "COMMIT")
    return found


def search_term_rows(customers: Iterable[Customer]) -> list[bytes]:
    """The search terms of CUSTOMERS, as the four arrays of ADD_SEARCH_TERMS's parameters."""
    rows = [
        (customer.id, *term) for customer in customers for term in sorted(search_terms(customer))
    ]
    return [
        array([int8(customer_id) for customer_id, *_ in rows], of="int8"),
        array([utf8(source) for _, source, _, _ in rows], of="text"),
        array([utf8(account_id) for *_, account_id, _ in rows], of="bytea"),
        array([utf8(term) for *_, term in rows], of="bytea"),
    ]


def replace_customers(session: Session, customers: Sequence[Customer]) -> None:
    """Queue CUSTOMERS's documents in place of what they were, their identifiers and search
    terms gone."""
    ids = array([int8(customer.id) for customer in customers], of="int8")
    session.queue(_REPLACE, ids, array([_encode(c) for c in customers], of="json"))


def index_customers(session: Session, customers: Sequence[Customer]) -> None:
    """Queue the identifiers and search terms of CUSTOMERS, added."""
    session.queue(_INDEX, *_identifier_rows(customers))
    session.queue(ADD_SEARCH_TERMS, *search_term_rows(customers))


def add_customers(session: Session, customers: Sequence[Customer]) -> None:
    """Queue CUSTOMERS, which the database does not hold, with their identifiers and search
    terms."""
    ids = array([int8(customer.id) for customer in customers], of="int8")
    documents = array([_encode(c) for c in customers], of="json")
    session.queue(_ADD, ids, documents, *_identifier_rows(customers), *search_term_rows(customers))


def _identifier_rows(customers: Sequence[Customer]) -> list[bytes]:
    """The identifiers of CUSTOMERS, as the five arrays of _INDEX's parameters."""
    held = [(customer.id, *holding) for customer in customers for holding in customer.holdings()]
    holders = array([int8(customer_id) for customer_id, _, _ in held], of="int8")
    return [holders, *held_arrays([(p, i) for _, p, i in held])]


def held_arrays(held: list[tuple[Profile, Identifier]]) -> list[bytes]:
    """HELD, (profile, identifier) pairs, as the four arrays of sources, accounts, types and
    values in step that the statements of identifiers take."""
    return [
        array([utf8(profile.source) for profile, _ in held], of="text"),
        array([utf8(profile.account_id) for profile, _ in held], of="bytea"),
        array([utf8(identifier.type) for _, identifier in held], of="text"),
        array([utf8(identifier.value) for _, identifier in held], of="bytea"),
    ]


def _respell_identifiers(session: Session) -> None:
    """Save again, in their canonical form, the customers that hold identifiers in another
    spelling, 500 a round trip. Raises StateUnusable for two customers that would hold one
    identifier."""
    kinds = array([utf8(kind) for kind in RESPELT_TYPES], of="text")
    rows = session.rows(_HOLDINGS_OF_TYPES, kinds)
    ids = respelt(
        Holding(
            integer(holder), _text(source), _text(account), Identifier(_text(kind), _text(value))
        )
        for holder, source, account, kind, value in rows
    )
    for start in range(0, len(ids), 500):
        chunk = array([int8(customer_id) for customer_id in ids[start : start + 500]], of="int8")
        customers = [
            canonical_customer(_decode(doc)) for (doc,) in session.rows(_CUSTOMERS_OF, chunk) if doc
        ]
        replace_customers(session, customers)
        index_customers(session, customers)
    session.send()


def _text(field: bytes | None) -> str:
    assert field is not None
    return field.decode("utf-8", "surrogatepass")


def _index_search_terms(session: Session) -> None:
    """Add the search terms of every customer, a chunk a round trip."""
    after = -1
    while found := session.rows(_CUSTOMERS_AFTER, int8(after)):
        customers = [_decode(doc) for _, doc in found if doc is not None]
        session.queue(ADD_SEARCH_TERMS, *search_term_rows(customers))
        after = integer(found[-1][0])
    session.send()


def _complete_version(connection: psycopg.Connection[Any]) -> int | None:
    """The schema's version where it has one and its counter of new ids, else None."""
    try:
        (versions,) = script(
            connection,
            "SELECT version FROM capkit.schema_version"
            " WHERE EXISTS (SELECT FROM capkit.counters WHERE name = 'next_id')",
        )
    except (psycopg.errors.InvalidSchemaName, psycopg.errors.UndefinedTable):
        return None
    return int(versions[0][0] or 0) if versions else None
