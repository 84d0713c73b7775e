"""Subscriptions over a seeded store: what a customer opted in to, and changing it."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import pytest

from mockserver.domain import customers, subscriptions
from mockserver.domain.errors import DomainError
from mockserver.domain.records import Blob, Org
from mockserver.storage import Store

# The signatures of conftest's example_of and refusal fixtures.
ExampleOf = Callable[[str, str, str], Any]
Refusal = Callable[[str, int, Callable[[], object]], DomainError]

TOM_SAWYER = 17742


def setting(channel: str, priority: str, kind: str, account_id: str | None = None) -> Blob:
    item = {"channel": channel, "priority": priority, "type": kind}
    return item if account_id is None else item | {"accountId": account_id}


def test_the_documented_subscriptions(store: Store, example_of: ExampleOf) -> None:
    answer = subscriptions.get(store, customer_id=TOM_SAWYER)
    assert answer == example_of("getSubscriptions", "200", "tomSawyer")


def test_the_documented_change_and_what_get_shows_after_it(
    store: Store, example_of: ExampleOf
) -> None:
    request = example_of("updateSubscriptions", "request", "optOutOfBulk")
    documented = example_of("updateSubscriptions", "200", "optOutOfBulk")
    answer = subscriptions.update(store, customer_id=TOM_SAWYER, request=request)
    # The documented response lists 3 of the 4 changes, with another reason; MOBILE is SMS.
    assert answer == documented | {
        "subscriptions": [
            setting("EMAIL", "BULK", "OPTOUT", ""),
            setting("SMS", "BULK", "OPTOUT", ""),
            setting("EMAIL", "TRANS", "OPTIN", ""),
            setting("SMS", "TRANS", "OPTIN", "123"),
        ],
        "reason": "Example reason",
    }
    assert subscriptions.get(store, customer_id=TOM_SAWYER)["subscriptions"] == [
        setting("EMAIL", "TRANS", "OPTIN"),
        setting("SMS", "TRANS", "OPTIN"),
        setting("EMAIL", "BULK", "OPTOUT"),
        setting("SMS", "BULK", "OPTOUT"),
        setting("SMS", "TRANS", "OPTIN", "123"),
    ]


def test_embed_subscriptions_shows_a_change(store: Store, org: Org) -> None:
    subscriptions.update(
        store,
        customer_id=TOM_SAWYER,
        request={"subscriptions": [setting("sms", "TRANS", "OPTOUT")]},
    )
    customer = customers.get(
        store,
        org,
        customer_id=TOM_SAWYER,
        source="WECHAT",
        account_id="22232",
        embed=["subscriptions"],
    )
    shown = subscriptions.get(store, customer_id=TOM_SAWYER)["subscriptions"]
    assert customer["subscriptionInfo"] == {"subscriptions": shown}
    assert setting("SMS", "TRANS", "OPTOUT") in shown
    assert setting("SMS", "TRANS", "OPTIN") not in shown


@pytest.mark.parametrize(
    ("channel", "shown"), [("mobile", "SMS"), ("MOBILE", "SMS"), ("email", "EMAIL"), ("ios", "IOS")]
)
def test_channels_are_named_as_capillary_answers_them(
    store: Store, channel: str, shown: str
) -> None:
    answer = subscriptions.update(
        store, customer_id=306, request={"subscriptions": [setting(channel, "BULK", "OPTIN")]}
    )
    assert answer["subscriptions"] == [setting(shown, "BULK", "OPTIN", "")]
    assert subscriptions.get(store, customer_id=306)["subscriptions"] == [
        setting(shown, "BULK", "OPTIN")
    ]


def test_the_last_setting_of_a_channel_and_priority_counts(store: Store) -> None:
    for kind in ("OPTOUT", "OPTIN", "OPTOUT"):
        subscriptions.update(
            store, customer_id=306, request={"subscriptions": [setting("EMAIL", "TRANS", kind)]}
        )
    assert subscriptions.get(store, customer_id=306)["subscriptions"] == [
        setting("EMAIL", "TRANS", "OPTOUT")
    ]


def test_one_request_setting_a_channel_twice_answers_and_keeps_the_last(store: Store) -> None:
    request = {
        "subscriptions": [setting("MOBILE", "TRANS", "OPTIN"), setting("SMS", "TRANS", "OPTOUT")]
    }
    answer = subscriptions.update(store, customer_id=306, request=request)
    assert answer["subscriptions"] == [setting("SMS", "TRANS", "OPTOUT", "")]
    assert subscriptions.get(store, customer_id=306)["subscriptions"] == [
        setting("SMS", "TRANS", "OPTOUT")
    ]


def test_an_answer_without_scope_or_campaign_is_the_users(store: Store) -> None:
    answer = subscriptions.update(
        store, customer_id=306, request={"subscriptions": [setting("EMAIL", "BULK", "OPTIN")]}
    )
    assert answer == {
        "scope": {
            "scopeId": 0,
            "scope": "USER",
            "subScope": "NONE",
            "setCreatedOn": False,
            "setPriority": False,
            "setScopeId": False,
            "setScope": True,
            "setSubScope": True,
        },
        "subscriptions": [setting("EMAIL", "BULK", "OPTIN", "")],
        "warnings": [],
    }


def test_a_new_customer_has_no_subscriptions(store: Store) -> None:
    assert subscriptions.get(store, customer_id=306) == {
        "subscriptions": [],
        "campaignId": 0,
        "communicationId": 0,
        "warnings": [],
    }


@pytest.mark.parametrize("customer_id", [9, 306], ids=["unknown", "merged"])
def test_an_unknown_or_merged_customer_is_8015(
    store: Store, refusal: Refusal, customer_id: int
) -> None:
    with store.write() as tx:
        customer = tx.customer(306)
        assert customer is not None
        tx.save(dataclasses.replace(customer, profiles=(), merged_into=TOM_SAWYER))
    request = {"subscriptions": [setting("EMAIL", "BULK", "OPTOUT")]}
    refusal("getSubscriptions", 8015, lambda: subscriptions.get(store, customer_id=customer_id))
    refusal(
        "updateSubscriptions",
        8015,
        lambda: subscriptions.update(store, customer_id=customer_id, request=request),
    )
    assert subscriptions.get(store, customer_id=TOM_SAWYER)["subscriptions"][2] == setting(
        "EMAIL", "BULK", "OPTIN"
    )
