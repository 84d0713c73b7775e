"""Capillary's OAuth token endpoint, outside the v2 API: an app that logs in with a key and a
secret before it calls /v2 gets a token here, as from a cluster.

`POST /v3/oauth/token/generate` with `{"key": ..., "secret": ...}` answers
`{"data": {"accessToken": ..., "ttlSeconds": 300}, "errors": null}` (the public docs' shape).
The token is a JWT, as Capillary's is, so that an app reading its `exp` finds one; it passes
this mock's check (any well-formed token does), and the mock does not hold it to its expiry.
With `--token TOKEN` the endpoint hands out that token, the one this mock takes; with `--auth`
alone the mock takes no token, and the endpoint says so (401).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from typing import Any

import msgspec
from flask import Flask, Response, request

from mockserver.auth import TOKEN_HEADER
from mockserver.mock import Mock
from mockserver.responses import json_response

PATH = "/v3/oauth/token/generate"
TTL_SECONDS = 300
#: Signs the tokens of one process: nothing checks the signature, an app may decode it.
_SIGNING_KEY = secrets.token_bytes(32)


def register(app: Flask, mock: Mock) -> None:
    def generate() -> Response:
        body = _json_body()
        problems = _problems(body)
        if problems or not isinstance(body, dict):
            return _refused(400, problems)
        if mock.settings.token is not None:
            token = mock.settings.token
        elif mock.settings.auth is not None:
            return _refused(
                401,
                [
                    f"this mock takes only the till pinned by --auth: it takes no"
                    f" {TOKEN_HEADER} unless one is pinned by --token"
                ],
            )
        else:
            token = _jwt(body["key"])
        return json_response(
            {"data": {"accessToken": token, "ttlSeconds": TTL_SECONDS}, "errors": None}
        )

    app.add_url_rule(PATH, "oauth_token", generate, methods=["POST"])


def _json_body() -> Any:
    """The request's body as JSON; None for one that is not (or is nested deeper than Python's
    recursion limit, which a JSON parser in Python raises a RecursionError for)."""
    try:
        return msgspec.json.decode(request.get_data())
    except (msgspec.DecodeError, RecursionError):
        return None


def _problems(body: Any) -> list[str]:
    if not isinstance(body, dict):
        return ['body must be a JSON object: {"key": "...", "secret": "..."}']
    return [
        f"body field '{name}' must be a non-empty string, got {_shown(body.get(name))}"
        for name in ("key", "secret")
        if not isinstance(body.get(name), str) or not body[name].strip()
    ]


def _shown(value: Any) -> str:
    """VALUE, as a problem names what was sent: an object or a list by its kind (its repr
    may be megabytes, or nested deeper than repr can go)."""
    if isinstance(value, (dict, list)):
        return "an object" if isinstance(value, dict) else "a list"
    return repr(value)[:100]


def _refused(status: int, messages: list[str]) -> Response:
    errors = [{"code": status, "message": message} for message in messages]
    return json_response({"data": None, "errors": errors}, status)


def _jwt(key: str) -> str:
    now = int(time.time())
    claims = {"sub": key, "iss": "capkit mock", "iat": now, "exp": now + TTL_SECONDS}
    signed = f"{_part({'alg': 'HS256', 'typ': 'JWT'})}.{_part(claims)}"
    signature = hmac.new(_SIGNING_KEY, signed.encode(), hashlib.sha256).digest()
    return f"{signed}.{_encoded(signature)}"


def _part(value: dict[str, Any]) -> str:
    return _encoded(json.dumps(value, separators=(",", ":")).encode())


def _encoded(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()
