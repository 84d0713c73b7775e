"""The mock's own endpoints, outside the API's base path: reset, state, journal, health."""

from __future__ import annotations

import msgspec
from flask import Flask, Response, request
from werkzeug.exceptions import BadRequest

from mockserver import journal
from mockserver.mock import Mock
from mockserver.responses import json_response
from spec import CAPKIT_VERSION


def register(app: Flask, mock: Mock) -> None:
    """Add the admin endpoints of MOCK to APP."""

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

    def exchange(entry_id: str) -> Response:
        entry = mock.journal.entry(entry_id)
        if entry is None:
            message = f"The journal holds no exchange {entry_id!r}: cleared, or too old"
            error = {"status": False, "code": NOT_FOUND, "message": message}
            return json_response({"warnings": [], "errors": [error]}, NOT_FOUND)
        return json_response(journal.har_entry(entry))

    def forget_requests() -> Response:
        mock.journal.clear()
        return json_response({"cleared": True})

    def health() -> Response:
        operations = len(mock.contract.operations)
        return json_response({"status": "ok", "operations": operations, "version": CAPKIT_VERSION})

    app.add_url_rule("/__admin/reset", "admin_reset", reset, methods=["POST"])
    app.add_url_rule("/__admin/state", "admin_state", state)
    app.add_url_rule("/__admin/requests", "admin_requests", requests)
    app.add_url_rule("/__admin/requests/<entry_id>", "admin_exchange", exchange)
    app.add_url_rule(
        "/__admin/requests", "admin_forget_requests", forget_requests, methods=["DELETE"]
    )
    app.add_url_rule("/__admin/health", "admin_health", health)


#: The journal's renderings: a list of summaries, or HAR 1.2 (what `capkit verify` reads).
_FORMATS = ("json", "har")
NOT_FOUND = 404
