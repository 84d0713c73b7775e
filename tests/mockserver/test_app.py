"""The mock over HTTP, through Flask's test client: auth, validation, errors, Prefer, admin."""

from __future__ import annotations

import base64
import hashlib
import importlib.metadata
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

import spec
from mockserver import MissingHandler, Settings, create_app
from mockserver.mock import Mock
from mockserver.operations import Operations
from mockserver.settings import SettingsError
from mockserver.storage import StoreUnavailable
from mockserver.views import HANDLERS
from tests.mockserver.test_rehearsal import BECKY

TILL = {"Authorization": "Basic " + base64.b64encode(b"till:anything").decode()}
LOOKUP_306 = (
    "/v2/customers/lookup?source=INSTORE&identifierName=mobile&identifierValue=919111111111"
)
ACTIVITY = (
    "/v2/partnerProgram/customerActivityHistories?source=instore&identifierName=externalId"
    "&identifierValue=5c3c2dasc6b5f33c82fb71f679daf56dq"
)


def registration(*identifiers: tuple[str, str], **fields: Any) -> dict[str, Any]:
    profile = {"identifiers": [{"type": t, "value": v} for t, v in identifiers], **fields}
    return {"loyaltyInfo": {"loyaltyType": "loyalty"}, "profiles": [profile]}


def errors(response: TestResponse) -> list[tuple[int, str]]:
    body = response.get_json()
    assert body["warnings"] == []
    assert all(error["status"] is False for error in body["errors"])
    return [(error["code"], error["message"]) for error in body["errors"]]


def make_app(tmp_path: Path, **settings: Any) -> Flask:
    return create_app(
        Settings(state=str(tmp_path / "state.db"), journal=tmp_path / "journal", **settings)
    )


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Flask:
    return make_app(tmp_path_factory.mktemp("mock"))


@pytest.fixture
def client(app: Flask) -> Iterator[FlaskClient]:
    mock: Mock = app.extensions["capkit"]
    mock.reset()
    with app.test_client() as client:
        client.environ_base.update({"HTTP_AUTHORIZATION": TILL["Authorization"]})
        yield client


# --- routing from the spec ------------------------------------------------------------------


def test_every_operation_of_the_spec_has_a_route(app: Flask) -> None:
    operations = [node["operationId"] for *_, node in spec.operations(spec.load())]
    mock: Mock = app.extensions["capkit"]
    routes = Operations(mock, mock.contract, app.wsgi_app, max_body=1).routes
    assert operations and sorted(operations) == sorted(r.endpoint for r in routes.iter_rules())


def test_an_operation_without_a_handler_stops_the_app_naming_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delitem(HANDLERS, "getPointsExpirySchedule")
    with pytest.raises(MissingHandler, match="getPointsExpirySchedule"):
        make_app(tmp_path)


@pytest.mark.parametrize(
    ("state", "message"),
    [
        (
            "redis://localhost:6379/0",
            "--state must be the path of a SQLite file or a postgresql:// URL (no backend keeps"
            " the state at redis:// URLs), got 'redis://localhost:6379/0'",
        ),
        ("{tmp}/nowhere/state.db", "--state must be in a folder that exists (create {tmp}/nowhere"),
    ],
)
def test_a_state_the_mock_cannot_keep_is_a_settings_error_naming_state(
    tmp_path: Path, state: str, message: str
) -> None:
    with pytest.raises(SettingsError) as refused:
        create_app(Settings(state=state.format(tmp=tmp_path), journal=tmp_path / "journal"))
    assert refused.value.name == "state"
    assert str(refused.value).startswith(message.format(tmp=tmp_path))


def test_the_spec_is_served(client: FlaskClient) -> None:
    assert client.get("/openapi.json").get_json() == spec.load()


def test_unknown_path_is_a_404_envelope(client: FlaskClient) -> None:
    response = client.get("/v2/customer/lookup")
    assert response.status_code == 404
    [(code, message)] = errors(response)
    assert code == 404 and "/v2/customer/lookup" in message


@pytest.mark.parametrize(
    "path", ["//v2/customers/306", "/v2//customers/306", "/v2/customers//306", "//__admin/state"]
)
def test_a_path_with_an_empty_segment_is_no_operation(client: FlaskClient, path: str) -> None:
    # PATH_INFO set as a server gives it: the test client would read "//v2" as a host.
    response = client.get("/", environ_overrides={"PATH_INFO": path, "RAW_URI": path})
    assert response.status_code == 404
    [(code, message)] = errors(response)
    assert code == 404 and message.startswith(f"No operation at {path}:")
    journalled = [entry["url"] for entry in client.get("/__admin/requests").get_json()["requests"]]
    assert journalled == ([f"http://localhost{path}"] if path.startswith("/v2/") else [])


@pytest.mark.parametrize("url", [LOOKUP_306, "/v2/customers/306?source=ALL", "/__admin/health"])
def test_a_request_to_upgrade_to_websocket_is_answered_as_http(app: Flask, url: str) -> None:
    # A server may ignore Upgrade (RFC 9110 7.8); werkzeug matched such a request to no route.
    upgrade = {"Connection": "Upgrade", "Upgrade": "websocket"}
    client = app.test_client()
    plain = client.get(url, headers=TILL)
    asked = client.get(url, headers=TILL | upgrade)
    assert (asked.status_code, asked.get_json()) == (plain.status_code, plain.get_json())
    assert asked.status_code == 200


def test_wrong_method_is_a_405_with_allow(client: FlaskClient) -> None:
    response = client.delete("/v2/customers/lookup")
    assert response.status_code == 405
    assert set(response.headers["Allow"].split(", ")) == {"GET", "HEAD", "OPTIONS"}
    [(code, message)] = errors(response)
    assert code == 405 and "allows" in message


def test_a_path_variable_does_not_take_a_fixed_segment(client: FlaskClient) -> None:
    assert client.put("/v2/customers/search?source=INSTORE", json={}).status_code == 405


def test_deprecated_aliases_answer_as_their_canonical_paths(client: FlaskClient) -> None:
    query = "&activityType=linkingUpdates"
    canonical = client.get(ACTIVITY + query)
    alias = client.get(ACTIVITY.replace("Histories", "History") + query)
    assert canonical.status_code == alias.status_code == 200
    assert canonical.get_json() == alias.get_json()
    transfers = client.get("/v2/customers/343015431/pointsTransfers").get_json()
    assert client.get("/v2/customers/343015431/pointsTransferSummary").get_json() == transfers


# --- authentication -------------------------------------------------------------------------


def test_no_credentials_is_a_401_with_www_authenticate(app: Flask) -> None:
    response = app.test_client().get(LOOKUP_306)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Basic")
    [(code, message)] = errors(response)
    assert code == 401
    assert message.startswith("Authentication failed. Please check username and password.")


@pytest.mark.parametrize(
    "authorization",
    [
        "Bearer abc",
        "Basic not-base64!",
        "Basic \xe9",  # a byte beyond ASCII, which base64 decoding refused with a 500
        "Basic " + base64.b64encode(b"no-colon").decode(),
    ],
)
def test_malformed_credentials_are_a_401(app: Flask, authorization: str) -> None:
    response = app.test_client().get(LOOKUP_306, headers={"Authorization": authorization})
    assert response.status_code == 401


def test_an_oauth_token_is_enough(app: Flask) -> None:
    response = app.test_client().get(LOOKUP_306, headers={"X-CAP-API-OAUTH-TOKEN": "eyJ.x.y"})
    assert response.status_code == 200


def test_a_pinned_till_needs_the_md5_of_its_password(tmp_path: Path) -> None:
    client = make_app(tmp_path, auth="westTill:s3cret").test_client()

    def status(till: str, password: str) -> int:
        credentials = base64.b64encode(f"{till}:{password}".encode()).decode()
        return client.get(LOOKUP_306, headers={"Authorization": f"Basic {credentials}"}).status_code

    digest = hashlib.md5(b"s3cret").hexdigest()
    assert status("westTill", digest) == 200
    assert status("westTill", "s3cret") == 401
    assert status("eastTill", digest) == 401
    token = client.get(LOOKUP_306, headers={"X-CAP-API-OAUTH-TOKEN": "eyJ.any.token"})
    assert token.status_code == 401
    # Beside the pinned till too: the token is judged, and the mock takes none.
    credentials = base64.b64encode(f"westTill:{digest}".encode()).decode()
    both = {"X-CAP-API-OAUTH-TOKEN": "eyJ.any.token", "Authorization": f"Basic {credentials}"}
    [(_, message)] = errors(client.get(LOOKUP_306, headers=both))
    assert message.endswith(
        "This mock takes no X-CAP-API-OAUTH-TOKEN: it was started with --auth alone, and a"
        " request with a token is judged by the token; send Authorization: Basic"
        " base64(till:md5(password)) without it."
    )


def test_a_pinned_token_is_the_only_token_and_needs_no_till(tmp_path: Path) -> None:
    client = make_app(tmp_path, token="eyJ.the.token").test_client()

    def status(**headers: str) -> int:
        return client.get(LOOKUP_306, headers=headers).status_code

    assert status(**{"X-CAP-API-OAUTH-TOKEN": "eyJ.the.token"}) == 200
    assert status(**{"X-CAP-API-OAUTH-TOKEN": "eyJ.another"}) == 401
    assert status(**TILL) == 401
    (tmp_path / "both").mkdir()
    both = make_app(tmp_path / "both", auth="westTill:s3cret", token="eyJ.the.token").test_client()
    assert (
        both.get(LOOKUP_306, headers={"X-CAP-API-OAUTH-TOKEN": "eyJ.the.token"}).status_code == 200
    )


def test_no_auth_accepts_requests_without_credentials(tmp_path: Path) -> None:
    client = make_app(tmp_path, auth_required=False).test_client()
    assert client.get(LOOKUP_306).status_code == 200


@pytest.mark.parametrize(
    ("headers", "maker"),
    [
        ({"Authorization": "Basic " + base64.b64encode(b"eastTill:x").decode()}, "eastTill"),
        ({"X-CAP-API-OAUTH-TOKEN": "eyJ.x.y"}, "capkit.mock"),
    ],
    ids=["till", "token"],
)
def test_writes_are_made_by_the_till_the_credentials_name(
    client: FlaskClient, headers: dict[str, str], maker: str
) -> None:
    client.environ_base.pop("HTTP_AUTHORIZATION")
    created = client.post(
        "/v2/customers?source=INSTORE",
        json=registration(("mobile", "919000000006")),
        headers=headers,
    ).get_json()["createdId"]
    update = {"profiles": [{"firstName": "Becky"}]}
    client.put(f"/v2/customers/{created}?source=INSTORE", json=update, headers=TILL)
    [profile] = client.get(f"/v2/customers/{created}?source=ALL", headers=headers).get_json()[
        "profiles"
    ]
    assert profile["attribution"]["createdBy"]["code"] == maker
    assert profile["attribution"]["modifiedBy"]["code"] == "till"
    assert profile["attribution"]["modifiedDate"] == profile["autoUpdateTime"]


# --- validation -----------------------------------------------------------------------------


def test_an_invalid_parameter_answers_the_code_the_document_gives_it(client: FlaskClient) -> None:
    response = client.get(
        "/v2/customers/lookup?source=MYSPACE&identifierName=mobile&identifierValue=1"
    )
    assert response.status_code == 400
    [(code, message)] = errors(response)
    assert code == 8011
    assert message.startswith("Source is invalid: query parameter 'source' must be one of ")
    assert message.endswith(", got 'MYSPACE'")


def test_every_problem_is_one_error_item(client: FlaskClient) -> None:
    response = client.get("/v2/customers/lookup?identifierName=phone")
    codes = [code for code, _ in errors(response)]
    assert sorted(codes) == [8011, 8013, 8013]  # source missing, identifierName, identifierValue


def test_an_unknown_query_parameter_is_refused_with_a_hint(client: FlaskClient) -> None:
    [(code, message)] = errors(client.get(LOOKUP_306 + "&acountId=22232"))
    assert code == 400
    assert "'acountId' is not a parameter of lookupCustomer" in message
    assert message.endswith("did you mean 'accountId'?")


def test_lenient_accepts_unknown_query_parameters(tmp_path: Path) -> None:
    client = make_app(tmp_path, lenient=True, auth_required=False).test_client()
    assert client.get(LOOKUP_306 + "&utm_source=app").status_code == 200


def test_a_path_parameter_of_the_wrong_type_is_named(client: FlaskClient) -> None:
    [(code, message)] = errors(client.get("/v2/customers/tom/subscriptions"))
    assert code == 400
    assert message.endswith("path parameter 'customerId' must be an integer, got 'tom'")


def test_an_integer_with_a_final_newline_is_no_integer(client: FlaskClient) -> None:
    [(code, message)] = errors(client.get("/v2/customers/306%0A/subscriptions"))
    assert code == 400
    assert message.endswith("path parameter 'customerId' must be an integer, got '306\\n'")


def test_a_list_endpoint_error_carries_a_zeroed_pagination(client: FlaskClient) -> None:
    response = client.get(ACTIVITY + "&activityType=linkingUpdates&limit=11")
    assert response.status_code == 400
    assert response.get_json()["pagination"] == {"limit": 0, "offset": 0, "total": 0}
    [(code, message)] = errors(response)
    assert message.endswith("query parameter 'limit' must be at most 10, got 11")


def test_a_body_field_the_schema_does_not_have_is_refused_with_a_hint(client: FlaskClient) -> None:
    body = registration(("mobile", "919000000001"), firstname="Becky")
    [(code, message)] = errors(client.post("/v2/customers?source=INSTORE", json=body))
    assert code == 400
    assert "body field 'profiles[0]' does not take 'firstname'" in message
    assert message.endswith("did you mean 'firstName'?")


def test_a_body_field_the_schema_does_not_have_names_what_its_object_takes(
    client: FlaskClient,
) -> None:
    body = registration(("mobile", "919000000001"))
    body["zzz"] = 1
    body["loyaltyInfo"]["bogus"] = 1
    body["profiles"][0]["identifiers"][0]["kind"] = 2
    response = client.post("/v2/customers?source=INSTORE", json=body)
    assert [message.partition(": ")[2] for _, message in errors(response)] == [
        "body field 'loyaltyInfo' does not take 'bogus' (it takes loyaltyType)",
        "body field 'profiles[0].identifiers[0]' does not take 'kind' (it takes type, value)",
        "body does not take 'zzz'"
        " (it takes loyaltyInfo, associatedWith, profiles, extendedFields, attributionV2)",
    ]


@pytest.mark.parametrize("depth", [300, 990, 100_000])
def test_a_body_nested_deeper_than_the_mock_validates_is_a_400(
    client: FlaskClient, depth: int
) -> None:
    """300 is past what the validator takes, 990 near what the JSON reader takes, 100,000 past."""
    nested = b"[" * depth + b"]" * depth
    response = client.post(
        "/v2/customers?source=INSTORE", data=nested, content_type="application/json"
    )
    [(code, message)] = errors(response)
    assert (response.status_code, code) == (400, 400)
    assert message.endswith("body is nested deeper than any request of this API")


def test_a_missing_body_field_is_named(client: FlaskClient) -> None:
    body = {"profiles": [{"identifiers": [{"type": "mobile", "value": "919000000001"}]}]}
    [(code, message)] = errors(client.post("/v2/customers?source=INSTORE", json=body))
    assert message.endswith("body field 'loyaltyInfo' is required")


def test_an_invalid_request_changes_nothing(client: FlaskClient) -> None:
    body = registration(("mobile", "919000000002"), ("fax", "123"))
    assert client.post("/v2/customers?source=INSTORE", json=body).status_code == 400
    lookup = "/v2/customers/lookup?source=ALL&identifierName=mobile&identifierValue=919000000002"
    assert errors(client.get(lookup))[0][0] == 8015


def test_an_invalid_channel_in_an_update_is_8010_as_documented(client: FlaskClient) -> None:
    update = {"profiles": [{"commChannels": [{"type": "fax", "value": "0201234"}]}]}
    response = client.put("/v2/customers/306?source=INSTORE", json=update)
    [(code, message)] = errors(response)
    assert code == 8010
    assert message.startswith("Communication channel is invalid: body field")
    assert message.endswith(
        "'profiles[0].commChannels[0].type' must be one of mobile, email,"
        " wechat, ios, android, line, got 'fax'"
    )
    # A field of the profile beside its channels has no code of its own.
    [(code, _)] = errors(
        client.put("/v2/customers/306?source=INSTORE", json={"profiles": [{"firstName": 1}]})
    )
    assert code == 400


def test_a_change_or_an_update_of_nothing_names_what_it_may_hold(client: FlaskClient) -> None:
    response = client.post("/v2/customers/306/changeIdentifier?source=INSTORE", json={})
    [(code, message)] = errors(response)
    assert code == 400
    assert message.endswith(": body must have 'add' or 'remove'")
    response = client.put("/v2/customers/306?source=INSTORE", json={})
    [(code, message)] = errors(response)
    assert message.endswith(": body must have 'profiles' or 'loyaltyInfo' or 'extendedFields'")


def test_a_body_that_is_not_json_is_a_415(client: FlaskClient) -> None:
    response = client.post(
        "/v2/customers?source=INSTORE", data="name=Tom", content_type="text/plain"
    )
    assert response.status_code == 415
    [(code, message)] = errors(response)
    assert code == 415 and message.endswith("got text/plain")


def test_malformed_json_is_a_400(client: FlaskClient) -> None:
    response = client.post(
        "/v2/customers?source=INSTORE", data="{", content_type="application/json"
    )
    [(code, message)] = errors(response)
    assert code == 400 and "body is not valid JSON" in message


def test_a_missing_body_is_a_400(client: FlaskClient) -> None:
    [(code, message)] = errors(client.post("/v2/customers?source=INSTORE"))
    assert message.endswith("body is required: a JSON document")


def test_a_body_over_the_limit_is_a_413(tmp_path: Path) -> None:
    client = make_app(tmp_path, max_body=2000, auth_required=False).test_client()
    body = registration(("mobile", "919000000003"), fields={"note": "x" * 3000})
    response = client.post("/v2/customers?source=INSTORE", json=body)
    assert response.status_code == 413
    [(code, message)] = errors(response)
    assert code == 413 and "over the limit of 2000 bytes" in message


def test_documented_spellings_are_accepted(client: FlaskClient) -> None:
    for spelling in ("linkingUpdates", "LINKINGUPDATES", "LINKING_UPDATES"):
        assert client.get(ACTIVITY + f"&activityType={spelling}").status_code == 200
    for query in ("Status=APPROVED", "status=APPROVED&Type=TRANSACTION_UPDATE"):
        answer = client.get(f"/v2/customers/368881003/retroRequest?{query}").get_json()
        assert [request["id"] for request in answer["data"]] == [4, 2], query
    embedded = client.get("/v2/customers/17742?source=WECHAT&accountId=22232&embed=points,mlp")
    assert {"pointsSummary", "loyaltyProgramDetails"} <= set(embedded.get_json())
    for language in ("zh", "en-US", "zh-Hans-CN", "zh_CN", "de-CH-1901"):
        headers = {"language": language}
        assert client.get("/v2/customers/306?source=ALL", headers=headers).status_code == 200


# --- business errors and state --------------------------------------------------------------


def test_a_business_error_is_a_400_with_the_documented_message_and_detail(
    client: FlaskClient,
) -> None:
    response = client.get(LOOKUP_306.replace("919111111111", "919999999999"))
    assert response.status_code == 400
    [(code, message)] = errors(response)
    assert code == 8015
    assert message == (
        "No customer found with the given identifier:"
        " no customer has mobile '919999999999' in INSTORE"
    )


def test_writes_change_later_reads(client: FlaskClient) -> None:
    created = client.post(
        "/v2/customers?source=INSTORE",
        json=registration(("mobile", "919000000004"), firstName="Becky", lastName="Thatcher"),
    ).get_json()["createdId"]
    lookup = LOOKUP_306.replace("919111111111", "919000000004")
    assert client.get(lookup).get_json()["entity"] == created
    update = {"profiles": [{"lastName": "Sawyer"}], "extendedFields": {"city": "St. Petersburg"}}
    assert client.put(f"/v2/customers/{created}?source=INSTORE", json=update).status_code == 200
    customer = client.get(f"/v2/customers/{created}?source=ALL").get_json()
    assert customer["profiles"][0]["lastName"] == "Sawyer"
    assert customer["extendedFields"] == {"city": "St. Petersburg"}
    hits = client.get("/v2/customers/search?q=becky").get_json()["data"]
    assert [hit["userId"] for hit in hits] == [created]


def test_a_customer_is_looked_up_by_any_kind_of_identifier_a_registration_takes(
    client: FlaskClient,
) -> None:
    kinds = client.get("/openapi.json").get_json()["components"]["schemas"]["IdentifierType"]
    for number, kind in enumerate(kinds["enum"]):
        value = f"91900000{number:04d}" if kind == "mobile" else f"{kind}.{number}@example.com"
        created = client.post(
            "/v2/customers?source=INSTORE", json=registration((kind, value))
        ).get_json()["createdId"]
        found = client.get(
            f"/v2/customers/lookup?source=INSTORE&identifierName={kind}&identifierValue={value}"
        )
        assert found.get_json()["entity"] == created, (kind, found.get_json())


def test_a_customer_is_found_in_the_source_it_was_registered_in(client: FlaskClient) -> None:
    # The public docs add MOBILE_APP to the register document's sources: every operation
    # takes it, as every operation takes the others.
    created = client.post(
        "/v2/customers?source=MOBILE_APP", json=registration(("mobile", "919000000007"))
    ).get_json()["createdId"]
    identifier = "identifierName=mobile&identifierValue=919000000007"
    change = {"add": [{"type": "email", "value": "becky@example.com"}]}
    for method, url, body in [
        ("GET", f"/v2/customers/lookup?source=MOBILE_APP&{identifier}", None),
        ("GET", f"/v2/customers/{created}?source=MOBILE_APP", None),
        ("PUT", f"/v2/customers/{created}?source=MOBILE_APP", {"profiles": [{"firstName": "B"}]}),
        ("POST", f"/v2/customers/{created}/changeIdentifier?source=MOBILE_APP", change),
        ("GET", "/v2/customers/search?q=becky&source=MOBILE_APP", None),
        (
            "GET",
            f"/v2/customers/lookup/promisedPointsSchedule?source=MOBILE_APP&{identifier}",
            None,
        ),
    ]:
        response = client.open(url, method=method, json=body)
        assert response.status_code == 200, (url, response.get_json())
    [hit] = client.get("/v2/customers/search?q=becky&source=MOBILE_APP").get_json()["data"]
    assert hit["userId"] == created


def test_a_merged_customer_answers_8069(client: FlaskClient) -> None:
    survivor = client.post(
        "/v2/customers?source=INSTORE", json=registration(("mobile", "919000000005"))
    ).get_json()["createdId"]
    victim = client.post(
        "/v2/customers?source=WEBSITE", json=registration(("email", "becky@example.com"))
    ).get_json()["createdId"]
    change = {"add": [{"type": "mobile", "value": "919000000005"}]}
    merged = client.post(f"/v2/customers/{victim}/changeIdentifier?source=WEBSITE", json=change)
    [warning] = merged.get_json()["warnings"]
    assert (warning["code"], str(survivor) in warning["message"]) == (8051, True)
    [(code, message)] = errors(client.get(f"/v2/customers/{victim}?source=ALL"))
    assert code == 8069 and str(survivor) in message


# --- Prefer ---------------------------------------------------------------------------------


def test_prefer_returns_a_documented_error_example_verbatim(client: FlaskClient) -> None:
    response = client.get(LOOKUP_306, headers={"Prefer": "code=400, example=err8015"})
    assert response.status_code == 400
    documented = spec.load()["paths"]["/customers/lookup"]["get"]["responses"]["400"]
    assert (
        response.get_json()
        == documented["content"]["application/json"]["examples"]["err8015"]["value"]
    )


def test_prefer_takes_quoted_values_as_rfc_7240_allows(client: FlaskClient) -> None:
    response = client.get(LOOKUP_306, headers={"Prefer": 'code="400", example="err8015"'})
    assert response.status_code == 400
    assert errors(response)[0][0] == 8015


def test_prefer_serves_an_example_with_the_headers_its_response_declares(
    client: FlaskClient,
) -> None:
    # The spec declares them, so a client reads them on the example as on the mock's own.
    too_many = client.get(LOOKUP_306, headers={"Prefer": "code=429"})
    assert too_many.status_code == 429
    assert too_many.headers["Retry-After"] == "42"
    assert too_many.headers["RateLimit-Remaining"] == "0"
    refused = client.get(LOOKUP_306, headers={"Prefer": "code=401"})
    assert refused.headers["WWW-Authenticate"] == 'Basic realm="Capillary"'
    assert "Retry-After" not in client.get(LOOKUP_306, headers={"Prefer": "code=400"}).headers


def test_prefer_on_a_write_changes_no_state(client: FlaskClient) -> None:
    body = registration(("mobile", "919000000006"))
    response = client.post(
        "/v2/customers?source=INSTORE", json=body, headers={"Prefer": "code=200"}
    )
    assert response.get_json()["createdId"] == 316452956
    lookup = LOOKUP_306.replace("919111111111", "919000000006")
    assert errors(client.get(lookup))[0][0] == 8015


def test_prefer_for_an_undocumented_example_lists_the_documented_ones(client: FlaskClient) -> None:
    [(code, message)] = errors(client.get(LOOKUP_306, headers={"Prefer": "example=err9999"}))
    assert code == 400
    assert "example=err9999" in message and "err8065" in message and "foundByMobile" in message


# --- responses are checked against the spec --------------------------------------------------


def test_a_response_the_spec_rejects_is_a_500_naming_the_mock_bug(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(HANDLERS, "lookupCustomer", lambda call: {"entity": "306"})
    response = client.get(LOOKUP_306)
    assert response.status_code == 500
    [(code, message)] = errors(response)
    assert code == 500
    assert "capkit mock bug" in message and "lookupCustomer" in message


# --- CORS, admin and journal ----------------------------------------------------------------


def test_cors_preflight_is_answered_for_any_origin(client: FlaskClient) -> None:
    response = client.options(
        "/v2/customers?source=INSTORE",
        headers={
            "Origin": "http://localhost:5173",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, x-cap-api-oauth-token, content-type",
        },
    )
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "POST" in response.headers["Access-Control-Allow-Methods"]
    allowed = response.headers["Access-Control-Allow-Headers"].lower()
    assert {"authorization", "x-cap-api-oauth-token", "content-type"} <= set(allowed.split(", "))
    simple = client.get(LOOKUP_306, headers={"Origin": "http://localhost:5173"})
    assert simple.headers["Access-Control-Allow-Origin"] == "*"


def test_a_browser_app_can_read_the_errors_too(app: Flask) -> None:
    refused = app.test_client().get(LOOKUP_306, headers={"Origin": "http://localhost:5173"})
    assert refused.status_code == 401
    assert refused.headers["Access-Control-Allow-Origin"] == "*"
    assert "WWW-Authenticate" in refused.headers["Access-Control-Expose-Headers"]
    missing = app.test_client().get("/v2/nowhere", headers={"Origin": "http://localhost:5173"})
    assert missing.headers["Access-Control-Allow-Origin"] == "*"


def test_reset_goes_back_to_the_seed(client: FlaskClient) -> None:
    client.post("/v2/customers?source=INSTORE", json=registration(("mobile", "919000000007")))
    state = client.get("/__admin/state").get_json()["customers"]
    assert 316452956 in [customer["id"] for customer in state]
    assert client.post("/__admin/reset").get_json() == {"reset": True, "customers": len(state) - 1}
    assert 316452956 not in [c["id"] for c in client.get("/__admin/state").get_json()["customers"]]


def test_health_counts_the_operations_and_names_the_version(client: FlaskClient) -> None:
    assert client.get("/__admin/health").get_json() == {
        "status": "ok",
        "store": "ok",
        "operations": len(list(spec.operations(spec.load()))),
        "version": importlib.metadata.version("capkit"),
    }


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Flask:
    """A mock whose admin changes ask for the token `s3cret`."""
    return make_app(tmp_path_factory.mktemp("guarded"), admin_token="s3cret")


#: Every admin request that changes something, with a body that it takes.
ADMIN_CHANGES = [
    ("POST", "/__admin/reset", None),
    ("DELETE", "/__admin/requests", None),
    ("POST", "/__admin/seed", {"customers": [BECKY]}),
    ("PUT", "/__admin/chaos", {"faults": 1.0}),
    ("DELETE", "/__admin/chaos", None),
]


def test_with_an_admin_token_a_path_of_no_operation_is_a_404_still(guarded: Flask) -> None:
    # Read as a slash, %2F made /__admin/reset of it: a path of no endpoint asks for no token.
    sent = {"PATH_INFO": "/__admin/reset", "RAW_URI": "/__admin%2Freset"}
    response = guarded.test_client().post("/", environ_overrides=sent)
    assert response.status_code == 404
    [(_, message)] = errors(response)
    assert message.startswith("No operation at /__admin%2Freset:")


@pytest.mark.parametrize(("method", "path", "body"), ADMIN_CHANGES)
def test_with_an_admin_token_a_change_without_it_is_refused_in_the_envelope(
    guarded: Flask, method: str, path: str, body: object
) -> None:
    mock: Mock = guarded.extensions["capkit"]
    mock.reset()
    mock.store.share_settings(None)
    client = guarded.test_client()
    registered = client.post(
        "/v2/customers?source=INSTORE", json=registration(("mobile", "919000000070")), headers=TILL
    )
    assert registered.status_code == 200
    for authorization in (None, "Bearer wrong", "Basic czNjcmV0", "Bearer s3cret "):
        headers = {} if authorization is None else {"Authorization": authorization}
        refused = client.open(path, method=method, json=body, headers=headers)
        assert refused.status_code == 401
        assert refused.headers["WWW-Authenticate"] == 'Bearer realm="capkit admin"'
        assert refused.get_json() == {
            "warnings": [],
            "errors": [
                {
                    "status": False,
                    "code": 401,
                    "message": f"{method} {path} changes the mock, which was started with"
                    " --admin-token: send 'Authorization: Bearer TOKEN' with that token",
                }
            ],
        }
    # Nothing changed: the customer, the journal and the chaos are as they were.
    state = [customer["id"] for customer in client.get("/__admin/state").get_json()["customers"]]
    assert 316452956 in state and BECKY["id"] not in state
    assert client.get("/__admin/requests").get_json()["requests"]
    assert client.get("/__admin/chaos").get_json()["faults"] == 0
    # The scheme in any case, as HTTP has it.
    allowed = client.open(
        path, method=method, json=body, headers={"Authorization": "bearer s3cret"}
    )
    assert allowed.status_code == 200


@pytest.mark.parametrize(("method", "path", "body"), ADMIN_CHANGES)
def test_with_an_admin_token_a_page_s_preflight_of_a_change_is_answered(
    guarded: Flask, method: str, path: str, body: object
) -> None:
    """A browser asks before it sends the token (CORS): the preflight carries none."""
    preflight = guarded.test_client().options(
        path,
        headers={
            "Origin": "http://localhost:3000",
            "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )
    assert preflight.status_code == 200
    assert method in preflight.headers["Access-Control-Allow-Methods"]


@pytest.mark.parametrize(("method", "path", "body"), ADMIN_CHANGES)
def test_with_an_admin_token_a_change_without_it_learns_nothing_of_its_parameters(
    guarded: Flask, method: str, path: str, body: object
) -> None:
    client = guarded.test_client()
    refused = client.open(f"{path}?bogus=1", method=method, json=body)
    assert refused.status_code == 401
    with_token = client.open(
        f"{path}?bogus=1", method=method, json=body, headers={"Authorization": "Bearer s3cret"}
    )
    assert with_token.status_code == 400
    assert (
        "query parameter 'bogus' is not a parameter"
        in with_token.get_json()["errors"][0]["message"]
    )


#: Every admin request, the reads of the journal and the state among them.
ADMIN_REQUESTS = [
    *ADMIN_CHANGES,
    *[("GET", path, None) for path in ("/__admin/requests", "/__admin/state")],
]


#: Pages of another site, as a browser tells them: by its Fetch Metadata, or where it sends
#: none (to a mock on plain http at a name other than localhost), by their Origin; and how the
#: refusal names them.
PAGES_OF_ANOTHER_SITE = {
    "fetch metadata": (
        {"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"},
        "a page of another site (https://evil.example, Sec-Fetch-Site: cross-site)",
        "",
    ),
    "origin": (
        {"Origin": "http://evil.example", "Host": "10.0.3.7:8080"},
        "a page of another host ('http://evil.example', for a mock at '10.0.3.7:8080')",
        "evil.example",
    ),
    "no site": (
        {"Origin": "null", "Host": "localhost"},
        "a page of another host ('null', for a mock at 'localhost')",
        None,
    ),
    "localhost as a subdomain": (
        {"Origin": "http://localhost.evil.example:8080"},
        "a page of another host ('http://localhost.evil.example:8080', for a mock at 'localhost')",
        "localhost.evil.example",
    ),
}
#: Pages of the mock's own site (a host that is no registrable domain is a site of its own).
PAGES_OF_THE_SITE = [
    *(
        {"Origin": "http://localhost:3000", "Sec-Fetch-Site": site}
        for site in ("same-origin", "same-site", "none")
    ),
    {"Origin": "http://localhost:3000"},
    {"Origin": "https://LOCALHOST"},
    {"Origin": "http://localhost.:3000", "Host": "LocalHost:8080"},
    {"Origin": "http://10.0.3.7:3000", "Host": "10.0.3.7:8080"},
    {"Origin": "http://[::1]:3000", "Host": "[::1]:8080"},
]


@pytest.mark.parametrize("page", PAGES_OF_ANOTHER_SITE)
@pytest.mark.parametrize(("method", "path", "body"), ADMIN_REQUESTS)
def test_an_admin_request_from_a_page_of_another_site_is_a_403_and_changes_nothing(
    client: FlaskClient, method: str, path: str, body: object, page: str
) -> None:
    mock: Mock = client.application.extensions["capkit"]
    mock.reset()
    client.get(LOOKUP_306)
    headers, named, allowed = PAGES_OF_ANOTHER_SITE[page]
    refused = client.open(path, method=method, json=body, headers=headers)
    assert refused.status_code == 403
    remedy = (
        "; if that page is the mock's own (its console behind a proxy that sends the mock"
        f" another Host), start the mock with --allowed-host {allowed}"
        if allowed
        else ""
    )
    assert errors(refused) == [
        (
            403,
            f"{method} {path} comes from {named}: the admin endpoints answer pages of the"
            f" mock's own site and clients that are no browser page{remedy}",
        )
    ]
    assert client.get("/__admin/requests").get_json()["requests"]  # not cleared, not reset
    assert client.get("/__admin/chaos").get_json()["faults"] == 0
    for headers in PAGES_OF_THE_SITE:
        served = client.open(path, method=method, json=body, headers=headers)
        assert served.status_code == 200, headers
    client.delete("/__admin/chaos")


def test_a_page_at_an_address_behind_a_proxy_is_served_once_that_address_is_allowed(
    tmp_path: Path,
) -> None:
    console = {"Origin": "http://[fd00::2]:8080", "Host": "127.0.0.1:8080"}
    for folder in ("allowed", "proxy"):
        (tmp_path / folder).mkdir()
    refused = make_app(tmp_path / "proxy").test_client().post("/__admin/reset", headers=console)
    assert errors(refused)[0][1].endswith("start the mock with --allowed-host [fd00::2]")
    # As the refusal says, or in any of the address's spellings.
    for spelled in ("[fd00::2]", "FD00:0::0002"):
        allowed = make_app(tmp_path / "allowed", allowed_host=(spelled,)).test_client()
        assert allowed.post("/__admin/reset", headers=console).status_code == 200, spelled


def test_a_page_of_the_mocks_site_behind_a_proxy_is_served_once_its_host_is_allowed(
    tmp_path: Path,
) -> None:
    """The console at https://capkit.staging.example, behind a proxy that sends the mock its
    own name for it: the Origin a browser sends to a plain-http mock names another host."""
    console = {"Origin": "https://capkit.staging.example", "Host": "mock:8080"}
    for folder in ("allowed", "proxy"):
        (tmp_path / folder).mkdir()
    allowed = make_app(tmp_path / "allowed", allowed_host=("mock", "capkit.staging.example"))
    assert allowed.test_client().post("/__admin/reset", headers=console).status_code == 200
    only_the_proxys = make_app(tmp_path / "proxy", allowed_host=("mock",)).test_client()
    refused = only_the_proxys.post("/__admin/reset", headers=console)
    assert refused.status_code == 403
    assert "--allowed-host capkit.staging.example" in errors(refused)[0][1]


def rebound_host_refusal(host: str, name: str) -> str:
    return (
        f"Host '{host}' is not a name this mock answers admin requests for (a page whose site"
        " name leads to this machine could use it: DNS rebinding); start the mock with"
        f" --allowed-host {name} to allow it"
    )


@pytest.mark.parametrize(("method", "path", "body"), ADMIN_REQUESTS)
def test_an_admin_request_whose_host_names_another_machine_is_a_403_and_changes_nothing(
    client: FlaskClient, method: str, path: str, body: object
) -> None:
    """What a page reaches the mock by once its site's name leads to 127.0.0.1 (DNS
    rebinding): the browser takes it for the page's own site."""
    mock: Mock = client.application.extensions["capkit"]
    mock.reset()
    client.get(LOOKUP_306)
    rebound = {"Host": "evil.example:8080", "Sec-Fetch-Site": "same-origin"}
    refused = client.open(path, method=method, json=body, headers=rebound)
    assert refused.status_code == 403
    assert errors(refused) == [(403, rebound_host_refusal("evil.example:8080", "evil.example"))]
    assert client.get("/__admin/requests").get_json()["requests"]  # not cleared, not reset
    assert client.get("/__admin/chaos").get_json()["faults"] == 0
    state = [customer["id"] for customer in client.get("/__admin/state").get_json()["customers"]]
    assert BECKY["id"] not in state


@pytest.mark.parametrize(("method", "path", "body"), ADMIN_CHANGES)
def test_an_admin_request_whose_host_names_another_machine_learns_nothing_else(
    guarded: Flask, method: str, path: str, body: object
) -> None:
    """Not whether a change needs the --admin-token, nor which parameters it takes."""
    client = guarded.test_client()
    refused = client.open(f"{path}?bogus=1", method=method, json=body, headers={"Host": "Evil."})
    assert errors(refused) == [(403, rebound_host_refusal("Evil.", "evil"))]


def test_an_admin_request_whose_host_names_this_machine_is_served(client: FlaskClient) -> None:
    """By an IP address, or localhost: what no DNS answer can lead a page's name to."""
    for host in ("127.0.0.1:8080", "[::1]:8080", "localhost", "LOCALHOST.", "app.localhost:8080"):
        assert client.post("/__admin/reset", headers={"Host": host}).status_code == 200, host
        assert client.get("/__admin/requests", headers={"Host": host}).status_code == 200, host
    for host in ("localhost.example", "127.0.0.1.example", "notlocalhost"):
        assert client.post("/__admin/reset", headers={"Host": host}).status_code == 403, host


@pytest.mark.parametrize(
    ("settings", "served", "refused"),
    [
        ({"allowed_host": ("mock.internal",)}, ["mock.internal:8080", "MOCK.internal"], "other"),
        ({"allowed_host": ("Mock.Internal.",)}, ["mock.internal"], "internal"),
        ({"host": "devbox"}, ["devbox:8080", "DevBox."], "devbox.example"),
        ({"allowed_host": ("*",)}, ["evil.example:8080", "anything"], None),
    ],
    ids=["allowed-host", "allowed-host-as-written", "host", "any"],
)
def test_an_admin_request_whose_host_the_mock_was_told_of_is_served(
    tmp_path: Path, settings: dict[str, Any], served: list[str], refused: str | None
) -> None:
    client = make_app(tmp_path, **settings).test_client()
    for host in served:
        assert client.post("/__admin/reset", headers={"Host": host}).status_code == 200, host
    if refused is not None:
        assert client.post("/__admin/reset", headers={"Host": refused}).status_code == 403


def test_an_admin_request_whose_host_is_no_host_is_a_400_naming_it(client: FlaskClient) -> None:
    refused = client.post("/__admin/reset", headers={"Host": "a b"})
    assert errors(refused) == [
        (
            400,
            "header 'Host' must be a host name or address and an optional port up to 65535"
            " (RFC 9110 7.2), got 'a b'",
        )
    ]


def test_the_api_the_spec_and_the_console_answer_a_host_the_admin_endpoints_refuse(
    client: FlaskClient,
) -> None:
    """A page of any site may call the API (CORS allows any origin); the console's page is no
    secret, and its requests to /__admin are what is checked."""
    rebound = {"Host": "evil.example:8080"}
    for path in (LOOKUP_306, "/openapi.json", "/"):
        answered = client.get(path, headers=rebound)
        assert answered.status_code == 200, path
        assert answered.data == client.get(path).data, path
    assert client.get("/__admin/health", headers=rebound).status_code == 403


def test_with_an_admin_token_reading_needs_none(guarded: Flask) -> None:
    client = guarded.test_client()
    for path in ("/__admin/health", "/__admin/state", "/__admin/requests", "/__admin/seed"):
        assert client.get(path).status_code == 200, path
    assert client.get("/__admin/chaos").status_code == 200


@pytest.mark.parametrize(
    ("url", "paged"),
    [(LOOKUP_306, False), ("/v2/customers/search?q=becky", True), ("/__admin/state", False)],
)
def test_a_state_that_cannot_be_reached_is_a_503_in_the_envelope(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch, url: str, paged: bool
) -> None:
    mock: Mock = client.application.extensions["capkit"]

    def unreachable() -> None:
        raise StoreUnavailable("PostgreSQL at capkit@db:5432/capkit cannot be reached: timeout")

    monkeypatch.setattr(mock.store, "read", unreachable)
    response = client.get(url)
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "1"
    # Sent as the spec declares it, for a client generated from the spec to read.
    assert "Retry-After" in spec.load()["components"]["responses"]["Unavailable"]["headers"]
    pagination = {"pagination": {"limit": 0, "offset": 0, "total": 0}} if paged else {}
    assert response.get_json() == pagination | {
        "warnings": [],
        "errors": [
            {
                "status": False,
                "code": 503,
                "message": "The mock cannot use its state now; nothing was changed, try again:"
                " PostgreSQL at capkit@db:5432/capkit cannot be reached: timeout",
            }
        ],
    }


def test_the_journal_lists_api_requests_and_renders_har(client: FlaskClient) -> None:
    client.get(LOOKUP_306)
    client.post("/v2/customers?source=INSTORE", json=registration(("mobile", "919000000008")))
    client.get("/__admin/health")
    summary = client.get("/__admin/requests").get_json()["requests"]
    assert [(r["method"], r["status"]) for r in summary] == [("GET", 200), ("POST", 200)]
    assert summary[0]["url"].endswith(LOOKUP_306) and summary[0]["time"]
    entries = client.get("/__admin/requests?format=har").get_json()["log"]["entries"]
    posted = entries[1]
    assert posted["request"]["method"] == "POST"
    assert posted["request"]["postData"]["mimeType"] == "application/json"
    # The credentials are masked, their scheme kept.
    assert {"name": "Authorization", "value": "Basic [Filtered]"} in posted["request"]["headers"]
    assert posted["response"]["content"]["mimeType"] == "application/json"
    assert json.loads(posted["request"]["postData"]["text"])["profiles"][0]["identifiers"]
    assert posted["response"]["status"] == 200
    assert json.loads(posted["response"]["content"]["text"])["createdId"] == 316452956


def test_the_journal_is_answered_304_until_something_is_recorded_or_cleared(
    client: FlaskClient,
) -> None:
    client.get(LOOKUP_306)
    listed = client.get("/__admin/requests")
    assert listed.headers["Cache-Control"] == "no-cache"  # the console's browser asks each time
    seen = {"If-None-Match": listed.headers["ETag"]}
    unchanged = client.get("/__admin/requests", headers=seen)
    assert (unchanged.status_code, unchanged.data) == (304, b"")
    assert unchanged.headers["ETag"] == listed.headers["ETag"]
    assert client.get("/__admin/requests?format=har", headers=seen).status_code == 200

    client.get(LOOKUP_306)
    recorded = client.get("/__admin/requests", headers=seen)
    assert recorded.status_code == 200 and len(recorded.get_json()["requests"]) == 2
    client.delete("/__admin/requests")
    cleared = client.get("/__admin/requests", headers={"If-None-Match": recorded.headers["ETag"]})
    assert (cleared.status_code, cleared.get_json()) == (200, {"requests": []})


@pytest.mark.parametrize(
    ("method", "url", "expected"),
    [
        (
            "GET",
            "/__admin/requests?status=500",
            "query parameter 'status' is not a parameter of GET /__admin/requests (it takes"
            " format)",
        ),
        (
            "GET",
            "/__admin/requests?formt=har",
            "query parameter 'formt' is not a parameter of GET /__admin/requests (it takes"
            " format); did you mean 'format'?",
        ),
        (
            "POST",
            "/__admin/reset?hard=1",
            "query parameter 'hard' is not a parameter of POST /__admin/reset (it takes none)",
        ),
        (
            "GET",
            "/__admin/requests?format=har&format=json",
            "query parameter 'format' is given 2 times; expected once",
        ),
    ],
)
def test_an_admin_endpoint_refuses_a_query_parameter_it_does_not_take_and_does_nothing(
    client: FlaskClient, method: str, url: str, expected: str
) -> None:
    client.post("/v2/customers?source=INSTORE", json=registration(("mobile", "919000000071")))
    response = client.open(url, method=method)
    assert (response.status_code, [message for _, message in errors(response)]) == (
        400,
        [expected],
    )
    assert 316452956 in [c["id"] for c in client.get("/__admin/state").get_json()["customers"]]


@pytest.mark.parametrize(
    ("url", "echoed"),
    [
        ("/__admin/requests/" + "a" * 100_000, "The journal holds no exchange 'aaa"),
        ("/__admin/requests?format=" + "x" * 100_000, "query parameter 'format' must be json"),
        ("/v2/" + "n" * 100_000, "No operation at /v2/nnn"),
    ],
    ids=["exchange id", "journal format", "path"],
)
def test_a_long_value_is_echoed_with_its_middle_left_out(
    client: FlaskClient, url: str, echoed: str
) -> None:
    [(_, message)] = errors(client.get(url))
    assert message.startswith(echoed) and "characters]..." in message
    assert len(message) < 500


def test_a_long_chaos_setting_is_echoed_with_its_middle_left_out(client: FlaskClient) -> None:
    response = client.put("/__admin/chaos", json={"latency": "x" * 100_000})
    [(code, message)] = errors(response)
    assert code == 400 and message.startswith("latency: expected a duration")
    assert len(message) < 500


def test_a_documented_message_that_names_a_field_names_it(client: FlaskClient) -> None:
    url = (
        "/v2/customers/lookup/promisedPointsSchedule?source=INSTORE&identifierName=mobile"
        "&identifierValue=917752198768&startDate=2022-13-01"
    )
    [(code, message)] = errors(client.get(url))
    assert code == 1216
    assert message.startswith("The date format used for startDate is not supported.")
    assert message.endswith(
        "query parameter 'startDate' must be a date, YYYY-MM-DD, got '2022-13-01'"
    )


@pytest.mark.parametrize(
    "url, detail",
    [
        (
            "/v2/customers/21057502618500882949279318016/subscriptions",
            "path parameter 'customerId' must be an integer from -9223372036854775808 to"
            " 9223372036854775807, got '21057502618500882949279318016'",
        ),
        (
            f"/v2/customers/{'9' * 4301}/subscriptions",
            "path parameter 'customerId' must be an integer from -9223372036854775808 to"
            f" 9223372036854775807, got '{'9' * 20}",
        ),
    ],
    ids=["an id beyond 64 bits", "an id of more digits than Python reads"],
)
def test_values_the_store_cannot_hold_are_400(client: FlaskClient, url: str, detail: str) -> None:
    response = client.get(url)
    assert response.status_code == 400
    [(code, message)] = errors(response)
    assert code == 400 and detail in message


def test_a_day_past_the_end_of_its_month_counts_on_into_the_next(client: FlaskClient) -> None:
    response = client.get(
        ACTIVITY + "&activityType=benefitsAvailed&startDate=2021-02-30&endDate=2021-06-01"
    )
    assert response.status_code == 200
    [notes] = {entry["notes"] for entry in response.get_json()["data"]}
    assert notes.startswith("showing customer activities from Tue Mar 02 00:00:00 GMT 2021")


@pytest.mark.parametrize(
    "url",
    [
        "/v2/customers/368881003/retroRequest?startDate=0000-01-01",
        "/v2/customers/lookup/promisedPointsSchedule?source=INSTORE&identifierName=mobile"
        "&identifierValue=917752198768&programId=2199&startDate=0000-01-01",
        ACTIVITY + "&activityType=benefitsAvailed&startDate=9999-12-01",
        ACTIVITY + "&activityType=benefitsAvailed&startDate=0000-01-01&endDate=0000-06-01",
    ],
    ids=[
        "retro from year 0",
        "promised from year 0",
        "activity in year 9999",
        "activity in year 0",
    ],
)
def test_dates_at_the_ends_of_the_calendar_are_answered(client: FlaskClient, url: str) -> None:
    assert client.get(url).status_code == 200


# --- identifiers in any spelling ------------------------------------------------------------


def test_the_reported_spellings_of_held_identifiers_are_the_held_identifiers(
    client: FlaskClient,
) -> None:
    # What two testers sent: each made a second customer of one person in INSTORE.
    for identifier, holder in [
        ({"type": "email", "value": "HUCK.FINN@example.com"}, 342963216),
        ({"type": "mobile", "value": "+919111111111"}, 306),
    ]:
        body = {
            "loyaltyInfo": {"loyaltyType": "non_loyalty"},
            "profiles": [{"firstName": "Imposter", "identifiers": [identifier]}],
        }
        response = client.post("/v2/customers?source=INSTORE", json=body)
        [(code, message)] = errors(response)
        assert (response.status_code, code) == (400, 8006) and str(holder) in message
    response = client.post(
        "/v2/customers/418/changeIdentifier?source=WECHAT&accountId=22232",
        json={"add": [{"type": "email", "value": "TOM.SAWYER@example.com"}]},
    )
    [(code, message)] = errors(response)
    assert (response.status_code, code) == (400, 8008) and "17742" in message
    found = client.get(
        "/v2/customers/lookup?source=WECHAT&accountId=22232&identifierName=email"
        "&identifierValue=Tom.Sawyer%40example.com"
    )
    assert found.get_json() == {"entity": 17742, "warnings": []}
    removed = client.post(
        "/v2/customers/17742/changeIdentifier?source=WECHAT&accountId=22232",
        json={"remove": [{"type": "email", "value": "Tom.Sawyer@Example.com"}]},
    )
    assert removed.get_json() == {"success": True, "warnings": []}
    tom = client.get("/v2/customers/17742?source=WECHAT&accountId=22232").get_json()
    assert {"type": "email", "value": "tom.sawyer@example.com"} not in tom["profiles"][0][
        "identifiers"
    ]


@pytest.mark.parametrize(
    ("sent", "expected"),
    [
        (2**63, "must be at most 9223372036854775807, got 9223372036854775808"),
        (-(2**63) - 1, "must be at least -9223372036854775808, got -9223372036854775809"),
    ],
)
def test_a_campaign_id_is_a_64_bit_integer(client: FlaskClient, sent: int, expected: str) -> None:
    # Capillary's ids are Java longs: one past them was taken, and answered back.
    subscriptions = [{"channel": "EMAIL", "type": "OPTIN", "priority": "BULK"}]
    body = {"subscriptions": subscriptions, "campaignId": sent}
    refused = client.post("/v2/customers/306/subscriptions", json=body)
    assert [message for _, message in errors(refused)] == [
        f"Input is invalid. Please check request parameters or input xml/json: body field"
        f" 'campaignId' {expected}"
    ]
    taken = client.post("/v2/customers/306/subscriptions", json=body | {"campaignId": -1})
    assert taken.get_json()["campaignId"] == -1
