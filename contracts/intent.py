"""What the fuzzer meant by a request: valid input for its operation, or invalid on purpose.

schemathesis sends both. Besides the requests it generates to be valid, it sends negative data,
methods an operation does not have, bodies of another Content-Type, and ignored_auth's probes
without credentials or with invalid ones. `capkit fuzz --har` marks each entry with what was
meant, so that `capkit verify` holds as an app's requests only those meant to be valid, and
contracts.checks judges "valid input refused" on the same ones.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from schemathesis import Case
from schemathesis.generation.meta import (
    CONTENT_TYPE_PROBES,
    CoveragePhaseData,
    StatefulPhaseData,
)
from schemathesis.specs.openapi._auth_retry import INVALID_AUTH_HEADERS, INVALID_CREDENTIAL

from spec import credentials

__all__ = ["Intent", "intent_of", "shown_headers"]

#: The credentials ignored_auth probes with: made up, so shown as sent, never masked.
PROBE_CREDENTIALS = frozenset({INVALID_CREDENTIAL, *INVALID_AUTH_HEADERS.values()})


@dataclasses.dataclass(frozen=True)
class Intent:
    """Whether a request was sent as valid input, and if not, what was made invalid."""

    valid: bool
    #: What the request gets wrong on purpose; empty for a valid one.
    invalid: str = ""

    def mark(self) -> dict[str, str]:
        """The HAR entry's custom field `_capkit`: {"sentAs": "valid"} or "invalid" and why."""
        if self.valid:
            return {"sentAs": "valid"}
        return {"sentAs": "invalid", "invalid": self.invalid}


VALID = Intent(valid=True)


def intent_of(case: Case[Any], headers: Mapping[str, Any], *, authenticated: bool) -> Intent:
    """What CASE, sent with HEADERS, was meant to be; AUTHENTICATED: the run sends credentials."""
    if case.method.upper() != case.operation.method.upper():
        return Intent(False, f"method {case.method.upper()}, which {case.operation.path} lacks")
    sent = {name.lower(): value for name, value in headers.items()}
    carried = [sent[name] for name in credentials.HEADERS if name in sent]
    if any(value in PROBE_CREDENTIALS for value in carried):
        return Intent(False, "invalid credentials (made up by ignored_auth)")
    if authenticated and not carried:
        return Intent(False, "no credentials (ignored_auth's probe)")
    # Reading `meta` revalidates a case: a "negative" case that came out valid says so.
    meta = case.meta
    if meta is None:
        return VALID
    data = meta.phase.data
    if isinstance(data, CoveragePhaseData) and data.scenario in CONTENT_TYPE_PROBES:
        return Intent(False, data.description)
    if meta.generation.mode.is_negative:
        where = ", ".join(
            str(location.value)
            for location, component in meta.components.items()
            if component.mode.is_negative
        )
        description = data.description or "negative data"
        return Intent(False, f"{description} ({where})" if where else description)
    empty = _empty_array(case)
    if empty is not None:
        # requests writes an empty list as `name=`, which reads back as one empty item.
        return Intent(False, f"{empty!r} empty: an empty array goes out as {empty}=")
    fractional = _fractional_integer(case)
    if fractional is not None:
        # JSON Schema counts 306.0 as an integer; a link carries it from an answer that wrote it
        # so (contracts.carried names that answer), and it goes out as '306.0'.
        source = " (carried from an earlier answer)" if isinstance(data, StatefulPhaseData) else ""
        return Intent(False, f"{fractional}{source}, which is no integer")
    return VALID


def shown_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """HEADERS as capkit shows them: credentials masked, except ignored_auth's made-up ones."""
    return {
        name: value if value in PROBE_CREDENTIALS else credentials.masked(name, value)
        for name, value in headers.items()
    }


def _empty_array(case: Case[Any]) -> str | None:
    query = case.query or {}
    return next(
        (
            parameter.name
            for parameter in case.operation.query
            if parameter.definition.get("schema", {}).get("type") == "array"
            and query.get(parameter.name) in ([], "")
        ),
        None,
    )


def _fractional_integer(case: Case[Any]) -> str | None:
    """The first integer parameter of CASE whose value is a number with a fraction (306.0), as
    "path parameter customerId 306.0 goes out as '306.0'"; None when there is none."""
    operation = case.operation
    for parameters, values in (
        (operation.path_parameters, case.path_parameters),
        (operation.query, case.query),
        (operation.headers, case.headers),
    ):
        for parameter in parameters:
            value = (values or {}).get(parameter.name)
            kind = parameter.definition.get("schema", {}).get("type")
            if isinstance(value, float) and kind == "integer":
                return (
                    f"{parameter.location.value} parameter {parameter.name} {value!r} goes out"
                    f" as {str(value)!r}"
                )
    return None
