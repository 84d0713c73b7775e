"""contracts.verify: recorded traffic against the spec, exchange by exchange."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

import spec
from contracts import HarUnreadable, Violation, load_har, verify_har
from mockserver import Settings, create_app

BASIC = {"name": "Authorization", "value": "Basic " + base64.b64encode(b"till:pw").decode()}
JSON = {"name": "Content-Type", "value": "application/json"}
LOOKUP = "http://localhost:8080/v2/customers/lookup"
FOUND = f"{LOOKUP}?source=INSTORE&identifierName=mobile&identifierValue=919111111111"


def entry(
    method: str,
    url: str,
    status: int,
    answer: Any,
    *,
    body: Any = None,
    headers: tuple[dict[str, str], ...] = (BASIC,),
) -> dict[str, Any]:
    request: dict[str, Any] = {"method": method, "url": url, "headers": list(headers)}
    if body is not None:
        request["headers"].append(JSON)
        request["postData"] = {"mimeType": "application/json", "text": json.dumps(body)}
    content = {"mimeType": "application/json", "text": json.dumps(answer)}
    return {
        "request": request,
        "response": {"status": status, "headers": [JSON], "content": content},
    }


def har(*entries: dict[str, Any]) -> dict[str, Any]:
    return {"log": {"version": "1.2", "entries": list(entries)}}


def error(code: int) -> dict[str, Any]:
    return {"warnings": [], "errors": [{"status": False, "code": code, "message": "m"}]}


def test_the_mocks_journal_of_documented_requests_conforms(tmp_path: Path) -> None:
    settings = Settings(state=str(tmp_path / "state.db"), journal=tmp_path / "journal.db")
    client = create_app(settings).test_client()
    headers = {BASIC["name"]: BASIC["value"]}
    path = FOUND.removeprefix("http://localhost:8080")
    document = spec.load()
    registration = document["paths"]["/customers"]["post"]["requestBody"]["content"]
    body = registration["application/json"]["examples"]["registered"]["value"]
    replies = [
        client.get(path, headers=headers),
        client.get("/v2/customers/17742?source=WECHAT&accountId=22232", headers=headers),
        client.post("/v2/customers?source=LINE&accountId=1234", json=body, headers=headers),
        client.get("/v2/customers/17742/subscriptions", headers=headers),
        client.get("/v2/customers/17742?source=ALL"),
    ]
    assert [reply.status_code for reply in replies] == [200, 200, 200, 200, 401]
    journal = client.get("/__admin/requests?format=har").get_json()
    # The last request has no credentials: the spec requires them, so it is a violation.
    [violation] = verify_har(journal, document)
    assert (violation.index, violation.side, violation.field) == (4, "request", "credentials")


VIOLATIONS = [
    (
        "a body field",
        entry(
            "POST",
            "http://localhost/v2/customers?source=INSTORE",
            400,
            error(400),
            body={"profiles": []},
        ),
        [
            ("request", "body field 'loyaltyInfo'", "'loyaltyInfo' is a required property"),
            ("request", "body field 'profiles'", "[] should be non-empty"),
        ],
    ),
    (
        "a missing parameter",
        entry("GET", f"{LOOKUP}?identifierName=mobile&identifierValue=1", 400, error(400)),
        [("request", "query parameter 'source'", "Missing required query parameter: source")],
    ),
    (
        "a field of the wrong type",
        entry("GET", FOUND, 200, {"entity": "306", "warnings": []}),
        [("response", "body field 'entity'", "'306' is not of type 'integer'")],
    ),
    (
        # JSON Schema counts 306.0 as an integer; carried into getCustomer's path it is '306.0'.
        "an integer with a fraction that the spec's links carry into a parameter",
        entry("GET", FOUND, 200, {"entity": 306.0, "warnings": []}),
        [
            (
                "response",
                "body field 'entity'",
                "is 306.0, an integer written with a fraction: the spec's links carry it into"
                " the integer path parameter customerId of getCustomer, getSubscriptions,"
                " getLoyaltyDetails and getPointsExpirySchedule, where it goes as '306.0',"
                " which is no integer; expected 306",
            )
        ],
    ),
    (
        "an undocumented status",
        entry("GET", FOUND, 502, error(502)),
        [
            (
                "response",
                "status",
                "is 502, not one the operation documents: 200, 400, 401, 429, 500, 503",
            )
        ],
    ),
    (
        "no operation",
        entry("GET", "http://localhost/v2/nowhere", 404, error(404)),
        [("exchange", "", "matches no operation of the spec")],
    ),
    (
        "no credentials",
        entry("GET", FOUND, 401, error(401), headers=()),
        [("request", "credentials", "none of the spec's security schemes is satisfied")],
    ),
]


@pytest.mark.parametrize(
    ("exchange", "expected"),
    [case[1:] for case in VIOLATIONS],
    ids=[case[0] for case in VIOLATIONS],
)
def test_each_violation_names_the_entry_its_side_and_field(
    exchange: dict[str, Any], expected: list[tuple[str, str, str]]
) -> None:
    conforming = entry("GET", FOUND, 200, {"entity": 306, "warnings": []})
    violations = verify_har(har(conforming, exchange), spec.load())
    assert {violation.index for violation in violations} == {1}
    found = [(violation.side, violation.field, violation.message) for violation in violations]
    assert len(found) == len(expected)
    for (side, field, message), (want_side, want_field, want_message) in zip(
        found, expected, strict=True
    ):
        assert (side, field) == (want_side, want_field)
        assert want_message in message


def test_a_violation_reads_as_index_method_url_field_and_message() -> None:
    violation = Violation(3, "GET", FOUND, "response", "body field 'entity'", "not an integer")
    assert str(violation) == f"entries[3] GET {FOUND}: response body field 'entity': not an integer"


def test_a_browsers_preflight_is_not_the_apps_traffic() -> None:
    preflight = entry(
        "OPTIONS",
        FOUND,
        204,
        None,
        headers=({"name": "Access-Control-Request-Method", "value": "GET"},),
    )
    assert verify_har(har(preflight), spec.load()) == []


def test_base64_bodies_are_read_as_the_text_they_encode() -> None:
    exchange = entry("GET", FOUND, 200, None)
    answer = json.dumps({"entity": 306, "warnings": []}).encode()
    exchange["response"]["content"] = {
        "mimeType": "application/json",
        "encoding": "base64",
        "text": base64.b64encode(answer).decode(),
    }
    assert verify_har(har(exchange), spec.load()) == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (None, "cannot read"),
        ("{not json", "is not JSON"),
        ('{"entries": []}', 'is not a HAR file: expected {"log": {"entries": [...]}}'),
        ('{"log": {"entries": {}}}', "is not a HAR file"),
    ],
)
def test_a_file_that_is_not_har_is_unreadable(
    tmp_path: Path, text: str | None, message: str
) -> None:
    path = tmp_path / "traffic.har"
    if text is not None:
        path.write_text(text)
    with pytest.raises(HarUnreadable) as raised:
        load_har(path)
    assert message in str(raised.value) and str(path) in str(raised.value)


def test_a_har_file_written_with_a_byte_order_mark_is_read(tmp_path: Path) -> None:
    path = tmp_path / "traffic.har"
    path.write_bytes(json.dumps(har()).encode("utf-8-sig"))
    assert load_har(path) == har()


SUBSCRIPTIONS = "http://localhost/v2/customers/17742/subscriptions"
NO_SUBSCRIPTIONS = {"subscriptions": [], "campaignId": 0, "communicationId": 0, "warnings": []}


def judged(*entries: dict[str, Any]) -> list[tuple[int, str, str, str]]:
    return [(v.index, v.side, v.field, v.message) for v in verify_har(har(*entries), spec.load())]


def test_head_is_its_paths_get_without_a_body() -> None:
    answer = entry("HEAD", FOUND, 200, None)
    answer["response"]["content"] = {"mimeType": "application/json", "text": ""}
    assert judged(answer) == []
    # Its request is judged as the GET's.
    wrong = entry("HEAD", f"{LOOKUP}?identifierName=mobile&identifierValue=1", 400, None)
    wrong["response"]["content"] = {"mimeType": "application/json", "text": ""}
    [(_, side, field, _)] = judged(wrong)
    assert (side, field) == ("request", "query parameter 'source'")


def test_a_query_parameter_the_operation_does_not_declare_is_invalid() -> None:
    [(index, side, field, message)] = judged(entry("GET", f"{FOUND}&foo=1", 400, error(400)))
    assert (index, side, field) == (0, "request", "query parameter 'foo'")
    assert message == (
        "is not a parameter of lookupCustomer"
        " (it takes source, accountId, identifierName, identifierValue)"
    )


@pytest.mark.parametrize(
    ("method", "url", "allowed"),
    [
        ("PATCH", "http://localhost/v2/customers/17742", "GET, PUT"),
        # A concrete path wins over a template, as the mock routes: lookup is not an id.
        ("PUT", LOOKUP, "GET"),
    ],
)
def test_a_method_the_path_lacks_is_invalid_and_answered_405(
    method: str, url: str, allowed: str
) -> None:
    assert judged(entry(method, url, 405, error(405))) == [
        (0, "request", "method", f"is {method}; this path has {allowed}")
    ]
    [*_, last] = judged(entry(method, url, 200, {"warnings": []}))
    assert last == (0, "response", "status", "200 to a method the path lacks; expected 405")


def test_options_is_https_own_and_skipped() -> None:
    assert judged(entry("OPTIONS", SUBSCRIPTIONS, 200, None, headers=())) == []


@pytest.mark.parametrize("masked", ["[Filtered]", "Basic [Filtered]"])
def test_a_masked_credential_counts_as_present(masked: str) -> None:
    credentials = {"name": "Authorization", "value": masked}
    exchange = entry("GET", SUBSCRIPTIONS, 200, NO_SUBSCRIPTIONS, headers=(credentials,))
    assert judged(exchange) == []
    token = {"name": "X-CAP-API-OAUTH-TOKEN", "value": "[Filtered]"}
    assert judged(entry("GET", SUBSCRIPTIONS, 200, NO_SUBSCRIPTIONS, headers=(token,))) == []


def test_a_body_over_the_specs_limit_is_invalid_even_unrecorded() -> None:
    limit = spec.load()["x-max-body-bytes"]
    refused = entry("POST", "http://localhost/v2/customers?source=INSTORE", 413, error(413))
    refused["request"]["bodySize"] = limit + 1
    assert judged(refused) == [
        (0, "request", "body", f"is {limit + 1} bytes, over the spec's limit of {limit} (413)")
    ]


def test_an_entry_sent_invalid_on_purpose_has_only_its_response_judged() -> None:
    negative = entry(
        "GET", f"{LOOKUP}?source=MYSPACE&identifierName=mobile&identifierValue=1", 400, error(400)
    )
    assert [side for _, side, _, _ in judged(negative)] == ["request"]
    negative["_capkit"] = {"sentAs": "invalid", "invalid": "Invalid enum value (query)"}
    assert judged(negative) == []
    negative["response"]["status"] = 502
    assert [side for _, side, _, _ in judged(negative)] == ["response"]


def test_an_exchange_that_got_no_answer_has_only_its_request_judged() -> None:
    reset = entry("GET", f"{FOUND}&bogus=1", 0, "")
    reset["response"]["comment"] = "no answer: the connection was reset (fault=reset)"
    assert [side for _, side, _, _ in judged(reset)] == ["request"]
    reset["request"]["url"] = FOUND
    assert judged(reset) == []


def test_the_mock_and_verify_agree_on_head_undeclared_parameters_methods_and_size(
    tmp_path: Path,
) -> None:
    settings = Settings(state=str(tmp_path / "state.db"), journal=tmp_path / "journal")
    client = create_app(settings).test_client()
    headers = {BASIC["name"]: BASIC["value"]}
    path = FOUND.removeprefix("http://localhost:8080")
    too_large = b'{"profiles": [' + b" " * spec.load()["x-max-body-bytes"] + b"]}"
    replies = [
        client.head(path, headers=headers),
        client.head(f"{path}&foo=1", headers=headers),
        client.get(f"{path}&foo=1", headers=headers),
        client.patch("/v2/customers/17742", headers=headers),
        client.put(path.split("?")[0], headers=headers),
        client.post(
            "/v2/customers?source=INSTORE",
            data=too_large,
            headers=headers | {"Content-Type": "application/json"},
        ),
    ]
    refused_by_the_mock = [reply.status_code >= 400 for reply in replies]
    assert refused_by_the_mock == [False, True, True, True, True, True]
    journal = client.get("/__admin/requests?format=har").get_json()
    refused_by_verify = {
        violation.index
        for violation in verify_har(journal, spec.load())
        if violation.side == "request"
    }
    assert [index in refused_by_verify for index in range(len(replies))] == refused_by_the_mock


def test_a_deprecated_spelling_of_a_parameter_is_valid_input() -> None:
    # retroRequest's Status is the customer document's spelling of status: deprecated, valid.
    url = "http://localhost/v2/customers/17742/retroRequest?Status=APPROVED&Type=GOODWILL"
    answer = {"pagination": {"limit": 0, "offset": 0, "total": 0}, **error(9050)}
    assert verify_har(har(entry("GET", url, 400, answer)), spec.load()) == []


@pytest.mark.parametrize(
    ("path", "refusal"),
    [
        # A generated client's id never filled in: the template itself, as sent and encoded.
        ("/v2/customers/{customerId}?source=ALL", "must be an integer, got '{customerId}'"),
        ("/v2/customers/%7BcustomerId%7D?source=ALL", "must be an integer, got '{customerId}'"),
        ("/v2/customers/%7BcustomerId%7D/subscriptions", "must be an integer, got '{customerId}'"),
        ("/v2/customers/306.0?source=ALL", "must be an integer, got '306.0'"),
        # What Python's int() reads, and an integer is not.
        ("/v2/customers/%20306?source=ALL", "must be an integer, got ' 306'"),
        (
            "/v2/customers/%EF%BC%93%EF%BC%90%EF%BC%96?source=ALL",
            "must be an integer, got '３０６'",
        ),
        ("/v2/customers/3_06?source=ALL", "must be an integer, got '3_06'"),
        ("/v2/customers/%31%37%37%34%32?source=ALL", None),
    ],
)
def test_a_path_parameter_is_judged_as_sent_decoded_as_the_mock_says(
    tmp_path: Path, path: str, refusal: str | None
) -> None:
    settings = Settings(state=str(tmp_path / "state.db"), journal=tmp_path / "journal")
    client = create_app(settings).test_client()
    reply = client.get(path, headers={BASIC["name"]: BASIC["value"]})
    journal = client.get("/__admin/requests?format=har").get_json()
    found = [(v.side, v.field, v.message) for v in verify_har(journal, spec.load())]
    if refusal is None:
        assert (reply.status_code, found) == (200, [])
        return
    assert reply.get_json()["errors"][0]["message"].endswith(
        f"path parameter 'customerId' {refusal}"
    )
    assert found == [("request", "path parameter 'customerId'", refusal)]
