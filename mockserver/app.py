"""Building the mock as a Flask app: the spec compiled, the store opened and seeded, the admin API,
the console, the spec's operations in front of them (mockserver/operations.py), the journal around
it all. How a request to an operation is answered is mockserver/request_path.py's; what it is
answered with, mockserver/responses.py's."""

from __future__ import annotations

import atexit
import dataclasses
import tempfile
from pathlib import Path
from typing import Any

from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, MapAdapter

import spec
from mockserver import admin, console, oauth
from mockserver.chaos import ChaosError
from mockserver.contract import Contract, compile_contract
from mockserver.domain import seed
from mockserver.journal import Recording
from mockserver.mock import Mock
from mockserver.operations import Operations
from mockserver.rehearsal import Rehearsal
from mockserver.request_log import log_exchange
from mockserver.responses import (
    allow_any_origin,
    bug,
    http_error,
    json_response,
    refuse_paths_of_no_operation,
    unavailable,
)
from mockserver.seeding import Seeding
from mockserver.settings import Settings, SettingsError, flag
from mockserver.storage import StateUnusable, Store, StoreUnavailable
from mockserver.storage.backends import open_state
from mockserver.views import HANDLERS


class MissingHandler(LookupError):
    """The spec has an operation that mockserver/views.py does not handle."""


def create_app(settings: Settings | None = None, *, prepared: bool = False) -> Flask:
    """The mock; with PREPARED, of a state that another process opened and seeded already (a
    worker's parent), which is not touched while the app is built. Raises SpecUnfit for a spec
    it cannot serve, MissingHandler naming the operations no view handles, SettingsError for a
    state it cannot be kept in (or reach) or a --latency of no operation, SeedRefused for a
    seed file it cannot load."""
    settings = settings or Settings.load()
    document = spec.load(settings.spec)
    contract = compile_contract(document, authenticating=settings.auth_required)
    missing = [op.id for op in contract.operations if op.id not in HANDLERS]
    if missing:
        raise MissingHandler(
            f"the spec's operation(s) {', '.join(missing)} have no handler in mockserver/views.py"
        )
    documented = seed.load()
    seeding = Seeding(document, documented.org)
    start = seeding.start(settings.seed, documented.customers if settings.documented_seed else ())
    try:
        state = open_state(
            settings.state or str(_temporary("state.db")),
            journal=settings.journal or _temporary("journal"),
            db_pool=settings.db_pool,
            prepared=prepared,
        )
    except StateUnusable as error:
        raise SettingsError("state", f"{flag('state')} {error}") from None
    seeded = dataclasses.replace(documented, customers=tuple(start))
    if not prepared:
        try:
            _seed_if_empty(state.store, seeded)
        except StoreUnavailable as error:
            raise SettingsError("state", f"{flag('state')} cannot be used now: {error}") from None
    mock = Mock(
        settings=settings,
        document=document,
        contract=contract,
        store=state.store,
        org=documented.org,
        seed=seeded,
        journal=state.journal,
        where=state.where,
        close=state.close,
        seeding=seeding,
        rehearsal=_rehearsal(settings, contract),
    )

    app = Flask("mockserver", static_folder=None)
    app.url_map = _HttpMap()
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body
    app.extensions["capkit"] = mock
    app.add_url_rule("/openapi.json", "openapi", lambda: json_response(document))
    # First: a path of no operation is not an admin endpoint's either (no 401 for a token).
    app.before_request(refuse_paths_of_no_operation)
    admin.register(app, mock)
    oauth.register(app, mock)
    console.register(app, mock)

    @app.after_request
    def cors(response: Response) -> Response:
        return allow_any_origin(response, request.environ)

    @app.errorhandler(HTTPException)
    def refused(error: HTTPException) -> Response:
        return http_error(
            error, request.environ, max_body=settings.max_body, base_path=contract.base_path
        )

    @app.errorhandler(Exception)
    def mock_bug(error: Exception) -> Response:
        return bug(error, request.environ)

    app.register_error_handler(StoreUnavailable, unavailable)
    app.wsgi_app = Recording(  # type: ignore[method-assign]
        Operations(mock, contract, app.wsgi_app, max_body=settings.max_body),
        mock.journal,
        prefix=contract.base_path + "/",
        max_body=settings.max_body,
        then=log_exchange,
    )
    return app


class _HttpMap(Map):
    """werkzeug's Map, matching a request that asks to be upgraded to WebSocket as the HTTP
    request it also is: the mock speaks no WebSocket, and a server may ignore Upgrade (RFC
    9110 7.8), where werkzeug matched it to no route (a bare 400). (Operations binds its
    routes for HTTP alone.)"""

    def bind_to_environ(self, environ: Any, *args: Any, **kwargs: Any) -> MapAdapter:
        adapter = super().bind_to_environ(environ, *args, **kwargs)
        adapter.url_scheme = environ["wsgi.url_scheme"]
        adapter.websocket = False
        return adapter


def _rehearsal(settings: Settings, contract: Contract) -> Rehearsal:
    """The rehearsal the flags ask for. Raises SettingsError naming the flag, as for a
    --latency of an operation the spec does not have."""
    operations = [operation.id for operation in contract.operations]
    try:
        return Rehearsal(settings.chaos(), operations)
    except ChaosError as error:
        raise SettingsError("latency", f"{flag('latency')}: {error.message}") from None


def _seed_if_empty(store: Store, documented: seed.Seed) -> None:
    # In one write transaction: workers starting together seed once.
    with store.write() as tx:
        if not tx.customers():
            tx.save_all(documented.customers)


def _temporary(name: str) -> Path:
    """NAME in a fresh temporary directory, removed when the process exits."""
    directory = tempfile.TemporaryDirectory(prefix="capkit-")
    atexit.register(directory.cleanup)
    return Path(directory.name) / name
