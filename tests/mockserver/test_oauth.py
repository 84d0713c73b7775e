"""POST /v3/oauth/token/generate: an app logs in with a key and a secret, and calls /v2 with the
token it gets."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from mockserver import Settings, create_app

GENERATE = "/v3/oauth/token/generate"
CUSTOMER_306 = "/v2/customers/306?source=ALL"
LOGIN = {"key": "app-key", "secret": "app-secret"}


def make_app(tmp_path: Path, **settings: Any) -> Flask:
    return create_app(
        Settings(state=str(tmp_path / "state.db"), journal=tmp_path / "journal", **settings)
    )


def claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    padded = payload + "=" * (-len(payload) % 4)
    decoded: dict[str, Any] = json.loads(base64.urlsafe_b64decode(padded))
    return decoded


def test_a_login_gets_a_jwt_that_the_api_takes(tmp_path: Path) -> None:
    client = make_app(tmp_path).test_client()
    answer = client.post(GENERATE, json=LOGIN)
    assert answer.status_code == 200
    body = answer.get_json()
    assert body["errors"] is None and body["data"]["ttlSeconds"] == 300
    token = body["data"]["accessToken"]
    found = claims(token)
    assert found["sub"] == "app-key" and found["exp"] - found["iat"] == 300
    called = client.get(CUSTOMER_306, headers={"X-CAP-API-OAUTH-TOKEN": token})
    assert called.status_code == 200


def test_with_a_pinned_token_a_login_gets_that_token(tmp_path: Path) -> None:
    client = make_app(tmp_path, token="the-token").test_client()
    token = client.post(GENERATE, json=LOGIN).get_json()["data"]["accessToken"]
    assert token == "the-token"
    assert client.get(CUSTOMER_306, headers={"X-CAP-API-OAUTH-TOKEN": token}).status_code == 200


def test_with_a_pinned_till_alone_no_token_is_given(tmp_path: Path) -> None:
    client = make_app(tmp_path, auth="till:secret").test_client()
    refused = client.post(GENERATE, json=LOGIN)
    assert refused.status_code == 401
    (error,) = refused.get_json()["errors"]
    assert "--auth" in error["message"] and "--token" in error["message"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"key": "k"}, "body field 'secret' must be a non-empty string, got None"),
        ({"key": " ", "secret": "s"}, "body field 'key' must be a non-empty string, got ' '"),
        ({"key": 1, "secret": "s"}, "body field 'key' must be a non-empty string, got 1"),
        (
            {"key": {"key": {}}, "secret": "s"},
            "body field 'key' must be a non-empty string, got an object",
        ),
        (["k", "s"], 'body must be a JSON object: {"key": "...", "secret": "..."}'),
    ],
)
def test_a_login_without_key_and_secret_is_a_400_naming_them(
    tmp_path: Path, body: Any, message: str
) -> None:
    answer = make_app(tmp_path).test_client().post(GENERATE, json=body)
    assert answer.status_code == 400
    assert answer.get_json() == {"data": None, "errors": [{"code": 400, "message": message}]}


@pytest.mark.parametrize(
    "body",
    [b"{not json", b"[" * 100_000 + b"]" * 100_000, b'{"key":' * 100_000 + b"1" + b"}" * 100_000],
    ids=["malformed", "a list nested 100,000 deep", "an object nested 100,000 deep"],
)
def test_a_login_whose_body_is_no_json_object_is_a_400(tmp_path: Path, body: bytes) -> None:
    client = make_app(tmp_path).test_client()
    answer = client.post(GENERATE, data=body, content_type="application/json")
    assert answer.status_code == 400
    message = 'body must be a JSON object: {"key": "...", "secret": "..."}'
    assert answer.get_json() == {"data": None, "errors": [{"code": 400, "message": message}]}


def test_a_browser_app_may_log_in_from_another_origin(tmp_path: Path) -> None:
    client = make_app(tmp_path).test_client()
    origin = {"Origin": "http://localhost:5173"}
    preflight = client.options(
        GENERATE,
        headers=origin
        | {
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert preflight.status_code == 200
    assert preflight.headers["Access-Control-Allow-Origin"] == "*"
    assert (
        client.post(GENERATE, json=LOGIN, headers=origin).headers["Access-Control-Allow-Origin"]
        == "*"
    )
