"""The checks against the broken target, one test per planted bug, and the Capillary checks on
answers made by hand, one invariant at a time."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests
import schemathesis
from schemathesis import Case, CheckContext, Response
from schemathesis.config import ChecksConfig
from schemathesis.engine.recorder import ScenarioRecorder
from schemathesis.generation import GenerationMode
from schemathesis.generation.meta import (
    CaseMetadata,
    GenerationInfo,
    PhaseInfo,
    StatefulPhaseData,
    TestPhase,
)
from schemathesis.specs.openapi.schemas import OpenApiSchema

import spec
from contracts import Finding, Outcome
from contracts.checks import (
    carried_integer_literal,
    created_resource_readable,
    documented_error_code,
    error_envelope,
    valid_input_not_called_invalid,
    warnings_on_success,
)
from tests.contracts import broken_target


def findings_of(outcome: Outcome, operation_id: str, check: str) -> list[Finding]:
    labels = {op.label for op in outcome.operations if op.operation_id == operation_id}
    assert labels, f"{operation_id} was not tested"
    return [f for f in outcome.findings if f.operation in labels and f.check == check]


def caught(outcome: Outcome, operation_id: str, check: str) -> Finding:
    found = findings_of(outcome, operation_id, check)
    everything = [(finding.operation, finding.check) for finding in outcome.findings]
    assert found, f"{check} did not catch the bug planted in {operation_id}; found {everything}"
    return found[0]


# --- the broken target: each planted bug, caught by the check that should catch it -----------


def test_a_field_of_the_wrong_type(broken_outcome: Outcome) -> None:
    finding = caught(broken_outcome, "getSubscriptions", "response_schema_conformance")
    assert '"0" is not of type "integer"' in finding.message
    assert finding.status == 200


def test_a_success_without_warnings(broken_outcome: Outcome) -> None:
    finding = caught(broken_outcome, "getPointsTransfers", "warnings_on_success")
    assert finding.message == (
        'Expected: a JSON object with "warnings": [...]\n'
        "Actual:   200 with an object without `warnings`, keys: data, errors"
    )


def test_an_undocumented_error_code(broken_outcome: Outcome) -> None:
    finding = caught(broken_outcome, "lookupCustomer", "documented_error_code")
    assert finding.message == (
        "Expected: a code that GET /customers/lookup documents for 400:"
        " 400, 8011, 8013, 8015, 8045, 8065\n"
        "Actual:   code 8009 ('Customer not found')"
    )


def test_a_server_error_on_some_input(broken_outcome: Outcome) -> None:
    finding = caught(broken_outcome, "getCustomer", "not_a_server_error")
    assert finding.status == 500
    assert "curl -X GET" in finding.reproduce[-1] and "mlp" in finding.reproduce[-1]


def test_a_created_customer_that_cannot_be_read_back(broken_outcome: Outcome) -> None:
    finding = caught(broken_outcome, "registerCustomer", "created_resource_readable")
    expected, actual = finding.message.splitlines()
    assert expected.startswith("Expected: GET /customers/316452")
    assert expected.endswith(
        "?source=ALL (the spec's link 'getCustomer' from POST /customers) to answer 2xx"
    )
    assert actual == "Actual:   400 with code 8015 ('Customer not found')"
    assert "curl -X POST" in finding.reproduce[-1]


def test_an_operation_that_ignores_missing_credentials(broken_outcome: Outcome) -> None:
    finding = caught(broken_outcome, "getLoyaltyDetails", "ignored_auth")
    assert finding.title == "API accepts requests without authentication"


def test_valid_input_called_invalid(broken_outcome: Outcome) -> None:
    finding = caught(broken_outcome, "lookupCustomer", "valid_input_not_called_invalid")
    assert "identifierName=cardnumber" in finding.reproduce[-1]
    assert finding.message.splitlines()[-1] == (
        "Actual:   400 with code 400 ('Input is invalid: identifierName cardnumber is unknown')"
    )


def test_the_broken_target_breaks_nothing_but_its_planted_bugs(broken_outcome: Outcome) -> None:
    ids = {op.label: op.operation_id for op in broken_outcome.operations}
    found = {(ids.get(finding.operation), finding.check) for finding in broken_outcome.findings}
    assert found - {*broken_target.PLANTED, *broken_target.ALSO} == set()
    assert broken_outcome.errors == ()


# --- the Capillary checks, on answers made by hand ---------------------------------------------


@pytest.fixture(scope="module")
def schema() -> OpenApiSchema:
    loaded = schemathesis.openapi.from_dict(spec.load())
    assert isinstance(loaded, OpenApiSchema)
    return loaded


@pytest.fixture
def context() -> CheckContext:
    return CheckContext(
        override=None,
        auth=None,
        headers=None,
        config=ChecksConfig(),
        transport_kwargs=None,
        response_checks=None,
    )


def answer(status: int, body: Any, *, media: str = "application/json") -> Response:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    request = requests.Request("GET", "http://127.0.0.1/v2/customers/lookup").prepare()
    return Response(status, {"Content-Type": [media]}, content, request, 0.01, True)


def lookup(schema: OpenApiSchema, method: str | None = None) -> Case[Any]:
    return schema.find_operation_by_id("lookupCustomer").Case(method=method)


def failure_of(
    check: Any, context: CheckContext, response: Response, case: Case[Any]
) -> str | None:
    """The check's failure message, or None when it passed (or did not apply)."""
    try:
        check(context, response, case)
    except AssertionError as error:
        return str(error)
    return None


ERROR = {"status": False, "code": 8015, "message": "Customer not found"}
ENVELOPE_CASES = [
    ("an envelope", 400, {"warnings": [], "errors": [ERROR]}, None),
    ("extra keys", 400, {"warnings": [], "errors": [ERROR], "pagination": {}}, None),
    ("not JSON", 500, b"<h1>Internal Server Error</h1>", "a body that is not JSON (text/html)"),
    ("a list", 400, [ERROR], "a JSON list, not an object"),
    ("no errors", 401, {"message": "no"}, 'no `errors`: \'{"message": "no"}\''),
    ("empty errors", 400, {"errors": []}, "`errors` []"),
    ("status true", 400, {"errors": [{**ERROR, "status": True}]}, "errors[0] has status true"),
    ("string code", 400, {"errors": [{**ERROR, "code": "8015"}]}, 'has code "8015", not an int'),
    ("boolean code", 400, {"errors": [{**ERROR, "code": True}]}, "has code true, not an integer"),
    ("no message", 413, {"errors": [ERROR, {"status": False, "code": 1}]}, "errors[1] has message"),
]


@pytest.mark.parametrize(
    ("status", "body", "problem"),
    [case[1:] for case in ENVELOPE_CASES],
    ids=[case[0] for case in ENVELOPE_CASES],
)
def test_error_envelope(
    schema: OpenApiSchema, context: CheckContext, status: int, body: Any, problem: str | None
) -> None:
    media = "text/html" if isinstance(body, bytes) else "application/json"
    message = failure_of(error_envelope, context, answer(status, body, media=media), lookup(schema))
    if problem is None:
        assert message is None
    else:
        assert message is not None and message.startswith("Expected: an error body {")
        assert f"Actual:   {status} with " in message and problem in message


def test_error_envelope_leaves_successes_alone(
    schema: OpenApiSchema, context: CheckContext
) -> None:
    assert error_envelope(context, answer(200, b"not json"), lookup(schema)) is True


@pytest.mark.parametrize(
    ("status", "code", "passes"),
    [(400, 8015, True), (400, 400, True), (400, 8009, False), (401, 401, True), (401, 8015, False)],
)
def test_documented_error_code(
    schema: OpenApiSchema, context: CheckContext, status: int, code: int, passes: bool
) -> None:
    body = {"warnings": [], "errors": [{**ERROR, "code": code}]}
    message = failure_of(documented_error_code, context, answer(status, body), lookup(schema))
    assert (message is None) == passes, message


def test_documented_error_code_judges_no_status_the_operation_leaves_undocumented(
    schema: OpenApiSchema, context: CheckContext
) -> None:
    body = {"errors": [{**ERROR, "code": 12345}]}
    assert documented_error_code(context, answer(404, body), lookup(schema)) is True
    assert documented_error_code(context, answer(405, body), lookup(schema, "DELETE")) is True


@pytest.mark.parametrize(
    ("body", "actual"),
    [
        ({"entity": 306, "warnings": []}, None),
        ({"entity": 306}, "an object without `warnings`, keys: entity"),
        ({"entity": 306, "warnings": None}, "`warnings` is null"),
        ([], "a JSON list, not an object: '[]'"),
    ],
)
def test_warnings_on_success(
    schema: OpenApiSchema, context: CheckContext, body: Any, actual: str | None
) -> None:
    message = failure_of(warnings_on_success, context, answer(200, body), lookup(schema))
    if actual is None:
        assert message is None
    else:
        assert (
            message
            == f'Expected: a JSON object with "warnings": [...]\nActual:   200 with {actual}'
        )


def test_warnings_are_not_asked_of_errors_nor_of_other_methods(
    schema: OpenApiSchema, context: CheckContext
) -> None:
    assert warnings_on_success(context, answer(400, {"errors": [ERROR]}), lookup(schema)) is True
    assert warnings_on_success(context, answer(200, b""), lookup(schema, "OPTIONS")) is True


def test_created_resource_readable_asks_only_successful_posts(
    schema: OpenApiSchema, context: CheckContext
) -> None:
    register = schema.find_operation_by_id("registerCustomer").Case()
    refused = answer(400, {"errors": [ERROR]})
    assert created_resource_readable(context, refused, register) is True
    assert created_resource_readable(context, answer(200, {"entity": 1}), lookup(schema)) is True


def test_carried_integer_literal(schema: OpenApiSchema, context: CheckContext) -> None:
    # JSON Schema counts 306.0 as an integer: the schema passes it, a link cannot carry it.
    fractional = answer(200, {"entity": 306.0, "warnings": []})
    assert failure_of(carried_integer_literal, context, fractional, lookup(schema)) == (
        "Expected: `entity` written as an integer, 306: the spec's links carry it into the"
        " integer path parameter customerId of getCustomer, getSubscriptions, getLoyaltyDetails"
        " and getPointsExpirySchedule\n"
        "Actual:   200 with `entity` 306.0, which goes there as '306.0', no integer (JSON Schema"
        " counts 306.0 as an integer: the response's schema passes it)"
    )
    whole = answer(200, {"entity": 306, "warnings": []})
    assert carried_integer_literal(context, whole, lookup(schema)) is None
    # Only where a link of the spec carries a value: not an error, not another method.
    refused = answer(400, {"errors": [ERROR]})
    assert carried_integer_literal(context, refused, lookup(schema)) is True
    assert carried_integer_literal(context, fractional, lookup(schema, "PUT")) is True


def test_valid_input_not_called_invalid_judges_only_generated_valid_input(
    schema: OpenApiSchema, context: CheckContext
) -> None:
    invalid = answer(400, {"errors": [{**ERROR, "code": 400}]})
    # Made by hand, the case has no generation metadata: nobody claimed it is valid.
    assert valid_input_not_called_invalid(context, invalid, lookup(schema)) is True


def link_step(schema: OpenApiSchema, customer_id: Any) -> Case[Any]:
    """getCustomer as the stateful phase sends it after a lookup: CUSTOMER_ID from its answer."""
    meta = CaseMetadata(
        generation=GenerationInfo(time=0.0, mode=GenerationMode.POSITIVE),
        components={},
        phase=PhaseInfo(
            name=TestPhase.STATEFUL,
            data=StatefulPhaseData(
                description=None, parameter=None, parameter_location=None, location=None
            ),
        ),
    )
    return schema.find_operation_by_id("getCustomer").Case(
        path_parameters={"customerId": customer_id}, query={"source": "ALL"}, _meta=meta
    )


def test_valid_input_not_called_invalid_judges_what_a_link_carried(schema: OpenApiSchema) -> None:
    recorder = ScenarioRecorder(label="lookup -> getCustomer")
    parent = lookup(schema)
    recorder.record_case(parent_id=None, case=parent)
    context = CheckContext(
        override=None,
        auth=None,
        headers=None,
        config=ChecksConfig(),
        transport_kwargs=None,
        recorder=recorder,
        response_checks=None,
    )
    invalid = answer(400, {"errors": [{**ERROR, "code": 400, "message": "Input is invalid"}]})
    carried = link_step(schema, 306)
    recorder.record_case(parent_id=parent.id, case=carried)
    assert failure_of(valid_input_not_called_invalid, context, invalid, carried) == (
        "Expected: schema-valid input accepted: a 2xx, or a business error with a code of its own\n"
        "Actual:   400 with code 400 ('Input is invalid')"
    )
    # 306.0 goes out as '306.0', no integer: refusing it is right (carried_integer_literal
    # names the answer that wrote it).
    fractional = link_step(schema, 306.0)
    recorder.record_case(parent_id=parent.id, case=fractional)
    assert valid_input_not_called_invalid(context, invalid, fractional) is True
