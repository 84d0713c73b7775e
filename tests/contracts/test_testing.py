"""contracts.testing: the contract as a test of another project's pytest suite."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import hypothesis.configuration
import pytest
from schemathesis.engine import StopReason

from contracts import BadOption, OperationResult, Outcome, assert_conforms, contract_test
from tests.contracts import broken_target
from tests.contracts.conftest import SEED

AUTH = f"{broken_target.TILL}:{broken_target.PASSWORD}"
#: The checkout, where `tests.contracts.broken_target` is imported from.
ROOT = Path(__file__).resolve().parents[2]
CONFORMING = Outcome(
    base_url="http://127.0.0.1:8080/v2",
    operations=(OperationResult("GET /customers/lookup", "lookupCustomer", 120, 0),),
    findings=(),
    errors=(),
    elapsed=2.0,
    stop_reason=StopReason.COMPLETED,
    unauthenticated=False,
)


def test_a_contract_test_fails_with_the_report_of_what_it_found() -> None:
    test = contract_test(
        broken_target.create_app(),
        auth=AUTH,
        max_examples=3,
        seed=SEED,
        operations=("getPointsTransfers",),
    )
    with pytest.raises(pytest.fail.Exception) as failed:
        test()
    report = str(failed.value)
    assert "1. getPointsTransfers  GET /customers/{customerId}/pointsTransfers" in report
    assert "check: warnings_on_success" in report
    assert "contract broken:" in report


def test_a_conforming_outcome_passes() -> None:
    assert_conforms(CONFORMING)


@pytest.mark.parametrize(
    ("outcome", "reason"),
    [
        (dataclasses.replace(CONFORMING, unauthenticated=True), "every request was answered 401"),
        (
            dataclasses.replace(CONFORMING, stop_reason=StopReason.SERVER_UNAVAILABLE),
            "the run ended early: the target stopped answering",
        ),
        (
            dataclasses.replace(CONFORMING, stop_reason=StopReason.INTERRUPTED),
            "the run ended early: it was interrupted",
        ),
        (
            dataclasses.replace(
                CONFORMING,
                operations=(OperationResult("GET /customers/lookup", "lookupCustomer", 0, 0),),
            ),
            "no case was run",
        ),
    ],
)
def test_a_run_that_could_not_test_the_target_does_not_pass(outcome: Outcome, reason: str) -> None:
    with pytest.raises(AssertionError, match=reason):
        assert_conforms(outcome)


def test_a_contract_test_with_nothing_to_test_fails() -> None:
    test = contract_test(
        broken_target.create_app(), auth=AUTH, read_only=True, operations=("registerCustomer",)
    )
    with pytest.raises(BadOption, match="no operation to test"):
        test()


def test_it_takes_capkit_fuzz_options_written_with_underscores(tmp_path: Path) -> None:
    test = contract_test(
        broken_target.create_app(),
        auth=AUTH,
        max_examples=3,
        seed=SEED,
        include_operation=["getPointsTransfers"],
        header=["X-Request-Id: contract-test"],
        report=[tmp_path / "report.html", tmp_path / "junit.xml"],
        har=tmp_path / "traffic.har",
    )
    with pytest.raises(pytest.fail.Exception) as failed:
        test()
    # Only the operation included was tested, and every report was written.
    report = str(failed.value)
    assert "getPointsTransfers" in report and "getSubscriptions" not in report
    assert "contract broken:" in (tmp_path / "report.html").read_text()
    assert "<failure" in (tmp_path / "junit.xml").read_text()
    entries = json.loads((tmp_path / "traffic.har").read_text())["log"]["entries"]
    headers = [
        header["value"]
        for entry in entries
        if entry["_capkit"]["sentAs"] == "valid"
        for header in entry["request"]["headers"]
        if header["name"] == "X-Request-Id"
    ]
    assert headers and set(headers) == {"contract-test"}
    assert {entry["_capkit"]["operationId"] for entry in entries} == {"getPointsTransfers"}


def test_an_option_it_does_not_take_is_named_with_the_ones_it_takes() -> None:
    with pytest.raises(BadOption) as refused:
        contract_test("http://127.0.0.1:8080", auth=AUTH, include_operations=["lookupCustomer"])
    assert str(refused.value) == (
        "contract_test has no option 'include_operations' (did you mean 'include_operation'?);"
        " it takes capkit fuzz's, each written with _ for -: auth, header, max_examples,"
        " max_time, workers, seed, rate_limit, read_only, include_operation, report, har, spec"
    )


def test_an_option_it_cannot_take_fails_at_collection() -> None:
    with pytest.raises(BadOption, match="--max-examples has value 0"):
        contract_test("http://127.0.0.1:8080", max_examples=0)


#: A user's suite, that holds the contract test.
SUITE = f"""
from contracts import contract_test
from tests.contracts import broken_target

test_contract = contract_test(
    broken_target.create_app(),
    auth={AUTH!r},
    max_examples=3,
    seed={SEED},
    operations=("getPointsTransfers",),
)
"""


def test_a_contract_test_leaves_nothing_in_the_working_directory(tmp_path: Path) -> None:
    (tmp_path / "suite").mkdir()
    (tmp_path / "suite" / "test_suite.py").write_text(SUITE)
    (tmp_path / "run").mkdir()
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", str(tmp_path / "suite")],
        cwd=tmp_path / "run",
        env=os.environ | {"PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert "1 failed" in result.stdout, result.stdout + result.stderr
    assert "check: warnings_on_success" in result.stdout
    assert sorted(path.name for path in (tmp_path / "run").iterdir()) == []


def test_a_contract_test_leaves_a_users_hypothesis_storage_as_it_was(tmp_path: Path) -> None:
    theirs = tmp_path / "theirs"
    hypothesis.configuration.set_hypothesis_home_dir(theirs)
    try:
        test = contract_test(
            broken_target.create_app(),
            auth=AUTH,
            max_examples=3,
            seed=SEED,
            operations=("getPointsTransfers",),
        )
        with pytest.raises(pytest.fail.Exception):
            test()
        # The run's caches went elsewhere; their tests' storage is still theirs.
        assert not theirs.exists()
        assert hypothesis.configuration.storage_directory("examples").path == theirs / "examples"
    finally:
        hypothesis.configuration.set_hypothesis_home_dir(None)
