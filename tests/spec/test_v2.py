"""spec/v2.json tested as data: every documented operation, parameter, example and code is there.

The expected operations are listed here, not read from the spec, so that an empty or
truncated spec fails every case instead of passing none.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

import spec

DOCUMENT = spec.load()

# operationId -> (method, path, error codes its documents give it)
OPERATIONS: dict[str, tuple[str, str, set[int]]] = {
    "customeractivityhistories": (
        "get",
        "/partnerProgram/customerActivityHistories",
        {2011, 2013, 2014, 2015},
    ),
    "customeractivityhistory": (
        "get",
        "/partnerProgram/customerActivityHistory",
        {2011, 2013, 2014, 2015},
    ),
    "registerCustomer": ("post", "/customers", {8003, 8006, 8014}),
    "updateCustomer": (
        "put",
        "/customers/{customerId}",
        {8008, 8009, 8010, 8018, 8045, 8057, 8058, 8059, 8067},
    ),
    "changeCustomerIdentifier": (
        "post",
        "/customers/{customerId}/changeIdentifier",
        {8007, 8008, 8009, 8010, 8045, 8051, 8053, 8055, 8056, 8057, 8058, 8059, 8064, 8066, 8067},
    ),
    "searchCustomers": ("get", "/customers/search", set()),
    "lookupCustomer": ("get", "/customers/lookup", {8011, 8013, 8015, 8045, 8065}),
    "getCustomer": (
        "get",
        "/customers/{customerId}",
        {8012, 8015, 8045, 8062, 8063, 8065, 8069},
    ),
    "getLoyaltyDetails": ("get", "/customers/{customerId}/loyaltyDetails", set()),
    "updateSubscriptions": ("post", "/customers/{customerId}/subscriptions", set()),
    "getSubscriptions": ("get", "/customers/{customerId}/subscriptions", set()),
    "getPointsTransfers": ("get", "/customers/{customerId}/pointsTransfers", {814}),
    "getPointsTransferSummary": ("get", "/customers/{customerId}/pointsTransferSummary", {814}),
    "getRetroRequests": ("get", "/customers/{customerId}/retroRequest", {9050}),
    "getPointsExpirySchedule": (
        "get",
        "/customers/{customerId}/pointsExpirySchedule",
        {1218, 8069},
    ),
    "getPromisedPointsSchedule": (
        "get",
        "/customers/lookup/promisedPointsSchedule",
        {8015, 885, 1632},
    ),
}
DEPRECATED_ALIASES = {
    "customeractivityhistory": "customeractivityhistories",
    "getPointsTransferSummary": "getPointsTransfers",
}
# Operations whose documents show a sample: the names their 200 examples must have.
DOCUMENTED_SAMPLES = {
    "customeractivityhistories": {"benefitsAvailed", "linkingUpdates"},
    "registerCustomer": {"registered", "mergedAcrossSources"},
    "updateCustomer": {"updated"},
    "changeCustomerIdentifier": {"addAndRemove"},
    "searchCustomers": {"firstNameTom"},
    "lookupCustomer": {"foundByMobile"},
    "getCustomer": {"tomSawyer", "embedPoints", "embedSubscriptions", "embedMlp"},
    "getLoyaltyDetails": {"twoPrograms"},
    "updateSubscriptions": {"optOutOfBulk"},
    "getSubscriptions": {"tomSawyer"},
    "getPointsTransfers": {"deductionAndAddition"},
    "getRetroRequests": {"retroTransactions"},
    "getPointsExpirySchedule": {"fixedExpiry"},
    "getPromisedPointsSchedule": {"singleProgram", "allPrograms", "triggerBasedPoints"},
}
# Responses the documents show without the request that produced them.
SAMPLES_WITHOUT_REQUEST = {
    ("registerCustomer", "mergedAcrossSources"),
    ("getPromisedPointsSchedule", "triggerBasedPoints"),
}


def resolve(node: Any) -> Any:
    return spec.follow(DOCUMENT, node)[1]


def operation(operation_id: str) -> dict[str, Any]:
    method, path, _ = OPERATIONS[operation_id]
    found: dict[str, Any] = DOCUMENT["paths"][path][method]
    return found


def parameters(operation_id: str) -> dict[tuple[str, str], dict[str, Any]]:
    """The operation's parameters by (in, name), path-level ones overridden by its own."""
    method, path, _ = OPERATIONS[operation_id]
    merged = {}
    for node in DOCUMENT["paths"][path].get("parameters", []) + operation(operation_id).get(
        "parameters", []
    ):
        parameter = resolve(node)
        merged[(parameter["in"], parameter["name"])] = parameter
    return merged


def media(response: dict[str, Any]) -> dict[str, Any]:
    content: dict[str, Any] = resolve(response)["content"]["application/json"]
    return content


def error_codes(operation_id: str) -> set[int]:
    """Codes of the named examples of the operation's 400 response."""
    examples = media(operation(operation_id)["responses"]["400"])["examples"]
    return {
        error["code"]
        for example in examples.values()
        for error in resolve(example)["value"]["errors"]
    }


def test_the_spec_holds_exactly_the_documented_operations() -> None:
    found = {
        node["operationId"]
        for path in DOCUMENT.get("paths", {}).values()
        for method, node in path.items()
        if method != "parameters"
    }
    assert found == set(OPERATIONS)


def test_one_server_with_a_host_variable() -> None:
    (server,) = DOCUMENT["servers"]
    assert server["url"] == "https://{host}/v2"
    assert "eu.api.capillarytech.com" in server["variables"]["host"]["enum"]
    assert DOCUMENT["openapi"] == "3.1.0"


def test_basic_auth_or_oauth_token_satisfies_every_operation() -> None:
    schemes = DOCUMENT["components"]["securitySchemes"]
    assert schemes["basicAuth"] == {**schemes["basicAuth"], "type": "http", "scheme": "basic"}
    assert schemes["oauthToken"]["in"] == "header"
    assert schemes["oauthToken"]["name"] == "X-CAP-API-OAUTH-TOKEN"
    assert DOCUMENT["security"] == [{"basicAuth": []}, {"oauthToken": []}]


@pytest.mark.parametrize("operation_id", OPERATIONS)
def test_operation_is_at_its_path_with_a_summary(operation_id: str) -> None:
    node = operation(operation_id)
    assert node["operationId"] == operation_id
    assert node["summary"].strip()
    assert node["description"].strip()


@pytest.mark.parametrize("operation_id", OPERATIONS)
def test_every_parameter_is_typed_and_described(operation_id: str) -> None:
    params = parameters(operation_id)
    assert params, "every documented operation takes parameters"
    for (location, name), parameter in params.items():
        schema = resolve(parameter["schema"])
        assert "type" in schema or "enum" in schema, f"{location} {name} has no type"
        assert parameter["description"].strip(), f"{location} {name} has no description"
        if location == "path":
            assert parameter["required"] is True


@pytest.mark.parametrize("operation_id", OPERATIONS)
def test_every_response_has_a_schema_and_a_named_example(operation_id: str) -> None:
    responses = operation(operation_id)["responses"]
    assert {"200", "400", "401"} <= set(responses)
    for status, response in responses.items():
        content = media(response)
        assert content["schema"], f"{status} has no schema"
        assert content["examples"], f"{status} has no named example"


@pytest.mark.parametrize("operation_id", OPERATIONS)
def test_documented_error_codes_are_named_examples_of_the_400(operation_id: str) -> None:
    documented = OPERATIONS[operation_id][2]
    assert documented | {400} <= error_codes(operation_id)


@pytest.mark.parametrize("operation_id", OPERATIONS)
def test_the_400_schema_admits_exactly_the_codes_of_its_examples(operation_id: str) -> None:
    schema = media(operation(operation_id)["responses"]["400"])["schema"]
    (restriction,) = [part for part in schema["allOf"] if "properties" in part]
    items = restriction["properties"]["errors"]["items"]
    assert set(items["properties"]["code"]["enum"]) == error_codes(operation_id)
    # The narrowed item is still an ErrorItem: tools that read a schema as closed to the
    # properties it names (Redocly's example check) see status and message there too.
    assert items["$ref"] == "#/components/schemas/ErrorItem"


@pytest.mark.parametrize("operation_id", OPERATIONS)
def test_error_examples_are_named_for_their_code(operation_id: str) -> None:
    examples = media(operation(operation_id)["responses"]["400"])["examples"]
    for name, example in examples.items():
        (error,) = resolve(example)["value"]["errors"]
        assert name.startswith(f"err{error['code']}")
        assert error["status"] is False
        assert error["message"].strip()


@pytest.mark.parametrize("operation_id", OPERATIONS)
def test_parameter_error_codes_are_codes_of_the_operation(operation_id: str) -> None:
    for (location, name), parameter in parameters(operation_id).items():
        if "x-error-code" in parameter:
            assert parameter["x-error-code"] in error_codes(operation_id), f"{location} {name}"


def test_register_shows_8050_as_a_warning_of_a_success() -> None:
    examples = media(operation("registerCustomer")["responses"]["200"])["examples"]
    (warning,) = examples["mergedAcrossSources"]["value"]["warnings"]
    assert warning["code"] == 8050


@pytest.mark.parametrize("operation_id", DOCUMENTED_SAMPLES)
def test_documented_samples_are_named_examples(operation_id: str) -> None:
    examples = media(operation(operation_id)["responses"]["200"])["examples"]
    assert DOCUMENTED_SAMPLES[operation_id] <= set(examples)


@pytest.mark.parametrize("operation_id", DOCUMENTED_SAMPLES)
def test_each_sample_comes_with_the_request_that_produces_it(operation_id: str) -> None:
    """A 200 example's name also names an example of every required parameter and of the body."""
    node = operation(operation_id)
    body_examples = set(media(node["requestBody"])["examples"]) if "requestBody" in node else None
    required = [p for p in parameters(operation_id).values() if p.get("required")]
    for name in DOCUMENTED_SAMPLES[operation_id]:
        if (operation_id, name) in SAMPLES_WITHOUT_REQUEST:
            continue
        for parameter in required:
            assert name in parameter.get("examples", {}), f"{parameter['name']} lacks {name}"
        if body_examples is not None:
            assert name in body_examples


@pytest.mark.parametrize("operation_id", OPERATIONS)
def test_every_operation_has_a_request_example_that_reaches_a_sample(operation_id: str) -> None:
    """Example-driven tools (schemathesis' examples phase, Prism) send at least one request."""
    samples = media(operation(operation_id)["responses"]["200"])["examples"]
    assert [name for name in samples if (operation_id, name) not in SAMPLES_WITHOUT_REQUEST]


def enums(node: Any, at: str = "#") -> Any:
    """(JSON pointer, schema) of every schema with a string enum in NODE."""
    if isinstance(node, dict):
        if isinstance(node.get("enum"), list) and all(isinstance(v, str) for v in node["enum"]):
            yield at, node
        for key, value in node.items():
            yield from enums(value, f"{at}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from enums(value, f"{at}/{index}")


def test_spellings_that_differ_in_case_alone_are_named_apart() -> None:
    """Code generators name an enum's members by their value in upper case: INSTORE and instore
    would both be INSTORE, so such an enum names its members (x-enum-varnames)."""
    colliding = 0
    for at, schema in enums(DOCUMENT):
        upper = [value.upper().replace("_", "") for value in schema["enum"]]
        if len(set(upper)) == len(upper):
            continue
        colliding += 1
        names = schema.get("x-enum-varnames", [])
        assert len(names) == len(schema["enum"]) == len(set(names)), at
    assert colliding == 3  # ActivitySource, activityType, SubscriptionChange.channel


def test_no_schema_is_a_choice_of_required_fields_alone() -> None:
    """An anyOf (or oneOf) whose branches only require fields leaves generated clients without a
    type (openapi-python-client's Any, openapi-typescript's unknown): minProperties says "one
    of them" of an object that holds nothing else."""

    def choices(node: object, at: str) -> Iterator[str]:
        if isinstance(node, dict):
            for keyword in ("anyOf", "oneOf"):
                branches = node.get(keyword, [])
                if branches and all(set(branch) == {"required"} for branch in branches):
                    yield f"{at}/{keyword}"
            for key, value in node.items():
                yield from choices(value, f"{at}/{key}")
        elif isinstance(node, list):
            for index, value in enumerate(node):
                yield from choices(value, f"{at}/{index}")

    assert list(choices(DOCUMENT, "#")) == []


def test_info_names_a_contact_and_a_license() -> None:
    assert DOCUMENT["info"]["contact"]["url"]
    assert DOCUMENT["info"]["license"]["name"]


@pytest.mark.parametrize("alias, canonical", DEPRECATED_ALIASES.items())
def test_deprecated_aliases_answer_as_their_canonical_path(alias: str, canonical: str) -> None:
    assert operation(alias)["deprecated"] is True
    assert "deprecated" not in operation(canonical)
    assert parameters(alias) == parameters(canonical)
    assert operation(alias)["responses"] == operation(canonical)["responses"]


def test_update_sample_keeps_the_documents_spellings() -> None:
    """The sample sends a mobile as a number and flags as strings: kept verbatim (lint checks
    that the body schema admits them)."""
    value = media(operation("updateCustomer")["requestBody"])["examples"]["updated"]["value"]
    assert value["profiles"][0]["identifiers"][0]["value"] == 919111111111
    assert value["profiles"][0]["commChannels"][0]["primary"] == "true"


ACTIVITY_SPELLINGS = {
    "BENEFITS_AVAILED",
    "benefitsAvailed",
    "BENEFITSAVAILED",
    "LINKING_UPDATES",
    "linkingUpdates",
    "LINKINGUPDATES",
}


def test_activity_accepts_every_documented_spelling() -> None:
    params = parameters("customeractivityhistories")
    assert set(resolve(params[("query", "activityType")]["schema"])["enum"]) == ACTIVITY_SPELLINGS
    assert "instore" in resolve(params[("query", "source")]["schema"])["enum"]
    limit = params[("query", "limit")]["schema"]
    assert (limit["minimum"], limit["maximum"], limit["default"]) == (0, 10, 10)


def values_of(schema: dict[str, Any]) -> set[str]:
    """The values a schema of strings lists: its enum or const, or its alternatives'."""
    schema = resolve(schema)
    values = set(schema.get("enum", [])) | ({schema["const"]} if "const" in schema else set())
    for alternative in schema.get("anyOf", []) + schema.get("oneOf", []):
        values |= values_of(alternative)
    return values


def test_every_operation_takes_the_same_sources() -> None:
    """A customer registered in a source is found, read and changed in it: every operation
    takes the same sources, and ALL where it reads (`instore` is a documented spelling)."""
    sources = values_of({"$ref": "#/components/schemas/Source"})
    assert "MOBILE_APP" in sources and len(sources) == 12
    taking = [op for op in OPERATIONS if ("query", "source") in parameters(op)]
    assert len(taking) == 9
    for operation_id in taking:
        taken = values_of(parameters(operation_id)[("query", "source")]["schema"])
        assert taken - {"ALL", "instore"} == sources, operation_id


CUSTOMER_ID_OPERATIONS = {
    "getCustomer",
    "updateCustomer",
    "changeCustomerIdentifier",
    "getSubscriptions",
    "updateSubscriptions",
    "getLoyaltyDetails",
    "getPointsExpirySchedule",
    "getPointsTransfers",
    "getRetroRequests",
}


def test_register_links_its_created_id_to_every_operation_on_a_customer() -> None:
    links = resolve(operation("registerCustomer")["responses"]["200"])["links"]
    by_target = {link["operationId"]: link for link in links.values()}
    assert CUSTOMER_ID_OPERATIONS <= set(by_target)
    for target in CUSTOMER_ID_OPERATIONS:
        assert by_target[target]["parameters"]["customerId"] == "$response.body#/createdId"
        assert ("path", "customerId") in parameters(target)


def test_every_operation_has_a_401_with_the_documented_message() -> None:
    unauthorized = media(DOCUMENT["components"]["responses"]["Unauthorized"])
    (error,) = unauthorized["examples"]["unauthorized"]["value"]["errors"]
    assert error["code"] == 401
    assert error["message"] == "Authentication failed. Please check username and password."
    for operation_id in OPERATIONS:
        assert operation(operation_id)["responses"]["401"] == {
            "$ref": "#/components/responses/Unauthorized"
        }


#: The operations whose documents say they are not rate limited ("Rate Limited? No", "Rate
#: limit: NA"), and their deprecated aliases.
NOT_RATE_LIMITED = {
    "customeractivityhistories",
    "customeractivityhistory",
    "getPointsTransfers",
    "getPointsTransferSummary",
    "getPromisedPointsSchedule",
}


def test_every_operation_declares_the_rate_limit_and_the_server_s_failures() -> None:
    responses = DOCUMENT["components"]["responses"]
    too_many = responses["TooManyRequests"]
    assert set(too_many["headers"]) == {
        "Retry-After",
        "RateLimit-Limit",
        "RateLimit-Remaining",
        "RateLimit-Reset",
    }
    for name, status in [("TooManyRequests", 429), ("ServerError", 500), ("Unavailable", 503)]:
        (example,) = media(responses[name])["examples"].values()
        (error,) = example["value"]["errors"]
        assert (error["status"], error["code"]) == (False, status)
        for operation_id in OPERATIONS:
            declared = operation(operation_id)["responses"].get(str(status))
            if status == 429 and operation_id in NOT_RATE_LIMITED:
                assert declared is None, operation_id
                assert "Not rate limited" in operation(operation_id)["description"]
            else:
                assert declared == {"$ref": f"#/components/responses/{name}"}, operation_id
