"""The ceiling of the machine for Python WSGI: a callable that returns fixed bytes, served by
granian as mockserver/server.py serves capkit (WSGI interface, N workers, its blocking threads).

Run as `python -m bench.ceiling --port PORT --workers N`.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterable

from granian import Granian
from granian.constants import Interfaces

from mockserver.server import BLOCKING_THREADS

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
    Granian(
        "bench.ceiling:app",
        interface=Interfaces.WSGI,
        address="127.0.0.1",
        port=options.port,
        workers=options.workers,
        blocking_threads=BLOCKING_THREADS,
    ).serve()


if __name__ == "__main__":
    main()
