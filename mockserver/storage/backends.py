"""The one place the state is opened: from the --state setting, the path of a SQLite file or
the URL of a PostgreSQL database (postgresql://, or postgres://).

A backend is opened here, by its scheme, and passes tests/mockserver/storage/test_store.py.
The journal goes with the state: in files beside a SQLite state's workers, in the database
with PostgreSQL (so that every replica lists every replica's requests).
"""

from __future__ import annotations

import dataclasses
import re
import shlex
import sys
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

from mockserver.journal import FileJournal, Journal
from mockserver.storage import StateUnusable, Store
from mockserver.storage.sqlite import SqliteStore

if TYPE_CHECKING:
    from mockserver.storage.postgresql import Database

_URL = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://")
POSTGRESQL_SCHEMES = ("postgresql", "postgres")
#: Connections to PostgreSQL that each worker process keeps for its store's writes: a worker
#: writes for one request at a time (the reads of the requests it answers side by side go
#: together on a connection of their own: postgresql/reads.py).
DB_POOL = 1


@dataclasses.dataclass(frozen=True)
class State:
    """Where a mock keeps what it holds: its customers, and the requests it answered."""

    store: Store
    journal: Journal
    #: Where, for people: the file, or the database without its password.
    where: str
    #: Closes this process's connections (a parent's, before its workers fork).
    close: Callable[[], None]


def open_state(state: str, *, journal: Path, db_pool: int, prepared: bool = False) -> State:
    """The store that STATE names, and the journal that goes with it (in the folder JOURNAL
    beside a SQLite file); PREPARED as open_store takes it. Raises StateUnusable, saying what
    STATE must be."""
    store = open_store(state, db_pool=db_pool, prepared=prepared)
    if not _is_postgresql(state):
        return State(store, FileJournal(journal), state, store.close)
    # The driver is there, from here on.
    from mockserver.storage.postgresql import Database
    from mockserver.storage.postgresql.journal import PostgresJournal
    from mockserver.storage.postgresql.store import PostgresStore

    assert isinstance(store, PostgresStore)
    customers, requests = store.database, Database(state, pool_size=1, synchronous=False)

    def close() -> None:
        customers.close()
        requests.close()

    return State(store, PostgresJournal(requests), f"PostgreSQL {customers.where}", close)


def open_store(state: str, *, db_pool: int = DB_POOL, prepared: bool = False) -> Store:
    """The Store that STATE names; if PREPARED (a process opened it before, as a worker's
    parent does), a database is not asked anything yet, so that a worker restarting while it
    is down starts, and answers 503 until it is back. Raises StateUnusable, saying what STATE
    must be, for a URL of no backend, a file in a folder that does not exist, or a database
    that cannot be used."""
    if _is_postgresql(state):
        database = open_postgresql(state, db_pool=db_pool, prepared=prepared)
        from mockserver.storage.postgresql.store import PostgresStore

        return PostgresStore(database)
    url = _URL.match(state)
    if url is not None:
        raise StateUnusable(
            "must be the path of a SQLite file or a postgresql:// URL (no backend keeps the"
            f" state at {url['scheme']}:// URLs), got {state!r}"
        )
    path = Path(state)
    if not path.parent.is_dir():
        raise StateUnusable(
            f"must be in a folder that exists (create {path.parent} first), got {state!r}"
        )
    return SqliteStore(path)


def open_postgresql(
    url: str, *, db_pool: int, synchronous: bool = True, prepared: bool = False
) -> Database:
    """The PostgreSQL database at URL, its schema brought up to date unless PREPARED, DB_POOL
    connections in each process, whose commits wait for the disk if SYNCHRONOUS. Raises
    StateUnusable without PostgreSQL's driver, or for a database that cannot be used."""
    try:
        import psycopg  # noqa: F401 (installed by the extra postgresql, and loads libpq)
        import psycopg_pool  # noqa: F401
    except ImportError as error:
        raise StateUnusable(
            f"is a PostgreSQL URL, and PostgreSQL's driver is not installed ({error}):"
            f" {driver_install_command()}"
        ) from None
    from mockserver.storage.postgresql import DatabaseUnusable, open_database

    try:
        return open_database(url, pool_size=db_pool, synchronous=synchronous, prepared=prepared)
    except DatabaseUnusable as error:
        raise StateUnusable(str(error)) from None


def driver_install_command() -> str:
    """The command that installs PostgreSQL's driver, as capkit's extra `postgresql` pins it,
    into the environment that runs capkit. Not `pip install 'capkit[postgresql]'`: the capkit
    on PyPI is another project."""
    try:
        requirements = metadata.requires("capkit") or []
    except metadata.PackageNotFoundError:  # run from a checkout, not installed
        requirements = []
    extra = [
        package.strip()
        for package, _, marker in (requirement.partition(";") for requirement in requirements)
        if marker.strip() == 'extra == "postgresql"'
    ]
    packages = extra or ["psycopg[binary]", "psycopg-pool"]
    return shlex.join([sys.executable, "-m", "pip", "install", *packages])


def _is_postgresql(state: str) -> bool:
    url = _URL.match(state)
    return url is not None and url["scheme"].lower() in POSTGRESQL_SCHEMES
