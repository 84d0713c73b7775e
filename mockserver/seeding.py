"""Seed files at the mock's edge: read from disk (JSON or YAML) or a request, their shapes held
to the spec's schemas, then their customers to the rules (mockserver/domain/seed_files.py).

The shape of a seed file is built here from the spec's own schemas: a customer's profiles are
the spec's Profile (closed to its fields, so that a misspelt key is caught), its
subscriptions the spec's Subscription, its loyaltyDetails the LoyaltyProgramDetail, and so on.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import jsonschema_rs
import msgspec
from jsonschema_rs import ValidationErrorKind as Kind

from mockserver.contract import schema_validator, spec_ref
from mockserver.domain import seed_files
from mockserver.domain.records import Customer, Org
from mockserver.domain.seed_files import InvalidSeed, Problem
from mockserver.validation import (
    TooDeepToValidate,
    describe,
    schema_errors,
    whole_numbers_as_integers,
)
from spec import Document, field_path, load_yaml


def _schema(name: str) -> dict[str, Any]:
    return spec_ref(f"/components/schemas/{name}")


def _list(items: dict[str, Any]) -> dict[str, Any]:
    return {"type": "array", "items": items}


_ACTIVITY = spec_ref(
    "/components/schemas/ActivityHistories/properties/data/items/properties"
    "/customerActivityHistory/items"
)
_PROMISED = "/components/schemas/PromisedPointsSchedule/properties"
#: A customer's id, as the API takes it in a path: from 1, in 64 bits.
_CUSTOMER_ID = spec_ref("/components/parameters/customerId/schema")
#: A seed file, of the spec's schemas (see the module's docstring).
SEED_FILE: dict[str, Any] = {
    "type": "object",
    "required": ["customers"],
    "additionalProperties": False,
    "properties": {
        "customers": _list(
            {
                "type": "object",
                "required": ["id", "loyaltyInfo"],
                "additionalProperties": False,
                "properties": {
                    "id": _CUSTOMER_ID,
                    "profiles": _list(
                        {
                            **_schema("Profile"),
                            "properties": {"source": _schema("Source")},
                            "unevaluatedProperties": False,
                        }
                    ),
                    "loyaltyInfo": _schema("LoyaltyInfo"),
                    "segments": {"type": "object"},
                    "extendedFields": _schema("FieldValues"),
                    "subscriptions": _list(_schema("Subscription")),
                    "loyaltyDetails": _list(_schema("LoyaltyProgramDetail")),
                    "expirySchedules": _list(_schema("ExpirySchedule")),
                    "promisedPoints": spec_ref(f"{_PROMISED}/promisedPointsScheduleList"),
                    "triggerBasedPoints": spec_ref(f"{_PROMISED}/triggerBasedPointsList"),
                    "promotionalPoints": _schema("PromotionalPoints"),
                    "pointsTransfers": _list(_schema("PointsTransfer")),
                    "retroRequests": _list(_schema("RetroRequest")),
                    "partnerPrograms": _list(
                        {
                            "type": "object",
                            "required": ["partnerProgramDetails"],
                            "additionalProperties": False,
                            "properties": {
                                "partnerProgramDetails": _schema("PartnerProgramDetails"),
                                "linkingUpdates": _list(_ACTIVITY),
                                "benefitsAvailed": _list(_ACTIVITY),
                            },
                        }
                    ),
                    "mergedInto": _CUSTOMER_ID,
                },
            }
        )
    },
}


#: The media types of a YAML body (RFC 9512's, and those in use before it).
YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml")


class SeedUnreadable(ValueError):
    """A seed file that cannot be read, or is neither JSON nor YAML."""


class SeedRefused(ValueError):
    """The seed file PATH (None: a request's body) cannot be loaded; PROBLEMS says why, each
    naming the customer, the field and what was expected."""

    def __init__(self, path: Path | None, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.path = path
        self.problems = problems


class Seeding:
    """Seed files for the mock of DOCUMENT, whose customers belong to ORG."""

    def __init__(self, document: Document, org: Org) -> None:
        self.validator = schema_validator(document, SEED_FILE)
        self.org = org
        profile = document["components"]["schemas"]["Profile"]
        #: The fields a seed file takes at a path in it: at its top, in a customer, a profile.
        self._fields = {
            0: tuple(SEED_FILE["properties"]),
            2: tuple(SEED_FILE["properties"]["customers"]["items"]["properties"]),
            4: tuple(profile.get("properties", ())),
        }

    def _fields_at(self, path: Sequence[str | int]) -> Sequence[str]:
        """The fields a seed file takes at PATH: at its top, in a customer, in a profile."""
        if len(path) == 4 and path[2] != "profiles":  # another list of a customer's
            return ()
        return self._fields.get(len(path), ())

    def start(self, paths: Sequence[Path], documented: Iterable[Customer]) -> list[Customer]:
        """The customers a mock starts from: DOCUMENTED, then those of each file of PATHS in
        turn, a customer taking the place of the one before it with its id. Raises
        SeedRefused for the first file that cannot be loaded."""
        customers = list(documented)
        for path in paths:
            try:
                loaded = self.customers(read(path), alongside=customers)
            except InvalidSeed as error:
                raise SeedRefused(path, [str(problem) for problem in error.problems]) from None
            except SeedUnreadable as error:
                raise SeedRefused(path, [str(error)]) from None
            ids = {customer.id for customer in loaded}
            customers = [c for c in customers if c.id not in ids] + loaded
        return customers

    def customers(self, written: Any, *, alongside: Iterable[Customer]) -> list[Customer]:
        """The customers of the seed file WRITTEN, to join ALONGSIDE. Raises InvalidSeed with
        every problem of its shapes, or else of its customers."""
        try:
            errors = schema_errors(self.validator, written)
        except TooDeepToValidate:
            raise InvalidSeed([Problem("the seed file", "", "is nested too deep")]) from None
        problems = [_problem(written, error, self._fields_at) for error in errors]
        problems += _shared_ids(written)
        if problems:
            raise InvalidSeed(problems)
        return seed_files.customers_of(written["customers"], self.org, alongside=alongside)


def read(path: Path) -> Any:
    """The seed file at PATH, YAML for a .yaml or .yml file, else JSON. Raises SeedUnreadable."""
    try:
        text = path.read_bytes()
    except OSError as error:
        raise SeedUnreadable(f"cannot read {path}: {error.strerror or error}") from None
    is_yaml = path.suffix.lower() in (".yaml", ".yml")
    try:
        return decode(text, is_yaml=is_yaml)
    except ValueError as error:
        kind = "YAML" if is_yaml else "JSON (a .yaml or .yml file is read as YAML)"
        raise SeedUnreadable(f"{path} is not {kind}: {error}") from None


def decode(text: bytes, *, is_yaml: bool) -> Any:
    """TEXT, a seed file, as the JSON it is or the YAML it is if IS_YAML. Raises ValueError
    (msgspec's DecodeError, UnicodeDecodeError, YAML's) saying why it is not."""
    try:
        written = load_yaml(text.decode()) if is_yaml else msgspec.json.decode(text)
    except RecursionError:  # nesting as deep as Python's recursion limit
        raise ValueError("it is nested too deep to be read") from None
    return whole_numbers_as_integers(written)


def _problem(
    written: Any,
    error: jsonschema_rs.ValidationError,
    fields_at: Callable[[Sequence[str | int]], Sequence[str]],
) -> Problem:
    """ERROR of a seed file's shapes as a problem of the customer it is in."""
    path = list(error.instance_path)
    if len(path) < 2 or path[0] != "customers":
        if isinstance(error.kind, Kind.Required):
            path = [*path, error.kind.property]
        return Problem("the seed file", field_path(path), _expected(error, fields_at))
    index = path[1]
    assert isinstance(index, int)
    found = written["customers"][index]
    customer_id = found.get("id") if isinstance(found, dict) else None
    label = f"customer {customer_id}" if isinstance(customer_id, int) else f"customers[{index}]"
    field = path[2:]
    if isinstance(error.kind, Kind.Required):
        field = [*field, error.kind.property]
    return Problem(label, field_path(field), _expected(error, fields_at))


def _shared_ids(written: Any) -> list[Problem]:
    """A problem for each customer of the file WRITTEN with the id of one before it: which of
    the two the file meant is not the mock's to guess."""
    customers = written.get("customers") if isinstance(written, dict) else None
    problems: list[Problem] = []
    first: dict[int, int] = {}
    for index, customer in enumerate(customers if isinstance(customers, list) else ()):
        customer_id = customer.get("id") if isinstance(customer, dict) else None
        if not isinstance(customer_id, int) or isinstance(customer_id, bool):
            continue
        if customer_id in first:
            problems.append(
                Problem(
                    f"customers[{index}]",
                    "id",
                    f"an id of its own, got {customer_id}, the id of customers"
                    f"[{first[customer_id]}] too",
                )
            )
        first.setdefault(customer_id, index)
    return problems


def _expected(
    error: jsonschema_rs.ValidationError,
    fields_at: Callable[[Sequence[str | int]], Sequence[str]],
) -> str:
    if isinstance(error.kind, Kind.Required):
        return "is required"
    return describe(error, "", fields_at).strip()
