"""The mock as a Flask app: a route per operation of the spec; each request authenticated and
validated, answered by the domain, and its response validated against the spec before it
leaves. Errors are Capillary's envelope; a response the spec rejects is the mock's own bug."""

from __future__ import annotations

import atexit
import dataclasses
import logging
import re
import tempfile
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import orjson
from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound, RequestEntityTooLarge
from werkzeug.routing import BaseConverter, Map

from capkit import spec
from mockserver import admin, console
from mockserver.auth import TOKEN_HEADER, Unauthenticated, authenticate
from mockserver.body import BodyTooLarge, read_body
from mockserver.contract import INVALID_INPUT, Contract, Operation, compile_contract
from mockserver.domain import seed
from mockserver.domain.errors import DomainError
from mockserver.domain.records import Blob, Org
from mockserver.journal import Journal, Recording, findings
from mockserver.request_log import log_exchange
from mockserver.settings import Settings
from mockserver.storage import Store
from mockserver.storage.backends import open_store
from mockserver.validation import InvalidRequest, Problem, abridged, read_inputs
from mockserver.views import HANDLERS, Call

log = logging.getLogger(__name__)

UNSUPPORTED_MEDIA_TYPE, UNAUTHORIZED, TOO_LARGE, MOCK_BUG = 415, 401, 413, 500
#: Characters of a problem's detail shown in full: a 100,000-character value echoed back in
#: full would bury what the message says about it.
_LONGEST_DETAIL = 400
#: How deep orjson reads nested arrays and objects.
_DEEPEST_JSON = 1024
_JSON = re.compile(r"^application/([\w.+-]+\+)?json\b", re.IGNORECASE)


class MissingHandler(LookupError):
    """The spec has an operation that mockserver/views.py does not handle."""


@dataclasses.dataclass(frozen=True)
class Mock:
    """Everything a request of the mock is answered with."""

    settings: Settings
    document: spec.Document
    contract: Contract
    store: Store
    org: Org
    seed: seed.Seed
    journal: Journal

    def reset(self) -> None:
        """Back to the seed, with an empty journal."""
        self.store.reset(self.seed.customers)
        self.journal.clear()


def create_app(settings: Settings | None = None) -> Flask:
    """The mock. Raises SpecUnfit for a spec it cannot serve, MissingHandler naming the
    operations no view handles."""
    settings = settings or Settings.load()
    document = spec.load(settings.spec)
    contract = compile_contract(document, authenticating=settings.auth_required)
    missing = [op.id for op in contract.operations if op.id not in HANDLERS]
    if missing:
        raise MissingHandler(
            f"the spec's operation(s) {', '.join(missing)} have no handler in mockserver/views.py"
        )
    documented = seed.load()
    store = open_store(settings.state or str(_temporary("state.db")))
    _seed_if_empty(store, documented)
    mock = Mock(
        settings=settings,
        document=document,
        contract=contract,
        store=store,
        org=documented.org,
        seed=documented,
        journal=Journal(settings.journal or _temporary("journal")),
    )

    app = Flask("mockserver", static_folder=None)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body
    app.extensions["capkit"] = mock
    app.url_map.converters["segment"] = _Segment
    paths = [operation.path for operation in contract.operations]
    for operation in contract.operations:
        app.add_url_rule(
            contract.base_path + _rule(operation.path, paths),
            endpoint=operation.id,
            view_func=partial(_serve, mock, operation),
            methods=[operation.method],
        )
    app.add_url_rule("/openapi.json", "openapi", lambda: _json(200, document))
    admin.register(app, mock)
    console.register(app, mock)
    app.after_request(_allow_any_origin)
    app.register_error_handler(HTTPException, partial(_http_error, mock))
    app.register_error_handler(Exception, _bug)
    app.wsgi_app = Recording(  # type: ignore[method-assign]
        app.wsgi_app,
        mock.journal,
        prefix=contract.base_path + "/",
        max_body=settings.max_body,
        then=log_exchange,
    )
    return app


class _Segment(BaseConverter):
    """A path variable's segment, which is none of the fixed segments RESERVED beside it:
    /customers/{customerId} must not take /customers/lookup for a customer."""

    def __init__(self, url_map: Map, *reserved: str) -> None:
        super().__init__(url_map)
        self.regex = f"(?!(?:{'|'.join(map(re.escape, reserved))})$)[^/]+"


def _rule(path: str, paths: list[str]) -> str:
    """PATH of the spec as a werkzeug rule."""
    parts = path.strip("/").split("/")
    rule = []
    for depth, part in enumerate(parts):
        variable = re.fullmatch(r"\{(\w+)\}", part)
        if variable is None:
            rule.append(part)
            continue
        reserved = sorted(
            {
                other[depth]
                for other in (p.strip("/").split("/") for p in paths)
                if len(other) > depth and other[:depth] == parts[:depth] and "{" not in other[depth]
            }
        )
        converter = f"segment({', '.join(map(repr, reserved))}):" if reserved else ""
        rule.append(f"<{converter}{variable.group(1)}>")
    return "/" + "/".join(rule)


# --- a request ------------------------------------------------------------------------------


def _serve(mock: Mock, operation: Operation, **path: str) -> Response:
    # Read from the WSGI environ: werkzeug's MultiDict and header objects cost more than
    # what this path needs of them.
    environ = request.environ
    findings(environ).operation = operation.id
    till: str | None = None
    if mock.settings.auth_required:
        try:
            till = authenticate(
                environ.get("HTTP_AUTHORIZATION"),
                environ.get(_TOKEN_KEY),
                pinned=mock.settings.auth,
                pinned_token=mock.settings.token,
            )
        except Unauthenticated as error:
            message = f"{operation.message(UNAUTHORIZED)} {error}"
            response = _refuse(operation, UNAUTHORIZED, [(UNAUTHORIZED, message)])
            response.headers["WWW-Authenticate"] = 'Basic realm="capkit mock"'
            return response
    try:
        inputs = read_inputs(
            operation,
            path=path,
            query=parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True),
            environ=environ,
            body=_body(operation, mock.settings.max_body),
            lenient=mock.settings.lenient,
            schema_at=partial(_schema_at, mock.document),
        )
    except _UnsupportedMediaType as error:
        message = f"Content-Type must be application/json, got {error.args[0] or 'none'}"
        return _refuse(operation, UNSUPPORTED_MEDIA_TYPE, [(UNSUPPORTED_MEDIA_TYPE, message)])
    except InvalidRequest as error:
        return _refuse(operation, 400, [_item(operation, p) for p in error.problems])
    preferred = _preferred(operation, environ.get("HTTP_PREFER", ""))
    if preferred is not None:
        return preferred
    try:
        body = HANDLERS[operation.id](Call(mock.store, mock.org, inputs, till))
    except DomainError as error:
        subject = None if error.subject is None else str(error.subject)
        problem = Problem(error.code, error.detail or "", subject)
        return _respond(operation, 400, _envelope(operation, [_item(operation, problem)]))
    return _respond(operation, 200, body)


_TOKEN_KEY = "HTTP_" + TOKEN_HEADER.upper().replace("-", "_")


class _UnsupportedMediaType(Exception):
    pass


def _body(operation: Operation, limit: int) -> Any:
    """The request's JSON body, None when it has none; raise for a body that is not JSON or
    over LIMIT bytes."""
    if operation.body is None:
        return None
    try:
        data = read_body(request.environ, limit)
    except BodyTooLarge as error:
        raise RequestEntityTooLarge() from error
    content_type = request.headers.get("Content-Type", "")
    if not data:
        return None
    if not _JSON.match(content_type):
        raise _UnsupportedMediaType(content_type)
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as error:
        detail = (
            f"body is nested more than {_DEEPEST_JSON} levels deep; no request of this API is"
            if error.msg == "depth limit exceeded"  # orjson's words for a document too deep
            else f"body is not valid JSON: {error}"
        )
        raise InvalidRequest([Problem(INVALID_INPUT, detail)]) from None


def _preferred(operation: Operation, header: str) -> Response | None:
    """The documented example that `Prefer: code=N, example=NAME` asks for, as Prism serves it."""
    wanted = dict(part.strip().split("=", 1) for part in re.split(r"[,;]", header) if "=" in part)
    code, name = wanted.get("code"), wanted.get("example")
    if code is None and name is None:
        return None
    for status, examples in operation.examples.items():
        for example_name, value in examples.items():
            if (code is None or code == str(status)) and (name is None or name == example_name):
                return _respond(operation, status, value)
    documented = "; ".join(
        f"{status}: {', '.join(named)}" for status, named in operation.examples.items()
    )
    asked = " and ".join(
        f"{key}={value}" for key, value in wanted.items() if key in ("code", "example")
    )
    problem = Problem(
        INVALID_INPUT,
        f"header 'Prefer' asks for {asked}, which {operation.id} does not document"
        f" (it documents {documented})",
    )
    return _refuse(operation, 400, [_item(operation, problem)])


def _refuse(operation: Operation, status: int, items: list[tuple[int, str]]) -> Response:
    """The envelope of ITEMS, what is wrong with the request, which the journal records."""
    findings(request.environ).request.extend(message for _, message in items)
    return _respond(operation, status, _envelope(operation, items))


def _respond(operation: Operation, status: int, body: Blob) -> Response:
    """BODY as the response, once the spec accepts it; a 500 naming the mock's bug otherwise."""
    validator = operation.responses.get(status)
    if validator is None or not validator.is_valid(body):
        problems = (
            [e.message for e in validator.iter_errors(body)]
            if validator
            else [f"status {status} is not declared"]
        )
        findings(request.environ).response.extend(problems)
        log.error(
            "capkit mock bug: %s %s answered %s that the spec rejects: %s",
            operation.method,
            operation.id,
            status,
            "; ".join(problems[:5]),
        )
        return _json(
            MOCK_BUG,
            _bug_envelope(
                f"its {status} response to {operation.id} breaks the spec:"
                f" {'; '.join(problems[:3])}"
            ),
        )
    return _json(status, body)


def _envelope(operation: Operation, items: list[tuple[int, str]]) -> Blob:
    body: Blob = {}
    if operation.paged:
        body["pagination"] = {"limit": 0, "offset": 0, "total": 0}
    body["warnings"] = []
    body["errors"] = [
        {"status": False, "code": code, "message": message} for code, message in items
    ]
    return body


def _item(operation: Operation, problem: Problem) -> tuple[int, str]:
    """PROBLEM as an error of OPERATION: the documented message, with the X or {x} it names
    filled in, and what was wrong."""
    message = operation.message(problem.code)
    if problem.subject is not None:
        message = re.sub(r"\bX\b|\{x\}", abridged(problem.subject, _LONGEST_DETAIL), message)
    if not problem.detail:
        return problem.code, message
    return problem.code, f"{message.rstrip('.')}: {abridged(problem.detail, _LONGEST_DETAIL)}"


def _json(status: int, body: Any) -> Response:
    return Response(orjson.dumps(body), status=status, mimetype="application/json")


def _schema_at(document: spec.Document, path: list[str | int]) -> Any:
    node: Any = document
    for step in path:
        node = node[step]
    return node


# --- outside the operations -----------------------------------------------------------------


def _http_error(mock: Mock, error: HTTPException) -> Response:
    """404, 405, 413 and the like, in Capillary's envelope."""
    code = error.code or 400
    if isinstance(error, RequestEntityTooLarge):
        length = request.content_length
        size = f" {length} bytes," if length is not None else ""
        message = f"Request body is{size} over the limit of {mock.settings.max_body} bytes"
    elif isinstance(error, MethodNotAllowed):
        allowed = ", ".join(m for m in error.valid_methods or [] if m != "OPTIONS")
        message = f"{request.method} is not allowed on {request.path}; it allows {allowed}"
    elif isinstance(error, NotFound):
        message = (
            f"No operation at {request.path}: the mock answers the spec's paths"
            f" under {mock.contract.base_path} (see /openapi.json)"
        )
    else:
        message = error.description or error.name
    findings(request.environ).request.append(message)
    response = _json(
        code, {"warnings": [], "errors": [{"status": False, "code": code, "message": message}]}
    )
    if isinstance(error, MethodNotAllowed):
        response.headers["Allow"] = ", ".join(error.valid_methods or [])
    return response


def _bug(error: Exception) -> Response:
    log.exception("capkit mock bug while answering %s %s", request.method, request.path)
    what = f"{type(error).__name__}: {error}"
    findings(request.environ).response.append(f"capkit mock bug: {what}")
    return _json(MOCK_BUG, _bug_envelope(what))


def _bug_envelope(what: str) -> Blob:
    message = f"capkit mock bug, not a problem of the request: {what}. Please report it."
    return {"warnings": [], "errors": [{"status": False, "code": MOCK_BUG, "message": message}]}


def _allow_any_origin(response: Response) -> Response:
    """CORS for browser apps on any origin, preflights answered with what they ask for.

    The policy is fixed, so these few headers do what flask-cors would work out for every
    request; it cost about a fifth of the mock's throughput.
    """
    environ = request.environ
    if "HTTP_ORIGIN" not in environ:
        return response
    headers = response.headers
    headers["Access-Control-Allow-Origin"] = "*"
    headers["Access-Control-Expose-Headers"] = "WWW-Authenticate"
    if environ["REQUEST_METHOD"] == "OPTIONS" and "HTTP_ACCESS_CONTROL_REQUEST_METHOD" in environ:
        headers["Access-Control-Allow-Methods"] = headers.get("Allow", "")
        headers["Access-Control-Allow-Headers"] = environ.get(
            "HTTP_ACCESS_CONTROL_REQUEST_HEADERS", f"Authorization, {TOKEN_HEADER}, Content-Type"
        )
        headers["Access-Control-Max-Age"] = "600"
    return response


def _seed_if_empty(store: Store, documented: seed.Seed) -> None:
    # In one write transaction: workers starting together seed once.
    with store.write() as tx:
        if not tx.customers():
            for customer in documented.customers:
                tx.save(customer)


def _temporary(name: str) -> Path:
    """NAME in a fresh temporary directory, removed when the process exits."""
    directory = tempfile.TemporaryDirectory(prefix="capkit-")
    atexit.register(directory.cleanup)
    return Path(directory.name) / name
