"""contracts.lint on small OpenAPI 3.1 documents, each with one planted bug."""

from __future__ import annotations

from typing import Any

import pytest

from contracts.lint import Problem, lint_document

LOOKUP_200 = "/paths/~1customers~1lookup/get/responses/200"
FOUND_BY_MOBILE = LOOKUP_200 + "/content/application~1json/examples/foundByMobile/value"
LINK = LOOKUP_200 + "/links/customer"
IDENTIFIER_NAME = "/paths/~1customers~1lookup/get/parameters/1/content/application~1json"
REGISTER_BODY = "/paths/~1customers/post/requestBody/content/application~1json"
DELETE = object()


def minimal_document() -> dict[str, Any]:
    """A valid document with an example in each place lint looks, and a link."""
    return {
        "openapi": "3.1.0",
        "info": {"title": "lint test", "version": "1"},
        "paths": {
            "/customers/lookup": {
                "get": {
                    "operationId": "lookupCustomer",
                    "parameters": [
                        {"$ref": "#/components/parameters/source"},
                        {
                            "name": "identifierName",
                            "in": "query",
                            "content": {
                                "application/json": {
                                    "schema": {"type": "string"},
                                    "example": "mobile",
                                }
                            },
                        },
                    ],
                    "responses": {
                        "200": {
                            "description": "The customer found",
                            "headers": {
                                "X-Request-Id": {"schema": {"type": "string"}, "example": "a1"}
                            },
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/LookupResult"},
                                    "examples": {
                                        "foundByMobile": {
                                            "value": {
                                                "entity": 306,
                                                "createdOn": "2024-05-01T10:00:00+05:30",
                                            }
                                        },
                                        "foundByEmail": {
                                            "$ref": "#/components/examples/foundByEmail"
                                        },
                                        "fromElsewhere": {
                                            "externalValue": "https://example.com/x.json"
                                        },
                                    },
                                }
                            },
                            "links": {
                                "customer": {
                                    "operationId": "getCustomer",
                                    "parameters": {"customerId": "$response.body#/entity"},
                                }
                            },
                        }
                    },
                }
            },
            "/customers/{customerId}": {
                "parameters": [
                    {
                        "name": "customerId",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "integer"},
                    }
                ],
                "get": {
                    "operationId": "getCustomer",
                    "parameters": [{"$ref": "#/components/parameters/source"}],
                    "responses": {"200": {"description": "The customer"}},
                },
            },
            "/customers": {
                "post": {
                    "operationId": "registerCustomer",
                    "requestBody": {
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/NewCustomer"},
                                "example": {"mobile": "919111111111"},
                            }
                        }
                    },
                    "responses": {"200": {"description": "Registered"}},
                }
            },
        },
        "components": {
            "schemas": {
                "LookupResult": {
                    "type": "object",
                    "required": ["entity"],
                    "properties": {
                        "entity": {"type": "integer"},
                        "createdOn": {"type": "string", "format": "date-time"},
                    },
                },
                "NewCustomer": {
                    "type": "object",
                    "required": ["mobile"],
                    "properties": {"mobile": {"type": "string", "examples": ["919111111111"]}},
                },
            },
            "parameters": {
                "source": {
                    "name": "source",
                    "in": "query",
                    "schema": {"type": "string", "enum": ["INSTORE", "WECHAT"]},
                    "example": "INSTORE",
                }
            },
            "examples": {"foundByEmail": {"value": {"entity": 307}}},
        },
    }


def planted(pointer: str, value: Any) -> dict[str, Any]:
    """The minimal document with the value at POINTER replaced by VALUE (or deleted)."""
    document = minimal_document()
    *parents, last = [s.replace("~1", "/").replace("~0", "~") for s in pointer.split("/")[1:]]
    node: Any = document
    for segment in parents:
        node = node[int(segment) if isinstance(node, list) else segment]
    key = int(last) if isinstance(node, list) else last
    if value is DELETE:
        del node[key]
    else:
        node[key] = value
    return document


def test_a_clean_document_has_no_problems() -> None:
    assert lint_document(minimal_document()) == []


# (planted bug: where, what) -> (the problem: pointer, field, part of the message)
PLANTED = {
    "response example of the wrong type": (
        (FOUND_BY_MOBILE + "/entity", "306"),
        (FOUND_BY_MOBILE + "/entity", "entity", "expected type integer, got '306'"),
    ),
    "example behind a components/examples $ref": (
        ("/components/examples/foundByEmail/value/entity", None),
        ("/components/examples/foundByEmail/value/entity", "entity", "got None"),
    ),
    "parameter example outside its enum, in a component used twice": (
        ("/components/parameters/source/example", "ONLINE"),
        (
            "/components/parameters/source/example",
            "example",
            "expected one of 'INSTORE', 'WECHAT', got 'ONLINE'",
        ),
    ),
    "example in a parameter's content": (
        (IDENTIFIER_NAME + "/example", 1),
        (IDENTIFIER_NAME + "/example", "example", "expected type string, got 1"),
    ),
    "header example": (
        (LOOKUP_200 + "/headers/X-Request-Id/example", 1),
        (LOOKUP_200 + "/headers/X-Request-Id/example", "example", "got 1"),
    ),
    "bad date-time": (
        (FOUND_BY_MOBILE + "/createdOn", "2024-13-01T10:00:00Z"),
        (FOUND_BY_MOBILE + "/createdOn", "createdOn", "expected format date-time"),
    ),
    "request body example missing a required field": (
        (REGISTER_BODY + "/example", {}),
        (REGISTER_BODY + "/example", "mobile", "required property 'mobile' is missing"),
    ),
    "schema-level examples entry": (
        ("/components/schemas/NewCustomer/properties/mobile/examples/0", 919111111111),
        ("/components/schemas/NewCustomer/properties/mobile/examples/0", "0", "type string"),
    ),
    "link to an unknown operationId": (
        (LINK + "/operationId", "getCustomr"),
        (LINK + "/operationId", "operationId", "got 'getCustomr'; did you mean 'getCustomer'?"),
    ),
    "link to an unknown parameter": (
        (LINK + "/parameters", {"id": "$response.body#/entity"}),
        (LINK + "/parameters/id", "id", "(customerId, source), got 'id'"),
    ),
    "response without a description (the OpenAPI schema itself)": (
        ("/paths/~1customers~1{customerId}/get/responses/200/description", DELETE),
        (
            "/paths/~1customers~1{customerId}/get/responses/200",
            "description",
            "required property 'description' is missing",
        ),
    ),
    "dangling $ref": (
        (LOOKUP_200 + "/content/application~1json/schema/$ref", "#/components/schemas/Lookup"),
        (
            LOOKUP_200 + "/content/application~1json/schema/$ref",
            "$ref",
            "did you mean '#/components/schemas/LookupResult'?",
        ),
    ),
    "$ref that leads back to itself": (
        (
            LOOKUP_200 + "/content/application~1json/schema/$ref",
            "#" + LOOKUP_200 + "/content/application~1json/schema",
        ),
        (LOOKUP_200 + "/content/application~1json/schema/$ref", "$ref", "go round in a loop"),
    ),
    "malformed schema": (
        ("/components/schemas/LookupResult/properties/entity/type", "int"),
        ("/components/schemas/LookupResult/properties/entity/type", "type", "'int'"),
    ),
}


@pytest.mark.parametrize(("bug", "expected"), PLANTED.values(), ids=PLANTED.keys())
def test_a_planted_bug_is_the_one_problem_found(
    bug: tuple[str, Any], expected: tuple[str, str, str]
) -> None:
    problems = lint_document(planted(*bug))
    pointer, field, message = expected
    assert [(p.pointer, p.field) for p in problems] == [(pointer, field)], problems
    assert message in problems[0].message


def test_an_example_error_names_the_schema_rule_it_breaks() -> None:
    [problem] = lint_document(planted(FOUND_BY_MOBILE + "/entity", "306"))
    assert str(problem) == (
        f"#{FOUND_BY_MOBILE}/entity: entity: expected type integer, got '306'"
        " (rule #/components/schemas/LookupResult/properties/entity/type)"
    )


def test_problems_come_sorted_by_pointer() -> None:
    document = planted(FOUND_BY_MOBILE + "/entity", "306")
    document["paths"]["/customers"]["post"]["requestBody"]["content"]["application/json"][
        "example"
    ] = {}
    pointers = [p.pointer for p in lint_document(document)]
    assert pointers == [REGISTER_BODY + "/example", FOUND_BY_MOBILE + "/entity"]


def test_an_empty_document_is_not_clean() -> None:
    problems = lint_document({})
    assert Problem("", "openapi", "required property 'openapi' is missing") in problems
    assert Problem("", "info", "required property 'info' is missing") in problems


def test_an_example_that_cannot_be_checked_is_a_problem_not_a_pass() -> None:
    """A $dynamicRef to an anchor no schema defines: the examples behind it go unchecked, and
    lint says so instead of "no problems"."""
    entity = "/components/schemas/LookupResult/properties/entity"
    problems = lint_document(planted(entity, {"$dynamicRef": "#entity"}))
    assert {(p.pointer, p.field) for p in problems} == {
        (FOUND_BY_MOBILE, "value"),
        ("/components/examples/foundByEmail/value", "value"),
    }
    assert all(
        "refers to the anchor 'entity', which lint cannot find" in p.message for p in problems
    )
