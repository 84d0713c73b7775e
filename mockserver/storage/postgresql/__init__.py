"""The state in PostgreSQL, for replicas of the mock on any number of hosts: the customers
(store.py), the journal of requests (journal.py), in tables that schema.py creates and
migrates, over the pool of database.py.

Needs psycopg 3 and psycopg_pool: capkit's extra `postgresql` (see storage/backends.py).
"""

from __future__ import annotations

import re

import psycopg

from mockserver.storage.postgresql.database import Database, UrlUnusable, connect, describe
from mockserver.storage.postgresql.schema import Unfit, migrate
from mockserver.storage.postgresql.session import ANSWER_SECONDS, NoAnswer

__all__ = ["Database", "DatabaseUnusable", "open_database"]


class DatabaseUnusable(ValueError):
    """The database cannot hold the mock's state; the message says which and why, in a line."""


def open_database(
    url: str, *, pool_size: int, synchronous: bool = True, prepared: bool = False
) -> Database:
    """The database at URL, its schema created or migrated unless PREPARED (then nothing is
    asked of it yet), connected through a pool of POOL_SIZE connections per process, whose
    commits wait for the disk if SYNCHRONOUS. Raises DatabaseUnusable for a URL that is not
    one, a database that cannot be reached or refuses the credentials, a schema of a newer
    capkit, or a server older than the schema needs."""
    try:
        where = describe(url)
    except UrlUnusable as error:
        raise DatabaseUnusable(f"is not a PostgreSQL URL: {_said(error, url)}") from None
    if prepared:
        return Database(url, pool_size=pool_size, synchronous=synchronous)
    try:
        with connect(url) as connection:
            migrate(connection)
    except NoAnswer:
        raise DatabaseUnusable(
            f"cannot be used: PostgreSQL at {where} did not answer within {ANSWER_SECONDS:g} s"
        ) from None
    except Unfit as error:
        raise DatabaseUnusable(f"cannot be used: the database at {where} {error}") from None
    except psycopg.Error as error:
        raise DatabaseUnusable(
            f"cannot be used: PostgreSQL at {where} says: {_said(error, url)}"
        ) from None
    return Database(url, pool_size=pool_size, synchronous=synchronous)


_PASSWORD = re.compile(r"^(\w+://[^:/@]*:)[^@/]*@")


def _said(error: Exception, url: str) -> str:
    """What ERROR says, on one line, with URL's password masked where it quotes URL."""
    masked = _PASSWORD.sub(r"\1[Filtered]@", url)
    return " ".join(str(error).replace(url, masked).split())
