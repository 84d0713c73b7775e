"""Requests of one worker answered side by side where they wait for the database.

The mock's app is synchronous (WSGI), and a worker runs it in its event loop's thread
(mockserver/server.py). A worker on PostgreSQL would then wait for each request's round trip
to the database in turn, each costing it and the server a wakeup. Run in a greenlet of its
own instead, a request that reads the database steps aside (`Request.suspend`) until what it
waits for resumes it; the loop answers the other requests meanwhile, and their reads go to the
server together (mockserver/storage/postgresql/reads.py). The other statements of a request
(its writes) hold the loop while the server answers as it should, and step aside only past
that (`wait_aside`: a paused server, a lock held long, the connection held by another), as a
request does for a lock that another holds aside (`locked`), and for what only a thread can
wait on (`in_thread`). Nothing else switches: between two of those, a request runs as it did
inline, alone.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import greenlet

T = TypeVar("T")

#: Seconds between a request's tries of a lock held by another (`locked`).
LOCK_SECONDS = 0.01
#: What a request hands the one that ran or resumed it: it stepped aside, or it has answered.
_SUSPENDED = object()
_ANSWERED = object()


class Request(greenlet.greenlet):
    """A greenlet that runs the requests `answer` gives it, one after the other: while one
    runs, it is that request, which may suspend. (Starting and ending a greenlet costs ten times
    what switching to one does: 14 us against 1.2 on the bench's machine.)"""

    def __init__(self) -> None:
        super().__init__()
        self._job: tuple[Callable[..., Any], tuple[Any, ...]] | None = None
        self._result: Any = None
        self._error: BaseException | None = None
        #: Set once the request has stepped aside: what `answer` awaits.
        self._done: asyncio.Future[None] | None = None

    def run(self) -> None:
        while True:
            assert self._job is not None
            function, arguments = self._job
            try:
                self._result, self._error = function(*arguments), None
            except BaseException as error:  # raised by `answer`, in the task that awaits it
                self._result, self._error = None, error
            if self._done is not None and not self._done.done():  # else: cancelled
                self._done.set_result(None)
            self._loop().switch(_ANSWERED)

    def suspend(self) -> Any:
        """Step aside until `resume` (what it gives is returned) or `fail` (what it gives is
        raised). Only in this request, and from the event loop's thread."""
        if self._done is None:
            self._done = asyncio.get_running_loop().create_future()
        return self._loop().switch(_SUSPENDED)

    def resume(self, value: Any) -> None:
        """Go on with the request that suspended, VALUE returned by its `suspend`; returns when
        it has answered, or suspends again."""
        self.switch(value)

    def fail(self, error: BaseException) -> None:
        """As resume, ERROR raised by its `suspend`."""
        self.throw(error)

    def answer(
        self, function: Callable[..., T], arguments: tuple[Any, ...]
    ) -> asyncio.Future[None] | None:
        """Start FUNCTION(*ARGUMENTS); None once it has answered, else what it awaits."""
        self._job, self._done = (function, arguments), None
        if self.switch() is _ANSWERED:
            return None
        return self._done

    def _loop(self) -> greenlet.greenlet:
        """The greenlet of the event loop, which started this one and resumes it."""
        loop = self.parent
        assert loop is not None, "a request's greenlet has the loop's as its parent"
        return loop

    def outcome(self) -> Any:
        self._job = None
        if self._error is not None:
            error, self._error = self._error, None
            raise error
        result, self._result = self._result, None
        return result


class _Idle(threading.local):
    """Greenlets of this thread (one runs in the thread it was made in) that answered their
    last request, for the next."""

    def __init__(self) -> None:
        self.requests: list[Request] = []


_idle = _Idle()


async def answer(function: Callable[..., T], *arguments: Any) -> T:
    """FUNCTION(*ARGUMENTS), run in a greenlet of its own on the running event loop: where it
    suspends, the loop goes on with its other tasks until it is resumed."""
    idle = _idle.requests
    request = idle.pop() if idle else Request()
    waiting = request.answer(function, arguments)
    if waiting is not None:
        # Cancelled while suspended, the request goes on once resumed, for nobody; its
        # greenlet is not taken again.
        await waiting
    try:
        result: T = request.outcome()
    finally:
        idle.append(request)
    return result


def wait_aside(
    request: Request, seconds: float, *, readable: int | None = None, writable: int | None = None
) -> None:
    """Step REQUEST aside until the file descriptor READABLE can be read, or WRITABLE written,
    or SECONDS have passed, whichever comes first: the loop goes on with the others meanwhile.
    From the request itself."""
    loop = asyncio.get_running_loop()
    woken = False

    def wake() -> None:
        nonlocal woken
        if not woken:  # once: the descriptors and the timer may all be ready in one turn
            woken = True
            request.resume(None)

    timer = loop.call_later(seconds, wake)
    if readable is not None:
        loop.add_reader(readable, wake)
    if writable is not None:
        loop.add_writer(writable, wake)
    try:
        request.suspend()
    finally:
        woken = True
        timer.cancel()
        if readable is not None:
            loop.remove_reader(readable)
        if writable is not None:
            loop.remove_writer(writable)


def in_thread(function: Callable[[], T]) -> T:
    """FUNCTION(), which may wait long on what the loop cannot watch (a connect that libpq makes
    whole, a condition of another thread), run in a thread of the loop's executor while the
    request that asks for it waits aside; outside a request, run here."""
    request = current()
    if request is None:
        return function()
    done = asyncio.get_running_loop().run_in_executor(None, function)
    done.add_done_callback(lambda _: request.resume(None))
    request.suspend()
    return done.result()


@contextmanager
def locked(lock: threading.Lock) -> Iterator[None]:
    """LOCK held for the block. A request that finds it held waits aside, trying again every
    LOCK_SECONDS: it may be held by another request of the loop's thread that waits aside, which
    would never go on were the loop held for it."""
    request = current()
    if request is None:
        lock.acquire()
    else:
        while not lock.acquire(blocking=False):
            wait_aside(request, LOCK_SECONDS)
    try:
        yield
    finally:
        lock.release()


def current() -> Request | None:
    """The request run by `answer` that is running, if any: one that may suspend."""
    running = greenlet.getcurrent()
    return running if isinstance(running, Request) else None
