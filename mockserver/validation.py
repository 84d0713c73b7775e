"""Reading a request against its operation: typed inputs, or every problem, each naming
the field and what was expected."""

from __future__ import annotations

import dataclasses
import difflib
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import partial
from typing import Any

import jsonschema_rs
import msgspec
from jsonschema_rs import ValidationErrorKind as Kind

from mockserver.contract import INVALID_INPUT, Operation, Parameter
from spec import field_path

_INTEGER = re.compile(r"[+-]?[0-9]+")  # matched whole: `$` also matches before a final newline
_INT64 = (-(2**63), 2**63 - 1)
_FORMAT_EXAMPLES = {
    "date": "a date, YYYY-MM-DD",
    "date-time": "a date-time, e.g. 2016-06-23T19:11:18+08:00",
}
_TYPE_NAMES = {
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "array": "a list",
    "object": "an object",
    "null": "null",
}
#: More problems than this in one request are summarised: nobody reads the 200th.
_MOST_PROBLEMS = 20
#: What a body nested deeper than the mock reads or validates is told.
NESTED_TOO_DEEP = "body is nested deeper than any request of this API"


def whole_numbers_as_integers(value: Any) -> Any:
    """VALUE, decoded JSON or YAML, with each whole number written with a fraction or an
    exponent (`1.0`, `1e3`) made an int, in place: JSON Schema's integer, which the spec's
    schemas take, is then an int where the mock keeps it (a customer id 1.0 was stored, and
    failed to read back) and answers it (`1`, as Capillary's server reads `1.0` for an int).
    A loop, not a recursion: the value may be nested as deep as its decoder allows."""
    if isinstance(value, float):
        return int(value) if value.is_integer() else value
    nodes = [value] if isinstance(value, (dict, list)) else []
    while nodes:
        node = nodes.pop()
        items = node.items() if isinstance(node, dict) else enumerate(node)
        for key, item in items:
            if isinstance(item, float) and item.is_integer():
                node[key] = int(item)
            elif isinstance(item, (dict, list)):
                nodes.append(item)
    return value


@dataclasses.dataclass(frozen=True)
class Problem:
    """One thing wrong with a request: the code to answer, what to say, and the field's
    name for a documented message that names it ({x})."""

    code: int
    detail: str
    subject: str | None = None


class InvalidRequest(Exception):
    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(p.detail for p in problems))
        self.problems = problems


@dataclasses.dataclass(frozen=True)
class Inputs:
    """A request's values, typed as the spec declares them, defaults filled in (its header
    parameters are validated, and none is kept: no handler reads one)."""

    path: dict[str, Any]
    query: dict[str, Any]
    body: Any = None


def read_inputs(
    operation: Operation,
    *,
    path: Mapping[str, str],
    query: Mapping[str, list[str]],
    environ: Mapping[str, Any],
    body: Any,
    lenient: bool,
) -> Inputs:
    """OPERATION's inputs from the raw request; raise InvalidRequest with every problem.

    ENVIRON is the request's WSGI environ, where its headers are. BODY is the parsed JSON
    body or None.
    """
    problems: list[Problem] = []
    values: dict[str, dict[str, Any]] = {"path": {}, "query": {}, "header": {}}
    for parameter in operation.parameters:
        raw = _raw(parameter, path, query, environ)
        subject = f"{_LOCATIONS[parameter.location]} '{parameter.name}'"
        problem = partial(Problem, parameter.error_code, subject=parameter.name)
        if not raw:
            if parameter.required:
                problems.append(problem(f"{subject} is required"))
            elif parameter.default is not None:
                values[parameter.location][parameter.name] = parameter.default
            continue
        try:
            value = _typed(parameter, raw)
        except ValueError as error:
            problems.append(problem(f"{subject} {error}, got {_shown(raw[0])}"))
            continue
        found = [
            problem(describe(error, subject)) for error in parameter.validator.iter_errors(value)
        ]
        problems += found
        if not found:
            values[parameter.location][parameter.name] = value
    if not lenient:
        problems += _unknown_query_parameters(operation, query)
    if operation.body is not None:
        if body is None:
            if operation.body_required:
                problems.append(Problem(INVALID_INPUT, "body is required: a JSON document"))
        else:
            problems += _body_problems(operation, operation.body, body)
    if problems:
        if len(problems) > _MOST_PROBLEMS:
            more = len(problems) - _MOST_PROBLEMS
            problems = problems[:_MOST_PROBLEMS] + [
                Problem(INVALID_INPUT, f"and {more} more problems")
            ]
        raise InvalidRequest(problems)
    return Inputs(path=values["path"], query=values["query"], body=body)


_LOCATIONS = {"path": "path parameter", "query": "query parameter", "header": "header"}
#: What jsonschema-rs raises, as a ValueError, for a value nested deeper than it validates.
_TOO_DEEP_TO_VALIDATE = "Recursion limit reached"


class TooDeepToValidate(ValueError):
    """A value nested deeper than jsonschema-rs validates."""


def schema_errors(
    validator: jsonschema_rs.Validator, value: Any
) -> list[jsonschema_rs.ValidationError]:
    """Every way VALUE breaks VALIDATOR's schema. Raises TooDeepToValidate."""
    try:
        return list(validator.iter_errors(value))
    except ValueError as error:
        if str(error) != _TOO_DEEP_TO_VALIDATE:
            raise
        raise TooDeepToValidate(str(error)) from None


def _body_problems(
    operation: Operation, validator: jsonschema_rs.Validator, body: Any
) -> list[Problem]:
    try:
        errors = schema_errors(validator, body)
    except TooDeepToValidate:
        return [Problem(INVALID_INPUT, NESTED_TOO_DEEP)]
    return [
        Problem(
            operation.body_code(error.instance_path),
            describe(error, _body_subject(error.instance_path), operation.fields_at),
        )
        for error in errors
    ]


def _raw(
    parameter: Parameter,
    path: Mapping[str, str],
    query: Mapping[str, list[str]],
    environ: Mapping[str, Any],
) -> list[str]:
    if parameter.location == "path":
        return [path[parameter.name]] if parameter.name in path else []
    if parameter.location == "query":
        return query.get(parameter.name, [])
    header = environ.get("HTTP_" + parameter.name.upper().replace("-", "_"))
    return [header] if header is not None else []


def _typed(parameter: Parameter, raw: list[str]) -> Any:
    """The raw strings of PARAMETER as the JSON value its schema describes."""
    if parameter.kind == "array":
        texts = raw[0].split(",") if parameter.comma_separated and len(raw) == 1 else raw
        return [_scalar(parameter.item_kind, text) for text in texts]
    if len(raw) > 1:
        raise ValueError(f"is given {len(raw)} times; expected once")
    return _scalar(parameter.kind, raw[0])


def _scalar(kind: str, text: str) -> Any:
    if kind == "integer":
        if not _INTEGER.fullmatch(text):
            raise ValueError("must be an integer")
        # JSON Schema has no bound, but validators (and the store) hold 64 bits; int() refuses
        # more than 4,300 digits with a message of its own.
        digits = text.lstrip("+-").lstrip("0") or "0"
        number = int(text[0] + digits if text[0] == "-" else digits) if len(digits) <= 19 else None
        if number is None or not _INT64[0] <= number <= _INT64[1]:
            raise ValueError(f"must be an integer from {_INT64[0]} to {_INT64[1]}")
        return number
    if kind == "number":
        try:
            return float(text)
        except ValueError:
            raise ValueError("must be a number") from None
    if kind == "boolean":
        if text.lower() not in ("true", "false"):
            raise ValueError("must be true or false")
        return text.lower() == "true"
    return text


def _unknown_query_parameters(
    operation: Operation, query: Mapping[str, list[str]]
) -> list[Problem]:
    declared = [p.name for p in operation.parameters if p.location == "query"]
    problems: list[Problem] = []
    for name in (name for name in query if name not in declared):
        # A suggestion costs a search: those past the problems shown are only counted.
        suggestion = len(problems) < _MOST_PROBLEMS and (
            next((d for d in declared if d.lower() == name.lower()), None)
            or next(iter(difflib.get_close_matches(name, declared, n=1, cutoff=0.6)), None)
        )
        hint = f"; did you mean '{suggestion}'?" if suggestion else ""
        problems.append(
            Problem(
                INVALID_INPUT,
                f"query parameter '{name}' is not a parameter of {operation.id}"
                f" (it takes {', '.join(declared) or 'none'}){hint}",
            )
        )
    return problems


def _body_subject(path: Iterable[str | int]) -> str:
    field = field_path(path)
    return f"body field '{field}'" if field else "body"


def describe(
    error: jsonschema_rs.ValidationError,
    subject: str,
    fields_at: Callable[[Sequence[str | int]], Sequence[str]] = lambda path: (),
) -> str:
    """What ERROR says about SUBJECT, as a person would: "must be one of ..., got 'x'".

    FIELDS_AT names the fields that the object at a path in the value takes.
    """
    got = f", got {_shown(error.instance)}"
    match error.kind:
        case Kind.Required(property=name):
            field = f"{subject[:-1]}.{name}'" if subject.endswith("'") else f"body field '{name}'"
            return f"{field} is required"
        case Kind.Enum(options=options):
            return f"{subject} must be one of {', '.join(map(str, options))}{got}"
        case Kind.Type(types=types):
            return f"{subject} must be {' or '.join(_TYPE_NAMES.get(t, t) for t in types)}{got}"
        case (
            Kind.AdditionalProperties(unexpected=unexpected)
            | Kind.UnevaluatedProperties(unexpected=unexpected)
        ):
            allowed = fields_at(list(error.instance_path))
            return "; ".join(_unexpected(subject, name, allowed) for name in unexpected)
        case Kind.Minimum(limit=limit):
            return f"{subject} must be at least {limit}{got}"
        case Kind.ExclusiveMinimum(limit=limit):
            return f"{subject} must be greater than {limit}{got}"
        case Kind.Maximum(limit=limit):
            return f"{subject} must be at most {limit}{got}"
        case Kind.ExclusiveMaximum(limit=limit):
            return f"{subject} must be less than {limit}{got}"
        case Kind.MinProperties(limit=1) if fields := fields_at(list(error.instance_path)):
            return f"{subject} must have {' or '.join(map(repr, fields))}"
        case Kind.MinLength(limit=1) | Kind.MinProperties(limit=1):
            return f"{subject} must not be empty"
        case Kind.MinLength(limit=limit):
            return f"{subject} must have at least {limit} characters{got}"
        case Kind.MaxLength(limit=limit):
            return f"{subject} must have at most {limit} characters{got}"
        case Kind.Pattern(pattern=pattern):
            return f"{subject} must match {pattern}{got}"
        case Kind.Format(format=name):
            return f"{subject} must be {_FORMAT_EXAMPLES.get(name, name)}{got}"
        case Kind.MinItems(limit=limit):
            return f"{subject} must have at least {limit} item{'s' if limit != 1 else ''}"
        case Kind.UniqueItems():
            return f"{subject} must not repeat an item{got}"
        case Kind.Constant(expected_value=expected):
            return f"{subject} must be {_shown(expected)}{got}"
        case Kind.AnyOf(context=branches) | Kind.OneOfNotValid(context=branches):
            firsts = [branch[0] for branch in branches if branch]
            # Each branch asks for a field: say which fields, as names.
            fields = [e.kind.property for e in firsts if isinstance(e.kind, Kind.Required)]
            if firsts and len(fields) == len(firsts):
                return f"{subject} must have {' or '.join(map(repr, fields))}"
            return " or ".join(describe(first, subject, fields_at) for first in firsts)
    return f"{subject}: {error.message}"


def _unexpected(subject: str, name: str, allowed: Sequence[str]) -> str:
    close = difflib.get_close_matches(name, allowed, n=1, cutoff=0.6)
    hint = f"; did you mean '{close[0]}'?" if close else ""
    takes = f" (it takes {', '.join(allowed)})" if allowed else ""
    return f"{subject} does not take '{name}'{takes}{hint}"


def _shown(value: Any) -> str:
    if isinstance(value, str):
        return repr(value)
    return msgspec.json.encode(value).decode()[:80]


def abridged(text: str, limit: int) -> str:
    """TEXT, or when it is longer than LIMIT characters, its two ends and how much is left out."""
    if len(text) <= limit:
        return text
    kept = limit // 2
    return f"{text[:kept]}...[{len(text) - 2 * kept:,} characters]...{text[-kept:]}"
