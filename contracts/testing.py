"""The contract as a test in any project's pytest suite, against a URL or a WSGI app in-process.

    from contracts import contract_test
    from myservice import create_app

    test_capillary_contract = contract_test(create_app(), auth="till:password", max_examples=20)

`contract_test` makes the test; `assert_conforms` is the assertion, for a test of your own.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

import spec
from contracts.options import FuzzOptions
from contracts.outcome import Outcome
from contracts.report import format_outcome
from contracts.runner import Target, fuzz

__all__ = ["assert_conforms", "contract_test", "nonconformance"]


def contract_test(
    target: Target, *, document: spec.Document | None = None, **options: Any
) -> Callable[[], None]:
    """A pytest test that fuzzes TARGET with OPTIONS (FuzzOptions' fields) against DOCUMENT
    (default: the bundled spec) and fails with the report of every failure.

    Raises BadOption at once (at collection) for an option the run cannot take.
    """
    fuzz_options = FuzzOptions(**options)

    def test_contract() -> None:
        problem = nonconformance(fuzz(target, fuzz_options, document=document))
        if problem is not None:
            pytest.fail(problem, pytrace=False)

    return test_contract


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
