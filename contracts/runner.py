"""A contract run: schemathesis' engine, with every phase and check and the Capillary ones,
against a target's origin or a WSGI app in-process.

The flow: options -> schemathesis configuration (contracts.options) -> schema with the operations
selected -> a reachability probe -> the engine's events, fed to the Collector (contracts.outcome),
to schemathesis' JUnit and HAR writers, and to a Listener for progress.
"""

from __future__ import annotations

import ast
import contextlib
import copy
import http.client
import re
import sys
import tempfile
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from typing import Any, Protocol
from wsgiref.types import WSGIApplication

import hypothesis.configuration
import schemathesis
from schemathesis.cli.commands.run.context import ExecutionContext
from schemathesis.cli.commands.run.handlers.base import EventHandler
from schemathesis.cli.commands.run.handlers.junitxml import JunitXMLHandler
from schemathesis.config import ConfigError
from schemathesis.core.errors import LoaderError
from schemathesis.core.result import Ok
from schemathesis.engine import events, from_schema
from schemathesis.engine.run import TESTING_PHASES
from schemathesis.schemas import BaseSchema

# Registers the Capillary checks with schemathesis.
import contracts.checks  # noqa: F401
import spec
from contracts.coverage import CoverageCounter
from contracts.errors import BadOption, TargetUnreachable, Unusable
from contracts.har import MarkedHarHandler
from contracts.html import fuzz_page, write_page
from contracts.options import UNSAFE_METHODS, FuzzOptions, origin_of, schemathesis_config
from contracts.outcome import Collector, Credentials, Outcome
from contracts.serving import serve_in_thread
from spec import credentials

__all__ = ["Listener", "Target", "fuzz"]

#: An origin (http://127.0.0.1:8080, https://eu.api.capillarytech.com) or a WSGI app.
Target = str | WSGIApplication
REACHABILITY_TIMEOUT = 10.0


def _parse_one_at_a_time() -> None:
    """Where CPython counts the AST constructor's depth in state all threads share (before
    3.11.8 and 3.12.2, gh-106905), two ast.parse at once can fail with "AST constructor
    recursion depth mismatch". hypothesis parses sources in schemathesis' worker threads, and
    such a failure was a run's error: `--workers 4` called a conforming target broken in three
    runs of four. There ast.parse takes a lock."""
    if not (sys.version_info < (3, 11, 8) or (3, 12) <= sys.version_info < (3, 12, 2)):
        return
    parse, lock = ast.parse, threading.Lock()

    def parse_alone(*args: Any, **kwargs: Any) -> Any:
        with lock:
            return parse(*args, **kwargs)

    ast.parse = parse_alone


_parse_one_at_a_time()


class Listener(Protocol):
    """Hears a run's progress: its phases (examples, coverage, fuzzing, stateful), scenarios."""

    def phase_started(self, phase: str) -> None: ...

    def scenario_finished(self, phase: str, status: str) -> None: ...

    def phase_finished(self, phase: str, status: str) -> None: ...


def fuzz(
    target: Target,
    options: FuzzOptions | None = None,
    *,
    document: spec.Document | None = None,
    listener: Listener | None = None,
) -> Outcome:
    """Fuzz TARGET against DOCUMENT (default: the bundled spec) and say what it found.

    TARGET is an origin, to which the spec's server path (/v2) is appended, or a WSGI app, run
    in-process. Raises BadOption for options the spec or schemathesis cannot take, and
    TargetUnreachable when nothing answers at the target.
    """
    options = options if options is not None else FuzzOptions()
    document = document if document is not None else spec.load()
    with _hypothesis_storage_for_the_run():
        if isinstance(target, str):
            return _fuzz_origin(target, options, document, listener)
        with serve_in_thread(target) as origin:
            return _fuzz_origin(origin, options, document, listener)


@contextlib.contextmanager
def _hypothesis_storage_for_the_run() -> Iterator[None]:
    """Hypothesis' storage in a temporary directory while the run lasts, then as it was.

    Whatever its database (in memory here), hypothesis writes caches (the constants of the
    sources it reads, its Unicode tables) to its storage, by default `.hypothesis` in the
    working directory: a run would leave that behind. Afterwards the storage is what it was, so
    a user's own hypothesis tests in the same process (pytest, with contract_test) keep theirs.
    """
    previous = getattr(hypothesis.configuration, "__hypothesis_home_directory", None)
    with tempfile.TemporaryDirectory(prefix="capkit-hypothesis-") as directory:
        hypothesis.configuration.set_hypothesis_home_dir(directory)
        try:
            yield
        finally:
            hypothesis.configuration.set_hypothesis_home_dir(previous)


def _fuzz_origin(
    origin: str, options: FuzzOptions, document: spec.Document, listener: Listener | None
) -> Outcome:
    base_url = origin_of(origin) + spec.server_path(document)
    schema = _schema(document, base_url, options)
    _ensure_reachable(base_url, options.headers)
    outcome = _run(schema, base_url, options, listener, CoverageCounter(document))
    if options.html is not None:
        write_page(options.html, fuzz_page(outcome, options, document))
    return outcome


def _run(
    schema: BaseSchema,
    base_url: str,
    options: FuzzOptions,
    listener: Listener | None,
    coverage: CoverageCounter,
) -> Outcome:
    """Drive schemathesis' engine; its events feed the outcome, the reports and the listener."""
    collector = Collector(
        base_url,
        _selected(schema),
        credentials=_credentials(options),
        coverage=coverage,
        # schemathesis draws one when none is given; read here, it is the run's.
        seed=schema.config.seed,
    )
    reports = _report_handlers(schema, options)
    context = ExecutionContext(config=schema.config)
    for handler in reports:
        handler.start(context)
    try:
        stream = from_schema(schema).execute()
        for event in stream:
            context.on_event(event)
            for handler in reports:
                handler.handle_event(context, event)
            collector.on_event(event)
            if listener is not None:
                _tell(listener, event)
            if collector.refused_at_once:
                stream.stop()
        outcome = collector.outcome()
        for handler in reports:
            if isinstance(handler, JunitXMLHandler):
                _record_verdict(handler, outcome)
    finally:
        for handler in reports:
            handler.shutdown(context)
    return outcome


#: The test case of a JUnit report that carries an inconclusive run's verdict.
VERDICT_TEST = "capkit verdict"


def _record_verdict(junit: JunitXMLHandler, outcome: Outcome) -> None:
    """An inconclusive run's verdict as an error of the JUnit report: its operations passed
    there (all 401, cut short, mostly 429), and a dashboard that reads it showed green while
    the run exited 2. A conforming or broken run's report says so by itself."""
    if outcome.inconclusive is not None:
        junit.writer.record_error(VERDICT_TEST, f"inconclusive: {outcome.inconclusive}")


def _schema(document: spec.Document, base_url: str, options: FuzzOptions) -> BaseSchema:
    try:
        config = schemathesis_config(options, base_url, document)
        # schemathesis writes into the document (inferred links), so it gets a copy.
        schema: BaseSchema = schemathesis.openapi.from_dict(copy.deepcopy(document), config=config)
    except ConfigError as error:
        raise BadOption(str(error)) from None
    except LoaderError as error:
        raise Unusable(f"schemathesis cannot use the spec: {error}") from None
    if options.operations:
        _check_operation_ids(document, options.operations)
        schema = schema.include(operation_id=list(options.operations))
    if options.read_only:
        schema = schema.exclude(method=list(UNSAFE_METHODS))
    if not schema.statistic.operations.selected and not options.read_only:
        raise BadOption("no operation to test: the spec has none")
    if not schema.statistic.operations.selected:
        chosen = ", ".join(options.operations) or "every operation"
        raise BadOption(
            f"no operation to test: --read-only sends no POST, PUT, PATCH or DELETE, and that"
            f" leaves nothing of {chosen}; drop --read-only or include a GET operation"
        )
    if not schema.statistic.transitions.selected:
        # Every link of the spec starts or ends at an operation left out: the stateful phase has
        # nothing to follow, which schemathesis would report as an error of the run.
        schema.config.phases.stateful.enabled = False
    return schema


def _credentials(options: FuzzOptions) -> Credentials | None:
    """The credentials OPTIONS send."""
    till = options.auth.partition(":")[0] if options.auth else None
    headers = tuple(name for name in options.headers if name.lower() in credentials.HEADERS)
    return Credentials(till, headers) if till is not None or headers else None


def _check_operation_ids(document: spec.Document, wanted: tuple[str, ...]) -> None:
    known = [
        operation["operationId"]
        for item in document.get("paths", {}).values()
        for operation in item.values()
        if isinstance(operation, dict) and "operationId" in operation
    ]
    for operation_id in wanted:
        if operation_id not in known:
            close = [name for name in known if name.lower() == operation_id.lower()]
            hint = f"; did you mean {close[0]!r}?" if close else f"; known: {', '.join(known)}"
            raise BadOption(
                f"--include-operation has value {operation_id!r}: no such operationId{hint}"
            )


def _selected(schema: BaseSchema) -> Iterator[tuple[str, str | None]]:
    for result in schema.get_all_operations():
        if isinstance(result, Ok):
            operation = result.ok()
            yield operation.label, operation.definition.raw.get("operationId")


def _ensure_reachable(base_url: str, headers: Mapping[str, str]) -> None:
    """Raise TargetUnreachable unless something answers HTTP at BASE_URL (any status will do)
    to a request with the run's HEADERS (a Host given by --header among them: a target reached
    by its address may answer only requests for its name)."""
    request = urllib.request.Request(base_url, headers=dict(headers), method="GET")
    try:
        with urllib.request.urlopen(request, timeout=REACHABILITY_TIMEOUT):
            pass
    except urllib.error.HTTPError:
        pass
    except urllib.error.URLError as error:
        raise TargetUnreachable(
            f"cannot reach {base_url}: {_reason(error.reason)}; is the target running there?"
        ) from None
    except (TimeoutError, ConnectionError) as error:
        raise TargetUnreachable(f"cannot reach {base_url}: {_reason(error)}") from None
    except http.client.HTTPException as error:
        raise TargetUnreachable(
            f"cannot reach {base_url}: what answers there is not HTTP ({type(error).__name__}:"
            f" {str(error)[:80]!r})"
        ) from None


def _reason(reason: Any) -> str:
    if isinstance(reason, TimeoutError):
        return f"no answer within {REACHABILITY_TIMEOUT:.0f} s"
    text = getattr(reason, "strerror", None) or str(reason)
    return re.sub(r"^\[Errno -?\d+\] ", "", text).rstrip(".").lower()


def _report_handlers(schema: BaseSchema, options: FuzzOptions) -> list[EventHandler[Any]]:
    handlers: list[EventHandler[Any]] = []
    if options.junit is not None:
        handlers.append(JunitXMLHandler(output=options.junit))
    if options.har is not None:
        handlers.append(
            MarkedHarHandler(
                output=options.har, config=schema.config.output, authenticated=options.authenticated
            )
        )
    return handlers


def _tell(listener: Listener, event: events.EngineEvent) -> None:
    # Probing and schema analysis send no test cases: progress is about the testing phases.
    if isinstance(event, events.PhaseStarted) and event.phase.name in TESTING_PHASES:
        listener.phase_started(event.phase.name.value)
    elif isinstance(event, events.ScenarioFinished) and event.phase in TESTING_PHASES:
        listener.scenario_finished(event.phase.value, event.status.value)
    elif isinstance(event, events.PhaseFinished) and event.phase.name in TESTING_PHASES:
        listener.phase_finished(event.phase.name.value, event.status.value)
