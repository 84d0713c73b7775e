"""Points: loyalty details per program, expiry and promised schedules, transfers, retro requests.

Every read of a customer's points derives from its one Points record (records.py): here, and
in the embeds of a customer (customers.py).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection
from datetime import date

from mockserver.domain import dates, identity
from mockserver.domain.errors import CustomerNotFound, InvalidValue
from mockserver.domain.identity import ALL, account_of, source_of
from mockserver.domain.records import Blob, Customer, Identifier, Org, Points
from mockserver.storage import ReadTransaction, Store

#: Retro requests are retro transactions, which the documents file as this type.
RETRO_REQUEST_TYPE = "TRANSACTION_UPDATE"


def enrolled(customer: Customer, org: Org) -> Customer:
    """CUSTOMER as a loyalty member, with an empty account in the org's default program
    unless it has one there."""
    points = customer.points
    default = org.default_program.id
    if points.account(default) is None:
        points = dataclasses.replace(
            points, accounts=(*points.accounts, _new_account(default, customer.id))
        )
    return dataclasses.replace(customer, loyalty_type="loyalty", points=points)


#: What an account counts, which a merge adds up; the rest (its tier, its id) is the survivor's.
_AMOUNTS = (
    "redeemed",
    "expired",
    "returned",
    "adjusted",
    "lifetimePoints",
    "loyaltyPoints",
    "cumulativePurchases",
)


def combined(kept: Points, joined: Points) -> Points:
    """KEPT's points with JOINED's, as a merge leaves them: where both have an account in a
    program, JOINED's amounts add to KEPT's account; JOINED's other accounts, and its
    scheduled points, join KEPT's."""
    theirs = {account["programId"]: account for account in joined.accounts}
    accounts = []
    for account in kept.accounts:
        other = theirs.pop(account["programId"], None)
        if other is not None:
            account = account | {
                amount: account.get(amount, 0) + other.get(amount, 0)
                for amount in _AMOUNTS
                if amount in account or amount in other
            }
        accounts.append(account)
    return Points(
        accounts=(*accounts, *theirs.values()),
        expiring=kept.expiring + joined.expiring,
        promised=kept.promised + joined.promised,
        trigger_based=kept.trigger_based + joined.trigger_based,
    )


def combined_promotions(kept: Blob | None, joined: Blob | None) -> Blob | None:
    """KEPT's promotional points with JOINED's, kind by kind."""
    if kept is None or joined is None:
        return joined if kept is None else kept
    return {kind: kept.get(kind, []) + joined.get(kind, []) for kind in {**kept, **joined}}


def summary(points: Points, org: Org) -> Blob | None:
    """What embed=points shows: the account in the org's default program, without its
    programId; None when the customer has no account there."""
    account = points.account(org.default_program.id)
    if account is None:
        return None
    return {key: value for key, value in account.items() if key != "programId"}


def other_programs(points: Points, org: Org) -> list[Blob]:
    """What embed=mlp shows: the accounts in the org's programs beside the default one, whose
    account embed=points shows."""
    return [a for a in points.accounts if a["programId"] != org.default_program.id]


def loyalty_details(store: Store, *, customer_id: int, program_id: int | None) -> Blob:
    """The customer's points and tier in each loyalty program, or in PROGRAM_ID. Raises 8015."""
    with store.read() as tx:
        customer = identity.customer_by_id(tx, customer_id, not_found=8015)
    accounts = [
        a for a in customer.points.accounts if program_id is None or a["programId"] == program_id
    ]
    return {"data": accounts, "warnings": [], "errors": []}


def expiry_schedule(store: Store, *, customer_id: int) -> Blob:
    """When the customer's points expire. Raises 1218 (no loyalty customer), 8069."""
    with store.read() as tx:
        customer = identity.customer_by_id(tx, customer_id, not_found=1218, merged=8069)
    if customer.loyalty_type != "loyalty":
        raise CustomerNotFound(1218, detail=f"customer {customer_id} is not enrolled in loyalty")
    return {
        "id": customer.id,
        "profiles": [],
        "loyaltyInfo": {"loyaltyType": customer.loyalty_type},
        "segments": {},
        "extendedFields": {},
        "expirySchedules": list(customer.points.expiring),
        "warnings": [],
    }


def promised_points(
    store: Store,
    org: Org,
    *,
    source: str,
    account_id: str | None,
    identifier_name: str,
    identifier_value: str,
    program_id: int | None,
    entity_type: str,
    all_programs: bool,
    start_date: date | None,
    end_date: date | None,
) -> Blob:
    """Points promised to the customer and when they become redeemable, for one program
    (PROGRAM_ID, else the org's default) or for all. Raises 1632, 885, 1214, 8045, 8015."""
    if entity_type == "FLEET":
        raise CustomerNotFound(1632, detail="the mock holds no groups: entityType FLEET finds none")
    if program_id is not None and org.program(program_id) is None:
        known = ", ".join(str(p.id) for p in org.programs)
        raise InvalidValue(
            885, detail=f"programId {program_id} is none of the org's programs ({known})"
        )
    if start_date and end_date and start_date > end_date:
        raise InvalidValue(1214, detail=f"startDate {start_date} is after endDate {end_date}")
    source = source_of(source)
    # As for a lookup: a source with one account has it whatever accountId says.
    account = "" if source == ALL else account_of(source, account_id)
    with store.read() as tx:
        customer = identity.customer_by_identifier(
            tx,
            Identifier(identifier_name, identifier_value),
            source=source,
            account_id=account,
            not_found=8015,
        )
    program = program_id if program_id is not None else org.default_program.id

    def shown(entry: Blob) -> bool:
        return all_programs or entry["programId"] == program

    def in_window(entry: Blob) -> bool:
        redeemable = dates.day(entry["redeemableFrom"])
        return (start_date is None or start_date <= redeemable) and (
            end_date is None or redeemable <= end_date
        )

    return {
        "entityId": customer.id,
        "entityType": entity_type,
        "promisedPointsScheduleList": [
            e for e in customer.points.promised if shown(e) and in_window(e)
        ],
        "triggerBasedPointsList": [e for e in customer.points.trigger_based if shown(e)],
        "warnings": [],
    }


def transfers(store: Store, *, customer_id: int) -> Blob:
    """Points the customer gave and received, each side under the names it has now. Raises
    814 when there are none."""
    with store.read() as tx:
        customer = identity.customer_by_id(tx, customer_id, not_found=814)
        if not customer.points_transfers:
            raise CustomerNotFound(814, detail=f"customer {customer_id} has no points transfers")
        sides = {
            entry[side]["userId"]
            for entry in customer.points_transfers
            for side in ("transferredFrom", "transferredTo")
        }
        names = {side: _names(tx, tx.customer(side)) for side in sides}
    data = [
        entry
        | {
            side: entry[side] | names[entry[side]["userId"]]
            for side in ("transferredFrom", "transferredTo")
        }
        for entry in customer.points_transfers
    ]
    return {"data": data, "warnings": [], "errors": []}


def _names(tx: ReadTransaction, customer: Customer | None) -> Blob:
    """The names of the customer's first profile that has a name (once merged, those of the
    customer its profiles went to)."""
    profiles = identity.live(tx, customer).profiles if customer is not None else ()
    named = next((p for p in profiles if p.first_name or p.last_name), None)
    if named is None:
        return {}
    names = {"firstName": named.first_name, "lastName": named.last_name}
    return {key: name for key, name in names.items() if name is not None}


def retro_requests(
    store: Store,
    *,
    customer_id: int,
    statuses: Collection[str],
    types: Collection[str],
    start_date: date | None,
    end_date: date | None,
    start_id: int | None,
    end_id: int | None,
    limit: int,
    offset: int,
) -> Blob:
    """The customer's retro transaction requests that match the filters, a page of them.

    The documents spell each filter two ways (status and Status, type and Type): STATUSES
    and TYPES hold the values given under either, and a request matches each of them.
    Raises 9050 when none matches.
    """
    with store.read() as tx:
        customer = identity.customer_by_id(tx, customer_id, not_found=9050)

    def matches(request: Blob) -> bool:
        added = dates.day(request["addedOn"])
        return (
            all(request["status"] == status for status in statuses)
            and all(kind == RETRO_REQUEST_TYPE for kind in types)
            and (start_date is None or start_date <= added)
            and (end_date is None or added <= end_date)
            and (start_id is None or start_id <= request["id"])
            and (end_id is None or request["id"] <= end_id)
        )

    found = [request for request in customer.retro_requests if matches(request)]
    if not found:
        raise CustomerNotFound(9050, detail=f"no retro request of customer {customer_id} matches")
    return {
        "pagination": {"limit": limit, "offset": offset, "total": len(found)},
        "data": found[offset : offset + limit],
        "warnings": [],
        "errors": [],
    }


def _new_account(program_id: int, loyalty_id: int) -> Blob:
    """An account in PROGRAM_ID without points, in the first tier."""
    return {
        "redeemed": 0.0,
        "expired": 0.0,
        "returned": 0.0,
        "adjusted": 0.0,
        "lifetimePoints": 0.0,
        "loyaltyPoints": 0.0,
        "cumulativePurchases": 0.0,
        "loyaltyId": loyalty_id,
        "currentSlab": "",
        "nextSlab": "",
        "nextSlabSerialNumber": -1,
        "nextSlabDescription": "",
        "slabSNo": 1,
        "programId": program_id,
    }
