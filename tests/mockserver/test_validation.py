"""The sentences a client reads when a value breaks a bound of the spec."""

from __future__ import annotations

from typing import Any

import jsonschema_rs
import pytest

from mockserver.validation import describe


@pytest.mark.parametrize(
    ("schema", "value", "sentence"),
    [
        ({"minimum": 1}, 0, "query parameter 'n' must be at least 1, got 0"),
        ({"exclusiveMinimum": 1}, 1, "query parameter 'n' must be greater than 1, got 1"),
        ({"maximum": 10}, 11, "query parameter 'n' must be at most 10, got 11"),
        ({"exclusiveMaximum": 10}, 10, "query parameter 'n' must be less than 10, got 10"),
    ],
)
def test_a_bound_is_named_with_its_kind(schema: dict[str, Any], value: int, sentence: str) -> None:
    (error,) = jsonschema_rs.validator_for(schema).iter_errors(value)
    assert describe(error, "query parameter 'n'") == sentence


def test_a_choice_of_required_fields_names_the_fields() -> None:
    schema = {"anyOf": [{"required": ["add"]}, {"required": ["remove"]}]}
    (error,) = jsonschema_rs.validator_for(schema).iter_errors({})
    assert describe(error, "body") == "body must have 'add' or 'remove'"
