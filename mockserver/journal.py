"""The journal of the requests the mock answered, shared by its worker processes.

Recording is a WSGI middleware around the app: it sees each exchange as it came and went,
without the request and response objects a Flask hook would build.

Credentials are masked before an entry is written (`Basic [Filtered]`): journals end up in
CI artifacts. Each entry also keeps what the app found of the exchange (its Findings): the
operation, and why the request or the response breaks the spec, which the console shows.

A Journal keeps the most recent entries, which are rendered as HAR 1.2, the format `capkit
verify` replays. Where it keeps them goes with the state (mockserver/storage/backends.py):
FileJournal, beside a SQLite file, or in PostgreSQL for replicas on several hosts.

FileJournal: each process appends JSON lines to a file of its own in the journal's folder, so
recording a request waits for no other process (a shared SQLite file made the workers queue
for its write lock and halved throughput). A reader merges the files; a reset writes a marker
that hides what came before, since other processes keep their files open.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import logging
import os
import secrets
import threading
import time
import weakref
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Protocol
from urllib.parse import parse_qsl, quote, urlsplit

import msgspec

from mockserver.body import BodyTooLarge, BodyUnreadable, read_body
from mockserver.chaos import AS_IT_COMES, PLAN, Plan
from mockserver.host import authority
from spec import CAPKIT_VERSION, credentials

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

log = logging.getLogger(__name__)

#: Entries kept: the most recent CAPACITY, fewer where they hold more than CAPACITY_BYTES of
#: JSON between them (the newest always). A process starts a new file when its current one
#: holds either. Without the bytes, bodies of --max-body each (1 MB) made a journal of
#: gigabytes, which listing it read whole.
CAPACITY = 1000
CAPACITY_BYTES = 16 * 2**20
_CLEARED = "cleared"
#: Where the app leaves its Findings in the WSGI environ, for Recording to journal them.
FINDINGS = "capkit.findings"
#: The custom field (HAR's start with `_`) of a journal's HAR entry that holds its findings.
MARK = "_capkit"


@dataclasses.dataclass
class Findings:
    """What the app found of one exchange: the operation it matched, and every way its request
    and its response break the spec (none: they conform)."""

    operation: str | None = None
    request: list[str] = dataclasses.field(default_factory=list)
    response: list[str] = dataclasses.field(default_factory=list)


def findings(environ: WSGIEnvironment) -> Findings:
    """The findings of the exchange of ENVIRON, for the app to add to."""
    found: Findings = environ.setdefault(FINDINGS, Findings())
    return found


@dataclasses.dataclass(frozen=True)
class Entry:
    started: float  # seconds since the epoch
    duration_ms: float
    method: str
    url: str
    #: As the WSGI environ names them (HTTP_USER_AGENT, CONTENT_TYPE).
    request_headers: list[tuple[str, str]]
    request_body: str | None
    #: The body's size in bytes: of REQUEST_BODY, or, for a body over the limit refused unread
    #: (413), its declared length, else the least it can have been (the limit and a byte).
    request_body_size: int
    #: 0 when the client got no answer (HAR's way to say so), its fault says why.
    status: int
    response_headers: list[tuple[str, str]]
    response_body: str
    #: Names the entry in the journal's API (GET /__admin/requests/ID).
    id: str = ""
    operation: str | None = None
    #: How the request and the response break the spec; empty when they conform.
    request_problems: list[str] = dataclasses.field(default_factory=list)
    response_problems: list[str] = dataclasses.field(default_factory=list)
    #: The fault the request met (mockserver/chaos.py): reset, empty, timeout or lost (the
    #: mock answered, the client never heard), 500 or 503.
    fault: str | None = None
    #: How long the answer, or the fault, waited; part of duration_ms.
    delay_ms: float = 0.0


_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder(Entry).decode


class Journal(Protocol):
    """The entries of the exchanges that every process of the mock answered."""

    def record(self, entry: Entry) -> None:
        """Keep ENTRY; a request is never refused for its entry."""

    def entries(self) -> list[Entry]:
        """The most recent entries (most_recent) since the last clear, oldest first."""

    def version(self) -> str:
        """A name of what entries() would list now, asked before listing them: another name
        once anything was recorded or cleared since. A client that has the list of a version
        is told nothing changed without anything being read (the console asks every second)."""

    def entry(self, entry_id: str) -> Entry | None:
        """The entry named ENTRY_ID among entries(), None when there is none."""
        return next((entry for entry in self.entries() if entry.id == entry_id), None)

    def clear(self) -> None:
        """Forget every entry recorded so far."""

    def flush(self) -> None:
        """Write what this process recorded and has not written yet, as it stops."""


class FileJournal(Journal):
    """The journal in the folder DIRECTORY, created if missing."""

    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        self._lock = threading.Lock()
        self._file: IO[bytes] | None = None
        self._owner = 0  # the process that opened _file
        self._written = 0
        self._written_bytes = 0
        # Closes _file when it is replaced, or when the journal goes (apps have no close).
        self._close: Callable[[], object] = lambda: None

    def flush(self) -> None:
        """Nothing is left: each entry is written as it is recorded."""

    def record(self, entry: Entry) -> None:
        line = _encode(entry) + b"\n"
        with self._lock:
            if (
                self._file is None
                or self._owner != os.getpid()
                or self._written >= CAPACITY
                or self._written_bytes >= CAPACITY_BYTES
            ):
                self._open()
            assert self._file is not None
            self._file.write(line)
            self._file.flush()
            self._written += 1
            self._written_bytes += len(line)

    def entries(self) -> list[Entry]:
        """The most recent entries of every process since the last clear, oldest first.

        A line that cannot be read is left out, and a warning says how many in which file; the
        last line of a file, with no newline yet, is one another process is still writing.
        """
        since = self._cleared_at()
        found: list[tuple[Entry, int]] = []
        for path in self.directory.glob("*.jsonl"):
            *whole, _being_written = path.read_bytes().split(b"\n")
            unreadable = 0
            for line in whole:
                try:
                    entry = _decode(line)
                except msgspec.DecodeError:
                    unreadable += 1
                    continue
                if entry.started > since:
                    found.append((entry, len(line)))
            if unreadable:
                log.warning(
                    "journal: %s line(s) of %s cannot be read and are left out", unreadable, path
                )
        return most_recent(found)

    def version(self) -> str:
        # The files only grow, until one is replaced (by a new one, or a new clear marker).
        found = []
        for path in sorted(self.directory.iterdir()):
            with contextlib.suppress(FileNotFoundError):  # replaced since
                stat = path.stat()
                found.append(f"{path.name} {stat.st_ino} {stat.st_size} {stat.st_mtime_ns}")
        return hashlib.blake2b("\n".join(found).encode(), digest_size=8).hexdigest()

    def clear(self) -> None:
        marker = self.directory / f"{_CLEARED}.{os.getpid()}"
        marker.write_text(repr(time.time()))
        marker.replace(self.directory / _CLEARED)

    def _open(self) -> None:
        """This process's file: a new one when the current holds CAPACITY entries or
        CAPACITY_BYTES, the one before kept as .previous so that a reader still finds as many."""
        self._close()
        current = self.directory / f"requests-{os.getpid()}.jsonl"
        if current.exists() and self._owner == os.getpid():
            current.replace(self.directory / f"requests-{os.getpid()}.previous.jsonl")
        self._file = current.open("ab")
        self._close = weakref.finalize(self, self._file.close)
        self._owner = os.getpid()
        self._written = self._written_bytes = 0

    def _cleared_at(self) -> float:
        try:
            return float((self.directory / _CLEARED).read_text())
        except (FileNotFoundError, ValueError):
            return 0.0


def most_recent(found: list[tuple[Entry, int]]) -> list[Entry]:
    """The most recent of FOUND, entries with the size of their JSON, oldest first: CAPACITY
    of them, fewer where they hold more than CAPACITY_BYTES between them (the newest always)."""
    found.sort(key=lambda pair: pair[0].started)
    kept: list[Entry] = []
    size = 0
    for entry, length in reversed(found[-CAPACITY:]):
        size += length
        if kept and size > CAPACITY_BYTES:
            break
        kept.append(entry)
    kept.reverse()
    return kept


class Recording:
    """WSGI middleware that journals each exchange of APP whose path starts with PREFIX, and
    hands each entry to THEN as well."""

    def __init__(
        self,
        app: WSGIApplication,
        journal: Journal,
        *,
        prefix: str,
        max_body: int,
        then: Callable[[Entry], None] = lambda entry: None,
    ) -> None:
        self.app = app
        self.journal = journal
        self.prefix = prefix
        self.max_body = max_body
        self.then = then

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        method = environ["REQUEST_METHOD"]
        path = environ.get("PATH_INFO", "")
        if method == "OPTIONS" or not path.startswith(self.prefix):
            return self.app(environ, start_response)
        started, clock = time.time(), time.perf_counter()
        body, body_size = self._request_body(environ)
        answered: list[Any] = []

        def record_start(status: str, headers: list[tuple[str, str]], *args: Any) -> Any:
            answered[:] = [status, headers]
            return start_response(status, headers, *args)

        chunks = self.app(environ, record_start)
        try:
            content = b"".join(chunks)
        finally:
            if hasattr(chunks, "close"):
                chunks.close()
        query = environ.get("QUERY_STRING", "")
        # As sent (PATH_INFO is decoded: a %3F in it would end the URL's path).
        target = environ.get("RAW_URI") or _target(path, query)
        found: Findings = environ.get(FINDINGS) or Findings()
        plan: Plan = environ.get(PLAN, AS_IT_COMES)
        status, headers, text = int(answered[0].split(" ", 1)[0]), answered[1], content
        if not plan.answered and plan.fault != "lost":
            status, headers, text = 0, [], b""
        self.journal.record(
            entry := Entry(
                started=started,
                # The server waits once the app has answered: the entry is written before.
                duration_ms=(time.perf_counter() - clock + plan.delay) * 1000,
                method=method,
                url=f"{environ['wsgi.url_scheme']}://{authority(environ)}{target}",
                request_headers=[
                    (key, credentials.masked(_header_name(key), value))
                    for key, value in environ.items()
                    if key.startswith(_HEADERS)
                ],
                request_body=body,
                request_body_size=body_size,
                status=status,
                response_headers=headers,
                response_body=text.decode("utf-8", "replace"),
                fault=plan.fault,
                delay_ms=plan.delay * 1000,
                id=secrets.token_hex(8),
                operation=found.operation,
                request_problems=found.request,
                response_problems=found.response,
            )
        )
        self.then(entry)
        return [content]

    def _request_body(self, environ: WSGIEnvironment) -> tuple[str | None, int]:
        """The request's body, as the app reads it too, and its size; no body when it has none,
        or more than the app accepts (it answers 413)."""
        try:
            data = read_body(environ, self.max_body)
        except BodyUnreadable:
            return None, 0
        except BodyTooLarge:
            declared = environ.get("CONTENT_LENGTH") or ""
            return None, int(declared) if declared.isdigit() else self.max_body + 1
        return (data.decode("utf-8", "replace") if data else None), len(data)


#: What the WSGI environ names the request's headers by.
_HEADERS = ("HTTP_", "CONTENT_TYPE", "CONTENT_LENGTH")


def summary(entry: Entry) -> dict[str, Any]:
    """ENTRY in a line of the journal's list: what the console's traffic table shows."""
    errors = error_items(entry.response_body) if entry.status >= 400 else []
    code = errors[0].get("code") if errors else None
    shown = {
        "id": entry.id,
        "time": _iso(entry.started),
        "method": entry.method,
        "url": entry.url,
        "status": entry.status,
        "code": code if isinstance(code, int) else None,
        "durationMs": round(entry.duration_ms, 3),
        "operationId": entry.operation,
        "requestProblems": entry.request_problems,
        "responseProblems": entry.response_problems,
    }
    if entry.fault is not None:
        shown["fault"] = entry.fault
    return shown


#: What the client saw of each fault that leaves it without an answer, for a HAR's reader.
FAULTS_SEEN = {
    "reset": "no answer: the connection was reset (fault=reset)",
    "empty": "no answer: the connection was closed (fault=empty)",
    "timeout": "no answer: the connection was held open, then closed (fault=timeout)",
    "lost": "the client never got this answer: the connection was reset (fault=lost)",
}


def error_items(body: str) -> list[dict[str, object]]:
    """The errors of Capillary's envelope in BODY; [] for any other body."""
    try:
        errors = msgspec.json.decode(body).get("errors")
    except (msgspec.DecodeError, AttributeError):
        return []
    return [e for e in errors if isinstance(e, dict)] if isinstance(errors, list) else []


def har(entries: list[Entry]) -> dict[str, Any]:
    """ENTRIES as a HAR 1.2 log."""
    return {
        "log": {
            "version": "1.2",
            "creator": {"name": "capkit mock", "version": CAPKIT_VERSION},
            "entries": [har_entry(entry) for entry in entries],
        }
    }


def _target(path: str, query: str) -> str:
    """The request target of PATH_INFO and QUERY_STRING, where the server gave no RAW_URI."""
    sent = quote(path.encode("latin-1"))
    return f"{sent}?{query}" if query else sent


def har_entry(entry: Entry) -> dict[str, Any]:
    """ENTRY as a HAR 1.2 entry, with the mock's findings in its custom field MARK."""
    request: dict[str, Any] = {
        "method": entry.method,
        "url": entry.url,
        "httpVersion": "HTTP/1.1",
        "cookies": [],
        "headers": [{"name": _header_name(key), "value": v} for key, v in entry.request_headers],
        "queryString": [
            {"name": name, "value": value}
            for name, value in parse_qsl(urlsplit(entry.url).query, keep_blank_values=True)
        ],
        "headersSize": -1,
        "bodySize": entry.request_body_size,
    }
    if entry.request_body is None and entry.request_body_size:
        # A body over the limit is refused (413) unread: its size is known, its text is not.
        request["comment"] = (
            f"body of {entry.request_body_size} bytes not recorded: over the mock's limit"
        )
    if entry.request_body is not None:
        request["postData"] = {
            "mimeType": next((v for key, v in entry.request_headers if key == "CONTENT_TYPE"), ""),
            "text": entry.request_body,
        }
    size = len(entry.response_body.encode())
    response: dict[str, Any] = {
        "status": entry.status,
        "statusText": "",
        "httpVersion": "HTTP/1.1",
        "cookies": [],
        "headers": [{"name": n, "value": v} for n, v in entry.response_headers],
        "content": {
            "size": size,
            "mimeType": next(
                (v for n, v in entry.response_headers if n.lower() == "content-type"), ""
            ),
            "text": entry.response_body,
        },
        "redirectURL": "",
        "headersSize": -1,
        "bodySize": size,
    }
    if entry.fault in FAULTS_SEEN:
        response["comment"] = FAULTS_SEEN[entry.fault]
    return {
        "startedDateTime": _iso(entry.started),
        "time": entry.duration_ms,
        "request": request,
        "response": response,
        "cache": {},
        "timings": {"send": 0, "wait": entry.duration_ms, "receive": 0},
        MARK: {
            "id": entry.id,
            "fault": entry.fault,
            "operationId": entry.operation,
            "requestProblems": entry.request_problems,
            "responseProblems": entry.response_problems,
        },
    }


def _iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat()


def _header_name(environ_key: str) -> str:
    """HTTP_X_CAP_API_OAUTH_TOKEN -> X-Cap-Api-Oauth-Token (header names are case-insensitive)."""
    return environ_key.removeprefix("HTTP_").replace("_", "-").title()
