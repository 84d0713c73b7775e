"""The mock's own endpoints, outside the API's base path: reset, state, journal, health."""

from __future__ import annotations

from typing import TYPE_CHECKING

import msgspec
from flask import Flask, Response, request
from werkzeug.exceptions import BadRequest

from capkit import __version__
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
        wanted = request.args.get("format", "json")
        if wanted not in _FORMATS:
            raise BadRequest(
                f"query parameter 'format' must be json (the default) or har, got {wanted!r}"
            )
        entries = mock.journal.entries()
        if wanted == "har":
            return _json(journal.har(entries))
        return _json({"requests": [journal.summary(entry) for entry in entries]})

    def exchange(entry_id: str) -> Response:
        entry = mock.journal.entry(entry_id)
        if entry is None:
            message = f"The journal holds no exchange {entry_id!r}: cleared, or too old"
            error = {"status": False, "code": NOT_FOUND, "message": message}
            return _json({"warnings": [], "errors": [error]}, NOT_FOUND)
        return _json(journal.har_entry(entry))

    def forget_requests() -> Response:
        mock.journal.clear()
        return _json({"cleared": True})

    def health() -> Response:
        return _json(
            {"status": "ok", "operations": len(mock.contract.operations), "version": __version__}
        )

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


def _json(body: object, status: int = 200) -> Response:
    return Response(msgspec.json.encode(body), status=status, mimetype="application/json")
