"""What the mock needs of a spec beyond OpenAPI, checked as it compiles one: each lack is
named by its pointer, field and what was expected, and nothing is served."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

import spec
from mockserver.contract import SpecUnfit, compile_contract

BUNDLED = spec.load()
LOOKUP = "/paths/~1customers~1lookup/get"
REGISTER = "/paths/~1customers/post"
SEARCH = "/paths/~1customers~1search/get"
LOOKUP_400 = LOOKUP + "/responses/400/content/application~1json"


def at(document: Any, pointer: str) -> Any:
    """What POINTER names in DOCUMENT, $refs followed on the way."""
    node = document
    for part in filter(None, pointer.split("/")):
        node = spec.follow(document, node)[1]
        node = node[int(part)] if isinstance(node, list) else node[part.replace("~1", "/")]
    return node


def parent_and_key(document: Any, pointer: str) -> tuple[Any, Any]:
    parent, _, key = pointer.rpartition("/")
    node = spec.follow(document, at(document, parent))[1]
    return node, int(key) if isinstance(node, list) else key.replace("~1", "/")


def removed(pointer: str) -> Callable[[Any], None]:
    def change(document: Any) -> None:
        node, key = parent_and_key(document, pointer)
        del node[key]

    return change


def replaced(pointer: str, value: Any) -> Callable[[Any], None]:
    def change(document: Any) -> None:
        node, key = parent_and_key(document, pointer)
        node[key] = value

    return change


# change of the bundled spec -> the problem the mock names
UNFIT = {
    "no server": (
        removed("/servers"),
        "#/servers: servers: expected a server whose URL's path is the mock's (https://{host}/v2)",
    ),
    "no err400 example": (
        removed(LOOKUP_400 + "/examples/err400"),
        f"#{LOOKUP_400}/examples: examples: expected an example with code 400 (err400): its"
        " message is the one the mock answers invalid input with",
    ),
    "no 401 response": (
        removed(LOOKUP + "/responses/401"),
        f"#{LOOKUP}/responses: 401: expected a 401 response: the mock answers requests"
        " without valid credentials (--no-auth answers them) with it",
    ),
    "no 415 response for a body": (
        removed(REGISTER + "/responses/415"),
        f"#{REGISTER}/responses: 415: expected a 415 response: the mock answers a body that"
        " is not JSON with it",
    ),
    "an error example that is not the envelope": (
        replaced(LOOKUP_400 + "/examples/err8015/value", {"error": "not found"}),
        f"#{LOOKUP_400}/examples/err8015/value: errors: expected Capillary's envelope,"
        ' {"errors": [{"code": N, "message": "..."}, ...]}',
    ),
    "an example its schema refuses": (
        replaced(
            LOOKUP + "/responses/200/content/application~1json/examples/foundByMobile/value",
            {"entity": "306", "warnings": []},
        ),
        "/responses/200/content/application~1json/examples/foundByMobile/value/entity: value:"
        ' expected a value its response\'s schema accepts: "306" is not of type "integer"',
    ),
    "a list endpoint's error schema that refuses its pagination": (
        replaced(
            SEARCH + "/responses/401",
            {
                "description": "Unauthorized, in a schema that refuses a pagination",
                "content": {
                    "application/json": {
                        "schema": {
                            "$ref": "#/components/schemas/ErrorEnvelope",
                            "not": {"required": ["pagination"]},
                        },
                        "examples": {
                            "unauthorized": {
                                "value": {
                                    "warnings": [],
                                    "errors": [{"status": False, "code": 401, "message": "No."}],
                                }
                            }
                        },
                    }
                },
            },
        ),
        f"#{SEARCH}/responses/401: schema: expected a schema that admits what the mock answers"
        " requests without valid credentials (--no-auth answers them) with (Capillary's"
        " envelope, with a zeroed pagination): ",
    ),
    "no operationId": (
        removed(LOOKUP + "/operationId"),
        f"#{LOOKUP}: operationId: expected the name of its handler in mockserver/views.py",
    ),
    "a parameter schema whose $ref leads back to itself": (
        replaced(LOOKUP + "/parameters/0/schema", {"$ref": "#/components/schemas/Loop"}),
        "$ref '#/components/schemas/Loop' leads back to itself",
    ),
    "a $ref to a missing schema": (
        replaced(LOOKUP + "/parameters/0/schema", {"$ref": "#/components/schemas/Nowhere"}),
        "$ref '#/components/schemas/Nowhere' names nothing in the document",
    ),
}


@pytest.mark.parametrize(("change", "named"), UNFIT.values(), ids=UNFIT.keys())
def test_what_the_mock_needs_and_a_spec_lacks_is_named(
    change: Callable[[Any], None], named: str
) -> None:
    document = copy.deepcopy(BUNDLED)
    document["components"]["schemas"]["Loop"] = {"$ref": "#/components/schemas/Loop"}
    change(document)
    with pytest.raises(SpecUnfit) as raised:
        compile_contract(document)
    assert any(named in problem for problem in raised.value.problems), raised.value.problems


def test_the_bundled_spec_has_all_the_mock_needs() -> None:
    compiled = compile_contract(BUNDLED).operations
    assert [op.id for op in compiled] == [op["operationId"] for *_, op in spec.operations(BUNDLED)]


def test_without_authentication_no_401_response_is_needed() -> None:
    document = copy.deepcopy(BUNDLED)
    removed(LOOKUP + "/responses/401")(document)
    compiled = compile_contract(document, authenticating=False).operations
    assert len(compiled) == len(list(spec.operations(BUNDLED)))


def test_each_response_s_declared_headers_are_compiled_with_their_documented_values() -> None:
    operations = compile_contract(BUNDLED).operations
    assert sum(429 in operation.example_headers for operation in operations) == 11
    for operation in operations:
        assert dict(operation.example_headers.get(429, ())) == (
            {
                "Retry-After": "42",
                "RateLimit-Limit": "100",
                "RateLimit-Remaining": "0",
                "RateLimit-Reset": "42",
            }
            if 429 in operation.responses
            else {}
        ), operation.id
        assert dict(operation.example_headers[401]) == {
            "WWW-Authenticate": 'Basic realm="Capillary"'
        }
        assert operation.example_headers[400] == ()


def test_a_header_is_documented_by_its_example_or_else_its_schema() -> None:
    document = copy.deepcopy(BUNDLED)
    declared = at(document, "/components/responses/TooManyRequests")["headers"]
    declared["Retry-After"] = {"examples": {"soon": {"value": 7}}, "schema": {"type": "integer"}}
    declared["RateLimit-Limit"] = {"schema": {"type": "integer", "default": 100}}
    declared["RateLimit-Remaining"] = {"schema": {"type": "boolean", "enum": [True]}}
    declared["RateLimit-Reset"] = {"schema": {"type": "integer"}}  # no value: not served
    declared["Content-Type"] = {"example": "text/plain"}  # OpenAPI ignores it
    operation = next(o for o in compile_contract(document).operations if 429 in o.responses)
    assert operation.example_headers[429] == (
        ("Retry-After", "7"),
        ("RateLimit-Limit", "100"),
        ("RateLimit-Remaining", "true"),
    )


# What the spec's description says the mock needs of it -> the case of UNFIT that lacks it.
STATED = {
    "a server URL": "no server",
    "an `operationId`": "no operationId",
    "a 400 response with an `err400` example": "no err400 example",
    "a 401 response": "no 401 response",
    "a 415 response for an operation with a request body": "no 415 response for a body",
    "error examples in the error envelope": "an error example that is not the envelope",
    "every example valid against its schema": "an example its schema refuses",
    "carries a zeroed `pagination`, which the schemas": (
        "a list endpoint's error schema that refuses its pagination"
    ),
}


def test_the_spec_states_each_thing_the_mock_needs_of_it() -> None:
    (needs,) = [
        line
        for line in BUNDLED["info"]["description"].splitlines()
        if line.startswith("- **What the mock needs of this document.**")
    ]
    assert [rule for rule in STATED if rule not in needs] == []
    # Each lack the mock names is stated; a $ref that leads nowhere is lint's to state.
    unstated = set(UNFIT) - set(STATED.values())
    assert unstated == {
        "a parameter schema whose $ref leads back to itself",
        "a $ref to a missing schema",
    }
