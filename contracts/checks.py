"""The Capillary checks: what the v2 contract says that schemathesis' own checks cannot know.

Each is a small function with one invariant, registered with schemathesis' check mechanism, so
every phase of a run (examples, coverage, fuzzing, stateful) applies it to every response, next
to schemathesis' checks. A failure says what was expected and what the target did. Importing
this module registers them: `contracts.fuzz` does, and so does schemathesis' own CLI in the
checkout (`st run`, through the hooks of `schemathesis.toml`).

A check returns True when its invariant does not apply to the response (schemathesis then does
not count it as passed), None when it held, and raises AssertionError when it did not.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import schemathesis
from schemathesis import Case, CheckContext, Response, auths
from schemathesis.core.errors import InvalidTransition
from schemathesis.core.result import Ok
from schemathesis.core.transforms import UNRESOLVABLE
from schemathesis.generation.stateful.state_machine import StepOutput
from schemathesis.specs.openapi.stateful.links import OpenApiLink

from contracts.carried import carries_integers, fractional_integers
from contracts.documented import error_codes
from contracts.intent import intent_of

__all__ = [
    "carried_integer_literal",
    "created_resource_readable",
    "documented_error_code",
    "error_envelope",
    "valid_input_not_called_invalid",
    "warnings_on_success",
]

#: Capillary's code for invalid input ("Input is invalid. Please check request parameters..."),
#: as the spec's conventions give it; every business error has a code of its own.
INVALID_INPUT = 400
ENVELOPE = '{"errors": [{"status": false, "code": <int>, "message": <str>}, ...], ...}'
_EXCERPT = 160


@schemathesis.check
def error_envelope(ctx: CheckContext, response: Response, case: Case[Any]) -> bool | None:
    """Every error answer (4xx, 5xx) is Capillary's envelope: a non-empty list of errors."""
    if response.status_code < 400:
        return True
    problem = _envelope_problem(response)
    if problem is not None:
        raise _failure(f"an error body {ENVELOPE}", f"{response.status_code} with {problem}")
    return None


@schemathesis.check
def documented_error_code(ctx: CheckContext, response: Response, case: Case[Any]) -> bool | None:
    """Every error code in an answer is one its operation documents for that status."""
    if response.status_code < 400 or not _asks_the_operation(case):
        return True
    documented = error_codes(
        case.operation.schema.raw_schema, case.operation.definition.raw, response.status_code
    )
    # An undocumented status is status_code_conformance's finding; no list means nothing to judge.
    if not documented:
        return True
    for code, message in _errors(response):
        if code not in documented:
            raise _failure(
                f"a code that {case.operation.label} documents for {response.status_code}: "
                + ", ".join(map(str, sorted(documented))),
                f"code {code} ({message!r})",
            )
    return None


@schemathesis.check
def warnings_on_success(ctx: CheckContext, response: Response, case: Case[Any]) -> bool | None:
    """Every successful answer (2xx) carries `warnings`, where Capillary says what else it did."""
    if not 200 <= response.status_code < 300 or not _asks_the_operation(case):
        return True
    body, problem = _json_object(response)
    if problem is None and not isinstance(body.get("warnings"), list):
        problem = (
            f"`warnings` is {_shown(body['warnings'])}"
            if "warnings" in body
            else "an object without `warnings`, keys: " + (", ".join(body) or "none")
        )
    if problem is not None:
        raise _failure(
            'a JSON object with "warnings": [...]', f"{response.status_code} with {problem}"
        )
    return None


@schemathesis.check
def created_resource_readable(
    ctx: CheckContext, response: Response, case: Case[Any]
) -> bool | None:
    """What a POST created (2xx) reads back at once through the spec's link to its item's GET.

    Capillary answers an unknown customer with 400 and a code (8015), where schemathesis'
    ensure_resource_availability looks for a 404; so this check sends the read itself, with
    exactly the parameters the link gives, and expects a 2xx.
    """
    if case.method.upper() != "POST" or not 200 <= response.status_code < 300:
        return True
    probes = [
        (link, probe)
        for link in _read_back_links(case, response)
        if (probe := _probe(link, case, response)) is not None
    ]
    if not probes:
        return True
    for link, probe in probes:
        answer = _send(ctx, case, probe)
        if not 200 <= answer.status_code < 300:
            raise _failure(
                f"{_request_line(probe)} (the spec's link {link.name!r} from "
                f"{case.operation.label}) to answer 2xx",
                f"{answer.status_code} with {_summary(answer)}",
            )
    return None


@schemathesis.check
def carried_integer_literal(ctx: CheckContext, response: Response, case: Case[Any]) -> bool | None:
    """An integer that the spec's links carry from this answer into another operation's integer
    parameter is written as one: 306, not 306.0 (contracts.carried).

    JSON Schema counts 306.0 as an integer, so response_schema_conformance passes it; carried
    into the next request it goes as '306.0', which no integer parameter takes.
    """
    raw = case.operation.definition.raw
    document = case.operation.schema.raw_schema
    if not _asks_the_operation(case) or not carries_integers(document, raw, response.status_code):
        return True
    try:
        body = response.json()
    except (ValueError, UnicodeDecodeError):
        return True  # not JSON: response_schema_conformance's finding
    found = fractional_integers(document, raw, response.status_code, body)
    if found:
        first = found[0]
        raise _failure(
            f"`{first.field}` written as an integer, {first.whole}: {first.carried}",
            f"{response.status_code} with `{first.field}` {first.value!r}, which goes there as"
            f" {first.sent!r}, no integer (JSON Schema counts {first.value!r} as an integer:"
            " the response's schema passes it)",
        )
    return None


@schemathesis.check
def valid_input_not_called_invalid(
    ctx: CheckContext, response: Response, case: Case[Any]
) -> bool | None:
    """A request the spec deems valid is never answered with the code for invalid input (400).

    Capillary answers business errors with HTTP 400 too (unknown customer 8015, duplicate 8006),
    so positive_data_acceptance lets HTTP 400 through; the error code is what tells them apart.
    """
    if response.status_code < 400 or not _asks_the_operation(case):
        return True
    # Only what schemathesis generated and sent as valid is judged (contracts.intent), values a
    # link carried from an earlier answer too; not a case made by hand.
    if case.meta is None:
        return True
    if not intent_of(case, response.request.headers, authenticated=False).valid:
        return True
    for code, message in _errors(response):
        if code == INVALID_INPUT:
            raise _failure(
                "schema-valid input accepted: a 2xx, or a business error with a code of its own",
                f"{response.status_code} with code {INVALID_INPUT} ({message!r})",
            )
    return None


def _failure(expected: str, actual: str) -> AssertionError:
    return AssertionError(f"Expected: {expected}\nActual:   {actual}")


def _asks_the_operation(case: Case[Any]) -> bool:
    # schemathesis also sends the operation's path with other methods (expecting 405); the
    # operation's documentation says nothing about those answers.
    return bool(case.method.upper() == case.operation.method.upper())


def _json_object(response: Response) -> tuple[dict[str, Any], str | None]:
    """The body as a JSON object, or ({}, a description of what it is instead)."""
    try:
        body = response.json()
    except (ValueError, UnicodeDecodeError):
        media = response.headers.get("content-type", ["no Content-Type"])[0]
        return {}, f"a body that is not JSON ({media}): {_excerpt(response)}"
    if not isinstance(body, dict):
        return {}, f"a JSON {type(body).__name__}, not an object: {_excerpt(response)}"
    return body, None


def _envelope_problem(response: Response) -> str | None:
    body, problem = _json_object(response)
    if problem is not None:
        return problem
    errors = body.get("errors")
    if "errors" not in body:
        return f"no `errors`: {_excerpt(response)}"
    if not isinstance(errors, list) or not errors:
        return f"`errors` {_shown(errors)}"
    for index, error in enumerate(errors):
        item = _item_problem(error)
        if item is not None:
            return f"errors[{index}] {item}"
    return None


def _item_problem(error: Any) -> str | None:
    if not isinstance(error, dict):
        return f"is {_shown(error)}, not an object"
    if error.get("status") is not False:
        return f"has status {_shown(error.get('status'))}, not false"
    code = error.get("code")
    if not isinstance(code, int) or isinstance(code, bool):
        return f"has code {_shown(code)}, not an integer"
    if not isinstance(error.get("message"), str):
        return f"has message {_shown(error.get('message'))}, not a string"
    return None


def _errors(response: Response) -> Iterator[tuple[int, str]]:
    """(code, message) of each well-formed error in the body; error_envelope judges the rest."""
    body, problem = _json_object(response)
    errors = body.get("errors") if problem is None else None
    for error in errors if isinstance(errors, list) else []:
        if isinstance(error, dict) and _item_problem(error) is None:
            yield error["code"], error["message"]


def _read_back_links(case: Case[Any], response: Response) -> Iterator[OpenApiLink]:
    """The spec's links from this answer to a GET of the item below the POST's path."""
    documented = case.operation.responses.find_by_status_code(response.status_code)
    for name, definition in documented.iter_links() if documented is not None else ():
        try:
            link = OpenApiLink(name, documented.status_code, dict(definition), case.operation)
        except InvalidTransition:
            # A link that does not resolve is lint's finding, not the target's.
            continue
        target = link.target
        parent, _, last = target.path.rpartition("/")
        if (
            not link.is_inferred
            and target.method.upper() == "GET"
            and parent == case.operation.path.rstrip("/")
            and last.startswith("{")
            and last.endswith("}")
        ):
            yield link


def _probe(link: OpenApiLink, case: Case[Any], response: Response) -> Case[Any] | None:
    """The link's target with the link's parameters; None when a required one has no value."""
    transition = link.extract(StepOutput(response=response, case=case))
    containers: dict[str, dict[str, Any]] = {}
    for container, parameters in transition.parameters.items():
        for name, extracted in parameters.items():
            value = extracted.value.ok() if isinstance(extracted.value, Ok) else UNRESOLVABLE
            if value is not UNRESOLVABLE and value is not None:
                containers.setdefault(container, {})[name] = value
            elif extracted.is_required:
                return None
    return link.target.Case(
        path_parameters=containers.get("path_parameters"),
        query=containers.get("query"),
        headers=containers.get("headers"),
        cookies=containers.get("cookies"),
    )


def _send(ctx: CheckContext, case: Case[Any], probe: Case[Any]) -> Response:
    """Send PROBE as the run sends its requests (credentials included), recorded as CASE's child."""
    # A credential of the spec's schemes ([auth.openapi]) goes on each case as it is generated,
    # not in the transport's arguments; a case made here gets it the same way.
    context = auths.AuthContext(operation=probe.operation, app=case.operation.app)
    auths.set_on_case(probe, context, None)
    kwargs = dict(ctx.internals.transport_kwargs or {})
    if case.operation.app is not None:
        kwargs.setdefault("app", case.operation.app)
    ctx.internals.record_case(parent_id=case.id, case=probe)
    answer: Response = probe.operation.schema.transport.send(probe, **kwargs)
    ctx.internals.record_response(case_id=probe.id, response=answer)
    return answer


def _request_line(case: Case[Any]) -> str:
    query = "&".join(f"{name}={value}" for name, value in (case.query or {}).items())
    return f"{case.method} {case.formatted_path}" + (f"?{query}" if query else "")


def _summary(response: Response) -> str:
    errors = list(_errors(response))
    if errors:
        return "; ".join(f"code {code} ({message!r})" for code, message in errors)
    return _excerpt(response)


def _shown(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=repr)[:_EXCERPT]


def _excerpt(response: Response) -> str:
    text = " ".join(response.text_lossy().split())
    if not text:
        return "(empty)"
    return repr(text[:_EXCERPT] + ("..." if len(text) > _EXCERPT else ""))
