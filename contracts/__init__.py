"""Contract tooling for any target of the spec: lint a spec, fuzz a target, verify recorded traffic.

    outcome = contracts.fuzz("http://127.0.0.1:8080", contracts.FuzzOptions(auth="till:pw"))
    violations = contracts.verify_har(contracts.load_har(path), spec.load())

The names below load their module on first use, so that `capkit lint` does not pay for
schemathesis and openapi-core.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from contracts.errors import (
        BadOption,
        ContractsError,
        HarUnreadable,
        TargetUnreachable,
        Unusable,
    )
    from contracts.options import FuzzOptions
    from contracts.outcome import Credentials, Finding, OperationResult, Outcome, RunError
    from contracts.runner import Listener, Target, fuzz
    from contracts.testing import assert_conforms, contract_test
    from contracts.verify import Violation, load_har, verify_har

_HOMES = {
    "BadOption": "contracts.errors",
    "ContractsError": "contracts.errors",
    "HarUnreadable": "contracts.errors",
    "TargetUnreachable": "contracts.errors",
    "Unusable": "contracts.errors",
    "FuzzOptions": "contracts.options",
    "Credentials": "contracts.outcome",
    "Finding": "contracts.outcome",
    "OperationResult": "contracts.outcome",
    "Outcome": "contracts.outcome",
    "RunError": "contracts.outcome",
    "Listener": "contracts.runner",
    "Target": "contracts.runner",
    "fuzz": "contracts.runner",
    "assert_conforms": "contracts.testing",
    "contract_test": "contracts.testing",
    "Violation": "contracts.verify",
    "load_har": "contracts.verify",
    "verify_har": "contracts.verify",
}

__all__ = [
    "BadOption",
    "ContractsError",
    "Credentials",
    "Finding",
    "FuzzOptions",
    "HarUnreadable",
    "Listener",
    "OperationResult",
    "Outcome",
    "RunError",
    "Target",
    "TargetUnreachable",
    "Unusable",
    "Violation",
    "assert_conforms",
    "contract_test",
    "fuzz",
    "load_har",
    "verify_har",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'contracts' has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)
