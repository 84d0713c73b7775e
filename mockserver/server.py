"""Running the mock: gunicorn keeps the worker processes, each an aiohttp server on uvloop that
owns its connections and calls the mock's WSGI app for every request.

Why not a WSGI server (granian served the mock until issue 13): a request may ask to wait
(`Prefer: delay`, `--latency`) and to meet a fault that leaves the client without an answer
(`Prefer: fault=reset|empty|timeout|lost`). A WSGI app cannot ask its server to reset a
connection or to close it unanswered, and a waiting WSGI thread holds a worker. Here the app
decides what happens to a request (mockserver/rehearsal.py) and leaves the plan in the WSGI
environ; the worker waits without holding anything (asyncio) and carries the plan out on the
connection, which aiohttp hands it (`request.transport`). The app runs in the event loop's
thread: it answers in a fraction of a millisecond, and a thread would only add a hand-over.
Each request runs in a greenlet (mockserver/interleaving.py), and steps aside only where it
waits for PostgreSQL to answer a read, which goes with the reads of the others.

The parent process prepares what the workers share (the state and journal files, seeded
once) and passes the settings to them as CAPKIT_* variables; each worker builds its app.
"""

from __future__ import annotations

import asyncio
import dataclasses
import gc
import io
import logging
import os
import queue
import signal
import socket
import struct
import sys
import tempfile
from collections.abc import Callable, Iterable
from contextlib import suppress
from functools import partial
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote_to_bytes

from aiohttp import web
from aiohttp.worker import GunicornUVLoopWebWorker
from gunicorn import glogging
from gunicorn.app.base import BaseApplication
from yarl import URL

from mockserver import interleaving
from mockserver.app import create_app
from mockserver.body import CODINGS, DECODED, unreadable
from mockserver.chaos import PLAN, Plan
from mockserver.settings import Settings, SettingsError, flag
from mockserver.storage import StoreUnavailable

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication, WSGIEnvironment

log = logging.getLogger(__name__)

#: What a worker does as it stops, once it answers no more: set as its app is built.
_AT_STOP: list[Callable[[], None]] = []

#: Seconds a worker told to stop by SIGTERM (a rolling restart, a process manager) has to answer
#: the requests it took, waits and held faults included, before it is killed: stopping never
#: hangs, and ends within the 30 s a Kubernetes pod is given. Ctrl-C (SIGINT, then gunicorn's
#: SIGQUIT) stops the workers at once.
STOP_TIMEOUT = 25
#: Seconds an idle keep-alive connection stays open (aiohttp's default), and a request's body
#: may pause before the mock gives up on it.
KEEP_ALIVE = 75
#: SO_LINGER on, for 0 seconds: closing the socket resets the connection (RST), with no FIN.
_RESET = struct.pack("ii", 1, 0)


def app_from_environment() -> WSGIApplication:
    """The app of one worker, from the CAPKIT_* variables its parent set."""
    # The worker's own objects (the compiled spec, the routes) live as long as it does: built
    # with no collection (each walked all that was built so far, to free nothing), then
    # frozen, out of the collector's sight, after one collection (1 ms: the parent's are
    # frozen already).
    gc.disable()
    # The parent opened and seeded the state: a worker that starts while the database is
    # down (one restarted after a crash) serves 503 until it is back, where failing to start
    # would make gunicorn stop the whole mock.
    app = create_app(Settings.load(), prepared=True)
    # The entries a replica gathers for a moment before writing them (a rolling restart lost
    # the last of each replica).
    _AT_STOP.append(app.extensions["capkit"].journal.flush)
    gc.collect()
    gc.freeze()
    gc.enable()
    return app


def serve(settings: Settings) -> None:
    """Serve the mock until interrupted; a temporary state is removed when it stops.

    Logs where it serves first, then gunicorn's lines and the request log, through the
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
        try:
            carried_over = mock.rehearsal.carried_over(mock.store)
        except StoreUnavailable as error:
            raise SettingsError("state", f"{flag('state')} cannot be used now: {error}") from None
        mock.close()
        # What the imports and the app built lives as long as the processes: frozen before
        # the workers fork, a worker's collections walk its own objects only (1 ms, against
        # 70-80 for every module's). Collections, off while it was built (capkit serve turns
        # them off), are on again; collecting first would take those 70-80 ms.
        gc.freeze()
        gc.enable()
        operations = len(mock.contract.operations)
        os.environ.update(settings.environ())
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
        for line in carried_over:
            log.warning(line)
        run_workers(
            app_from_environment,
            host=settings.host,
            port=port,
            workers=settings.workers,
            max_body=settings.max_body,
        )


def run_workers(
    load: Callable[[], WSGIApplication], *, host: str, port: int, workers: int, max_body: int
) -> None:
    """Serve the WSGI app that LOAD builds (once in each worker) with WORKERS processes on
    HOST:PORT, until interrupted, reading at most MAX_BODY bytes of a body and one more (the
    app answers 413 past its limit); each request's plan (PLAN in its environ) carried out."""
    # libuv accepts one connection at a time, so that the workers share a burst of new
    # connections (with the default, one worker took all 10 of wrk's).
    os.environ.setdefault("UV_TCP_SINGLE_ACCEPT", "1")
    _Workers(
        partial(_aiohttp_app, load, max_body),
        bind=f"[{host}]:{port}" if ":" in host else f"{host}:{port}",
        workers=workers,
        worker_class="mockserver.server.Worker",
        graceful_timeout=STOP_TIMEOUT,
        keepalive=KEEP_ALIVE,
        logger_class=_Log,
        # gunicorn 25.1's control socket, in the user's home: the mock has no use for it.
        control_socket_disable=True,
        post_fork=_stop_at_once_until_it_listens,
    ).run()


#: What stops a worker: Ctrl-C (SIGINT, then gunicorn's SIGQUIT), and SIGTERM.
_STOPS = (signal.SIGINT, signal.SIGQUIT, signal.SIGTERM)


def _stop_at_once_until_it_listens(arbiter: Any, worker: Any) -> None:
    """gunicorn's hook in a worker just forked: until the worker's event loop takes its signals
    (Worker.init_signals), a signal that stops it ends it at once, as it has taken no request
    yet. A worker forked from the arbiter has the arbiter's handlers, which put the signal in
    the arbiter's queue: a SIGQUIT of Ctrl-C that came then was lost, and the worker served on
    until gunicorn killed it, 25 s later (2 Ctrl-C in 61 that came as workers started). One
    that came before this hook ran is in that queue, the worker's copy of it."""
    for stop in _STOPS:
        signal.signal(stop, _exit_now)
    queued = []
    with suppress(queue.Empty):
        while True:
            queued.append(arbiter.SIG_QUEUE.get_nowait())
    if any(signal_number in _STOPS for signal_number in queued):
        _exit_now()


def _exit_now(*_: Any) -> None:
    _exit(0)


def _exit(code: int) -> None:
    """End this worker process now, with CODE, its output written out: none of the parent's
    clean-up (its `with` blocks, atexit) runs in it."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


class Worker(GunicornUVLoopWebWorker):
    """aiohttp's worker on uvloop, but Ctrl-C (SIGINT, and the SIGQUIT gunicorn then sends)
    stops it at once, where aiohttp's waits for the requests in flight as SIGTERM does (up to
    STOP_TIMEOUT: a request held for a rehearsed fault kept Ctrl-C waiting 25 s)."""

    def init_signals(self) -> None:
        """aiohttp's handlers, through the event loop, once it runs: uvloop drops a signal that
        comes after a handler is added and before the loop runs (1 Ctrl-C in 70 that came as
        workers started; the worker served on until gunicorn killed it, 25 s later). Until
        then, a signal that stops the worker ends it (_stop_at_once_until_it_listens)."""
        self.loop.call_soon(super().init_signals)

    def handle_quit(self, sig: int, frame: FrameType | None) -> None:
        super().handle_quit(sig, frame)
        sys.exit(0)

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        """SIGTERM: stop taking connections now; aiohttp's worker, told only to stop, looked
        at that once a second and took connections meanwhile."""
        super().handle_exit(sig, frame)
        self._notify_waiter_done()


class _Workers(BaseApplication):  # type: ignore[misc]  # gunicorn ships no type information
    """gunicorn run from Python, with OPTIONS (its settings) and no command line of its own."""

    def __init__(self, application: Any, **options: Any) -> None:
        self.application = application
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for name, value in self.options.items():
            self.cfg.set(name, value)

    def load(self) -> Any:
        return self.application

    def run(self) -> None:
        """Run the arbiter until it stops; a worker, forked from it, ends where it ends.

        A worker leaves gunicorn by raising SystemExit, which would unwind the stack it shares
        with the parent: the parent's `with` blocks would run in the worker, one removing the
        temporary state of every other worker while they still serve (seen when Ctrl-C met a
        worker that was starting).
        """
        parent = os.getpid()
        try:
            super().run()
        except BaseException as leaving:
            if os.getpid() == parent:
                raise
            code = leaving.code if isinstance(leaving, SystemExit) else 1
            _exit(code if isinstance(code, int) else 0 if code is None else 1)


class _Log(glogging.Logger):  # type: ignore[misc]  # gunicorn ships no type information
    """gunicorn's lines through the logging the caller configured, as the mock's own are."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        for logger in (self.error_log, self.access_log):
            logger.handlers.clear()
            logger.propagate = True
        self.error_log.addFilter(_not_a_closed_socket)


def _not_a_closed_socket(record: logging.LogRecord) -> bool:
    # aiohttp's worker closes its listening socket, then gunicorn's closes it again and says
    # so on every stop, at INFO: nothing went wrong.
    return not record.getMessage().startswith("Error while closing socket")


async def _aiohttp_app(load: Callable[[], WSGIApplication], max_body: int) -> web.Application:
    """The aiohttp app of one worker: every request to the WSGI app that LOAD builds."""
    wsgi = load()
    log.info("capkit worker %s answers", os.getpid())
    # aiohttp refuses a request line or a header over 8 KB with a bare 400: these let the
    # mock answer a long value itself, in Capillary's envelope, as far as a megabyte.
    served = web.Application(
        handler_args={"max_line_size": _LONGEST_LINE, "max_field_size": _LONGEST_LINE}
    )
    served.router.add_route("*", "/{path:.*}", partial(_answer, wsgi, max_body))
    served.on_cleanup.append(_stopped)
    return served


async def _stopped(_: web.Application) -> None:
    """What the worker's app asked to be done as it stops, once it answers no more."""
    for then in _AT_STOP:
        await asyncio.to_thread(then)


#: The longest request line, or header, that the mock reads.
_LONGEST_LINE = 1024 * 1024


async def _answer(wsgi: WSGIApplication, max_body: int, request: web.Request) -> web.StreamResponse:
    """WSGI's answer to REQUEST, after the wait its plan asks for, or the fault instead."""
    cut_short = False
    try:
        body = await _body(request, max_body)
    except (web.RequestPayloadError, TimeoutError) as error:
        # Data that its Content-Encoding does not decode, or a body that stopped coming: the
        # app answers 400 for the body, and the connection closes after it (the rest cannot
        # be read either); aiohttp would read on to its end first, and log the same error as
        # unhandled, or wait for the rest for as long as the client keeps the connection.
        request.content.feed_eof()
        environ = _environ(request, b"")
        reason = (
            f"it stopped coming: no more of it arrived within {KEEP_ALIVE:g} s"
            if isinstance(error, TimeoutError)
            else getattr(error.__cause__, "message", None) or str(error)
        )
        unreadable(environ, reason)
        cut_short = True
    else:
        environ = _environ(request, body or b"")
        if body is not None and request.headers.get("Content-Encoding", "").lower() in CODINGS:
            # aiohttp decoded the body: the length sent is not the length read.
            environ.pop("CONTENT_LENGTH", None)
            environ[DECODED] = True
    status, headers, content = await interleaving.answer(_call, wsgi, environ)
    plan: Plan | None = environ.get(PLAN)
    if plan is not None and plan.delay:
        await asyncio.sleep(plan.delay)
    if plan is None or plan.answered:
        response = _response(status, headers, content)
        if cut_short:
            response.force_close()
        return response
    transport = request.transport
    assert transport is not None, "a request being answered has its connection"
    if plan.fault in ("reset", "lost"):
        transport.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _RESET)
        transport.abort()
    else:  # empty, or timeout once held
        transport.close()
    # The connection is gone: aiohttp writes nothing more on it.
    raise asyncio.CancelledError


async def _body(request: web.BaseRequest, limit: int) -> bytes | None:
    """The request's body, up to one byte past LIMIT (the app answers 413 for that); None,
    unread, when its Content-Length is over LIMIT already. Raises TimeoutError for a body of
    which nothing more came for KEEP_ALIVE seconds."""
    if request.content_length is not None and request.content_length > limit:
        return None
    if not request.body_exists:
        return b""
    pieces, size = [], 0
    while size <= limit:
        async with asyncio.timeout(KEEP_ALIVE):  # as long as an idle connection is kept
            piece = await request.content.read(limit + 1 - size)
        if not piece:
            break
        pieces.append(piece)
        size += len(piece)
    return b"".join(pieces)


def _environ(request: web.BaseRequest, body: bytes) -> WSGIEnvironment:
    """REQUEST as a WSGI environ (PEP 3333), its BODY read already."""
    transport = request.transport
    host, port = transport.get_extra_info("sockname")[:2] if transport else ("", 0)
    # As sent: aiohttp's query_string is decoded already.
    target, authority = request.raw_path, None
    absolute = None if target.startswith("/") else URL(target)
    if absolute is not None and absolute.absolute:
        # absolute-form (RFC 9112 3.2.2), as a client sends it to a proxy (the mock as
        # HTTP_PROXY): its path and query are the request's, its host and port (no userinfo,
        # a password) the Host.
        target, authority = absolute.raw_path_qs, absolute.raw_authority.rpartition("@")[2]
    path, _, query = target.partition("?")
    environ: dict[str, Any] = {
        "REQUEST_METHOD": request.method,
        "SCRIPT_NAME": "",
        # Decoded, in WSGI's "bytes as latin-1" strings (PEP 3333).
        "PATH_INFO": unquote_to_bytes(path).decode("latin-1"),
        "QUERY_STRING": query,
        # The target as sent, for the journal's URL (as gunicorn's and werkzeug's servers do).
        "RAW_URI": target,
        "SERVER_NAME": host,
        "SERVER_PORT": str(port),
        "SERVER_PROTOCOL": f"HTTP/{request.version.major}.{request.version.minor}",
        "REMOTE_ADDR": request.remote or "",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": request.scheme,
        "wsgi.input": io.BytesIO(body),
        "wsgi.input_terminated": True,
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    for name, value in request.raw_headers:
        key = name.decode("latin-1").upper().replace("-", "_")
        text = value.decode("latin-1")
        if key not in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            key = "HTTP_" + key
        environ[key] = f"{environ[key]},{text}" if key in environ else text
    if authority is not None:
        environ["HTTP_HOST"] = authority
    return environ


def _call(
    wsgi: WSGIApplication, environ: WSGIEnvironment
) -> tuple[int, list[tuple[str, str]], bytes]:
    """WSGI's status, headers and body for ENVIRON."""
    answered: list[Any] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        answered[:] = [status, headers]
        return lambda data: None

    chunks: Iterable[bytes] = wsgi(environ, start_response)
    try:
        content = b"".join(chunks)
    finally:
        if hasattr(chunks, "close"):
            chunks.close()
    status, headers = answered
    return int(status.split(" ", 1)[0]), headers, content


def _response(status: int, headers: list[tuple[str, str]], content: bytes) -> web.Response:
    response = web.Response(status=status, body=content)
    for name, value in headers:
        if name.lower() != "content-length":  # aiohttp counts the body itself
            response.headers.add(name, value)
    return response


def _usable_port(settings: Settings) -> int:
    """The port to listen on: settings.port, or for port 0 one the system finds free.

    Raises SettingsError when nothing can listen there.
    """
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            settings.host, settings.port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        with socket.socket(family, kind, proto) as probe:
            # SO_REUSEADDR as gunicorn binds: a port with connections closing is free. Not
            # SO_REUSEPORT, with which a second mock would share the port of a running one,
            # each answering from its own state.
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
