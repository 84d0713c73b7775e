"""What a spec documents that a contract run reads: which error codes each operation answers
with each status.

The Capillary spec lists the codes an operation may answer in two places (its `info.description`,
"Error codes"): named examples of the error response, and an `enum` on `errors[].code` in its
schema. Both are read, so that a spec using either convention is understood.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import spec

__all__ = ["codes_in", "error_codes", "response_for"]


def response_for(
    document: Mapping[str, Any], operation: Mapping[str, Any], status: int
) -> Mapping[str, Any] | None:
    """The response OPERATION documents for STATUS (exact, then 4XX, then default), or None."""
    responses = operation.get("responses", {})
    key = next(
        (
            candidate
            for candidate in (str(status), f"{str(status)[0]}XX", f"{str(status)[0]}xx", "default")
            if candidate in responses
        ),
        None,
    )
    if key is None:
        return None
    response = _resolve(document, responses[key])
    return response if isinstance(response, Mapping) else None


def error_codes(
    document: Mapping[str, Any], operation: Mapping[str, Any], status: int
) -> frozenset[int]:
    """Every `errors[].code` that OPERATION documents for STATUS; empty when it documents none."""
    response = response_for(document, operation, status)
    if response is None:
        return frozenset()
    codes: set[int] = set()
    for media in response.get("content", {}).values():
        media = _resolve(document, media)
        examples = [_resolve(document, example) for example in media.get("examples", {}).values()]
        values = [example.get("value") for example in examples if isinstance(example, Mapping)]
        if "example" in media:
            values.append(media["example"])
        for value in values:
            codes.update(codes_in(value))
        codes.update(_enumerated_codes(document, media.get("schema")))
    return frozenset(codes)


def codes_in(body: Any) -> Iterator[int]:
    """The `errors[].code` of a Capillary envelope BODY (parsed); none for any other body."""
    errors = body.get("errors") if isinstance(body, Mapping) else None
    for error in errors if isinstance(errors, list) else []:
        code = error.get("code") if isinstance(error, Mapping) else None
        if isinstance(code, int) and not isinstance(code, bool):
            yield code


def _enumerated_codes(document: Mapping[str, Any], schema: Any) -> Iterator[int]:
    for errors in _property(document, schema, "errors"):
        for item in _items(document, errors):
            for code in _property(document, item, "code"):
                for variant in _variants(document, code):
                    values = list(variant.get("enum", []))
                    if "const" in variant:
                        values.append(variant["const"])
                    yield from (v for v in values if isinstance(v, int) and not isinstance(v, bool))


def _property(document: Mapping[str, Any], schema: Any, name: str) -> Iterator[Any]:
    for variant in _variants(document, schema):
        properties = variant.get("properties", {})
        if isinstance(properties, Mapping) and name in properties:
            yield properties[name]


def _items(document: Mapping[str, Any], schema: Any) -> Iterator[Any]:
    for variant in _variants(document, schema):
        if "items" in variant:
            yield variant["items"]


def _variants(
    document: Mapping[str, Any], schema: Any, seen: frozenset[str] = frozenset()
) -> Iterator[Mapping[str, Any]]:
    """SCHEMA and every schema it is made of (its $ref, allOf, anyOf, oneOf), recursively."""
    if not isinstance(schema, Mapping):
        return
    # In OpenAPI 3.1 a $ref may have sibling keywords, so the node counts as well as its target.
    yield schema
    reference = schema.get("$ref")
    # A recursive schema would otherwise be followed forever.
    if isinstance(reference, str) and reference not in seen:
        yield from _variants(document, _resolve(document, {"$ref": reference}), seen | {reference})
    for keyword in ("allOf", "anyOf", "oneOf"):
        members = schema.get(keyword, [])
        for member in members if isinstance(members, list) else []:
            yield from _variants(document, member, seen)


def _resolve(document: Mapping[str, Any], node: Any) -> Any:
    """NODE with its local `$ref` followed to the end of a chain; kept as it is when it leads
    nowhere (a spec that lint would refuse still gets the codes it does document)."""
    try:
        return spec.follow(document, node)[1]
    except spec.Unresolvable:
        return node
