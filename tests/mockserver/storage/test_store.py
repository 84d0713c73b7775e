"""The Store every backend implements, as the mock relies on it: round trips, the identifier
index, transactions, reset and ids, search, concurrent writers, what the workers share
(settings, counts). Each test runs against every backend of conftest's BACKENDS."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import mypy.api
import pytest

from mockserver.domain import seed
from mockserver.domain.records import (
    Customer,
    Identifier,
    PartnerProgram,
    Points,
    Profile,
    Subscription,
)
from mockserver.storage import FIRST_NEW_ID, Found, Holding, IdentifierTaken, Store
from tests.waiting import soon

MOBILE = Identifier("mobile", "919000000001")
WECHAT = Identifier("wechat", "wx_becky")


def customer(
    customer_id: int,
    *identifiers: Identifier,
    source: str = "INSTORE",
    account_id: str = "",
    first_name: str | None = None,
    last_name: str | None = None,
    merged_into: int | None = None,
) -> Customer:
    profile = Profile(
        source,
        account_id,
        first_name=first_name,
        last_name=last_name,
        identifiers=identifiers,
    )
    return Customer(customer_id, "loyalty", profiles=(profile,), merged_into=merged_into)


def save(store: Store, *customers: Customer) -> None:
    with store.write() as tx:
        for each in customers:
            tx.save(each)


def ids(customers: list[Customer]) -> list[int]:
    return [each.id for each in customers]


# --- records and the identifier index -------------------------------------------------------


def test_a_saved_customer_reads_back_equal(empty_store: Store) -> None:
    becky = Customer(
        7,
        "loyalty",
        profiles=(
            Profile(
                "WECHAT",
                "22232",
                first_name="Becky",
                last_name="Thatcher",
                fields={"Favorite Color": "Blue", "age": 12},
                identifiers=(WECHAT, Identifier("email", "becky@example.com")),
                comm_channels=({"type": "wechat", "value": "wx_becky", "primary": True},),
                attribution={"createDate": "2016-06-23T19:11:18+08:00"},
                auto_update_time="2016-08-12T18:50:23+08:00",
            ),
            Profile("INSTORE", identifiers=(MOBILE,)),
        ),
        extended_fields={"city": "St. Petersburg"},
        lifetime_purchases=12.5,
        subscriptions=(Subscription("SMS", "BULK", "OPTOUT", "123"),),
        points=Points(
            accounts=({"programId": 973, "loyaltyId": 7, "loyaltyPoints": 10.0, "slabSNo": 1},),
            expiring=({"points": 2.5, "expiryDate": "2125-05-05", "programId": 973},),
            promised=({"points": 1.5, "redeemableFrom": "2022-04-10", "programId": 973},),
        ),
        partner_programs=(
            PartnerProgram(
                {"partnerProgramId": 20},
                linking_updates=({"activityType": "ENROLLMENT"},),
                benefits_availed=({"activityDate": "2023-01-01T00:00:00Z"},),
            ),
        ),
    )
    save(empty_store, becky)
    with empty_store.read() as tx:
        assert tx.customer(7) == becky
        assert tx.customers() == [becky]
        assert tx.customer(8) is None


def test_every_documented_customer_survives_a_round_trip(
    empty_store: Store, documented_seed: seed.Seed
) -> None:
    empty_store.reset(documented_seed.customers)
    with empty_store.read() as tx:
        assert tx.customers() == list(documented_seed.customers)


def test_saving_a_customer_again_replaces_it_and_its_identifiers(empty_store: Store) -> None:
    save(empty_store, customer(7, MOBILE, first_name="Becky"))
    other_mobile = Identifier("mobile", "919000000002")
    renamed = customer(7, other_mobile, first_name="Rebecca")
    save(empty_store, renamed)
    with empty_store.read() as tx:
        assert tx.customers() == [renamed]
        assert tx.holders(MOBILE) == []
        assert tx.holders(other_mobile) == [Holding(7, "INSTORE", "", other_mobile)]
        assert tx.search("becky").customers == []
        assert tx.search("rebecca").customers == [renamed]


def test_a_new_customer_saved_again_in_its_transaction_is_replaced(empty_store: Store) -> None:
    # A new customer is written in one go (PostgreSQL); saved again, it is replaced as any is.
    with empty_store.write() as tx:
        becky, tom = tx.new_id(), tx.new_id()
        tx.save(customer(becky, MOBILE, first_name="Becky"))
        tx.save(customer(becky, WECHAT, first_name="Rebecca"))
        tx.save_all([customer(tom, MOBILE, first_name="Tom")])
        tx.save(customer(tom, MOBILE, first_name="Thomas"))
    rebecca, thomas = (
        customer(becky, WECHAT, first_name="Rebecca"),
        customer(tom, MOBILE, first_name="Thomas"),
    )
    with empty_store.read() as tx:
        assert tx.customers() == [rebecca, thomas]
        assert tx.holders(MOBILE) == [Holding(tom, "INSTORE", "", MOBILE)]
        assert tx.holders(WECHAT) == [Holding(becky, "INSTORE", "", WECHAT)]
        assert tx.search("becky").customers == [] and tx.search("tom").customers == []
        assert tx.search("thomas").customers == [thomas]


def test_holders_by_source_and_account_or_anywhere(empty_store: Store) -> None:
    save(
        empty_store,
        customer(1, WECHAT, source="WECHAT", account_id="22232"),
        customer(2, WECHAT, source="WECHAT", account_id="99999"),
        customer(3, WECHAT, source="INSTORE"),
    )
    with empty_store.read() as tx:
        assert sorted(tx.holders(WECHAT), key=lambda holding: holding.customer_id) == [
            Holding(1, "WECHAT", "22232", WECHAT),
            Holding(2, "WECHAT", "99999", WECHAT),
            Holding(3, "INSTORE", "", WECHAT),
        ]
        assert tx.holders(WECHAT, source="WECHAT", account_id="99999") == [
            Holding(2, "WECHAT", "99999", WECHAT)
        ]
        assert {h.customer_id for h in tx.holders(WECHAT, source="WECHAT")} == {1, 2}
        assert tx.holders(WECHAT, source="INSTORE", account_id="") == [
            Holding(3, "INSTORE", "", WECHAT)
        ]
        assert tx.holders(WECHAT, source="LINE") == []
        assert tx.holders(Identifier("email", WECHAT.value)) == []


def test_holders_come_in_the_order_their_customers_were_first_stored(empty_store: Store) -> None:
    """So that a lookup in any source finds the same customer on every backend, however
    often the others are saved again."""
    first = customer(9, WECHAT, source="WECHAT", account_id="b")
    second = Customer(
        1,
        "loyalty",
        profiles=(
            Profile("WECHAT", "a", identifiers=(WECHAT,)),
            Profile("INSTORE", identifiers=(WECHAT,)),
            Profile("FACEBOOK", "z", identifiers=(WECHAT,)),
        ),
    )
    save(empty_store, first, second)
    expected = [
        Holding(9, "WECHAT", "b", WECHAT),
        Holding(1, "FACEBOOK", "z", WECHAT),
        Holding(1, "INSTORE", "", WECHAT),
        Holding(1, "WECHAT", "a", WECHAT),
    ]
    for _ in range(3):
        with empty_store.read() as tx:
            assert tx.holders(WECHAT) == expected
            assert tx.holders(MOBILE, WECHAT) == expected
        save(empty_store, customer(9, WECHAT, source="WECHAT", account_id="b", first_name="N"))


def test_holders_of_several_identifiers_at_once(empty_store: Store) -> None:
    email = Identifier("email", "becky@example.com")
    save(
        empty_store,
        customer(1, MOBILE, WECHAT),
        customer(2, WECHAT, source="WECHAT", account_id="22232"),
    )
    with empty_store.write() as tx:
        # Each identifier once, in the order asked; one nobody holds adds nobody.
        found = tx.holders(email, WECHAT, MOBILE, WECHAT)
        assert [holding.identifier for holding in found] == [WECHAT, WECHAT, MOBILE]
        assert set(found) == {
            Holding(1, "INSTORE", "", WECHAT),
            Holding(2, "WECHAT", "22232", WECHAT),
            Holding(1, "INSTORE", "", MOBILE),
        }
        assert tx.holders(email, WECHAT, source="WECHAT") == [Holding(2, "WECHAT", "22232", WECHAT)]
        assert tx.holders(MOBILE, email) == [Holding(1, "INSTORE", "", MOBILE)]
        assert tx.holders() == []
        # What a transaction was told stays true after its own save.
        tx.save(customer(3, email))
        assert tx.holders(email, MOBILE) == [
            Holding(3, "INSTORE", "", email),
            Holding(1, "INSTORE", "", MOBILE),
        ]


def test_a_second_holder_in_the_same_source_and_account_is_refused(
    empty_store: Store,
) -> None:
    save(empty_store, customer(1, WECHAT, source="WECHAT", account_id="22232"))
    with pytest.raises(IdentifierTaken) as taken:
        save(empty_store, customer(2, WECHAT, source="WECHAT", account_id="22232"))
    assert taken.value.holding == Holding(1, "WECHAT", "22232", WECHAT)
    assert "wx_becky" in str(taken.value) and "WECHAT/22232" in str(taken.value)
    with empty_store.read() as tx:
        assert tx.customer(2) is None
        assert ids(tx.customers()) == [1]


def test_any_character_a_request_can_send_is_kept_indexed_and_found(empty_store: Store) -> None:
    # A NUL (which PostgreSQL's text refuses) and the last code point, in every field the
    # store indexes.
    odd = Identifier("externalId", "x\x00y\U0010ffff")
    becky = customer(7, odd, source="WECHAT", account_id="a\x00", first_name="B\x00\U0010ffff")
    save(empty_store, becky)
    with empty_store.read() as tx:
        assert tx.customer(7) == becky
        assert tx.holders(odd, source="WECHAT", account_id="a\x00") == [
            Holding(7, "WECHAT", "a\x00", odd)
        ]
        assert tx.search("b\x00").customers == tx.search("b\x00\U0010ffff").customers == [becky]
        assert tx.search("x\x00y").customers == [becky] and tx.search("x\x00z").customers == []


def incompressible(length: int) -> str:
    """LENGTH CJK characters in no repeating order: no compression shrinks them (a B-tree entry
    of PostgreSQL holds at most 2,704 bytes, compressed)."""
    return "".join(chr(0x4E00 + (index * 7919) % 20000) for index in range(length))


def test_values_of_any_length_are_kept_indexed_and_found(empty_store: Store) -> None:
    # Neither Capillary's documents nor the spec limit a name or an identifier: 10,000
    # characters each, and two that differ only at their end.
    long = incompressible(10_000)
    first, second = Identifier("externalId", long + "1"), Identifier("externalId", long + "2")
    becky = customer(7, first, source="WECHAT", account_id=long, first_name=long)
    tom = customer(8, second, source="WECHAT", account_id=long, last_name=long[:5000] + "!")
    save(empty_store, becky, tom)
    with pytest.raises(IdentifierTaken):
        save(empty_store, customer(9, first, source="WECHAT", account_id=long))
    with empty_store.read() as tx:
        assert tx.customer(7) == becky
        assert tx.holders(first) == [Holding(7, "WECHAT", long, first)]
        assert tx.holders(first, second, account_id=long) == [
            Holding(7, "WECHAT", long, first),
            Holding(8, "WECHAT", long, second),
        ]
        assert tx.search(long[:3]).customers == tx.search(long[:4000]).customers == [becky, tom]
        assert tx.search(long).customers == [becky, tom]  # the name, and both identifiers' prefix
        assert tx.search(long[:5000] + "!").customers == [tom]
        assert tx.search(long + "2").customers == [tom]
        assert tx.search(long[:4000] + "?").customers == []


def test_a_customer_as_big_as_a_request_may_make_is_kept_and_found(empty_store: Store) -> None:
    # A registration's body may hold 1 MB: 5,000 identifiers and a name of 300,000 characters
    # (900 KB of UTF-8) are more than a socket takes at once on the way to a database.
    many = tuple(Identifier("externalId", f"ext-{index}") for index in range(5_000))
    name = "李" * 300_000
    big = customer(7, *many, first_name=name)
    save(empty_store, big)
    with empty_store.read() as tx:
        assert tx.customer(7) == big
        assert [holding.customer_id for holding in tx.holders(many[-1])] == [7]
        assert tx.search("李李").customers == tx.search("ext-4999").customers == [big]


@pytest.mark.parametrize(
    ("first", "second"),
    [(("INSTORE", ""), ("WEBSITE", "")), (("WECHAT", "22232"), ("WECHAT", "99999"))],
    ids=["another source", "another account"],
)
def test_the_same_identifier_is_free_in_another_source_or_account(
    empty_store: Store, first: tuple[str, str], second: tuple[str, str]
) -> None:
    save(
        empty_store,
        customer(1, WECHAT, source=first[0], account_id=first[1]),
        customer(2, WECHAT, source=second[0], account_id=second[1]),
    )
    with empty_store.read() as tx:
        assert {(h.customer_id, h.source, h.account_id) for h in tx.holders(WECHAT)} == {
            (1, *first),
            (2, *second),
        }


# --- transactions ---------------------------------------------------------------------------


def test_a_failed_write_transaction_leaves_nothing_behind(empty_store: Store) -> None:
    save(empty_store, customer(1, MOBILE, first_name="Tom"))
    with pytest.raises(RuntimeError, match="half-way"), empty_store.write() as tx:
        new = tx.new_id()
        tx.save(customer(new, WECHAT, first_name="Becky"))
        tx.save(customer(1, first_name="Huck"))
        raise RuntimeError("half-way")
    with empty_store.read() as tx:
        assert tx.customers() == [customer(1, MOBILE, first_name="Tom")]
        assert tx.holders(WECHAT) == []
        assert [h.customer_id for h in tx.holders(MOBILE)] == [1]
        assert tx.search("becky").customers == [] and tx.search("huck").customers == []
    with empty_store.write() as tx:
        assert tx.new_id() == FIRST_NEW_ID


def test_a_refused_save_leaves_the_transaction_as_it_was(empty_store: Store) -> None:
    # A caller may catch IdentifierTaken and carry on: the refused save must not be half done.
    becky = customer(2, WECHAT, first_name="Becky")
    save(empty_store, customer(1, MOBILE, first_name="Tom"), becky)
    with empty_store.write() as tx:
        with pytest.raises(IdentifierTaken):
            tx.save(customer(2, WECHAT, MOBILE, first_name="Rebecca"))
        assert tx.customer(2) == becky
    with empty_store.read() as tx:
        assert tx.customer(2) == becky
        assert [h.customer_id for h in tx.holders(WECHAT)] == [2]
        assert [h.customer_id for h in tx.holders(MOBILE)] == [1]
        assert tx.search("becky").customers == [becky] and tx.search("rebecca").customers == []


def test_a_read_transaction_offers_no_way_to_write(empty_store: Store) -> None:
    with empty_store.read() as tx:
        assert not hasattr(tx, "save") and not hasattr(tx, "new_id")
    with empty_store.write() as tx:
        assert callable(tx.save) and callable(tx.new_id)


def test_mypy_refuses_a_write_in_a_read_transaction() -> None:
    # What a handler that only reads cannot do by mistake, whatever the backend.
    program = """
from mockserver.domain.records import Customer
from mockserver.storage import Store

def handler(store: Store) -> None:
    with store.read() as tx:
        tx.save(Customer(1, "loyalty"))
        tx.new_id()
    with store.write() as tx:
        tx.save(Customer(1, "loyalty"))
        tx.new_id()
"""
    out, err, status = mypy.api.run(["--config-file", "", "--strict", "-c", program])
    assert (status, err) == (1, ""), out
    assert out.splitlines()[:-1] == [
        '<string>:7: error: "ReadTransaction" has no attribute "save"  [attr-defined]',
        '<string>:8: error: "ReadTransaction" has no attribute "new_id"  [attr-defined]',
    ]


def test_save_all_moves_identifiers_between_its_customers_in_any_order(
    empty_store: Store,
) -> None:
    other_mobile = Identifier("mobile", "919000000002")
    save(empty_store, customer(1, MOBILE), customer(2, other_mobile, first_name="Tom"))
    swapped = [customer(2, MOBILE, first_name="Tom"), customer(1, other_mobile)]
    with empty_store.write() as tx:
        tx.save_all(swapped)
    with empty_store.read() as tx:
        assert tx.holders(MOBILE, other_mobile) == [
            Holding(2, "INSTORE", "", MOBILE),
            Holding(1, "INSTORE", "", other_mobile),
        ]
        assert tx.search("tom") == Found(1, [swapped[0]])
        assert ids(tx.customers()) == [1, 2]


@pytest.mark.parametrize("held_by", ["another customer", "two of them"])
def test_save_all_refuses_an_identifier_held_twice_and_changes_nothing(
    empty_store: Store, held_by: str
) -> None:
    save(empty_store, customer(1, MOBILE))
    # More customers than PostgreSQL writes in one statement, the refused one last.
    many = [customer(n, Identifier("mobile", f"9190{n:08d}")) for n in range(10, 2510)]
    last = (
        customer(3, MOBILE)
        if held_by == "another customer"
        else customer(4, many[0].profiles[0].identifiers[0])
    )
    with empty_store.write() as tx, pytest.raises(IdentifierTaken) as taken:
        tx.save_all([*many, last])
    held = 1 if held_by == "another customer" else 10
    assert taken.value.holding.customer_id == held
    with empty_store.read() as tx:
        assert ids(tx.customers()) == [1] and tx.search("919").total == 1


# --- reset and ids --------------------------------------------------------------------------


def test_reset_holds_exactly_the_given_customers_and_restarts_ids(
    empty_store: Store,
) -> None:
    tom, huck = customer(1, MOBILE, first_name="Tom"), customer(2, first_name="Huck")
    with empty_store.write() as tx:
        tx.save(customer(tx.new_id(), WECHAT, first_name="Becky"))
        tx.save(customer(tx.new_id(), first_name="Amy"))
        tx.save(customer(1, first_name="Thomas"))
    empty_store.reset([tom, huck])
    with empty_store.read() as tx:
        assert tx.customers() == [tom, huck]
        assert tx.holders(WECHAT) == []
        assert tx.search("becky").total == 0 and tx.search("thomas").total == 0
        assert tx.search("tom").customers == [tom]
    with empty_store.write() as tx:
        # What the customers forgotten held is free again.
        tx.save(customer(tx.new_id(), WECHAT))
    with empty_store.read() as tx:
        assert [holding.customer_id for holding in tx.holders(WECHAT)] == [FIRST_NEW_ID]


def test_a_failed_reset_changes_nothing(empty_store: Store) -> None:
    tom = customer(1, MOBILE, first_name="Tom")
    save(empty_store, tom)
    with pytest.raises(IdentifierTaken):
        empty_store.reset([customer(2, WECHAT), customer(3, WECHAT)])
    with empty_store.read() as tx:
        assert tx.customers() == [tom]


def test_new_id_skips_taken_ids(empty_store: Store) -> None:
    empty_store.reset([customer(FIRST_NEW_ID), customer(FIRST_NEW_ID + 1), customer(17742)])
    with empty_store.write() as tx:
        first = tx.new_id()
        tx.save(customer(first))
    with empty_store.write() as tx:
        second = tx.new_id()
    assert (first, second) == (FIRST_NEW_ID + 2, FIRST_NEW_ID + 3)


# --- search ---------------------------------------------------------------------------------


@pytest.fixture
def searchable(empty_store: Store) -> Store:
    """A store of six customers saved in an order that is not their ids' order."""
    save(
        empty_store,
        customer(50, Identifier("email", "tom.sawyer@example.com"), first_name="Tom"),
        customer(10, MOBILE, first_name="Becky", last_name="Thatcher"),
        customer(30, Identifier("externalId", "tom_x"), last_name="Tomlinson"),
        customer(20, first_name="TOMMY", merged_into=50),
        customer(40, first_name="Huck", last_name="Finn"),
        customer(60, first_name="Émile"),
    )
    return empty_store


@pytest.mark.parametrize(
    ("prefix", "found"),
    [
        ("tom", [50, 30]),
        ("TOM", [50, 30]),
        ("Tom.S", [50]),
        ("thatch", [10]),
        ("THATCHER", [10]),
        ("9190000", [10]),
        ("tom_", [30]),
        ("hUcK", [40]),
        ("finn", [40]),
        ("ÉMI", [60]),
        ("émile", [60]),
        ("sawyer", []),
        ("atcher", []),
        ("tommy", []),
        ("%", []),
        ("_", []),
        ("\\", []),
    ],
)
def test_search_by_name_or_identifier_prefix_in_insertion_order(
    searchable: Store, prefix: str, found: list[int]
) -> None:
    with searchable.read() as tx:
        assert ids(tx.search(prefix).customers) == found


def test_search_leaves_out_a_customer_once_merged(searchable: Store) -> None:
    save(searchable, customer(40, first_name="Huck", last_name="Finn", merged_into=50))
    with searchable.read() as tx:
        assert tx.search("huck").customers == [] and tx.search("finn").customers == []
        assert ids(tx.customers()) == [50, 10, 30, 20, 40, 60]


def test_search_keeps_a_resaved_customer_in_its_place(searchable: Store) -> None:
    save(searchable, customer(50, first_name="Tomas"))
    with searchable.read() as tx:
        assert ids(tx.search("tom").customers) == [50, 30]
        assert ids(tx.customers()) == [50, 10, 30, 20, 40, 60]


def test_search_counts_each_customer_once_and_pages_them(searchable: Store) -> None:
    # Tom (50) matches "t" by his name and his email, Becky (10) by her last name.
    with searchable.read() as tx:
        everyone = tx.search("t")
        assert (everyone.total, ids(everyone.customers)) == (3, [50, 10, 30])
        page = tx.search("t", limit=2, offset=1)
        assert (page.total, ids(page.customers)) == (3, [10, 30])
        assert tx.search("t", limit=0) == Found(3, [])
        assert tx.search("t", offset=3) == Found(3, [])
        assert tx.search("t", limit=2**63 - 1, offset=2**63 - 1) == Found(3, [])
        assert tx.search("sawyer") == Found(0, [])


def test_search_in_a_source_and_account_finds_the_terms_of_its_profile(
    empty_store: Store,
) -> None:
    becky = Customer(
        7,
        "loyalty",
        profiles=(
            Profile("INSTORE", first_name="Becky", identifiers=(MOBILE,)),
            Profile("WECHAT", "22232", first_name="Rebecca", identifiers=(WECHAT,)),
        ),
    )
    tom = customer(8, Identifier("wechat", "wx_tom"), source="WECHAT", account_id="99999")
    save(empty_store, becky, tom)
    with empty_store.read() as tx:
        assert tx.search("beck", source="INSTORE") == Found(1, [becky])
        assert tx.search("beck", source="WECHAT", account_id="22232") == Found(0, [])
        assert tx.search("reb", source="WECHAT", account_id="22232") == Found(1, [becky])
        assert tx.search("reb", source="WECHAT", account_id="99999") == Found(0, [])
        assert tx.search("wx_", source="WECHAT", account_id="99999") == Found(1, [tom])
        assert tx.search("wx_") == Found(2, [becky, tom])
        assert tx.search("9190", source="WECHAT", account_id="22232") == Found(0, [])


# --- concurrent writers ---------------------------------------------------------------------


def test_concurrent_registrations_from_threads_make_one_holder(empty_store: Store) -> None:
    threads = 8
    barrier = threading.Barrier(threads)

    def register(name: str) -> int | None:
        """Register MOBILE unless someone holds it, as the domain does."""
        barrier.wait()
        try:
            with empty_store.write() as tx:
                if tx.holders(MOBILE, source="INSTORE", account_id=""):
                    return None
                customer_id = tx.new_id()
                tx.save(customer(customer_id, MOBILE, first_name=name))
                return customer_id
        finally:
            empty_store.close()

    with ThreadPoolExecutor(threads) as pool:
        results = list(pool.map(register, [f"twin{i}" for i in range(threads)]))
    # Writers are serialised: every loser saw the winner's holding, none raised.
    winners = [result for result in results if result is not None]
    assert winners == [FIRST_NEW_ID]
    with empty_store.read() as tx:
        assert [h.customer_id for h in tx.holders(MOBILE)] == winners
        assert ids(tx.customers()) == winners


def test_concurrent_new_ids_from_threads_are_all_different(empty_store: Store) -> None:
    threads = 8
    barrier = threading.Barrier(threads)

    def register(number: int) -> int:
        barrier.wait()
        try:
            with empty_store.write() as tx:
                customer_id = tx.new_id()
                tx.save(customer(customer_id, Identifier("mobile", f"91900000010{number}")))
                return customer_id
        finally:
            empty_store.close()

    with ThreadPoolExecutor(threads) as pool:
        registered = list(pool.map(register, range(threads)))
    assert sorted(registered) == list(range(FIRST_NEW_ID, FIRST_NEW_ID + threads))
    with empty_store.read() as tx:
        assert sorted(ids(tx.customers())) == sorted(registered)


# --- what every worker shares: settings and counts ------------------------------------------


def test_settings_shared_by_one_worker_are_in_force_in_it_at_once_and_soon_in_another(
    empty_store: Store, open_store_again: Callable[[], Store]
) -> None:
    other_worker = open_store_again()
    assert empty_store.shared_settings() is None and other_worker.shared_settings() is None
    slow = {"latency": {"min": 0.3, "max": 0.3}, "faults": 0.05}
    empty_store.share_settings(slow)
    assert empty_store.shared_settings() == slow
    assert soon(lambda: other_worker.shared_settings() == slow)
    other_worker.share_settings({"faults": 0.5})
    assert other_worker.shared_settings() == {"faults": 0.5}
    assert soon(lambda: empty_store.shared_settings() == {"faults": 0.5})
    empty_store.share_settings(None)
    assert empty_store.shared_settings() is None
    # A replica on PostgreSQL hears of another's change moments after (on SQLite, at once).
    assert soon(lambda: other_worker.shared_settings() is None)


def test_settings_shared_by_one_thread_are_in_force_in_the_others(empty_store: Store) -> None:
    assert empty_store.shared_settings() is None  # this thread has read them once
    with ThreadPoolExecutor(1) as pool:
        pool.submit(empty_store.share_settings, {"faults": 1.0}).result()
        pool.submit(empty_store.close).result()
    assert empty_store.shared_settings() == {"faults": 1.0}


def test_counts_are_per_key_and_window_across_workers(
    empty_store: Store, open_store_again: Callable[[], Store]
) -> None:
    other_worker = open_store_again()
    assert [empty_store.count("till", 7), other_worker.count("till", 7)] == [1, 2]
    assert empty_store.count("token", 7) == 1
    assert other_worker.count("till", 7) == 3
    assert empty_store.count("till", 8) == 1  # the next window starts again
    assert other_worker.count("till", 8) == 2
    assert empty_store.count("token", 8) == 1
    long_key = incompressible(5_000)
    assert [empty_store.count(long_key, 8), other_worker.count(long_key, 8)] == [1, 2]


def test_what_was_counted_is_read_without_counting(
    empty_store: Store, open_store_again: Callable[[], Store]
) -> None:
    store, other_worker = empty_store, open_store_again()
    assert store.counted("requests", 0) == 0
    store.count("requests", 0)
    other_worker.count("requests", 0)
    assert [store.counted("requests", 0), other_worker.counted("requests", 0)] == [2, 2]
    assert store.counted("requests", 1) == 0  # another window
    assert store.counted("till", 0) == 0
    store.reset([])
    assert other_worker.counted("requests", 0) == 0


def test_concurrent_counts_from_threads_are_all_different(empty_store: Store) -> None:
    threads = 8
    barrier = threading.Barrier(threads)

    def count(_: int) -> list[int]:
        barrier.wait()
        try:
            return [empty_store.count("till", 1) for _ in range(5)]
        finally:
            empty_store.close()

    with ThreadPoolExecutor(threads) as pool:
        counted = [value for values in pool.map(count, range(threads)) for value in values]
    assert sorted(counted) == list(range(1, threads * 5 + 1))


def test_reset_forgets_counts_and_keeps_shared_settings(empty_store: Store) -> None:
    empty_store.share_settings({"faults": 0.5})
    empty_store.count("till", 1)
    empty_store.count("till", 1)
    empty_store.reset([customer(1)])
    assert empty_store.count("till", 1) == 1
    assert empty_store.shared_settings() == {"faults": 0.5}
