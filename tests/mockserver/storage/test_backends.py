"""The factory of the Store, from --state: a path is a SQLite file, a postgresql:// URL a
PostgreSQL database (tests/mockserver/storage/test_postgresql.py), another URL no backend."""

from __future__ import annotations

from pathlib import Path

import pytest

from mockserver.domain.records import Customer
from mockserver.storage import StateUnusable
from mockserver.storage.backends import open_store


def test_a_path_is_a_sqlite_file_that_keeps_the_state(tmp_path: Path) -> None:
    state = str(tmp_path / "state.db")
    store = open_store(state)
    try:
        with store.write() as tx:
            tx.save(Customer(7, "loyalty"))
    finally:
        store.close()
    assert Path(state).read_bytes().startswith(b"SQLite format 3\0")
    reopened = open_store(state)
    try:
        with reopened.read() as tx:
            assert tx.customers() == [Customer(7, "loyalty")]
    finally:
        reopened.close()


@pytest.mark.parametrize("state", ["redis://localhost:6379/0", "mysql://mock@db/capkit"])
def test_a_url_of_no_backend_is_refused_saying_what_the_state_must_be(state: str) -> None:
    with pytest.raises(StateUnusable) as refused:
        open_store(state)
    scheme = state.partition("://")[0]
    assert str(refused.value) == (
        "must be the path of a SQLite file or a postgresql:// URL"
        f" (no backend keeps the state at {scheme}:// URLs), got '{state}'"
    )


def test_a_file_in_a_missing_folder_is_refused_saying_what_the_state_must_be(
    tmp_path: Path,
) -> None:
    state = str(tmp_path / "nowhere" / "state.db")
    expected = r"^must be in a folder that exists \(create .*nowhere first\), got '"
    with pytest.raises(StateUnusable, match=expected):
        open_store(state)
    assert not (tmp_path / "nowhere").exists()
