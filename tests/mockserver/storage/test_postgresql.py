"""The PostgreSQL backend's own: the schema and its versions, what a bad --state says, several
replicas on one database, the journal they share, and an outage of the database."""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import logging
import re
import select
import shlex
import subprocess
import sys
import threading
import time
import tomllib
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from typing import Any, TypeVar

import msgspec
import psycopg
import pytest
from packaging.requirements import Requirement
from psycopg import sql

from mockserver import interleaving, journal
from mockserver.domain.records import Customer, Identifier, Profile
from mockserver.journal import Entry
from mockserver.storage import (
    FIRST_NEW_ID,
    IdentifierTaken,
    StateUnusable,
    Store,
    StoreUnavailable,
    search_terms,
)
from mockserver.storage import postgresql as postgresql_package
from mockserver.storage.backends import open_postgresql, open_store
from mockserver.storage.postgresql import journal as postgresql_journal
from mockserver.storage.postgresql import schema
from mockserver.storage.postgresql.database import WAIT_SECONDS, Database, connect, describe
from mockserver.storage.postgresql.journal import PostgresJournal
from mockserver.storage.postgresql.listener import Listener
from mockserver.storage.postgresql.session import ANSWER_SECONDS, Query
from mockserver.storage.postgresql.store import PostgresStore
from tests import postgresql
from tests.mockserver.test_server import README
from tests.ports import free_port
from tests.served import loop_held_by, run
from tests.waiting import soon

MOBILE = Identifier("mobile", "919000000001")
T = TypeVar("T")
_databases = itertools.count()


@pytest.fixture
def url(postgresql_server: postgresql.Server) -> str:
    """The URL of a new, empty database of the session's server."""
    return postgresql_server.create_database(f"test_{next(_databases)}")


@pytest.fixture
def databases() -> Iterator[list[Database]]:
    """Where the test puts each database it opens, whose pool is closed after the test."""
    opened: list[Database] = []
    yield opened
    for database in opened:
        database.close()


@pytest.fixture
def store_at(databases: list[Database]) -> Callable[[str], PostgresStore]:
    """A function opening the store at a URL, as --state does."""

    def open_at(state: str) -> PostgresStore:
        store = open_store(state)
        assert isinstance(store, PostgresStore)
        databases.append(store.database)
        return store

    return open_at


@pytest.fixture
def journal_at(databases: list[Database]) -> Callable[[str], PostgresJournal]:
    """A function opening the journal at a URL, as a replica does."""

    def open_at(state: str) -> PostgresJournal:
        databases.append(open_postgresql(state, db_pool=1, synchronous=False))
        return PostgresJournal(databases[-1])

    return open_at


def customer(customer_id: int, *identifiers: Identifier) -> Customer:
    return Customer(customer_id, "loyalty", profiles=(Profile("INSTORE", identifiers=identifiers),))


def schema_version(url: str) -> int:
    with psycopg.connect(url) as connection:
        row = connection.execute("SELECT version FROM capkit.schema_version").fetchone()
    assert row is not None
    return int(row[0])


def has_schema(url: str) -> bool:
    with psycopg.connect(url) as connection:
        found = connection.execute(
            "SELECT FROM information_schema.schemata WHERE schema_name = 'capkit'"
        ).fetchall()
    return bool(found)


def refusal(state: str) -> str:
    with pytest.raises(StateUnusable) as refused:
        open_store(state)
    return str(refused.value)


# --- the schema -----------------------------------------------------------------------------


def test_the_schema_is_created_on_first_start(
    url: str, store_at: Callable[[str], PostgresStore]
) -> None:
    store = store_at(url)
    with store.write() as tx:
        tx.save(customer(tx.new_id(), MOBILE))
    assert schema_version(url) == schema.VERSION
    with psycopg.connect(url) as connection:
        tables = {
            name
            for (name,) in connection.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'capkit'"
            )
        }
        (held,) = connection.execute("SELECT id FROM capkit.customers").fetchall()
    assert {"customers", "identifiers", "search_terms", "requests", "schema_version"} <= tables
    assert held == (FIRST_NEW_ID,)


@pytest.mark.parametrize("older", range(1, schema.VERSION))
def test_a_database_of_an_older_version_is_migrated_keeping_its_customers(
    url: str,
    older: int,
    monkeypatch: pytest.MonkeyPatch,
    store_at: Callable[[str], PostgresStore],
    journal_at: Callable[[str], PostgresJournal],
) -> None:
    # More customers than the migration indexes in one round trip.
    kept = [customer(FIRST_NEW_ID, MOBILE)] + [
        customer(FIRST_NEW_ID + n, Identifier("mobile", f"9191{n:08d}")) for n in range(1, 1201)
    ]
    with monkeypatch.context() as older_capkit:
        older_capkit.setattr(schema, "MIGRATIONS", schema.MIGRATIONS[:older])
        older_capkit.setattr(schema, "VERSION", older)
        store_at(url)
        save_as_of_version(older, url, kept)
        assert schema_version(url) == older
    migrated = store_at(url)
    assert schema_version(url) == schema.VERSION
    with migrated.read() as tx:
        assert tx.customers() == kept
        assert [holding.customer_id for holding in tx.holders(MOBILE)] == [FIRST_NEW_ID]
        assert tx.search(MOBILE.value[:7]).customers == [kept[0]]
        everyone = tx.search("919", source="INSTORE", limit=2, offset=1200)
        assert (everyone.total, everyone.customers) == (1201, [kept[-1]])
        assert tx.search("919", source="WECHAT", account_id="22232").total == 0
    with migrated.write() as tx:
        assert tx.new_id() == FIRST_NEW_ID + 1201
    replica = journal_at(url)
    replica.record(entry("/v2/after-the-migration", 1.0))
    assert [e.url for e in replica.entries()] == ["/v2/after-the-migration"]


def save_as_of_version(version: int, url: str, customers: list[Customer]) -> None:
    """CUSTOMERS, saved in the database at URL as a capkit of schema VERSION saved them: each
    identifier as given (spelt as a request spelt it, before version 7), and each search term
    with no source before version 6."""
    with psycopg.connect(url) as connection, connection.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO capkit.customers (id, doc) VALUES (%s, %s::json)",
            [(each.id, msgspec.json.encode(each).decode()) for each in customers],
        )
        cursor.executemany(
            "INSERT INTO capkit.identifiers (source, account_id, type, value, customer_id)"
            " VALUES (%s, %s, %s, %s, %s)",
            [
                (held.source, held.account_id.encode(), found.type, found.value.encode(), each.id)
                for each in customers
                for held, found in each.holdings()
            ],
        )
        if version < 6:
            cursor.executemany(
                "INSERT INTO capkit.search_terms (customer_id, term) VALUES (%s, %s)",
                [(each.id, term.encode()) for each in customers for *_, term in search_terms(each)],
            )
        else:
            cursor.executemany(
                "INSERT INTO capkit.search_terms (customer_id, source, account_id, term)"
                " VALUES (%s, %s, %s, %s)",
                [
                    (each.id, source, account.encode(), term.encode())
                    for each in customers
                    for source, account, term in search_terms(each)
                ],
            )
        cursor.execute(
            "UPDATE capkit.counters SET value = %s WHERE name = 'next_id'",
            (max(each.id for each in customers) + 1,),
        )


@pytest.mark.parametrize("older", range(1, schema.CANONICAL))
def test_a_database_of_an_older_version_holds_its_identifiers_in_canonical_form_once_migrated(
    url: str, older: int, monkeypatch: pytest.MonkeyPatch, store_at: Callable[[str], PostgresStore]
) -> None:
    plus, shouted = Identifier("mobile", "+919000000002"), Identifier("email", "Becky@Example.com")
    becky = customer(FIRST_NEW_ID, plus, shouted)
    # Two spellings in one profile of one customer: the identifier once, which loses nothing.
    twice = customer(
        FIRST_NEW_ID + 1, Identifier("email", "TOM@x.com"), Identifier("email", "tom@x.com")
    )
    kept = customer(FIRST_NEW_ID + 2, MOBILE, Identifier("externalId", "CaseKept"))
    # More customers to respell than the migration saves in one round trip.
    many = [
        customer(FIRST_NEW_ID + n, Identifier("mobile", f"+9192{n:08d}")) for n in range(3, 1203)
    ]
    with monkeypatch.context() as older_capkit:
        older_capkit.setattr(schema, "MIGRATIONS", schema.MIGRATIONS[:older])
        older_capkit.setattr(schema, "VERSION", older)
        store_at(url)
        save_as_of_version(older, url, [becky, twice, kept, *many])
    migrated = store_at(url)
    assert schema_version(url) == schema.VERSION
    canonical = (Identifier("mobile", "919000000002"), Identifier("email", "becky@example.com"))
    with migrated.read() as tx:
        found = tx.customers()
        assert [c.profiles[0].identifiers for c in found[:3]] == [
            canonical,
            (Identifier("email", "tom@x.com"),),
            kept.profiles[0].identifiers,
        ]
        assert found[-1].profiles[0].identifiers == (Identifier("mobile", "919200001202"),)
        assert [h.customer_id for h in tx.holders(*canonical)] == [FIRST_NEW_ID] * 2
        assert tx.holders(plus, shouted) == []
        assert tx.search("91900000000").total == 2
        assert tx.search("9192", source="INSTORE").total == 1200
        assert tx.search("+919").total == 0
        assert [c.id for c in tx.search("tom@", source="INSTORE").customers] == [FIRST_NEW_ID + 1]


def test_a_database_where_two_customers_hold_one_identifier_in_two_spellings_is_refused_as_it_is(
    url: str,
    postgresql_server: postgresql.Server,
    monkeypatch: pytest.MonkeyPatch,
    store_at: Callable[[str], PostgresStore],
) -> None:
    older = schema.CANONICAL - 1
    huck = customer(342963216, Identifier("email", "huck.finn@example.com"))
    imposter = customer(FIRST_NEW_ID, Identifier("email", "HUCK.FINN@example.com"))
    with monkeypatch.context() as older_capkit:
        older_capkit.setattr(schema, "MIGRATIONS", schema.MIGRATIONS[:older])
        older_capkit.setattr(schema, "VERSION", older)
        store_at(url)
        save_as_of_version(older, url, [huck, imposter])
    assert refusal(url) == (
        f"cannot be used: the database at capkit@127.0.0.1:{postgresql_server.port}"
        f"/{url.rpartition('/')[2]} holds customers {FIRST_NEW_ID} and 342963216 with one"
        " email, 'huck.finn@example.com', in INSTORE, spelt 'HUCK.FINN@example.com' and"
        " 'huck.finn@example.com': this capkit keeps an identifier in one spelling, held by one"
        " customer; remove it from one of them with the capkit that wrote this state"
        " (changeIdentifier), then start this one again"
    )
    assert schema_version(url) == older
    with psycopg.connect(url) as connection:
        docs = connection.execute("SELECT doc FROM capkit.customers ORDER BY seq").fetchall()
        values = connection.execute(
            "SELECT value FROM capkit.identifiers ORDER BY value"
        ).fetchall()
    assert [msgspec.convert(doc, Customer) for (doc,) in docs] == [huck, imposter]
    assert [bytes(value) for (value,) in values] == [
        b"HUCK.FINN@example.com",
        b"huck.finn@example.com",
    ]


def test_a_database_of_a_newer_version_is_refused_naming_both_versions(
    url: str, postgresql_server: postgresql.Server, store_at: Callable[[str], PostgresStore]
) -> None:
    store_at(url)
    with psycopg.connect(url) as connection:
        connection.execute("UPDATE capkit.schema_version SET version = %s", (schema.VERSION + 1,))
    assert refusal(url) == (
        f"cannot be used: the database at capkit@127.0.0.1:{postgresql_server.port}"
        f"/{url.rpartition('/')[2]} holds capkit's schema version {schema.VERSION + 1}, newer"
        f" than the version {schema.VERSION} that this capkit knows: upgrade capkit, or use"
        " another database"
    )
    assert schema_version(url) == schema.VERSION + 1


def test_a_server_older_than_the_schema_needs_is_refused_naming_its_version(
    url: str, postgresql_server: postgresql.Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    with psycopg.connect(url) as connection:
        major = connection.info.server_version // 10000
    monkeypatch.setattr(schema, "OLDEST_SERVER", major + 1)
    assert refusal(url) == (
        f"cannot be used: the database at capkit@127.0.0.1:{postgresql_server.port}"
        f"/{url.rpartition('/')[2]} runs on PostgreSQL {major}, older than {major + 1}, the"
        " oldest that capkit's schema runs on"
    )
    assert not has_schema(url)


def test_a_database_in_an_encoding_that_refuses_utf_8_names_is_refused_naming_it(
    postgresql_server: postgresql.Server,
) -> None:
    # EUC_JP reads 0xE6 0x93 as no character: the start of 操 in UTF-8, which the documented
    # seed holds; its save ended the start in a traceback.
    url = postgresql_server.create_database(f"test_{next(_databases)}", encoding="EUC_JP")
    assert refusal(url) == (
        f"cannot be used: the database at capkit@127.0.0.1:{postgresql_server.port}"
        f"/{url.rpartition('/')[2]} is in the encoding EUC_JP, in which PostgreSQL refuses"
        " some of the names a client may send: create it with ENCODING 'UTF8'"
    )
    assert not has_schema(url)


@pytest.mark.parametrize("encoding", ["LATIN1", "WIN1252", "SQL_ASCII"])
def test_a_database_in_an_encoding_of_a_byte_a_character_keeps_every_name(
    encoding: str, postgresql_server: postgresql.Server, store_at: Callable[[str], PostgresStore]
) -> None:
    # WIN1252 leaves 0x8F and 0x9D undefined, which 小 and 李 hold in UTF-8: kept, as bytes.
    url = postgresql_server.create_database(f"test_{next(_databases)}", encoding=encoding)
    store = store_at(url)
    wechat = Identifier("wechat", "李-wx-\u00e9")
    saved = Customer(
        FIRST_NEW_ID,
        "loyalty",
        profiles=(Profile("WECHAT", "22232", first_name="李小龙", identifiers=(wechat,)),),
    )
    with store.write() as tx:
        tx.save(saved)
    with store.read() as tx:
        assert tx.customer(FIRST_NEW_ID) == saved
        assert [holding.customer_id for holding in tx.holders(wechat)] == [FIRST_NEW_ID]
        assert tx.search("李小").customers == [saved]


def test_replicas_starting_together_create_the_schema_once(
    url: str, store_at: Callable[[str], PostgresStore]
) -> None:
    replicas = 6
    barrier = threading.Barrier(replicas)

    def start(_: int) -> Store:
        barrier.wait()
        return store_at(url)

    with ThreadPoolExecutor(replicas) as pool:
        stores = list(pool.map(start, range(replicas)))
    with stores[0].write() as tx:
        tx.save(customer(tx.new_id(), MOBILE))
    with stores[-1].read() as tx:
        assert [c.id for c in tx.customers()] == [FIRST_NEW_ID]
    assert schema_version(url) == schema.VERSION


def test_a_server_that_stops_answering_during_the_migration_is_one_line_in_seconds(
    url: str, postgresql_server: postgresql.Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    with ExitStack() as stack:

        def connect_then_pause(url: str) -> psycopg.Connection[Any]:
            connection = connect(url)
            stack.enter_context(postgresql_server.paused())
            return connection

        monkeypatch.setattr(postgresql_package, "connect", connect_then_pause)
        started = time.monotonic()
        assert refusal(url) == (
            f"cannot be used: PostgreSQL at capkit@127.0.0.1:{postgresql_server.port}"
            f"/{url.rpartition('/')[2]} did not answer within {ANSWER_SECONDS:g} s"
        )
        assert time.monotonic() - started < ANSWER_SECONDS + 1
    assert not has_schema(url)


def test_a_role_that_may_only_read_and_write_the_tables_runs_a_replica(
    url: str,
    store_at: Callable[[str], PostgresStore],
    journal_at: Callable[[str], PostgresJournal],
) -> None:
    store_at(url)  # the database's owner creates the schema
    role = f"mock_{next(_databases)}"
    (granted,) = re.findall(r"```sql\n(.*?)```", README.read_text(), re.DOTALL)
    with psycopg.connect(url, autocommit=True) as owner:
        owner.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD 'mock'").format(sql.Identifier(role)))
        owner.execute(granted.replace(" TO mock;", f" TO {role};"))
        # A later migration's table, which the last grant of the README's covers.
        owner.execute("CREATE TABLE capkit.later (id integer)")
    as_role = re.sub(r"//[^@]*@", f"//{role}:mock@", url)
    with psycopg.connect(as_role) as connection:
        assert connection.execute("SELECT count(*) FROM capkit.later").fetchall() == [(0,)]

    replica = store_at(as_role)
    new_customer = Identifier("mobile", "919000000002")
    assert register(replica) == FIRST_NEW_ID
    assert holders(replica) == [FIRST_NEW_ID]
    with psycopg.connect(url, autocommit=True) as owner:
        owner.execute(
            sql.SQL("REVOKE INSERT ON capkit.customers FROM {}").format(sql.Identifier(role))
        )
        with pytest.raises(
            StoreUnavailable,
            match=r"^PostgreSQL at mock_.* refuses: permission denied for table customers$",
        ):
            register(replica, new_customer)
        assert holders(replica) == [FIRST_NEW_ID]
        owner.execute(
            sql.SQL("GRANT INSERT ON capkit.customers TO {}").format(sql.Identifier(role))
        )
    assert once_back(lambda: register(replica, new_customer)) == FIRST_NEW_ID + 1
    replica.share_settings({"faults": 0.5})
    assert replica.shared_settings() == {"faults": 0.5}
    assert [replica.count("till", 1) for _ in range(2)] == [1, 2]
    replica.reset([])
    assert holders(replica) == []
    shared = journal_at(as_role)
    shared.record(entry("/v2/as-a-role-of-its-own", 1.0))
    assert [e.url for e in shared.entries()] == ["/v2/as-a-role-of-its-own"]


def register(store: Store, identifier: Identifier = MOBILE) -> int:
    """The id of a new customer holding IDENTIFIER, saved in STORE."""
    with store.write() as tx:
        tx.save(customer(customer_id := tx.new_id(), identifier))
    return customer_id


def holders(store: Store) -> list[int]:
    with store.read() as tx:
        return [holding.customer_id for holding in tx.holders(MOBILE)]


# --- what a bad --state says ----------------------------------------------------------------


def test_a_wrong_password_is_one_line_naming_the_database_not_the_password(
    postgresql_server: postgresql.Server,
) -> None:
    state = postgresql_server.url().replace(postgresql_server.password, "not-the-password")
    message = refusal(state)
    assert message == (
        f"cannot be used: PostgreSQL at capkit@127.0.0.1:{postgresql_server.port}"
        f'/postgres says: connection failed: connection to server at "127.0.0.1", port'
        f" {postgresql_server.port} failed: FATAL: password authentication failed for user"
        ' "capkit"'
    )
    assert "not-the-password" not in message


@pytest.mark.parametrize(
    ("state", "says"),
    [
        ("postgresql://capkit@127.0.0.1:{unused}/capkit", "Connection refused"),
        ("postgres://capkit@127.0.0.1:not-a-port/capkit", 'invalid integer value "not-a-port"'),
        (
            "postgresql://capkit:secret@[::1/capkit",
            'is not a PostgreSQL URL: end of string reached when looking for matching "]" in'
            ' IPv6 host address in URI: "postgresql://capkit:[Filtered]@[::1/capkit"',
        ),
    ],
    ids=["nothing listens", "not a port", "not a URL"],
)
def test_a_database_that_cannot_be_reached_is_one_line_naming_the_problem(
    state: str, says: str
) -> None:
    started = time.monotonic()
    message = refusal(state.format(unused=free_port()))
    assert says in message and "\n" not in message
    assert "secret" not in message
    assert time.monotonic() - started < 5


def test_where_a_database_is_said_to_be_is_where_libpq_connects(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A deployment may give the database by libpq's variables alone: --state postgresql://
    given = {"PGHOST": "db.internal", "PGPORT": "5433", "PGUSER": "capkit", "PGDATABASE": "loyalty"}
    for name, value in given.items():
        monkeypatch.setenv(name, value)
    assert describe("postgresql://") == "capkit@db.internal:5433/loyalty"
    assert describe("postgresql://mock:secret@db.other/capkit") == "mock@db.other:5433/capkit"


_SETTINGS = Query(
    "SELECT current_setting('application_name'), current_setting('work_mem'),"
    " current_setting('statement_timeout')"
)


def session_settings(store: PostgresStore) -> list[str]:
    """The application_name, work_mem and statement_timeout of a session of STORE's pool."""
    with store.database.session() as session:
        (row,) = session.rows(_SETTINGS)
    return [(field or b"").decode() for field in row]


def test_the_urls_own_libpq_settings_are_used_beside_the_mocks(
    url: str, store_at: Callable[[str], PostgresStore], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A replica named in pg_stat_activity, a setting of the database's operator: the URL's
    # (or libpq's environment's), where psycopg's arguments would replace them.
    for name in ("PGAPPNAME", "PGOPTIONS"):
        monkeypatch.delenv(name, raising=False)
    timeout = f"{WAIT_SECONDS}s"
    assert session_settings(store_at(url)) == ["capkit mock", "4MB", timeout]
    named = f"{url}?application_name=replica-a&options=-c%20work_mem%3D7MB"
    assert session_settings(store_at(named)) == ["replica-a", "7MB", timeout]
    monkeypatch.setenv("PGAPPNAME", "replica-b")
    monkeypatch.setenv("PGOPTIONS", "-c work_mem=9MB")
    assert session_settings(store_at(url)) == ["replica-b", "9MB", timeout]
    # The URL's over the environment's, as libpq has them; a -c of the URL over the mock's.
    assert session_settings(store_at(named)) == ["replica-a", "7MB", timeout]
    shorter = f"{url}?options=-c%20statement_timeout%3D1500ms"
    assert session_settings(store_at(shorter)) == ["replica-b", "4MB", "1500ms"]


def test_without_the_driver_serve_says_how_to_install_it() -> None:
    program = (
        "import sys; sys.modules['psycopg'] = None\n"
        "from capkit.cli import main\n"
        "main(['serve', '--state', 'postgresql://capkit@db.example/capkit', '--port',"
        f" '{free_port()}'])\n"
    )
    result = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True)
    assert result.returncode == 2
    said, _, command = result.stderr.splitlines()[-1].partition("): ")
    assert said == (
        "Error: --state is a PostgreSQL URL, and PostgreSQL's driver is not installed (import"
        " of psycopg halted; None in sys.modules"
    )
    # Into this environment, what the extra pins: `pip install 'capkit[postgresql]'` would
    # fetch PyPI's capkit, another project.
    words = shlex.split(command)
    assert words[:4] == [sys.executable, "-m", "pip", "install"]
    packages = words[4:]
    pyproject = tomllib.loads((Path(__file__).parents[3] / "pyproject.toml").read_text())
    extra = pyproject["project"]["optional-dependencies"]["postgresql"]
    assert sorted(map(Requirement, packages), key=str) == sorted(map(Requirement, extra), key=str)


# --- replicas on one database ---------------------------------------------------------------


@pytest.fixture
def replicas(url: str, store_at: Callable[[str], PostgresStore]) -> tuple[Store, Store]:
    """Two stores on one database, with a pool each, as two replicas of the mock have."""
    return store_at(url), store_at(url)


def test_a_write_of_one_replica_is_read_by_the_other(replicas: tuple[Store, Store]) -> None:
    first, second = replicas
    with first.write() as tx:
        tx.save(customer(tx.new_id(), MOBILE))
    with second.read() as tx:
        assert [h.customer_id for h in tx.holders(MOBILE)] == [FIRST_NEW_ID]
    with second.write() as tx:
        assert tx.new_id() == FIRST_NEW_ID + 1
    first.reset([])
    with second.read() as tx:
        assert tx.customers() == []


def test_replicas_racing_to_register_one_identifier_make_one_holder(
    replicas: tuple[Store, Store],
) -> None:
    racers = 12
    barrier = threading.Barrier(racers)

    def register(number: int) -> int | None:
        store = replicas[number % 2]
        barrier.wait()
        with store.write() as tx:
            if tx.holders(MOBILE, source="INSTORE", account_id=""):
                return None
            registered = tx.new_id()
            tx.save(customer(registered, MOBILE))
            return registered

    with ThreadPoolExecutor(racers) as pool:
        results = list(pool.map(register, range(racers)))
    assert [result for result in results if result is not None] == [FIRST_NEW_ID]


def test_a_replica_killed_in_a_write_leaves_the_database_to_the_others(
    url: str, store_at: Callable[[str], PostgresStore]
) -> None:
    program = (
        "import sys, time\n"
        "from mockserver.storage.backends import open_store\n"
        "from mockserver.domain.records import Customer\n"
        "store = open_store(sys.argv[1])\n"
        "with store.write() as tx:\n"
        "    tx.save(Customer(tx.new_id(), 'loyalty'))\n"
        "    print('writing', flush=True)\n"
        "    time.sleep(60)\n"
    )
    store = store_at(url)
    with subprocess.Popen(
        [sys.executable, "-c", program, url], stdout=subprocess.PIPE, text=True
    ) as replica:
        try:
            assert replica.stdout is not None and replica.stdout.readline() == "writing\n"
        finally:
            replica.kill()
    started = time.monotonic()
    with store.write() as tx:
        assert tx.new_id() == FIRST_NEW_ID  # the killed replica's write is not there
    assert time.monotonic() - started < 5


# --- the journal they share -----------------------------------------------------------------


def entry(url: str, started: float) -> Entry:
    return Entry(
        started=started,
        duration_ms=1.0,
        method="GET",
        url=url,
        request_headers=[("HTTP_AUTHORIZATION", "Basic [Filtered]")],
        request_body="\x00 and é",
        request_body_size=9,
        status=200,
        response_headers=[("Content-Type", "application/json")],
        response_body="{}",
    )


@pytest.fixture
def journals(
    url: str, journal_at: Callable[[str], PostgresJournal]
) -> tuple[PostgresJournal, PostgresJournal]:
    """The journals of two replicas on one database."""
    return journal_at(url), journal_at(url)


def within_a_second(journal: PostgresJournal, expected: list[Entry]) -> None:
    """JOURNAL lists EXPECTED within a second: another replica writes its entries behind."""
    soon(lambda: journal.entries() == expected)
    assert journal.entries() == expected


def test_the_journal_lists_every_replicas_entries_in_time_order(
    journals: tuple[PostgresJournal, PostgresJournal],
) -> None:
    mine, theirs = journals
    mine.record(entry("/v2/first", 1.0))
    theirs.record(entry("/v2/third", 3.0))
    mine.record(entry("/v2/second", 2.0))
    assert "/v2/second" in [e.url for e in mine.entries()]  # its own, once answered
    within_a_second(
        theirs,
        [entry(f"/v2/{n}", s) for n, s in [("first", 1.0), ("second", 2.0), ("third", 3.0)]],
    )


def test_clearing_the_journal_on_one_replica_clears_it_for_all(
    journals: tuple[PostgresJournal, PostgresJournal],
) -> None:
    mine, theirs = journals
    mine.record(entry("/v2/mine", 1.0))
    theirs.record(entry("/v2/theirs", 2.0))
    within_a_second(theirs, [entry("/v2/mine", 1.0), entry("/v2/theirs", 2.0)])
    theirs.clear()
    assert mine.entries() == []
    after = entry("/v2/after", time.time() + 1)
    mine.record(after)
    within_a_second(theirs, [after])


def test_a_clear_hides_the_entries_another_replica_writes_after_it_of_requests_before_it(
    journals: tuple[PostgresJournal, PostgresJournal], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A replica writes what it answered up to 50 ms later: a clear on another in between
    # found nothing of it to delete.
    monkeypatch.setattr(postgresql_journal, "_GATHER_SECONDS", 0.5)
    mine, theirs = journals
    theirs.record(entry("/v2/answered-before-the-clear", time.time()))
    mine.clear()
    assert theirs.entries() == [] and mine.entries() == []  # theirs waits for its writing
    after = entry("/v2/after", time.time() + 1)
    theirs.record(after)
    within_a_second(mine, [after])


def test_the_journal_s_version_changes_once_any_replica_records_or_clears(
    journals: tuple[PostgresJournal, PostgresJournal],
) -> None:
    mine, theirs = journals
    mine.record(entry("/v2/mine", 1.0))
    seen = mine.version()  # once its own entry is written
    assert theirs.version() == seen == mine.version()
    theirs.record(entry("/v2/theirs", 2.0))
    recorded = theirs.version()
    assert recorded != seen and mine.version() == recorded
    mine.clear()
    assert theirs.version() not in (seen, recorded)


def test_the_journal_s_version_changes_when_an_older_row_commits_after_a_newer(
    url: str, journals: tuple[PostgresJournal, PostgresJournal]
) -> None:
    mine, theirs = journals
    mine.version()  # the schema made
    with psycopg.connect(url) as late:  # a replica whose row takes its seq, then commits last
        late.execute(
            "INSERT INTO capkit.requests (size, entries) VALUES (1, %s)",
            [msgspec.json.encode(entry("/v2/late", 1.0)).decode()],
        )
        theirs.record(entry("/v2/theirs", 2.0))
        before = theirs.version()
        assert [e.url for e in mine.entries()] == ["/v2/theirs"]
    assert mine.version() != before
    assert [e.url for e in mine.entries()] == ["/v2/late", "/v2/theirs"]


def test_the_journal_keeps_the_most_recent_entries(
    journals: tuple[PostgresJournal, PostgresJournal], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(journal, "CAPACITY", 3)
    mine, theirs = journals
    for number in range(250):
        theirs.record(entry(f"/v2/{number}", float(number)))
    within_a_second(mine, [entry(f"/v2/{n}", float(n)) for n in (247, 248, 249)])
    for number in range(250, 255):
        mine.record(entry(f"/v2/{number}", float(number)))
    assert mine.entries() == [entry(f"/v2/{n}", float(n)) for n in (252, 253, 254)]
    with psycopg.connect(mine.database.url) as connection:
        (kept,) = connection.execute("SELECT sum(size) FROM capkit.requests").fetchone() or (0,)
    assert kept <= 5  # older entries are deleted, not only hidden


def test_a_batch_written_twice_is_listed_once(
    journals: tuple[PostgresJournal, PostgresJournal],
) -> None:
    """As a batch is whose write went unanswered (the database paused while it committed):
    the writer cannot tell, and writes it again."""
    mine, theirs = journals
    batch = [dataclasses.replace(entry(f"/v2/{n}", float(n)), id=f"id{n}") for n in range(3)]
    mine._insert(batch)
    mine._insert(batch)
    assert theirs.entries() == batch


def test_a_batch_whose_trim_fails_is_written_and_not_to_be_written_again(
    journals: tuple[PostgresJournal, PostgresJournal], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(journal, "CAPACITY", 3)  # each batch trims what is past 3 entries
    mine, _ = journals
    first, *later = [entry(f"/v2/{n}", float(n)) for n in range(4)]
    mine._insert([first])
    with psycopg.connect(mine.database.url) as holder:
        holder.execute("SELECT seq FROM capkit.requests FOR UPDATE")  # the trim waits, then fails
        for one in later:
            mine._insert([one])  # raised, after its insert had been written, and was retried
    with psycopg.connect(mine.database.url) as connection:
        (kept,) = connection.execute("SELECT sum(size) FROM capkit.requests").fetchone() or (0,)
    assert kept == 4


def test_the_journal_keeps_fewer_big_entries_within_its_bytes(
    journals: tuple[PostgresJournal, PostgresJournal], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(journal, "CAPACITY_BYTES", 25_000)
    mine, theirs = journals
    recorded = [
        dataclasses.replace(entry(f"/v2/{n}", float(n)), response_body="x" * 10_000)
        for n in range(8)
    ]
    for each in recorded:  # about 10 KB each, a row each: two fit
        theirs.record(each)
        theirs.entries()
    assert mine.entries() == recorded[-2:]
    with psycopg.connect(mine.database.url) as connection:
        (rows,) = connection.execute("SELECT count(*) FROM capkit.requests").fetchone() or (0,)
    assert rows <= 3  # older rows are deleted, not only hidden


def test_a_row_s_worth_of_entries_is_written_without_waiting_for_more(
    journals: tuple[PostgresJournal, PostgresJournal], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Were the thread to gather more before writing each full row, a process answering
    # faster than a row per gathering would queue ever more entries.
    monkeypatch.setattr(postgresql_journal, "_GATHER_SECONDS", 3600)
    mine, theirs = journals
    recorded = [entry(f"/v2/{n}", float(n)) for n in range(2 * postgresql_journal._BATCH)]
    with theirs._changed:  # the writing thread finds them all queued, as under a steady load
        for each in recorded:
            theirs.record(each)
    within_a_second(mine, recorded)


def test_a_row_s_worth_queued_while_the_thread_gathers_is_written_at_once(
    journals: tuple[PostgresJournal, PostgresJournal], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(postgresql_journal, "_GATHER_SECONDS", 3600)
    mine, theirs = journals
    recorded = [entry(f"/v2/{n}", float(n)) for n in range(postgresql_journal._BATCH)]
    theirs.record(recorded[0])
    time.sleep(0.2)  # the writing thread gathers
    for each in recorded[1:]:
        theirs.record(each)
    within_a_second(mine, recorded)


def test_a_replica_lists_its_own_entries_without_waiting_for_the_thread_to_gather(
    journals: tuple[PostgresJournal, PostgresJournal], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(postgresql_journal, "_GATHER_SECONDS", 5)
    mine, _ = journals
    mine.record(entry("/v2/first", 1.0))
    time.sleep(0.2)  # the writing thread gathers
    mine.record(entry("/v2/second", 2.0))
    started = time.monotonic()
    assert mine.entries() == [entry("/v2/first", 1.0), entry("/v2/second", 2.0)]
    assert time.monotonic() - started < 1


# --- an outage of the database --------------------------------------------------------------


def test_a_store_whose_database_goes_down_refuses_in_seconds_and_comes_back(
    url: str,
    postgresql_server: postgresql.Server,
    store_at: Callable[[str], PostgresStore],
    journal_at: Callable[[str], PostgresJournal],
) -> None:
    store, other_replica = store_at(url), store_at(url)
    shared = journal_at(url)
    with store.write() as tx:
        tx.save(customer(tx.new_id(), MOBILE))
    assert other_replica.shared_settings() is None  # it listens for changes from here on
    postgresql_server.stop()
    try:
        for _ in range(3):
            started = time.monotonic()
            with pytest.raises(StoreUnavailable, match=r"^PostgreSQL at capkit@127\.0\.0\.1"):
                with store.read() as tx:
                    tx.customers()
            assert time.monotonic() - started < WAIT_SECONDS + 1
        shared.record(entry("/v2/while-down", 1.0))  # kept, not raised
        with pytest.raises(StoreUnavailable):
            shared.entries()
    finally:
        postgresql_server.start()

    def ids() -> list[int]:
        with store.read() as tx:
            return [c.id for c in tx.customers()]

    # Each comes back by itself, once it tries the database again (every RETRY_SECONDS).
    assert once_back(ids) == [FIRST_NEW_ID]
    # Written once the database is back: what clients met meanwhile is what one looks for.
    assert soon(lambda: once_back(shared.entries) == [entry("/v2/while-down", 1.0)], seconds=5)
    # The other listens again: it hears of settings changed after the restart.
    once_back(lambda: store.share_settings({"faults": 0.5}))
    heard = soon(lambda: once_back(other_replica.shared_settings) == {"faults": 0.5}, seconds=15)
    assert heard, "the change was not heard"


def test_a_store_whose_database_stops_answering_refuses_in_seconds_and_comes_back(
    url: str, postgresql_server: postgresql.Server, store_at: Callable[[str], PostgresStore]
) -> None:
    store = store_at(url)
    register(store)
    with postgresql_server.paused():
        for _ in range(3):
            started = time.monotonic()
            with pytest.raises(StoreUnavailable, match=r"^PostgreSQL at .* cannot be reached"):
                holders(store)
            assert time.monotonic() - started < ANSWER_SECONDS + 1
    assert once_back(lambda: holders(store)) == [FIRST_NEW_ID]


def test_the_journal_of_a_database_that_stops_answering_refuses_in_seconds_and_comes_back(
    url: str,
    postgresql_server: postgresql.Server,
    journal_at: Callable[[str], PostgresJournal],
) -> None:
    recorded = journal_at(url)
    with postgresql_server.paused():
        # Each read is one wait for the database: none waits for the writer's tries besides.
        for number in range(4):
            recorded.record(entry(f"/v2/{number}", float(number)))
            started = time.monotonic()
            with pytest.raises(StoreUnavailable):
                recorded.entries()
            assert time.monotonic() - started < ANSWER_SECONDS + 1
    expected = [entry(f"/v2/{number}", float(number)) for number in range(4)]
    assert soon(lambda: once_back(recorded.entries) == expected, seconds=10)


def test_a_session_the_server_ended_is_replaced_without_a_line_in_the_log(
    url: str, store_at: Callable[[str], PostgresStore], caplog: pytest.LogCaptureFixture
) -> None:
    # As an administrator's pg_terminate_backend, or a proxy's idle timeout, ends it: the pool
    # said "discarding closed connection: <psycopg.Connection [BAD] at 0x7fc6034d6a10>" of
    # each, where no request met anything.
    store = store_at(url)
    register(store)
    with store.database.session() as session:
        ((pid,),) = session.rows(Query("SELECT pg_backend_pid()::text"))
    assert pid is not None
    with connect(url) as administrator:
        administrator.execute("SELECT pg_terminate_backend(%s, 5000)", [int(pid.decode())])
    with caplog.at_level(logging.INFO):
        assert holders(store) == [FIRST_NEW_ID]
    assert caplog.records == []


def test_a_journal_read_that_waits_for_a_write_to_a_paused_server_holds_up_no_other_request(
    url: str,
    postgresql_server: postgresql.Server,
    journal_at: Callable[[str], PostgresJournal],
) -> None:
    recorded = journal_at(url)
    recorded.record(entry("/v2/before", 0.0))
    assert recorded.entries() == [entry("/v2/before", 0.0)]  # the writer's connection is open

    async def main() -> tuple[float, list[Entry] | Exception]:
        recorded.record(entry("/v2/meanwhile", 1.0))
        with postgresql_server.paused():
            return await loop_held_by(recorded.entries)

    longest_pause, outcome = run(main)
    assert isinstance(outcome, StoreUnavailable)
    assert longest_pause < 0.5


class _NoSuchCustomer(Exception):
    """What the API's 8015 is to the store: an error of the request's own, raised in the read
    from what the database answered."""


def _look_up_no_one(store: Store) -> None:
    with store.read() as tx:
        if not tx.holders(Identifier("mobile", "919000000009")):
            raise _NoSuchCustomer


def _register_taken(store: Store) -> None:
    register(store)  # MOBILE is held already: IdentifierTaken, the write rolled back


@pytest.mark.parametrize(
    "request_raising",
    [_look_up_no_one, _register_taken],
    ids=["a lookup of no customer", "a registration of a taken identifier"],
)
def test_a_store_back_from_an_outage_serves_whatever_the_request_that_tried_it_raised(
    url: str,
    postgresql_server: postgresql.Server,
    store_at: Callable[[str], PostgresStore],
    request_raising: Callable[[Store], None],
) -> None:
    # The request that tries the database again (one every RETRY_SECONDS) may raise an error of
    # its own from the database's answer: it was marked back only by a request that raised
    # nothing, and a replica whose traffic was lookups of unknown customers answered 503 "no
    # answer from the server" at once to all but one request every half second, for good.
    store = store_at(url)
    register(store)
    with postgresql_server.paused():
        with pytest.raises(StoreUnavailable, match=r"^PostgreSQL at .* cannot be reached"):
            holders(store)

    def tried() -> bool:
        try:
            request_raising(store)
        except (_NoSuchCustomer, IdentifierTaken):
            return True  # the database answered it
        return False

    assert once_back(tried)
    for _ in range(3):  # at once: within RETRY_SECONDS of the try
        assert holders(store) == [FIRST_NEW_ID]


def test_settings_a_replica_heard_of_and_could_not_read_are_read_by_its_next_request(
    url: str, postgresql_server: postgresql.Server, store_at: Callable[[str], PostgresStore]
) -> None:
    # A replica hears of a change once: were the notification forgotten when the read it calls
    # for fails (the database paused), the replica would keep the settings the change replaced
    # until the next change (a tester's replica rehearsed 503s for good after a DELETE).
    store, other_replica = store_at(url), store_at(url)
    store.share_settings({"faults": 1.0})
    assert soon(lambda: other_replica.shared_settings() == {"faults": 1.0})
    store.share_settings(None)
    listening = other_replica._listener._connection
    assert listening is not None
    # The notification is on the replica's socket before the database stops answering.
    assert soon(lambda: bool(select.select([listening.fileno()], [], [], 0)[0]))
    with postgresql_server.paused():
        with pytest.raises(StoreUnavailable, match=r"^PostgreSQL at .* cannot be reached"):
            other_replica.shared_settings()
    assert once_back(other_replica.shared_settings) is None


def test_settings_changed_while_a_replica_s_listening_session_was_lost_are_read_again(
    url: str, store_at: Callable[[str], PostgresStore]
) -> None:
    # A notification sent while the replica listened on no session reaches it on none: once
    # it listens again, it reads the settings, whether or not they changed meanwhile.
    store, other_replica = store_at(url), store_at(url)
    assert other_replica.shared_settings() is None  # it listens from here on
    listening = other_replica._listener._connection
    assert listening is not None
    ended = "SELECT pg_terminate_backend(%s, 5000)"  # returns once the session has ended
    with connect(url) as administrator:
        administrator.execute(ended, [listening.info.backend_pid])
    store.share_settings({"faults": 0.5})
    # Its first request reads them: the session's end is on its socket before the change.
    assert once_back(other_replica.shared_settings) == {"faults": 0.5}


def test_requests_that_read_the_settings_while_another_holds_the_connection_aside_all_have_them(
    url: str, store_at: Callable[[str], PostgresStore]
) -> None:
    # A request that reads the settings may wait aside for the connection: were it to hold the
    # store's lock meanwhile, the next request to ask would wait for the lock holding the loop,
    # and with it the request that holds the connection: the worker stuck for good.
    store_at(url).share_settings({"faults": 0.5})
    replica = store_at(url)  # it has not read them yet
    slow = Query("SELECT pg_sleep(0.3)")

    def hold_the_connection() -> None:
        with replica.database.session() as session:
            session.rows(slow)

    async def main() -> list[Any]:
        holding = asyncio.ensure_future(interleaving.answer(hold_the_connection))
        await asyncio.sleep(0.1)
        asking = [interleaving.answer(replica.shared_settings) for _ in range(2)]
        return await asyncio.gather(holding, *asking, return_exceptions=True)

    outcomes: list[list[Any]] = []
    worker = threading.Thread(target=lambda: outcomes.append(run(main)), daemon=True)
    worker.start()
    worker.join(timeout=10)
    assert outcomes == [[None, {"faults": 0.5}, {"faults": 0.5}]], "the worker is stuck"


def test_listening_anew_to_a_paused_server_holds_up_no_other_request(
    url: str, postgresql_server: postgresql.Server, store_at: Callable[[str], PostgresStore]
) -> None:
    """The server takes the listening session's connection and says nothing until the connect
    times out, as `docker pause` leaves a database: the worker's loop goes on meanwhile."""
    store = store_at(url)  # it listens on no session yet

    async def main() -> tuple[float, Any]:
        with postgresql_server.paused():
            return await loop_held_by(store.shared_settings)

    longest_pause, outcome = run(main)
    assert isinstance(outcome, StoreUnavailable)
    assert "cannot be reached" in str(outcome)
    assert longest_pause < 0.5


def test_a_server_paused_between_a_connection_and_its_listen_is_given_up_in_seconds(
    url: str, postgresql_server: postgresql.Server
) -> None:
    with ExitStack() as stack:

        def connect_then_pause() -> psycopg.Connection[Any]:
            connection = stack.enter_context(connect(url))
            stack.enter_context(postgresql_server.paused())
            return connection

        listener = Listener(connect_then_pause, "capkit_test")
        started = time.monotonic()
        with pytest.raises(StoreUnavailable, match="PostgreSQL did not LISTEN: no answer"):
            listener.heard()
        assert time.monotonic() - started < ANSWER_SECONDS + 1


def test_statements_bigger_than_the_socket_takes_at_once_are_sent_whole(
    url: str, postgresql_server: postgresql.Server, store_at: Callable[[str], PostgresStore]
) -> None:
    # psycopg's connections do not block: libpq keeps what the socket did not take, to be
    # flushed. A save of 5,000 identifiers is about 400 KB of statements; a Unix socket takes
    # 208 KB at once here (a slow network's TCP buffer fills as well). It waited for an answer
    # to statements the server never had in full: 503 "no answer within 2.5 s", database down.
    store = store_at(postgresql_server.socket_url(url))
    many = tuple(Identifier("externalId", f"ext-{index}") for index in range(5_000))
    with store.write() as tx:
        tx.save(customer(customer_id := tx.new_id(), *many))
    with store.read() as tx:
        assert [holding.customer_id for holding in tx.holders(*many)] == [customer_id] * 5_000


def test_a_write_waiting_for_a_lock_past_the_timeout_and_a_failing_statement_say_which(
    url: str, store_at: Callable[[str], PostgresStore]
) -> None:
    store = store_at(url)
    register(store)
    with connect(url) as holder:
        holder.execute("BEGIN")
        holder.execute("LOCK TABLE capkit.customers IN ACCESS EXCLUSIVE MODE")
        started = time.monotonic()
        with pytest.raises(
            StoreUnavailable,
            match=r"^PostgreSQL at .* did not answer in time: canceling statement due to .*"
            r" \(a statement runs for at most 2 s, and a write waits as long for the writes of"
            r" every replica before it: one of thousands of customers or identifiers may hold"
            r" the others that long\)$",
        ):
            register(store, Identifier("mobile", "919000000002"))
        assert time.monotonic() - started < WAIT_SECONDS + 1
        holder.execute("ROLLBACK")
    with pytest.raises(
        StoreUnavailable, match=r"^PostgreSQL at .* failed: array size exceeds the maximum"
    ):
        with store.database.session() as session:
            session.rows(Query("SELECT array_fill(1, ARRAY[1000000000])"))
    assert holders(store) == [FIRST_NEW_ID]  # neither is taken for the database down


def test_a_database_that_takes_no_writes_refuses_them_serves_reads_and_writes_once_it_may(
    url: str,
    store_at: Callable[[str], PostgresStore],
    journal_at: Callable[[str], PostgresJournal],
) -> None:
    register(store_at(url))
    database = sql.Identifier(url.rpartition("/")[2])
    with psycopg.connect(url, autocommit=True) as owner:
        # Sessions begin read-only from now on, as a standby's do.
        owner.execute(
            sql.SQL("ALTER DATABASE {} SET default_transaction_read_only = on").format(database)
        )
        store = store_at(url)  # a replica starts: its schema is up to date, nothing to write
        new_customer = Identifier("mobile", "919000000002")
        for _ in range(2):
            with pytest.raises(
                StoreUnavailable,
                match=r"^PostgreSQL at .* refuses: cannot execute .* in a read-only transaction",
            ):
                register(store, new_customer)
            assert holders(store) == [FIRST_NEW_ID]  # not taken for down: reads go on
        recorded = journal_at(url)
        recorded.record(entry("/v2/while-read-only", 1.0))
        assert recorded.entries() == []  # listed once written
        owner.execute(
            sql.SQL("ALTER DATABASE {} RESET default_transaction_read_only").format(database)
        )
    # The session that was refused was replaced: a new one may write.
    assert once_back(lambda: register(store, new_customer)) == FIRST_NEW_ID + 1
    assert soon(lambda: recorded.entries() == [entry("/v2/while-read-only", 1.0)], seconds=5)


def once_back(read: Callable[[], T]) -> T:
    """What READ returns once it no longer raises StoreUnavailable, within 15 s."""
    deadline = time.monotonic() + 15
    while True:
        try:
            return read()
        except StoreUnavailable:
            assert time.monotonic() < deadline, f"{read.__name__} did not come back"
            time.sleep(0.2)


# --- where there is no server ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("required", "outcome"),
    [("", "1 skipped"), ("1", "1 error")],
    ids=["on a laptop: skipped", "in CI: an error"],
)
def test_without_a_server_the_tests_skip_unless_ci_requires_them(
    required: str, outcome: str, tmp_path: Path
) -> None:
    root = Path(__file__).resolve().parents[3]
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "-rs",
            "--no-header",
            "tests/mockserver/storage/test_store.py::test_new_id_skips_taken_ids[postgresql]",
        ],
        cwd=root,
        env={"PATH": str(tmp_path), postgresql.REQUIRED: required, "TMPDIR": str(tmp_path)},
        capture_output=True,
        text=True,
    )
    assert outcome in result.stdout.splitlines()[-1], result.stdout
    assert (
        "pg_config is not on PATH: install PostgreSQL's server (apt-get install postgresql)"
        in result.stdout
    )
