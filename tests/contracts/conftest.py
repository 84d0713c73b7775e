"""Fixtures of the contract tests: what one run finds in the broken target."""

from __future__ import annotations

import pytest

from contracts import FuzzOptions, Outcome, fuzz
from tests.contracts import broken_target

#: Few examples keep the suite fast; a seed keeps what they find the same from run to run.
EXAMPLES, SEED = 10, 20241122


@pytest.fixture(scope="session")
def broken_outcome() -> Outcome:
    """A run of every phase and check against the broken target, in-process."""
    options = FuzzOptions(
        auth=f"{broken_target.TILL}:{broken_target.PASSWORD}",
        max_examples=EXAMPLES,
        seed=SEED,
        operations=broken_target.OPERATIONS,
    )
    return fuzz(broken_target.create_app(), options)
