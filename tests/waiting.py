"""Waiting in a test for what happens moments after the call that caused it: a replica hearing
of another's change, a journal written behind its answers."""

from __future__ import annotations

import time
from collections.abc import Callable


def soon(condition: Callable[[], bool], *, seconds: float = 1.0) -> bool:
    """Whether CONDITION holds within SECONDS, asked again until it does or the time is up."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.005)
    return True
