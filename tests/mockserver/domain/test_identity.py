"""Identifiers in their canonical form: one person is one customer in a source however a
client spells the identifier, and a lookup or a removal takes any spelling."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from mockserver.domain import customers, points, seed, seed_files
from mockserver.domain.errors import DomainError
from mockserver.domain.records import Blob, Customer, Identifier
from mockserver.storage import FIRST_NEW_ID, Store

Refusal = Callable[[str, int, Callable[[], object]], DomainError]

TOM_SAWYER = 17742  # WECHAT account 22232, email tom.sawyer@example.com
HUCK = 342963216  # INSTORE email huck.finn@example.com
RAY = 418  # WECHAT account 22232
ORG = seed.load().org


def registration(*identifiers: tuple[str, Any], channels: tuple[Blob, ...] = ()) -> Blob:
    profile: Blob = {
        "firstName": "Imposter",
        "identifiers": [{"type": kind, "value": value} for kind, value in identifiers],
    }
    if channels:
        profile["commChannels"] = list(channels)
    return {"loyaltyInfo": {"loyaltyType": "non_loyalty"}, "profiles": [profile]}


def register(store: Store, source: str, *identifiers: tuple[str, Any], **options: Any) -> Blob:
    return customers.register(
        store,
        ORG,
        source=source,
        account_id=None,
        registration=registration(*identifiers, **options),
    )


def lookup(store: Store, source: str, kind: str, value: str, account_id: str | None = None) -> int:
    answer = customers.lookup(
        store, source=source, account_id=account_id, identifier_name=kind, identifier_value=value
    )
    found: int = answer["entity"]
    return found


def identifiers(store: Store, customer_id: int, source: str, account_id: str | None = None) -> Any:
    answer = customers.get(
        store, ORG, customer_id=customer_id, source=source, account_id=account_id, embed=[]
    )
    [profile] = answer["profiles"]
    return profile["identifiers"]


def everyone(store: Store) -> list[Customer]:
    with store.read() as tx:
        return tx.customers()


@pytest.mark.parametrize(
    ("spelt", "canonical"),
    [
        (Identifier("mobile", "+919111111111"), Identifier("mobile", "919111111111")),
        (Identifier("mobile", "919111111111"), Identifier("mobile", "919111111111")),
        (
            Identifier("email", "Tom.Sawyer@Example.COM"),
            Identifier("email", "tom.sawyer@example.com"),
        ),
        (Identifier("email", "ΟΔΥΣΣΕΥΣ@example.gr"), Identifier("email", "οδυσσευς@example.gr")),
        # No mobile, so no spelling of one: kept as it is (a lookup of it finds no one).
        (Identifier("mobile", "++919111111111"), Identifier("mobile", "++919111111111")),
        (Identifier("mobile", "+91"), Identifier("mobile", "+91")),
        # Other types are compared as sent.
        (Identifier("externalId", "TS11"), Identifier("externalId", "TS11")),
        (Identifier("wechat", "+919111111111"), Identifier("wechat", "+919111111111")),
    ],
)
def test_an_identifier_has_one_canonical_form(spelt: Identifier, canonical: Identifier) -> None:
    assert spelt.canonical() == canonical
    assert canonical.canonical() == canonical


@pytest.mark.parametrize(
    ("identifier", "holder"),
    [
        (("email", "HUCK.FINN@example.com"), HUCK),
        (("mobile", "+919111111111"), 306),
        (("mobile", 919111111111), 306),
    ],
)
def test_registering_another_spelling_of_a_taken_identifier_is_8006(
    store: Store, refusal: Refusal, identifier: tuple[str, Any], holder: int
) -> None:
    before = everyone(store)
    refused = refusal("registerCustomer", 8006, lambda: register(store, "INSTORE", identifier))
    assert str(holder) in str(refused.detail)
    assert everyone(store) == before


def test_adding_another_spelling_of_an_identifier_held_in_the_account_is_8008(
    store: Store, refusal: Refusal
) -> None:
    before = everyone(store)
    refused = refusal(
        "changeCustomerIdentifier",
        8008,
        lambda: customers.change_identifiers(
            store,
            customer_id=RAY,
            source="WECHAT",
            account_id="22232",
            change={"add": [{"type": "email", "value": "TOM.SAWYER@example.com"}]},
        ),
    )
    assert str(TOM_SAWYER) in str(refused.detail)
    assert everyone(store) == before


@pytest.mark.parametrize(
    ("kind", "value", "holder"),
    [
        ("email", "Tom.Sawyer@example.com", TOM_SAWYER),
        ("email", "TOM.SAWYER@EXAMPLE.COM", TOM_SAWYER),
        ("mobile", "+919111111111", 306),
    ],
)
def test_a_lookup_finds_the_holder_by_any_spelling(
    store: Store, kind: str, value: str, holder: int
) -> None:
    assert lookup(store, "ALL", kind, value) == holder
    source, account = ("WECHAT", "22232") if holder == TOM_SAWYER else ("INSTORE", None)
    assert lookup(store, source, kind, value, account) == holder


def test_the_points_lookup_takes_any_spelling_too(store: Store) -> None:
    schedule = points.promised_points(
        store,
        ORG,
        source="INSTORE",
        account_id=None,
        identifier_name="mobile",
        identifier_value="+917752198768",
        program_id=None,
        entity_type="CUSTOMER",
        all_programs=True,
        start_date=None,
        end_date=None,
    )
    assert schedule["entityId"] == 374844123


def test_removing_another_spelling_removes_the_identifier(store: Store, refusal: Refusal) -> None:
    customers.change_identifiers(
        store,
        customer_id=HUCK,
        source="INSTORE",
        account_id=None,
        change={"remove": [{"type": "email", "value": "Huck.Finn@Example.com"}]},
    )
    assert identifiers(store, HUCK, "INSTORE") == []
    refusal("lookupCustomer", 8015, lambda: lookup(store, "ALL", "email", "huck.finn@example.com"))
    customers.change_identifiers(
        store,
        customer_id=306,
        source="INSTORE",
        account_id=None,
        change={"remove": [{"type": "mobile", "value": "+919111111111"}]},
    )
    assert identifiers(store, 306, "INSTORE") == []


def test_a_write_stores_and_echoes_the_canonical_form(store: Store) -> None:
    answer = register(
        store,
        "INSTORE",
        ("mobile", "+919700000001"),
        ("email", "Becky.Thatcher@Example.com"),
        ("externalId", "BT-1"),
    )
    assert answer["createdId"] == FIRST_NEW_ID
    assert identifiers(store, FIRST_NEW_ID, "INSTORE") == [
        {"type": "mobile", "value": "919700000001"},
        {"type": "email", "value": "becky.thatcher@example.com"},
        {"type": "externalId", "value": "BT-1"},
    ]
    customers.change_identifiers(
        store,
        customer_id=FIRST_NEW_ID,
        source="INSTORE",
        account_id=None,
        change={"add": [{"type": "email", "value": "BECKY@example.com"}]},
    )
    assert identifiers(store, FIRST_NEW_ID, "INSTORE")[-1] == {
        "type": "email",
        "value": "becky@example.com",
    }


def test_two_spellings_of_one_identifier_in_a_registration_are_one(store: Store) -> None:
    register(store, "INSTORE", ("mobile", "+919700000002"), ("mobile", "919700000002"))
    assert identifiers(store, FIRST_NEW_ID, "INSTORE") == [
        {"type": "mobile", "value": "919700000002"}
    ]


def test_a_comm_channel_is_kept_as_sent(store: Store) -> None:
    # A channel is where to reach the customer, no identifier: nothing is unique about it,
    # and search does not find customers by it.
    channels = (
        {"type": "mobile", "value": "+919700000003", "primary": True},
        {"type": "email", "value": "Becky@Example.com"},
    )
    register(store, "INSTORE", ("mobile", "919700000003"), channels=channels)
    answer = customers.get(
        store, ORG, customer_id=FIRST_NEW_ID, source="INSTORE", account_id=None, embed=[]
    )
    assert answer["profiles"][0]["commChannels"] == list(channels)


def test_search_finds_a_canonical_email_by_any_case(store: Store) -> None:
    register(store, "INSTORE", ("email", "Becky.Thatcher@Example.com"))
    for q in ("becky.thatcher@", "BECKY.THATCHER@EXAMPLE"):
        found = customers.search(store, q=q, source=None, account_id=None, limit=10, offset=0)
        assert [hit["userId"] for hit in found["data"]] == [FIRST_NEW_ID]
        [matched] = found["data"][0]["matchedIdentifiers"]
        assert matched["idValue"] == "becky.thatcher@example.com"


def test_the_documented_seed_holds_identifiers_in_their_canonical_form() -> None:
    held = [identifier for c in seed.load().customers for _, identifier in c.holdings()]
    assert held and [identifier.canonical() for identifier in held] == held


def seed_customer(customer_id: int, *identifiers: tuple[str, Any]) -> Blob:
    items = [{"type": kind, "value": value} for kind, value in identifiers]
    return {
        "id": customer_id,
        "loyaltyInfo": {"loyaltyType": "non_loyalty"},
        "profiles": [{"source": "INSTORE", "identifiers": items}],
    }


def test_a_seed_file_s_identifiers_are_kept_in_their_canonical_form() -> None:
    [read] = seed_files.customers_of(
        [seed_customer(900001, ("mobile", "+919900000001"), ("email", "B@X.com"))], ORG
    )
    assert read.profiles[0].identifiers == (
        Identifier("mobile", "919900000001"),
        Identifier("email", "b@x.com"),
    )


def test_a_seed_file_giving_two_customers_one_identifier_in_two_spellings_is_refused() -> None:
    written = [
        seed_customer(900001, ("email", "becky@example.com")),
        seed_customer(900002, ("email", "Becky@Example.com")),
    ]
    with pytest.raises(seed_files.InvalidSeed) as refused:
        seed_files.customers_of(written, ORG)
    assert [str(problem) for problem in refused.value.problems] == [
        "customer 900002: profiles[0].identifiers[0]: an identifier no other customer holds in"
        " INSTORE; email 'becky@example.com' is customer 900001's"
    ]


def test_a_seed_file_customer_taking_another_spelling_of_a_documented_identifier_is_refused() -> (
    None
):
    documented = seed.load().customers
    with pytest.raises(seed_files.InvalidSeed) as refused:
        seed_files.customers_of(
            [seed_customer(900001, ("email", "HUCK.FINN@example.com"))], ORG, alongside=documented
        )
    [problem] = refused.value.problems
    assert f"is customer {HUCK}'s" in problem.expected


def test_a_seed_file_customer_holding_one_identifier_in_two_spellings_is_refused() -> None:
    written = [seed_customer(900001, ("mobile", "919900000001"), ("mobile", "+919900000001"))]
    with pytest.raises(seed_files.InvalidSeed) as refused:
        seed_files.customers_of(written, ORG)
    [problem] = refused.value.problems
    assert problem.field == "profiles[0].identifiers[1]"
    assert "919900000001" in problem.expected


def test_an_identifier_held_in_two_sources_is_found_in_all_as_its_first_stored_holder(
    empty_store: Store,
) -> None:
    in_website = seed_customer(910001, ("mobile", "919700000001"))
    in_website["profiles"][0]["source"] = "WEBSITE"
    written = [in_website, seed_customer(910002, ("mobile", "919700000001"))]
    with empty_store.write() as tx:
        tx.save_all(seed_files.customers_of(written, ORG))
    for _ in range(3):
        assert lookup(empty_store, "ALL", "mobile", "919700000001") == 910001
        customers.update(
            empty_store,
            ORG,
            customer_id=910001,
            source="WEBSITE",
            account_id=None,
            changes={"profiles": [{"firstName": "Saved again"}]},
        )
