"""The request log: a record per exchange under the API's base path, on the logger
`mockserver.requests`, for whoever configures logging (`capkit serve` prints them).

Each record carries the exchange as `record.exchange`, for a formatter to lay out as it
likes; its message alone reads
`POST /v2/customers?source=MYSPACE 400 (8011) 1.9 ms: Source is invalid: ...`.
"""

from __future__ import annotations

import dataclasses
import logging
from urllib.parse import urlsplit

from mockserver.journal import Entry, error_items
from mockserver.validation import abridged

log = logging.getLogger("mockserver.requests")

#: Characters of a path or a problem shown in full: a line stays one short write.
_LONGEST = 300


@dataclasses.dataclass(frozen=True)
class Exchange:
    """One request and its answer, as the log shows them."""

    started: float  # seconds since the epoch
    method: str
    #: The path with its query string.
    target: str
    status: int
    duration_ms: float
    #: Capillary's code of the first error.
    code: int | None = None
    #: For a refused request, what its first error says.
    problem: str | None = None
    #: How many errors came after the first.
    more: int = 0
    #: The fault the request met: with status 0, it got no answer (mockserver/chaos.py).
    fault: str | None = None

    def __str__(self) -> str:
        line = f"{self.method} {self.target} {self.status_and_code()} {self.duration_ms:.1f} ms"
        return f"{line}: {self.problem}{self.and_more()}" if self.problem else line

    def status_and_code(self) -> str:
        """`400 (8011)`: the status, and Capillary's code when it is another; `fault=reset`
        for no answer, `200 fault=lost` for one the client never got."""
        if not self.status:
            return f"fault={self.fault}"
        code = self.code is not None and self.code != self.status
        shown = f"{self.status} ({self.code})" if code else str(self.status)
        return f"{shown} fault=lost" if self.fault == "lost" else shown

    def and_more(self) -> str:
        return f" (and {self.more} more)" if self.more else ""


def log_exchange(entry: Entry) -> None:
    """Log the journal's ENTRY, with its first error when it was refused."""
    if not log.isEnabledFor(logging.INFO):
        return
    url = urlsplit(entry.url)
    target = f"{url.path}?{url.query}" if url.query else url.path
    exchange = Exchange(
        started=entry.started,
        method=entry.method,
        target=abridged(target, _LONGEST),
        status=entry.status,
        duration_ms=entry.duration_ms,
        fault=entry.fault,
    )
    errors = error_items(entry.response_body) if entry.status >= 400 else []
    if errors:
        code, message = errors[0].get("code"), errors[0].get("message")
        exchange = dataclasses.replace(
            exchange,
            code=code if isinstance(code, int) else None,
            problem=abridged(str(message), _LONGEST),
            more=len(errors) - 1,
        )
    log.info("%s", exchange, extra={"exchange": exchange})
