"""SqliteStore's own: the file on disk, reopened, and shared by several stores and processes."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from mockserver.domain.records import Customer, Identifier, Profile
from mockserver.storage import (
    FIRST_NEW_ID,
    Found,
    IdentifierTaken,
    StateUnusable,
    StoreUnavailable,
)
from mockserver.storage.sqlite import SqliteStore
from tests.processes import refused

MOBILE = Identifier("mobile", "919000000001")


def customer(customer_id: int, *identifiers: Identifier, first_name: str | None = None) -> Customer:
    profile = Profile("INSTORE", first_name=first_name, identifiers=identifiers)
    return Customer(customer_id, "loyalty", profiles=(profile,))


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[SqliteStore]:
    """A SqliteStore in a fresh file of the test's folder."""
    store = SqliteStore(tmp_path / "state.db")
    yield store
    store.close()


# --- the file, shared -----------------------------------------------------------------------


def test_a_file_that_takes_no_writes_is_unavailable_for_them_saying_why(
    sqlite_store: SqliteStore,
) -> None:
    sqlite_store.check_writable()
    # What a file the mock may no longer write does to the connection that reads it.
    sqlite_store._connection().execute("PRAGMA query_only = ON")
    with pytest.raises(
        StoreUnavailable, match=r"^SQLite file .* takes no writes: attempt to write a readonly"
    ):
        sqlite_store.check_writable()


def test_a_file_being_written_is_writable_at_once(sqlite_store: SqliteStore) -> None:
    """What a health check asks: a write under way, in another process, is no refusal."""
    writer = sqlite3.connect(sqlite_store.path, isolation_level=None)
    writer.execute("BEGIN EXCLUSIVE")
    try:
        sqlite_store.check_writable()  # neither waits for the lock nor says read-only
    finally:
        writer.execute("ROLLBACK")
        writer.close()


def test_state_survives_closing_and_reopening(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    store = SqliteStore(path)
    with store.write() as tx:
        registered = customer(tx.new_id(), MOBILE, first_name="Becky")
        tx.save(registered)
    store.close()

    reopened = SqliteStore(path)
    try:
        with reopened.read() as tx:
            assert tx.customers() == [registered]
            assert [h.customer_id for h in tx.holders(MOBILE)] == [registered.id]
            assert tx.search("beck").customers == [registered]
        with reopened.write() as tx:
            assert tx.new_id() == registered.id + 1
    finally:
        reopened.close()


def test_a_file_of_a_capkit_before_versions_is_found_by_search_in_each_source(
    tmp_path: Path,
) -> None:
    path = tmp_path / "state.db"
    store = SqliteStore(path)
    with store.write() as tx:
        becky = customer(tx.new_id(), MOBILE, first_name="Becky")
        tx.save(becky)
    store.close()
    with sqlite3.connect(path) as earlier:  # as a capkit before version 1 left it
        earlier.executescript(
            """
            DROP TABLE search_terms;
            CREATE TABLE search_terms (customer_id INTEGER NOT NULL, term TEXT NOT NULL);
            PRAGMA user_version = 0;
            """
        )
        earlier.execute(
            "INSERT INTO search_terms VALUES (?, 'becky'), (?, ?)",
            (becky.id, becky.id, MOBILE.value),
        )
    earlier.close()

    reopened = SqliteStore(path)
    try:
        with reopened.read() as tx:
            assert tx.search("beck", source="INSTORE") == Found(1, [becky])
            assert tx.search("9190", source="WECHAT", account_id="22232") == Found(0, [])
    finally:
        reopened.close()


def saved_as_version_1(path: Path, *customers: Customer) -> None:
    """CUSTOMERS, saved in a file at PATH as a capkit of file version 1 saved them: each
    identifier as a request spelt it (the store keeps what it is given)."""
    store = SqliteStore(path)
    with store.write() as tx:
        tx.save_all(customers)
    store.close()
    with sqlite3.connect(path) as earlier:
        earlier.execute("PRAGMA user_version = 1")
    earlier.close()


def user_version(path: Path) -> int:
    with sqlite3.connect(path) as connection:
        (version,) = connection.execute("PRAGMA user_version").fetchone()
    connection.close()
    return int(version)


def test_a_file_of_version_1_holds_its_identifiers_in_their_canonical_form_once_opened(
    tmp_path: Path,
) -> None:
    path = tmp_path / "state.db"
    plus, shouted = Identifier("mobile", "+919000000002"), Identifier("email", "Becky@Example.com")
    becky = customer(FIRST_NEW_ID, plus, shouted, first_name="Becky")
    # Two spellings in one profile of one customer: the identifier once, which loses nothing.
    twice = customer(
        FIRST_NEW_ID + 1, Identifier("email", "TOM@x.com"), Identifier("email", "tom@x.com")
    )
    kept = customer(FIRST_NEW_ID + 2, MOBILE, Identifier("externalId", "CaseKept"))
    saved_as_version_1(path, becky, twice, kept)

    reopened = SqliteStore(path)
    try:
        canonical = (Identifier("mobile", "919000000002"), Identifier("email", "becky@example.com"))
        with reopened.read() as tx:
            assert [c.profiles[0].identifiers for c in tx.customers()] == [
                canonical,
                (Identifier("email", "tom@x.com"),),
                kept.profiles[0].identifiers,
            ]
            assert [h.customer_id for h in tx.holders(*canonical)] == [FIRST_NEW_ID] * 2
            assert tx.holders(plus, shouted) == []
            assert ids(tx.search("91900000000")) == [FIRST_NEW_ID, FIRST_NEW_ID + 2]
            assert tx.search("+9190") == Found(0, [])
            assert ids(tx.search("tom@", source="INSTORE")) == [FIRST_NEW_ID + 1]
    finally:
        reopened.close()
    assert user_version(path) == 2


def ids(found: Found) -> list[int]:
    return [each.id for each in found.customers]


def test_a_file_where_two_customers_hold_one_identifier_in_two_spellings_is_refused_as_it_is(
    tmp_path: Path,
) -> None:
    path = tmp_path / "state.db"
    huck = customer(342963216, Identifier("email", "huck.finn@example.com"))
    imposter = customer(FIRST_NEW_ID, Identifier("email", "HUCK.FINN@example.com"))
    saved_as_version_1(path, huck, imposter)
    before = path.read_bytes()
    with pytest.raises(StateUnusable) as refused:
        SqliteStore(path)
    assert str(refused.value) == (
        f"holds customers {FIRST_NEW_ID} and 342963216 with one email,"
        " 'huck.finn@example.com', in INSTORE, spelt 'HUCK.FINN@example.com' and"
        " 'huck.finn@example.com': this capkit keeps an identifier in one spelling, held by one"
        " customer; remove it from one of them with the capkit that wrote this state"
        " (changeIdentifier), then start this one again"
    )
    assert user_version(path) == 1 and path.read_bytes() == before


def test_serve_refuses_such_a_file_in_one_line_and_exit_2(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    saved_as_version_1(
        path,
        customer(306, Identifier("mobile", "919111111111")),
        customer(FIRST_NEW_ID, Identifier("mobile", "+919111111111")),
        customer(
            FIRST_NEW_ID + 1, Identifier("email", "a@x.com"), Identifier("mobile", "+919111111112")
        ),
        customer(FIRST_NEW_ID + 2, Identifier("email", "A@x.com")),
    )
    error = refused("--port", "0", "--state", path)
    assert error.splitlines()[-1] == (
        "Error: --state holds customers 306 and 316452956 with one mobile, '919111111111', in"
        " INSTORE, spelt '919111111111' and '+919111111111' (and 1 more identifier(s) like it):"
        " this capkit keeps an identifier in one spelling, held by one customer; remove it from"
        " one of them with the capkit that wrote this state (changeIdentifier), then start this"
        " one again"
    )


def test_a_file_of_a_newer_capkit_is_refused_naming_both_versions(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    SqliteStore(path).close()
    with sqlite3.connect(path) as newer:
        newer.execute("PRAGMA user_version = 9")
    newer.close()
    with pytest.raises(StateUnusable, match="version 9, newer than the version 2"):
        SqliteStore(path)


def test_two_stores_on_one_file_see_each_others_writes(tmp_path: Path) -> None:
    first, second = SqliteStore(tmp_path / "state.db"), SqliteStore(tmp_path / "state.db")
    try:
        with first.write() as tx:
            becky = customer(tx.new_id(), MOBILE, first_name="Becky")
            tx.save(becky)
        with second.read() as tx:
            assert tx.customer(becky.id) == becky
        with second.write() as tx:
            assert tx.new_id() == becky.id + 1
            with pytest.raises(IdentifierTaken):
                tx.save(customer(becky.id + 1, MOBILE))
        second.reset([])
        with first.read() as tx:
            assert tx.customers() == []
    finally:
        first.close()
        second.close()


# Each worker process opens the file on its own, says it is ready, waits for the start
# signal, then saves a customer holding the same mobile: no check first, so only the
# store's index stands between the workers and a duplicate.
_WORKER = """
import json, sys, time
from pathlib import Path
from mockserver.domain.records import Customer, Identifier, Profile
from mockserver.storage import IdentifierTaken
from mockserver.storage.sqlite import SqliteStore

path, ready, go = (Path(argument) for argument in sys.argv[1:4])
store = SqliteStore(path)
ready.touch()
deadline = time.monotonic() + 60
while not go.exists() and time.monotonic() < deadline:
    time.sleep(0.001)
mobile = Identifier("mobile", "919000000001")
try:
    with store.write() as tx:
        customer_id = tx.new_id()
        tx.save(Customer(customer_id, "loyalty", (Profile("INSTORE", identifiers=(mobile,)),)))
    print(json.dumps({"saved": customer_id}))
except IdentifierTaken as taken:
    print(json.dumps({"taken": taken.holding.customer_id}))
finally:
    store.close()
"""


def test_concurrent_registrations_from_processes_make_one_holder(
    sqlite_store: SqliteStore, tmp_path: Path
) -> None:
    workers = 4
    go = tmp_path / "go"
    ready = [tmp_path / f"ready{number}" for number in range(workers)]
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", _WORKER, str(sqlite_store.path), str(flag), str(go)],
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for flag in ready
    ]
    try:
        deadline = time.monotonic() + 60
        while not all(flag.exists() for flag in ready) and time.monotonic() < deadline:
            time.sleep(0.005)
        go.touch()
        outcomes = []
        for process in processes:
            out, err = process.communicate(timeout=60)
            assert process.returncode == 0, err
            outcomes.append(json.loads(out))
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
    saved = [outcome["saved"] for outcome in outcomes if "saved" in outcome]
    assert saved == [FIRST_NEW_ID]
    assert [o for o in outcomes if "saved" not in o] == [{"taken": FIRST_NEW_ID}] * (workers - 1)
    with sqlite_store.read() as tx:
        assert [h.customer_id for h in tx.holders(MOBILE)] == saved
        assert [each.id for each in tx.customers()] == saved


def test_settings_shared_by_another_process_are_in_force_at_once(
    sqlite_store: SqliteStore,
) -> None:
    assert sqlite_store.shared_settings() is None  # read once, and kept
    sharing = (
        "import sys; from pathlib import Path; from mockserver.storage.sqlite import SqliteStore;"
        " SqliteStore(Path(sys.argv[1])).share_settings({'faults': 1.0})"
    )
    subprocess.run([sys.executable, "-c", sharing, str(sqlite_store.path)], check=True)
    assert sqlite_store.shared_settings() == {"faults": 1.0}
