"""The spec's operations as a WSGI app of their own: werkzeug's routing of the spec's paths to
mockserver/request_path.py, in front of the Flask app that answers everything else (the admin
API, the console, OAuth, /openapi.json, and the paths of no operation outside the base path).

Flask's handling of a request (a request context pushed and popped, its hooks, signals and
session) cost a request to an operation 145-178 us of CPU, of the 700-1,000 it took in all,
measured in batches of the bench's write mix that alternated between the two ways in one
process. This app does for the operations what Flask did for them, no more: a 404 or 405 for
a path or method of none, OPTIONS answered with the methods allowed, the errors of the steps
in Capillary's envelope, and the CORS and quota headers on every answer.
"""

from __future__ import annotations

import re
from functools import partial
from typing import TYPE_CHECKING, Any

from flask import Response
from werkzeug.exceptions import HTTPException, NotFound
from werkzeug.routing import BaseConverter, Map, Rule
from werkzeug.wsgi import get_path_info

from mockserver import request_path
from mockserver.contract import Contract, Operation
from mockserver.mock import Mock
from mockserver.responses import allow_any_origin, bug, http_error, names_no_operation, unavailable
from mockserver.storage import StoreUnavailable

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment


class Operations:
    """A WSGI app that answers the requests to CONTRACT's base path as its operations, of MOCK,
    and passes any other to OTHERS; a body over MAX_BODY bytes is refused."""

    def __init__(
        self, mock: Mock, contract: Contract, others: WSGIApplication, *, max_body: int
    ) -> None:
        self._mock = mock
        self._others = others
        self._prefix = contract.base_path + "/"
        self._operations = {operation.id: operation for operation in contract.operations}
        paths = [operation.path for operation in contract.operations]
        self.routes = Map(
            [
                Rule(
                    contract.base_path + _rule(operation.path, paths),
                    endpoint=operation.id,
                    methods=[operation.method, "OPTIONS"],
                )
                for operation in contract.operations
            ],
            converters={"segment": _Segment},
            # names_no_operation refuses a path with an empty segment, which werkzeug would
            # otherwise answer with a redirect to the path without it
            merge_slashes=False,
        )
        # Bound once: the routes match paths alone, whatever the request's host or scheme.
        self._adapter = self.routes.bind("localhost")
        self._http_error = partial(http_error, max_body=max_body, base_path=contract.base_path)

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Any:
        if not environ.get("PATH_INFO", "").startswith(self._prefix):
            return self._others(environ, start_response)
        response = request_path.show_quota(self._answer(environ), environ)
        return allow_any_origin(response, environ)(environ, start_response)

    def _answer(self, environ: WSGIEnvironment) -> Response:
        operation: Operation | None = None
        method = environ["REQUEST_METHOD"]
        path = get_path_info(environ)  # the UTF-8 sent, as werkzeug's routing takes it
        try:
            if names_no_operation(environ):
                raise NotFound()
            rule, variables = self._adapter.match(path, method, return_rule=True)
            if method == "OPTIONS":
                options = Response()
                options.allow.update(self._adapter.allowed_methods(path))
                return options
            operation = self._operations[rule.endpoint]
            return request_path.serve(self._mock, operation, environ, variables)
        except HTTPException as error:
            return self._http_error(error, environ)
        except StoreUnavailable as error:
            return unavailable(error, operation)
        except Exception as error:
            return bug(error, environ)


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
