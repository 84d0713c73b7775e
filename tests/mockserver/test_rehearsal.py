"""Rehearsal through Flask's test client: what a request's plan is, the rate limit, the faults the
app answers itself, /__admin/chaos, and seed files at start and at /__admin/seed."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import yaml
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment

from mockserver import Settings, create_app
from mockserver.chaos import PLAN, Plan
from mockserver.mock import Mock
from mockserver.seeding import SeedRefused
from mockserver.settings import SettingsError

CUSTOMER_306 = "/v2/customers/306?source=ALL"
LOOKUP_306 = (
    "/v2/customers/lookup?source=INSTORE&identifierName=mobile&identifierValue=919111111111"
)
BECKY = {
    "id": 900001,
    "profiles": [
        {
            "firstName": "Becky",
            "source": "INSTORE",
            "identifiers": [{"type": "mobile", "value": "919900000001"}],
        }
    ],
    "loyaltyInfo": {"loyaltyType": "loyalty"},
}


def basic(till: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{till}:pw".encode()).decode()}


def make_app(tmp_path: Path, **settings: Any) -> Flask:
    return create_app(
        Settings(state=str(tmp_path / "state.db"), journal=tmp_path / "journal", **settings)
    )


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Flask:
    return make_app(tmp_path_factory.mktemp("mock"), fault_hold="1s")


@pytest.fixture
def client(app: Flask) -> Iterator[FlaskClient]:
    """A client of the mock as it started: the seed, the flags' rehearsal, an empty journal."""
    mock: Mock = app.extensions["capkit"]
    mock.reset()
    mock.store.share_settings(None)
    with app.test_client() as client:
        client.environ_base.update({"HTTP_AUTHORIZATION": basic("till")["Authorization"]})
        yield client
    mock.store.share_settings(None)


@pytest.fixture
def plans(app: Flask, monkeypatch: pytest.MonkeyPatch) -> list[Plan | None]:
    """The plan of each request the app answers, in turn, as the server reads it."""
    seen: list[Plan | None] = []
    answer = app.wsgi_app

    def answer_and_keep_the_plan(environ: WSGIEnvironment, start_response: Any) -> Any:
        answered = answer(environ, start_response)
        seen.append(environ.get(PLAN))
        return answered

    monkeypatch.setattr(app, "wsgi_app", answer_and_keep_the_plan)
    return seen


def messages(response: TestResponse) -> list[str]:
    return [error["message"] for error in response.get_json()["errors"]]


def journal(client: FlaskClient) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = client.get("/__admin/requests?format=har").get_json()["log"][
        "entries"
    ]
    return entries


# --- what a request asks ----------------------------------------------------------------------


def test_a_request_that_asks_nothing_has_no_plan(
    client: FlaskClient, plans: list[Plan | None]
) -> None:
    assert client.get(CUSTOMER_306).status_code == 200
    assert plans == [None]


@pytest.mark.parametrize("status", [500, 503])
def test_a_500_or_503_fault_is_capillary_s_envelope(client: FlaskClient, status: int) -> None:
    response = client.get(CUSTOMER_306, headers={"Prefer": f"fault={status}"})
    assert response.status_code == status
    assert response.get_json()["errors"] == [
        {
            "status": False,
            "code": status,
            "message": response.get_json()["errors"][0]["message"],
        }
    ]
    assert messages(response)[0].endswith("(capkit mock: a rehearsed fault)")
    [entry] = journal(client)
    assert entry["response"]["status"] == status


def test_a_delay_is_planned_for_the_server_and_counted_in_the_journal(
    client: FlaskClient, plans: list[Plan | None]
) -> None:
    response = client.get(CUSTOMER_306, headers={"Prefer": "delay=800"})
    assert response.status_code == 200
    assert plans == [Plan(0.8)]
    [entry] = journal(client)
    assert entry["time"] >= 800


def test_a_fault_without_an_answer_is_left_to_the_server_and_journaled_as_none(
    client: FlaskClient, plans: list[Plan | None]
) -> None:
    response = client.get(CUSTOMER_306, headers={"Prefer": "fault=timeout"})
    assert plans == [Plan(1.0, "timeout")]  # the fault hold, 1 s here
    # This WSGI server cannot leave the client without an answer: the app says so.
    assert response.status_code == 503
    assert "fault=timeout leaves the client without an answer" in messages(response)[0]
    [entry] = journal(client)
    assert entry["response"]["status"] == 0
    assert entry["response"]["comment"] == (
        "no answer: the connection was held open, then closed (fault=timeout)"
    )
    summary = client.get("/__admin/requests").get_json()["requests"][-1]
    assert summary["fault"] == "timeout"


def test_a_lost_request_takes_effect_and_its_answer_is_journaled(
    client: FlaskClient, plans: list[Plan | None]
) -> None:
    body = {
        "loyaltyInfo": {"loyaltyType": "loyalty"},
        "profiles": [{"identifiers": [{"type": "mobile", "value": "919800000001"}]}],
    }
    response = client.post(
        "/v2/customers?source=INSTORE", json=body, headers={"Prefer": "fault=lost"}
    )
    assert plans == [Plan(0.0, "lost")]
    created = response.get_json()["createdId"]
    found = client.get(
        "/v2/customers/lookup?source=INSTORE&identifierName=mobile&identifierValue=919800000001"
    )
    assert found.get_json()["entity"] == created
    entry = journal(client)[0]
    assert entry["response"]["status"] == 200
    assert entry["response"]["comment"].startswith("the client never got this answer")


@pytest.mark.parametrize(
    ("prefer", "expected"),
    [
        ("delay=soon", "header 'Prefer': delay must be a whole number of milliseconds"),
        ("fault=boom", "header 'Prefer': fault must be one of reset, empty, timeout, lost"),
        ("delay=\xb2", "header 'Prefer': delay must be a whole number of milliseconds"),
        pytest.param(
            "delay=" + "9" * 5000,
            "header 'Prefer': delay must be at most 600000 milliseconds",
            id="delay of 5000 digits",
        ),
    ],
)
def test_a_prefer_that_asks_what_cannot_be_is_a_400(
    client: FlaskClient, prefer: str, expected: str
) -> None:
    response = client.get(CUSTOMER_306, headers={"Prefer": prefer})
    assert response.status_code == 400
    assert expected in messages(response)[0]
    assert len(messages(response)[0]) < 1000  # a long value is echoed abridged


def test_a_prefer_is_echoed_as_the_client_wrote_it_in_utf_8(client: FlaskClient) -> None:
    sent = "delay=１２".encode().decode("latin-1")  # as a server gives the bytes to WSGI
    response = client.get(CUSTOMER_306, headers={"Prefer": sent})
    assert response.status_code == 400
    assert messages(response)[0].endswith(
        "header 'Prefer': delay must be a whole number of milliseconds (digits 0-9), got '１２'"
    )


def test_a_prefer_s_values_may_be_quoted(client: FlaskClient, plans: list[Plan | None]) -> None:
    assert client.get(CUSTOMER_306, headers={"Prefer": 'fault="503"'}).status_code == 503
    assert client.get(CUSTOMER_306, headers={"Prefer": 'delay="300"'}).status_code == 200
    assert plans == [Plan(fault="503"), Plan(delay=0.3)]


# --- /__admin/chaos -------------------------------------------------------------------------


def test_chaos_shows_the_flags_until_put_and_again_once_deleted(client: FlaskClient) -> None:
    flags = client.get("/__admin/chaos").get_json()
    assert flags == {
        "latency": [],
        "faults": 0.0,
        "faultKinds": ["reset", "empty", "timeout", "lost", "500", "503"],
        "faultHold": "1s",
        "chaosSeed": None,
        "rateLimit": None,
        "changedAtRuntime": [],
    }
    put = client.put("/__admin/chaos", json={"latency": "2s", "faults": 0.5})
    assert put.status_code == 200
    assert put.get_json() | {"changedAtRuntime": []} == flags | {
        "latency": ["2s"],
        "faults": 0.5,
    }
    assert client.get("/__admin/chaos").get_json()["changedAtRuntime"] == ["latency", "faults"]
    # A later PUT stands for the flags and itself: what it leaves out is the flags' again.
    assert client.put("/__admin/chaos", json={"faults": 0.1}).get_json()["latency"] == []
    assert client.delete("/__admin/chaos").get_json() == flags


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"faults": 2}, "faults: expected a fraction of requests from 0 to 1, got 2"),
        ({"latncy": "2s"}, "latncy: no such setting"),
        ({"latency": ["getCustomr=1s"]}, "latency: expected operationIds of the spec"),
        ({"rateLimit": "100/w"}, "rateLimit: expected requests/unit such as 100/m"),
        pytest.param(
            {"rateLimit": "9" * 5000 + "/m"},
            "rateLimit: expected requests/unit such as 100/m",
            id="rateLimit of 5000 digits",
        ),
        (["faults"], "body: expected a JSON object of settings"),
    ],
)
def test_a_bad_chaos_setting_is_a_400_naming_it_and_changes_nothing(
    client: FlaskClient, body: Any, expected: str
) -> None:
    response = client.put("/__admin/chaos", json=body)
    assert response.status_code == 400
    assert expected in messages(response)[0]
    assert client.get("/__admin/chaos").get_json()["changedAtRuntime"] == []


def test_chaos_settings_nested_too_deep_to_read_are_a_400(client: FlaskClient) -> None:
    deep = '{"latency": ' + "[" * 100_000 + "]" * 100_000 + "}"
    response = client.put("/__admin/chaos", data=deep, content_type="application/json")
    assert (response.status_code, messages(response)) == (
        400,
        ["body: expected JSON, got JSON nested too deep to be read"],
    )


def test_a_path_or_method_of_no_operation_is_answered_at_once_and_meets_no_fault(
    client: FlaskClient, plans: list[Plan | None]
) -> None:
    # What README says: the latency and faults are the API's; a 404 or 405 is the mock's.
    client.put("/__admin/chaos", json={"latency": "2s", "faults": 1.0, "faultKinds": ["503"]})
    assert client.get("/v2/nothing").status_code == 404
    assert client.delete(CUSTOMER_306).status_code == 405
    assert client.get(CUSTOMER_306).status_code == 503
    assert plans[-3:] == [None, None, Plan(delay=2.0, fault="503")]  # after the PUT's


def test_a_latency_of_one_operation_plans_its_requests_alone(
    client: FlaskClient, plans: list[Plan | None]
) -> None:
    client.put("/__admin/chaos", json={"latency": ["getCustomer=300ms"]})
    client.get(CUSTOMER_306)
    client.get(LOOKUP_306)
    assert plans[-2:] == [Plan(0.3), None]


def test_settings_put_for_another_spec_leave_the_flags_in_force(
    client: FlaskClient, plans: list[Plan | None]
) -> None:
    # A state kept from a mock of a spec with an operation this one lacks.
    mock: Mock = client.application.extensions["capkit"]
    mock.store.share_settings({"latency": ["retiredOperation=300ms"], "faults": 1})
    assert client.get(CUSTOMER_306).status_code == 200
    assert plans[-1] is None


def test_random_faults_with_a_seed_come_again_after_a_reset(client: FlaskClient) -> None:
    def statuses() -> list[int]:
        client.post("/__admin/reset")
        return [client.get(CUSTOMER_306).status_code for _ in range(30)]

    seeded = {"faults": 0.5, "faultKinds": ["500", "503"], "chaosSeed": 7}
    client.put("/__admin/chaos", json=seeded)
    first = statuses()
    assert set(first) == {200, 500, 503}
    assert statuses() == first
    client.put("/__admin/chaos", json=seeded | {"chaosSeed": 8})
    assert statuses() != first


def test_the_rate_limit_counts_each_credential_and_says_where_it_stands(
    client: FlaskClient,
) -> None:
    client.put("/__admin/chaos", json={"rateLimit": "2/m"})
    if time.time() % 60 > 55:  # all in one window: the minute's
        time.sleep(60 - time.time() % 60)
    first, second, third = (client.get(CUSTOMER_306) for _ in range(3))
    assert [first.status_code, second.status_code, third.status_code] == [200, 200, 429]
    assert [r.headers["RateLimit-Remaining"] for r in (first, second, third)] == ["1", "0", "0"]
    assert {r.headers["RateLimit-Limit"] for r in (first, second, third)} == {"2"}
    assert "Retry-After" not in second.headers
    assert 1 <= int(third.headers["Retry-After"]) <= 60
    assert third.get_json()["errors"][0]["code"] == 429
    assert messages(third)[0].startswith(
        "Too many requests: these credentials made the 2 requests per minute the rate limit"
        " allows; retry after "
    )
    # Another till, and a token, have quotas of their own.
    assert client.get(CUSTOMER_306, headers=basic("other")).status_code == 200
    token = {"X-CAP-API-OAUTH-TOKEN": "t0ken", "Authorization": ""}
    assert client.get(CUSTOMER_306, headers=token).headers["RateLimit-Remaining"] == "1"


def test_the_rate_limit_counts_the_requests_that_reach_the_api_and_shows_each_its_quota(
    client: FlaskClient,
) -> None:
    client.put("/__admin/chaos", json={"rateLimit": "10/d"})  # a window that outlasts the test
    too_large = b'{"x": "' + b"a" * 1024 * 1024 + b'"}'
    counted = {
        "a body over the limit": client.post(
            "/v2/customers?source=INSTORE", data=too_large, content_type="application/json"
        ),
        "a documented example": client.get(CUSTOMER_306, headers={"Prefer": "code=400"}),
        "bad input": client.get("/v2/customers/306?source=NOWHERE"),
    }
    assert [answer.status_code for answer in counted.values()] == [413, 400, 400]
    assert [answer.headers.get("RateLimit-Remaining") for answer in counted.values()] == [
        "9",
        "8",
        "7",
    ]
    # What never reaches the API's rate limit: credentials it does not take, a path or method
    # of no operation, and a rehearsed fault, which stands for what is in front of the API.
    not_counted = {
        "no credentials": client.get(CUSTOMER_306, headers={"Authorization": ""}),
        "no operation": client.get("/v2/nowhere"),
        "a method of none": client.delete(CUSTOMER_306),
        "a rehearsed fault": client.get(CUSTOMER_306, headers={"Prefer": "fault=503"}),
        "a fault it cannot rehearse": client.get(CUSTOMER_306, headers={"Prefer": "fault=boom"}),
    }
    assert [answer.status_code for answer in not_counted.values()] == [401, 404, 405, 503, 400]
    for what, answer in not_counted.items():
        assert "RateLimit-Remaining" not in answer.headers, what
    assert client.get(CUSTOMER_306).headers["RateLimit-Remaining"] == "6"


def test_an_operation_capillary_does_not_rate_limit_is_neither_counted_nor_refused(
    client: FlaskClient,
) -> None:
    # Its document says "Rate Limited? No"; the spec declares it no 429.
    client.put("/__admin/chaos", json={"rateLimit": "1/d"})  # a window that outlasts the test
    transfers = [client.get("/v2/customers/343015431/pointsTransfers") for _ in range(3)]
    assert [answer.status_code for answer in transfers] == [200, 200, 200]
    assert all("RateLimit-Remaining" not in answer.headers for answer in transfers)
    assert client.get(CUSTOMER_306).headers["RateLimit-Remaining"] == "0"
    assert client.get(CUSTOMER_306).status_code == 429


def test_a_documented_429_under_a_rate_limit_carries_the_real_quota_once(
    client: FlaskClient,
) -> None:
    client.put("/__admin/chaos", json={"rateLimit": "5/d"})  # a window that outlasts the test
    example = client.get(CUSTOMER_306, headers={"Prefer": "code=429"})
    assert example.status_code == 429
    assert example.headers.getlist("RateLimit-Remaining") == ["4"]
    assert example.headers.getlist("RateLimit-Limit") == ["5"]
    assert example.headers.getlist("Retry-After") == ["42"]  # the documented example's


#: What a page may read of any answer from another origin, by CORS (the safelisted response
#: headers): any other header is hidden from it unless the answer exposes it.
SAFELISTED = {
    "cache-control",
    "content-language",
    "content-length",
    "content-type",
    "expires",
    "last-modified",
    "pragma",
}


def test_a_browser_app_can_read_every_header_the_mock_sends(client: FlaskClient) -> None:
    client.put("/__admin/chaos", json={"rateLimit": "1/d"})  # a window that outlasts the test
    origin = {"Origin": "http://localhost:5173"}
    answers = {
        "within the rate limit": client.get(CUSTOMER_306, headers=origin),
        "past it": client.get(CUSTOMER_306, headers=origin),
        "without credentials": client.get(CUSTOMER_306, headers=origin | {"Authorization": ""}),
        "a wrong method": client.delete(CUSTOMER_306, headers=origin),
        "the journal": client.get("/__admin/requests", headers=origin),
    }
    assert answers["past it"].status_code == 429
    sent = {
        name.lower()
        for answer in answers.values()
        for name in answer.headers.keys()
        if not name.lower().startswith("access-control-")
    }
    # Guards against a check that passes because the answers sent nothing to expose.
    assert {"retry-after", "ratelimit-remaining", "www-authenticate", "allow", "etag"} <= sent
    for what, answer in answers.items():
        exposed = answer.headers["Access-Control-Expose-Headers"].lower().split(", ")
        hidden = {name.lower() for name in answer.headers.keys()} - SAFELISTED - set(exposed)
        assert {name for name in hidden if not name.startswith("access-control-")} == set(), what


# --- seed files ------------------------------------------------------------------------------


def test_the_seed_reads_back_as_it_is_written(client: FlaskClient) -> None:
    written = client.get("/__admin/seed").get_json()
    state = client.get("/__admin/state").get_json()
    assert [c["id"] for c in written["customers"]] == [c["id"] for c in state["customers"]]
    assert client.post("/__admin/seed", json=written).status_code == 200
    assert client.get("/__admin/seed").get_json() == written


def test_a_seed_posted_adds_customers_until_the_next_reset(client: FlaskClient) -> None:
    response = client.post("/__admin/seed", json={"customers": [BECKY]})
    assert response.get_json() == {"seeded": [900001]}
    assert client.get("/v2/customers/900001?source=ALL").status_code == 200
    client.post("/__admin/reset")
    assert client.get("/v2/customers/900001?source=ALL").status_code == 400


@pytest.mark.parametrize(
    ("media_type", "written"),
    [
        ("application/json", b'{"customers": [%s]}'),
        ("application/yaml", b"customers: [%s]"),
    ],
)
def test_a_whole_number_with_a_fraction_or_exponent_is_an_integer(
    client: FlaskClient, media_type: str, written: bytes
) -> None:
    # JSON Schema's integer; a customer id 1.0 was stored, then every read of it was a 500.
    becky = json.dumps(BECKY | {"id": 900001.0}).encode()
    seeded = client.post("/__admin/seed", data=written % becky, content_type=media_type)
    assert seeded.get_json() == {"seeded": [900001]}
    assert '"id":900001,' in client.get("/v2/customers/900001?source=ALL").text
    assert client.get("/__admin/seed").status_code == 200
    subscriptions = [{"channel": "EMAIL", "type": "OPTIN", "priority": "BULK"}]
    subscribed = client.post(
        "/v2/customers/900001/subscriptions",
        data=json.dumps({"subscriptions": subscriptions, "campaignId": 1e3}),
        content_type="application/json",
    )
    assert subscribed.status_code == 200, subscribed.get_json()
    assert '"campaignId":1000,' in subscribed.text


#: RFC 3339 (the spec's date-time) admits each, as a seed file may write them; Python's
#: fromisoformat reads none of them.
ODD_MOMENTS = ["2023-06-30T23:59:60Z", "2023-06-01t10:00:00z", "0000-07-22T15:48:15+05:30"]


@pytest.mark.parametrize("written", ODD_MOMENTS)
def test_reads_of_seeded_dates_that_rfc_3339_admits_answer_them(
    client: FlaskClient, written: str
) -> None:
    day = written[:10]
    program = {
        "partnerProgramDetails": {
            "programName": "P",
            "partnerProgramId": 5,
            "partnerProgramName": "pp",
            "partnerProgramType": "EXTERNAL",
            "linked": True,
            "tierBased": False,
        },
        "benefitsAvailed": [{"activityType": "BENEFIT", "activityDate": written}],
    }
    retro = client.get("/__admin/seed").get_json()["customers"]
    (retro,) = [c for c in retro if c.get("retroRequests")]
    request = {**retro["retroRequests"][0], "addedOn": written}
    customer = {
        **BECKY,
        "loyaltyInfo": {"loyaltyType": "non_loyalty"},
        "partnerPrograms": [program],
        "retroRequests": [request],
    }
    assert client.post("/__admin/seed", json={"customers": [customer]}).status_code == 200
    mobile = "identifierName=mobile&identifierValue=919900000001&source=INSTORE"
    activity = client.get(
        "/v2/partnerProgram/customerActivityHistories?activityType=benefitsAvailed"
        f"&startDate={day}&endDate={day} 23:59:59&{mobile}"
    )
    assert activity.status_code == 200, activity.get_json()
    assert activity.get_json()["data"][0]["customerActivityHistory"] == program["benefitsAvailed"]
    retros = client.get(f"/v2/customers/900001/retroRequest?startDate={day}&endDate={day}")
    assert retros.status_code == 200, retros.get_json()
    assert [r["addedOn"] for r in retros.get_json()["data"]] == [written]


@pytest.mark.parametrize("media_type", ["application/yaml", "application/x-yaml", "text/yaml"])
def test_a_seed_posted_as_yaml_adds_its_customers_as_a_yaml_seed_file_does(
    client: FlaskClient, media_type: str
) -> None:
    written = yaml.safe_dump({"customers": [BECKY]})
    response = client.post("/__admin/seed", data=written, content_type=media_type)
    assert response.get_json() == {"seeded": [900001]}
    assert client.get("/v2/customers/900001?source=ALL").status_code == 200


def test_a_seed_body_that_cannot_be_read_is_refused_naming_what_was_expected(
    client: FlaskClient,
) -> None:
    before = client.get("/__admin/seed").get_json()
    as_yaml = client.post(
        "/__admin/seed", data="customers: [{id: 900001", content_type="application/yaml"
    )
    assert as_yaml.status_code == 400
    [said] = messages(as_yaml)
    assert said.startswith("body: expected YAML, got what it cannot read: while parsing")
    # YAML sent as JSON: the message says how to send YAML.
    as_json = client.post("/__admin/seed", data="customers: []", content_type="application/json")
    [said] = messages(as_json)
    assert said.startswith(
        "body: expected JSON (or YAML, sent as application/yaml), got what it cannot read:"
    )
    assert client.get("/__admin/seed").get_json() == before


#: Each line a list of ten of the line before: the last stands for 10**9 values.
BILLION_LAUGHS = "\n".join(
    [
        "a0: &a0 [x, x, x, x, x, x, x, x, x, x]",
        *(f"a{n}: &a{n} [{', '.join([f'*a{n - 1}'] * 10)}]" for n in range(1, 9)),
        "customers: *a8",
    ]
)


@pytest.mark.parametrize(
    ("body", "media_type", "expected"),
    [
        (
            BILLION_LAUGHS,
            "application/yaml",
            "body: expected YAML, got what it cannot read: its aliases (*name) stand for more"
            " than 10 values per byte of it",
        ),
        (
            "customers:\n  - " + "[" * 10_000 + "]" * 10_000,
            "application/yaml",
            "body: expected YAML, got what it cannot read: while increasing flow level\n"
            "exceeded maximum nesting depth\n"
            '  in "<unicode string>", line 2, column 1003',
        ),
        (
            '{"customers": [' + "[" * 100_000 + "]" * 100_000 + "]}",
            "application/json",
            "body: expected JSON (or YAML, sent as application/yaml), got what it cannot read:"
            " it is nested too deep to be read",
        ),
        (  # read, but deeper than the schemas are checked
            '{"customers": [' + "[" * 500 + "]" * 500 + "]}",
            "application/json",
            "the seed file: is nested too deep",
        ),
        (
            "customers:\n  - {id: 900001, profiles: [{firstName: !!timestamp 2020-01-01}]}",
            "application/yaml",
            "body: expected YAML, got what it cannot read: it holds a date (2020-01-01), which"
            " JSON has no value for: a tag such as !!timestamp, !!binary or !!set makes one;"
            " quote it as a string",
        ),
        (
            "customers:\n  - {id: 900001, lifetimePurchases: .inf}",
            "application/yaml",
            "body: expected YAML, got what it cannot read: it holds inf (.inf or .nan), which"
            " JSON has no number for",
        ),
    ],
    ids=["billion laughs", "deep YAML", "deep JSON", "deep to check", "a YAML tag", "infinity"],
)
def test_a_seed_too_deep_or_too_big_to_read_is_a_400_and_changes_nothing(
    client: FlaskClient, body: str, media_type: str, expected: str
) -> None:
    before = client.get("/__admin/seed").get_json()
    response = client.post("/__admin/seed", data=body, content_type=media_type)
    assert (response.status_code, messages(response)) == (400, [expected])
    assert client.get("/__admin/seed").get_json() == before


def test_a_bad_seed_posted_is_refused_with_every_problem_and_changes_nothing(
    client: FlaskClient,
) -> None:
    before = client.get("/__admin/seed").get_json()
    bad = {
        "customers": [
            BECKY | {"loyaltyInfo": {"loyaltyType": "gold"}},
            BECKY | {"id": 900002, "profiles": [BECKY["profiles"][0] | {"source": "MYSPACE"}]},
            {"id": 900003, "loyaltyInfo": {"loyaltyType": "loyalty"}, "profils": []},
            BECKY | {"id": 2**63, "mergedInto": 2**64},  # ids are 64 bits, as in the API
            BECKY
            | {
                "id": 900004,
                "profiles": [{"firstNme": "B", "source": "INSTORE", "identifiers": []}],
            },
        ]
    }
    response = client.post("/__admin/seed", json=bad)
    assert response.status_code == 400
    assert messages(response) == [
        "customer 900001: loyaltyInfo.loyaltyType: must be one of loyalty, non_loyalty, got 'gold'",
        "customer 900002: profiles[0].source: must be one of FACEBOOK, WEB_ENGAGE, WECHAT,"
        " INSTORE, MARTJACK, TMALL, TAOBAO, JD, ECOMMERCE, WEBSITE, LINE, MOBILE_APP,"
        " got 'MYSPACE'",
        "customer 900003: does not take 'profils' (it takes id, profiles, loyaltyInfo,"
        " segments, extendedFields, subscriptions, loyaltyDetails, expirySchedules,"
        " promisedPoints, triggerBasedPoints, promotionalPoints, pointsTransfers, retroRequests,"
        " partnerPrograms, mergedInto); did you mean 'profiles'?",
        "customer 9223372036854775808: id: must be at most 9223372036854775807,"
        " got 9223372036854775808",
        "customer 9223372036854775808: mergedInto: must be at most 9223372036854775807,"
        " got 18446744073709551616",
        "customer 900004: profiles[0]: does not take 'firstNme' (it takes firstName, lastName,"
        " attribution, fields, identifiers, commChannels, source, accountId, userId,"
        " conflictingProfileList, autoUpdateTime); did you mean 'firstName'?",
    ]
    taken = {"customers": [BECKY, BECKY | {"id": 900002}]}
    assert client.post("/__admin/seed", json=taken).status_code == 400
    assert client.get("/__admin/seed").get_json() == before


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({}, ["the seed file: customers: is required"]),
        (
            {"customers": [BECKY, {**BECKY, "profiles": []}, BECKY | {"id": 900002}, BECKY]},
            [
                "customers[1]: id: an id of its own, got 900001, the id of customers[0] too",
                "customers[3]: id: an id of its own, got 900001, the id of customers[0] too",
            ],
        ),
    ],
    ids=["no customers", "one id twice"],
)
def test_a_seed_is_refused_naming_what_it_lacks_or_repeats_and_changes_nothing(
    client: FlaskClient, body: Any, expected: list[str]
) -> None:
    before = client.get("/__admin/seed").get_json()
    response = client.post("/__admin/seed", json=body)
    assert (response.status_code, messages(response)) == (400, expected)
    assert client.get("/__admin/seed").get_json() == before


def test_a_seed_file_joins_the_documented_customers_and_reset_returns_to_both(
    tmp_path: Path,
) -> None:
    seed = tmp_path / "customers.yaml"
    seed.write_text(yaml.safe_dump({"customers": [BECKY]}))
    client = make_app(tmp_path, seed=(seed,)).test_client()
    client.environ_base.update({"HTTP_AUTHORIZATION": basic("till")["Authorization"]})
    client.post("/__admin/seed", json={"customers": [BECKY | {"id": 900002, "profiles": []}]})
    client.post("/__admin/reset")
    ids = [customer["id"] for customer in client.get("/__admin/seed").get_json()["customers"]]
    assert 306 in ids and ids[-1] == 900001 and 900002 not in ids


def test_without_the_documented_seed_the_files_alone_and_the_last_id_wins(
    tmp_path: Path,
) -> None:
    first, second = tmp_path / "first.json", tmp_path / "second.json"
    first.write_text(json.dumps({"customers": [BECKY]}))
    renamed = BECKY | {"profiles": [BECKY["profiles"][0] | {"firstName": "Rebecca"}]}
    second.write_text(json.dumps({"customers": [renamed]}))
    client = make_app(tmp_path, seed=(first, second), documented_seed=False).test_client()
    [customer] = client.get("/__admin/seed").get_json()["customers"]
    assert customer["profiles"][0]["firstName"] == "Rebecca"


def test_a_bad_seed_file_stops_the_mock_naming_the_file_and_each_problem(
    tmp_path: Path,
) -> None:
    seed = tmp_path / "customers.json"
    wechat = BECKY["profiles"][0] | {"source": "WECHAT"}
    seed.write_text(json.dumps({"customers": [BECKY | {"profiles": [wechat]}]}))
    with pytest.raises(SeedRefused) as refused:
        make_app(tmp_path, seed=(seed,))
    assert refused.value.path == seed
    assert refused.value.problems == [
        "customer 900001: profiles[0].accountId: the account in WECHAT, a source of several"
        " accounts"
    ]
    seed.write_text("{not json")
    with pytest.raises(SeedRefused, match="customers.json is not JSON"):
        make_app(tmp_path, seed=(seed,))
    written_as_yaml = tmp_path / "customers.yaml"
    written_as_yaml.write_text("customers: [{id: 900001")
    with pytest.raises(SeedRefused, match="customers.yaml is not YAML: while parsing"):
        make_app(tmp_path, seed=(written_as_yaml,))
    written_as_yaml.write_text(BILLION_LAUGHS)
    with pytest.raises(SeedRefused, match=r"customers.yaml is not YAML: its aliases \(\*name\)"):
        make_app(tmp_path, seed=(written_as_yaml,))


def test_a_latency_flag_of_no_operation_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="--latency: expected operationIds of the spec"):
        make_app(tmp_path, latency=("getCustomr=1s",))
