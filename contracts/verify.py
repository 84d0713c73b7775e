"""Recorded traffic against the spec: each exchange of a HAR file, validated with openapi-core.

A HAR comes from a browser, a proxy, `capkit fuzz --har`, or the mock's journal
(`GET /__admin/requests?format=har`). Each exchange's request and response are validated against
the operation they match; an exchange that matches no operation is a violation. Traffic is
recorded on many hosts (a laptop's mock, a test cluster), so paths are matched under the spec's
server path on any host. A browser's CORS preflights are its own, not the app's, and are skipped.
"""

from __future__ import annotations

import base64
import binascii
import copy
import dataclasses
import json
import sys
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from jsonschema.exceptions import ValidationError as SchemaError
from openapi_core import OpenAPI
from openapi_core.datatypes import RequestParameters
from openapi_core.templating.media_types.exceptions import MediaTypeNotFound
from openapi_core.templating.paths.exceptions import PathError
from openapi_core.templating.responses.exceptions import ResponseNotFound
from openapi_core.validation.request.exceptions import (
    MissingRequestBodyError,
    ParameterValidationError,
    SecurityValidationError,
)
from openapi_core.validation.response.exceptions import HeaderValidationError
from openapi_core.validation.schemas.exceptions import InvalidSchemaValue
from openapi_spec_validator.validation.exceptions import OpenAPIValidationError
from werkzeug.datastructures import Headers, ImmutableMultiDict

from capkit import spec
from contracts.documented import server_path
from contracts.errors import HarUnreadable, Unusable

__all__ = ["Violation", "load_har", "verify_har"]


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


def load_har(path: Path) -> dict[str, Any]:
    """The HAR log at PATH ("-": standard input); raise HarUnreadable saying what is wrong."""
    try:
        text = sys.stdin.read() if str(path) == "-" else path.read_text()
    except (OSError, UnicodeDecodeError) as error:
        raise HarUnreadable(f"cannot read {path}: {error}") from None
    try:
        har = json.loads(text)
    except ValueError as error:
        raise HarUnreadable(f"{path} is not JSON: {error}") from None
    log = har.get("log") if isinstance(har, dict) else None
    if not isinstance(log, dict) or not isinstance(log.get("entries"), list):
        raise HarUnreadable(
            f'{path} is not a HAR file: expected {{"log": {{"entries": [...]}}}}'
            " (the mock's journal is HAR at /__admin/requests?format=har)"
        )
    return {"log": log}


def verify_har(har: Mapping[str, Any], document: spec.Document) -> list[Violation]:
    """Every violation of DOCUMENT in HAR's exchanges, in entry order; [] when they all conform.

    Raises Unusable when DOCUMENT is not a valid OpenAPI document.
    """
    api = _openapi(document)
    violations: list[Violation] = []
    for index, entry in enumerate(har["log"]["entries"]):
        exchange = _Exchange(index, entry)
        if not exchange.is_preflight:
            violations.extend(exchange.violations(api))
    return violations


def _openapi(document: spec.Document) -> OpenAPI:
    served = copy.deepcopy(document)
    # Matched by path alone (see the module's docstring): a server of the path, on any host.
    served["servers"] = [{"url": server_path(document) or "/"}]
    try:
        return OpenAPI.from_dict(served)
    except OpenAPIValidationError as error:
        raise Unusable(f"the spec is not a valid OpenAPI document: {error.message}") from None


class _Request:
    """An entry's request, as openapi-core's Request protocol reads it."""

    def __init__(self, request: Mapping[str, Any]) -> None:
        url = urlsplit(request.get("url", ""))
        self.host_url = f"{url.scheme}://{url.netloc}"
        self.path = url.path
        self.method = str(request.get("method", "")).lower()
        headers = _headers(request.get("headers", []))
        self.parameters = RequestParameters(
            query=ImmutableMultiDict(parse_qsl(url.query, keep_blank_values=True)),
            header=headers,
            cookie=ImmutableMultiDict(
                (cookie.get("name", ""), cookie.get("value", ""))
                for cookie in request.get("cookies", [])
            ),
        )
        post = request.get("postData")
        self.body = _text(post).encode() if isinstance(post, Mapping) else None
        self.content_type = str(headers.get("Content-Type") or "").lower()


class _Response:
    """An entry's response, as openapi-core's Response protocol reads it."""

    def __init__(self, response: Mapping[str, Any]) -> None:
        self.status_code = int(response.get("status", 0))
        self.headers = _headers(response.get("headers", []))
        self.content_type = str(self.headers.get("Content-Type") or "").lower()
        self.data = _text(response.get("content", {})).encode()


class _Exchange:
    def __init__(self, index: int, entry: Mapping[str, Any]) -> None:
        self.index = index
        self.request = entry.get("request", {})
        self.response = entry.get("response", {})

    @property
    def is_preflight(self) -> bool:
        names = {header.get("name", "").lower() for header in self.request.get("headers", [])}
        return self.request.get("method") == "OPTIONS" and "access-control-request-method" in names

    def violations(self, api: OpenAPI) -> Iterator[Violation]:
        request = _Request(self.request)
        request_errors = list(api.iter_request_errors(request))
        unmatched = next((error for error in request_errors if isinstance(error, PathError)), None)
        if unmatched is not None:
            yield self._violation("exchange", "", "matches no operation of the spec")
            return
        for error in request_errors:
            for field, message in _describe(error, side="request"):
                yield self._violation("request", field, message)
        for error in api.iter_response_errors(request, _Response(self.response)):
            for field, message in _describe(error, side="response"):
                yield self._violation("response", field, message)

    def _violation(self, side: str, field: str, message: str) -> Violation:
        return Violation(
            index=self.index,
            method=str(self.request.get("method", "?")),
            url=str(self.request.get("url", "?")),
            side=side,
            field=field,
            message=message,
        )


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
    elif isinstance(error, ParameterValidationError):
        yield f"{error.location} parameter {error.name!r}", str(cause or error)
    elif isinstance(error, MissingRequestBodyError):
        yield "body", str(error)
    elif isinstance(error, SecurityValidationError):
        yield "credentials", f"none of the spec's security schemes is satisfied ({cause or error})"
    elif isinstance(error, ResponseNotFound) or isinstance(cause, ResponseNotFound):
        yield "status", "is not one the operation documents"
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
        field = _field(path)
        yield (f"{where} field {field!r}" if field else where), error.message


def _field(path: list[Any]) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _headers(pairs: Iterable[Mapping[str, Any]]) -> Headers:
    return Headers([(str(pair.get("name", "")), str(pair.get("value", ""))) for pair in pairs])


def _text(content: Mapping[str, Any]) -> str:
    """A HAR content or postData's text, decoded when the HAR stores it as base64."""
    text = str(content.get("text", ""))
    if content.get("encoding") == "base64":
        try:
            return base64.b64decode(text).decode("utf-8", errors="replace")
        except (binascii.Error, ValueError):
            return text
    return text
