"""The journal of requests in PostgreSQL: every replica records into one table, and any of
them lists what all of them answered.

Recording waits for no database: a request's entry is queued, and a thread of each process
writes what was queued in the last 50 ms in one statement. A replica lists its own entries as
soon as it has answered, another replica's within a tenth of a second. The table is
UNLOGGED and written through connections of its own that do not wait for the disk
(synchronous_commit off): the journal is a record for people, and a crash of the database
empties it, never losing a customer. Entries that cannot be written while the database is
down are lost.
"""

from __future__ import annotations

import logging
import os
import threading
import time

import msgspec

from mockserver import journal
from mockserver.journal import Entry
from mockserver.storage import StoreUnavailable
from mockserver.storage.postgresql.database import Database
from mockserver.storage.postgresql.session import Query, array, float8, int8, integer

log = logging.getLogger(__name__)

#: Entries written in one statement, at most.
_BATCH = 200
#: How long the writing thread gathers entries before it writes them: in the bench's read mix,
#: the thread cost 47-69 us of CPU per request at 5 ms, 13-22 at 50 ms.
_GATHER_SECONDS = 0.05
_RECORD = Query(
    "WITH added AS (INSERT INTO capkit.requests (started, entry)"
    " SELECT * FROM unnest($1::float8[], $2::text[]) RETURNING seq)"
    " SELECT min(seq), max(seq) FROM added"
)
#: Entries older than the $1 most recent, which the replicas may have written in any order.
_TRIM = Query(
    "DELETE FROM capkit.requests WHERE started < (SELECT started FROM capkit.requests"
    " ORDER BY started DESC LIMIT 1 OFFSET $1::bigint - 1)"
)
_CLEAR = Query("DELETE FROM capkit.requests")
_ENTRIES = Query(
    "SELECT entry FROM (SELECT * FROM capkit.requests ORDER BY started DESC, seq DESC LIMIT $1)"
    " AS recent ORDER BY started, seq"
)

_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder(Entry).decode


class PostgresJournal(journal.Journal):
    """The journal in DATABASE, whose schema is up to date (opened with synchronous false)."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self._owner = 0  # the process whose thread writes the queue
        self._changed = threading.Condition()
        self._queued: list[Entry] = []
        self._writing = 0  # entries taken from the queue, not yet written

    def record(self, entry: Entry) -> None:
        with self._changed:
            self._start_writing()
            self._queued.append(entry)
            self._changed.notify_all()

    def entries(self) -> list[Entry]:
        """The most recent entries of every replica since the last clear, oldest first.
        Raises StoreUnavailable."""
        self._wait_until_written()
        with self.database.session() as session:
            found = session.rows(_ENTRIES, int8(journal.CAPACITY))
        return [_decode(entry) for (entry,) in found if entry is not None]

    def clear(self) -> None:
        """Forget every replica's entries. Raises StoreUnavailable."""
        self._wait_until_written()
        with self.database.session() as session:
            session.rows(_CLEAR)

    def _start_writing(self) -> None:
        """The writing thread of this process, started once (a worker forked from a parent
        that recorded has the parent's queue, and no thread)."""
        if self._owner != os.getpid():
            self._owner = os.getpid()
            self._queued, self._writing = [], 0
            threading.Thread(target=self._write, name="capkit journal", daemon=True).start()

    def _write(self) -> None:
        while True:
            with self._changed:
                while not self._queued:
                    self._changed.wait()
            time.sleep(_GATHER_SECONDS)  # the entries of the next moments go along
            with self._changed:
                batch, self._queued = self._queued[:_BATCH], self._queued[_BATCH:]
                self._writing = len(batch)
            try:
                self._insert(batch)
            except StoreUnavailable:
                pass  # the answers stand; only their entries are lost
            except Exception:  # a bug: said, and the thread goes on writing
                log.exception("capkit mock bug: %d entries of the journal lost", len(batch))
            finally:
                with self._changed:
                    self._writing = 0
                    self._changed.notify_all()

    def _insert(self, batch: list[Entry]) -> None:
        started = array([float8(entry.started) for entry in batch], of="float8")
        encoded = array([_encode(entry) for entry in batch], of="text")
        with self.database.session() as session:
            ((first, last),) = session.rows(_RECORD, started, encoded)
            # Entries past the capacity are deleted each time the count of entries passes a
            # multiple of it (the table holds at most twice as many): a delete walks past every
            # entry deleted before that autovacuum has not cleared yet, thousands within its
            # minute at the bench's rate. One every hundred entries cost the database 50-160 us
            # per entry, growing as they piled up; one every thousand, 22-42.
            every = journal.CAPACITY
            if integer(last) // every != (integer(first) - 1) // every:
                session.rows(_TRIM, int8(journal.CAPACITY))

    def _wait_until_written(self) -> None:
        """Until what this process recorded is in the database (or could not be written)."""
        with self._changed:
            while self._owner == os.getpid() and (self._queued or self._writing):
                self._changed.wait()
