"""What a run found: cases per operation, each distinct failure once, and the run's errors.

The Collector reads schemathesis' engine events; an Outcome is the result, plain data that the
CLI prints and the pytest entry point asserts on.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterable

from schemathesis.core.failures import Failure
from schemathesis.engine import StopReason, events
from schemathesis.engine.recorder import CheckNode, ScenarioRecorder

from contracts.errors import EngineFailed

__all__ = ["Collector", "Finding", "OperationResult", "Outcome", "RunError"]

_BODY_EXCERPT = 300
UNAUTHORIZED = 401


@dataclasses.dataclass(frozen=True)
class Finding:
    """One distinct contract failure: where, which check, expected and actual, how to redo it."""

    #: The operation's label (GET /customers/{customerId}); "run" for a failure of the whole run.
    operation: str
    check: str
    title: str
    #: What the check says: expected and actual.
    message: str
    #: The answer's status and the start of its body, when there was one.
    status: int | None
    body: str
    #: curl commands that reproduce it, oldest first (a stateful failure needs its earlier steps).
    reproduce: tuple[str, ...]


@dataclasses.dataclass(frozen=True)
class OperationResult:
    label: str
    operation_id: str | None
    cases: int
    failures: int


@dataclasses.dataclass(frozen=True)
class RunError:
    """A case that could not be run to its end (a timeout, a broken connection, a crash)."""

    label: str
    title: str
    message: str


@dataclasses.dataclass(frozen=True)
class Outcome:
    base_url: str
    operations: tuple[OperationResult, ...]
    findings: tuple[Finding, ...]
    errors: tuple[RunError, ...]
    elapsed: float
    stop_reason: StopReason
    #: No request got an answer other than 401: the run tested nothing past authentication.
    unauthenticated: bool

    @property
    def cases(self) -> int:
        return sum(operation.cases for operation in self.operations)

    @property
    def conforms(self) -> bool:
        """The target broke no check, and every case ran."""
        return not self.findings and not self.errors

    @property
    def target_stopped(self) -> bool:
        """The target stopped answering during the run, which ended early."""
        return self.stop_reason is StopReason.SERVER_UNAVAILABLE

    @property
    def interrupted(self) -> bool:
        """The run was stopped (Ctrl-C) before its end."""
        return self.stop_reason is StopReason.INTERRUPTED

    @property
    def inconclusive(self) -> str | None:
        """Why the run could not judge the target, or None when it could."""
        if self.target_stopped:
            return "the run ended early: the target stopped answering"
        if self.interrupted:
            return "the run ended early: it was interrupted"
        if self.unauthenticated and self.conforms:
            return (
                "every request was answered 401, so nothing was tested past authentication;"
                " pass --auth till:password (auth= in Python) or a credentials header"
            )
        return None

    @property
    def cases_per_second(self) -> float:
        return self.cases / self.elapsed if self.elapsed > 0 else 0.0


class Collector:
    """Builds an Outcome from the engine's events, for OPERATIONS: (label, operationId) in order."""

    def __init__(self, base_url: str, operations: Iterable[tuple[str, str | None]]) -> None:
        self.base_url = base_url
        self.operation_ids = dict(operations)
        self.cases: Counter[str] = Counter()
        self.findings: dict[tuple[str, Failure], Finding] = {}
        self.errors: dict[tuple[str, str], RunError] = {}
        self.statuses: set[int] = set()
        self.stop_reason = StopReason.INTERRUPTED
        self.elapsed = 0.0

    def on_event(self, event: events.EngineEvent) -> None:
        """Take in EVENT; raise EngineFailed when schemathesis itself failed."""
        if isinstance(event, events.ScenarioFinished) and event.is_test_scenario:
            self._on_scenario(event.recorder)
        elif isinstance(event, events.NonFatalError):
            key = (event.label, event.info.title)
            self.errors.setdefault(key, RunError(event.label, event.info.title, event.info.message))
        elif isinstance(event, events.FatalError):
            raise EngineFailed(f"schemathesis stopped: {event.exception}") from event.exception
        elif isinstance(event, events.EngineFinished):
            self.stop_reason = event.stop_reason
            self.elapsed = event.running_time
            for failure in event.failures:
                self._add("run", failure, status=None, body="", reproduce=())

    def outcome(self) -> Outcome:
        failures = Counter(finding.operation for finding in self.findings.values())
        return Outcome(
            base_url=self.base_url,
            operations=tuple(
                OperationResult(label, operation_id, self.cases[label], failures[label])
                for label, operation_id in self.operation_ids.items()
            ),
            findings=tuple(self.findings.values()),
            errors=tuple(self.errors.values()),
            elapsed=self.elapsed,
            stop_reason=self.stop_reason,
            unauthenticated=bool(self.statuses) and self.statuses <= {UNAUTHORIZED},
        )

    def _on_scenario(self, recorder: ScenarioRecorder) -> None:
        for case_id, node in recorder.cases.items():
            interaction = recorder.interactions.get(case_id)
            if interaction is None:
                continue
            case = node.value
            self.cases[case.operation.label] += 1
            # The answers to other methods (schemathesis expects 405s there) say nothing of auth.
            if interaction.response is not None and case.method == case.operation.method.upper():
                self.statuses.add(interaction.response.status_code)
        for case_id, checks in recorder.checks.items():
            for check in checks:
                if check.failure_info is not None:
                    self._add_check(recorder, case_id, check)

    def _add_check(self, recorder: ScenarioRecorder, case_id: str, check: CheckNode) -> None:
        assert check.failure_info is not None
        info = check.failure_info
        if (check.name, info.failure) in self.findings:
            return
        interaction = recorder.interactions.get(case_id)
        response = interaction.response if interaction is not None else None
        steps = tuple(step.curl for step in info.steps) or (info.code_sample,)
        # A stateful failure needs the requests before it: the registration, then the read.
        chain = list(
            recorder.iter_chain_cases(
                case_id=case_id, related_case_ids=info.failure.related_case_ids()
            )
        )
        earlier = tuple(
            case.as_curl_command(headers=recorder.find_request_headers(case_id=case.id))
            for case in chain
            if case.id != case_id and case.id in recorder.interactions
        )
        self._add(
            check.name,
            info.failure,
            status=response.status_code if response is not None else None,
            body=_excerpt(response.text_lossy()) if response is not None else "",
            reproduce=earlier + steps,
        )

    def _add(
        self,
        check: str,
        failure: Failure,
        *,
        status: int | None,
        body: str,
        reproduce: tuple[str, ...],
    ) -> None:
        # schemathesis' own notion of "the same failure" (its class, operation and origin) keys it.
        key = (check, failure)
        if key in self.findings:
            return
        self.findings[key] = Finding(
            operation=failure.operation or "run",
            check=check,
            title=failure.title,
            message=failure.message,
            status=status,
            body=body,
            reproduce=reproduce,
        )


def _excerpt(text: str) -> str:
    flat = " ".join(text.split())
    return flat[:_BODY_EXCERPT] + ("..." if len(flat) > _BODY_EXCERPT else "")
