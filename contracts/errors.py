"""The errors of contracts: each says which value was wrong, or which target, and what to do next.

A contract failure is not an error: it is what a run finds (see contracts.outcome). These are the
reasons a run or a verification could not be made at all, what `capkit` exits 2 for.
"""

from __future__ import annotations

__all__ = [
    "BadOption",
    "ContractsError",
    "EngineFailed",
    "HarUnreadable",
    "TargetUnreachable",
    "Unusable",
]


class ContractsError(Exception):
    """Base of the errors of contracts."""


class Unusable(ContractsError):
    """The target, an option or an input cannot be used: nothing was, or could be, verified."""


class BadOption(Unusable, ValueError):
    """An option has a value the run cannot take."""


class TargetUnreachable(Unusable, ConnectionError):
    """Nothing answers at the target's address, or it stopped answering."""


class HarUnreadable(Unusable, ValueError):
    """A file of recorded traffic is missing, not JSON, or not HAR."""


class EngineFailed(Unusable, RuntimeError):
    """schemathesis stopped the run with an error of its own."""
