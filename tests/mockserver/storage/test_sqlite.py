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
from mockserver.storage import FIRST_NEW_ID, Found, IdentifierTaken, StateUnusable
from mockserver.storage.sqlite import SqliteStore

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


def test_a_file_of_a_newer_capkit_is_refused_naming_both_versions(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    SqliteStore(path).close()
    with sqlite3.connect(path) as newer:
        newer.execute("PRAGMA user_version = 9")
    newer.close()
    with pytest.raises(StateUnusable, match="version 9, newer than the version 1"):
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
