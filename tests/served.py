"""Running a test's code as a worker of the mock runs a request's: on uvloop, in a thread of its
own (the thread where Playwright's synchronous API ran has an event loop running for good)."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import uvloop

from mockserver import interleaving

T = TypeVar("T")


def run(main: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """MAIN's result (or what it raised), run to its end on an event loop of uvloop."""

    def in_thread() -> T:
        loop = uvloop.new_event_loop()
        try:
            return loop.run_until_complete(main())
        finally:
            loop.close()

    with ThreadPoolExecutor(1) as thread:
        return thread.submit(in_thread).result()


def as_request(function: Callable[[], T]) -> T:
    """FUNCTION's result, run as the one request of a worker (interleaving.answer)."""

    async def main() -> T:
        return await interleaving.answer(function)

    return run(main)


async def loop_held_by(function: Callable[..., T], *arguments: Any) -> tuple[float, T | Exception]:
    """How long FUNCTION(*ARGUMENTS), answered as a request, held the loop at most, and what it
    returned or raised."""
    ticker = Ticker()
    try:
        outcome: T | Exception = await interleaving.answer(function, *arguments)
    except Exception as error:
        outcome = error
    return ticker.longest_pause(), outcome


class Ticker:
    """A task of the loop that ticks every 50 ms: the longest gap between two ticks is how long
    the loop was held."""

    def __init__(self) -> None:
        self._ticks = [time.monotonic()]
        self._task = asyncio.ensure_future(self._tick())

    async def _tick(self) -> None:
        while True:
            self._ticks.append(time.monotonic())
            await asyncio.sleep(0.05)

    def longest_pause(self) -> float:
        self._task.cancel()
        ticks = [*self._ticks, time.monotonic()]  # the loop's last turn, had it not ticked since
        return max(after - before for before, after in itertools.pairwise(ticks))
