"""Partner programs over a seeded store: activity histories, their windows, filters and pages."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

import spec
from mockserver.domain import customers, partner_programs
from mockserver.domain.errors import DomainError
from mockserver.domain.records import Blob, Org
from mockserver.storage import Store

# The signatures of conftest's example_of and refusal fixtures.
ExampleOf = Callable[[str, str, str], Any]
Refusal = Callable[[str, int, Callable[[], object]], DomainError]

OPERATION = "customeractivityhistories"
MEMBER = 400000001  # programs 111 (EXTERNAL), 20 and 21 (SUPPLEMENTARY)
EXTERNAL_ID = "5c3c2dasc6b5f33c82fb71f679daf56dq"
#: The moment of the documented benefitsAvailed notes' "till".
NOW = datetime(2023, 9, 14, 15, 51, 21, tzinfo=UTC)


def activity(
    store: Store,
    activity_type: str,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    value: str = EXTERNAL_ID,
    source: str = "instore",
    partner_program_id: int | None = None,
    partner_program_type: str | None = None,
    limit: int = 10,
    offset: int = 0,
    now: datetime = NOW,
) -> Blob:
    return partner_programs.activity_histories(
        store,
        source=source,
        identifier_name="externalId",
        identifier_value=value,
        activity_type=activity_type,
        start=start,
        end=end,
        partner_program_id=partner_program_id,
        partner_program_type=partner_program_type,
        limit=limit,
        offset=offset,
        now=now,
    )


def notes(start: str, end: str) -> str:
    return f"showing customer activities from {start} till {end}"


def program_ids(answer: Blob) -> list[int]:
    return [entry["partnerProgramDetails"]["partnerProgramId"] for entry in answer["data"]]


@pytest.mark.parametrize("spelling", ["linkingUpdates", "LINKINGUPDATES", "LINKING_UPDATES"])
def test_the_documented_linking_updates(store: Store, example_of: ExampleOf, spelling: str) -> None:
    assert activity(store, spelling) == example_of(OPERATION, "200", "linkingUpdates")


@pytest.mark.parametrize("spelling", ["benefitsAvailed", "BENEFITS_AVAILED", "BENEFITSAVAILED"])
def test_the_documented_benefits_availed(
    store: Store, example_of: ExampleOf, spelling: str
) -> None:
    answer = activity(
        store,
        spelling,
        start=datetime(2022, 9, 14, 15, 51, 21, tzinfo=UTC),
        end=datetime(2023, 9, 14, 15, 51, 21, tzinfo=UTC),
    )
    assert answer == example_of(OPERATION, "200", "benefitsAvailed")


def test_every_spelling_the_spec_lists_is_understood(store: Store) -> None:
    listed = spec.load()["components"]["parameters"]["activityActivityType"]["schema"]["enum"]
    assert len(listed) == 6
    for spelling in listed:
        assert activity(store, spelling)["pagination"]["total"] == 3


@pytest.mark.parametrize("spelling", ["linking", "BENEFITS", "linking-updates"])
def test_an_activity_type_of_no_documented_spelling_is_2014(
    store: Store, refusal: Refusal, spelling: str
) -> None:
    refused = refusal(OPERATION, 2014, lambda: activity(store, spelling))
    assert repr(spelling) in str(refused.detail)


def test_without_dates_the_window_is_the_last_year(store: Store, example_of: ExampleOf) -> None:
    documented = example_of(OPERATION, "200", "benefitsAvailed")
    assert activity(store, "benefitsAvailed") == documented
    assert {entry["notes"] for entry in documented["data"]} == {
        notes("Wed Sep 14 15:51:21 GMT 2022", "Thu Sep 14 15:51:21 GMT 2023")
    }


@pytest.mark.parametrize(
    ("start", "end", "said"),
    [
        (
            datetime(2023, 1, 2, tzinfo=UTC),
            None,
            notes("Mon Jan 02 00:00:00 GMT 2023", "Thu Sep 14 15:51:21 GMT 2023"),
        ),
        (
            datetime(2020, 1, 2, tzinfo=UTC),
            None,
            notes("Thu Jan 02 00:00:00 GMT 2020", "Sat Jan 02 00:00:00 GMT 2021"),
        ),
        (
            datetime(2024, 2, 29, tzinfo=UTC),
            None,
            notes("Thu Feb 29 00:00:00 GMT 2024", "Fri Feb 28 00:00:00 GMT 2025"),
        ),
        (
            datetime(2030, 5, 1, tzinfo=UTC),
            None,
            notes("Wed May 01 00:00:00 GMT 2030", "Thu May 01 00:00:00 GMT 2031"),
        ),
        (
            None,
            datetime(2021, 3, 1, 8, 5, 9, tzinfo=UTC),
            notes("Sun Mar 01 08:05:09 GMT 2020", "Mon Mar 01 08:05:09 GMT 2021"),
        ),
    ],
    ids=[
        "start, till now",
        "start, a year on",
        "29 February, a year on",
        "a future start, a year on",
        "end, a year back",
    ],
)
def test_one_date_makes_a_window_of_at_most_a_year(
    store: Store, start: datetime | None, end: datetime | None, said: str
) -> None:
    answer = activity(store, "benefitsAvailed", start=start, end=end)
    assert [entry["notes"] for entry in answer["data"]] == [said] * 3


def test_benefits_availed_in_the_window_are_shown(store: Store) -> None:
    availed = tuple(
        {"activityType": "BENEFIT_AVAILED", "activityDate": moment}
        for moment in (
            "2023-01-31T23:59:59Z",
            "2023-02-01T00:00:00Z",
            "2023-02-28T00:00:00Z",
            "2023-03-01T00:00:01Z",
        )
    )
    with store.write() as tx:
        member = tx.customer(MEMBER)
        assert member is not None
        first, *others = member.partner_programs
        tx.save(
            dataclasses.replace(
                member,
                partner_programs=(dataclasses.replace(first, benefits_availed=availed), *others),
            )
        )
    answer = activity(
        store,
        "benefitsAvailed",
        start=datetime(2023, 2, 1, tzinfo=UTC),
        end=datetime(2023, 3, 1, tzinfo=UTC),
        partner_program_id=111,
    )
    assert answer["data"][0]["customerActivityHistory"] == list(availed[1:3])


@pytest.mark.parametrize(
    ("start", "end"),
    [(datetime(2023, 1, 1, tzinfo=UTC), None), (None, datetime(2023, 1, 1, tzinfo=UTC))],
)
def test_dates_with_linking_updates_are_2015(
    store: Store, refusal: Refusal, start: datetime | None, end: datetime | None
) -> None:
    refusal(OPERATION, 2015, lambda: activity(store, "linkingUpdates", start=start, end=end))


def test_a_window_over_a_year_is_2013(store: Store, refusal: Refusal) -> None:
    # The documented request as sent: 2020-01-29 to 2021-10-29.
    refused = refusal(
        OPERATION,
        2013,
        lambda: activity(
            store,
            "benefitsAvailed",
            start=datetime(2020, 1, 29, 12, 11, 45, tzinfo=UTC),
            end=datetime(2021, 10, 29, 12, 11, 45, tzinfo=UTC),
        ),
    )
    assert "639 days" in str(refused.detail)
    exactly_a_year = activity(
        store,
        "benefitsAvailed",
        start=datetime(2021, 1, 1, tzinfo=UTC),
        end=datetime(2022, 1, 1, tzinfo=UTC),
    )
    assert exactly_a_year["pagination"]["total"] == 3
    a_leap_year = activity(
        store,
        "benefitsAvailed",
        start=datetime(2020, 1, 1, tzinfo=UTC),
        end=datetime(2021, 1, 1, tzinfo=UTC),
    )
    assert a_leap_year["pagination"]["total"] == 3
    refusal(
        OPERATION,
        2013,
        lambda: activity(
            store,
            "benefitsAvailed",
            start=datetime(2021, 1, 1, tzinfo=UTC),
            end=datetime(2022, 1, 1, 0, 0, 1, tzinfo=UTC),
        ),
    )


def test_a_start_after_the_end_is_2013(store: Store, refusal: Refusal) -> None:
    refused = refusal(
        OPERATION,
        2013,
        lambda: activity(
            store,
            "benefitsAvailed",
            start=datetime(2023, 2, 1, tzinfo=UTC),
            end=datetime(2023, 1, 1, tzinfo=UTC),
        ),
    )
    assert refused.detail == "startDate 2023-02-01 00:00:00 is after endDate 2023-01-01 00:00:00"


@pytest.mark.parametrize(
    "options",
    [{"value": "no-such-id"}, {"source": "WEBSITE"}, {"partner_program_id": 35}],
    ids=["unknown identifier", "another source", "a program the customer is not in"],
)
def test_no_activity_to_show_is_2011(
    store: Store, refusal: Refusal, options: dict[str, Any]
) -> None:
    refusal(OPERATION, 2011, lambda: activity(store, "linkingUpdates", **options))


def test_a_customer_without_partner_programs_is_2011(store: Store, refusal: Refusal) -> None:
    with store.write() as tx:
        member = tx.customer(MEMBER)
        assert member is not None
        tx.save(dataclasses.replace(member, partner_programs=()))
    refusal(OPERATION, 2011, lambda: activity(store, "linkingUpdates"))


@pytest.mark.parametrize(
    ("options", "shown"),
    [
        ({"partner_program_id": 20}, [20]),
        ({"partner_program_type": "SUPPLEMENTARY"}, [20, 21]),
        ({"partner_program_type": "EXTERNAL"}, [111]),
        ({"partner_program_id": 21, "partner_program_type": "SUPPLEMENTARY"}, [21]),
    ],
)
def test_partner_programs_filtered(
    store: Store, example_of: ExampleOf, options: dict[str, Any], shown: list[int]
) -> None:
    documented = example_of(OPERATION, "200", "linkingUpdates")["data"]
    answer = activity(store, "linkingUpdates", **options)
    assert answer["data"] == [
        entry for entry in documented if entry["partnerProgramDetails"]["partnerProgramId"] in shown
    ]
    assert answer["pagination"] == {"limit": 10, "offset": 0, "total": len(shown)}


def test_an_external_program_of_another_type_is_2011(store: Store, refusal: Refusal) -> None:
    refusal(
        OPERATION,
        2011,
        lambda: activity(
            store, "linkingUpdates", partner_program_id=111, partner_program_type="SUPPLEMENTARY"
        ),
    )


@pytest.mark.parametrize(
    ("limit", "offset", "shown"),
    [(1, 1, [20]), (2, 0, [111, 20]), (10, 2, [21]), (10, 3, []), (0, 0, [])],
)
def test_partner_programs_paged(store: Store, limit: int, offset: int, shown: list[int]) -> None:
    answer = activity(store, "linkingUpdates", limit=limit, offset=offset)
    assert program_ids(answer) == shown
    assert answer["pagination"] == {"limit": limit, "offset": offset, "total": 3}
    assert (answer["warnings"], answer["errors"]) == ([], [])


def test_a_merged_customer_s_programs_are_its_survivor_s(store: Store, org: Org) -> None:
    programs = activity(store, "linkingUpdates")
    registration = {
        "loyaltyInfo": {"loyaltyType": "loyalty"},
        "profiles": [{"identifiers": [{"type": "externalId", "value": "becky-1"}]}],
    }
    customers.register(store, org, source="WEBSITE", account_id=None, registration=registration)
    change = {"add": [{"type": "externalId", "value": "becky-1"}]}
    customers.change_identifiers(
        store, customer_id=MEMBER, source="INSTORE", account_id=None, change=change
    )
    assert activity(store, "linkingUpdates", value="becky-1", source="website") == programs
