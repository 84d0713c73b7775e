"""The one place a Store is built: from the --state setting, the path of a SQLite file.

A backend that keeps the state elsewhere is named by a URL (postgresql://...): it is opened
here, by its scheme, and passes tests/mockserver/storage/test_store.py.
"""

from __future__ import annotations

import re
from pathlib import Path

from mockserver.storage import StateUnusable, Store
from mockserver.storage.sqlite import SqliteStore

_URL = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://")


def open_store(state: str) -> Store:
    """The Store that STATE names. Raises StateUnusable, saying what STATE must be, for a URL
    of no backend or a file in a folder that does not exist."""
    url = _URL.match(state)
    if url is not None:
        raise StateUnusable(
            f"must be the path of a SQLite file (no backend keeps the state at"
            f" {url['scheme']}:// URLs), got {state!r}"
        )
    path = Path(state)
    if not path.parent.is_dir():
        raise StateUnusable(
            f"must be in a folder that exists (create {path.parent} first), got {state!r}"
        )
    return SqliteStore(path)
