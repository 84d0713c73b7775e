"""A run as text: progress while it runs, then a table per operation and each distinct failure."""

from __future__ import annotations

import textwrap
from typing import TextIO

from contracts.outcome import Finding, Outcome

__all__ = ["ProgressPrinter", "advice", "format_outcome", "verdict"]

_MARKS = {"success": ".", "failure": "F", "error": "E", "skip": "s", "interrupted": "!"}
_STATUS_WORDS = {"success": "passed", "failure": "failed", "error": "errored", "skip": "skipped"}
_INDENT = "   "


class ProgressPrinter:
    """A Listener that prints a line per phase to STREAM, a mark per finished scenario."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def phase_started(self, phase: str) -> None:
        self._write(f"{phase:<10}")

    def scenario_finished(self, phase: str, status: str) -> None:
        self._write(_MARKS.get(status, "?"))

    def phase_finished(self, phase: str, status: str) -> None:
        self._write(f" {_STATUS_WORDS.get(status, status)}\n")

    def _write(self, text: str) -> None:
        self.stream.write(text)
        self.stream.flush()


def format_outcome(outcome: Outcome) -> str:
    """The table of operations, the failures, the errors and the verdict: capkit fuzz's report."""
    parts = [_table(outcome)]
    if outcome.findings:
        ids = {operation.label: operation.operation_id for operation in outcome.operations}
        parts.append(f"Failures ({len(outcome.findings)} distinct)")
        parts.extend(
            _finding(number, finding, ids.get(finding.operation))
            for number, finding in enumerate(outcome.findings, start=1)
        )
    if outcome.errors:
        parts.append(f"Errors ({len(outcome.errors)}): cases that could not run to their end")
        parts.extend(
            f"- {error.label}: {error.title}\n{textwrap.indent(error.message, _INDENT)}"
            for error in outcome.errors
        )
    parts.extend(advice(outcome))
    coverage = [outcome.coverage.line()] if outcome.coverage.operations else []
    parts.append("\n".join([*coverage, verdict(outcome)]))
    return "\n\n".join(parts)


def verdict(outcome: Outcome) -> str:
    """One line: whether the target conforms, how much was tested, how fast."""
    tested = (
        f"{outcome.cases} cases against {outcome.base_url} in {outcome.elapsed:.1f} s"
        f" ({outcome.cases_per_second:.0f} cases/s)"
    )
    if outcome.inconclusive is not None:
        # The reason's first clause; the whole of it follows the report (capkit fuzz: on stderr).
        return f"inconclusive: {outcome.inconclusive.split(':')[0]}; no failures in {tested}"
    if outcome.conforms:
        return f"conforms: {tested}, no failures"
    failing = len({finding.operation for finding in outcome.findings})
    errors = f", {len(outcome.errors)} error(s)" if outcome.errors else ""
    return (
        f"contract broken: {len(outcome.findings)} distinct failure(s) in {failing} operation(s)"
        f"{errors}; {tested}"
    )


#: What ignored_auth's findings say about the target, by their title, and what to do: {pin} is
#: how to serve the mock pinned to the run's credentials.
_AUTH_ADVICE = {
    "API accepts invalid authentication": (
        "the target took credentials it cannot know (made up by ignored_auth): it accepts any."
        " capkit's mock does unless it is pinned: serve it with {pin}, and nothing else passes."
    ),
    "API accepts requests without authentication": (
        "the target answered requests that carried no credentials. capkit's mock does with"
        " --no-auth: serve it pinned, {pin}."
    ),
}


def advice(outcome: Outcome) -> list[str]:
    """Notes on what the findings say about the target, and what to do."""
    titles = {finding.title for finding in outcome.findings if finding.check == "ignored_auth"}
    if outcome.by_token:
        pin = "`capkit serve --token TOKEN`, this run's token"
    elif outcome.token_beside_basic:
        pin = "`capkit serve --auth till:password --token TOKEN`, this run's credentials"
    else:
        pin = "`capkit serve --auth till:password`, this run's credentials"
    notes = [
        f"Note on ignored_auth: {advice.format(pin=pin)}"
        for title, advice in _AUTH_ADVICE.items()
        if title in titles
    ]
    # Answered, and on no operation as one the target serves: 404s it does not declare.
    coverage = outcome.coverage
    if any(operation.answers for operation in coverage.operations) and not (
        coverage.reached_operations
    ):
        notes.append(
            f"Note: every answer was 404: {outcome.base_url} serves none of the spec's paths. Is"
            " it where the target serves the API (the spec's server path, appended to the origin"
            " given)?"
        )
    return notes


def _table(outcome: Outcome) -> str:
    rows = [("operation", "request", "cases", "failures")]
    rows.extend(
        (
            operation.operation_id or "-",
            operation.label,
            str(operation.cases),
            str(operation.failures),
        )
        for operation in outcome.operations
    )
    rows.append(("total", "", str(outcome.cases), str(len(outcome.findings))))
    widths = [max(len(row[column]) for row in rows) for column in range(4)]
    return "\n".join(
        "  ".join(
            (cell.rjust(width) if column >= 2 else cell.ljust(width))
            for column, (cell, width) in enumerate(zip(row, widths, strict=True))
        ).rstrip()
        for row in rows
    )


def _finding(number: int, finding: Finding, operation_id: str | None) -> str:
    where = f"{operation_id}  {finding.operation}" if operation_id else finding.operation
    check = finding.check
    if not finding.title.startswith("Custom check failed"):
        check += f": {finding.title}"
    lines = [f"{number}. {where}", f"{_INDENT}check: {check}"]
    if finding.message.strip():
        lines.append(textwrap.indent(finding.message.strip("\n"), _INDENT))
    if finding.status is not None:
        lines.append(f"{_INDENT}answer: {finding.status} {finding.body}".rstrip())
    lines.append(f"{_INDENT}reproduce:")
    lines.extend(textwrap.indent(command, _INDENT * 2) for command in finding.reproduce)
    return "\n".join(lines)
