"""Subscriptions: which channels a customer opted in to or out of, for TRANS and BULK."""

from __future__ import annotations

import dataclasses

from mockserver.domain import identity
from mockserver.domain.records import Blob, Subscription
from mockserver.storage import Store

#: The documents answer a MOBILE subscription as SMS: they are one channel.
_CHANNEL_ALIASES = {"MOBILE": "SMS"}


def get(store: Store, *, customer_id: int) -> Blob:
    """The customer's subscriptions. Raises 8015."""
    with store.read() as tx:
        customer = identity.customer_by_id(tx, customer_id, not_found=8015)
    return {
        "subscriptions": [subscription_body(s) for s in customer.subscriptions],
        "campaignId": 0,
        "communicationId": 0,
        "warnings": [],
    }


def update(store: Store, *, customer_id: int, request: Blob) -> Blob:
    """Set each subscription of REQUEST, keyed by channel, account and priority. Raises 8015."""
    # One change per channel, account and priority, the last said (MOBILE and SMS are one).
    changes = list(
        {
            _key(change): change
            for change in (
                Subscription(
                    channel=channel_of(item["channel"]),
                    priority=item["priority"],
                    type=item["type"],
                    account_id=item.get("accountId", ""),
                )
                for item in request["subscriptions"]
            )
        }.values()
    )
    with store.write() as tx:
        customer = identity.customer_by_id(tx, customer_id, not_found=8015)
        subscriptions = {_key(s): s for s in customer.subscriptions}
        subscriptions.update((_key(s), s) for s in changes)
        tx.save(dataclasses.replace(customer, subscriptions=tuple(subscriptions.values())))
    scope = request.get("scope", {})
    body: Blob = {
        "scope": {
            "scopeId": 0,
            "scope": scope.get("scope", "USER"),
            "subScope": scope.get("subScope", "NONE"),
            "setCreatedOn": False,
            "setPriority": False,
            "setScopeId": False,
            "setScope": True,
            "setSubScope": True,
        },
        "subscriptions": [subscription_body(s, with_account=True) for s in changes],
    }
    body.update(
        {key: request[key] for key in ("campaignId", "communicationId", "reason") if key in request}
    )
    body["warnings"] = []
    return body


def combined(
    kept: tuple[Subscription, ...], joined: tuple[Subscription, ...]
) -> tuple[Subscription, ...]:
    """KEPT, and those of JOINED for a channel, account and priority KEPT says nothing of."""
    known = {_key(s) for s in kept}
    return kept + tuple(s for s in joined if _key(s) not in known)


def channel_of(name: str) -> str:
    """The channel NAME means: MOBILE is the SMS channel."""
    return _CHANNEL_ALIASES.get(name.upper(), name.upper())


def subscription_body(subscription: Subscription, *, with_account: bool = False) -> Blob:
    """A subscription as Capillary shows it: accountId when it names one, or in an echo."""
    body: Blob = {"channel": subscription.channel}
    if with_account or subscription.account_id:
        body["accountId"] = subscription.account_id
    body["priority"] = subscription.priority
    body["type"] = subscription.type
    return body


def _key(subscription: Subscription) -> tuple[str, str, str]:
    return (subscription.channel, subscription.account_id, subscription.priority)
