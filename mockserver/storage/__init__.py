"""Where the customers are kept, behind a small interface the domain relies on.

A Store hands out transactions: `read()` for a consistent view, `write()` for a change
that is atomic and serialised with every other writer, in every worker process. The
identifiers a customer's profiles hold are indexed by the store: `save` refuses
(IdentifierTaken) to let two customers hold one identifier in one source and account.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from contextlib import AbstractContextManager
from typing import Protocol

from mockserver.domain.records import Customer, Identifier


@dataclasses.dataclass(frozen=True)
class Holding:
    """Customer CUSTOMER_ID holds IDENTIFIER in SOURCE and ACCOUNT_ID."""

    customer_id: int
    source: str
    account_id: str
    identifier: Identifier


class IdentifierTaken(Exception):
    """Saving would give an identifier two holders in one source and account."""

    def __init__(self, holding: Holding) -> None:
        super().__init__(f"{holding.identifier} is taken in {holding.source}/{holding.account_id}")
        self.holding = holding


class Transaction(Protocol):
    def customer(self, customer_id: int) -> Customer | None:
        """The customer with this id, merged or not; None if there is none."""

    def holders(
        self, identifier: Identifier, *, source: str | None = None, account_id: str | None = None
    ) -> list[Holding]:
        """Who holds IDENTIFIER, in SOURCE/ACCOUNT_ID, or in any source or account if None."""

    def search(self, prefix: str) -> list[Customer]:
        """Live customers whose first name, last name or an identifier starts with PREFIX
        (case-insensitive), in the order they were added."""

    def customers(self) -> list[Customer]:
        """Every customer, in the order they were added."""

    def save(self, customer: Customer) -> None:
        """Insert or replace CUSTOMER and its identifiers; raise IdentifierTaken."""

    def new_id(self) -> int:
        """An id no customer has."""


class Store(Protocol):
    def read(self) -> AbstractContextManager[Transaction]: ...

    def write(self) -> AbstractContextManager[Transaction]: ...

    def reset(self, customers: Iterable[Customer]) -> None:
        """Forget everything and hold exactly CUSTOMERS (the seed)."""

    def close(self) -> None: ...
