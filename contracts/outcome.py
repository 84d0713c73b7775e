"""What a run found: cases per operation, each distinct failure once, and the run's errors.

The Collector reads schemathesis' engine events; an Outcome is the result, plain data that the
CLI prints and the pytest entry point asserts on.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterable

from schemathesis.core import curl
from schemathesis.core.failures import Failure
from schemathesis.engine import StopReason, events
from schemathesis.engine.recorder import CheckNode, Interaction, ScenarioRecorder

from contracts.coverage import Coverage, CoverageCounter
from contracts.errors import EngineFailed
from contracts.intent import intent_of, shown_headers

__all__ = ["Collector", "Credentials", "Finding", "OperationResult", "Outcome", "RunError"]

_BODY_EXCERPT = 300
UNAUTHORIZED = 401
TOO_MANY_REQUESTS = 429
#: This many answers, all 401, at the start of a run: the credentials are refused, or missing.
REFUSED_AFTER = 5


@dataclasses.dataclass(frozen=True)
class Credentials:
    """What a run sent to authenticate, without a secret: the till of --auth (Basic), and the
    credentials headers it was given, by name."""

    till: str | None = None
    headers: tuple[str, ...] = ()

    def __str__(self) -> str:
        named = [f"--auth till {self.till!r}"] if self.till is not None else []
        return " and ".join(named + [f"header {name}" for name in self.headers])

    @property
    def basic(self) -> bool:
        """--auth, or an Authorization header."""
        return self.till is not None or "authorization" in self._names

    @property
    def token(self) -> bool:
        """A credentials header other than Authorization (X-CAP-API-OAUTH-TOKEN)."""
        return any(name != "authorization" for name in self._names)

    @property
    def _names(self) -> list[str]:
        return [name.lower() for name in self.headers]


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
    #: The cases that got an answer, and of those the ones answered 429 (Too Many Requests).
    answers: int = 0
    throttled: int = 0


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
    #: The credentials the run sent, None when it sent none.
    credentials: Credentials | None = None
    #: The statuses and documented error codes the run's answers reached, per operation.
    coverage: Coverage = dataclasses.field(default_factory=Coverage)
    #: The seed of the generated cases: the same seed, the same cases.
    seed: int | None = None

    @property
    def cases(self) -> int:
        return sum(operation.cases for operation in self.operations)

    @property
    def answers(self) -> int:
        return sum(operation.answers for operation in self.operations)

    @property
    def throttled(self) -> int:
        return sum(operation.throttled for operation in self.operations)

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
        """Why a run without failures could not judge the target, or None when it could.

        Errors alone leave it unjudged: a case that could not run to its end (the target went
        away, a timeout) tested nothing, and says nothing of the contract."""
        if self.findings:
            return None
        named = "; ".join(f"{error.label}: {error.title}" for error in self.errors)
        errors = f" ({named})" if named else ""
        if self.unauthenticated and self.credentials is None:
            return (
                "every request was answered 401: the target wants credentials and the run sent"
                " none, so nothing was tested past authentication; pass --auth till:password"
                " (auth= in Python) or a credentials header"
            )
        if self.unauthenticated:
            if self.by_token:
                check = "check the token"
            elif self.token_beside_basic:
                check = (
                    "check them: a request with a token is judged by the token (as Capillary"
                    " does), so the target must take this one (capkit's mock: --token)"
                )
            else:
                check = "check them (the password goes as its md5, as Capillary takes it)"
            return (
                f"every request was answered 401: the target refused the credentials of this run"
                f" ({self.credentials}), so nothing was tested past authentication; {check}"
            )
        if self.target_stopped:
            return f"the run ended early: the target stopped answering{errors}"
        if self.interrupted:
            return f"the run ended early: it was interrupted{errors}"
        throttled = self._throttled
        if throttled is not None:
            return throttled
        if self.errors:
            return (
                f"{len(self.errors)} error(s), cases that could not run to their end: {named};"
                " they tested nothing, and the run found no failure to call the contract broken;"
                " fix what stopped them (the errors above) and run again"
            )
        if not self.cases:
            return "no case was run: no request of the selected operations reached the target"
        return None

    @property
    def _throttled(self) -> str | None:
        """Why the target's rate limit left the run unjudged: a 429 tested nothing but the rate
        limit. More than half the answers 429, or every answer of an operation: a few 429s in a
        long run are the limit working, and the rest judged the target."""
        refused_throughout = [
            operation.operation_id or operation.label
            for operation in self.operations
            if operation.answers and operation.throttled == operation.answers
        ]
        if 2 * self.throttled > self.answers:
            refused = "most of the run's requests, so most of the contract went untested"
        elif refused_throughout:
            refused = f"every request of {', '.join(refused_throughout)}, which went untested"
        else:
            return None
        return (
            f"{self.throttled} of {self.answers} answers were 429 (Too Many Requests): the"
            f" target's rate limit refused {refused}; send the requests slower than the target's"
            " limit with --rate-limit (rate_limit= in Python), e.g. --rate-limit 90/m against"
            " Capillary's demo cluster, which allows 100 a minute per API key"
        )

    @property
    def by_token(self) -> bool:
        """The run's credentials are a token header (X-CAP-API-OAUTH-TOKEN) alone."""
        sent = self.credentials
        return sent is not None and sent.token and not sent.basic

    @property
    def token_beside_basic(self) -> bool:
        """The run sends a token header and Basic credentials: a target judges it by its token
        (as a Capillary cluster, and capkit's mock, do)."""
        sent = self.credentials
        return sent is not None and sent.token and sent.basic

    @property
    def cases_per_second(self) -> float:
        return self.cases / self.elapsed if self.elapsed > 0 else 0.0


class Collector:
    """Builds an Outcome from the engine's events, for OPERATIONS: (label, operationId) in order;
    COVERAGE counts the answers against the spec."""

    def __init__(
        self,
        base_url: str,
        operations: Iterable[tuple[str, str | None]],
        *,
        credentials: Credentials | None = None,
        coverage: CoverageCounter | None = None,
        seed: int | None = None,
    ) -> None:
        self.base_url = base_url
        self.operation_ids = dict(operations)
        self.credentials = credentials
        self.coverage = coverage
        self.seed = seed
        self.cases: Counter[str] = Counter()
        self.findings: dict[tuple[str, Failure], Finding] = {}
        self.errors: dict[tuple[str, str], RunError] = {}
        self.statuses: set[int] = set()
        self.answered: Counter[str] = Counter()
        self.throttled: Counter[str] = Counter()
        self.answers = 0
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
                OperationResult(
                    label,
                    operation_id,
                    self.cases[label],
                    failures[label],
                    answers=self.answered[label],
                    throttled=self.throttled[label],
                )
                for label, operation_id in self.operation_ids.items()
            ),
            findings=tuple(self.findings.values()),
            errors=tuple(self.errors.values()),
            elapsed=self.elapsed,
            stop_reason=self.stop_reason,
            unauthenticated=self.unauthenticated,
            credentials=self.credentials,
            coverage=self.coverage.coverage() if self.coverage is not None else Coverage(),
            seed=self.seed,
        )

    @property
    def unauthenticated(self) -> bool:
        """Every answer so far was 401."""
        return bool(self.statuses) and self.statuses <= {UNAUTHORIZED}

    @property
    def refused_at_once(self) -> bool:
        """The first answers of the run were all 401: going on would test nothing more."""
        return self.answers >= REFUSED_AFTER and self.unauthenticated

    def _on_scenario(self, recorder: ScenarioRecorder) -> None:
        for case_id, node in recorder.cases.items():
            interaction = recorder.interactions.get(case_id)
            if interaction is None:
                continue
            case = node.value
            self.cases[case.operation.label] += 1
            response = interaction.response
            if response is not None:
                # A rate limit refuses a request whatever its method: every answer counts.
                self.answered[case.operation.label] += 1
                if response.status_code == TOO_MANY_REQUESTS:
                    self.throttled[case.operation.label] += 1
            # The answers to other methods (schemathesis expects 405s there) are not the
            # operation's: they say nothing of auth, and cover nothing of it.
            if response is not None and case.method == case.operation.method.upper():
                self.statuses.add(response.status_code)
                self.answers += 1
                if self.coverage is not None:
                    self.coverage.add(case.operation.label, response.status_code, response.content)
        for case_id, checks in recorder.checks.items():
            for check in checks:
                if check.failure_info is not None:
                    self._add_check(recorder, case_id, check)

    def _add_check(self, recorder: ScenarioRecorder, case_id: str, check: CheckNode) -> None:
        assert check.failure_info is not None
        info = check.failure_info
        if (check.name, info.failure) in self.findings:
            return
        # The answer to the request that failed: a probe the check sent, or the case itself.
        interaction = recorder.interactions.get(info.failure.case_id or case_id)
        interaction = interaction or recorder.interactions.get(case_id)
        response = interaction.response if interaction is not None else None
        # A stateful failure needs the requests before it: the registration, then the read.
        chain = [
            case.id
            for case in recorder.iter_chain_cases(
                case_id=case_id, related_case_ids=info.failure.related_case_ids()
            )
            if case.id in recorder.interactions
        ]
        failing = info.failure.case_id if info.failure.case_id in recorder.interactions else None
        if failing is not None and failing not in chain:
            chain.append(failing)  # a probe sent by the check, such as ignored_auth's
        reproduce = tuple(self._curl(recorder, each) for each in chain) or (info.code_sample,)
        self._add(
            check.name,
            info.failure,
            status=response.status_code if response is not None else None,
            body=_excerpt(response.text_lossy()) if response is not None else "",
            reproduce=reproduce,
        )

    def _curl(self, recorder: ScenarioRecorder, case_id: str) -> str:
        """The request CASE_ID sent, as curl, credentials shown as capkit shows them (masked,
        or made up by ignored_auth), with what it meant when it was invalid on purpose."""
        interaction: Interaction = recorder.interactions[case_id]
        request = interaction.request
        sent = {name: values[0] for name, values in request.headers.items()}
        command = curl.generate(
            method=request.method,
            url=request.uri,
            body=request.body,
            verify=True,
            headers=shown_headers(sent),
            known_generated_headers={},
        ).command
        intent = intent_of(
            recorder.cases[case_id].value, sent, authenticated=self.credentials is not None
        )
        return command if intent.valid else f"{command}  # {intent.invalid}"

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
