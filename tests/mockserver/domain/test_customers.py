"""Customers over a seeded store: register, look up, get, search, update, change identifiers,
and the merges and refusals the documents describe."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any

import pytest

from mockserver.domain import (
    customers,
    points,
    seed,
    seed_files,
    subscriptions,
)
from mockserver.domain.errors import DomainError
from mockserver.domain.records import Blob, Customer
from mockserver.storage import FIRST_NEW_ID, Store

# The signatures of conftest's example_of and refusal fixtures.
ExampleOf = Callable[[str, str, str], Any]
Refusal = Callable[[str, int, Callable[[], object]], DomainError]

TOM_SAWYER = 17742  # WECHAT account 22232, email tom.sawyer@example.com, non_loyalty
MOBILE_306 = "919111111111"  # customer 306, INSTORE, loyalty
HUCK = 342963216  # INSTORE email huck.finn@example.com
RAY = 418  # WECHAT account 22232, wechat ray10
ORG = seed.load().org  # default program 973


def registration(*identifiers: tuple[str, Any], loyalty: str = "loyalty", **profile: Any) -> Blob:
    items = [{"type": kind, "value": value} for kind, value in identifiers]
    return {
        "loyaltyInfo": {"loyaltyType": loyalty},
        "profiles": [{"identifiers": items, **profile}],
    }


def register(
    store: Store,
    source: str,
    *identifiers: tuple[str, Any],
    account_id: str | None = None,
    till: str | None = None,
    **profile: Any,
) -> int:
    """Register a new customer; its id."""
    answer = customers.register(
        store,
        ORG,
        source=source,
        account_id=account_id,
        registration=registration(*identifiers, **profile),
        till=till,
    )
    assert answer["warnings"] == []
    created: int = answer["createdId"]
    return created


def lookup(store: Store, source: str, kind: str, value: str, account_id: str | None = None) -> int:
    answer = customers.lookup(
        store, source=source, account_id=account_id, identifier_name=kind, identifier_value=value
    )
    assert answer["warnings"] == []
    found: int = answer["entity"]
    return found


def get(
    store: Store,
    customer_id: int,
    source: str = "ALL",
    account_id: str | None = None,
    embed: tuple[str, ...] = (),
) -> Blob:
    return customers.get(
        store, ORG, customer_id=customer_id, source=source, account_id=account_id, embed=list(embed)
    )


def change(
    store: Store,
    customer_id: int,
    source: str,
    *,
    add: tuple[tuple[str, Any], ...] = (),
    remove: tuple[tuple[str, Any], ...] = (),
    account_id: str | None = None,
) -> Blob:
    body: Blob = {}
    if add:
        body["add"] = [{"type": kind, "value": value} for kind, value in add]
    if remove:
        body["remove"] = [{"type": kind, "value": value} for kind, value in remove]
    return customers.change_identifiers(
        store, customer_id=customer_id, source=source, account_id=account_id, change=body
    )


def update(
    store: Store,
    customer_id: int,
    source: str,
    changes: Blob,
    account_id: str | None = None,
    till: str | None = None,
) -> Blob:
    return customers.update(
        store,
        ORG,
        customer_id=customer_id,
        source=source,
        account_id=account_id,
        changes=changes,
        till=till,
    )


def search(store: Store, q: str, **options: Any) -> Blob:
    arguments: dict[str, Any] = {"source": None, "account_id": None, "limit": 10, "offset": 0}
    return customers.search(store, q=q, **(arguments | options))


def without(body: Blob, key: str) -> Blob:
    return {k: v for k, v in body.items() if k != key}


def everyone(store: Store) -> list[Customer]:
    with store.read() as tx:
        return tx.customers()


# --- register -> lookup, get, search --------------------------------------------------------


def test_the_documented_registration_answers_the_documented_response(
    store: Store, example_of: ExampleOf
) -> None:
    answer = customers.register(
        store,
        ORG,
        source="LINE",
        account_id="1234",
        registration=example_of("registerCustomer", "request", "registered"),
    )
    assert answer == example_of("registerCustomer", "200", "registered")
    assert answer["createdId"] == FIRST_NEW_ID
    for kind, value in [("mobile", "928000000113"), ("line", "line12347")]:
        assert lookup(store, "LINE", kind, value, account_id="1234") == FIRST_NEW_ID
        assert lookup(store, "ALL", kind, value) == FIRST_NEW_ID
    [profile] = get(store, FIRST_NEW_ID, "LINE", account_id="1234")["profiles"]
    assert (profile["firstName"], profile["lastName"]) == ("Tom", "Sawyer")
    assert profile["attribution"]["createdBy"]["code"] == "westTill"


def test_a_registered_customer_is_found_by_every_identifier(store: Store) -> None:
    identifiers = (
        ("mobile", "919000000001"),
        ("email", "becky@example.com"),
        ("externalId", "becky-1"),
    )
    created = register(store, "INSTORE", *identifiers, firstName="Becky", lastName="Thatcher")
    for kind, value in identifiers:
        assert lookup(store, "INSTORE", kind, value) == created
        assert lookup(store, "ALL", kind, value) == created
    [profile] = get(store, created, "INSTORE")["profiles"]
    assert profile["identifiers"] == [{"type": k, "value": v} for k, v in identifiers]
    assert (profile["firstName"], profile["lastName"]) == ("Becky", "Thatcher")
    assert (profile["source"], profile["userId"]) == ("INSTORE", created)


def test_a_registration_reads_back_as_sent(store: Store) -> None:
    body = {
        "loyaltyInfo": {"loyaltyType": "non_loyalty"},
        "associatedWith": "westTill",
        "attributionV2": {"createDate": "2016-06-23T19:11:18+08:00"},
        "profiles": [
            {
                "firstName": "Becky",
                "fields": {"Favorite Color": "Blue"},
                "identifiers": [{"type": "mobile", "value": 919000000001}],
                "commChannels": [
                    {
                        "type": "email",
                        "value": "becky@example.com",
                        "primary": "true",
                        "verified": "false",
                        "meta": {"residence": "true"},
                    }
                ],
            }
        ],
        "extendedFields": {"city": "St. Petersburg"},
    }
    created = customers.register(store, ORG, source="INSTORE", account_id=None, registration=body)
    customer = get(store, created["createdId"], "INSTORE")
    [profile] = customer["profiles"]
    assert profile["identifiers"] == [{"type": "mobile", "value": "919000000001"}]
    assert profile["fields"] == {"Favorite Color": "Blue"}
    assert profile["commChannels"] == [
        {
            "type": "email",
            "value": "becky@example.com",
            "primary": True,
            "verified": False,
            "meta": {"residence": True},
        }
    ]
    till = {"code": "westTill", "description": "", "name": "westTill", "type": "TILL"}
    assert profile["attribution"] == {
        "createDate": "2016-06-23T19:11:18+08:00",
        "createdBy": till,
        "modifiedBy": till,
        "modifiedDate": "2016-06-23T19:11:18+08:00",
    }
    # loyaltyInfo's attribution is the profile's, each till by code and name only.
    assert customer["loyaltyInfo"] == {
        "loyaltyType": "non_loyalty",
        "attributionV2": {
            "createDate": "2016-06-23T19:11:18+08:00",
            "createdBy": {"code": "westTill", "name": "westTill"},
            "modifiedBy": {"code": "westTill", "name": "westTill"},
            "modifiedDate": "2016-06-23T19:11:18+08:00",
        },
        "lifetimePurchases": 0,
    }
    assert customer["extendedFields"] == {"city": "St. Petersburg"}
    assert "pointsSummary" not in get(store, created["createdId"], embed=("points",))


def test_a_loyalty_registration_opens_a_points_account(store: Store) -> None:
    created = register(store, "INSTORE", ("mobile", "919000000001"))
    summary = get(store, created, embed=("points",))["pointsSummary"]
    assert summary["loyaltyId"] == created
    assert (summary["loyaltyPoints"], summary["lifetimePoints"]) == (0.0, 0.0)


@pytest.mark.parametrize("written", [919000000003, 919000000003.0, 9.19000000003e11])
def test_a_number_stands_for_the_string_of_its_digits_however_written(
    store: Store, refusal: Refusal, written: float
) -> None:
    # JSON Schema's integers include 12.0 and 9.19e11, which JSON reads as floats.
    created = register(store, "INSTORE", ("mobile", written))
    assert lookup(store, "INSTORE", "mobile", "919000000003") == created
    refusal(
        "registerCustomer",
        8006,
        lambda: register(store, "INSTORE", ("mobile", "919000000003")),
    )


def test_search_ignores_case_as_unicode_folds_it(store: Store) -> None:
    # A final Σ lowers to ς, the same letter inside a word to σ: lower-casing left ΟΔΥΣ no
    # prefix of ΟΔΥΣΣΕΥΣ.
    created = register(store, "INSTORE", ("mobile", "919000000301"), firstName="ΟΔΥΣΣΕΥΣ")
    for q in ["ΟΔΥΣ", "οδυσ", "ΟΔΥΣΣ", "οδυσσευς", "Οδυσσευσ"]:
        assert [hit["userId"] for hit in search(store, q)["data"]] == [created], q
    created = register(store, "INSTORE", ("mobile", "919000000302"), lastName="Straße")
    assert [hit["userId"] for hit in search(store, "STRASS")["data"]] == [created]


def test_a_registered_customer_is_found_by_search(store: Store) -> None:
    created = register(
        store, "WEBSITE", ("email", "becky@example.com"), firstName="Becky", lastName="Thatcher"
    )
    for q, matched in [
        (
            "BECK",
            [
                {"idType": "firstName", "idValue": "Becky"},
                {"idType": "email", "idValue": "becky@example.com"},
            ],
        ),
        ("thatch", [{"idType": "lastName", "idValue": "Thatcher"}]),
        ("becky@", [{"idType": "email", "idValue": "becky@example.com"}]),
    ]:
        answer = search(store, q)
        assert answer["pagination"] == {"limit": 10, "offset": 0, "total": 1}
        assert answer["data"] == [
            {
                "userId": created,
                "matchedIdentifiers": [
                    item | {"source": "WEBSITE", "accountId": ""} for item in matched
                ],
                "profiles": [{"source": "WEBSITE", "firstName": "Becky", "lastName": "Thatcher"}],
            }
        ]
        assert (answer["warnings"], answer["errors"]) == ([], [])


@pytest.mark.parametrize("source", ["WECHAT", "FACEBOOK", "LINE"])
def test_registering_in_a_multi_account_source_needs_an_account_id(
    store: Store, refusal: Refusal, source: str
) -> None:
    before = everyone(store)
    refused = refusal(
        "registerCustomer",
        8045,
        lambda: customers.register(
            store,
            ORG,
            source=source,
            account_id=None,
            registration=registration(("mobile", "919000000001")),
        ),
    )
    assert source in str(refused.detail)
    assert everyone(store) == before


@pytest.mark.parametrize(
    ("source", "account_id", "identifier", "holder"),
    [
        ("INSTORE", None, ("mobile", MOBILE_306), 306),
        ("INSTORE", "ignored", ("mobile", MOBILE_306), 306),
        ("WECHAT", "22232", ("wechat", "ray10"), RAY),
    ],
)
def test_an_identifier_taken_in_the_same_source_and_account_is_8006(
    store: Store,
    refusal: Refusal,
    source: str,
    account_id: str | None,
    identifier: tuple[str, str],
    holder: int,
) -> None:
    before = everyone(store)
    refused = refusal(
        "registerCustomer",
        8006,
        lambda: customers.register(
            store,
            ORG,
            source=source,
            account_id=account_id,
            registration=registration(("email", "new@example.com"), identifier),
        ),
    )
    assert identifier[1] in str(refused.detail) and str(holder) in str(refused.detail)
    assert everyone(store) == before


def test_the_same_identifier_in_another_wechat_account_is_not_taken(store: Store) -> None:
    # Unique per account: account 99999 may hold ray10 too. Like another source, the
    # registration combines into the customer who holds it (8050).
    answer = customers.register(
        store,
        ORG,
        source="WECHAT",
        account_id="99999",
        registration=registration(("wechat", "ray10")),
    )
    assert answer["createdId"] == RAY
    assert [warning["code"] for warning in answer["warnings"]] == [8050]
    assert lookup(store, "WECHAT", "wechat", "ray10", account_id="99999") == RAY
    assert lookup(store, "WECHAT", "wechat", "ray10", account_id="22232") == RAY
    assert [p["source"] for p in get(store, RAY, "WECHAT", account_id="99999")["profiles"]] == [
        "WECHAT"
    ]


def test_an_identifier_known_in_another_source_combines_into_its_customer(
    store: Store, example_of: ExampleOf
) -> None:
    count = len(everyone(store))
    answer = customers.register(
        store,
        ORG,
        source="WEBSITE",
        account_id=None,
        registration=registration(("email", "huck.finn@example.com"), ("mobile", "919000000001")),
    )
    assert answer == example_of("registerCustomer", "200", "mergedAcrossSources")
    assert answer["createdId"] == HUCK
    assert len(everyone(store)) == count
    assert lookup(store, "WEBSITE", "email", "huck.finn@example.com") == HUCK
    assert lookup(store, "WEBSITE", "mobile", "919000000001") == HUCK
    assert lookup(store, "INSTORE", "email", "huck.finn@example.com") == HUCK
    assert [p["source"] for p in get(store, HUCK)["profiles"]] == ["INSTORE", "WEBSITE"]


def test_a_loyalty_registration_combined_enrols_the_customer_and_sets_its_fields(
    store: Store,
) -> None:
    # 17742 is non_loyalty, in WECHAT with tom.sawyer@example.com, city Bangalore.
    body = registration(("email", "tom.sawyer@example.com")) | {"extendedFields": {"city": "Pune"}}
    answer = customers.register(store, ORG, source="INSTORE", account_id=None, registration=body)
    assert answer["createdId"] == TOM_SAWYER
    customer = get(store, TOM_SAWYER)
    assert customer["loyaltyInfo"]["loyaltyType"] == "loyalty"
    assert customer["extendedFields"] == {"city": "Pune", "gender": "Male"}
    details = points.loyalty_details(store, customer_id=TOM_SAWYER, program_id=None)["data"]
    assert ORG.default_program.id in [account["programId"] for account in details]


def test_a_registration_combined_into_a_profile_of_its_source_sets_what_it_says(
    store: Store,
) -> None:
    emails = ("becky@example.com", "becky.t@example.com")
    change(store, 306, "WEBSITE", add=tuple(("email", email) for email in emails))
    channel = {"type": "mobile", "value": MOBILE_306, "primary": True}
    for email, first_name in zip(emails, ("Becky", None), strict=True):
        profile: Blob = {"commChannels": [channel], "fields": {"color": "Green"}}
        if first_name is not None:
            profile["firstName"] = first_name
        body = registration(("email", email), **profile)
        answer = customers.register(
            store, ORG, source="INSTORE", account_id=None, registration=body
        )
        assert answer["createdId"] == 306
    (instore,) = get(store, 306, "INSTORE")["profiles"]
    assert instore["firstName"] == "Becky"  # a registration without names keeps them
    assert instore["fields"] == {"color": "Green"}
    assert instore["commChannels"] == [channel]
    assert [i["value"] for i in instore["identifiers"]] == [MOBILE_306, *emails]


def test_identifiers_of_two_customers_cannot_combine_into_one(
    store: Store, refusal: Refusal
) -> None:
    count = len(everyone(store))
    refused = refusal(
        "registerCustomer",
        8053,
        lambda: customers.register(
            store,
            ORG,
            source="WEBSITE",
            account_id=None,
            registration=registration(
                ("email", "huck.finn@example.com"), ("mobile", "919111111111")
            ),
        ),
    )
    assert f"[306, {HUCK}]" in str(refused.detail)
    assert len(everyone(store)) == count
    assert lookup(store, "ALL", "mobile", "919111111111") == 306


@pytest.mark.parametrize(
    ("identifier", "code"),
    [
        *((("mobile", mobile), 8014) for mobile in ["12345", "91911111111a", "+91 9111111111"]),
        (("mobile", "9" * 16), 8014),
        (("mobile", "919000000002\n"), 8014),
        # What changeIdentifier refuses, register refuses too, with changeIdentifier's code.
        (("email", "notanemail"), 8055),
        (("email", "becky@example"), 8055),
        (("email", "becky@example.com\n"), 8055),
        (("email", "becky@example.com\x00"), 8055),
        (("email", "becky\x7f@example.com"), 8055),
        (("externalId", "becky 1"), 8064),
    ],
)
def test_an_invalid_identifier_refuses_the_registration(
    store: Store, refusal: Refusal, identifier: tuple[str, str], code: int
) -> None:
    before = everyone(store)
    refused = refusal(
        "registerCustomer",
        code,
        lambda: customers.register(
            store,
            ORG,
            source="INSTORE",
            account_id=None,
            registration=registration(identifier),
        ),
    )
    assert repr(identifier[1]) in str(refused.detail)
    assert everyone(store) == before


@pytest.mark.parametrize(
    ("channel", "code"),
    [
        (("mobile", "91-9111"), 8014),
        (("mobile", "919111111111\n"), 8014),
        # What update refuses, register refuses too, with update's code.
        (("email", "bad"), 8057),
        (("email", "becky@"), 8057),
        (("email", "becky@example.com\n"), 8057),
    ],
)
def test_an_invalid_channel_refuses_the_registration(
    store: Store, refusal: Refusal, channel: tuple[str, str], code: int
) -> None:
    before = everyone(store)
    body = registration(
        ("mobile", "919000000001"), commChannels=[{"type": channel[0], "value": channel[1]}]
    )
    refused = refusal(
        "registerCustomer",
        code,
        lambda: customers.register(
            store, ORG, source="INSTORE", account_id=None, registration=body
        ),
    )
    assert repr(channel[1]) in str(refused.detail)
    assert everyone(store) == before


def test_concurrent_registrations_of_one_mobile_make_one_customer(
    store: Store,
) -> None:
    threads = 6
    barrier = threading.Barrier(threads)

    def attempt(name: str) -> int:
        barrier.wait()
        try:
            return register(store, "INSTORE", ("mobile", "919000000009"), firstName=name)
        except DomainError as refused:
            return -refused.code
        finally:
            store.close()

    with ThreadPoolExecutor(threads) as pool:
        outcomes = sorted(pool.map(attempt, [f"twin{i}" for i in range(threads)]))
    assert outcomes == [-8006] * (threads - 1) + [FIRST_NEW_ID]
    assert lookup(store, "INSTORE", "mobile", "919000000009") == FIRST_NEW_ID


# --- lookup ---------------------------------------------------------------------------------


def test_the_documented_lookup(store: Store, example_of: ExampleOf) -> None:
    answer = customers.lookup(
        store,
        source="INSTORE",
        account_id=None,
        identifier_name="mobile",
        identifier_value=MOBILE_306,
    )
    assert answer == example_of("lookupCustomer", "200", "foundByMobile")


def test_lookup_in_all_sources_and_in_an_account(store: Store) -> None:
    assert lookup(store, "ALL", "email", "tom.sawyer@example.com") == TOM_SAWYER
    assert lookup(store, "WECHAT", "email", "tom.sawyer@example.com", "22232") == TOM_SAWYER
    assert lookup(store, "INSTORE", "mobile", MOBILE_306, account_id="22232") == 306


@pytest.mark.parametrize(
    ("source", "account_id", "kind", "value", "code"),
    [
        ("INSTORE", None, "mobile", "919999999999", 8015),
        ("ALL", None, "mobile", "919999999999", 8015),
        ("INSTORE", None, "email", MOBILE_306, 8013),
        ("INSTORE", None, "mobile", "abc", 8013),
        ("INSTORE", None, "externalId", "a b", 8013),
        ("WEBSITE", None, "mobile", MOBILE_306, 8065),
        ("INSTORE", None, "email", "tom.sawyer@example.com", 8065),
        ("WECHAT", "99999", "wechat", "ray10", 8065),
        ("WECHAT", None, "wechat", "ray10", 8045),
    ],
)
def test_lookup_tells_invalid_from_unknown_from_elsewhere(
    store: Store,
    refusal: Refusal,
    source: str,
    account_id: str | None,
    kind: str,
    value: str,
    code: int,
) -> None:
    refusal("lookupCustomer", code, lambda: lookup(store, source, kind, value, account_id))


# --- get ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("embed", "sample"),
    [((), "tomSawyer"), (("points",), "embedPoints"), (("mlp",), "embedMlp")],
)
def test_the_documented_customer(
    store: Store, example_of: ExampleOf, embed: tuple[str, ...], sample: str
) -> None:
    answer = get(store, TOM_SAWYER, "WECHAT", "22232", embed)
    assert answer == example_of("getCustomer", "200", sample)


def test_embed_subscriptions_shows_the_customers_subscriptions(
    store: Store, example_of: ExampleOf
) -> None:
    answer = get(store, TOM_SAWYER, "WECHAT", "22232", ("subscriptions",))
    documented = example_of("getSubscriptions", "200", "tomSawyer")["subscriptions"]
    assert answer["subscriptionInfo"] == {"subscriptions": documented}


def test_embed_promotional_points_and_expiry_schedules(store: Store, example_of: ExampleOf) -> None:
    answer = get(store, 565039505, embed=("promotionalPoints", "expirySchedules", "usergroup"))
    assert answer["promotionalPoints"] == {
        "customerPromotionType": [],
        "transactionPromotionType": [],
        "lineitemPromotionType": [],
    }
    schedules = example_of("getPointsExpirySchedule", "200", "fixedExpiry")["expirySchedules"]
    assert answer["expirySchedules"] == schedules
    assert set(answer) == {
        "id",
        "profiles",
        "loyaltyInfo",
        "segments",
        "extendedFields",
        "promotionalPoints",
        "expirySchedules",
        "warnings",
    }


def test_get_in_all_sources_shows_every_profile(store: Store) -> None:
    created = register(store, "INSTORE", ("mobile", "919000000001"))
    change(store, created, "WECHAT", add=(("wechat", "wx_becky"),), account_id="22232")
    answer = get(store, created)
    assert [(p["source"], p["identifiers"]) for p in answer["profiles"]] == [
        ("INSTORE", [{"type": "mobile", "value": "919000000001"}]),
        ("WECHAT", [{"type": "wechat", "value": "wx_becky"}]),
    ]
    assert [p["source"] for p in get(store, created, "INSTORE")["profiles"]] == ["INSTORE"]


@pytest.mark.parametrize(
    ("customer_id", "source", "account_id", "code"),
    [
        (999, "ALL", None, 8015),
        (306, "WEBSITE", None, 8065),
        (TOM_SAWYER, "WECHAT", "99999", 8065),
        (TOM_SAWYER, "WECHAT", None, 8045),
    ],
)
def test_get_refusals(
    store: Store,
    refusal: Refusal,
    customer_id: int,
    source: str,
    account_id: str | None,
    code: int,
) -> None:
    refusal("getCustomer", code, lambda: get(store, customer_id, source, account_id))


# --- search ---------------------------------------------------------------------------------


def test_the_documented_search_for_tom(store: Store, example_of: ExampleOf) -> None:
    documented = example_of("searchCustomers", "200", "firstNameTom")
    answer = search(store, "tom")
    # The document's total (33) does not count its own 4 results: the mock counts its own.
    assert answer["data"][:4] == documented["data"]
    assert [hit["userId"] for hit in answer["data"][4:]] == [TOM_SAWYER, 343015431]
    assert answer["pagination"] == {"limit": 10, "offset": 0, "total": 6}


def test_search_finds_a_mobile_by_its_digits_with_a_leading_plus(store: Store) -> None:
    assert search(store, "+9191111")["data"] == search(store, "9191111")["data"] != []


def test_search_pages_through_the_results(store: Store) -> None:
    every = [hit["userId"] for hit in search(store, "tom")["data"]]
    answer = search(store, "TOM", limit=2, offset=3)
    assert answer["pagination"] == {"limit": 2, "offset": 3, "total": 6}
    assert [hit["userId"] for hit in answer["data"]] == every[3:5]
    assert search(store, "tom", offset=6)["data"] == []
    assert search(store, "tom", limit=0)["data"] == []


def test_search_in_a_source_and_account(store: Store, refusal: Refusal) -> None:
    wechat = search(store, "tom", source="WECHAT", account_id="22232")
    assert [hit["userId"] for hit in wechat["data"]] == [TOM_SAWYER]
    assert wechat["data"][0]["matchedIdentifiers"] == [
        {"idType": "firstName", "idValue": "Tom", "source": "WECHAT", "accountId": "22232"},
        {
            "idType": "email",
            "idValue": "tom.sawyer@example.com",
            "source": "WECHAT",
            "accountId": "22232",
        },
    ]
    assert search(store, "tom", source="WECHAT", account_id="1")["data"] == []
    instore = [hit["userId"] for hit in search(store, "tom", source="INSTORE")["data"]]
    assert TOM_SAWYER not in instore and len(instore) == 5
    assert len(search(store, "tom", source="ALL")["data"]) == 6
    refusal("searchCustomers", 8045, lambda: search(store, "tom", source="WECHAT"))


# --- update ---------------------------------------------------------------------------------


def test_the_documented_update_and_what_get_shows_after_it(
    store: Store, example_of: ExampleOf
) -> None:
    answer = update(
        store, 329, "WECHAT", example_of("updateCustomer", "request", "updated"), "22232"
    )
    assert answer == example_of("updateCustomer", "200", "updated")
    customer = get(store, 329, "WECHAT", "22232", ("points",))
    [profile] = customer["profiles"]
    assert (profile["firstName"], profile["lastName"]) == ("Tom", "Sawyer")
    assert profile["fields"] == {"gender": "Male", "city": "Bangalore"}
    assert profile["commChannels"] == [
        {
            "type": "email",
            "value": "tom.sawyer@example.com",
            "primary": True,
            "verified": False,
            "meta": {"residence": True},
        },
        {
            "type": "wechat",
            "value": "wc_2",
            "primary": True,
            "verified": True,
            "meta": {"residence": True},
        },
    ]
    # The identifiers of an update body change nothing.
    assert profile["identifiers"] == [{"type": "wechat", "value": "wc_2"}]
    assert customer["extendedFields"] == {"gender": "MALE", "city": "Bangalore"}
    assert customer["loyaltyInfo"]["loyaltyType"] == "loyalty"
    assert customer["pointsSummary"]["loyaltyId"] == 329
    assert lookup(store, "WECHAT", "email", "tom.sawyer@example.com", "22232") == TOM_SAWYER


def test_an_update_changes_what_it_names_and_keeps_the_rest(store: Store) -> None:
    before = get(store, TOM_SAWYER, "WECHAT", "22232")
    update(
        store,
        TOM_SAWYER,
        "WECHAT",
        {"profiles": [{"lastName": "Thatcher"}], "extendedFields": {"city": "Hannibal"}},
        "22232",
    )
    after = get(store, TOM_SAWYER, "WECHAT", "22232")
    [profile] = after["profiles"]
    assert (profile["firstName"], profile["lastName"]) == ("Tom", "Thatcher")
    assert profile["fields"] == before["profiles"][0]["fields"]
    assert profile["commChannels"] == before["profiles"][0]["commChannels"]
    assert profile["autoUpdateTime"] != before["profiles"][0]["autoUpdateTime"]
    assert after["extendedFields"] == {"city": "Hannibal", "gender": "Male"}
    assert without(after["loyaltyInfo"], "attributionV2") == without(
        before["loyaltyInfo"], "attributionV2"
    )
    assert [hit["userId"] for hit in search(store, "thatch")["data"]] == [TOM_SAWYER]


def test_an_update_merges_custom_fields_as_it_merges_extended_fields(store: Store) -> None:
    update(
        store,
        TOM_SAWYER,
        "WECHAT",
        {"profiles": [{"fields": {"Favorite Sport": "Rafting"}}]},
        "22232",
    )
    [profile] = get(store, TOM_SAWYER, "WECHAT", "22232")["profiles"]
    assert profile["fields"] == {
        "Gender": "Male",
        "Favorite Color": "Green",
        "Favorite Sport": "Rafting",
    }


def test_a_non_loyalty_customer_becomes_loyalty(store: Store) -> None:
    created = register(store, "INSTORE", ("mobile", "919000000001"), loyalty="non_loyalty")
    update(store, created, "INSTORE", {"loyaltyInfo": {"loyaltyType": "loyalty"}})
    customer = get(store, created, embed=("points",))
    assert customer["loyaltyInfo"]["loyaltyType"] == "loyalty"
    assert customer["pointsSummary"]["loyaltyId"] == created


def till(name: str) -> Blob:
    """How a profile's attribution names a till; loyaltyInfo's names only code and name."""
    return {"code": name, "description": "", "name": name, "type": "TILL"}


def test_an_update_is_attributed_to_the_till_that_made_it(store: Store) -> None:
    before = get(store, TOM_SAWYER, "WECHAT", "22232")
    update(store, TOM_SAWYER, "WECHAT", {"profiles": [{"lastName": "T"}]}, "22232", "eastTill")
    after = get(store, TOM_SAWYER, "WECHAT", "22232")
    [profile], [earlier] = after["profiles"], before["profiles"]
    # As the document's sample has them: modifiedDate is autoUpdateTime, in both attributions.
    assert profile["autoUpdateTime"] != earlier["autoUpdateTime"]
    assert profile["attribution"] == earlier["attribution"] | {
        "modifiedBy": till("eastTill"),
        "modifiedDate": profile["autoUpdateTime"],
    }
    assert after["loyaltyInfo"]["attributionV2"] == before["loyaltyInfo"]["attributionV2"] | {
        "modifiedBy": {"code": "eastTill", "name": "eastTill"},
        "modifiedDate": profile["autoUpdateTime"],
    }


def test_an_enrolment_is_attributed_to_the_till_that_made_it(store: Store) -> None:
    created = register(
        store, "INSTORE", ("mobile", "919000000001"), loyalty="non_loyalty", till="westTill"
    )
    update(store, created, "INSTORE", {"loyaltyInfo": {"loyaltyType": "loyalty"}}, till="eastTill")
    customer = get(store, created)
    assert customer["loyaltyInfo"]["attributionV2"] == {
        "createDate": customer["profiles"][0]["attribution"]["createDate"],
        "createdBy": {"code": "westTill", "name": "westTill"},
        "modifiedBy": {"code": "eastTill", "name": "eastTill"},
        "modifiedDate": customer["profiles"][0]["autoUpdateTime"],
    }


@pytest.mark.parametrize(
    ("associated_with", "credentials", "maker"),
    [
        (None, "northTill", "northTill"),
        ("westTill", "northTill", "westTill"),
        (None, None, customers.DEFAULT_TILL),
    ],
    ids=["the till's", "associatedWith", "no till"],
)
def test_a_registration_is_made_by_its_till_unless_it_names_another(
    store: Store, associated_with: str | None, credentials: str | None, maker: str
) -> None:
    body = registration(("mobile", "919000000001"))
    if associated_with is not None:
        body["associatedWith"] = associated_with
    created = customers.register(
        store, ORG, source="INSTORE", account_id=None, registration=body, till=credentials
    )["createdId"]
    [profile] = get(store, created)["profiles"]
    assert (
        profile["attribution"]["createdBy"] == profile["attribution"]["modifiedBy"] == till(maker)
    )


def test_an_identifier_change_is_attributed_to_the_till_that_made_it(store: Store) -> None:
    created = register(store, "INSTORE", ("mobile", "919000000001"), till="westTill")
    for source in ("INSTORE", "WEBSITE"):
        customers.change_identifiers(
            store,
            customer_id=created,
            source=source,
            account_id=None,
            change={"add": [{"type": "email", "value": f"becky@{source.lower()}.example.com"}]},
            till="eastTill",
        )
    instore, website = get(store, created)["profiles"]
    assert instore["attribution"]["createdBy"] == till("westTill")
    assert instore["attribution"]["modifiedBy"] == till("eastTill")
    assert instore["attribution"]["modifiedDate"] == instore["autoUpdateTime"]
    # The identifier opened a profile in WEBSITE: eastTill made it.
    assert (
        website["attribution"]["createdBy"]
        == website["attribution"]["modifiedBy"]
        == till("eastTill")
    )


def test_a_loyalty_customer_cannot_become_non_loyalty(store: Store, refusal: Refusal) -> None:
    before = get(store, 306)
    refused = refusal(
        "updateCustomer",
        8018,
        lambda: update(
            store,
            306,
            "INSTORE",
            {"profiles": [{"firstName": "Ben"}], "loyaltyInfo": {"loyaltyType": "non_loyalty"}},
        ),
    )
    assert "306" in str(refused.detail)
    assert get(store, 306) == before


@pytest.mark.parametrize(
    ("customer_id", "source", "account_id", "changes", "code"),
    [
        (999, "INSTORE", None, {}, 8009),
        (306, "WEBSITE", None, {}, 8009),
        (TOM_SAWYER, "WECHAT", None, {}, 8045),
        (
            306,
            "INSTORE",
            None,
            {"profiles": [{"commChannels": [{"type": "mobile", "value": "91-911"}]}]},
            8058,
        ),
        (
            306,
            "INSTORE",
            None,
            {"profiles": [{"commChannels": [{"type": "email", "value": "ben@"}]}]},
            8057,
        ),
    ],
)
def test_update_refusals_change_nothing(
    store: Store,
    refusal: Refusal,
    customer_id: int,
    source: str,
    account_id: str | None,
    changes: Blob,
    code: int,
) -> None:
    before = everyone(store)
    refusal("updateCustomer", code, lambda: update(store, customer_id, source, changes, account_id))
    assert everyone(store) == before


# --- change identifiers ---------------------------------------------------------------------


def test_the_documented_identifier_change(store: Store, example_of: ExampleOf) -> None:
    answer = customers.change_identifiers(
        store,
        customer_id=RAY,
        source="WECHAT",
        account_id="22232",
        change=example_of("changeCustomerIdentifier", "request", "addAndRemove"),
    )
    assert answer == example_of("changeCustomerIdentifier", "200", "addAndRemove")
    assert lookup(store, "WECHAT", "wechat", "ray11", "22232") == RAY
    assert lookup(store, "WECHAT", "wechat", "ray10", "22232") == RAY
    # It removes an email that 418 does not hold: 17742 keeps it.
    assert lookup(store, "WECHAT", "email", "tom.sawyer@example.com", "22232") == TOM_SAWYER


def test_added_identifiers_are_found_and_removed_ones_are_not(
    store: Store, refusal: Refusal
) -> None:
    assert change(store, 306, "INSTORE", add=(("email", "ben@example.com"),)) == {
        "success": True,
        "warnings": [],
    }
    assert lookup(store, "INSTORE", "email", "ben@example.com") == 306
    change(store, 306, "INSTORE", remove=(("mobile", int(MOBILE_306)),))
    refusal("lookupCustomer", 8015, lambda: lookup(store, "ALL", "mobile", MOBILE_306))
    assert [hit["userId"] for hit in search(store, "ben@")["data"]] == [306]
    assert search(store, MOBILE_306)["data"] == []
    # The mobile is free again: someone else may register it.
    assert register(store, "INSTORE", ("mobile", MOBILE_306)) == FIRST_NEW_ID


def test_an_identifier_added_in_a_new_source_makes_a_profile_there(store: Store) -> None:
    change(store, 306, "WEBSITE", add=(("email", "ben@example.com"),))
    assert lookup(store, "WEBSITE", "email", "ben@example.com") == 306
    [profile] = get(store, 306, "WEBSITE")["profiles"]
    assert profile["identifiers"] == [{"type": "email", "value": "ben@example.com"}]


def test_removing_an_identifier_the_customer_does_not_hold_changes_nothing(
    store: Store, refusal: Refusal
) -> None:
    before = everyone(store)
    assert change(store, 306, "INSTORE", remove=(("email", "nobody@example.com"),))["success"]
    assert change(store, 306, "WEBSITE", remove=(("email", "nobody@example.com"),))["success"]
    assert everyone(store) == before
    refusal("getCustomer", 8065, lambda: get(store, 306, "WEBSITE"))


def test_one_identifier_added_twice_is_added_once(store: Store) -> None:
    # The body's schema does not forbid repeats; 919000000001 and "919000000001" are one.
    answer = change(
        store, 306, "INSTORE", add=(("mobile", "919000000001"), ("mobile", 919000000001))
    )
    assert answer == {"success": True, "warnings": []}
    [profile] = get(store, 306, "INSTORE")["profiles"]
    assert profile["identifiers"] == [
        {"type": "mobile", "value": MOBILE_306},
        {"type": "mobile", "value": "919000000001"},
    ]


@pytest.mark.parametrize(
    ("customer_id", "source", "account_id", "added", "code"),
    [
        (306, "INSTORE", None, ("mobile", MOBILE_306), 8007),
        (343015431, "INSTORE", None, ("mobile", "919343015432"), 8008),
        (RAY, "WECHAT", "22232", ("email", "tom.sawyer@example.com"), 8008),
        (306, "INSTORE", None, ("email", "ben.example.com"), 8055),
        (306, "INSTORE", None, ("mobile", "9191-1111"), 8056),
        (306, "INSTORE", None, ("externalId", "ben 1"), 8064),
        (306, "INSTORE", None, ("externalId", " "), 8064),
        (999, "INSTORE", None, ("email", "ben@example.com"), 8009),
        (RAY, "WECHAT", None, ("email", "ben@example.com"), 8045),
    ],
)
def test_identifier_change_refusals_change_nothing(
    store: Store,
    refusal: Refusal,
    customer_id: int,
    source: str,
    account_id: str | None,
    added: tuple[str, str],
    code: int,
) -> None:
    before = everyone(store)
    refusal(
        "changeCustomerIdentifier",
        code,
        lambda: change(store, customer_id, source, add=(added,), account_id=account_id),
    )
    assert everyone(store) == before


# --- merges ---------------------------------------------------------------------------------


def test_adding_an_identifier_of_another_source_merges_into_its_holder(
    store: Store, refusal: Refusal, example_of: ExampleOf
) -> None:
    survivor = register(store, "WEBSITE", ("email", "becky@example.com"), firstName="Becky")
    answer = change(store, 306, "INSTORE", add=(("email", "becky@example.com"),))
    documented = example_of("changeCustomerIdentifier", "400", "err8051")["errors"][0]
    assert answer == {
        "success": True,
        "warnings": [documented | {"message": documented["message"].replace("X", str(survivor))}],
    }
    # The survivor holds the victim's identifiers and profile.
    assert lookup(store, "INSTORE", "mobile", MOBILE_306) == survivor
    assert lookup(store, "INSTORE", "email", "becky@example.com") == survivor
    assert lookup(store, "WEBSITE", "email", "becky@example.com") == survivor
    assert [(p["source"], p["userId"]) for p in get(store, survivor)["profiles"]] == [
        ("WEBSITE", survivor),
        ("INSTORE", survivor),
    ]
    assert [hit["userId"] for hit in search(store, MOBILE_306)["data"]] == [survivor]
    # The victim answers where it went.
    for operation_id, code, call in [
        ("getCustomer", 8069, lambda: get(store, 306)),
        ("getPointsExpirySchedule", 8069, lambda: points.expiry_schedule(store, customer_id=306)),
        ("updateCustomer", 8067, lambda: update(store, 306, "INSTORE", {})),
        (
            "changeCustomerIdentifier",
            8067,
            lambda: change(store, 306, "INSTORE", add=(("email", "ben@example.com"),)),
        ),
    ]:
        assert refusal(operation_id, code, call).subject == survivor


def test_a_merge_moves_the_victims_loyalty_points_fields_and_subscriptions_to_the_survivor(
    store: Store,
) -> None:
    # 17742: non_loyalty, accounts in programs 973, 1219 and 1223, four subscriptions, fields.
    victim = customers.get(
        store, ORG, customer_id=TOM_SAWYER, source="ALL", account_id=None, embed=["subscriptions"]
    )
    victim_accounts = points.loyalty_details(store, customer_id=TOM_SAWYER, program_id=None)
    survivor = register(store, "WEBSITE", ("email", "becky@example.com"), extendedFields={})
    subscriptions.update(
        store,
        customer_id=survivor,
        request={"subscriptions": [{"channel": "EMAIL", "priority": "BULK", "type": "OPTOUT"}]},
    )
    victims_1219 = victim_accounts["data"][1]
    amounts = ["redeemed", "expired", "returned", "adjusted", "lifetimePoints", "loyaltyPoints"]
    own = victims_1219 | {"loyaltyId": survivor, "currentSlab": "Bronze"}
    own |= {amount: float(n) for n, amount in enumerate([*amounts, "cumulativePurchases"])}
    with store.write() as tx:  # the survivor has an account in 1219 too
        record = tx.customer(survivor)
        assert record is not None
        accounts = (*record.points.accounts, own)
        tx.save(replace(record, points=replace(record.points, accounts=accounts)))
    change(store, TOM_SAWYER, "WECHAT", add=(("email", "becky@example.com"),), account_id="22232")

    merged = get(store, survivor, embed=("subscriptions",))
    assert merged["extendedFields"] == victim["extendedFields"]
    assert merged["loyaltyInfo"]["lifetimePurchases"] == 230
    assert [
        (s["channel"], s["priority"], s["type"])
        for s in merged["subscriptionInfo"]["subscriptions"]
    ] == [
        ("EMAIL", "BULK", "OPTOUT"),
        ("EMAIL", "TRANS", "OPTIN"),
        ("SMS", "TRANS", "OPTIN"),
        ("SMS", "BULK", "OPTIN"),
    ]
    accounts = points.loyalty_details(store, customer_id=survivor, program_id=None)["data"]
    assert [a["programId"] for a in accounts] == [973, 1219, 1223]
    # Amounts add up; the tier and the account's id stay the survivor's.
    added = {a: own[a] + victims_1219[a] for a in [*amounts, "cumulativePurchases"]}
    assert accounts[1] == own | added
    assert accounts[2] == victim_accounts["data"][2]


def test_a_survivor_merged_later_takes_its_victims_along(store: Store, refusal: Refusal) -> None:
    first = register(store, "INSTORE", ("externalId", "CX"))
    second = register(store, "WEBSITE", ("externalId", "CY"))
    third = register(store, "ECOMMERCE", ("externalId", "CZ"))
    change(store, first, "INSTORE", add=(("externalId", "CY"),))
    change(store, second, "WEBSITE", add=(("externalId", "CZ"),))
    refused = refusal("getCustomer", 8069, lambda: get(store, first))
    assert refused.subject == third
    assert refused.detail == (
        f"customer {first} was merged into customer {second}, since merged into customer {third}"
    )
    assert lookup(store, "INSTORE", "externalId", "CX") == third
    # Such a state is written as a seed file that reads back.
    written = seed_files.document(everyone(store))["customers"]
    assert seed_files.customers_of(written, ORG) == everyone(store)


def test_identifiers_of_two_customers_in_other_sources_cannot_merge(
    store: Store, refusal: Refusal
) -> None:
    before = everyone(store)
    refused = refusal(
        "changeCustomerIdentifier",
        8053,
        lambda: change(
            store,
            306,
            "WEBSITE",
            add=(("email", "huck.finn@example.com"), ("mobile", "919343015431")),
        ),
    )
    assert str(HUCK) in str(refused.detail) and "343015431" in str(refused.detail)
    assert everyone(store) == before


def test_customers_with_profiles_in_one_source_cannot_merge(store: Store, refusal: Refusal) -> None:
    # Both 306 and the other customer are in INSTORE; the email is the other's in WEBSITE.
    other = register(store, "INSTORE", ("mobile", "919000000001"))
    change(store, other, "WEBSITE", add=(("email", "becky@example.com"),))
    before = everyone(store)
    refused = refusal(
        "changeCustomerIdentifier",
        8066,
        lambda: change(store, 306, "INSTORE", add=(("email", "becky@example.com"),)),
    )
    assert "INSTORE" in str(refused.detail)
    assert everyone(store) == before
    assert lookup(store, "INSTORE", "mobile", MOBILE_306) == 306
