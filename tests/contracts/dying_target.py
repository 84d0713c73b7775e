"""A target that goes away in the middle of a run: it answers some requests, then none."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterable, Iterator
from typing import Any
from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

from werkzeug.serving import WSGIRequestHandler, make_server

from contracts.serving import LOOPBACK


class _OneRequestPerConnection(WSGIRequestHandler):
    # HTTP/1.1 would keep the client's connections open past the listening socket's close,
    # and the target would go on answering on them.
    protocol_version = "HTTP/1.0"

    def log(self, type: str, message: str, *args: Any) -> None:
        return None


@contextlib.contextmanager
def dying(app: WSGIApplication, *, answers: int) -> Iterator[str]:
    """Serve APP on a loopback port, yielding its origin, until it has taken ANSWERS requests:
    then the port closes, and what follows is refused."""
    taken = 0
    lock = threading.Lock()

    def die() -> None:
        server.shutdown()
        server.server_close()

    def counted(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        nonlocal taken
        with lock:
            taken += 1
            if taken == answers:
                # Beside this request, which is still answered.
                threading.Thread(target=die).start()
        return app(environ, start_response)

    server = make_server(
        LOOPBACK, 0, counted, threaded=True, request_handler=_OneRequestPerConnection
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{LOOPBACK}:{server.server_port}"
    finally:
        if taken < answers:
            die()
        thread.join()
