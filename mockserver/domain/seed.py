"""The customers of the documents, which a fresh mock holds, and the org they belong to.

seed.json keeps each documented sample's data as the documents show it; docs/FIDELITY.md
says which sample each customer answers, and which ids and identifiers capkit chose where
the documents name none. A loyalty customer whose points the documents do not show is
enrolled as a registration enrols one: with an empty account in the org's default program.
"""

from __future__ import annotations

import dataclasses
from importlib.resources import files

import msgspec

from mockserver.domain import points
from mockserver.domain.records import Customer, Org


@dataclasses.dataclass(frozen=True)
class Seed:
    org: Org
    customers: tuple[Customer, ...]


def load() -> Seed:
    """The seed that ships with the mock."""
    documented = msgspec.json.decode(
        files("mockserver.domain").joinpath("seed.json").read_bytes(), type=Seed
    )
    return dataclasses.replace(
        documented,
        customers=tuple(
            points.enrolled(customer, documented.org)
            if customer.loyalty_type == "loyalty" and not customer.points.accounts
            else customer
            for customer in documented.customers
        ),
    )
