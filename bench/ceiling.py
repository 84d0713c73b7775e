"""The ceiling of the machine for the mock's server: a WSGI callable that returns fixed bytes,
served as mockserver/server.py serves capkit (gunicorn's workers, aiohttp on uvloop, the app
called inline).

Run as `python -m bench.ceiling --port PORT --workers N`.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterable

from mockserver.server import run_workers

BODY = b'{"entity":306,"warnings":[]}'
HEADERS = [("Content-Type", "application/json"), ("Content-Length", str(len(BODY)))]

StartResponse = Callable[[str, list[tuple[str, str]]], object]


def app(environ: dict[str, object], start_response: StartResponse) -> Iterable[bytes]:
    """Answer any request with 200 and the same bytes."""
    start_response("200 OK", HEADERS)
    return [BODY]


def main() -> None:
    """Serve app on 127.0.0.1 until interrupted."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=1)
    options = parser.parse_args()
    run_workers(
        lambda: app, host="127.0.0.1", port=options.port, workers=options.workers, max_body=1024
    )


if __name__ == "__main__":
    main()
