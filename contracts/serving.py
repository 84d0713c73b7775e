"""An in-process WSGI app, served on a loopback port for the length of a run.

A run against an app object sends its requests over loopback HTTP to a server thread of this
process, not through schemathesis' WSGI transport: that transport breaks ignored_auth's probes
(schemathesis 4.32 passes `max_redirects` to werkzeug's test client) and raises a Flask app's
exception instead of reporting its 500. Over loopback, an app is tested exactly as a deployment
is, by the same transport and checks; it costs speed (on the mock, 240 cases/s against 340 through
the WSGI transport, which errs on 16 operations), which a contract run can afford.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any
from wsgiref.types import WSGIApplication

from werkzeug.serving import WSGIRequestHandler, make_server

__all__ = ["serve_in_thread"]

LOOPBACK = "127.0.0.1"


class _QuietHandler(WSGIRequestHandler):
    """Logs nothing: a run sends thousands of requests, and reports what matters itself."""

    def log(self, type: str, message: str, *args: Any) -> None:
        return None


@contextlib.contextmanager
def serve_in_thread(app: WSGIApplication) -> Iterator[str]:
    """Serve APP on a free loopback port while the block runs; yield its origin (http://host:port)."""
    server = make_server(LOOPBACK, 0, app, threaded=True, request_handler=_QuietHandler)
    thread = threading.Thread(
        target=server.serve_forever, name=f"contracts-{server.server_port}", daemon=True
    )
    thread.start()
    try:
        yield f"http://{LOOPBACK}:{server.server_port}"
    finally:
        server.shutdown()
        thread.join()
        server.server_close()
