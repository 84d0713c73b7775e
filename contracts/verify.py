"""Recorded traffic against the spec: each exchange of a HAR file, validated with openapi-core.

A HAR comes from a browser, a proxy, `capkit fuzz --har`, or the mock's journal
(`GET /__admin/requests?format=har`). Each exchange's request and response are validated against
the operation they match; an exchange that matches no operation is a violation. Traffic is
recorded on many hosts (a laptop's mock, a test cluster), so paths are matched under the spec's
server path on any host.

A valid request means what it means to the mock (the spec's `info.description`, "Requests"):
HEAD is the GET of its path without a body; a query parameter the operation does not declare is
invalid; a method the path lacks is answered 405; a body over the spec's `x-max-body-bytes` is
refused (413), and such a body, which the mock's journal does not keep, counts as sent. OPTIONS
(a browser's CORS preflight, or a client asking what a path allows) is HTTP's, not the API's,
and is skipped. Credentials are judged by their presence and scheme: a masked one
(`Basic [Filtered]`, `[Filtered]`) counts as present.

Beyond the schemas, an answer's integer that the spec's links carry into an integer parameter
is judged as `capkit fuzz` judges it (contracts.carried): written with a fraction (306.0), which
JSON Schema passes, it is a violation of the answer, which names where the links carry it.

An entry of `capkit fuzz --har` says what the fuzzer meant by its request (contracts.intent): its
response is judged whatever it was, its request only when it was sent as valid. Entries without
that mark (a browser's, a proxy's, the journal's) are judged whole.
"""

from __future__ import annotations

import base64
import binascii
import copy
import dataclasses
import json
import re
import sys
import warnings
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urljoin, urlsplit

import jsonschema_rs
from jsonschema.exceptions import ValidationError as SchemaError
from jsonschema_path import SchemaPath
from openapi_core import Config, OpenAPI
from openapi_core.casting.schemas.exceptions import CastError
from openapi_core.datatypes import RequestParameters
from openapi_core.templating.media_types.exceptions import MediaTypeNotFound
from openapi_core.templating.paths.datatypes import Path as MatchedPath
from openapi_core.templating.paths.datatypes import PathOperation
from openapi_core.templating.paths.exceptions import OperationNotFound, PathError
from openapi_core.templating.paths.finders import APICallPathFinder
from openapi_core.templating.paths.iterators import SimpleOperationsIterator
from openapi_core.templating.responses.exceptions import ResponseNotFound
from openapi_core.validation.request.exceptions import (
    MissingRequestBodyError,
    ParameterValidationError,
    SecurityValidationError,
)
from openapi_core.validation.response.exceptions import DataValidationError, HeaderValidationError
from openapi_core.validation.schemas.exceptions import InvalidSchemaValue
from openapi_spec_validator.validation.exceptions import OpenAPIValidationError
from werkzeug.datastructures import Headers, ImmutableMultiDict

import spec
from contracts.carried import (
    FractionalInteger,
    carries_integers,
    fractional_integers,
    is_integer,
)
from contracts.errors import HarUnreadable, Unusable
from spec import credentials

__all__ = ["MARK", "Checked", "Violation", "check_har", "har_text", "load_har", "verify_har"]

#: The custom field of an entry of `capkit fuzz --har` (contracts.har): what its request meant.
MARK = "_capkit"
NOT_ALLOWED = 405
#: HAR's status of an exchange that got no answer (a browser's failed request, a fault of the
#: mock's journal): only its request is judged.
NO_ANSWER = 0


@dataclasses.dataclass(frozen=True)
class Violation:
    """One way an exchange breaks the contract: which entry, which side, which field, what."""

    #: The entry's index in the HAR's log.entries.
    index: int
    method: str
    url: str
    #: "request", "response", or "exchange" when it matches no operation.
    side: str
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.side} {self.field}" if self.field else self.side
        return f"entries[{self.index}] {self.method} {self.url}: {where}: {self.message}"


@dataclasses.dataclass(frozen=True)
class Checked:
    """One exchange of a HAR as verify judged it: the operation it matched (None: none, or an
    OPTIONS, which is HTTP's own) and its violations."""

    index: int
    entry: Mapping[str, Any]
    operation_id: str | None
    violations: tuple[Violation, ...]


def load_har(path: Path) -> dict[str, Any]:
    """The HAR log at PATH ("-": standard input); raise HarUnreadable saying what is wrong."""
    try:
        text = sys.stdin.read() if str(path) == "-" else path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise HarUnreadable(f"cannot read {path}: {error}") from None
    text = text.removeprefix("\ufeff")  # the byte order mark some tools write HAR with
    try:
        har = json.loads(text)
        # JSON escapes a lone surrogate (\ud800), which is no text: no encoder takes it.
        json.dumps(har, ensure_ascii=False).encode()
    except UnicodeEncodeError as error:
        raise HarUnreadable(f"{path} holds what is no text: {error}") from None
    except ValueError as error:
        raise HarUnreadable(f"{path} is not JSON: {error}") from None
    except RecursionError:
        raise HarUnreadable(f"{path} is nested too deep to be read") from None
    log = har.get("log") if isinstance(har, dict) else None
    if not isinstance(log, dict) or not isinstance(log.get("entries"), list):
        raise HarUnreadable(
            f'{path} is not a HAR file: expected {{"log": {{"entries": [...]}}}}'
            " (the mock's journal is HAR at /__admin/requests?format=har)"
        )
    problems = _har_problems(log["entries"])
    if problems:
        shown = "; ".join(problems[:5]) + ("; ..." if len(problems) > 5 else "")
        raise HarUnreadable(f"{path} is not a HAR file verify can read: {shown}")
    return {"log": log}


def _har_problems(entries: list[Any]) -> list[str]:
    """What makes ENTRIES unreadable as exchanges: the fields verify reads, of other types
    than HAR 1.2's, and URLs that are none."""
    try:
        problems = [
            f"{spec.field_path(['entries', *error.instance_path])}: {error.message}"
            for error in _HAR_ENTRIES.iter_errors(entries)
        ]
    except ValueError:  # jsonschema-rs: nested deeper than it validates
        return ["it is nested too deep to be read"]
    if problems:
        return problems
    for index, entry in enumerate(entries):
        try:
            urlsplit(entry["request"]["url"]).port  # noqa: B018 (raises for a bad port)
        except ValueError as error:
            problems.append(f"entries[{index}].request.url: {error}")
    return problems


_PAIRS = {
    "type": "array",
    "items": {
        "type": "object",
        "required": ["name", "value"],
        "properties": {"name": {"type": "string"}, "value": {"type": "string"}},
    },
}
_TEXT = {"type": "object", "properties": {"text": {"type": "string"}}}
_HAR_ENTRIES = jsonschema_rs.validator_for(
    {
        "type": "array",
        "items": {
            "type": "object",
            "required": ["request", "response"],
            "properties": {
                "request": {
                    "type": "object",
                    "required": ["method", "url"],
                    "properties": {
                        "method": {"type": "string"},
                        "url": {"type": "string"},
                        "headers": _PAIRS,
                        "cookies": _PAIRS,
                        "postData": _TEXT,
                        "bodySize": {"type": "integer"},
                    },
                },
                "response": {
                    "type": "object",
                    "required": ["status"],
                    "properties": {
                        "status": {"type": "integer"},
                        "headers": _PAIRS,
                        "content": _TEXT,
                    },
                },
            },
        },
    }
)


def verify_har(har: Mapping[str, Any], document: spec.Document) -> list[Violation]:
    """Every violation of DOCUMENT in HAR's exchanges, in entry order; [] when they all conform.

    Raises Unusable when DOCUMENT is not a valid OpenAPI document.
    """
    return [violation for checked in check_har(har, document) for violation in checked.violations]


def check_har(har: Mapping[str, Any], document: spec.Document) -> list[Checked]:
    """Each exchange of HAR as DOCUMENT judges it, in entry order.

    Raises Unusable when DOCUMENT is not a valid OpenAPI document.
    """
    contract = _Contract(document)
    checked = []
    for index, entry in enumerate(har["log"]["entries"]):
        exchange = _Exchange(index, entry)
        violations = tuple(exchange.violations(contract))
        checked.append(Checked(index, entry, exchange.operation_id, violations))
    return checked


class _Contract:
    """The spec as verify reads it: openapi-core's validators, and what they leave to capkit."""

    def __init__(self, document: spec.Document) -> None:
        served = copy.deepcopy(document)
        # Matched by path alone (see the module's docstring): a server of the path, on any host.
        served["servers"] = [{"url": spec.server_path(document) or "/"}]
        try:
            self.api = OpenAPI.from_dict(served, config=Config(path_finder_cls=_PathFinder))
        except OpenAPIValidationError as error:
            raise Unusable(f"the spec is not a valid OpenAPI document: {error.message}") from None
        self.finder = _PathFinder(self.api.spec)
        self.document = document
        self.operations = {
            operation["operationId"]: operation
            for _, _, operation in spec.operations(document)
            if "operationId" in operation
        }
        self.max_body = document.get("x-max-body-bytes")
        declared = {
            operation["operationId"]: [
                spec.follow(document, parameter)[1]
                for parameter in document["paths"][path].get("parameters", [])
                + operation.get("parameters", [])
            ]
            for path, _, operation in spec.operations(document)
            if "operationId" in operation
        }
        self.query_parameters = {
            operation_id: [p["name"] for p in parameters if p.get("in") == "query"]
            for operation_id, parameters in declared.items()
        }
        #: The integer path parameters of each operation, by name.
        self.integer_path_parameters = {
            operation_id: {
                p["name"]
                for p in parameters
                if p.get("in") == "path" and is_integer(document, p.get("schema"))
            }
            for operation_id, parameters in declared.items()
        }
        schemes = document.get("components", {}).get("securitySchemes", {}).values()
        http = [s.get("scheme", "basic") for s in schemes if s.get("type") == "http"]
        #: What a credential masked without its scheme ([Filtered], as schemathesis masks) is.
        self.masked_authorization = f"{http[0].title() if http else 'Basic'} {credentials.MASK}"

    def methods(self, request: _Request) -> list[str]:
        """The methods the spec has at REQUEST's path."""
        found = []
        for method in spec.METHODS:
            try:
                self.finder.find(method, urljoin(request.host_url, request.path))
            except PathError:
                continue
            found.append(method.upper())
        return found

    def path_parameters(self, request: _Request) -> dict[str, str]:
        """REQUEST's path parameters as sent, percent-decoded: `%7BcustomerId%7D` is
        '{customerId}'. openapi-core passes them on encoded, and takes a path that holds its
        template literally (`/customers/{customerId}`, a client's id never filled in) for the
        template itself, with no parameter at all."""
        found = self.finder.find(request.method, urljoin(request.host_url, request.path))
        template = found.path_result.pattern.lstrip("/").split("/")
        sent = request.path.split("/")[-len(template) :]
        parameters = {}
        for part, value in zip(template, sent, strict=False):
            name = part[1:-1] if part.startswith("{") and part.endswith("}") else None
            if name is not None and "{" not in name and "}" not in name:
                parameters[name] = unquote(value)
            elif part != unquote(value) or len(sent) < len(template):
                # A template of parts that are not whole segments: as openapi-core read it.
                return {
                    name: unquote(str(value)) for name, value in found.path_result.variables.items()
                }
        return parameters

    def operation_id(self, request: _Request) -> str:
        """The operationId of REQUEST's operation; raise PathError when none matches."""
        found = self.finder.find(request.method, urljoin(request.host_url, request.path))
        return str((found.operation / "operationId").read_str())


class _MostConcretePathOperations(SimpleOperationsIterator):
    """The operation of a method at the most concrete path a URL matches, and there alone: as
    the mock routes, PUT /customers/lookup is a method lookup lacks, not updateCustomer."""

    def __call__(
        self,
        method: str,
        paths_iter: Iterator[MatchedPath],
        spec: SchemaPath,
        base_url: str | None = None,
    ) -> Iterator[PathOperation]:
        most_concrete = next(iter(paths_iter), None)
        if most_concrete is not None:
            yield from super().__call__(method, iter([most_concrete]), spec, base_url=base_url)


class _PathFinder(APICallPathFinder):
    operations_iterator = _MostConcretePathOperations()


class _Request:
    """An entry's request, as openapi-core's Request protocol reads it."""

    def __init__(self, request: Mapping[str, Any], *, masked_authorization: str) -> None:
        url = urlsplit(request.get("url", ""))
        self.host_url = f"{url.scheme}://{url.netloc}"
        self.path = url.path
        self.sent_method = str(request.get("method", "")).upper()
        # HEAD is its path's GET without a body (RFC 9110), and is judged as that GET.
        self.method = "get" if self.sent_method == "HEAD" else self.sent_method.lower()
        headers = _headers(request.get("headers", []))
        authorization = headers.get("Authorization")
        if authorization is not None and authorization.strip() == credentials.MASK:
            # Masked with its scheme: present, in the scheme the spec takes.
            headers["Authorization"] = masked_authorization
        self.query = parse_qsl(url.query, keep_blank_values=True)
        self.parameters = RequestParameters(
            query=ImmutableMultiDict(self.query),
            header=headers,
            cookie=ImmutableMultiDict(
                (cookie.get("name", ""), cookie.get("value", ""))
                for cookie in request.get("cookies", [])
            ),
        )
        post = request.get("postData")
        self.body = har_text(post).encode() if isinstance(post, Mapping) else None
        self.content_type = str(headers.get("Content-Type") or "").lower()
        size = request.get("bodySize")
        #: The body's size in bytes, from the HAR or the body itself; 0 when there was none.
        self.body_size = size if isinstance(size, int) and size > 0 else len(self.body or b"")
        #: A body was sent that the HAR does not hold (the journal keeps none over its limit).
        self.body_unrecorded = self.body is None and self.body_size > 0


class _Response:
    """An entry's response, as openapi-core's Response protocol reads it."""

    def __init__(self, response: Mapping[str, Any]) -> None:
        self.status_code = int(response.get("status", 0))
        self.headers = _headers(response.get("headers", []))
        self.content_type = str(self.headers.get("Content-Type") or "").lower()
        self.data = har_text(response.get("content", {})).encode()


class _Exchange:
    def __init__(self, index: int, entry: Mapping[str, Any]) -> None:
        self.index = index
        self.request = entry.get("request", {})
        self.response = entry.get("response", {})
        mark = entry.get(MARK)
        #: The fuzzer sent the request invalid on purpose: only its response is judged.
        self.sent_invalid = isinstance(mark, Mapping) and mark.get("sentAs") == "invalid"
        #: The operation the request matched, once violations() has run.
        self.operation_id: str | None = None

    def violations(self, contract: _Contract) -> Iterator[Violation]:
        request = _Request(self.request, masked_authorization=contract.masked_authorization)
        if request.sent_method == "OPTIONS":
            return
        response = _Response(self.response)
        try:
            operation_id = contract.operation_id(request)
        except OperationNotFound:
            allowed = ", ".join(contract.methods(request))
            if not self.sent_invalid:
                method = request.sent_method
                yield self._violation("request", "method", f"is {method}; this path has {allowed}")
            if response.status_code != NOT_ALLOWED:
                message = f"{response.status_code} to a method the path lacks; expected 405"
                yield self._violation("response", "status", message)
            return
        except PathError:
            yield self._violation("exchange", "", "matches no operation of the spec")
            return
        self.operation_id = operation_id
        if not self.sent_invalid:
            for field, message in self._request_problems(contract, request, operation_id):
                yield self._violation("request", field, message)
        if response.status_code == NO_ANSWER:
            return  # the connection failed: there is no answer to judge
        for error in contract.api.iter_response_errors(request, response):
            if request.sent_method == "HEAD" and isinstance(error, DataValidationError):
                continue  # a HEAD answer has no body
            for field, message in _describe(error, side="response"):
                yield self._violation("response", field, message)
        if request.sent_method != "HEAD":
            for found in _fractional_integers(contract, operation_id, response):
                yield self._violation("response", f"body field {found.field!r}", found.violation())

    def _request_problems(
        self, contract: _Contract, request: _Request, operation_id: str
    ) -> Iterator[tuple[str, str]]:
        with warnings.catch_warnings():
            # openapi-core warns of each deprecated parameter a request uses; the spec's
            # deprecated spellings (retroRequest's Status, Type) are still valid input.
            warnings.filterwarnings("ignore", r".* parameter is deprecated", DeprecationWarning)
            request.parameters.path = contract.path_parameters(request)
            errors = list(contract.api.iter_request_errors(request))
        for name in contract.integer_path_parameters.get(operation_id, ()):
            value = request.parameters.path.get(name)
            # openapi-core casts with int(), which takes ' 306', '３０６' and '3_06'; the mock,
            # and an integer's JSON Schema form, take ASCII digits alone.
            if value is not None and not _INTEGER.fullmatch(value) and _takes_int(value):
                yield f"path parameter {name!r}", f"must be an integer, got {value!r}"
        for error in errors:
            if isinstance(error, MissingRequestBodyError) and request.body_unrecorded:
                continue
            yield from _describe(error, side="request")
        declared = contract.query_parameters.get(operation_id, [])
        for name in dict(request.query):
            if name not in declared:
                takes = ", ".join(declared) or "none"
                yield (
                    f"query parameter {name!r}",
                    f"is not a parameter of {operation_id} (it takes {takes})",
                )
        limit = contract.max_body
        if isinstance(limit, int) and request.body_size > limit:
            yield "body", f"is {request.body_size} bytes, over the spec's limit of {limit} (413)"

    def _violation(self, side: str, field: str, message: str) -> Violation:
        return Violation(
            index=self.index,
            method=str(self.request.get("method", "?")),
            url=str(self.request.get("url", "?")),
            side=side,
            field=field,
            message=message,
        )


_INTEGER = re.compile(r"-?[0-9]+", re.ASCII)


def _takes_int(value: str) -> bool:
    """Whether int() reads VALUE (openapi-core then passes it as an integer)."""
    try:
        int(value)
    except ValueError:
        return False
    return True


def _fractional_integers(
    contract: _Contract, operation_id: str, response: _Response
) -> list[FractionalInteger]:
    """The integers of RESPONSE written with a fraction that the spec's links carry into an
    integer parameter: JSON Schema passes them, their next request cannot take them."""
    operation = contract.operations.get(operation_id, {})
    if not carries_integers(contract.document, operation, response.status_code):
        return []
    try:
        body = json.loads(response.data)
    except (ValueError, RecursionError):
        return []  # not JSON: the response's schema says so, where it has one
    return fractional_integers(contract.document, operation, response.status_code, body)


#: A schema's type, as a message says what a value must be.
_KINDS = {"integer": "an integer", "number": "a number", "boolean": "true or false"}


def _describe(error: Exception, *, side: str) -> Iterator[tuple[str, str]]:
    """(field, message) for each thing ERROR says is wrong."""
    cause = error.__cause__
    if isinstance(cause, InvalidSchemaValue):
        where = (
            f"{error.location} parameter {error.name!r}"
            if isinstance(error, ParameterValidationError)
            else "body"
        )
        yield from _schema_errors(where, cause.schema_errors)
    elif isinstance(error, ParameterValidationError) and isinstance(cause, CastError):
        # As the mock says it: what was expected, and what was sent (decoded).
        expected = _KINDS.get(str(cause.type), f"of type {cause.type}")
        yield (
            f"{error.location} parameter {error.name!r}",
            f"must be {expected}, got {cause.value!r}",
        )
    elif isinstance(error, ParameterValidationError):
        yield f"{error.location} parameter {error.name!r}", str(cause or error)
    elif isinstance(error, MissingRequestBodyError):
        yield "body", str(error)
    elif isinstance(error, SecurityValidationError):
        yield "credentials", f"none of the spec's security schemes is satisfied ({cause or error})"
    elif isinstance(error, ResponseNotFound) or isinstance(cause, ResponseNotFound):
        missing = error if isinstance(error, ResponseNotFound) else cause
        assert isinstance(missing, ResponseNotFound)
        documented = ", ".join(map(str, missing.availableresponses)) or "none"
        yield "status", f"is {missing.http_status}, not one the operation documents: {documented}"
    elif isinstance(error, MediaTypeNotFound) or isinstance(cause, MediaTypeNotFound):
        yield "Content-Type", str(cause or error)
    elif isinstance(error, HeaderValidationError):
        yield f"header {error.name!r}", str(cause or error)
    else:
        yield "", str(error) + (f": {cause}" if cause else "")


def _schema_errors(where: str, errors: Iterable[Exception]) -> Iterator[tuple[str, str]]:
    for error in errors:
        if not isinstance(error, SchemaError):
            yield where, str(error)
            continue
        path = list(error.absolute_path)
        if error.validator == "required" and isinstance(error.instance, Mapping):
            required = error.validator_value if isinstance(error.validator_value, list) else []
            missing = [name for name in required if name not in error.instance]
            path.extend(missing[:1])
        field = spec.field_path(path)
        yield (f"{where} field {field!r}" if field else where), error.message


def _headers(pairs: Iterable[Mapping[str, Any]]) -> Headers:
    return Headers([(str(pair.get("name", "")), str(pair.get("value", ""))) for pair in pairs])


def har_text(content: Mapping[str, Any]) -> str:
    """A HAR content or postData's text, decoded when the HAR stores it as base64."""
    text = str(content.get("text", ""))
    if content.get("encoding") == "base64":
        try:
            return base64.b64decode(text).decode("utf-8", errors="replace")
        except (binascii.Error, ValueError):
            return text
    return text
