"""Linting an OpenAPI 3.1 document: the document itself, its $refs, its links, every example."""

from __future__ import annotations

import dataclasses
import difflib
import re
from collections.abc import Iterable, Iterator
from typing import Any, NamedTuple
from urllib.parse import quote, unquote

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError
from openapi_spec_validator import OpenAPIV31SpecValidator
from openapi_spec_validator.validation import keywords
from referencing import Registry
from referencing.exceptions import Unresolvable
from referencing.jsonschema import DRAFT202012

import spec
from spec import Document, join

__all__ = ["Problem", "lint_document"]

# The document is registered under this URI so that examples can be validated with
# {"$ref": _BASE + "#/pointer/to/their/schema"}, every $ref inside resolving against it.
_BASE = "https://capkit.invalid/openapi.json"
_SUBSCHEMA = (
    "items",
    "additionalProperties",
    "not",
    "if",
    "then",
    "else",
    "contains",
    "propertyNames",
    "unevaluatedItems",
    "unevaluatedProperties",
    "contentSchema",
)
_SUBSCHEMA_LISTS = ("allOf", "anyOf", "oneOf", "prefixItems")
_SUBSCHEMA_MAPS = ("properties", "patternProperties", "$defs", "dependentSchemas")
_FORMATS = Draft202012Validator.FORMAT_CHECKER
_META_SCHEMA = Draft202012Validator(Draft202012Validator.META_SCHEMA, format_checker=_FORMATS)


@dataclasses.dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong in a document: where (a JSON pointer), which field, and what."""

    pointer: str
    field: str
    message: str

    def __str__(self) -> str:
        return f"#{self.pointer}: {self.field}: {self.message}"


def lint_document(document: Document) -> list[Problem]:
    """Every problem in an OpenAPI 3.1 DOCUMENT, sorted by pointer; [] when it is clean.

    Checks the document against OpenAPI 3.1, every $ref, every link, every schema against
    JSON Schema 2020-12, and every example (and schema `default`) against its schema.
    Raises nothing on a malformed document: what is malformed is a problem it reports.
    """
    places = _Places(document)
    _walk(places)
    problems = {*_spec_problems(document), *_link_problems(places)}
    # jsonschema assumes sound schemas (`type: intgr` raises), so examples wait until they are.
    unsound = {*_ref_problems(document), *_schema_problems(places)}
    if not unsound:
        problems.update(_example_problems(places))
    return sorted(problems | unsound)


# --- The walk: where the examples, schemas, links and operations are ---------------------


class _Example(NamedTuple):
    pointer: str  # where the value physically lives
    value: Any
    schema: str  # pointer of the schema it must match


@dataclasses.dataclass
class _Places:
    """What lint checks, collected by one walk over the document."""

    document: Document
    schemas: list[tuple[str, Any]] = dataclasses.field(default_factory=list)
    examples: list[_Example] = dataclasses.field(default_factory=list)
    links: list[tuple[str, dict[str, Any]]] = dataclasses.field(default_factory=list)
    # operationId -> the (in, name) of every parameter it takes, path-level ones included
    operations: dict[str, set[tuple[str, str]]] = dataclasses.field(default_factory=dict)
    seen: set[str] = dataclasses.field(default_factory=set)

    def enter(self, pointer: str, node: Any) -> tuple[str, dict[str, Any]] | None:
        """Where NODE lives once its $refs are followed; None if walked already or dangling."""
        located = _follow(self.document, pointer, node)
        if located is None or located[0] in self.seen or not isinstance(located[1], dict):
            return None
        self.seen.add(located[0])
        return located


def _walk(places: _Places) -> None:
    document = places.document
    for name, item in _mapping(document.get("paths")).items():
        _path_item(places, join("/paths", name), item)
    for name, item in _mapping(document.get("webhooks")).items():
        _path_item(places, join("/webhooks", name), item)
    # Components are walked where they are defined, used or not; `enter` walks each once.
    components = _mapping(document.get("components"))
    for name, node in _mapping(components.get("schemas")).items():
        _schema(places, join("/components/schemas", name), node)
    for kind, walk in (
        ("parameters", _parameter),
        ("headers", _parameter),
        ("requestBodies", _request_body),
        ("responses", _response),
        ("links", _link),
        ("pathItems", _path_item),
    ):
        for name, node in _mapping(components.get(kind)).items():
            walk(places, join("/components", kind, name), node)


def _path_item(places: _Places, pointer: str, node: Any) -> None:
    if (located := places.enter(pointer, node)) is None:
        return
    pointer, item = located
    shared = [(join(pointer, "parameters", i), p) for i, p in enumerate(_list(item, "parameters"))]
    for parameter_pointer, parameter in shared:
        _parameter(places, parameter_pointer, parameter)
    for method in spec.METHODS:
        if isinstance(item.get(method), dict):
            _operation(places, join(pointer, method), item[method], shared)


def _operation(
    places: _Places, pointer: str, operation: dict[str, Any], shared: list[tuple[str, Any]]
) -> None:
    own = [
        (join(pointer, "parameters", i), p) for i, p in enumerate(_list(operation, "parameters"))
    ]
    for parameter_pointer, parameter in own:
        _parameter(places, parameter_pointer, parameter)
    if isinstance(operation.get("operationId"), str):
        parameters = (_follow(places.document, *p) for p in shared + own)
        # A duplicate operationId is the spec validator's to report; links may use either.
        places.operations.setdefault(operation["operationId"], set()).update(
            (str(p.get("in")), str(p.get("name")))
            for _, p in filter(None, parameters)
            if isinstance(p, dict)
        )
    if "requestBody" in operation:
        _request_body(places, join(pointer, "requestBody"), operation["requestBody"])
    for status, response in _mapping(operation.get("responses")).items():
        _response(places, join(pointer, "responses", status), response)
    for name, callback in _mapping(operation.get("callbacks")).items():
        if (located := places.enter(join(pointer, "callbacks", name), callback)) is not None:
            for expression, item in located[1].items():
                _path_item(places, join(located[0], expression), item)


def _parameter(places: _Places, pointer: str, node: Any) -> None:
    """A Parameter or a Header object: its examples follow its schema, or its content's."""
    if (located := places.enter(pointer, node)) is None:
        return
    pointer, parameter = located
    schema = None
    if "schema" in parameter:
        schema = join(pointer, "schema")
        _schema(places, schema, parameter["schema"])
    for media, media_type in _mapping(parameter.get("content")).items():
        _media_type(places, join(pointer, "content", media), media_type)
        if schema is None and "schema" in _mapping(media_type):
            schema = join(pointer, "content", media, "schema")
    if schema is not None:
        _examples(places, pointer, parameter, schema)


def _request_body(places: _Places, pointer: str, node: Any) -> None:
    if (located := places.enter(pointer, node)) is not None:
        for media, media_type in _mapping(located[1].get("content")).items():
            _media_type(places, join(located[0], "content", media), media_type)


def _response(places: _Places, pointer: str, node: Any) -> None:
    if (located := places.enter(pointer, node)) is None:
        return
    pointer, response = located
    for media, media_type in _mapping(response.get("content")).items():
        _media_type(places, join(pointer, "content", media), media_type)
    for name, header in _mapping(response.get("headers")).items():
        _parameter(places, join(pointer, "headers", name), header)
    for name, link in _mapping(response.get("links")).items():
        _link(places, join(pointer, "links", name), link)


def _media_type(places: _Places, pointer: str, media_type: Any) -> None:
    if "schema" in _mapping(media_type):
        schema = join(pointer, "schema")
        _schema(places, schema, media_type["schema"])
        _examples(places, pointer, media_type, schema)


def _examples(places: _Places, pointer: str, node: dict[str, Any], schema: str) -> None:
    """NODE's `example` and each of its `examples.*.value`, to be checked against SCHEMA."""
    if "example" in node:
        places.examples.append(_Example(join(pointer, "example"), node["example"], schema))
    for name, example in _mapping(node.get("examples")).items():
        located = _follow(places.document, join(pointer, "examples", name), example)
        # Dangling $refs are reported by _ref_problems; `externalValue`s are not ours to fetch.
        if located is not None and "value" in _mapping(located[1]):
            value_pointer = join(located[0], "value")
            places.examples.append(_Example(value_pointer, located[1]["value"], schema))


def _schema(places: _Places, pointer: str, node: Any, *, root: bool = True) -> None:
    """A schema, its own `example`, `examples` and `default`, and every schema inside it."""
    if pointer in places.seen:
        return
    places.seen.add(pointer)
    if root:
        places.schemas.append((pointer, node))
    if not isinstance(node, dict):
        return
    for keyword in ("example", "default"):
        if keyword in node:
            places.examples.append(_Example(join(pointer, keyword), node[keyword], pointer))
    for i, value in enumerate(_list(node, "examples")):
        places.examples.append(_Example(join(pointer, "examples", i), value, pointer))
    # A schema that a $ref reaches is checked too, wherever it lives.
    if isinstance(node.get("$ref"), str) and (target := _follow(places.document, pointer, node)):
        if isinstance(target[1], dict | bool):
            _schema(places, *target)
        else:  # the meta-schema check says "expected type object or boolean" at the $ref
            places.schemas.append((join(pointer, "$ref"), target[1]))
    for keyword in _SUBSCHEMA:
        _schema(places, join(pointer, keyword), node.get(keyword), root=False)
    for keyword in _SUBSCHEMA_LISTS:
        for i, subschema in enumerate(_list(node, keyword)):
            _schema(places, join(pointer, keyword, i), subschema, root=False)
    for keyword in _SUBSCHEMA_MAPS:
        for name, subschema in _mapping(node.get(keyword)).items():
            _schema(places, join(pointer, keyword, name), subschema, root=False)


def _link(places: _Places, pointer: str, node: Any) -> None:
    if (located := places.enter(pointer, node)) is not None:
        places.links.append(located)


# --- The checks -----------------------------------------------------------------------------


class _NoSchemaChecks(keywords.OpenAPIV31SchemaValidator):
    def __call__(self, *args: Any, **kwargs: Any) -> Iterator[ValidationError]:
        return iter(())


class _SpecValidator(OpenAPIV31SpecValidator):
    # The library's own schema checks report paths relative to a schema it does not name,
    # and raise on `type: intgr`; _schema_problems and _example_problems do them with pointers.
    keyword_validators = {**OpenAPIV31SpecValidator.keyword_validators, "schema": _NoSchemaChecks}


def _spec_problems(document: Document) -> Iterator[Problem]:
    """What openapi-spec-validator finds: the OpenAPI 3.1 schema, operationIds, path parameters."""
    errors: list[ValidationError] = []
    try:
        errors.extend(_SpecValidator(document).iter_errors())
    except Unresolvable:
        pass  # it stops at the first $ref it cannot follow; _ref_problems reports each one
    except Exception as crash:  # its own checks assume a document the OpenAPI schema accepts
        yield Problem(
            "",
            "(document)",
            f"openapi-spec-validator stopped early ({type(crash).__name__}: {_short(str(crash))});"
            " fix the other problems and lint again",
        )
    for error in errors:
        yield from _problems(_restored(error, document), "")


def _restored(error: ValidationError, document: Document) -> ValidationError:
    """ERROR with the keyword, instance and message that openapi-spec-validator 0.8 drops.

    It rebuilds each error from `str(error)` alone (openapi-core pins it below 0.9): the
    keyword is the last step of the schema path, the instance is where the path points.
    """
    if isinstance(error.validator, str):
        return error
    error.message = error.message.split("\n\n", 1)[0]
    error.validator = str(error.schema_path[-1]) if error.schema_path else ""
    error.instance = _lookup(document, join("", *error.absolute_path))
    if error.validator == "required":
        missing = re.match(r"""^['"](.+)['"] is a required property""", error.message)
        error.validator_value = [missing.group(1)] if missing else []
    return error


def _ref_problems(document: Document) -> Iterator[Problem]:
    # Every "$ref" holding a string, even inside an example's value: lint would rather ask.
    for pointer, node in _nodes(document):
        ref = node.get("$ref")
        if isinstance(ref, str) and _follow(document, pointer, node) is None:
            if ref.startswith("#") and _lookup(document, unquote(ref[1:])) is not None:
                yield Problem(
                    join(pointer, "$ref"),
                    "$ref",
                    f"expected a reference that leads to a value, got {ref!r},"
                    " from which $refs go round in a loop",
                )
                continue
            parent, _, name = unquote(ref).rpartition("/")
            siblings = _mapping(_lookup(document, parent.removeprefix("#")))
            yield Problem(
                join(pointer, "$ref"),
                "$ref",
                f"expected a reference to a place in this document, got {ref!r}"
                + _did_you_mean(name, siblings, prefix=parent + "/"),
            )


def _link_problems(places: _Places) -> Iterator[Problem]:
    for pointer, link in places.links:
        operation_id = link.get("operationId")
        if not isinstance(operation_id, str):
            continue  # an operationRef: lint checks operationIds only
        parameters = places.operations.get(operation_id)
        if parameters is None:
            yield Problem(
                join(pointer, "operationId"),
                "operationId",
                f"expected the operationId of an operation in this document, got {operation_id!r}"
                + _did_you_mean(operation_id, places.operations),
            )
            continue
        names = {name for _, name in parameters}
        for key in _mapping(link.get("parameters")):
            location, _, name = key.partition(".")  # "path.id" names the location as well
            if key not in names and (location, name) not in parameters:
                yield Problem(
                    join(pointer, "parameters", key),
                    key,
                    f"expected a parameter of operation {operation_id} "
                    f"({', '.join(sorted(names)) or 'it takes none'}), got {key!r}",
                )


def _schema_problems(places: _Places) -> Iterator[Problem]:
    for pointer, schema in places.schemas:
        for error in _META_SCHEMA.iter_errors(schema):
            yield from _problems(error, pointer)


def _example_problems(places: _Places) -> Iterator[Problem]:
    resource = DRAFT202012.create_resource(places.document)
    registry: Registry[Any] = Registry().with_resource(_BASE, resource)
    # An error names the subschema it failed; its pointer tells the reader which rule it was.
    pointers = {id(node): pointer for pointer, node in _nodes(places.document)}
    for example in places.examples:
        schema = {"$ref": f"{_BASE}#{quote(example.schema)}"}
        validator = Draft202012Validator(schema, registry=registry, format_checker=_FORMATS)
        try:
            errors = list(validator.iter_errors(example.value))
        except Unresolvable as unresolvable:
            # What _ref_problems does not follow: an anchor, a $dynamicRef, a schema's $id.
            anchor = getattr(unresolvable, "anchor", None)
            reached = f"the anchor {anchor!r}" if anchor else repr(unresolvable.ref)
            yield Problem(
                example.pointer,
                _last(example.pointer),
                f"cannot be checked against its schema #{example.schema}: it refers to"
                f" {reached}, which lint cannot find",
            )
            continue
        for error in errors:
            rule = pointers.get(id(error.schema))
            yield from _problems(error, example.pointer, rule and join(rule, error.validator))


def _problems(error: ValidationError, pointer: str, rule: str | None = None) -> Iterator[Problem]:
    """ERROR as problems, for a value that lives at POINTER, breaking the schema RULE."""
    where = join(pointer, *error.absolute_path)
    found_by = f" (rule #{rule})" if rule else ""
    rule_value: Any = error.validator_value
    if error.validator == "required" and isinstance(error.instance, dict):
        # One error per missing property, none saying which: name them all, duplicates fold.
        for name in rule_value:
            if name not in error.instance:
                yield Problem(where, str(name), f"required property {name!r} is missing{found_by}")
        return
    yield Problem(where, _last(where), _describe(error) + found_by)


def _describe(error: ValidationError) -> str:
    rule: Any = error.validator_value
    got = _short(error.instance)
    if error.validator == "type":
        return f"expected type {' or '.join(rule) if isinstance(rule, list) else rule}, got {got}"
    if error.validator == "enum":
        return f"expected one of {', '.join(map(repr, rule))}, got {got}"
    if error.validator == "const":
        return f"expected {rule!r}, got {got}"
    if error.validator == "format":
        return f"expected format {rule}, got {got}"
    return error.message.replace(repr(error.instance), got)


# --- JSON pointers and small helpers ----------------------------------------------------------


def _last(pointer: str) -> str:
    segment = pointer.rpartition("/")[2].replace("~1", "/").replace("~0", "~")
    return segment or "(document)"


def _lookup(document: Any, pointer: str) -> Any:
    """The value at POINTER in DOCUMENT, or None."""
    try:
        return spec.lookup(document, pointer)
    except LookupError:
        return None


def _follow(document: Document, pointer: str, node: Any) -> tuple[str, Any] | None:
    """Where a chain of local $refs from NODE (at POINTER) ends, or None if it leads nowhere."""
    try:
        return spec.follow(document, node, pointer)
    except spec.Unresolvable:
        return None


def _nodes(node: Any, pointer: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every object in NODE, with its pointer."""
    if isinstance(node, dict):
        yield pointer, node
        for key, value in node.items():
            yield from _nodes(value, join(pointer, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _nodes(value, join(pointer, i))


def _mapping(node: Any) -> dict[str, Any]:
    # A malformed document is reported by the spec validator; the walk just steps over it.
    return node if isinstance(node, dict) else {}


def _list(node: dict[str, Any], key: str) -> list[Any]:
    value = node.get(key)
    return value if isinstance(value, list) else []


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _did_you_mean(word: str, choices: Iterable[str], *, prefix: str = "") -> str:
    matches = difflib.get_close_matches(word, list(choices), n=1)
    return f"; did you mean {prefix + matches[0]!r}?" if matches else ""
