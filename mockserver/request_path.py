"""The path of a request to an operation: a sequence of steps, each of which answers the request
(and ends its path) or finds out what the next steps need, until the operation's handler
answers it.

A step is a function of the OperationRequest that returns a Response, or None to let the
request on. A new concern of every request (a delay, a fault, a rate limit) is a step in STEPS,
where its place in the order says what it comes before.
"""

from __future__ import annotations

import dataclasses
import re
import time
from collections.abc import Callable, Mapping
from functools import partial
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

import msgspec
from flask import Response
from werkzeug.exceptions import RequestEntityTooLarge

from mockserver import chaos
from mockserver.auth import TOKEN_HEADER, Unauthenticated, authenticate
from mockserver.body import CODINGS, BodyTooLarge, BodyUnreadable, encoded, read_body
from mockserver.chaos import PLAN, Chaos, ChaosError, Quota
from mockserver.contract import INVALID_INPUT, Operation
from mockserver.domain.errors import DomainError
from mockserver.host import host_problem
from mockserver.journal import findings
from mockserver.mock import Mock
from mockserver.prefer import header_text, preferences
from mockserver.rehearsal import FAULT_MESSAGES, SEQUENCE, too_many, unanswered
from mockserver.responses import decline, refuse, refuse_items, respond
from mockserver.validation import (
    NESTED_TOO_DEEP,
    Inputs,
    InvalidRequest,
    Problem,
    abridged,
    read_inputs,
    whole_numbers_as_integers,
)
from mockserver.views import HANDLERS, Call

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment

UNSUPPORTED_MEDIA_TYPE, UNAUTHORIZED = 415, 401
#: Where limit_rate leaves the quota of a request it counted, for show_quota.
QUOTA = "capkit.quota"
_JSON = re.compile(r"^application/([\w.+-]+\+)?json\b", re.IGNORECASE)
_TOKEN_KEY = "HTTP_" + TOKEN_HEADER.upper().replace("-", "_")
_decode_json = msgspec.json.Decoder().decode


@dataclasses.dataclass(slots=True)
class OperationRequest:
    """A request to OPERATION on its way through the steps, and what they found out about it.

    The request is read from its WSGI environ: werkzeug's MultiDict and header objects cost
    more than what this path needs of them.
    """

    mock: Mock
    operation: Operation
    environ: WSGIEnvironment
    #: The path's variables, as the route matched them.
    path: Mapping[str, str]
    #: The rehearsal in force (rehearse).
    rehearsal: Chaos | None = None
    #: The till the credentials name (authenticate_request); None without auth, or for a token.
    till: str | None = None
    #: The request's values, typed and valid (read_request).
    inputs: Inputs | None = None


Step = Callable[[OperationRequest], Response | None]


def serve(
    mock: Mock, operation: Operation, environ: WSGIEnvironment, path: Mapping[str, str]
) -> Response:
    """The answer to the request of ENVIRON to OPERATION, whose path's variables are PATH."""
    incoming = OperationRequest(mock, operation, environ, path)
    findings(environ).operation = operation.id
    return _answer(incoming)


def show_quota(response: Response, environ: WSGIEnvironment) -> Response:
    """RESPONSE with the quota of a request the rate limit counted (limit_rate) in its
    headers, whatever answered it: a step, the handler, or an error raised on the way (a body
    over the limit's 413)."""
    quota: Quota | None = environ.get(QUOTA)
    if quota is not None:
        # In place of a documented example's (Prefer: code=429): the quota is the real one.
        for name, value in quota.headers():
            response.headers[name] = value
    return response


def _answer(incoming: OperationRequest) -> Response:
    for step in STEPS:
        answer = step(incoming)
        if answer is not None:
            return answer
    return call_handler(incoming)


# --- the steps, in their order --------------------------------------------------------------


def check_host(incoming: OperationRequest) -> Response | None:
    """A 400 for a request whose Host is no host: an HTTP server must refuse it (RFC 9112
    3.2), and Capillary's front servers do."""
    problem = host_problem(incoming.environ)
    if problem is None:
        return None
    return refuse(incoming.environ, incoming.operation, 400, [Problem(INVALID_INPUT, problem)])


def rehearse(incoming: OperationRequest) -> Response | None:
    """The wait and the fault the request meets (mockserver/chaos.py), as its `Prefer` header
    asks and the rehearsal in force has it: a 400 for a Prefer that asks what cannot be;
    Capillary's 500 or 503 for those faults. The plan goes in the environ, for capkit serve's
    server to wait, and for a fault that leaves no answer to leave none (another WSGI server
    sends the 503 this step answers instead)."""
    mock, environ, operation = incoming.mock, incoming.environ, incoming.operation
    settings = incoming.rehearsal = mock.rehearsal.in_force(mock.store)
    prefer = environ.get("HTTP_PREFER")
    if prefer is None and settings.quiet:
        return None
    try:
        asked = chaos.asked(header_text(prefer or ""))
    except ChaosError as error:
        problem = Problem(INVALID_INPUT, f"header 'Prefer': {error.message}")
        return refuse(environ, operation, 400, [problem])
    place = partial(mock.store.count, SEQUENCE, 0)
    plan = chaos.plan(settings, operation.id, asked, chaos.dice_of(settings.chaos_seed, place))
    if plan == chaos.AS_IT_COMES:
        return None
    environ[PLAN] = plan
    if plan.fault in ("500", "503"):
        status = int(plan.fault)
        return respond(
            environ, operation, status, operation.envelope([(status, FAULT_MESSAGES[status])])
        )
    if not plan.answered and plan.fault != "lost":
        return respond(environ, operation, 503, operation.envelope([(503, unanswered(plan))]))
    return None


def authenticate_request(incoming: OperationRequest) -> Response | None:
    """A 401 for credentials the mock does not take, when it asks for them; else the till."""
    settings = incoming.mock.settings
    if not settings.auth_required:
        return None
    try:
        incoming.till = authenticate(
            incoming.environ.get("HTTP_AUTHORIZATION"),
            incoming.environ.get(_TOKEN_KEY),
            pinned=settings.auth,
            pinned_token=settings.token,
        )
    except Unauthenticated as error:
        operation = incoming.operation
        message = f"{operation.message(UNAUTHORIZED)} {error}"
        response = refuse_items(
            incoming.environ, operation, UNAUTHORIZED, [(UNAUTHORIZED, message)]
        )
        response.headers["WWW-Authenticate"] = 'Basic realm="capkit mock"'
        return response
    return None


def limit_rate(incoming: OperationRequest) -> Response | None:
    """A 429 once the request's credentials are past the rate limit in force, counted in
    every worker; the quota goes in the headers of the request's answer (show_quota). An
    operation that declares no 429 is not rate limited: it is neither counted nor refused."""
    assert incoming.rehearsal is not None, "rehearse is a step before limit_rate"
    limit = incoming.rehearsal.rate_limit
    if limit is None or 429 not in incoming.operation.responses:
        return None
    quota = chaos.quota(limit, _credential(incoming), time.time(), incoming.mock.store.count)
    incoming.environ[QUOTA] = quota
    if not quota.exceeded:
        return None
    operation = incoming.operation
    return respond(
        incoming.environ, operation, 429, operation.envelope([(429, too_many(limit, quota))])
    )


def _credential(incoming: OperationRequest) -> str:
    """What the rate limit counts the request under: its till, or its OAuth token."""
    if incoming.till is not None:
        return f"till {incoming.till}"
    environ = incoming.environ
    token = environ.get(_TOKEN_KEY)
    if token:
        return f"token {token}"
    try:  # without auth, credentials are read, not checked
        return f"till {authenticate(environ.get('HTTP_AUTHORIZATION'), None)}"
    except Unauthenticated:
        return "no credentials"


def read_request(incoming: OperationRequest) -> Response | None:
    """A 400 naming every problem of the request's input, a 415 for a body that is not JSON;
    else its inputs, typed as the spec declares them. A body over the limit raises (413)."""
    operation, environ, settings = incoming.operation, incoming.environ, incoming.mock.settings
    try:
        incoming.inputs = read_inputs(
            operation,
            path=incoming.path,
            query=parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True),
            environ=environ,
            body=_body(operation, environ, settings.max_body),
            lenient=settings.lenient,
        )
    except _UnsupportedMediaType as error:
        message = f"Content-Type must be application/json, got {error.args[0] or 'none'}"
        return refuse_items(
            environ, operation, UNSUPPORTED_MEDIA_TYPE, [(UNSUPPORTED_MEDIA_TYPE, message)]
        )
    except _UnsupportedEncoding as error:
        message = (
            f"Content-Encoding must be {', '.join(CODINGS[:-1])} or {CODINGS[-1]} (or none),"
            f" got {abridged(error.args[0], 80)!r}"
        )
        response = refuse_items(
            environ, operation, UNSUPPORTED_MEDIA_TYPE, [(UNSUPPORTED_MEDIA_TYPE, message)]
        )
        # RFC 9110 12.5.3: a 415 for the body's coding says which codings are taken.
        response.headers["Accept-Encoding"] = ", ".join(CODINGS)
        return response
    except InvalidRequest as error:
        return refuse(environ, operation, 400, error.problems)
    return None


def answer_preferred(incoming: OperationRequest) -> Response | None:
    """The documented example that `Prefer: code=N, example=NAME` asks for, as Prism serves it,
    with the headers the spec declares for its response; a 400 when the operation documents
    none such."""
    wanted = preferences(header_text(incoming.environ.get("HTTP_PREFER", "")))
    code, name = wanted.get("code"), wanted.get("example")
    if code is None and name is None:
        return None
    operation = incoming.operation
    for status, examples in operation.examples.items():
        for example_name, value in examples.items():
            if (code is None or code == str(status)) and (name is None or name == example_name):
                answer = respond(incoming.environ, operation, status, value)
                if answer.status_code == status:
                    answer.headers.extend(operation.example_headers.get(status, ()))
                return answer
    documented = "; ".join(
        f"{status}: {', '.join(named)}" for status, named in operation.examples.items()
    )
    asked = " and ".join(f"{key}={wanted[key]}" for key in ("code", "example") if key in wanted)
    problem = Problem(
        INVALID_INPUT,
        f"header 'Prefer' asks for {asked}, which {operation.id} does not document"
        f" (it documents {documented})",
    )
    return refuse(incoming.environ, operation, 400, [problem])


#: What a request goes through before its handler, in order; the first step that answers
#: ends its path.
STEPS: tuple[Step, ...] = (
    check_host,
    rehearse,
    authenticate_request,
    limit_rate,
    read_request,
    answer_preferred,
)


def call_handler(incoming: OperationRequest) -> Response:
    """The handler's answer, or a 400 with the code of the domain's refusal."""
    mock, operation, inputs = incoming.mock, incoming.operation, incoming.inputs
    assert inputs is not None, "read_request is a step before the handler"
    try:
        body = HANDLERS[operation.id](Call(mock.store, mock.org, inputs, incoming.till))
    except DomainError as error:
        subject = None if error.subject is None else str(error.subject)
        problem = Problem(error.code, error.detail or "", subject)
        return decline(incoming.environ, operation, 400, [problem])
    return respond(incoming.environ, operation, 200, body)


# --- the body -------------------------------------------------------------------------------


class _UnsupportedMediaType(Exception):
    pass


class _UnsupportedEncoding(Exception):
    pass


def _body(operation: Operation, environ: WSGIEnvironment, limit: int) -> Any:
    """The request's JSON body, None when it has none; raise for a body that is not JSON or
    over LIMIT bytes."""
    if operation.body is None:
        return None
    try:
        data = read_body(environ, limit)
    except BodyTooLarge as error:
        raise RequestEntityTooLarge() from error
    except BodyUnreadable as error:
        raise InvalidRequest([Problem(INVALID_INPUT, f"body: {error}")]) from None
    if not data:
        return None
    coding = encoded(environ)
    if coding is not None:
        raise _UnsupportedEncoding(coding)
    content_type = environ.get("CONTENT_TYPE", "")
    if not _JSON.match(content_type):
        raise _UnsupportedMediaType(content_type)
    try:
        return whole_numbers_as_integers(_decode_json(data))
    except msgspec.DecodeError as error:
        detail = f"body is not valid JSON: {error}"
    except RecursionError:  # nesting as deep as Python's recursion limit
        detail = NESTED_TOO_DEEP
    raise InvalidRequest([Problem(INVALID_INPUT, detail)])
