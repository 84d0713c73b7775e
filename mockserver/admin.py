"""The mock's own endpoints, outside the API's base path: reset, state, journal, health."""

from __future__ import annotations

from typing import TYPE_CHECKING

import msgspec
from flask import Flask, Response, request

from mockserver import journal

if TYPE_CHECKING:
    from mockserver.app import Mock


def register(app: Flask, mock: Mock) -> None:
    def reset() -> Response:
        mock.reset()
        return _json({"reset": True, "customers": len(mock.seed.customers)})

    def state() -> Response:
        with mock.store.read() as tx:
            customers = tx.customers()
        return _json({"customers": msgspec.to_builtins(customers)})

    def requests() -> Response:
        entries = mock.journal.entries()
        if request.args.get("format") == "har":
            return _json(journal.har(entries))
        return _json({"requests": [journal.summary(entry) for entry in entries]})

    def health() -> Response:
        return _json({"status": "ok", "operations": len(mock.contract.operations)})

    app.add_url_rule("/__admin/reset", "admin_reset", reset, methods=["POST"])
    app.add_url_rule("/__admin/state", "admin_state", state)
    app.add_url_rule("/__admin/requests", "admin_requests", requests)
    app.add_url_rule("/__admin/health", "admin_health", health)


def _json(body: object) -> Response:
    return Response(msgspec.json.encode(body), mimetype="application/json")
