"""Requests answered side by side: each runs as it would alone, but where it suspends, and the
event loop answers the others meanwhile."""

from __future__ import annotations

import asyncio
import contextvars
import threading

import pytest

from mockserver import interleaving
from mockserver.interleaving import Request
from tests.served import run


def suspended(waiting: list[Request], label: str) -> str:
    """A request that suspends once, listed in WAITING for the test to resume."""
    request = interleaving.current()
    assert request is not None
    waiting.append(request)
    given = request.suspend()
    return f"{label} got {given}"


def test_a_request_that_does_not_suspend_answers_as_a_call_would() -> None:
    async def main() -> tuple[int, bool]:
        return await interleaving.answer(lambda a, b: a + b, 2, 3), interleaving.current() is None

    assert run(main) == (5, True)


def test_a_request_raises_what_its_function_raised() -> None:
    def refuse() -> None:
        raise LookupError("no such customer")

    async def main() -> None:
        await interleaving.answer(refuse)

    with pytest.raises(LookupError, match="no such customer"):
        run(main)


def test_requests_suspended_together_each_get_what_they_are_resumed_with() -> None:
    waiting: list[Request] = []

    async def main() -> list[str]:
        answers = asyncio.gather(
            interleaving.answer(suspended, waiting, "first"),
            interleaving.answer(suspended, waiting, "second"),
        )
        while len(waiting) < 2:  # both are running, neither has answered
            await asyncio.sleep(0)
        first, second = waiting
        second.resume("B")  # in the other order than they suspended
        first.resume("A")
        return await answers

    assert run(main) == ["first got A", "second got B"]


def test_a_request_failed_raises_where_it_suspended() -> None:
    waiting: list[Request] = []

    async def main() -> str:
        answer = asyncio.ensure_future(interleaving.answer(suspended, waiting, "it"))
        while not waiting:
            await asyncio.sleep(0)
        waiting[0].fail(TimeoutError("no answer from the server"))
        return await answer

    with pytest.raises(TimeoutError, match="no answer from the server"):
        run(main)


def test_a_request_cancelled_while_suspended_ends_when_resumed_and_others_go_on() -> None:
    waiting: list[Request] = []

    async def main() -> tuple[str, bool]:
        answer = asyncio.ensure_future(interleaving.answer(suspended, waiting, "gone"))
        while not waiting:
            await asyncio.sleep(0)
        answer.cancel()
        with pytest.raises(asyncio.CancelledError):
            await answer
        waiting[0].resume("late")  # its read came back after all: it ends, telling nobody
        return await interleaving.answer(
            lambda: ("next request", interleaving.current() is waiting[0])
        )

    assert run(main) == ("next request", False)


def test_a_request_that_waits_in_a_thread_holds_up_no_other_request() -> None:
    released = threading.Event()

    def wait_for_the_other() -> str:
        return interleaving.in_thread(lambda: "released" if released.wait(5) else "waited alone")

    async def main() -> list[str]:
        waiting = asyncio.ensure_future(interleaving.answer(wait_for_the_other))
        await asyncio.sleep(0.05)
        other = await interleaving.answer(lambda: released.set() or "the other answered")
        return [other, await waiting]

    assert run(main) == ["the other answered", "released"]


def test_a_request_raises_what_its_wait_in_a_thread_raised() -> None:
    def refuse() -> None:
        raise ConnectionError("the server took the connection and said nothing")

    async def main() -> None:
        await interleaving.answer(interleaving.in_thread, refuse)

    with pytest.raises(ConnectionError, match="said nothing"):
        run(main)


def test_each_request_has_context_variables_of_its_own() -> None:
    """As Flask keeps a request's context in them: a request resumed after another ran sees
    its own."""
    current = contextvars.ContextVar[str]("current")
    waiting: list[Request] = []

    def handle(label: str) -> str:
        current.set(label)
        suspended(waiting, label)
        return current.get()

    async def main() -> list[str]:
        answers = asyncio.gather(
            interleaving.answer(handle, "first"), interleaving.answer(handle, "second")
        )
        while len(waiting) < 2:
            await asyncio.sleep(0)
        for request in waiting:
            request.resume(None)
        return await answers

    assert run(main) == ["first", "second"]
