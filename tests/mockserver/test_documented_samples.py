"""Every documented sample of the spec, asked of a fresh mock with the request named after it.

A sample is reproduced JSON-equal unless it is one of DIFFERENCES, where the documents
contradict themselves: there the test asserts what the mock answers instead (and
docs/FIDELITY.md says why). The samples are read from the spec, so a new one is tested
as soon as it is added.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from flask import Flask
from flask.testing import FlaskClient

import spec
from mockserver import Settings, create_app
from mockserver.domain import seed

DOCUMENT = spec.load()
Sample = tuple[str, str]  # (operationId, example name)


def resolve(node: Any) -> Any:
    return spec.follow(DOCUMENT, node)[1]


def documented_samples() -> dict[Sample, tuple[str, str, dict[str, Any], Any]]:
    """(operationId, name) -> (method, path, the named request's parameters, its body)."""
    samples = {}
    for path, item in DOCUMENT["paths"].items():
        for method, operation in item.items():
            if method == "parameters":
                continue
            parameters = [
                resolve(p) for p in item.get("parameters", []) + operation.get("parameters", [])
            ]
            body_examples = {}
            if "requestBody" in operation:
                body_examples = resolve(operation["requestBody"])["content"]["application/json"][
                    "examples"
                ]
            responses = resolve(operation["responses"]["200"])["content"]["application/json"][
                "examples"
            ]
            for name in responses:
                values = {
                    (p["in"], p["name"]): p["examples"][name]["value"]
                    for p in parameters
                    if name in p.get("examples", {})
                }
                body = body_examples.get(name, {}).get("value")
                samples[(operation["operationId"], name)] = (method, path, values, body)
    return samples


SAMPLES = documented_samples()

# The documents show these responses without the request: capkit's seed gives them one.
CHOSEN_REQUESTS: dict[Sample, tuple[str, str, Any]] = {
    ("registerCustomer", "mergedAcrossSources"): (
        "POST",
        "/v2/customers?source=WEBSITE",
        {
            "loyaltyInfo": {"loyaltyType": "loyalty"},
            "profiles": [{"identifiers": [{"type": "email", "value": "huck.finn@example.com"}]}],
        },
    ),
    ("getPromisedPointsSchedule", "triggerBasedPoints"): (
        "GET",
        "/v2/customers/lookup/promisedPointsSchedule?source=INSTORE&identifierName=mobile"
        "&identifierValue=919342249069&programId=890",
        None,
    ),
}


def example(operation_id: str, name: str) -> Any:
    for item in DOCUMENT["paths"].values():
        for method, operation in item.items():
            if method != "parameters" and operation["operationId"] == operation_id:
                return resolve(operation["responses"]["200"])["content"]["application/json"][
                    "examples"
                ][name]["value"]
    raise LookupError(operation_id)


def without(body: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k != key}


def subscriptions_as_get_shows_them(got: Any, documented: Any) -> None:
    # The embed fragment lists ANDROID and IOS subscriptions that the complete GET
    # subscriptions sample of the same customer does not: the mock holds the latter.
    assert (
        got["subscriptionInfo"]["subscriptions"]
        == example("getSubscriptions", "tomSawyer")["subscriptions"]
    )
    assert without(got, "subscriptionInfo") == without(documented, "subscriptionInfo")


def search_total_computed(got: Any, documented: Any) -> None:
    # "total": 33 beside 4 results; and customers 17742 and 343015431 are Toms too.
    assert got["data"][:4] == documented["data"]
    assert [hit["userId"] for hit in got["data"][4:]] == [17742, 343015431]
    assert got["pagination"] == {"limit": 10, "offset": 0, "total": 6}


def subscriptions_echo_the_request(got: Any, documented: Any) -> None:
    # The documented response answers 4 changes with 3 and another reason.
    assert all(item in got["subscriptions"] for item in documented["subscriptions"])
    assert {"channel": "SMS", "accountId": "", "priority": "BULK", "type": "OPTOUT"} in got[
        "subscriptions"
    ]
    assert len(got["subscriptions"]) == 4
    assert got["reason"] == "Example reason"
    assert without(without(got, "subscriptions"), "reason") == without(
        without(documented, "subscriptions"), "reason"
    )


def retro_total_computed(got: Any, documented: Any) -> None:
    # "total": 5 beside 3 requests.
    assert got["data"] == documented["data"]
    assert got["pagination"] == {"limit": 10, "offset": 0, "total": 3}


def whole_program_schedule(got: Any, documented: Any) -> None:
    # The allPrograms sample shows 8 entries of program 2199 for this customer, this one 4.
    fuller = example("getPromisedPointsSchedule", "allPrograms")["promisedPointsScheduleList"]
    assert got["promisedPointsScheduleList"] == [e for e in fuller if e["programId"] == 2199]
    assert all(
        entry in got["promisedPointsScheduleList"]
        for entry in documented["promisedPointsScheduleList"]
    )


DIFFERENCES: dict[Sample, Callable[[Any, Any], None]] = {
    ("getCustomer", "embedSubscriptions"): subscriptions_as_get_shows_them,
    ("searchCustomers", "firstNameTom"): search_total_computed,
    ("updateSubscriptions", "optOutOfBulk"): subscriptions_echo_the_request,
    ("getRetroRequests", "retroTransactions"): retro_total_computed,
    ("getPromisedPointsSchedule", "singleProgram"): whole_program_schedule,
}


def request_of(sample: Sample) -> tuple[str, str, Any]:
    if sample in CHOSEN_REQUESTS:
        return CHOSEN_REQUESTS[sample]
    method, path, values, body = SAMPLES[sample]
    query = {}
    for (location, name), value in values.items():
        if location == "path":
            path = path.replace("{" + name + "}", str(value))
        else:
            query[name] = (
                ",".join(value)
                if isinstance(value, list)
                else str(value).lower()
                if isinstance(value, bool)
                else value
            )
    return method.upper(), "/v2" + path + ("?" + urlencode(query) if query else ""), body


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Flask:
    scratch = tmp_path_factory.mktemp("samples")
    return create_app(
        Settings(
            state=str(Path(scratch) / "s.db"),
            journal=Path(scratch) / "journal",
            auth_required=False,
        )
    )


def test_every_operation_has_its_samples_here() -> None:
    operations = [node for *_, node in spec.operations(DOCUMENT)]
    assert {operation for operation, _ in SAMPLES} == {node["operationId"] for node in operations}
    assert len(SAMPLES) == sum(
        len(resolve(node["responses"]["200"])["content"]["application/json"]["examples"])
        for node in operations
    )
    assert set(DIFFERENCES) | set(CHOSEN_REQUESTS) <= set(SAMPLES)


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda s: f"{s[0]}-{s[1]}")
def test_a_documented_request_answers_its_documented_response(app: Flask, sample: Sample) -> None:
    app.extensions["capkit"].reset()
    method, url, body = request_of(sample)
    response = app.test_client().open(url, method=method, json=body)
    assert response.status_code == 200, response.get_json()
    documented = example(*sample)
    if sample in DIFFERENCES:
        assert response.get_json() != documented
        DIFFERENCES[sample](response.get_json(), documented)
    else:
        assert response.get_json() == documented
        assert as_written(response.get_json()) == as_written(documented)


def as_written(value: Any) -> str:
    """VALUE as JSON text, its keys sorted: 230 and 230.0, equal as values, differ there (as
    they do to a client that decodes the number into an integer)."""
    return json.dumps(value, sort_keys=True)


# --- every read of a customer's points, for every customer ----------------------------------

SEED = seed.load()
DEFAULT_PROGRAM = SEED.org.default_program.id
LOOKUP_NAMES = set(DOCUMENT["components"]["schemas"]["IdentifierName"]["enum"])


def new_customer(client: FlaskClient, kind: str) -> int:
    """A customer a fresh mock does not hold, registered as KIND says."""
    body = {
        "loyaltyInfo": {"loyaltyType": "loyalty" if kind == "loyalty" else "non_loyalty"},
        "profiles": [{"identifiers": [{"type": "mobile", "value": "919000000100"}]}],
    }
    created: int = client.post("/v2/customers?source=INSTORE", json=body).get_json()["createdId"]
    if kind == "enrolled":
        enrol = {"loyaltyInfo": {"loyaltyType": "loyalty"}}
        assert client.put(f"/v2/customers/{created}?source=INSTORE", json=enrol).status_code == 200
    return created


@pytest.mark.parametrize(
    "customer",
    [customer.id for customer in SEED.customers] + ["loyalty", "non_loyalty", "enrolled"],
    ids=str,
)
def test_every_read_of_a_customers_points_agrees(app: Flask, customer: int | str) -> None:
    """embed=points, embed=mlp, loyaltyDetails, the expiry schedule and promised points read
    one record: the customer's account per program."""
    app.extensions["capkit"].reset()
    client = app.test_client()
    customer_id = customer if isinstance(customer, int) else new_customer(client, customer)
    embedded = client.get(
        f"/v2/customers/{customer_id}?source=ALL&embed=points,mlp,expirySchedules"
    ).get_json()
    details = client.get(f"/v2/customers/{customer_id}/loyaltyDetails").get_json()["data"]
    accounts = {account["programId"]: account for account in details}
    assert len(accounts) == len(details), "one account per program"
    for program, account in accounts.items():
        one = client.get(f"/v2/customers/{customer_id}/loyaltyDetails?programId={program}")
        assert one.get_json()["data"] == [account]

    # embed=points: the account in the default program; embed=mlp: the others.
    if "pointsSummary" in embedded:
        assert (
            embedded["pointsSummary"] | {"programId": DEFAULT_PROGRAM} == accounts[DEFAULT_PROGRAM]
        )
    else:
        assert DEFAULT_PROGRAM not in accounts
    assert embedded["loyaltyProgramDetails"] == [
        account for account in details if account["programId"] != DEFAULT_PROGRAM
    ]

    # The points that expire are points an account holds.
    expiry = client.get(f"/v2/customers/{customer_id}/pointsExpirySchedule").get_json()
    if embedded["loyaltyInfo"]["loyaltyType"] == "loyalty":
        schedule = expiry["expirySchedules"]
        assert schedule == embedded["expirySchedules"]
        for program in {entry["programId"] for entry in schedule}:
            expiring = sum(entry["points"] for entry in schedule if entry["programId"] == program)
            assert expiring <= accounts[program]["loyaltyPoints"]
    else:
        assert [error["code"] for error in expiry["errors"]] == [1218]
        assert embedded["expirySchedules"] == []

    # Promised points are points of the programs the customer has an account in. (The
    # documents show some customers without an identifier to look them up by.)
    identifiers = [
        identifier
        for profile in embedded["profiles"]
        for identifier in profile["identifiers"]
        if identifier["type"] in LOOKUP_NAMES
    ]
    for identifier in identifiers:
        promised = client.get(
            "/v2/customers/lookup/promisedPointsSchedule?source=ALL&fetchDataForAllPrograms=true"
            f"&identifierName={identifier['type']}&identifierValue={identifier['value']}"
        ).get_json()
        assert promised["entityId"] == customer_id
        entries = promised["promisedPointsScheduleList"] + promised["triggerBasedPointsList"]
        assert {entry["programId"] for entry in entries} <= set(accounts)
