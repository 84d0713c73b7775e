"""Where the customers are kept: the interface the domain relies on, and the rules that every
backend shares (which ids new customers get, what search finds a customer by).

A Store hands out transactions: `read()` for a consistent view that cannot change anything,
`write()` for a change that is atomic and serialised with every other writer, in every worker
process (of every replica, for a store that replicas share). The identifiers a customer's
profiles hold are indexed by the store: `save` refuses (IdentifierTaken) to let two customers
hold one identifier in one source and account.
Beside the customers it keeps what the workers share about how they answer: settings put at
runtime (`share_settings`) and counts (`count`: requests per credential and time window, the
sequence of requests). A store behind a network raises StoreUnavailable from any of these
while it cannot be reached. tests/mockserver/storage/test_store.py is what a backend must pass.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from typing import Protocol

from mockserver.domain.records import Blob, Customer, Identifier, Profile

#: The id of the first customer registered on a fresh or reset store: the documented createdId.
FIRST_NEW_ID = 316452956


@dataclasses.dataclass(frozen=True)
class Holding:
    """Customer CUSTOMER_ID holds IDENTIFIER in SOURCE and ACCOUNT_ID."""

    customer_id: int
    source: str
    account_id: str
    identifier: Identifier


class StateUnusable(ValueError):
    """The state setting names no store that can be opened; the message says why."""


class IdentifierTaken(Exception):
    """Saving would give an identifier two holders in one source and account."""

    def __init__(self, holding: Holding) -> None:
        super().__init__(f"{holding.identifier} is taken in {holding.source}/{holding.account_id}")
        self.holding = holding


class StoreUnavailable(ConnectionError):
    """The store cannot be reached now (a database server down, restarting or too slow to
    answer); the transaction did not complete, and the store comes back by itself."""


def search_key(text: str) -> str:
    """TEXT as search compares it: case-folded, so that search ignores case (lower() keeps
    apart what casefold() does not: a final Σ lowers to ς, the same letter inside a word to σ,
    so ΟΔΥΣ was no prefix of ΟΔΥΣΣΕΥΣ)."""
    return text.casefold()


def search_fields(profile: Profile) -> list[tuple[str, str]]:
    """What search finds PROFILE by, as (idType, value): its names and identifier values."""
    fields = [("firstName", profile.first_name), ("lastName", profile.last_name)]
    fields += [(identifier.type, identifier.value) for identifier in profile.identifiers]
    return [(kind, value) for kind, value in fields if value]


def search_terms(customer: Customer) -> set[tuple[str, str, str]]:
    """The search keys CUSTOMER is found by, each as (source, account_id, key) of the profile
    it is found in; none once merged, as search shows live customers."""
    if customer.merged_into is not None:
        return set()
    return {
        (profile.source, profile.account_id, search_key(value))
        for profile in customer.profiles
        for _, value in search_fields(profile)
    }


def respelt(holdings: Iterable[Holding]) -> list[int]:
    """The customers of HOLDINGS (every holding of a state, or every one of the types in
    RESPELT_TYPES) that hold an identifier in another spelling than its canonical form, as a
    capkit before canonical identifiers kept it, by id. Raises StateUnusable, naming them, for
    two customers that hold one identifier in one source and account in two spellings: the
    state cannot be brought up to date without taking it from one of them."""
    holders: dict[tuple[str, str, Identifier], Holding] = {}
    respelt: set[int] = set()
    collisions: list[tuple[Holding, Holding]] = []
    for holding in holdings:
        canonical = holding.identifier.canonical()
        if canonical != holding.identifier:
            respelt.add(holding.customer_id)
        first = holders.setdefault((holding.source, holding.account_id, canonical), holding)
        if first.customer_id != holding.customer_id:
            collisions.append((first, holding))
    if collisions:
        first, second = collisions[0]
        canonical = first.identifier.canonical()
        place = first.source + (f" account {first.account_id}" if first.account_id else "")
        more = len(collisions) - 1
        raise StateUnusable(
            f"holds customers {first.customer_id} and {second.customer_id} with one"
            f" {canonical.type}, {canonical.value!r}, in {place}, spelt"
            f" {first.identifier.value!r} and {second.identifier.value!r}"
            + (f" (and {more} more identifier(s) like it)" if more else "")
            + ": this capkit keeps an identifier in one spelling, held by one customer; remove"
            " it from one of them with the capkit that wrote this state (changeIdentifier),"
            " then start this one again"
        )
    return sorted(respelt)


def canonical_customer(customer: Customer) -> Customer:
    """CUSTOMER with its identifiers in their canonical form, each once in a profile."""
    return dataclasses.replace(
        customer,
        profiles=tuple(
            dataclasses.replace(
                profile,
                identifiers=tuple(dict.fromkeys(i.canonical() for i in profile.identifiers)),
            )
            for profile in customer.profiles
        ),
    )


@dataclasses.dataclass(frozen=True)
class Found:
    """What a search found: how many customers match, and the page of them asked for."""

    total: int
    customers: list[Customer]


class ReadTransaction(Protocol):
    def customer(self, customer_id: int) -> Customer | None:
        """The customer with this id, merged or not; None if there is none."""

    def holders(
        self, *identifiers: Identifier, source: str | None = None, account_id: str | None = None
    ) -> list[Holding]:
        """Who holds any of IDENTIFIERS, in SOURCE/ACCOUNT_ID, or in any source or account if
        None; the holders of each identifier together, in the order asked, and in the order
        the customers were first stored, then by source and account (an identifier may be
        held by several customers in several sources). (Asking for several at once spares
        PostgreSQL a round trip each.)"""

    def search(
        self,
        prefix: str,
        *,
        source: str | None = None,
        account_id: str = "",
        limit: int | None = None,
        offset: int = 0,
    ) -> Found:
        """The customers with a search term (search_terms) that starts with search_key(PREFIX),
        taken literally, in SOURCE's account ACCOUNT_ID ("" for a source of one account), or
        in any source if SOURCE is None: how many, and LIMIT of them (all if None) from
        OFFSET, in the order they were added. The database counts and pages them: a search
        by one letter matches most customers, and decodes a page of them."""

    def customers(self) -> list[Customer]:
        """Every customer, in the order they were added (a saved one keeps its place)."""


class WriteTransaction(ReadTransaction, Protocol):
    def save(self, customer: Customer) -> None:
        """Insert or replace CUSTOMER, its identifiers and its search terms; raise
        IdentifierTaken, having changed nothing."""

    def save_all(self, customers: Sequence[Customer]) -> None:
        """Insert or replace CUSTOMERS (of distinct ids) as one: an identifier one of them
        held may go to another, in any order (a seed file moves them). Raise IdentifierTaken,
        having changed nothing, for an identifier of another customer or of two of them, in
        one source and account. Several thousand cost PostgreSQL a few round trips, where
        a save each took one each."""

    def new_id(self) -> int:
        """An id no customer has: FIRST_NEW_ID on a fresh or reset store, then one past the
        last that a committed write took, skipping the ids customers hold."""


class Store(Protocol):
    def read(self) -> AbstractContextManager[ReadTransaction]:
        """A view of the store for the block, which cannot change it. Each lookup sees every
        write committed before it; SQLite gives the whole block one snapshot, PostgreSQL each
        statement (a write of another replica may commit between two lookups of a block)."""

    def write(self) -> AbstractContextManager[WriteTransaction]:
        """A transaction that commits when the block ends, and changes nothing if it raises."""

    def reset(self, customers: Iterable[Customer]) -> None:
        """Forget every customer, id and count, and hold exactly CUSTOMERS (the seed); atomic.
        Shared settings stay."""

    def shared_settings(self) -> Blob | None:
        """The settings shared by every worker, None while none are. Asked on every request:
        cheap while they do not change."""

    def share_settings(self, settings: Blob | None) -> None:
        """Put SETTINGS in place of any before (None: none), in force in this worker at once,
        and in the others from their next request (SQLite), or once the database's notification
        reaches them, moments after (PostgreSQL)."""

    def count(self, key: str, window: int) -> int:
        """Count one more of KEY in WINDOW, a number that only grows (such as the minute of
        the clock), across every worker; return how many there were in it, this one included.
        A later window of KEY starts again from 1."""

    def counted(self, key: str, window: int) -> int:
        """How many of KEY were counted in WINDOW, counting none: 0 for a key not counted
        since the last reset, or counted in another window."""

    def check_writable(self) -> None:
        """Raise StoreUnavailable, saying why, when the store would take no write now (a
        database that is a standby, or set read-only; a file the mock may no longer write)."""

    def close(self) -> None:
        """Let go of this thread's connection; the store opens another when used again."""
