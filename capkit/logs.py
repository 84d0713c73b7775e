"""How `capkit serve` prints what the mock logs: a line per record, on standard output (warnings
and errors on standard error), as text for people (coloured on a terminal) or as JSON lines
for machines. Only the CLI configures logging; the mock's modules just log."""

from __future__ import annotations

import functools
import json
import logging
import os
import sys
import time
from datetime import UTC, datetime
from typing import Any, TextIO

import click

#: Where the request log is; --quiet silences it alone.
REQUESTS = "mockserver.requests"
_STATUS_COLOURS = {2: "green", 3: "cyan", 4: "yellow", 5: "red"}


def configure(*, quiet: bool, json_lines: bool) -> None:
    """Send every record of INFO and above to the console, the request log unless QUIET."""
    handlers = [
        _handler(sys.stdout, json_lines, below=logging.WARNING),
        _handler(sys.stderr, json_lines, below=None),
    ]
    handlers[1].setLevel(logging.WARNING)
    # A line per request: what logging gathers for a record and no handler here prints
    # (the caller's frame, thread and process) would cost a fifth of the mock's throughput.
    logging._srcfile = None  # documented in the logging HOWTO's "Optimization"
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    root = logging.getLogger()
    root.handlers[:] = handlers
    root.setLevel(logging.INFO)
    logging.getLogger(REQUESTS).setLevel(logging.WARNING if quiet else logging.INFO)


def _handler(stream: TextIO, json_lines: bool, *, below: int | None) -> logging.Handler:
    handler = logging.StreamHandler(stream)
    if json_lines:
        handler.setFormatter(JsonLines())
    else:
        colour = stream.isatty() and "NO_COLOR" not in os.environ
        handler.setFormatter(Text(colour=colour))
    if below is not None:
        handler.addFilter(lambda record: record.levelno < below)
    return handler


class Text(logging.Formatter):
    """An exchange as `10:02:03 POST /v2/customers?source=X 400 (8011) 1.9 ms: problem`, the
    mock's own lines as they are, other lines (granian's) after their level."""

    def __init__(self, *, colour: bool) -> None:
        super().__init__()
        self.colour = colour

    def format(self, record: logging.LogRecord) -> str:
        exchange = getattr(record, "exchange", None)
        if exchange is None:
            line = record.getMessage()
            if record.levelno != logging.INFO or not record.name.startswith("mockserver"):
                line = f"[{record.levelname}] {line}"
            if record.exc_info:
                line += "\n" + self.formatException(record.exc_info)
            return line
        line = " ".join(
            [
                self._paint(_clock(int(exchange.started)), dim=True),
                self._paint(exchange.method, bold=True),
                exchange.target,
                self._paint(
                    exchange.status_and_code(),
                    fg=_STATUS_COLOURS.get(5 if exchange.fault else exchange.status // 100),
                ),
                self._paint(f"{exchange.duration_ms:.1f} ms", dim=True),
            ]
        )
        if exchange.problem:
            line += f": {exchange.problem}{exchange.and_more()}"
        return line

    def _paint(self, text: str, **style: Any) -> str:
        return click.style(text, **style) if self.colour else text


class JsonLines(logging.Formatter):
    """A record as one JSON object: an exchange's fields, or a line's level and message."""

    def format(self, record: logging.LogRecord) -> str:
        exchange = getattr(record, "exchange", None)
        fields: dict[str, Any] = {"time": _iso(record.created)}
        if exchange is not None:
            fields |= {
                "time": _iso(exchange.started),
                "method": exchange.method,
                "path": exchange.target,
                "status": exchange.status,
                "code": exchange.code,
                "durationMs": round(exchange.duration_ms, 3),
                "problem": exchange.problem,
                "moreProblems": exchange.more,
                "fault": exchange.fault,
            }
        else:
            fields |= {
                "level": record.levelname.lower(),
                "logger": record.name,
                "message": record.getMessage(),
            }
            if record.exc_info:
                fields["exception"] = self.formatException(record.exc_info)
        return json.dumps(fields, ensure_ascii=False)


@functools.lru_cache(maxsize=1)
def _clock(second: int) -> str:
    """SECOND (since the epoch) as the local time of day; the lines of one second share it."""
    return time.strftime("%H:%M:%S", time.localtime(second))


def _iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="milliseconds")
