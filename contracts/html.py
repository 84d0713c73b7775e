"""A run as one HTML page for people: the verdict, the operations with a chart of cases and
failures, the coverage of statuses and documented error codes, each distinct failure with its
curl, and the run's settings.

The page is self-contained (its style inline, its chart an inline SVG, no script): it opens from
a CI artifact, offline, and asks no other host for anything.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

import jinja2
from schemathesis.core import curl

from contracts.coverage import Coverage, CoverageCounter, operations_of
from contracts.options import FuzzOptions
from contracts.outcome import Outcome
from contracts.report import advice, verdict
from contracts.verify import Checked, har_text
from spec import credentials

__all__ = ["Failure", "Page", "Row", "fuzz_page", "render", "verify_page", "write_page"]

#: Distinct failures shown on a page; the rest are counted. A HAR of 10,000 broken exchanges
#: would make a page no browser opens.
MOST_FAILURES = 500
_BODY_EXCERPT = 300
#: The chart's geometry, in SVG user units.
_ROW, _LABEL, _BAR = 22, 230, 220


@dataclasses.dataclass(frozen=True)
class Row:
    """An operation in the table and the chart."""

    label: str
    operation_id: str | None
    count: int
    failures: int


@dataclasses.dataclass(frozen=True)
class Failure:
    #: Where: the operation, or the exchange.
    where: str
    #: Which check, or which side and field.
    what: str
    #: What was expected and what came back.
    message: str
    #: The answer's status and the start of its body.
    answer: str
    #: curl commands that reproduce it, in order.
    reproduce: tuple[str, ...]


@dataclasses.dataclass(frozen=True)
class Page:
    #: "capkit fuzz" or "capkit verify", and what it held to the spec (a URL, a file).
    tool: str
    subject: str
    #: "conforms", "broken" or "inconclusive".
    state: str
    verdict: str
    #: What one row counts: "cases" or "exchanges".
    counted: str
    rows: tuple[Row, ...]
    failures: tuple[Failure, ...]
    #: Distinct failures beyond MOST_FAILURES, not shown.
    more_failures: int
    #: Errors of the run and notes on its findings, as text.
    notes: tuple[str, ...]
    coverage: Coverage
    settings: tuple[tuple[str, str], ...]


def fuzz_page(outcome: Outcome, options: FuzzOptions, document: Mapping[str, Any]) -> Page:
    """The page of a `capkit fuzz` run of OPTIONS against DOCUMENT."""
    ids = {row.label: row.operation_id for row in outcome.operations}
    failures = [
        Failure(
            where=f"{ids.get(finding.operation) or ''}  {finding.operation}".strip(),
            what=finding.check
            + ("" if finding.title.startswith("Custom check failed") else f": {finding.title}"),
            message=finding.message.strip("\n"),
            answer=f"{finding.status} {finding.body}" if finding.status is not None else "",
            reproduce=finding.reproduce,
        )
        for finding in outcome.findings
    ]
    notes = [f"{error.label}: {error.title}\n{error.message}" for error in outcome.errors]
    notes.extend(advice(outcome))
    if outcome.inconclusive is not None:
        notes.append(outcome.inconclusive)
    headers = ", ".join(
        f"{name}: {credentials.masked(name, value)}" for name, value in options.headers.items()
    )
    settings = {
        "target": outcome.base_url,
        "spec": _spec_name(document),
        "credentials": str(outcome.credentials or "none"),
        "headers": headers or "none",
        "operations": ", ".join(options.operations) or "all",
        "max examples": str(options.max_examples or "100 (schemathesis' default)"),
        "max time": f"{options.max_time} s" if options.max_time else "none",
        "workers": str(options.workers),
        "rate limit": options.rate_limit or "none",
        "read-only": "yes" if options.read_only else "no",
        "seed": f"{outcome.seed} (--seed {outcome.seed} runs the same cases)"
        if outcome.seed is not None
        else "none",
        "time": f"{outcome.elapsed:.1f} s, {outcome.cases_per_second:.0f} cases/s",
        "versions": f"capkit {version('capkit')}, schemathesis {version('schemathesis')}",
    }
    return Page(
        tool="capkit fuzz",
        subject=outcome.base_url,
        state=_state(outcome.conforms, outcome.inconclusive is not None),
        verdict=verdict(outcome),
        counted="cases",
        rows=tuple(
            Row(row.label, row.operation_id, row.cases, row.failures) for row in outcome.operations
        ),
        failures=tuple(failures[:MOST_FAILURES]),
        more_failures=max(0, len(failures) - MOST_FAILURES),
        notes=tuple(notes),
        coverage=outcome.coverage,
        settings=tuple(settings.items()),
    )


def verify_page(source: str, checked: Sequence[Checked], document: Mapping[str, Any]) -> Page:
    """The page of `capkit verify` of the HAR named SOURCE, whose exchanges are CHECKED."""
    labels = {operation_id: label for label, operation_id, _ in operations_of(document)}
    counter = CoverageCounter(document)
    exchanges: dict[str, int] = {}
    broken: dict[str, int] = {}
    failures = []
    for exchange in checked:
        label = labels.get(exchange.operation_id or "", "no operation of the spec")
        response = exchange.entry.get("response", {})
        status, body = int(response.get("status", 0)), _body(response)
        counter.add(label, status, body)
        exchanges[label] = exchanges.get(label, 0) + 1
        if not exchange.violations:
            continue
        broken[label] = broken.get(label, 0) + 1
        request = exchange.entry.get("request", {})
        failures.append(
            Failure(
                where=f"entries[{exchange.index}] {request.get('method', '?')}"
                f" {request.get('url', '?')}",
                what=f"{exchange.operation_id or 'no operation'}: {len(exchange.violations)}"
                " violation(s)",
                message="\n".join(
                    f"{v.side} {v.field}: {v.message}" if v.field else f"{v.side}: {v.message}"
                    for v in exchange.violations
                ),
                answer=f"{status} {_excerpt(body)}",
                reproduce=(_curl(request),),
            )
        )
    coverage = counter.coverage()
    rows = [
        Row(c.label, c.operation_id, exchanges.get(c.label, 0), broken.get(c.label, 0))
        for c in coverage.operations
    ]
    if "no operation of the spec" in exchanges:
        unmatched = "no operation of the spec"
        rows.append(Row(unmatched, None, exchanges[unmatched], broken.get(unmatched, 0)))
    violations = sum(len(exchange.violations) for exchange in checked)
    conforms = violations == 0
    return Page(
        tool="capkit verify",
        subject=source,
        state=_state(conforms, inconclusive=False),
        verdict=f"{source}: {len(checked)} exchanges, all conform"
        if conforms
        else f"{source}: {violations} violation(s) in {len(checked)} exchanges",
        counted="exchanges",
        rows=tuple(rows),
        failures=tuple(failures[:MOST_FAILURES]),
        more_failures=max(0, len(failures) - MOST_FAILURES),
        notes=(),
        coverage=coverage,
        settings=(
            ("file", source),
            ("spec", _spec_name(document)),
            ("exchanges", str(len(checked))),
            ("versions", f"capkit {version('capkit')}"),
        ),
    )


def render(page: Page) -> str:
    """PAGE as one HTML document."""
    template = _environment().get_template("report.html")
    return template.render(
        page=page,
        chart=_chart(page.rows),
        matrix=_matrix(page.coverage),
        generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    )


def write_page(path: Path, page: Page) -> None:
    path.write_text(render(page), encoding="utf-8")


def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("contracts", "templates"),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )


def _state(conforms: bool, inconclusive: bool) -> str:
    if inconclusive:
        return "inconclusive"
    return "conforms" if conforms else "broken"


def _spec_name(document: Mapping[str, Any]) -> str:
    info = document.get("info", {})
    return f"{info.get('title', 'untitled')} (version {info.get('version', '?')})"


def _chart(rows: Sequence[Row]) -> dict[str, Any]:
    """The chart's bars: per row, the width of its count and of its failures, each scaled to
    its column's largest, so that a few failures beside thousands of cases still show."""
    most = max((row.count for row in rows), default=0) or 1
    most_failures = max((row.failures for row in rows), default=0) or 1
    return {
        "width": _LABEL + 2 * (_BAR + 60),
        "height": _ROW * (len(rows) + 1),
        "row": _ROW,
        "label": _LABEL,
        "bar": _BAR,
        "bars": [
            {
                "name": row.operation_id or row.label,
                "y": _ROW * (index + 1),
                "count": row.count,
                "count_width": round(_BAR * row.count / most, 1),
                "failures": row.failures,
                "failures_width": round(_BAR * row.failures / most_failures, 1),
            }
            for index, row in enumerate(rows)
        ],
    }


def _matrix(coverage: Coverage) -> list[dict[str, Any]]:
    """Per operation, a cell per status of the matrix: declared and received, declared only,
    received only (undeclared), or neither."""
    rows = []
    for operation in coverage.operations:
        cells = []
        for status in coverage.statuses:
            declared = status in operation.declared_statuses
            received = status in operation.received_statuses
            kind = {
                (True, True): "reached",
                (True, False): "missed",
                (False, True): "undeclared",
                (False, False): "none",
            }[(declared, received)]
            cells.append({"status": status, "kind": kind})
        rows.append({"operation": operation, "cells": cells})
    return rows


def _body(response: Mapping[str, Any]) -> str:
    content = response.get("content", {})
    return har_text(content) if isinstance(content, Mapping) else ""


def _excerpt(text: str) -> str:
    flat = " ".join(text.split())
    return flat[:_BODY_EXCERPT] + ("..." if len(flat) > _BODY_EXCERPT else "")


def _curl(request: Mapping[str, Any]) -> str:
    """A HAR entry's REQUEST as curl, its credentials as the HAR has them (masked by capkit)."""
    headers = {
        str(header.get("name")): credentials.masked(
            str(header.get("name")), str(header.get("value"))
        )
        for header in request.get("headers", [])
        if str(header.get("name", "")).lower() not in ("host", "content-length", "connection")
    }
    post = request.get("postData")
    body = post.get("text") if isinstance(post, Mapping) else None
    return curl.generate(
        method=str(request.get("method", "GET")),
        url=str(request.get("url", "")),
        body=body,
        verify=True,
        headers=headers,
        known_generated_headers={},
    ).command
