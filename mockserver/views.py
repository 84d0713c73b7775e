"""One handler per operationId: typed inputs in, a domain call, the response body out."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

from mockserver.domain import customers, dates, partner_programs, points, subscriptions
from mockserver.domain.records import Blob, Org
from mockserver.storage import Store
from mockserver.validation import Inputs


@dataclasses.dataclass(frozen=True)
class Call:
    """What a handler gets: the store, the org, the request's validated inputs, and the till
    its credentials name (None without auth, or for an OAuth token)."""

    store: Store
    org: Org
    inputs: Inputs
    till: str | None = None

    @property
    def query(self) -> dict[str, object]:
        return self.inputs.query

    @property
    def customer_id(self) -> int:
        customer_id: int = self.inputs.path["customerId"]
        return customer_id


Handler = Callable[[Call], Blob]
HANDLERS: dict[str, Handler] = {}


def handles(*operation_ids: str) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        for operation_id in operation_ids:
            HANDLERS[operation_id] = handler
        return handler

    return register


@handles("registerCustomer")
def register_customer(call: Call) -> Blob:
    return customers.register(
        call.store,
        call.org,
        source=str(call.query["source"]),
        account_id=_text(call.query.get("accountId")),
        registration=call.inputs.body,
        till=call.till,
    )


@handles("updateCustomer")
def update_customer(call: Call) -> Blob:
    return customers.update(
        call.store,
        call.org,
        customer_id=call.customer_id,
        source=str(call.query["source"]),
        account_id=_text(call.query.get("accountId")),
        changes=call.inputs.body,
        till=call.till,
    )


@handles("changeCustomerIdentifier")
def change_customer_identifier(call: Call) -> Blob:
    return customers.change_identifiers(
        call.store,
        customer_id=call.customer_id,
        source=str(call.query["source"]),
        account_id=_text(call.query.get("accountId")),
        change=call.inputs.body,
        till=call.till,
    )


@handles("lookupCustomer")
def lookup_customer(call: Call) -> Blob:
    return customers.lookup(
        call.store,
        source=str(call.query["source"]),
        account_id=_text(call.query.get("accountId")),
        identifier_name=str(call.query["identifierName"]),
        identifier_value=str(call.query["identifierValue"]),
    )


@handles("getCustomer")
def get_customer(call: Call) -> Blob:
    embed = call.query.get("embed") or []
    assert isinstance(embed, list)
    return customers.get(
        call.store,
        call.org,
        customer_id=call.customer_id,
        source=str(call.query["source"]),
        account_id=_text(call.query.get("accountId")),
        embed=[str(name) for name in embed],
    )


@handles("searchCustomers")
def search_customers(call: Call) -> Blob:
    return customers.search(
        call.store,
        q=str(call.query["q"]),
        source=_text(call.query.get("source")),
        account_id=_text(call.query.get("accountId")),
        limit=_number(call.query["limit"]),
        offset=_number(call.query["offset"]),
    )


@handles("getLoyaltyDetails")
def get_loyalty_details(call: Call) -> Blob:
    return points.loyalty_details(
        call.store,
        customer_id=call.customer_id,
        program_id=_optional_number(call.query.get("programId")),
    )


@handles("getSubscriptions")
def get_subscriptions(call: Call) -> Blob:
    return subscriptions.get(call.store, customer_id=call.customer_id)


@handles("updateSubscriptions")
def update_subscriptions(call: Call) -> Blob:
    return subscriptions.update(call.store, customer_id=call.customer_id, request=call.inputs.body)


@handles("getPointsTransfers", "getPointsTransferSummary")
def get_points_transfers(call: Call) -> Blob:
    return points.transfers(call.store, customer_id=call.customer_id)


@handles("getRetroRequests")
def get_retro_requests(call: Call) -> Blob:
    return points.retro_requests(
        call.store,
        customer_id=call.customer_id,
        statuses=_spellings(call.query, "status", "Status"),
        types=_spellings(call.query, "type", "Type"),
        start_date=_date(call.query.get("startDate")),
        end_date=_date(call.query.get("endDate")),
        start_id=_optional_number(call.query.get("startId")),
        end_id=_optional_number(call.query.get("endId")),
        limit=_number(call.query["limit"]),
        offset=_number(call.query["offset"]),
    )


@handles("getPointsExpirySchedule")
def get_points_expiry_schedule(call: Call) -> Blob:
    return points.expiry_schedule(call.store, customer_id=call.customer_id)


@handles("getPromisedPointsSchedule")
def get_promised_points_schedule(call: Call) -> Blob:
    return points.promised_points(
        call.store,
        call.org,
        source=str(call.query["source"]),
        account_id=_text(call.query.get("accountId")),
        identifier_name=str(call.query["identifierName"]),
        identifier_value=str(call.query["identifierValue"]),
        program_id=_optional_number(call.query.get("programId")),
        entity_type=str(call.query["entityType"]),
        all_programs=bool(call.query["fetchDataForAllPrograms"]),
        start_date=_date(call.query.get("startDate")),
        end_date=_date(call.query.get("endDate")),
    )


@handles("customeractivityhistories", "customeractivityhistory")
def get_customer_activity_histories(call: Call) -> Blob:
    return partner_programs.activity_histories(
        call.store,
        source=str(call.query["source"]),
        identifier_name=str(call.query["identifierName"]),
        identifier_value=str(call.query["identifierValue"]),
        activity_type=str(call.query["activityType"]),
        start=_moment(call.query, "startDate"),
        end=_moment(call.query, "endDate"),
        partner_program_id=_optional_number(call.query.get("partnerProgramId")),
        partner_program_type=_text(call.query.get("partnerProgramType")),
        limit=_number(call.query["limit"]),
        offset=_number(call.query["offset"]),
    )


# Query values arrive typed by the spec's schemas; these only narrow them for mypy.


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def _number(value: object) -> int:
    assert isinstance(value, int)
    return value


def _spellings(query: dict[str, object], *names: str) -> list[str]:
    """The values given for a parameter the documents spell as each of NAMES."""
    return [str(query[name]) for name in names if query.get(name) is not None]


def _optional_number(value: object) -> int | None:
    return None if value is None else _number(value)


def _date(value: object) -> date | None:
    """A `format: date` parameter."""
    return None if value is None else dates.day(str(value))


def _moment(query: dict[str, object], name: str) -> datetime | None:
    """A documented activity date, `YYYY-MM-DD` or `YYYY-MM-DD HH:MM:SS`, in UTC. A day
    past its month's end counts on into the next month (2021-02-30 is 2 March), leniently,
    as Java's date parsing is by default: the spec's pattern admits such days."""
    value = query.get(name)
    if value is None:
        return None
    text = str(value)
    year, month, day = max(1, int(text[0:4])), int(text[5:7]), int(text[8:10])
    moment = datetime(year, month, 1, tzinfo=UTC) + timedelta(days=day - 1)
    if len(text) > 10:
        hours, minutes, seconds = (int(part) for part in text[11:].split(":"))
        moment = moment.replace(hour=hours, minute=minutes, second=seconds)
    return moment
