"""What the spec's links carry from an answer into another operation's parameters, and the one
thing such a value can be that its schema passes and its next request cannot take: an integer
written with a fraction.

JSON Schema (draft 2020-12, so OpenAPI 3.1) counts 306.0 as an integer: a response whose `entity`
is 306.0 conforms to `{"type": "integer"}`. But a client carries the number it read into a
request parameter as text, and 306.0 goes there as '306.0', which no integer parameter takes
(the mock, openapi-core and Capillary refuse `GET /customers/306.0`). Where the spec's own link
says "carry this into that integer parameter", the value has to be written as an integer: 306.

`capkit fuzz` (contracts.checks.carried_integer_literal) and `capkit verify` read this alike, so
they give the same traffic the same verdict, naming the answer that wrote the value.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import unquote

import spec
from contracts.documented import response_for

__all__ = [
    "Destination",
    "FractionalInteger",
    "carries_integers",
    "fractional_integers",
    "is_integer",
]

#: schemathesis marks the links it infers with this extension: they are not the spec's.
_INFERRED = "x-schemathesis"
_BODY = "$response.body#"


@dataclasses.dataclass(frozen=True)
class Destination:
    """An integer parameter a link carries a value into."""

    operation_id: str
    location: str
    name: str


@dataclasses.dataclass(frozen=True)
class FractionalInteger:
    """A value of an answer, written with a fraction, that the spec's links carry into integer
    parameters."""

    #: Where it is in the body, as a reader writes it: entity, data[0].id.
    field: str
    value: float
    destinations: tuple[Destination, ...]

    @property
    def sent(self) -> str:
        """The value as text, as a client carries the number it read into a parameter."""
        return str(self.value)

    @property
    def whole(self) -> int:
        return int(self.value)

    @property
    def carried(self) -> str:
        """The spec's links carry it into the integer path parameter customerId of getCustomer
        and getSubscriptions."""
        groups: dict[tuple[str, str], list[str]] = {}
        for destination in self.destinations:
            key = (destination.location, destination.name)
            groups.setdefault(key, []).append(destination.operation_id)
        links = "link carries" if len(self.destinations) == 1 else "links carry"
        places = "; and ".join(
            f"the integer {location} parameter {name} of {_listed(operations)}"
            for (location, name), operations in groups.items()
        )
        return f"the spec's {links} it into {places}"

    def violation(self) -> str:
        """What `capkit verify` says of the field."""
        return (
            f"is {self.value!r}, an integer written with a fraction: {self.carried}, where it"
            f" goes as {self.sent!r}, which is no integer; expected {self.whole}"
        )


def fractional_integers(
    document: Mapping[str, Any], operation: Mapping[str, Any], status: int, body: Any
) -> list[FractionalInteger]:
    """Each value of BODY, OPERATION's answer with STATUS, that the links of DOCUMENT's response
    for STATUS carry into an integer parameter, and that is written with a fraction (306.0)."""
    response = response_for(document, operation, status)
    found: dict[str, tuple[float, list[Destination]]] = {}
    for pointer, destination in _carried_integers(document, response):
        try:
            value = spec.lookup(body, pointer)
        except LookupError:
            continue
        if isinstance(value, float) and math.isfinite(value) and value.is_integer():
            found.setdefault(pointer, (value, []))[1].append(destination)
    return [
        FractionalInteger(_field(pointer), value, tuple(destinations))
        for pointer, (value, destinations) in found.items()
    ]


def carries_integers(
    document: Mapping[str, Any], operation: Mapping[str, Any], status: int
) -> bool:
    """OPERATION's response for STATUS has a link of the spec that carries a value of its body
    into an integer parameter."""
    return (
        next(_carried_integers(document, response_for(document, operation, status)), None)
        is not None
    )


def _carried_integers(
    document: Mapping[str, Any], response: Mapping[str, Any] | None
) -> Iterator[tuple[str, Destination]]:
    """(JSON pointer into the body, the integer parameter it goes to) of each parameter that a
    link of RESPONSE sets from the response body."""
    links = response.get("links") if response is not None else None
    for link in links.values() if isinstance(links, Mapping) else ():
        link = _resolved(document, link)
        if not isinstance(link, Mapping) or _INFERRED in link:
            continue
        target = _target(document, link)
        parameters = link.get("parameters")
        if target is None or not isinstance(parameters, Mapping):
            continue
        operation_id, declared = target
        for key, expression in parameters.items():
            if not isinstance(expression, str) or not expression.startswith(_BODY):
                continue
            location, _, name = str(key).rpartition(".")
            for parameter in declared:
                if parameter.get("name") != name or location not in ("", parameter.get("in")):
                    continue
                if is_integer(document, parameter.get("schema")):
                    pointer = expression.removeprefix(_BODY)
                    yield pointer, Destination(operation_id, str(parameter.get("in")), name)


def _target(
    document: Mapping[str, Any], link: Mapping[str, Any]
) -> tuple[str, list[Mapping[str, Any]]] | None:
    """The operationId of LINK's target (its path and method when it has none) and its
    parameters; None when the link names no operation of DOCUMENT (lint's finding)."""
    operation_id, reference = link.get("operationId"), link.get("operationRef")
    reference = unquote(reference).removeprefix("#") if isinstance(reference, str) else None
    for path, method, operation in spec.operations(document):
        if (operation_id is not None and operation_id == operation.get("operationId")) or (
            reference == spec.join("/paths", path, method)
        ):
            item = document["paths"][path]
            # The operation's parameters override its path's of the same name and place.
            declared = {
                (parameter.get("name"), parameter.get("in")): parameter
                for node in [*item.get("parameters", []), *operation.get("parameters", [])]
                if isinstance(parameter := _resolved(document, node), Mapping)
            }
            name = operation.get("operationId") or f"{method.upper()} {path}"
            return str(name), list(declared.values())
    return None


def is_integer(document: Mapping[str, Any], schema: Any) -> bool:
    """SCHEMA takes integers and no other text: '306.0' is none of its values."""
    schema = _resolved(document, schema)
    if not isinstance(schema, Mapping):
        return False
    kinds = schema.get("type")
    kinds = set(kinds) if isinstance(kinds, list) else {kinds}
    return "integer" in kinds and not kinds & {"number", "string"}


def _resolved(document: Mapping[str, Any], node: Any) -> Any:
    try:
        return spec.follow(document, node)[1]
    except spec.Unresolvable:
        return None


def _field(pointer: str) -> str:
    steps: list[str | int] = [
        int(token) if token.isdigit() else token.replace("~1", "/").replace("~0", "~")
        for token in pointer.split("/")[1:]
    ]
    return spec.field_path(steps) or "(the body)"


def _listed(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + f" and {names[-1]}"
