"""A small deliberately broken implementation of six operations of the spec, for contract tests.

Apart from the bugs planted below, each marked `# PLANTED BUG`, it conforms: it validates every
request against the spec (openapi-core) before answering, rejects missing or wrong credentials
with 401, answers errors in Capillary's envelope and successes with `warnings`. So each failure
a run finds is one of the planted bugs, caught by the check that should catch it:

| operation          | planted bug                              | caught by                      |
| ------------------ | ---------------------------------------- | ------------------------------ |
| getSubscriptions   | a field of the wrong type                | response_schema_conformance    |
| getPointsTransfers | a 2xx without `warnings`                 | warnings_on_success            |
| lookupCustomer     | an error code lookup does not document   | documented_error_code          |
| getCustomer        | a 500 when asked to embed mlp            | not_a_server_error             |
| registerCustomer   | a created customer cannot be read back   | created_resource_readable      |
| getLoyaltyDetails  | answers without credentials              | ignored_auth                   |
| lookupCustomer     | calls identifierName=cardnumber invalid  | valid_input_not_called_invalid |

Where another check sees the same bug too (the spec's schemas require `warnings` and list the
codes of each error), it is in ALSO.
"""

from __future__ import annotations

import base64
import binascii
import copy
import hashlib
import itertools
from typing import Any

from flask import Flask, Response, jsonify, request
from openapi_core import OpenAPI
from openapi_core.contrib.flask import FlaskOpenAPIRequest
from openapi_core.validation.request.exceptions import SecurityValidationError
from werkzeug.exceptions import HTTPException

import spec

TILL, PASSWORD = "till", "pw"
OPERATIONS = (
    "getSubscriptions",
    "getPointsTransfers",
    "lookupCustomer",
    "getCustomer",
    "registerCustomer",
    "getLoyaltyDetails",
)
#: (operationId, the check that catches a bug planted in it)
PLANTED = (
    ("getSubscriptions", "response_schema_conformance"),
    ("getPointsTransfers", "warnings_on_success"),
    ("lookupCustomer", "documented_error_code"),
    ("getCustomer", "not_a_server_error"),
    ("registerCustomer", "created_resource_readable"),
    ("getLoyaltyDetails", "ignored_auth"),
    ("lookupCustomer", "valid_input_not_called_invalid"),
)
ALSO = (
    ("getPointsTransfers", "response_schema_conformance"),
    ("lookupCustomer", "response_schema_conformance"),
    ("getCustomer", "status_code_conformance"),
)
SEEDED = {17742: ("mobile", "919111111111")}


def create_app() -> Flask:
    """A fresh broken target: the seeded customer, nothing registered."""
    app = Flask(__name__)
    document = copy.deepcopy(spec.load())
    document["servers"] = [{"url": "/v2"}]
    openapi = OpenAPI.from_dict(document)
    customers: dict[int, tuple[str, str]] = dict(SEEDED)
    pending: list[tuple[str, str]] = []
    ids = itertools.count(316452956)

    def refused(status: int, code: int, message: str) -> tuple[Response, int]:
        return jsonify(
            {"warnings": [], "errors": [{"status": False, "code": code, "message": message}]}
        ), status

    @app.errorhandler(HTTPException)
    def envelope(error: HTTPException) -> tuple[Response, int]:
        body, status = refused(error.code or 500, error.code or 500, error.description or "")
        if error.code == 405 and error.valid_methods:
            body.headers["Allow"] = ", ".join(error.valid_methods)
        return body, status

    @app.before_request
    def guard() -> tuple[Response, int] | None:
        # Flask raises an unknown path's 404, or a wrong method's 405, after these hooks.
        if request.routing_exception is not None:
            return None
        # PLANTED BUG: getLoyaltyDetails answers without credentials.
        if request.endpoint != "loyalty_details" and not _authenticated():
            response, status = refused(401, 401, "Authentication failed.")
            response.headers["WWW-Authenticate"] = 'Basic realm="Capillary"'
            return response, status
        if request.method in ("POST", "PUT"):
            if not request.is_json:
                return refused(
                    415, 415, f"Content-Type must be application/json: {request.mimetype}"
                )
            if request.get_json(silent=True) is None:
                return refused(400, 400, "Input is invalid: the body is not JSON")
        for error in openapi.iter_request_errors(FlaskOpenAPIRequest(request)):
            if not isinstance(error, SecurityValidationError):
                return refused(400, 400, f"Input is invalid: {error}: {error.__cause__ or ''}")
        return None

    @app.post("/v2/customers")
    def register() -> Response:
        body: dict[str, Any] = request.get_json()
        identifier = body["profiles"][0]["identifiers"][0]
        # PLANTED BUG: the customer is never moved from pending to what reads look at.
        pending.append((identifier["type"], str(identifier["value"])))
        return jsonify({"createdId": next(ids), "warnings": [], "sideEffects": []})

    @app.get("/v2/customers/<customerId>")
    def customer(customerId: str) -> tuple[Response, int] | Response:
        # PLANTED BUG: embed=mlp reads program details that were never stored: a KeyError, a 500.
        if "mlp" in request.args.get("embed", "").split(","):
            raise KeyError("loyaltyProgramDetails")
        if int(customerId) not in customers:
            return refused(400, 8015, "Customer not found")
        name, value = customers[int(customerId)]
        profile = {"source": "INSTORE", "identifiers": [{"type": name, "value": value}]}
        return jsonify(
            {
                "id": int(customerId),
                "profiles": [profile],
                "loyaltyInfo": {"loyaltyType": "loyalty"},
                "warnings": [],
            }
        )

    @app.get("/v2/customers/lookup")
    def lookup() -> tuple[Response, int] | Response:
        wanted = (request.args["identifierName"], request.args["identifierValue"])
        # PLANTED BUG: cardnumber (from the public docs) is not known here, called invalid input.
        if wanted[0] == "cardnumber":
            return refused(400, 400, "Input is invalid: identifierName cardnumber is unknown")
        found = next((id for id, identifier in customers.items() if identifier == wanted), None)
        if found is None:
            # PLANTED BUG: 8009 is update's "no customer has this id"; lookup documents 8015.
            return refused(400, 8009, "Customer not found")
        return jsonify({"entity": found, "warnings": []})

    @app.get("/v2/customers/<customerId>/subscriptions")
    def subscriptions(customerId: str) -> Response:
        # PLANTED BUG: campaignId is an integer in the spec, a string here.
        return jsonify({"subscriptions": [], "campaignId": "0", "warnings": []})

    @app.get("/v2/customers/<customerId>/pointsTransfers")
    def points_transfers(customerId: str) -> Response:
        # PLANTED BUG: no warnings.
        return jsonify({"data": [], "errors": []})

    @app.get("/v2/customers/<customerId>/loyaltyDetails", endpoint="loyalty_details")
    def loyalty_details(customerId: str) -> Response:
        return jsonify({"data": [], "warnings": [], "errors": []})

    return app


def _authenticated() -> bool:
    scheme, _, encoded = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        till, _, password = base64.b64decode(encoded, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return False
    return till == TILL and password == hashlib.md5(PASSWORD.encode()).hexdigest()
