"""The contract as a test in any project's pytest suite, against a URL or a WSGI app in-process.

    from contracts import contract_test
    from myservice import create_app

    test_capillary_contract = contract_test(
        create_app(), auth="till:password", max_examples=20, include_operation=["lookupCustomer"]
    )

The options are capkit fuzz's, each written with _ for - (include_operation for
--include-operation); a repeatable one takes a list. `contract_test` makes the test;
`assert_conforms` is the assertion, for a test of your own.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

import spec
from contracts.errors import BadOption
from contracts.options import FuzzOptions, parse_header, reports_by_format
from contracts.outcome import Outcome
from contracts.report import format_outcome
from contracts.runner import Target, fuzz

__all__ = ["OPTIONS", "assert_conforms", "contract_test", "nonconformance"]

#: capkit fuzz's options, as contract_test takes them: each written with _ for -.
OPTIONS = (
    "auth",
    "header",
    "max_examples",
    "max_time",
    "workers",
    "seed",
    "rate_limit",
    "read_only",
    "include_operation",
    "report",
    "har",
    "spec",
)
#: FuzzOptions' fields that no option of capkit fuzz is named as; contract_test takes them too.
FIELDS = ("headers", "operations", "junit", "html")


def contract_test(
    target: Target, *, document: spec.Document | None = None, **options: Any
) -> Callable[[], None]:
    """A pytest test that fuzzes TARGET with OPTIONS, capkit fuzz's (OPTIONS), against DOCUMENT
    (default: the bundled spec, or the file of the option `spec`) and fails with the report of
    every failure. A repeatable option takes a list (include_operation=["lookupCustomer"],
    header=["X-CAP-API-OAUTH-TOKEN: ..."], report=["report.html"]) or one value.

    Raises BadOption at once (at collection) for an option the run cannot take, naming it and
    the ones it takes.
    """
    path = options.pop("spec", None)
    if path is not None:
        if document is not None:
            raise BadOption("spec and document both give the spec: pass one")
        document = spec.load(path)
    fuzz_options = _fuzz_options(options)

    def test_contract() -> None:
        problem = nonconformance(fuzz(target, fuzz_options, document=document))
        if problem is not None:
            pytest.fail(problem, pytrace=False)

    return test_contract


def _fuzz_options(options: Mapping[str, Any]) -> FuzzOptions:
    fields: dict[str, Any] = {}

    def put(name: str, field: str, value: Any) -> None:
        if field in fields:
            raise BadOption(f"{name} sets {field}, as another option of this test does: pass one")
        fields[field] = value

    for name, value in options.items():
        if name == "header":
            pairs = value.items() if isinstance(value, Mapping) else map(parse_header, _many(value))
            put(name, "headers", dict(pairs))
        elif name == "include_operation":
            put(name, "operations", tuple(_many(value)))
        elif name == "report":
            for field, report in reports_by_format(map(Path, _many(value))).items():
                put(name, field, report)
        elif name == "har":
            put(name, "har", None if value is None else Path(value))
        elif name == "operations":
            put(name, "operations", tuple(_many(value)))
        elif name in OPTIONS or name in FIELDS:
            put(name, name, value)
        else:
            close = difflib.get_close_matches(name, [*OPTIONS, *FIELDS], n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise BadOption(
                f"contract_test has no option {name!r}{hint}; it takes capkit fuzz's, each"
                f" written with _ for -: {', '.join(OPTIONS)}"
            )
    return FuzzOptions(**fields)


def _many(value: Any) -> list[Any]:
    """A repeatable option's values: a list of them, or one alone."""
    return [value] if isinstance(value, str | Path) else list(value)


def assert_conforms(outcome: Outcome) -> None:
    """Raise AssertionError with the run's report unless OUTCOME shows a conforming target."""
    __tracebackhide__ = True
    problem = nonconformance(outcome)
    if problem is not None:
        raise AssertionError(problem)


def nonconformance(outcome: Outcome) -> str | None:
    """Why OUTCOME does not show a conforming target (the report), or None when it does."""
    if outcome.inconclusive is not None:
        return f"{format_outcome(outcome)}\n\n{outcome.inconclusive}"
    if not outcome.conforms:
        return format_outcome(outcome)
    return None
