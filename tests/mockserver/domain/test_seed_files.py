"""Seed files: customers in the API's shapes read into records and back, and the rules they obey."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from mockserver.domain import seed
from mockserver.domain.records import Identifier, Org
from mockserver.domain.seed_files import InvalidSeed, Problem, customers_of, document

BECKY: dict[str, Any] = {
    "id": 900001,
    "profiles": [
        {
            "firstName": "Becky",
            "lastName": "Thatcher",
            "source": "INSTORE",
            "identifiers": [{"type": "mobile", "value": "919900000001"}],
        }
    ],
    "loyaltyInfo": {"loyaltyType": "loyalty"},
}


def becky(**changes: Any) -> dict[str, Any]:
    return copy.deepcopy(BECKY) | changes


def profile(**changes: Any) -> dict[str, Any]:
    return copy.deepcopy(BECKY["profiles"][0]) | changes


def problems(documents: list[Any], org: Org, **options: Any) -> list[str]:
    with pytest.raises(InvalidSeed) as refused:
        customers_of(documents, org, **options)
    return [str(problem) for problem in refused.value.problems]


def test_every_documented_customer_reads_back_from_its_seed_file(
    documented_seed: seed.Seed,
) -> None:
    written = document(documented_seed.customers)
    assert customers_of(written["customers"], documented_seed.org) == list(
        documented_seed.customers
    )


def test_a_customer_is_written_in_the_api_s_shapes_without_empty_keys(
    documented_seed: seed.Seed,
) -> None:
    written = document(documented_seed.customers)["customers"]
    tom = next(customer for customer in written if customer["id"] == 17742)
    assert list(tom) == [
        "id",
        "profiles",
        "loyaltyInfo",
        "extendedFields",
        "subscriptions",
        "loyaltyDetails",
    ]
    assert tom["profiles"][0]["accountId"] == "22232"
    assert tom["loyaltyInfo"]["lifetimePurchases"] == 230
    assert {"channel": "EMAIL", "priority": "TRANS", "type": "OPTIN"} in tom["subscriptions"]
    assert [account["programId"] for account in tom["loyaltyDetails"]] == [973, 1219, 1223]


def test_a_hand_written_loyalty_customer_is_enrolled_as_a_registration_enrols_one(
    org: Org,
) -> None:
    (customer,) = customers_of([becky()], org)
    assert customer.id == 900001 and customer.loyalty_type == "loyalty"
    assert [account["programId"] for account in customer.points.accounts] == [
        org.default_program.id
    ]
    assert customer.profiles[0].identifiers == (Identifier("mobile", "919900000001"),)


def test_a_customer_takes_the_place_of_one_with_its_id_and_may_keep_its_identifiers(
    documented_seed: seed.Seed,
) -> None:
    documented_306 = next(c for c in documented_seed.customers if c.id == 306)
    mobile = documented_306.profiles[0].identifiers[0].value
    renamed = becky(id=306, profiles=[profile(identifiers=[{"type": "mobile", "value": mobile}])])
    (customer,) = customers_of([renamed], documented_seed.org, alongside=documented_seed.customers)
    assert customer.id == 306 and customer.profiles[0].first_name == "Becky"


def test_a_later_customer_of_the_same_id_takes_the_place_of_the_earlier(org: Org) -> None:
    (customer,) = customers_of([becky(), becky(loyaltyInfo={"loyaltyType": "non_loyalty"})], org)
    assert customer.loyalty_type == "non_loyalty"


def test_an_identifier_held_by_a_customer_alongside_is_refused_naming_both(
    documented_seed: seed.Seed,
) -> None:
    taken = becky(profiles=[profile(identifiers=[{"type": "mobile", "value": "919111111111"}])])
    assert problems([taken], documented_seed.org, alongside=documented_seed.customers) == [
        "customer 900001: profiles[0].identifiers[0]: an identifier no other customer holds"
        " in INSTORE; mobile '919111111111' is customer 306's"
    ]


def test_two_customers_of_a_file_holding_one_identifier_are_refused(org: Org) -> None:
    assert problems([becky(), becky(id=900002)], org) == [
        "customer 900002: profiles[0].identifiers[0]: an identifier no other customer holds"
        " in INSTORE; mobile '919900000001' is customer 900001's"
    ]


def test_the_same_identifier_in_another_source_or_account_is_another_holding(org: Org) -> None:
    wechat = profile(source="WECHAT", accountId="1", identifiers=[{"type": "wechat", "value": "w"}])
    other_account = profile(
        source="WECHAT", accountId="2", identifiers=[{"type": "wechat", "value": "w"}]
    )
    loaded = customers_of(
        [becky(profiles=[profile(), wechat]), becky(id=900002, profiles=[other_account])], org
    )
    assert [customer.id for customer in loaded] == [900001, 900002]


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        (
            {"profiles": [profile(source="WECHAT")]},
            "customer 900001: profiles[0].accountId: the account in WECHAT, a source of several"
            " accounts",
        ),
        (
            {"profiles": [profile(accountId="7")]},
            "customer 900001: profiles[0].accountId: none: INSTORE has one account, got '7'",
        ),
        (
            {"profiles": [profile(identifiers=[{"type": "mobile", "value": "12"}])]},
            "customer 900001: profiles[0].identifiers[0]: a valid identifier: mobile '12' is not"
            " 8 to 15 digits with an optional leading +",
        ),
        (
            {"profiles": [profile(commChannels=[{"type": "email", "value": "becky"}])]},
            "customer 900001: profiles[0].commChannels[0]: a valid channel: email channel 'becky'"
            " is not an email address",
        ),
        (
            {"profiles": [profile(), profile(identifiers=[])]},
            "customer 900001: profiles: one profile per source and account; two are in INSTORE",
        ),
        (
            {
                "pointsTransfers": [
                    {
                        "pointsTransferDate": "2019-10-16 15:53:42",
                        "pointsTransferred": 15.0,
                        "transferType": "DEDUCTION",
                        "transferredFrom": {"userId": 306},
                        "transferredTo": {"userId": 17742},
                    }
                ]
            },
            "customer 900001: pointsTransfers[0]: a transfer from or to customer 900001, got one"
            " from 306 to 17742",
        ),
        (
            {"mergedInto": 306},
            "customer 900001: profiles: none: the customer is merged into customer 306",
        ),
        (
            {
                "loyaltyDetails": [
                    {"programId": 4, "loyaltyId": 1, "loyaltyPoints": 0, "currentSlab": ""}
                ]
            },
            "customer 900001: loyaltyDetails[0].programId: one of the org's programs (890, 973,"
            " 1009, 1219, 1223, 1933, 2199), got 4",
        ),
        (
            {
                "loyaltyDetails": [
                    {"programId": 973, "loyaltyId": 1, "loyaltyPoints": 5, "currentSlab": ""}
                ],
                "expirySchedules": [
                    {
                        "points": 10,
                        "expiryDate": "2030-01-01",
                        "programId": 973,
                        "pointsType": "REGULAR",
                        "expiryType": "fixed",
                    }
                ],
            },
            "customer 900001: loyaltyDetails: points that add up: 10 points expire in program 973,"
            " whose account holds 5",
        ),
        (
            {
                "subscriptions": [
                    {"channel": "MOBILE", "priority": "BULK", "type": "OPTIN"},
                    {"channel": "SMS", "priority": "BULK", "type": "OPTOUT"},
                ]
            },
            "customer 900001: subscriptions: one subscription per channel, account and priority;"
            " SMS BULK is twice",
        ),
    ],
)
def test_a_customer_breaking_a_rule_is_refused_naming_the_field(
    org: Org, changes: dict[str, Any], expected: str
) -> None:
    assert problems([becky(**changes)], org) == [expected]


def test_a_merged_customer_names_another_one_whose_merges_end_at_a_live_customer(
    documented_seed: seed.Seed,
) -> None:
    merged = becky(profiles=[], mergedInto=306)
    (customer,) = customers_of([merged], documented_seed.org, alongside=documented_seed.customers)
    assert customer.merged_into == 306 and customer.profiles == ()
    assert problems([becky(profiles=[], mergedInto=5)], documented_seed.org) == [
        "customer 900001: mergedInto: the id of another customer, got 5"
    ]
    # A survivor merged later, as the API leaves it: 900002 into 900001, then 900001 into 306.
    twice = [merged, becky(id=900002, profiles=[], mergedInto=900001)]
    chained = customers_of(twice, documented_seed.org, alongside=documented_seed.customers)
    assert [c.merged_into for c in chained] == [306, 900001]
    around = [
        becky(profiles=[], mergedInto=900002),
        becky(id=900002, profiles=[], mergedInto=900001),
    ]
    assert problems(around, documented_seed.org) == [
        "customer 900001: mergedInto: merges that end at a live customer:"
        " 900001 into 900002 into 900001",
        "customer 900002: mergedInto: merges that end at a live customer:"
        " 900002 into 900001 into 900002",
    ]


def test_a_customer_others_are_merged_into_may_be_merged_by_a_later_file_but_not_into_them(
    documented_seed: seed.Seed,
) -> None:
    # What a store holds after a file merged 900001 into 306.
    held = customers_of(
        [becky(profiles=[], mergedInto=306)],
        documented_seed.org,
        alongside=documented_seed.customers,
    )
    alongside = [*documented_seed.customers, *held]
    documented_306 = document([next(c for c in documented_seed.customers if c.id == 306)])
    merged_306 = documented_306["customers"][0] | {"profiles": [], "mergedInto": 17742}
    (customer,) = customers_of([merged_306], documented_seed.org, alongside=alongside)
    assert customer.merged_into == 17742
    assert problems(
        [merged_306 | {"mergedInto": 900001}], documented_seed.org, alongside=alongside
    ) == ["customer 306: mergedInto: merges that end at a live customer: 306 into 900001 into 306"]


def test_every_problem_of_every_customer_is_reported_and_nothing_is_loaded(org: Org) -> None:
    found = problems(
        [
            becky(profiles=[profile(source="LINE")]),
            becky(id=900002, profiles=[profile(accountId="1")]),
        ],
        org,
    )
    assert [line.split(":")[0] for line in found] == ["customer 900001", "customer 900002"]


def test_a_problem_says_which_customer_field_and_expectation() -> None:
    assert str(Problem("customer 7", "profiles[0].source", "a source")) == (
        "customer 7: profiles[0].source: a source"
    )
