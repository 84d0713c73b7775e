"""contracts.documented: the error codes a spec documents per operation and status."""

from __future__ import annotations

from typing import Any

import pytest

import spec
from contracts.documented import error_codes


def envelope(*codes: int) -> dict[str, Any]:
    return {"errors": [{"status": False, "code": code, "message": "m"} for code in codes]}


def document(responses: dict[str, Any], components: dict[str, Any]) -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "paths": {"/customers/lookup": {"get": {"responses": responses}}},
        "components": components,
    }


def operation(doc: dict[str, Any]) -> dict[str, Any]:
    operation: dict[str, Any] = doc["paths"]["/customers/lookup"]["get"]
    return operation


ENUMERATED = {
    "allOf": [
        {"$ref": "#/components/schemas/Envelope"},
        {"properties": {"errors": {"items": {"properties": {"code": {"enum": [400, 8015]}}}}}},
    ]
}
SCHEMAS = {
    "Envelope": {"properties": {"errors": {"$ref": "#/components/schemas/Errors"}}},
    "Errors": {"type": "array", "items": {"$ref": "#/components/schemas/Item"}},
    "Item": {
        "properties": {"code": {"type": "integer"}, "next": {"$ref": "#/components/schemas/Item"}}
    },
}


@pytest.mark.parametrize(
    ("responses", "components", "status", "codes"),
    [
        # Named examples, one of them a reference.
        (
            {
                "400": {
                    "content": {
                        "application/json": {
                            "examples": {
                                "err8015": {"value": envelope(8015)},
                                "err8045": {"$ref": "#/components/examples/err8045"},
                            }
                        }
                    }
                }
            },
            {"examples": {"err8045": {"value": envelope(8045)}}},
            400,
            {8015, 8045},
        ),
        # An enum on errors[].code through allOf and $refs (a recursive one too).
        (
            {"400": {"content": {"application/json": {"schema": ENUMERATED}}}},
            {"schemas": SCHEMAS},
            400,
            {400, 8015},
        ),
        # A single example, a response behind a $ref, a const.
        (
            {"401": {"$ref": "#/components/responses/Unauthorized"}},
            {
                "responses": {
                    "Unauthorized": {"content": {"application/json": {"example": envelope(401)}}}
                }
            },
            401,
            {401},
        ),
        # 4XX, then default, stand in for a status without its own response.
        ({"4XX": {"content": {"application/json": {"example": envelope(1)}}}}, {}, 404, {1}),
        ({"default": {"content": {"application/json": {"example": envelope(2)}}}}, {}, 500, {2}),
        # A status the operation does not document, and a response that lists no code.
        ({"400": {"description": "bad"}}, {}, 404, set()),
        ({"400": {"description": "bad"}}, {}, 400, set()),
    ],
    ids=["examples", "enum", "example-and-ref", "4XX", "default", "undocumented", "no-codes"],
)
def test_error_codes(
    responses: dict[str, Any], components: dict[str, Any], status: int, codes: set[int]
) -> None:
    doc = document(responses, components)
    assert error_codes(doc, operation(doc), status) == codes


def test_the_bundled_specs_codes_for_registration() -> None:
    bundled = spec.load()
    register = bundled["paths"]["/customers"]["post"]
    named = register["responses"]["400"]["content"]["application/json"]["examples"]
    assert error_codes(bundled, register, 400) == {int(name[3:]) for name in named}
    assert error_codes(bundled, register, 401) == {401}
    assert error_codes(bundled, register, 415) == {415}
