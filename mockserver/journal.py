"""The journal of the requests the mock answered, shared by its worker processes.

It lives in a SQLite file of its own (the state file holds only state), keeps the most
recent entries, and renders them as HAR 1.2, the format `capkit verify` replays.
"""

from __future__ import annotations

import dataclasses
import sqlite3
import threading
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import msgspec

#: Entries kept; older ones are dropped as new ones come.
CAPACITY = 1000
_TRIM_EVERY = 100


@dataclasses.dataclass(frozen=True)
class Entry:
    started: str  # ISO date-time
    duration_ms: float
    method: str
    url: str
    #: As the WSGI environ names them (HTTP_USER_AGENT, CONTENT_TYPE).
    request_headers: list[tuple[str, str]]
    request_body: str | None
    status: int
    response_headers: list[tuple[str, str]]
    response_body: str


_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder(Entry).decode


class Journal:
    """The journal in the SQLite file at PATH; one connection per thread."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()
        self._connection().execute(
            "CREATE TABLE IF NOT EXISTS journal"
            " (seq INTEGER PRIMARY KEY AUTOINCREMENT, entry BLOB NOT NULL)"
        )

    def record(self, entry: Entry) -> None:
        connection = self._connection()
        seq = connection.execute(
            "INSERT INTO journal (entry) VALUES (?)", (_encode(entry),)
        ).lastrowid
        if seq is not None and seq % _TRIM_EVERY == 0:
            connection.execute("DELETE FROM journal WHERE seq <= ?", (seq - CAPACITY,))

    def entries(self) -> list[Entry]:
        """The entries kept, oldest first."""
        rows = self._connection().execute(
            "SELECT entry FROM"
            " (SELECT seq, entry FROM journal ORDER BY seq DESC LIMIT ?) ORDER BY seq",
            (CAPACITY,),
        )
        return [_decode(entry) for (entry,) in rows]

    def clear(self) -> None:
        self._connection().execute("DELETE FROM journal")

    def _connection(self) -> sqlite3.Connection:
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            connection = sqlite3.connect(self.path, isolation_level=None, timeout=30)
            connection.execute("PRAGMA journal_mode=WAL")
            # The journal is a record of traffic, not state: a crash may lose its last entries.
            connection.execute("PRAGMA synchronous=NORMAL")
            self._local.connection = connection
        return connection


def summary(entry: Entry) -> dict[str, Any]:
    return {
        "time": entry.started,
        "method": entry.method,
        "url": entry.url,
        "status": entry.status,
        "durationMs": round(entry.duration_ms, 3),
    }


def har(entries: list[Entry]) -> dict[str, Any]:
    """ENTRIES as a HAR 1.2 log."""
    return {
        "log": {
            "version": "1.2",
            "creator": {"name": "capkit mock", "version": "1"},
            "entries": [_har_entry(entry) for entry in entries],
        }
    }


def _har_entry(entry: Entry) -> dict[str, Any]:
    request: dict[str, Any] = {
        "method": entry.method,
        "url": entry.url,
        "httpVersion": "HTTP/1.1",
        "cookies": [],
        "headers": [{"name": _header_name(key), "value": v} for key, v in entry.request_headers],
        "queryString": _query_string(entry.url),
        "headersSize": -1,
        "bodySize": len(entry.request_body.encode()) if entry.request_body is not None else 0,
    }
    if entry.request_body is not None:
        request["postData"] = {
            "mimeType": next((v for key, v in entry.request_headers if key == "CONTENT_TYPE"), ""),
            "text": entry.request_body,
        }
    return {
        "startedDateTime": entry.started,
        "time": entry.duration_ms,
        "request": request,
        "response": {
            "status": entry.status,
            "statusText": "",
            "httpVersion": "HTTP/1.1",
            "cookies": [],
            "headers": [{"name": n, "value": v} for n, v in entry.response_headers],
            "content": {
                "size": len(entry.response_body.encode()),
                "mimeType": _header(entry.response_headers, "content-type"),
                "text": entry.response_body,
            },
            "redirectURL": "",
            "headersSize": -1,
            "bodySize": len(entry.response_body.encode()),
        },
        "cache": {},
        "timings": {"send": 0, "wait": entry.duration_ms, "receive": 0},
    }


def _header_name(environ_key: str) -> str:
    """HTTP_X_CAP_API_OAUTH_TOKEN -> X-Cap-Api-Oauth-Token (header names are case-insensitive)."""
    return environ_key.removeprefix("HTTP_").replace("_", "-").title()


def _header(headers: list[tuple[str, str]], name: str) -> str:
    return next((value for key, value in headers if key.lower() == name), "")


def _query_string(url: str) -> list[dict[str, str]]:
    return [
        {"name": n, "value": v} for n, v in parse_qsl(urlsplit(url).query, keep_blank_values=True)
    ]
