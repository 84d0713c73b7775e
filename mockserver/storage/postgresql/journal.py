"""The journal of requests in PostgreSQL: every replica records into one table, and any of
them lists what all of them answered.

Recording waits for no database: a request's entry is queued, and a thread of each process
writes what was queued in the last 200 ms as one row, its entries as JSON lines. A replica lists
its own entries as soon as it has answered (its reader has the thread write them at once),
another replica's within a quarter of a second. The table is UNLOGGED and written through
connections of its own that do not wait for the disk (synchronous_commit off): the journal is
a record for people, and a crash of the database empties it, never losing a customer. Entries
that cannot be written (the database down, or taking no writes) are kept, the journal's
capacity of the most recent, and written once it takes them: the journal is where one looks
for what the clients met meanwhile.

A row per entry cost the database 18-23 us per entry in the bench's read mix (to insert it
and its two index entries, and to delete the old ones, walking past those deleted before), as
much as the read of the request; a row per batch, compressed with lz4 where the server has
it, 4 (pg_stat_statements, the writes and the deletes). The journal's capacity is counted in
whole rows, newest first: at its far end, where two replicas' rows cover the same 200 ms, the
entry left out may have started a few milliseconds after the oldest one listed.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time

import msgspec

from mockserver import interleaving, journal
from mockserver.journal import Entry
from mockserver.storage import StoreUnavailable
from mockserver.storage.postgresql.database import RETRY_SECONDS, Database
from mockserver.storage.postgresql.session import Query, int8, integer

log = logging.getLogger(__name__)

#: Entries written in one row, at most. A row's worth queued is written at once: gathering
#: first would cap a process at 1,000 entries a second, and queue ever more past that.
_BATCH = 200
#: How long the writing thread gathers entries before it writes them. A write costs about as
#: much for one entry as for 50 (a round trip: 280 us against 350 on the bench's machine): in
#: the bench's read mix, the thread cost 47-69 us of CPU per request at 5 ms, 13-22 at 50 ms;
#: at 200 ms, a request of the read mix cost the mock 33 us and PostgreSQL 3 us less than at
#: 50 ms, one of the write mix 26 and 11 (out of about 850 and 1,500; alternating seconds).
_GATHER_SECONDS = 0.2
_RECORD = Query("INSERT INTO capkit.requests (size, entries) VALUES ($1, $2)")
#: The first row listed: the oldest of those whose newer rows hold fewer than $1 entries and
#: fewer than $2 bytes (octet_length reads a compressed row's length from its header).
_FIRST_LISTED = (
    "(SELECT min(seq) FROM (SELECT seq, sum(size) OVER newer - size AS entries_newer,"
    "  sum(octet_length(entries)) OVER newer - octet_length(entries) AS bytes_newer"
    "  FROM capkit.requests WINDOW newer AS (ORDER BY seq DESC)) AS batches"
    " WHERE entries_newer < $1::bigint AND bytes_newer < $2::bigint)"
)
#: The rows there are, by their seq: rows are written once and never changed, so they name
#: what is listed. (The newest alone would not: rows commit out of the order of their seq.)
_ROWS = Query("SELECT md5(string_agg(seq::text, ',' ORDER BY seq)) FROM capkit.requests")
_TRIM = Query(f"DELETE FROM capkit.requests WHERE seq < {_FIRST_LISTED}")
#: Every row gone, and in their place a row of no entries that says when ($1, seconds since
#: the epoch): another replica writes the entries of the requests it answered before then
#: up to 200 ms later, and they are not listed.
_CLEAR = Query(
    "WITH cleared AS (DELETE FROM capkit.requests)"
    " INSERT INTO capkit.requests (size, entries) VALUES (0, $1)"
)
_ENTRIES = Query(f"SELECT size, entries FROM capkit.requests WHERE seq >= {_FIRST_LISTED}")

_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder(Entry).decode


def _once(listed: list[tuple[Entry, int]]) -> list[tuple[Entry, int]]:
    """LISTED with each entry once: a batch whose write went unanswered (the database paused
    while it committed) is written again, and may then be in two rows."""
    seen: set[str] = set()
    kept = []
    for entry, size in listed:
        if entry.id in seen:
            continue
        if entry.id:
            seen.add(entry.id)
        kept.append((entry, size))
    return kept


def _capacity() -> tuple[bytes, bytes]:
    """The journal's capacity, as _FIRST_LISTED's parameters."""
    return int8(journal.CAPACITY), int8(journal.CAPACITY_BYTES)


class PostgresJournal(journal.Journal):
    """The journal in DATABASE, whose schema is up to date (opened with synchronous false)."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self._owner = 0  # the process whose thread writes the queue
        self._changed = threading.Condition()
        self._queued: list[Entry] = []
        self._writing = 0  # entries taken from the queue, not yet written
        #: The last write failed: the database is down, or takes no writes.
        self._failing = False
        #: A reader waits for what is queued: the thread writes it without gathering more.
        self._hurried = False
        #: Entries, and their bytes, that this process wrote since it last trimmed.
        self._untrimmed = self._untrimmed_bytes = 0

    def record(self, entry: Entry) -> None:
        with self._changed:
            self._start_writing()
            self._queued.append(entry)
            # The thread waits for a first entry, or gathers until a row's worth is queued.
            if len(self._queued) in (1, _BATCH):
                self._changed.notify_all()

    def entries(self) -> list[Entry]:
        """The most recent entries of every replica since the last clear, oldest first.
        Raises StoreUnavailable."""
        self._wait_until_written()
        with self.database.session() as session:
            found = session.rows(_ENTRIES, *_capacity())
        batches = [entries for size, entries in found if entries and integer(size)]
        clears = [float(when) for size, when in found if when and not integer(size)]
        listed = _once(
            [(_decode(line), len(line)) for rows in batches for line in rows.split(b"\n")]
        )
        if clears:
            since = max(clears)
            listed = [(entry, size) for entry, size in listed if entry.started > since]
        return journal.most_recent(listed)

    def version(self) -> str:
        """Raises StoreUnavailable."""
        self._wait_until_written()
        with self.database.session() as session:
            ((rows,),) = session.rows(_ROWS)
        return (rows or b"none").decode()

    def clear(self) -> None:
        """Forget every replica's entries, those of requests answered before now and written
        after too (the replicas' clocks agree, to well within 50 ms). Raises
        StoreUnavailable."""
        self._wait_until_written()
        with self.database.session() as session:
            session.rows(_CLEAR, repr(time.time()).encode())

    def flush(self) -> None:
        self._wait_until_written()

    def _start_writing(self) -> None:
        """The writing thread of this process, started once (a worker forked from a parent
        that recorded has the parent's queue, and no thread)."""
        if self._owner != os.getpid():
            self._owner = os.getpid()
            self._queued, self._writing = [], 0
            self._untrimmed = self._untrimmed_bytes = 0
            threading.Thread(target=self._write, name="capkit journal", daemon=True).start()

    def _write(self) -> None:
        while True:
            with self._changed:
                while not self._queued:
                    self._changed.wait()
                # The entries of the next moments go along.
                self._changed.wait_for(self._due, _GATHER_SECONDS)
                batch, self._queued = self._queued[:_BATCH], self._queued[_BATCH:]
                self._writing = len(batch)
                self._hurried = self._hurried and bool(self._queued)
            failed = False
            try:
                self._insert(batch)
            except StoreUnavailable:
                failed = True
                with self._changed:
                    kept = [(entry, len(_encode(entry))) for entry in batch + self._queued]
                    self._queued = journal.most_recent(kept)
            except Exception:  # a bug: said, and the thread goes on writing
                log.exception("capkit mock bug: %d entries of the journal lost", len(batch))
            finally:
                with self._changed:
                    self._writing = 0
                    self._failing = failed
                    self._changed.notify_all()
            if failed:
                time.sleep(RETRY_SECONDS)

    def _due(self) -> bool:
        """Whether the thread writes what is queued without gathering more."""
        return self._hurried or len(self._queued) >= _BATCH

    def _insert(self, batch: list[Entry]) -> None:
        """Write BATCH; raises StoreUnavailable when it may not have been written."""
        entries = b"\n".join(map(_encode, batch))
        with self.database.session() as session:
            session.rows(_RECORD, int8(len(batch)), entries)
        # Rows no longer listed are deleted once this process wrote a tenth of the journal's
        # capacity (in entries or bytes) since it last did: the table holds at most that much
        # more per process, and a steady trickle of one-entry rows is not walked on each.
        self._untrimmed += len(batch)
        self._untrimmed_bytes += len(entries)
        if (
            self._untrimmed >= journal.CAPACITY // 10
            or self._untrimmed_bytes >= journal.CAPACITY_BYTES // 10
        ):
            # Apart from the insert, which is written: a trim that fails is tried again with
            # the next batch, where failing with the insert had it written twice.
            with contextlib.suppress(StoreUnavailable), self.database.session() as session:
                session.rows(_TRIM, *_capacity())
                self._untrimmed = self._untrimmed_bytes = 0

    def _wait_until_written(self) -> None:
        """Until what this process recorded is in the database, or a write of it failed: a
        reader waits for no retry, which takes as long to fail as its own read. A request
        waits aside: the write may wait for a paused server as long as a read does."""
        interleaving.in_thread(self._written)

    def _written(self) -> None:
        with self._changed:
            if self._owner == os.getpid() and self._queued:
                self._hurried = True
                self._changed.notify_all()
            while (
                self._owner == os.getpid() and (self._queued or self._writing) and not self._failing
            ):
                self._changed.wait()
