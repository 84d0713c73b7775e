"""The one place a Store is built: from the --state setting, the path of a SQLite file or the
URL of a PostgreSQL database (postgresql://, or postgres://).

A backend is opened here, by its scheme, and passes tests/mockserver/storage/test_store.py.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from mockserver.settings import SettingsError
from mockserver.storage import Store
from mockserver.storage.sqlite import SqliteStore

if TYPE_CHECKING:
    from mockserver.storage.postgresql import Database

_URL = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://")
POSTGRESQL_SCHEMES = ("postgresql", "postgres")
#: Connections to PostgreSQL that each worker process keeps: one per thread that serves.
DB_POOL = 2


def open_store(state: str, *, db_pool: int = DB_POOL) -> Store:
    """The Store that STATE names. Raises SettingsError, naming --state, for a URL of no
    backend, a file in a folder that does not exist, or a database that cannot be used."""
    url = _URL.match(state)
    if url is not None and url["scheme"].lower() in POSTGRESQL_SCHEMES:
        database = open_postgresql(state, db_pool=db_pool)
        from mockserver.storage.postgresql.store import PostgresStore

        return PostgresStore(database)
    if url is not None:
        raise SettingsError(
            "state",
            "--state must be the path of a SQLite file or a postgresql:// URL (no backend"
            f" keeps the state at {url['scheme']}:// URLs), got {state!r}",
        )
    path = Path(state)
    if not path.parent.is_dir():
        raise SettingsError(
            "state",
            f"--state must be in a folder that exists (create {path.parent} first), got {state!r}",
        )
    return SqliteStore(path)


def open_postgresql(url: str, *, db_pool: int, synchronous: bool = True) -> Database:
    """The PostgreSQL database at URL, its schema up to date, DB_POOL connections in each
    process, whose commits wait for the disk if SYNCHRONOUS. Raises SettingsError, naming
    --state, without PostgreSQL's driver, or for a database that cannot be used."""
    try:
        import psycopg  # noqa: F401 (installed by capkit[postgresql], and loads libpq)
        import psycopg_pool  # noqa: F401
    except ImportError as error:
        raise SettingsError(
            "state",
            f"--state {url.partition('://')[0]}://... needs PostgreSQL's driver, which is not"
            f" installed ({error}): pip install 'capkit[postgresql]'",
        ) from None
    from mockserver.storage.postgresql import DatabaseUnusable, open_database

    try:
        return open_database(url, pool_size=db_pool, synchronous=synchronous)
    except DatabaseUnusable as error:
        raise SettingsError("state", f"--state {error}") from None
