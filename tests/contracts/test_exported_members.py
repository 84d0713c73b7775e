"""The public surface of contracts: exactly these names, each one importable."""

from __future__ import annotations

import subprocess
import sys

import contracts

EXPORTED = [
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


def test_the_exported_names() -> None:
    assert contracts.__all__ == EXPORTED
    for name in EXPORTED:
        assert getattr(contracts, name) is not None, name


def test_linting_does_not_load_schemathesis_nor_openapi_core() -> None:
    probe = (
        "import sys, contracts, contracts.lint; "
        "print(sorted({'schemathesis', 'openapi_core'} & set(sys.modules)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "[]"
