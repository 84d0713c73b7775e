"""Fixtures of the PostgreSQL backend's tests of how a worker reaches the database."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest

from mockserver.storage.backends import open_postgresql
from mockserver.storage.postgresql.database import Database
from tests import postgresql

_databases = itertools.count()


@pytest.fixture
def database(postgresql_server: postgresql.Server) -> Iterator[Database]:
    """A new database of the session's server, as a worker reaches it: one connection."""
    opened = open_postgresql(
        postgresql_server.create_database(f"worker_{next(_databases)}"), db_pool=1
    )
    yield opened
    opened.close()
