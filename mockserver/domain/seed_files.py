"""Seed files: customers written in the API's own shapes, read into records and back.

A seed file is `{"customers": [...]}`, each customer as the API shows it: its `id`, the
`profiles`, `loyaltyInfo`, `segments` and `extendedFields` of a GET of the customer (a
profile with its `accountId` in a source of several accounts), and what the other reads
show of it: `subscriptions`, `loyaltyDetails` (an account per loyalty program),
`expirySchedules`, `promisedPoints`, `triggerBasedPoints`, `promotionalPoints`,
`pointsTransfers`, `retroRequests`, `partnerPrograms` (each its `partnerProgramDetails`,
`linkingUpdates` and `benefitsAvailed`), and `mergedInto` for a customer merged into another.
A key left out is empty. Derived fields that a read adds (a profile's `userId`) are ignored.

The shapes are checked against the spec's schemas before this module reads them (the caller
does it, as for a request); here each customer is held to the rules a registration obeys:
sources and accounts, valid identifiers, one holder per identifier in a source and account,
points of the org's programs that add up. Every problem is reported, naming the customer, the
field and what was expected; a file with one is refused whole.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from mockserver.domain import identity, points, subscriptions
from mockserver.domain.customers import loyalty_info
from mockserver.domain.errors import DomainError
from mockserver.domain.identity import MULTI_ACCOUNT_SOURCES, where
from mockserver.domain.records import (
    Blob,
    Customer,
    Identifier,
    Org,
    PartnerProgram,
    Points,
    Profile,
    Subscription,
)


@dataclasses.dataclass(frozen=True)
class Problem:
    """What is wrong in a seed file: the customer (`customer 17742`, or `customers[3]` for one
    without a usable id), the field within it, and what was expected."""

    customer: str
    field: str
    expected: str

    def __str__(self) -> str:
        return (
            f"{self.customer}: {self.field}: {self.expected}"
            if self.field
            else (f"{self.customer}: {self.expected}")
        )


class InvalidSeed(ValueError):
    """A seed file that breaks the rules; `problems` lists every one."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(map(str, problems)))
        self.problems = problems


def document(customers: Iterable[Customer]) -> Blob:
    """CUSTOMERS as a seed file, which customers_of reads back equal."""
    return {"customers": [customer_document(customer) for customer in customers]}


def customer_document(customer: Customer) -> Blob:
    """CUSTOMER in the API's shapes, the keys it would leave empty left out."""
    written: Blob = {
        "id": customer.id,
        "profiles": [_profile_document(profile) for profile in customer.profiles],
        "loyaltyInfo": loyalty_info(customer),
        "segments": customer.segments,
        "extendedFields": customer.extended_fields,
        "subscriptions": [_subscription_document(s) for s in customer.subscriptions],
        "loyaltyDetails": list(customer.points.accounts),
        "expirySchedules": list(customer.points.expiring),
        "promisedPoints": list(customer.points.promised),
        "triggerBasedPoints": list(customer.points.trigger_based),
        "promotionalPoints": customer.promotional_points,
        "pointsTransfers": list(customer.points_transfers),
        "retroRequests": list(customer.retro_requests),
        "partnerPrograms": [_program_document(p) for p in customer.partner_programs],
        "mergedInto": customer.merged_into,
    }
    return {key: value for key, value in written.items() if value not in (None, [], {})}


def customers_of(
    documents: Iterable[Any], org: Org, *, alongside: Iterable[Customer] = ()
) -> list[Customer]:
    """The customers of seed DOCUMENTS (each already of the spec's shapes), to join those
    ALONGSIDE, of which a document's customer with the same id takes the place; later
    documents take the place of earlier ones too. A loyalty customer without an account
    is enrolled as a registration enrols one.

    Raises InvalidSeed with every problem found, for the customers alone and together."""
    problems: list[Problem] = []
    read: dict[int, tuple[str, Customer]] = {}
    for index, written in enumerate(documents):
        label = f"customers[{index}]"
        if isinstance(written, Mapping) and isinstance(written.get("id"), int):
            label = f"customer {written['id']}"
        try:
            customer = _customer(written, org, problems, label)
        except _Refused:
            continue
        read[customer.id] = (label, customer)
    kept = {customer.id: customer for customer in alongside if customer.id not in read}
    everyone = kept | {customer_id: customer for customer_id, (_, customer) in read.items()}
    for label, customer in read.values():
        problems += _links(customer, everyone, label)
    problems += _holdings(read, kept)
    if problems:
        raise InvalidSeed(problems)
    return [customer for _, customer in read.values()]


class _Refused(Exception):
    """The customer has a problem that leaves nothing more to check (its problems are noted)."""


def _customer(written: Any, org: Org, problems: list[Problem], label: str) -> Customer:
    found: list[Problem] = []

    def refuse(field: str, expected: str) -> None:
        found.append(Problem(label, field, expected))

    loyalty = written["loyaltyInfo"]
    profiles = []
    for index, profile in enumerate(written.get("profiles", [])):

        def refuse_in_profile(field: str, expected: str, index: int = index) -> None:
            refuse(f"profiles[{index}].{field}", expected)

        profiles.append(_profile(profile, refuse_in_profile))
    places = [(p.source, p.account_id) for p in profiles]
    for place in sorted({place for place in places if places.count(place) > 1}):
        refuse("profiles", f"one profile per source and account; two are in {where(*place)}")
    merged_into = written.get("mergedInto")
    if merged_into is not None and profiles:
        refuse("profiles", f"none: the customer is merged into customer {merged_into}")
    try:
        account_points = Points(
            accounts=tuple(written.get("loyaltyDetails", [])),
            expiring=tuple(written.get("expirySchedules", [])),
            promised=tuple(written.get("promisedPoints", [])),
            trigger_based=tuple(written.get("triggerBasedPoints", [])),
        )
    except ValueError as error:
        refuse("loyaltyDetails", f"points that add up: {error}")
        account_points = Points()
    known = {program.id for program in org.programs}
    for index, account in enumerate(account_points.accounts):
        if account["programId"] not in known:
            refuse(
                f"loyaltyDetails[{index}].programId",
                f"one of the org's programs ({', '.join(map(str, sorted(known)))}),"
                f" got {account['programId']}",
            )
    subscribed = [_subscription(item) for item in written.get("subscriptions", [])]
    keys = [(s.channel, s.account_id, s.priority) for s in subscribed]
    for channel, account_id, priority in sorted({k for k in keys if keys.count(k) > 1}):
        refuse(
            "subscriptions",
            f"one subscription per channel, account and priority;"
            f" {channel} {priority}{f' in account {account_id}' if account_id else ''} is twice",
        )
    customer_id = written["id"]
    for index, transfer in enumerate(written.get("pointsTransfers", [])):
        sides = (transfer["transferredFrom"]["userId"], transfer["transferredTo"]["userId"])
        if customer_id not in sides:
            refuse(
                f"pointsTransfers[{index}]",
                f"a transfer from or to customer {customer_id},"
                f" got one from {sides[0]} to {sides[1]}",
            )
    problems += found
    if found:
        raise _Refused
    customer = Customer(
        id=customer_id,
        loyalty_type=loyalty["loyaltyType"],
        profiles=tuple(profiles),
        extended_fields=dict(written.get("extendedFields", {})),
        segments=dict(written.get("segments", {})),
        loyalty_attribution=loyalty.get("attributionV2"),
        lifetime_purchases=loyalty.get("lifetimePurchases"),
        merged_into=merged_into,
        subscriptions=tuple(subscribed),
        points=account_points,
        promotional_points=written.get("promotionalPoints"),
        points_transfers=tuple(written.get("pointsTransfers", [])),
        retro_requests=tuple(written.get("retroRequests", [])),
        partner_programs=tuple(_program(item) for item in written.get("partnerPrograms", [])),
    )
    # A merged customer's points are its survivor's.
    if customer.loyalty_type == "loyalty" and not customer.points.accounts and not merged_into:
        return points.enrolled(customer, org)
    return customer


def _profile(written: Blob, refuse: Callable[[str, str], None]) -> Profile:
    source = written["source"]
    account = written.get("accountId", "")
    if source in MULTI_ACCOUNT_SOURCES and not account:
        refuse("accountId", f"the account in {source}, a source of several accounts")
    if source not in MULTI_ACCOUNT_SOURCES and account:
        refuse("accountId", f"none: {source} has one account, got {account!r}")
    identifiers, seen = [], set()
    for index, item in enumerate(written.get("identifiers", [])):
        try:
            # The codes are the API's; a seed file's problem is told by its field instead.
            found = identity.valid_identifier(
                item, invalid_mobile=0, invalid_email=0, invalid_external_id=0
            )
        except DomainError as error:
            refuse(f"identifiers[{index}]", f"a valid identifier: {error.detail}")
            continue
        if found in seen:
            refuse(
                f"identifiers[{index}]",
                f"each identifier once: {found.type} {found.value!r} is there twice",
            )
        identifiers.append(found)
        seen.add(found)
    channels = []
    for index, item in enumerate(written.get("commChannels", [])):
        try:
            channels.append(identity.comm_channel(item, invalid_mobile=0, invalid_email=0))
        except DomainError as error:
            refuse(f"commChannels[{index}]", f"a valid channel: {error.detail}")
    return Profile(
        source=source,
        account_id=account,
        first_name=written.get("firstName"),
        last_name=written.get("lastName"),
        fields=dict(written.get("fields", {})),
        identifiers=tuple(identifiers),
        comm_channels=tuple(channels),
        attribution=written.get("attribution"),
        auto_update_time=written.get("autoUpdateTime"),
    )


def _profile_document(profile: Profile) -> Blob:
    written: Blob = {}
    if profile.first_name is not None:
        written["firstName"] = profile.first_name
    if profile.last_name is not None:
        written["lastName"] = profile.last_name
    written["source"] = profile.source
    if profile.account_id:
        written["accountId"] = profile.account_id
    written["identifiers"] = [{"type": i.type, "value": i.value} for i in profile.identifiers]
    if profile.fields:
        written["fields"] = profile.fields
    if profile.comm_channels:
        written["commChannels"] = list(profile.comm_channels)
    if profile.attribution is not None:
        written["attribution"] = profile.attribution
    if profile.auto_update_time is not None:
        written["autoUpdateTime"] = profile.auto_update_time
    return written


def _subscription(written: Blob) -> Subscription:
    return Subscription(
        channel=subscriptions.channel_of(written["channel"]),
        priority=written["priority"],
        type=written["type"],
        account_id=written.get("accountId", ""),
    )


def _subscription_document(subscription: Subscription) -> Blob:
    written: Blob = {"channel": subscription.channel}
    if subscription.account_id:
        written["accountId"] = subscription.account_id
    return written | {"priority": subscription.priority, "type": subscription.type}


def _program(written: Blob) -> PartnerProgram:
    return PartnerProgram(
        details=written["partnerProgramDetails"],
        linking_updates=tuple(written.get("linkingUpdates", [])),
        benefits_availed=tuple(written.get("benefitsAvailed", [])),
    )


def _program_document(program: PartnerProgram) -> Blob:
    written: Blob = {"partnerProgramDetails": program.details}
    if program.linking_updates:
        written["linkingUpdates"] = list(program.linking_updates)
    if program.benefits_availed:
        written["benefitsAvailed"] = list(program.benefits_availed)
    return written


def _links(customer: Customer, everyone: Mapping[int, Customer], label: str) -> Iterator[Problem]:
    """Problems of what CUSTOMER says of others: the customer it was merged into, which may
    have been merged in turn, on to a live customer. (A customer of the documents is checked
    so; one kept alongside was, and reaches a live customer but through them.)"""
    if customer.merged_into is None:
        return
    survivor = everyone.get(customer.merged_into)
    if survivor is None or survivor.id == customer.id:
        yield Problem(
            label, "mergedInto", f"the id of another customer, got {customer.merged_into}"
        )
        return
    chain = [customer.id, survivor.id]
    while survivor is not None and survivor.merged_into is not None:
        if survivor.merged_into in chain:
            merges = " into ".join(map(str, [*chain, survivor.merged_into]))
            yield Problem(label, "mergedInto", f"merges that end at a live customer: {merges}")
            return
        chain.append(survivor.merged_into)
        survivor = everyone.get(survivor.merged_into)


def _holdings(
    read: Mapping[int, tuple[str, Customer]], kept: Mapping[int, Customer]
) -> Iterator[Problem]:
    """Problems of identifiers held twice in one source and account: by two customers of the
    documents, or by one of them and a customer kept."""
    holders: dict[tuple[str, str, Identifier], int] = {}
    for customer in kept.values():
        for profile, held in customer.holdings():
            holders[(profile.source, profile.account_id, held)] = customer.id
    for label, customer in read.values():
        for index, profile in enumerate(customer.profiles):
            for place, held in enumerate(profile.identifiers):
                key = (profile.source, profile.account_id, held)
                holder = holders.setdefault(key, customer.id)
                if holder != customer.id:
                    yield Problem(
                        label,
                        f"profiles[{index}].identifiers[{place}]",
                        f"an identifier no other customer holds in"
                        f" {where(profile.source, profile.account_id)};"
                        f" {held.type} {held.value!r} is customer {holder}'s",
                    )
