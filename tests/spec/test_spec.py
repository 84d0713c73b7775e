"""The spec package, capkit's bottom layer: $refs followed once for all, the server's path, the
names of places and fields."""

from __future__ import annotations

from typing import Any

import pytest

import spec

DOCUMENT = {
    "paths": {"/customers/{id}": {"get": {"parameters": [{"$ref": "#/components/parameters/id"}]}}},
    "components": {
        "parameters": {
            "id": {"$ref": "#/components/parameters/customerId"},
            "customerId": {"name": "customerId", "in": "path"},
        },
        "schemas": {
            "Loop": {"$ref": "#/components/schemas/Round"},
            "Round": {"$ref": "#/components/schemas/Loop"},
            "Self": {"$ref": "#/components/schemas/Self"},
            "a/b": {"type": "string"},
            "Listed": {"allOf": [{"type": "integer"}]},
        },
    },
}


def test_a_chain_of_refs_is_followed_to_its_end() -> None:
    (parameter,) = DOCUMENT["paths"]["/customers/{id}"]["get"]["parameters"]
    pointer, found = spec.follow(DOCUMENT, parameter, "/paths/~1customers~1{id}/get/parameters/0")
    assert pointer == "/components/parameters/customerId"
    assert found == {"name": "customerId", "in": "path"}


def test_a_node_without_a_ref_is_where_it_is() -> None:
    assert spec.follow(DOCUMENT, {"type": "integer"}, "/x") == ("/x", {"type": "integer"})


@pytest.mark.parametrize(
    ("ref", "target"),
    [
        ("#/components/schemas/a~1b", {"type": "string"}),
        ("#/components/schemas/a%7E1b", {"type": "string"}),  # percent-encoded, as a URI may be
        ("#/components/schemas/Listed/allOf/0", {"type": "integer"}),
    ],
)
def test_a_ref_is_a_json_pointer_in_a_uri_fragment(ref: str, target: Any) -> None:
    assert spec.follow(DOCUMENT, {"$ref": ref})[1] == target


@pytest.mark.parametrize(
    ("ref", "says"),
    [
        ("#/components/schemas/Loop", "'#/components/schemas/Loop' leads back to itself"),
        ("#/components/schemas/Self", "'#/components/schemas/Self' leads back to itself"),
        ("#/components/schemas/Nowhere", "'#/components/schemas/Nowhere' names nothing"),
        ("#/components/schemas/Listed/allOf/1", "names nothing in the document"),
        ("other.json#/components", "'other.json#/components' is not a place in this document"),
    ],
)
def test_a_ref_that_leads_nowhere_is_unresolvable_and_says_why(ref: str, says: str) -> None:
    with pytest.raises(spec.Unresolvable, match=says):
        spec.follow(DOCUMENT, {"$ref": ref})


def test_lookup_and_join_are_each_others_inverse() -> None:
    pointer = spec.join("/paths", "/customers/{id}", "get", "parameters", 0)
    assert pointer == "/paths/~1customers~1{id}/get/parameters/0"
    assert spec.lookup(DOCUMENT, pointer) == {"$ref": "#/components/parameters/id"}
    assert spec.lookup(DOCUMENT, "") is DOCUMENT
    with pytest.raises(LookupError):
        spec.lookup(DOCUMENT, "/paths/~1customers/get")


@pytest.mark.parametrize(
    ("path", "field"),
    [
        (["profiles", 0, "identifiers", 1, "value"], "profiles[0].identifiers[1].value"),
        (["loyaltyInfo", "loyaltyType"], "loyaltyInfo.loyaltyType"),
        ([2, "code"], "[2].code"),
        ([], ""),
    ],
)
def test_a_field_path_reads_as_code_would_reach_it(path: list[str | int], field: str) -> None:
    assert spec.field_path(path) == field


@pytest.mark.parametrize(
    ("servers", "path"),
    [
        ([{"url": "https://{host}/v2", "variables": {"host": {"default": "eu.example"}}}], "/v2"),
        ([{"url": "/api/"}], "/api"),
        (
            [{"url": "https://example.com/{version}", "variables": {"version": {"default": "v3"}}}],
            "/v3",
        ),
        ([], ""),
    ],
)
def test_server_path(servers: list[dict[str, Any]], path: str) -> None:
    assert spec.server_path({"servers": servers}) == path
    assert spec.server_path(spec.load()) == "/v2"
