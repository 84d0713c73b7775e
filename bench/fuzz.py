"""schemathesis cases per second against the mock: in-process and over HTTP.

Through the project's runner, `contracts.fuzz` (every phase of schemathesis' engine, with the
Capillary checks), when contracts/ has one; otherwise, and if that runner fails, through
schemathesis' own Python API: for each operation, EXAMPLES generated cases, each sent and its
response checked against the spec. Each result says which of the two measured it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
import logging
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import schemathesis
from flask import Flask
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import Case
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.core.result import Err
from schemathesis.schemas import APIOperation, BaseSchema

from bench import probes
from bench.config import SPEC
from mockserver import create_app
from mockserver.settings import Settings

Operation = APIOperation[Any, Any, Any, Any]

#: The credential of probes.AUTHORIZATION, as contracts.FuzzOptions takes it.
AUTH = "bench.till:bench"

#: What the mock promises whatever it is sent: no 5xx, and every response as the spec says.
#: (A schema-valid request may still be refused by the state: a 400 is a documented answer.)
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]

OWN_API = (
    "schemathesis' own Python API (generate phase; not a server error, status code, content"
    " type, response schema)"
)
RUNNER = "contracts.fuzz (every phase of schemathesis' engine, its checks and Capillary's)"


@dataclasses.dataclass(frozen=True, kw_only=True)
class Fuzz:
    """One schemathesis run."""

    mode: str
    #: What ran it, and why when it is not contracts.fuzz.
    runner: str
    cases: int
    seconds: float
    #: Each distinct failure: "operation: what failed", with how often it was seen.
    failures: Counter[str]

    @property
    def rate(self) -> float:
        return self.cases / self.seconds if self.seconds else 0.0


def in_process(examples: int) -> Fuzz:
    """Cases per second against the mock's app object, in this process."""
    app = create_app(Settings())
    with _quiet("mockserver"):  # the app logs each bug of the mock that a case finds
        return _measure(app, "in-process", examples)


def over_http(origin: str, examples: int) -> Fuzz:
    """Cases per second against the mock serving at ORIGIN (http://127.0.0.1:PORT)."""
    return _measure(origin, "over HTTP", examples)


def _measure(target: str | Flask, mode: str, examples: int) -> Fuzz:
    try:
        contracts = importlib.import_module("contracts")
        runner = contracts.fuzz
    except (ImportError, AttributeError):
        why = "contracts/ exposes no runner yet (no contracts.fuzz)"
    else:
        try:
            return _through_contracts(contracts, runner, target, mode, examples)
        except Exception as error:  # a runner still in the making: measure without it, say so
            why = f"contracts.fuzz failed ({type(error).__name__}: {error})"
    if isinstance(target, str):
        schema = schemathesis.openapi.from_path(str(SPEC))
        base_url: str | None = target + "/v2"
    else:
        schema = schemathesis.openapi.from_wsgi("/openapi.json", target)
        base_url = None
    fuzz = _exercise(schema, mode, examples, base_url=base_url)
    return dataclasses.replace(fuzz, runner=f"{OWN_API}, as {why}")


def _through_contracts(
    contracts: Any, runner: Any, target: str | Flask, mode: str, examples: int
) -> Fuzz:
    """One run of contracts.fuzz; its cases and time are the runner's own count and clock."""
    outcome = runner(target, contracts.FuzzOptions(auth=AUTH, max_examples=examples))
    failures = Counter(f"{finding.operation}: {finding.title}" for finding in outcome.findings)
    return Fuzz(
        mode=mode,
        runner=RUNNER,
        cases=int(outcome.cases),
        seconds=float(outcome.elapsed),
        failures=failures,
    )


def _exercise(schema: BaseSchema, mode: str, examples: int, *, base_url: str | None) -> Fuzz:
    """Send EXAMPLES cases of each operation of SCHEMA, checking each response.

    Raises InvalidSchema if schemathesis cannot read an operation of the spec.
    """
    statuses: Counter[int] = Counter()
    failures: Counter[str] = Counter()
    started = time.perf_counter()
    for result in schema.get_all_operations():
        if isinstance(result, Err):
            raise result.err()
        _exercise_operation(result.ok(), examples, base_url, statuses, failures)
    return Fuzz(
        mode=mode,
        runner=OWN_API,
        cases=sum(statuses.values()),
        seconds=time.perf_counter() - started,
        failures=failures,
    )


def _exercise_operation(
    operation: Operation,
    examples: int,
    base_url: str | None,
    statuses: Counter[int],
    failures: Counter[str],
) -> None:
    """EXAMPLES cases of OPERATION, their statuses and failures counted into the last two."""
    headers = {"Authorization": probes.AUTHORIZATION}

    @given(case=operation.as_strategy())
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def send(case: Case[Operation]) -> None:
        response = case.call(base_url=base_url, headers=headers)
        statuses[response.status_code] += 1
        try:
            case.validate_response(response, checks=CHECKS, headers=headers)
        except (Failure, FailureGroup) as failed:
            found = failed.exceptions if isinstance(failed, FailureGroup) else (failed,)
            for failure in found:
                failures[f"{operation.label}: {failure.code} {failure.title}"] += 1

    send()


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
