"""schemathesis cases per second against the mock, in-process and over HTTP.

Each run is the project's own, `contracts.fuzz`: every phase of schemathesis' engine, its checks
and Capillary's. The mock is pinned to the bench's till (`--auth`), as a contract run wants it:
with its default of any well-formed credentials, ignored_auth would report that by design.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
from collections import Counter
from collections.abc import Iterator

from flask import Flask

from contracts import FuzzOptions, fuzz
from mockserver import create_app
from mockserver.settings import Settings

#: The credential of probes.AUTHORIZATION, as `capkit serve --auth` and FuzzOptions take it.
AUTH = "bench.till:bench"


@dataclasses.dataclass(frozen=True, kw_only=True)
class Fuzz:
    """One schemathesis run."""

    mode: str
    cases: int
    seconds: float
    #: Each distinct failure: "operation: what failed", with how often it was seen.
    failures: Counter[str]

    @property
    def rate(self) -> float:
        return self.cases / self.seconds if self.seconds else 0.0


def in_process(examples: int) -> Fuzz:
    """Cases per second against the mock's app object, in this process."""
    app = create_app(Settings(auth=AUTH))
    with _quiet("mockserver"):  # the app logs each bug of the mock that a case finds
        return _measure(app, "in-process", examples)


def over_http(origin: str, examples: int) -> Fuzz:
    """Cases per second against the mock serving at ORIGIN (http://127.0.0.1:PORT)."""
    return _measure(origin, "over HTTP", examples)


def _measure(target: str | Flask, mode: str, examples: int) -> Fuzz:
    """One run of contracts.fuzz; its cases and time are the runner's own count and clock."""
    outcome = fuzz(target, FuzzOptions(auth=AUTH, max_examples=examples))
    return Fuzz(
        mode=mode,
        cases=int(outcome.cases),
        seconds=float(outcome.elapsed),
        failures=Counter(f"{finding.operation}: {finding.title}" for finding in outcome.findings),
    )


@contextlib.contextmanager
def _quiet(logger: str) -> Iterator[None]:
    """Silence LOGGER (the in-process mock logs each bug schemathesis finds) for a while."""
    log = logging.getLogger(logger)
    level = log.level
    log.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        log.setLevel(level)
