"""Points over a seeded store: loyalty details, expiry and promised schedules, transfers,
retro requests."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest

from mockserver.domain import customers, points, seed
from mockserver.domain.errors import DomainError
from mockserver.domain.records import Blob, Org, Points
from mockserver.storage import Store

# The signatures of conftest's example_of and refusal fixtures.
ExampleOf = Callable[[str, str, str], Any]
Refusal = Callable[[str, int, Callable[[], object]], DomainError]

PROMISED = "917752198768"  # customer 374844123, promised points in programs 1933 and 2199
RETRO = 368881003  # retro requests 5 (REJECTED, 2015), 4 and 2 (APPROVED, 2019)
ORG = seed.load().org  # default program 973


def promised(
    store: Store,
    org: Org,
    *,
    value: str = PROMISED,
    source: str = "INSTORE",
    account_id: str | None = None,
    program_id: int | None = None,
    entity_type: str = "CUSTOMER",
    all_programs: bool = False,
    start_date: date | None = None,
    end_date: date | None = None,
) -> Blob:
    return points.promised_points(
        store,
        org,
        source=source,
        account_id=account_id,
        identifier_name="mobile",
        identifier_value=value,
        program_id=program_id,
        entity_type=entity_type,
        all_programs=all_programs,
        start_date=start_date,
        end_date=end_date,
    )


def retro(store: Store, customer_id: int = RETRO, **filters: Any) -> Blob:
    options: dict[str, Any] = {
        "statuses": (),
        "types": (),
        "start_date": None,
        "end_date": None,
        "start_id": None,
        "end_id": None,
        "limit": 10,
        "offset": 0,
    }
    return points.retro_requests(store, customer_id=customer_id, **(options | filters))


def register(store: Store, mobile: str, loyalty: str) -> int:
    body = {
        "loyaltyInfo": {"loyaltyType": loyalty},
        "profiles": [{"identifiers": [{"type": "mobile", "value": mobile}]}],
    }
    created: int = customers.register(
        store, ORG, source="INSTORE", account_id=None, registration=body
    )["createdId"]
    return created


def merge(store: Store, victim: int, first_name: str, loyalty: str = "loyalty") -> int:
    """Merge VICTIM, of INSTORE, into a customer registered now in WEBSITE; its id."""
    email = f"{first_name.lower()}@example.com"
    body = {
        "loyaltyInfo": {"loyaltyType": loyalty},
        "profiles": [{"firstName": first_name, "identifiers": [{"type": "email", "value": email}]}],
    }
    survivor: int = customers.register(
        store, ORG, source="WEBSITE", account_id=None, registration=body
    )["createdId"]
    customers.change_identifiers(
        store,
        customer_id=victim,
        source="INSTORE",
        account_id=None,
        change={"add": [{"type": "email", "value": email}]},
    )
    return survivor


# --- loyalty details ------------------------------------------------------------------------


def test_the_documented_loyalty_details(store: Store, example_of: ExampleOf) -> None:
    answer = points.loyalty_details(store, customer_id=29372667, program_id=None)
    assert answer == example_of("getLoyaltyDetails", "200", "twoPrograms")


@pytest.mark.parametrize(("program_id", "shown"), [(1223, [1223]), (1219, [1219]), (973, [])])
def test_loyalty_details_of_one_program(
    store: Store, example_of: ExampleOf, program_id: int, shown: list[int]
) -> None:
    documented = example_of("getLoyaltyDetails", "200", "twoPrograms")["data"]
    answer = points.loyalty_details(store, customer_id=29372667, program_id=program_id)
    assert answer == {
        "data": [entry for entry in documented if entry["programId"] in shown],
        "warnings": [],
        "errors": [],
    }


def test_loyalty_details_of_an_unknown_customer_is_8015(store: Store, refusal: Refusal) -> None:
    refusal(
        "getLoyaltyDetails",
        8015,
        lambda: points.loyalty_details(store, customer_id=9, program_id=None),
    )


# --- one account per program, whatever reads it --------------------------------------------


def embedded(store: Store, customer_id: int, *names: str) -> Blob:
    return customers.get(
        store, ORG, customer_id=customer_id, source="ALL", account_id=None, embed=list(names)
    )


def test_points_that_expire_are_points_of_an_account_every_read_shows(store: Store) -> None:
    # 565039505's documented 5,140 points expire in program 973, the default program.
    [account] = points.loyalty_details(store, customer_id=565039505, program_id=None)["data"]
    assert (account["programId"], account["loyaltyPoints"]) == (973, 5140.0)
    shown = embedded(store, 565039505, "points", "mlp", "expirySchedules")
    assert shown["pointsSummary"] == {k: v for k, v in account.items() if k != "programId"}
    assert shown["loyaltyProgramDetails"] == []
    schedule = points.expiry_schedule(store, customer_id=565039505)["expirySchedules"]
    assert shown["expirySchedules"] == schedule
    assert sum(entry["points"] for entry in schedule) <= account["loyaltyPoints"]


def test_mlp_shows_the_programs_beside_the_default_one(store: Store, example_of: ExampleOf) -> None:
    # 29372667's documented accounts are in programs 1219 and 1223, none in the default 973.
    documented = example_of("getLoyaltyDetails", "200", "twoPrograms")["data"]
    shown = embedded(store, 29372667, "points", "mlp")
    assert shown["loyaltyProgramDetails"] == documented
    assert "pointsSummary" not in shown
    # 17742's documented samples split its accounts so: a summary, and two other programs.
    details = points.loyalty_details(store, customer_id=17742, program_id=None)["data"]
    summary = embedded(store, 17742, "points")["pointsSummary"]
    others = embedded(store, 17742, "mlp")["loyaltyProgramDetails"]
    assert details == [summary | {"programId": 973}, *others]


def test_promised_points_are_points_of_the_programs_the_customer_is_in(
    store: Store, org: Org
) -> None:
    answer = promised(store, org, all_programs=True)
    programs = {entry["programId"] for entry in answer["promisedPointsScheduleList"]}
    details = points.loyalty_details(store, customer_id=374844123, program_id=None)["data"]
    assert programs == {1933, 2199}
    assert programs < {account["programId"] for account in details}


def test_a_loyalty_registration_opens_an_account_every_read_shows(store: Store) -> None:
    created = register(store, "919000000001", "loyalty")
    [account] = points.loyalty_details(store, customer_id=created, program_id=None)["data"]
    assert (account["programId"], account["loyaltyId"], account["loyaltyPoints"]) == (
        973,
        created,
        0.0,
    )
    shown = embedded(store, created, "points", "mlp")
    assert shown["pointsSummary"] == {k: v for k, v in account.items() if k != "programId"}
    assert shown["loyaltyProgramDetails"] == []


def test_a_non_loyalty_customer_has_no_account(store: Store) -> None:
    created = register(store, "919000000001", "non_loyalty")
    assert points.loyalty_details(store, customer_id=created, program_id=None)["data"] == []
    assert "pointsSummary" not in embedded(store, created, "points")


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"expiring": ({"points": 1.0, "programId": 973},)}, "no account"),
        ({"trigger_based": ({"points": 1.0, "programId": 890},)}, "no account"),
        (
            {
                "accounts": ({"programId": 973, "loyaltyPoints": 10.0},),
                "expiring": ({"points": 6.0, "programId": 973}, {"points": 5.0, "programId": 973}),
            },
            "11.0 points expire in program 973",
        ),
        (
            {"accounts": ({"programId": 973, "loyaltyPoints": 0.0},) * 2},
            "two accounts in one program",
        ),
    ],
    ids=["expiring", "trigger-based", "more than held", "two accounts"],
)
def test_points_that_do_not_add_up_cannot_be_held(fields: dict[str, Any], problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        Points(**fields)


# --- expiry schedule ------------------------------------------------------------------------


def test_the_documented_expiry_schedule(store: Store, example_of: ExampleOf) -> None:
    answer = points.expiry_schedule(store, customer_id=565039505)
    assert answer == example_of("getPointsExpirySchedule", "200", "fixedExpiry")


@pytest.mark.parametrize("customer_id", [9, 17742, 329], ids=["unknown", "17742", "329"])
def test_no_expiry_schedule_without_a_loyalty_customer(
    store: Store, refusal: Refusal, customer_id: int
) -> None:
    refused = refusal(
        "getPointsExpirySchedule",
        1218,
        lambda: points.expiry_schedule(store, customer_id=customer_id),
    )
    assert str(customer_id) in str(refused.detail)


def test_a_customer_has_an_expiry_schedule_once_enrolled(store: Store, refusal: Refusal) -> None:
    created = register(store, "919000000001", "non_loyalty")
    refusal(
        "getPointsExpirySchedule", 1218, lambda: points.expiry_schedule(store, customer_id=created)
    )
    customers.update(
        store,
        ORG,
        customer_id=created,
        source="INSTORE",
        account_id=None,
        changes={"loyaltyInfo": {"loyaltyType": "loyalty"}},
    )
    assert points.expiry_schedule(store, customer_id=created) == {
        "id": created,
        "profiles": [],
        "loyaltyInfo": {"loyaltyType": "loyalty"},
        "segments": {},
        "extendedFields": {},
        "expirySchedules": [],
        "warnings": [],
    }
    assert points.expiry_schedule(store, customer_id=register(store, "919000000002", "loyalty"))


# --- promised points ------------------------------------------------------------------------


def test_the_documented_schedule_of_all_programs(
    store: Store, org: Org, example_of: ExampleOf
) -> None:
    answer = promised(
        store,
        org,
        program_id=1933,
        all_programs=True,
        start_date=date(2022, 4, 1),
        end_date=date(2122, 4, 9),
    )
    assert answer == example_of("getPromisedPointsSchedule", "200", "allPrograms")
    assert promised(store, org, all_programs=True) == answer


def test_the_schedule_of_one_program(store: Store, org: Org, example_of: ExampleOf) -> None:
    # The singleProgram sample shows 4 of the 8 entries of 2199 that allPrograms shows.
    every = example_of("getPromisedPointsSchedule", "200", "allPrograms")
    answer = promised(store, org, program_id=2199)
    assert answer == every | {
        "promisedPointsScheduleList": [
            e for e in every["promisedPointsScheduleList"] if e["programId"] == 2199
        ]
    }
    documented = example_of("getPromisedPointsSchedule", "200", "singleProgram")
    assert all(
        e in answer["promisedPointsScheduleList"] for e in documented["promisedPointsScheduleList"]
    )
    assert [
        e["points"] for e in promised(store, org, program_id=1933)["promisedPointsScheduleList"]
    ] == [
        300.0,
        100.0,
        100.0,
    ]


def test_without_a_program_the_default_program_is_shown(
    store: Store, org: Org, example_of: ExampleOf
) -> None:
    assert org.default_program.id == 973
    assert promised(store, org)["promisedPointsScheduleList"] == []
    default_entry = {
        "points": 10.0,
        "redeemableFrom": "2022-05-01",
        "programId": 973,
        "pointsType": "bill_regular",
    }
    with store.write() as tx:
        customer = tx.customer(374844123)
        assert customer is not None
        entries = (*customer.points.promised, default_entry)
        tx.save(
            dataclasses.replace(
                customer, points=dataclasses.replace(customer.points, promised=entries)
            )
        )
    assert promised(store, org)["promisedPointsScheduleList"] == [default_entry]


def test_the_documented_trigger_based_points(store: Store, org: Org, example_of: ExampleOf) -> None:
    documented = example_of("getPromisedPointsSchedule", "200", "triggerBasedPoints")
    assert promised(store, org, value="919342249069", program_id=890) == documented
    assert promised(store, org, value="919342249069", all_programs=True) == documented
    assert promised(store, org, value="919342249069")["triggerBasedPointsList"] == []


@pytest.mark.parametrize(
    ("start_date", "end_date", "shown"),
    [
        (date(2022, 4, 9), date(2022, 4, 9), [180.0, 60.0, 180.0, 60.0]),
        (date(2022, 4, 10), None, [390.0, 130.0, 130.0, 390.0]),
        (None, date(2022, 4, 8), [300.0, 100.0, 100.0]),
        (date(2022, 4, 11), None, []),
    ],
)
def test_the_schedule_in_a_window_of_redeemable_dates(
    store: Store,
    org: Org,
    start_date: date | None,
    end_date: date | None,
    shown: list[float],
) -> None:
    answer = promised(store, org, all_programs=True, start_date=start_date, end_date=end_date)
    assert [e["points"] for e in answer["promisedPointsScheduleList"]] == shown


def test_a_non_loyalty_survivor_of_a_loyalty_customer_is_loyalty_with_its_points(
    store: Store, org: Org
) -> None:
    schedule = promised(store, org, all_programs=True)
    survivor = merge(store, 374844123, "Becky", loyalty="non_loyalty")
    assert (
        customers.get(store, org, customer_id=survivor, source="ALL", account_id=None, embed=[])[
            "loyaltyInfo"
        ]["loyaltyType"]
        == "loyalty"
    )
    assert promised(store, org, all_programs=True) == schedule | {"entityId": survivor}


def test_an_account_id_of_a_single_account_source_changes_nothing(store: Store, org: Org) -> None:
    # As lookup does: INSTORE has one account, whatever accountId says.
    answer = promised(store, org, account_id="22232", all_programs=True)
    assert answer == promised(store, org, all_programs=True)
    assert answer["entityId"] == 374844123


@pytest.mark.parametrize(
    ("options", "code"),
    [
        ({"entity_type": "FLEET"}, 1632),
        ({"program_id": 4242}, 885),
        ({"start_date": date(2022, 4, 10), "end_date": date(2022, 4, 9)}, 1214),
        ({"value": "919999999999"}, 8015),
        ({"source": "WEBSITE"}, 8015),
        ({"source": "ALL", "value": "919999999999"}, 8015),
        # As every operation that finds a customer in a source: which account of it?
        ({"source": "WECHAT"}, 8045),
        ({"source": "LINE", "value": "919999999999"}, 8045),
    ],
)
def test_promised_points_refusals(
    store: Store, org: Org, refusal: Refusal, options: dict[str, Any], code: int
) -> None:
    refused = refusal("getPromisedPointsSchedule", code, lambda: promised(store, org, **options))
    assert refused.detail


def test_an_unknown_program_names_the_known_ones(store: Store, org: Org) -> None:
    with pytest.raises(DomainError) as refused:
        promised(store, org, program_id=4242)
    assert "4242" in str(refused.value.detail) and "973" in str(refused.value.detail)


# --- transfers ------------------------------------------------------------------------------


def test_the_documented_transfers(store: Store, example_of: ExampleOf) -> None:
    answer = points.transfers(store, customer_id=343015431)
    assert answer == example_of("getPointsTransfers", "200", "deductionAndAddition")


def test_the_other_side_of_the_transfers_mirrors_them(store: Store) -> None:
    given = points.transfers(store, customer_id=343015431)["data"]
    taken = points.transfers(store, customer_id=343015432)["data"]
    flip = {"DEDUCTION": "ADDITION", "ADDITION": "DEDUCTION"}
    assert taken == [entry | {"transferType": flip[entry["transferType"]]} for entry in given]


def test_transfers_name_each_side_as_it_is_named_now(store: Store) -> None:
    customers.update(
        store,
        ORG,
        customer_id=343015432,
        source="INSTORE",
        account_id=None,
        changes={"profiles": [{"firstName": "Jim", "lastName": "Thompson"}]},
    )
    for customer_id in (343015431, 343015432):
        sides = [
            entry[side]
            for entry in points.transfers(store, customer_id=customer_id)["data"]
            for side in ("transferredFrom", "transferredTo")
        ]
        assert {"userId": 343015432, "firstName": "Jim", "lastName": "Thompson"} in sides
        assert all(side["firstName"] != "James" for side in sides)


def test_transfers_of_a_merged_customer_are_its_survivors_and_name_it_as_the_survivor(
    store: Store,
) -> None:
    # 343015431 (Tom Sawyer) gave points to 343015432.
    transfers = points.transfers(store, customer_id=343015431)["data"]
    survivor = merge(store, 343015431, "Ben")
    renamed = [
        entry
        | {
            side: {"userId": 343015431, "firstName": "Ben"}
            for side in ("transferredFrom", "transferredTo")
            if entry[side]["userId"] == 343015431
        }
        for entry in transfers
    ]
    assert points.transfers(store, customer_id=survivor)["data"] == renamed
    mirrored = points.transfers(store, customer_id=343015432)["data"]
    named = [
        entry[side]
        for entry in mirrored
        for side in ("transferredFrom", "transferredTo")
        if entry[side]["userId"] == 343015431
    ]
    assert named and all(side == {"userId": 343015431, "firstName": "Ben"} for side in named)


@pytest.mark.parametrize("customer_id", [306, 9], ids=["no transfers", "unknown"])
def test_no_transfers_is_814(store: Store, refusal: Refusal, customer_id: int) -> None:
    refusal("getPointsTransfers", 814, lambda: points.transfers(store, customer_id=customer_id))


# --- retro requests -------------------------------------------------------------------------


def test_the_documented_retro_requests(store: Store, example_of: ExampleOf) -> None:
    documented = example_of("getRetroRequests", "200", "retroTransactions")
    answer = retro(store)
    # The document's total (5) does not count its own 3 requests: the mock counts them.
    assert answer == documented | {"pagination": {"limit": 10, "offset": 0, "total": 3}}


@pytest.mark.parametrize(
    ("filters", "shown"),
    [
        ({"statuses": ["APPROVED"]}, [4, 2]),
        ({"statuses": ["REJECTED"]}, [5]),
        ({"types": ["TRANSACTION_UPDATE"]}, [5, 4, 2]),
        ({"start_date": date(2019, 7, 22)}, [4, 2]),
        ({"end_date": date(2019, 7, 21)}, [5]),
        ({"start_date": date(2019, 7, 22), "end_date": date(2019, 7, 22)}, [4, 2]),
        ({"start_id": 3}, [5, 4]),
        ({"end_id": 4}, [4, 2]),
        ({"start_id": 3, "end_id": 4}, [4]),
        ({"statuses": ["APPROVED"], "start_id": 3}, [4]),
        # The document's spellings, Status and Type, beside status and type: both apply.
        ({"statuses": ["APPROVED", "APPROVED"]}, [4, 2]),
        ({"types": ["TRANSACTION_UPDATE", "TRANSACTION_UPDATE"]}, [5, 4, 2]),
    ],
)
def test_retro_requests_filtered(store: Store, filters: dict[str, Any], shown: list[int]) -> None:
    answer = retro(store, **filters)
    assert [request["id"] for request in answer["data"]] == shown
    assert answer["pagination"]["total"] == len(shown)


@pytest.mark.parametrize(
    ("limit", "offset", "shown"), [(1, 1, [4]), (2, 0, [5, 4]), (10, 3, []), (0, 0, [])]
)
def test_retro_requests_paged(store: Store, limit: int, offset: int, shown: list[int]) -> None:
    answer = retro(store, limit=limit, offset=offset)
    assert [request["id"] for request in answer["data"]] == shown
    assert answer["pagination"] == {"limit": limit, "offset": offset, "total": 3}


@pytest.mark.parametrize(
    ("customer_id", "filters"),
    [
        (RETRO, {"statuses": ["PENDING"]}),
        (RETRO, {"types": ["GOODWILL"]}),
        (RETRO, {"statuses": ["APPROVED", "REJECTED"]}),
        (RETRO, {"start_date": date(2020, 1, 1)}),
        (RETRO, {"start_id": 6}),
        (306, {}),
        (9, {}),
    ],
)
def test_no_matching_retro_request_is_9050(
    store: Store, refusal: Refusal, customer_id: int, filters: dict[str, Any]
) -> None:
    refusal("getRetroRequests", 9050, lambda: retro(store, customer_id, **filters))
