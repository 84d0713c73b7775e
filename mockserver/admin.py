"""The mock's own endpoints, outside the API's base path: reset, state, journal, health."""

from __future__ import annotations

import hmac
from collections.abc import Callable

import msgspec
from flask import Flask, Response, request
from werkzeug.exceptions import BadRequest

from mockserver import journal
from mockserver.mock import Mock
from mockserver.responses import json_response
from mockserver.storage import StoreUnavailable
from spec import CAPKIT_VERSION


def register(app: Flask, mock: Mock) -> None:
    """Add the admin endpoints of MOCK to APP; those that change something ask for the
    --admin-token, when the mock has one."""

    def changes(view: Callable[[], Response]) -> Callable[[], Response]:
        token = mock.settings.admin_token
        if token is None:
            return view

        def guarded() -> Response:
            sent = request.headers.get("Authorization", "")
            if not hmac.compare_digest(sent.encode(), f"Bearer {token}".encode()):
                return _refused(request.method, request.path)
            return view()

        return guarded

    def reset() -> Response:
        mock.reset()
        return json_response({"reset": True, "customers": len(mock.seed.customers)})

    def state() -> Response:
        with mock.store.read() as tx:
            customers = tx.customers()
        return json_response({"customers": msgspec.to_builtins(customers)})

    def requests() -> Response:
        wanted = request.args.get("format", "json")
        if wanted not in _FORMATS:
            raise BadRequest(
                f"query parameter 'format' must be json (the default) or har, got {wanted!r}"
            )
        entries = mock.journal.entries()
        if wanted == "har":
            return json_response(journal.har(entries))
        return json_response({"requests": [journal.summary(entry) for entry in entries]})

    def forget_requests() -> Response:
        mock.journal.clear()
        return json_response({"cleared": True})

    def health() -> Response:
        body = {"operations": len(mock.contract.operations), "version": CAPKIT_VERSION}
        try:
            with mock.store.read() as tx:
                tx.customer(0)
        except StoreUnavailable as error:
            return json_response({"status": "unavailable", "store": str(error), **body}, 503)
        return json_response({"status": "ok", "store": "ok", **body})

    app.add_url_rule("/__admin/reset", "admin_reset", changes(reset), methods=["POST"])
    app.add_url_rule("/__admin/state", "admin_state", state)
    app.add_url_rule("/__admin/requests", "admin_requests", requests)
    app.add_url_rule(
        "/__admin/requests", "admin_forget_requests", changes(forget_requests), methods=["DELETE"]
    )
    app.add_url_rule("/__admin/health", "admin_health", health)


def _refused(method: str, path: str) -> Response:
    """401 in Capillary's envelope, for a change asked without the --admin-token."""
    message = (
        f"{method} {path} changes the mock, which was started with --admin-token: send"
        " 'Authorization: Bearer TOKEN' with that token"
    )
    response = json_response(
        {"warnings": [], "errors": [{"status": False, "code": 401, "message": message}]}, 401
    )
    response.headers["WWW-Authenticate"] = 'Bearer realm="capkit admin"'
    return response


#: The journal's renderings: a list of summaries, or HAR 1.2 (what `capkit verify` reads).
_FORMATS = ("json", "har")
