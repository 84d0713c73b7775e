"""contracts.options: what a run may be asked, and the schemathesis configuration it makes."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from contracts import BadOption, FuzzOptions
from contracts.options import CHECKS, SAFE_METHODS, parse_header, schemathesis_config

BASE_URL = "http://127.0.0.1:8080/v2"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"auth": "till"}, "--auth has value 'till'; expected 'till:password'"),
        ({"auth": ":pw"}, "--auth has value ':pw'; expected 'till:password'"),
        ({"max_examples": 0}, "--max-examples has value 0; expected at least 1"),
        ({"max_time": -5}, "--max-time has value -5; expected at least 1"),
        ({"workers": 0}, "--workers has value 0; expected at least 1"),
        ({"rate_limit": "fast"}, "--rate-limit has value 'fast'; expected requests/unit"),
        ({"rate_limit": "100/week"}, "(at least 1 request, a unit of s, m, h or d), as in 100/m"),
        ({"rate_limit": "0/m"}, "--rate-limit has value '0/m'; expected requests/unit"),
        ({"rate_limit": "-5/s"}, "--rate-limit has value '-5/s'; expected requests/unit"),
    ],
)
def test_an_option_the_run_cannot_take_says_which_and_why(
    options: dict[str, Any], message: str
) -> None:
    with pytest.raises(BadOption) as raised:
        FuzzOptions(**options)
    assert message in str(raised.value)


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({"X-Bad": "a\rb"}, "--header has value 'X-Bad: a\\rb'; a header value cannot hold '\\r'"),
        ({"X-Bad": "a\nb"}, "a header value cannot hold '\\n'"),
        ({"X-Bad": "a\x00b"}, "a header value cannot hold '\\x00'"),
        ({"X-Euro": "\u20ac"}, "expected printable Latin-1 characters"),
        ({"Content-Length": "5"}, "the HTTP client sets Content-Length itself on each request"),
        ({"transfer-encoding": "chunked"}, "the HTTP client sets transfer-encoding itself"),
        ({"Connection": "close"}, "the HTTP client sets Connection itself"),
        ({"Host": "a b"}, "expected a host name or address and an optional port"),
        ({"Host": ""}, "expected a host name or address and an optional port"),
        # contract_test takes headers as a mapping, which no parse_header saw.
        ({"X\rY": "1"}, "expected 'Name: value'"),
    ],
)
def test_a_header_no_request_can_send_as_given_is_refused(
    headers: dict[str, str], message: str
) -> None:
    with pytest.raises(BadOption) as raised:
        FuzzOptions(headers=headers)
    assert message in str(raised.value)
    assert "\n" not in str(raised.value)


def test_a_host_header_is_sent_as_given_for_a_target_that_serves_by_name() -> None:
    for host in ("mock.internal:8080", "[fd00::2]:80", "10.0.3.7"):
        assert FuzzOptions(headers={"Host": host}).headers == {"Host": host}
    options = FuzzOptions(headers={"Host": "mock.internal"})
    project = schemathesis_config(options, BASE_URL).projects.get_default()
    assert project.headers == {"Host": "mock.internal"}


def test_a_tab_and_latin_1_are_a_header_values_to_send() -> None:
    assert (
        FuzzOptions(headers={"X-Note": "caf\u00e9\tau lait"}).headers["X-Note"]
        == "caf\u00e9\tau lait"
    )


def test_the_password_goes_as_capillary_takes_it_its_md5() -> None:
    credentials = FuzzOptions(auth="west.till:s3cret:with:colons").basic_credentials
    assert credentials == ("west.till", hashlib.md5(b"s3cret:with:colons").hexdigest())
    assert FuzzOptions().basic_credentials is None


@pytest.mark.parametrize(
    ("text", "header"),
    [
        ("X-CAP-API-OAUTH-TOKEN: abc", ("X-CAP-API-OAUTH-TOKEN", "abc")),
        ("Accept-Language:en", ("Accept-Language", "en")),
        ("X-Note: a: b", ("X-Note", "a: b")),
    ],
)
def test_a_header_is_name_colon_value(text: str, header: tuple[str, str]) -> None:
    assert parse_header(text) == header


@pytest.mark.parametrize("text", ["no colon", ": value", " X-Padded: 1", "Two Words: 1"])
def test_anything_else_is_not_a_header(text: str) -> None:
    with pytest.raises(BadOption, match="expected 'Name: value'"):
        parse_header(text)


def test_every_check_is_on_and_positive_data_acceptance_takes_capillarys_business_errors() -> None:
    config = schemathesis_config(FuzzOptions(), BASE_URL).projects.get_default()
    checks = config.checks
    builtin = [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_schema_conformance",
        "response_headers_conformance",
        "positive_data_acceptance",
        "negative_data_rejection",
        "use_after_free",
        "ensure_resource_availability",
        "missing_required_header",
        "ignored_auth",
        "unsupported_method",
        "allow_header_conformance",
    ]
    assert [name for name in builtin if not checks.get_by_name(name=name).enabled] == []
    assert "400" in checks.positive_data_acceptance.expected_statuses
    # Only positive_data_acceptance is configured; the rest keep schemathesis' defaults.
    assert set(CHECKS) == {"enabled", "positive_data_acceptance"}


def test_a_run_is_reproducible_and_leaves_nothing_behind() -> None:
    config = schemathesis_config(FuzzOptions(seed=42), BASE_URL)
    project = config.projects.get_default()
    assert config.seed == 42
    assert project.generation.database == ":memory:"
    assert not config.cache.enabled
    assert project.continue_on_failure


def test_the_options_reach_schemathesis() -> None:
    options = FuzzOptions(
        auth="till:pw",
        headers={"X-CAP-API-OAUTH-TOKEN": "t"},
        max_examples=7,
        max_time=30,
        workers=3,
        rate_limit="100/m",
    )
    config = schemathesis_config(options, BASE_URL)
    project = config.projects.get_default()
    assert project.base_url == BASE_URL
    assert project.auth.basic == ("till", hashlib.md5(b"pw").hexdigest())
    assert project.headers == {"X-CAP-API-OAUTH-TOKEN": "t"}
    assert project.generation.max_examples == 7
    assert config.max_time == 30
    assert project.workers == 3
    assert project.rate_limit is not None


@pytest.mark.parametrize("name", ["X-CAP-API-OAUTH-TOKEN", "x-cap-api-oauth-token"])
def test_a_token_header_is_the_specs_api_key_which_ignored_auth_can_alter(name: str) -> None:
    options = FuzzOptions(headers={name: "t", "X-Note": "n"})
    project = schemathesis_config(options, BASE_URL).projects.get_default()
    assert project.auth.openapi.schemes["oauthToken"].api_key == "t"
    assert project.headers == {"X-Note": "n"}


def test_beside_auth_a_credentials_header_goes_as_the_spec_names_it() -> None:
    # schemathesis takes one kind of auth; its probes strip a header by the spec's name.
    options = FuzzOptions(auth="till:pw", headers={"x-cap-api-oauth-token": "t"})
    project = schemathesis_config(options, BASE_URL).projects.get_default()
    assert project.headers == {"X-CAP-API-OAUTH-TOKEN": "t"}
    assert not project.auth.openapi.is_defined


def test_a_dollar_and_brace_are_sent_as_given_not_read_as_an_environment_variable() -> None:
    # schemathesis reads ${NAME} in its configuration's values from the environment: a header
    # 'X-Note: a${HOME}b' went with the home directory in it, '$${' went as '${', and a
    # variable not set made the configuration fail.
    options = FuzzOptions(auth="till${HOME}:pw", headers={"X-Note": "a${HOME}b$${NOT_SET}"})
    project = schemathesis_config(options, BASE_URL).projects.get_default()
    assert project.headers == {"X-Note": "a${HOME}b$${NOT_SET}"}
    assert project.auth.basic is not None and project.auth.basic[0] == "till${HOME}"
    token = FuzzOptions(headers={"X-CAP-API-OAUTH-TOKEN": "t${NOT_SET}"})
    project = schemathesis_config(token, BASE_URL).projects.get_default()
    assert project.auth.openapi.schemes["oauthToken"].api_key == "t${NOT_SET}"


def test_read_only_keeps_the_probe_for_undeclared_methods_to_safe_ones() -> None:
    read_only = schemathesis_config(FuzzOptions(read_only=True), BASE_URL).projects.get_default()
    everything = schemathesis_config(FuzzOptions(), BASE_URL).projects.get_default()
    assert read_only.phases.coverage.unexpected_methods == {m.lower() for m in SAFE_METHODS}
    assert {"post", "delete"} <= everything.phases.coverage.unexpected_methods
