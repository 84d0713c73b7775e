"""The spec compiled for serving: per operation, its route, typed parameters, and compiled
validators for its request body and every response, built once at start-up."""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import quote

import jsonschema_rs

from spec import METHODS, Document, follow, join, operations, server_path

#: The base URI under which the document is registered, for $refs into it.
_BASE = "urn:capkit:spec"
#: Where the documents give no code, invalid input is Capillary's generic 400.
INVALID_INPUT = 400


@dataclasses.dataclass(frozen=True)
class Parameter:
    name: str
    location: str  # path, query or header
    required: bool
    #: The JSON type a raw string is read as: string, integer, number, boolean or array.
    kind: str
    #: For arrays, the JSON type of an item.
    item_kind: str
    #: Arrays travel comma-separated (style form, explode false).
    comma_separated: bool
    default: Any
    validator: jsonschema_rs.Validator
    #: The code Capillary documents for an invalid value of this parameter (x-error-code).
    error_code: int


@dataclasses.dataclass(frozen=True)
class Operation:
    id: str
    method: str
    #: The path as the spec writes it, relative to the server: /customers/{customerId}.
    path: str
    parameters: tuple[Parameter, ...]
    body: jsonschema_rs.Validator | None
    body_required: bool
    #: The code Capillary documents for an invalid body field (its x-error-code), by the
    #: field's path in the body, "*" standing for any item of an array.
    body_codes: dict[tuple[str, ...], int]
    #: The fields an object of the body takes (its schema's properties), by its path there.
    body_fields: dict[tuple[str, ...], tuple[str, ...]]
    responses: dict[int, jsonschema_rs.Validator]
    #: status -> example name -> example body.
    examples: dict[int, dict[str, Any]]
    #: status -> the headers its response declares, each with its documented example's value:
    #: what a documented example served on demand (Prefer) carries.
    example_headers: dict[int, tuple[tuple[str, str], ...]]
    #: Error code -> the message the documents give it for this operation.
    messages: dict[int, str]
    #: A list endpoint: its errors carry a zeroed pagination too.
    paged: bool

    def body_code(self, path: Iterable[str | int]) -> int:
        """The code for an invalid value at PATH in the body: the x-error-code of the
        innermost field that holds it, or Capillary's generic INVALID_INPUT."""
        field: tuple[str, ...] = ()
        code = self.body_codes.get(field, INVALID_INPUT)
        for step in path:
            field += ("*" if isinstance(step, int) else step,)
            code = self.body_codes.get(field, code)
        return code

    def fields_at(self, path: Iterable[str | int]) -> tuple[str, ...]:
        """The fields the object at PATH in the body takes, as its schema names them."""
        return self.body_fields.get(tuple("*" if isinstance(s, int) else s for s in path), ())

    def message(self, code: int) -> str:
        return self.messages.get(code) or self.messages[INVALID_INPUT]

    def envelope(self, items: list[tuple[int, str]]) -> dict[str, Any]:
        """Capillary's error envelope of (code, message) ITEMS; a list endpoint's carries a
        zeroed pagination too."""
        body: dict[str, Any] = {}
        if self.paged:
            body["pagination"] = {"limit": 0, "offset": 0, "total": 0}
        body.update(envelope(items))
        return body


def envelope(items: list[tuple[int, str]]) -> dict[str, Any]:
    """Capillary's error envelope of (code, message) ITEMS, outside any operation."""
    return {
        "warnings": [],
        "errors": [{"status": False, "code": code, "message": message} for code, message in items],
    }


@dataclasses.dataclass(frozen=True)
class Contract:
    #: The server's path: /v2.
    base_path: str
    operations: tuple[Operation, ...]


class SpecUnfit(ValueError):
    """The document lacks what the mock needs to serve it; each of PROBLEMS says where (a
    JSON pointer), which field, and what was expected, as `capkit lint` does."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def spec_ref(pointer: str) -> dict[str, str]:
    """A $ref to the schema at POINTER in the spec, for a schema_validator's schema."""
    return {"$ref": f"{_BASE}#{quote(pointer, safe='/~')}"}


def schema_validator(document: Document, schema: dict[str, Any]) -> jsonschema_rs.Validator:
    """SCHEMA compiled, its spec_refs into DOCUMENT resolved, formats checked."""
    registry = jsonschema_rs.Registry([(_BASE, document)])
    return jsonschema_rs.validator_for(schema, registry=registry, validate_formats=True)


def compile_contract(document: Document, *, authenticating: bool = True) -> Contract:
    """The operations of DOCUMENT, each with validators compiled against the whole document.

    Raises SpecUnfit for what the mock needs beyond OpenAPI and DOCUMENT lacks: a server
    URL, and for each operation an operationId and the error responses the mock answers
    with (400 with Capillary's generic code among its examples; 401 when AUTHENTICATING;
    415 for an operation with a body), each example valid against its schema, and schemas
    that admit the mock's own errors (a list endpoint's with a zeroed pagination). The
    bundled spec states these in its info.description, "What the mock needs".
    """
    problems = list(_unfit(document, authenticating=authenticating))
    if problems:
        raise SpecUnfit(problems)
    compiler = _Compiler(
        document, jsonschema_rs.Registry([(_BASE, document)]), authenticating=authenticating
    )
    compiled = []
    for path, method, _ in operations(document):
        try:
            compiled.append(compiler.operation(path, method, document["paths"][path]))
        except (LookupError, TypeError, ValueError) as error:
            # What lint does not ask of a document and the mock cannot compile.
            reason = str(error).partition("\n")[0]
            compiler.problems.append(
                _problem(
                    join("/paths", path, method),
                    method,
                    f"an operation the mock can compile: {reason}",
                )
            )
    if compiler.problems:
        raise SpecUnfit(compiler.problems)
    return Contract(
        base_path=server_path(document),
        operations=tuple(compiled),
    )


def _unfit(document: Document, *, authenticating: bool) -> Iterator[str]:
    """What the mock needs of DOCUMENT's shape and DOCUMENT lacks, one problem at a time."""
    servers = document.get("servers")
    if not (servers and isinstance(servers[0], dict) and isinstance(servers[0].get("url"), str)):
        yield _problem(
            "/servers", "servers", "a server whose URL's path is the mock's (https://{host}/v2)"
        )
    paths = document.get("paths")
    if not isinstance(paths, dict) or not paths:
        yield _problem("/paths", "paths", "the operations to serve")
        return
    for path, item in paths.items():
        for method in METHODS:
            node = item.get(method) if isinstance(item, dict) else None
            if not isinstance(node, dict):
                continue
            at = join("/paths", path, method)
            if not isinstance(node.get("operationId"), str):
                yield _problem(at, "operationId", "the name of its handler in mockserver/views.py")
            answered = _answered(node, authenticating=authenticating)
            responses = node.get("responses")
            responses = responses if isinstance(responses, dict) else {}
            for status in sorted(set(map(str, answered)) | set(responses)):
                yield from _error_response(
                    document, f"{at}/responses", status, responses.get(status), answered
                )


def _answered(operation: dict[str, Any], *, authenticating: bool) -> dict[int, str]:
    """The statuses the mock answers OPERATION's errors with itself, and what with."""
    answered = {INVALID_INPUT: "invalid input"}
    if authenticating:
        answered[401] = "requests without valid credentials (--no-auth answers them)"
    if "requestBody" in operation:
        answered[415] = "a body that is not JSON"
    return answered


def _error_response(
    document: Document, at: str, status: str, response: Any, answered: dict[int, str]
) -> Iterator[str]:
    """The problems of one of an operation's responses the mock answers errors with."""
    if not status.isdigit() or int(status) < 400:
        return
    why = answered.get(int(status))
    if response is None:
        yield _problem(at, status, f"a {status} response: the mock answers {why} with it")
        return
    try:
        at, response = follow(document, response, join(at, status))
    except LookupError as error:
        yield _problem(f"{at}/{status}", "$ref", f"a reference to a place in it: {error}")
        return
    media = (response.get("content") or {}).get("application/json")
    if not isinstance(media, dict) or "schema" not in media:
        if why is not None:
            yield _problem(
                at, "content", f"an application/json schema: the mock answers {why} with it"
            )
        return
    at += "/content/application~1json/examples"
    codes = []
    for name, example in (media.get("examples") or {}).items():
        try:
            example = follow(document, example)[1]
        except LookupError as error:
            yield _problem(join(at, name), "$ref", f"a reference to a place in it: {error}")
            continue
        if not isinstance(example, dict) or "value" not in example:
            continue  # an externalValue: not the mock's to fetch
        found = _codes(example["value"])
        if found is None:
            yield _problem(
                join(at, name, "value"),
                "errors",
                'Capillary\'s envelope, {"errors": [{"code": N, "message": "..."}, ...]}',
            )
        codes += found or []
    if status == str(INVALID_INPUT) and INVALID_INPUT not in codes:
        yield _problem(
            at,
            "examples",
            f"an example with code {INVALID_INPUT} (err{INVALID_INPUT}): its message is the one"
            " the mock answers invalid input with",
        )


def _codes(envelope: Any) -> list[int] | None:
    """The codes of ENVELOPE's errors; None when it is not Capillary's error envelope."""
    errors = envelope.get("errors") if isinstance(envelope, dict) else None
    if not isinstance(errors, list) or not all(
        isinstance(error, dict)
        and isinstance(error.get("code"), int)
        and isinstance(error.get("message"), str)
        for error in errors
    ):
        return None
    return [error["code"] for error in errors]


def _problem(pointer: str, field: str, expected: str) -> str:
    return f"#{pointer}: {field}: expected {expected}"


class _Compiler:
    def __init__(
        self, document: Document, registry: jsonschema_rs.Registry, *, authenticating: bool
    ) -> None:
        self.document = document
        self.registry = registry
        self.authenticating = authenticating
        #: What it found the mock cannot serve.
        self.problems: list[str] = []

    def operation(self, path: str, method: str, item: dict[str, Any]) -> Operation:
        node = item[method]
        pointer = join("/paths", path, method)
        parameters: dict[tuple[str, str], Parameter] = {}
        for where, declared in (
            ("", item.get("parameters", [])),
            (method, node.get("parameters", [])),
        ):
            for index, parameter in enumerate(declared):
                at = join("/paths", path, *([where] if where else []), "parameters", index)
                compiled = self.parameter(at, parameter)
                parameters[(compiled.location, compiled.name)] = compiled
        body, body_required = None, False
        body_codes: dict[tuple[str, ...], int] = {}
        body_fields: dict[tuple[str, ...], tuple[str, ...]] = {}
        if "requestBody" in node:
            at, request_body = self.resolve(f"{pointer}/requestBody", node["requestBody"])
            body = self.validator(f"{at}/content/application~1json/schema")
            body_required = bool(request_body.get("required"))
            self.fields(
                request_body["content"]["application/json"]["schema"], body_codes, body_fields
            )
        responses: dict[int, jsonschema_rs.Validator] = {}
        examples: dict[int, dict[str, Any]] = {}
        example_headers: dict[int, tuple[tuple[str, str], ...]] = {}
        for status, response in node["responses"].items():
            at, resolved = self.resolve(join(pointer, "responses", status), response)
            media = resolved.get("content", {}).get("application/json")
            if media is None or not status.isdigit():  # the mock answers no "default"
                continue
            validator = self.validator(f"{at}/content/application~1json/schema")
            responses[int(status)] = validator
            example_headers[int(status)] = tuple(
                (name, documented)
                for name, header in resolved.get("headers", {}).items()
                # OpenAPI: a Content-Type among a response's headers is ignored.
                if name.lower() != "content-type"
                and (documented := _header_example(self.resolve("", header)[1])) is not None
            )
            examples[int(status)] = {}
            for name, example in media.get("examples", {}).items():
                where, value = self.resolve(
                    join(at, "content", "application/json", "examples", name), example
                )
                if "value" not in value:
                    continue  # an externalValue: not the mock's to fetch
                examples[int(status)][name] = value["value"]
                # Served by Prefer as it is: an example its schema refuses would be a 500.
                for error in validator.iter_errors(value["value"]):
                    inside = join("", *error.instance_path)
                    self.problems.append(
                        _problem(
                            f"{where}/value{inside}",
                            "value",
                            f"a value its response's schema accepts: {error.message}",
                        )
                    )
        messages: dict[int, str] = {}
        errors = [
            example
            for status, named in examples.items()
            if status >= 400
            for example in named.values()
        ]
        for example in errors:
            for error in example["errors"]:
                messages.setdefault(error["code"], _documented(error["message"]))
        operation = Operation(
            id=node["operationId"],
            method=method.upper(),
            path=path,
            parameters=tuple(parameters.values()),
            body=body,
            body_required=body_required,
            body_codes=body_codes,
            body_fields=body_fields,
            responses=responses,
            examples=examples,
            example_headers=example_headers,
            messages=messages,
            paged=any("pagination" in example for example in errors),
        )
        for status, why in _answered(node, authenticating=self.authenticating).items():
            # What the mock answers is validated as it leaves: one the spec refuses is a 500.
            answer = operation.envelope([(status, operation.message(status))])
            refused = next(responses[status].iter_errors(answer), None)
            if refused is not None:
                paged = ", with a zeroed pagination" if operation.paged else ""
                self.problems.append(
                    _problem(
                        join(pointer, "responses", status),
                        "schema",
                        f"a schema that admits what the mock answers {why} with"
                        f" (Capillary's envelope{paged}): {refused.message}",
                    )
                )
        return operation

    def parameter(self, pointer: str, node: dict[str, Any]) -> Parameter:
        at, parameter = self.resolve(pointer, node)
        schema = self.schema(parameter["schema"])
        item_schema = self.schema(schema.get("items", {}))
        return Parameter(
            name=parameter["name"],
            location=parameter["in"],
            required=bool(parameter.get("required")),
            kind=_kind(schema),
            item_kind=_kind(item_schema),
            comma_separated=parameter.get("explode") is False,
            default=schema.get("default"),
            validator=self.validator(f"{at}/schema"),
            error_code=parameter.get("x-error-code", INVALID_INPUT),
        )

    def fields(
        self,
        node: Any,
        codes: dict[tuple[str, ...], int],
        names: dict[tuple[str, ...], tuple[str, ...]],
        field: tuple[str, ...] = (),
        refs: frozenset[str] = frozenset(),
    ) -> None:
        """Add to CODES the x-error-code of the schema NODE at FIELD, and to NAMES the fields
        it takes; then those of every field within it."""
        ref = node.get("$ref") if isinstance(node, dict) else None
        if ref in refs:  # a recursive schema: its fields are already listed
            return
        schema = self.schema(node)
        if not isinstance(schema, dict):  # true or false: no fields
            return
        within = refs | {ref} if ref else refs
        if "x-error-code" in schema:
            codes.setdefault(field, schema["x-error-code"])
        properties = schema.get("properties", {})
        if properties:
            names[field] = tuple(dict.fromkeys([*names.get(field, ()), *properties]))
        for name, child in properties.items():
            self.fields(child, codes, names, (*field, name), within)
        if isinstance(schema.get("items"), dict):
            self.fields(schema["items"], codes, names, (*field, "*"), within)
        for keyword in ("allOf", "anyOf", "oneOf"):
            for member in schema.get(keyword, []):
                self.fields(member, codes, names, field, within)

    def validator(self, pointer: str) -> jsonschema_rs.Validator:
        return jsonschema_rs.validator_for(
            {"$ref": f"{_BASE}#{quote(pointer, safe='/~')}"},
            registry=self.registry,
            validate_formats=True,
        )

    def resolve(self, pointer: str, node: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        return follow(self.document, node, pointer)

    def schema(self, node: dict[str, Any]) -> dict[str, Any]:
        return self.resolve("", node)[1]


def _header_example(header: dict[str, Any]) -> str | None:
    """The value a response's HEADER is documented with (its example, its first named
    example, or its schema's example, default or first value), as a header's text; None
    where it gives none."""
    named = [e.get("value") for e in (header.get("examples") or {}).values() if isinstance(e, dict)]
    schema: dict[str, Any] = header["schema"] if isinstance(header.get("schema"), dict) else {}
    for value in (
        header.get("example"),
        *named,
        schema.get("example"),
        *(schema.get("examples") or [])[:1],
        schema.get("default"),
        *(schema.get("enum") or [])[:1],
    ):
        if value is None:
            continue
        if isinstance(value, bool):
            return "true" if value else "false"
        return value if isinstance(value, str) else json.dumps(value)
    return None


def _kind(schema: dict[str, Any]) -> str:
    kind = schema.get("type", "string")
    return kind if isinstance(kind, str) else "string"


def _documented(message: str) -> str:
    """The documented message, without the generic example's illustration of a field."""
    return re.sub(r":\s.*$", "", message) if message.startswith("Input is invalid") else message
