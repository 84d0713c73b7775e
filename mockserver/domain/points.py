"""Points: loyalty details per program, expiry and promised schedules, transfers, retro requests."""

from __future__ import annotations

from datetime import date

from mockserver.domain import identity
from mockserver.domain.errors import CustomerNotFound, InvalidValue
from mockserver.domain.identity import MULTI_ACCOUNT_SOURCES, source_of
from mockserver.domain.records import Blob, Identifier, Org
from mockserver.storage import Store

#: Retro requests are retro transactions, which the documents file as this type.
RETRO_REQUEST_TYPE = "TRANSACTION_UPDATE"


def loyalty_details(store: Store, *, customer_id: int, program_id: int | None) -> Blob:
    """The customer's points and tier in each loyalty program, or in PROGRAM_ID. Raises 8015."""
    with store.read() as tx:
        customer = identity.customer_by_id(tx, customer_id, not_found=8015)
    programs = [
        p for p in customer.loyalty_programs if program_id is None or p["programId"] == program_id
    ]
    return {"data": programs, "warnings": [], "errors": []}


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
        "expirySchedules": list(customer.expiry_schedules),
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
    (PROGRAM_ID, else the org's default) or for all. Raises 1632, 885, 1214, 8015."""
    if entity_type == "FLEET":
        raise CustomerNotFound(1632, detail="the mock holds no groups: entityType FLEET finds none")
    if program_id is not None and org.program(program_id) is None:
        known = ", ".join(str(p.id) for p in org.programs)
        raise InvalidValue(
            885, detail=f"programId {program_id} is none of the org's programs ({known})"
        )
    if start_date and end_date and start_date > end_date:
        raise InvalidValue(1214, detail=f"startDate {start_date} is after endDate {end_date}")
    with store.read() as tx:
        customer = identity.customer_by_identifier(
            tx,
            Identifier(identifier_name, identifier_value),
            source=source_of(source),
            # A source with one account has it whatever accountId says, as for a lookup.
            account_id=account_id if source_of(source) in MULTI_ACCOUNT_SOURCES else "",
            not_found=8015,
        )
    program = program_id if program_id is not None else org.default_program.id

    def shown(entry: Blob) -> bool:
        return all_programs or entry["programId"] == program

    def in_window(entry: Blob) -> bool:
        redeemable = date.fromisoformat(entry["redeemableFrom"])
        return (start_date is None or start_date <= redeemable) and (
            end_date is None or redeemable <= end_date
        )

    return {
        "entityId": customer.id,
        "entityType": entity_type,
        "promisedPointsScheduleList": [
            e for e in customer.promised_points if shown(e) and in_window(e)
        ],
        "triggerBasedPointsList": [e for e in customer.trigger_based_points if shown(e)],
        "warnings": [],
    }


def transfers(store: Store, *, customer_id: int) -> Blob:
    """Points the customer gave and received. Raises 814 when there are none."""
    with store.read() as tx:
        customer = identity.customer_by_id(tx, customer_id, not_found=814)
    if not customer.points_transfers:
        raise CustomerNotFound(814, detail=f"customer {customer_id} has no points transfers")
    return {"data": list(customer.points_transfers), "warnings": [], "errors": []}


def retro_requests(
    store: Store,
    *,
    customer_id: int,
    status: str | None,
    request_type: str | None,
    start_date: date | None,
    end_date: date | None,
    start_id: int | None,
    end_id: int | None,
    limit: int,
    offset: int,
) -> Blob:
    """The customer's retro transaction requests that match the filters, a page of them.

    Raises 9050 when none matches.
    """
    with store.read() as tx:
        customer = identity.customer_by_id(tx, customer_id, not_found=9050)

    def matches(request: Blob) -> bool:
        added = date.fromisoformat(request["addedOn"][:10])
        return (
            (status is None or request["status"] == status)
            and (request_type is None or request_type == RETRO_REQUEST_TYPE)
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
