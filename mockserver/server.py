"""Running the mock on granian, a production HTTP server (in Rust) that serves WSGI.

The parent process prepares what the workers share (the state and journal files, seeded
once) and passes the settings to them as CAPKIT_* variables; each worker builds its app.
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from flask import Flask
from granian import Granian
from granian.constants import Interfaces

from mockserver.app import create_app
from mockserver.settings import Settings


def app_from_environment() -> Flask:
    """The app of one worker, from the CAPKIT_* variables its parent set."""
    return create_app(Settings.load())


def serve(settings: Settings, *, announce: Callable[[str], None] = print) -> None:
    """Serve the mock until interrupted; a temporary state is removed when it stops."""
    with tempfile.TemporaryDirectory(prefix="capkit-") as scratch:
        settings = dataclasses.replace(
            settings,
            state=settings.state or Path(scratch) / "state.db",
            journal=settings.journal or Path(scratch) / "journal.db",
        )
        # Built once here to fail before any worker starts, and to seed the state once.
        operations = len(create_app(settings).extensions["capkit"].contract.operations)
        os.environ.update(settings.environ())
        server = Granian(
            "mockserver.server:app_from_environment",
            factory=True,
            interface=Interfaces.WSGI,
            address=settings.host,
            port=settings.port,
            workers=settings.workers,
            # Python runs one thread at a time: a few threads per worker keep it busy
            # while one waits on SQLite; hundreds only add switching.
            blocking_threads=4,
        )
        temporary = settings.state == Path(scratch) / "state.db"
        kept = "state in a temporary file" if temporary else f"state kept in {settings.state}"
        announce(
            f"capkit mock: {operations} operations at http://{settings.host}:{settings.port}/v2"
            f" ({settings.workers} worker{'s' if settings.workers > 1 else ''}, {kept},"
            f" auth {'on' if settings.auth_required else 'off'}). Ctrl-C stops it."
        )
        server.serve()
