"""Running the mock on granian, a production HTTP server (in Rust) that serves WSGI.

The parent process prepares what the workers share (the state and journal files, seeded
once) and passes the settings to them as CAPKIT_* variables; each worker builds its app.
"""

from __future__ import annotations

import dataclasses
import gc
import logging
import os
import signal
import socket
import tempfile
from pathlib import Path

from flask import Flask
from granian import Granian
from granian.constants import Interfaces

from mockserver.app import create_app
from mockserver.settings import Settings, SettingsError

log = logging.getLogger(__name__)

#: granian's loggers keep no handlers of their own: their records go where the caller's
#: logging sends the mock's (granian merges this into its default configuration).
_GRANIAN_LOGGING = {
    "loggers": {
        name: {"level": "INFO", "handlers": [], "propagate": True}
        for name in ("_granian", "granian.access")
    }
}

#: Seconds a worker has to stop once asked before it is killed: stopping never hangs.
STOP_TIMEOUT = 3
#: Threads per worker. Python runs one at a time: a second keeps a worker busy while one
#: waits on SQLite; more only add switching (wrk at c10: p99 6-12 ms with 4, 4 ms with 2).
BLOCKING_THREADS = 2


def app_from_environment() -> Flask:
    """The app of one worker, from the CAPKIT_* variables its parent set."""
    app = create_app(Settings.load())
    # What the app built (the compiled spec, the routes) lives as long as the worker: out
    # of the collector's sight, it no longer lengthens every collection.
    gc.collect()
    gc.freeze()
    return app


def serve(settings: Settings) -> None:
    """Serve the mock until interrupted; a temporary state is removed when it stops.

    Logs where it serves first, then granian's lines and the request log, through the
    logging configured by the caller.

    Raises SettingsError, before anything starts, for a port that cannot be listened on or
    a --state it cannot keep the state in (a URL of no backend, a file in a missing folder).
    """
    port = _usable_port(settings)
    with tempfile.TemporaryDirectory(prefix="capkit-") as scratch:
        settings = dataclasses.replace(
            settings,
            port=port,
            state=settings.state or str(Path(scratch) / "state.db"),
            journal=settings.journal or Path(scratch) / "journal",
        )
        # Built once here to fail before any worker starts, and to seed the state once; its
        # connections are closed before the workers fork (each opens its own).
        mock = create_app(settings).extensions["capkit"]
        mock.close()
        operations = len(mock.contract.operations)
        os.environ.update(settings.environ())
        server = Granian(
            "mockserver.server:app_from_environment",
            factory=True,
            interface=Interfaces.WSGI,
            address=settings.host,
            port=settings.port,
            workers=settings.workers,
            blocking_threads=BLOCKING_THREADS,
            workers_kill_timeout=STOP_TIMEOUT,
            # WSGI has none: without this, granian says so before anything else.
            websockets=False,
            log_dictconfig=_GRANIAN_LOGGING,
        )
        temporary = settings.state == str(Path(scratch) / "state.db")
        kept = "state in a temporary file" if temporary else f"state kept in {mock.where}"
        log.info(
            "capkit mock: %s operations at http://%s:%s/v2 (%s worker%s, %s, auth %s)."
            " Ctrl-C stops it.",
            operations,
            settings.host,
            settings.port,
            settings.workers,
            "s" if settings.workers > 1 else "",
            kept,
            "on" if settings.auth_required else "off",
        )
        os.register_at_fork(after_in_child=_leave_stopping_to_the_parent)
        server.serve()


def _leave_stopping_to_the_parent() -> None:
    """In a worker just forked: the parent alone decides when it stops.

    Ctrl-C signals the whole process group; a granian 2.8 worker that gets it besides its
    parent's SIGTERM often misses both (and Ctrl-C would hang), or stops before its parent
    asks (and the parent exits 1, "Unexpected exit"). Blocked here, Ctrl-C reaches the parent
    only, which stops the workers. Until granian sets the worker's own handlers (after it
    builds the app), the inherited ones would only wake the parent: SIGTERM ends it at once.
    """
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _usable_port(settings: Settings) -> int:
    """The port to listen on: settings.port, or for port 0 one the system finds free.

    Raises SettingsError when nothing can listen there.
    """
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            settings.host, settings.port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        with socket.socket(family, kind, proto) as probe:
            # SO_REUSEADDR as granian binds: a port with connections closing is free. Not
            # its SO_REUSEPORT, with which a second mock would share the port of a running
            # one, each answering from its own state.
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(address)
            port: int = probe.getsockname()[1]
    except OSError as error:
        raise SettingsError(
            "port",
            f"cannot listen on {settings.host} port {settings.port}: {error.strerror or error};"
            " pick another with --port (or --host)",
        ) from None
    return port
