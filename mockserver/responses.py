"""What the mock answers with: bodies the spec accepts, errors in Capillary's envelope, HTTP's own
errors (404, 405, 413) and a bug's 500 in it too, and CORS headers for browsers."""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any

import msgspec
from flask import Response, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound, RequestEntityTooLarge
from werkzeug.sansio.utils import get_content_length
from werkzeug.wsgi import get_path_info

from mockserver.auth import TOKEN_HEADER
from mockserver.contract import Operation, envelope
from mockserver.domain.records import Blob
from mockserver.journal import findings
from mockserver.storage import StoreUnavailable
from mockserver.validation import Problem, abridged

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment

log = logging.getLogger(__name__)

MOCK_BUG, UNAVAILABLE = 500, 503
#: Characters of a problem's detail shown in full: a 100,000-character value echoed back in
#: full would bury what the message says about it.
_LONGEST_DETAIL = 400
_LONGEST_PATH = 200
_encode_json = msgspec.json.Encoder().encode


def json_response(body: Any, status: int = 200) -> Response:
    """BODY as JSON, with STATUS."""
    return Response(_encode_json(body), status=status, mimetype="application/json")


def respond(environ: WSGIEnvironment, operation: Operation, status: int, body: Blob) -> Response:
    """BODY as the response to the request of ENVIRON, once the spec accepts it; a 500 naming
    the mock's bug otherwise."""
    validator = operation.responses.get(status)
    if validator is None or not validator.is_valid(body):
        problems = (
            [e.message for e in validator.iter_errors(body)]
            if validator
            else [f"status {status} is not declared"]
        )
        findings(environ).response.extend(problems)
        log.error(
            "capkit mock bug: %s %s answered %s that the spec rejects: %s",
            operation.method,
            operation.id,
            status,
            "; ".join(problems[:5]),
        )
        return json_response(
            _bug_envelope(
                f"its {status} response to {operation.id} breaks the spec:"
                f" {'; '.join(problems[:3])}"
            ),
            MOCK_BUG,
        )
    return json_response(body, status)


def refuse(
    environ: WSGIEnvironment, operation: Operation, status: int, problems: list[Problem]
) -> Response:
    """PROBLEMS, how the request of ENVIRON breaks the spec, as OPERATION's error response with
    STATUS, each in its documented words; the journal keeps them as the request's problems."""
    return refuse_items(environ, operation, status, [_item(operation, p) for p in problems])


def refuse_items(
    environ: WSGIEnvironment, operation: Operation, status: int, items: list[tuple[int, str]]
) -> Response:
    """ITEMS (code, message), what is wrong with the request of ENVIRON, as OPERATION's error
    response with STATUS; the journal keeps them as the request's problems."""
    findings(environ).request.extend(message for _, message in items)
    return respond(environ, operation, status, operation.envelope(items))


def decline(
    environ: WSGIEnvironment, operation: Operation, status: int, problems: list[Problem]
) -> Response:
    """PROBLEMS of a request the spec allows but the domain refuses (a customer that is not
    there), as OPERATION's error response with STATUS, each in its documented words."""
    items = [_item(operation, p) for p in problems]
    return respond(environ, operation, status, operation.envelope(items))


def _item(operation: Operation, problem: Problem) -> tuple[int, str]:
    """PROBLEM as an error of OPERATION: the documented message, with the X or {x} it names
    filled in, and what was wrong."""
    message = operation.message(problem.code)
    if problem.subject is not None:
        message = re.sub(r"\bX\b|\{x\}", abridged(problem.subject, _LONGEST_DETAIL), message)
    if not problem.detail:
        return problem.code, message
    return problem.code, f"{message.rstrip('.')}: {abridged(problem.detail, _LONGEST_DETAIL)}"


# --- outside the operations -----------------------------------------------------------------


def http_error(
    error: HTTPException, environ: WSGIEnvironment, *, max_body: int, base_path: str
) -> Response:
    """404, 405, 413 and the like, in Capillary's envelope, for the request of ENVIRON."""
    code = error.code or 400
    path = abridged(_path_as_sent(environ), _LONGEST_PATH)
    if isinstance(error, RequestEntityTooLarge):
        length = get_content_length(
            environ.get("CONTENT_LENGTH"), environ.get("HTTP_TRANSFER_ENCODING")
        )
        size = f" {length} bytes," if length is not None else ""
        message = f"Request body is{size} over the limit of {max_body} bytes"
    elif isinstance(error, MethodNotAllowed):
        allowed = ", ".join(m for m in error.valid_methods or [] if m != "OPTIONS")
        message = f"{environ['REQUEST_METHOD']} is not allowed on {path}; it allows {allowed}"
    elif isinstance(error, NotFound):
        message = (
            f"No operation at {path}: the mock answers the spec's paths"
            f" under {base_path} (see /openapi.json)"
        )
    else:
        message = abridged(error.description or error.name, _LONGEST_DETAIL)
    findings(environ).request.append(message)
    response = json_response(envelope([(code, message)]), code)
    if isinstance(error, MethodNotAllowed):
        response.headers["Allow"] = ", ".join(error.valid_methods or [])
    return response


def names_no_operation(environ: WSGIEnvironment) -> bool:
    """Whether the path of ENVIRON is none of the spec's, however a server would read it: one
    with an empty segment (`//v2/...`, `/v2//...`), where werkzeug merges the slashes
    (serving `//v2/...` outside the journal, answering `/v2//...` with an HTML redirect) and a
    client's doubled slash would pass unseen; or one with an encoded slash
    (`/__admin%2Freset`), which the path a WSGI app is given reads as a slash, past a proxy's
    rule for `/__admin/`."""
    return "//" in environ.get("PATH_INFO", "") or "%2f" in _raw_path(environ).lower()


def refuse_paths_of_no_operation() -> None:
    """404 for a path that names_no_operation."""
    if names_no_operation(request.environ):
        raise NotFound()


def _path_as_sent(environ: WSGIEnvironment) -> str:
    """The path of ENVIRON's request as sent, %-escapes and all, where the server says
    (RAW_URI); else decoded, its slashes as sent (werkzeug's request.path merges leading
    ones)."""
    return _raw_path(environ) or get_path_info(environ)


def _raw_path(environ: WSGIEnvironment) -> str:
    """The path of the request target as sent; "" where the server does not say."""
    target: str = environ.get("RAW_URI", "")
    return target.partition("?")[0]


def unavailable(error: StoreUnavailable, operation: Operation | None = None) -> Response:
    """503 in Capillary's envelope (OPERATION's, for a request to one), while the state cannot
    be used (a database down, or busy past the time a request may wait): nothing was changed,
    and the request may be sent again."""
    item = (
        UNAVAILABLE,
        f"The mock cannot use its state now; nothing was changed, try again: {error}",
    )
    body = envelope([item]) if operation is None else operation.envelope([item])
    response = json_response(body, UNAVAILABLE)
    response.headers["Retry-After"] = "1"
    return response


def bug(error: Exception, environ: WSGIEnvironment) -> Response:
    """The 500 of an exception the mock did not expect while answering the request of ENVIRON:
    its own bug, logged."""
    path = abridged(_path_as_sent(environ), _LONGEST_PATH)
    log.exception("capkit mock bug while answering %s %s", environ["REQUEST_METHOD"], path)
    what = f"{type(error).__name__}: {error}"
    findings(environ).response.append(f"capkit mock bug: {what}")
    return json_response(_bug_envelope(what), MOCK_BUG)


def _bug_envelope(what: str) -> Blob:
    message = f"capkit mock bug, not a problem of the request: {what}. Please report it."
    return envelope([(MOCK_BUG, message)])


#: The headers the mock sends that a browser app may want and could not read otherwise (CORS
#: lets a page read a few, Content-Type and Cache-Control among them): why it was refused
#: (401's WWW-Authenticate, 405's Allow), when to retry (429's and 503's Retry-After), the
#: rate limit's quota, the journal's ETag.
_EXPOSED = ", ".join(
    [
        "WWW-Authenticate",
        "Retry-After",
        "RateLimit-Limit",
        "RateLimit-Remaining",
        "RateLimit-Reset",
        "Allow",
        "ETag",
    ]
)


def allow_any_origin(response: Response, environ: WSGIEnvironment) -> Response:
    """CORS for browser apps on any origin, preflights answered with what they ask for:
    RESPONSE to the request of ENVIRON, with them.

    The policy is fixed, so these few headers do what flask-cors would work out for every
    request; it cost about a fifth of the mock's throughput.
    """
    if "HTTP_ORIGIN" not in environ:
        return response
    headers = response.headers
    headers["Access-Control-Allow-Origin"] = "*"
    headers["Access-Control-Expose-Headers"] = _EXPOSED
    if environ["REQUEST_METHOD"] == "OPTIONS" and "HTTP_ACCESS_CONTROL_REQUEST_METHOD" in environ:
        headers["Access-Control-Allow-Methods"] = headers.get("Allow", "")
        headers["Access-Control-Allow-Headers"] = environ.get(
            "HTTP_ACCESS_CONTROL_REQUEST_HEADERS", f"Authorization, {TOKEN_HEADER}, Content-Type"
        )
        headers["Access-Control-Max-Age"] = "600"
    return response
