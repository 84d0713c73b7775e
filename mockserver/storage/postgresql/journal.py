"""The journal of requests in PostgreSQL: every replica records into one table, and any of
them lists what all of them answered.

Entries are recorded through a database of their own (a connection in each process), whose
commits do not wait for the disk (synchronous_commit off): the journal is a record for people,
and a crash of the database may lose its last entries, never a customer. A request answered
while the database is down is not journaled.
"""

from __future__ import annotations

import msgspec

from mockserver import journal
from mockserver.journal import Entry
from mockserver.storage import StoreUnavailable
from mockserver.storage.postgresql.database import Database
from mockserver.storage.postgresql.session import Query, float8, int8, integer

#: Entries past the capacity are deleted once in this many records.
_TRIM_EVERY = 100
_RECORD = Query("INSERT INTO capkit.requests (started, entry) VALUES ($1, $2) RETURNING seq")
_TRIM = Query("DELETE FROM capkit.requests WHERE seq <= $1")
_ENTRIES = Query(
    "SELECT entry FROM (SELECT * FROM capkit.requests ORDER BY seq DESC LIMIT $1) AS recent"
    " ORDER BY started, seq"
)

_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder(Entry).decode


class PostgresJournal:
    """The journal in DATABASE, whose schema is up to date (opened with synchronous false)."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def record(self, entry: Entry) -> None:
        try:
            with self.database.session() as session:
                ((seq,),) = session.rows(_RECORD, float8(entry.started), _encode(entry))
                if integer(seq) % _TRIM_EVERY == 0:
                    session.rows(_TRIM, int8(integer(seq) - journal.CAPACITY))
        except StoreUnavailable:
            pass  # the answer stands; only its entry is lost

    def entries(self) -> list[Entry]:
        """The most recent entries of every replica since the last clear, oldest first.
        Raises StoreUnavailable."""
        with self.database.session() as session:
            found = session.rows(_ENTRIES, int8(journal.CAPACITY))
        return [_decode(entry) for (entry,) in found if entry is not None]

    def clear(self) -> None:
        """Forget every replica's entries. Raises StoreUnavailable."""
        with self.database.session() as session:
            session.run(b"DELETE FROM capkit.requests")
