"""Customers: register, update, change identifiers, look up, get, search."""

from __future__ import annotations

import dataclasses
from typing import Any

from mockserver.domain import identity, partner_programs, points, subscriptions
from mockserver.domain.errors import CustomerNotFound, IdentifierConflict, NotAllowed
from mockserver.domain.identity import ALL, account_of, source_of, where
from mockserver.domain.records import Blob, Customer, Identifier, Org, Profile
from mockserver.storage import Store, WriteTransaction, search_fields, search_key

SAME_CUSTOMER_IN_OTHER_SOURCES = 8050
MERGED_INTO_EXISTING = 8051
#: Who a write is attributed to when neither the credentials (a till) nor the body
#: (associatedWith) name a till: without auth, or with an OAuth token.
DEFAULT_TILL = "capkit.mock"


def register(
    store: Store,
    org: Org,
    *,
    source: str,
    account_id: str | None,
    registration: Blob,
    till: str | None = None,
) -> Blob:
    """Register a customer in SOURCE, made by TILL unless the body's associatedWith names
    another; an identifier known in another source (or another account of it) combines
    the registration into that customer (warning 8050). A loyalty customer gets an account
    in the org's default program.

    Raises 8045, 8014 (mobile), 8055 (email), 8064 (externalId), 8057 (email channel),
    8006, and 8053 for identifiers of several customers.
    """
    source = source_of(source)
    account = account_of(source, account_id)
    till = registration.get("associatedWith") or till or DEFAULT_TILL
    profile = _registered_profile(registration, source, account, till)
    with store.write() as tx:
        anywhere = tx.holders(*profile.identifiers)
        for wanted in profile.identifiers:
            for holding in tx.holders(wanted, source=source, account_id=account):
                raise IdentifierConflict(
                    8006,
                    detail=f"{wanted.type} {wanted.value!r} is registered to customer "
                    f"{holding.customer_id} in {where(source, account)}",
                )
        elsewhere = sorted({holding.customer_id for holding in anywhere})
        if len(elsewhere) > 1:
            raise IdentifierConflict(
                8053,
                detail=f"the identifiers belong to different customers ({elsewhere}) in other"
                " sources or accounts: register the identifiers of one customer",
            )
        if elsewhere:
            existing = tx.customer(elsewhere[0])
            assert existing is not None
            tx.save(_combined(existing, registration, profile, org, till))
            warning = identity.warning(
                SAME_CUSTOMER_IN_OTHER_SOURCES, "Same Customer found in other sources,Combining"
            )
            return {"createdId": existing.id, "warnings": [warning], "sideEffects": []}
        customer = _new_customer(tx.new_id(), registration, profile, org, till)
        tx.save(customer)
    return {"createdId": customer.id, "warnings": [], "sideEffects": []}


def update(
    store: Store,
    org: Org,
    *,
    customer_id: int,
    source: str,
    account_id: str | None,
    changes: Blob,
    till: str | None = None,
) -> Blob:
    """Update the customer's profile in SOURCE, its fields and loyalty, as changed by TILL.
    Identifiers cannot change here. Raises 8045, 8057, 8058, 8009, 8067, 8018."""
    source = source_of(source)
    account = account_of(source, account_id)
    till = till or DEFAULT_TILL
    profile_changes = [_profile_changes(body) for body in changes.get("profiles", [])]
    loyalty_type = changes.get("loyaltyInfo", {}).get("loyaltyType")
    with store.write() as tx:
        customer = identity.customer_by_id(tx, customer_id, not_found=8009, merged=8067)
        profiles = customer.profiles_in(source, account)
        if not profiles:
            raise _no_profile(8009, customer, source, account)
        profile = updated = profiles[0]
        for change in profile_changes:
            if "fields" in change:  # custom fields are merged, as extended fields are
                change = {**change, "fields": {**updated.fields, **change["fields"]}}
            updated = dataclasses.replace(updated, **change)
        if customer.loyalty_type == "loyalty" and loyalty_type == "non_loyalty":
            raise NotAllowed(8018, detail=f"customer {customer_id} is a loyalty customer")
        customer = dataclasses.replace(
            _touched(customer, profile, updated, till),
            extended_fields={**customer.extended_fields, **changes.get("extendedFields", {})},
        )
        if loyalty_type == "loyalty" and customer.loyalty_type != "loyalty":
            customer = points.enrolled(customer, org)
        tx.save(customer)
    return {"createdId": customer_id, "warnings": []}


def change_identifiers(
    store: Store,
    *,
    customer_id: int,
    source: str,
    account_id: str | None,
    change: Blob,
    till: str | None = None,
) -> Blob:
    """Add and remove identifiers of the customer in SOURCE, as changed by TILL. Adding one
    that a customer of another source holds merges this customer into that one (warning
    8051).

    Raises 8045, 8055, 8056, 8064, 8009, 8067, 8007, 8008, 8053, 8066. Removing an
    identifier the customer does not hold there changes nothing.
    """
    source = source_of(source)
    account = account_of(source, account_id)
    till = till or DEFAULT_TILL
    # Once each: the body may repeat one (919111111111 and "919111111111" are one identifier).
    added = list(dict.fromkeys(_added_identifier(item) for item in change.get("add", [])))
    removed = {identity.identifier(item) for item in change.get("remove", [])}
    with store.write() as tx:
        customer = identity.customer_by_id(tx, customer_id, not_found=8009, merged=8067)
        anywhere = tx.holders(*added)
        for wanted in added:
            for holding in tx.holders(wanted, source=source, account_id=account):
                mine = holding.customer_id == customer_id
                raise IdentifierConflict(
                    8007 if mine else 8008,
                    detail=f"{wanted.type} {wanted.value!r} is already registered to "
                    f"{'this customer' if mine else f'customer {holding.customer_id}'} "
                    f"in {where(source, account)}",
                )
        profile = next(iter(customer.profiles_in(source, account)), None) or _new_profile(
            source, account, identity.timestamp(), till
        )
        kept = [i for i in profile.identifiers if i not in removed]
        changed = dataclasses.replace(profile, identifiers=tuple(dict.fromkeys(kept + added)))
        if changed.identifiers != profile.identifiers:
            # Only an addition opens a profile in a source the customer is not in yet.
            customer = _touched(customer, profile, changed, till)
        others = sorted({h.customer_id for h in anywhere if h.customer_id != customer_id})
        if not others:
            tx.save(customer)
            return {"success": True, "warnings": []}
        if len(others) > 1:
            raise IdentifierConflict(
                8053, detail=f"the identifiers to add belong to customers {others} in other sources"
            )
        survivor = tx.customer(others[0])
        assert survivor is not None
        _merge(tx, victim=customer, survivor=survivor)
    merged = identity.warning(
        MERGED_INTO_EXISTING,
        "Same identifier found in other source."
        f" Merging into the account with user id {survivor.id}",
    )
    return {"success": True, "warnings": [merged]}


def lookup(
    store: Store,
    *,
    source: str,
    account_id: str | None,
    identifier_name: str,
    identifier_value: str,
) -> Blob:
    """The id of the customer holding the identifier. Raises 8045, 8013 (a mobile, email or
    externalId that no write would take), 8015, 8065."""
    source = source_of(source)
    account = "" if source == ALL else account_of(source, account_id)
    wanted = identity.valid_identifier(
        {"type": identifier_name, "value": identifier_value},
        invalid_mobile=8013,
        invalid_email=8013,
        invalid_external_id=8013,
    )
    with store.read() as tx:
        customer = identity.customer_by_identifier(
            tx,
            wanted,
            source=source,
            account_id=account,
            not_found=8015,
            elsewhere=8065,
        )
    return {"entity": customer.id, "warnings": []}


def get(
    store: Store,
    org: Org,
    *,
    customer_id: int,
    source: str,
    account_id: str | None,
    embed: list[str],
) -> Blob:
    """The customer as seen in SOURCE (ALL: every source), with the details EMBED asks for.

    Raises 8045, 8015, 8069, 8065.
    """
    source = source_of(source)
    account = "" if source == ALL else account_of(source, account_id)
    with store.read() as tx:
        customer = identity.customer_by_id(tx, customer_id, not_found=8015, merged=8069)
    profiles = customer.profiles_in(source, account)
    if source != ALL and not profiles:
        raise _no_profile(8065, customer, source, account)
    body: Blob = {
        "id": customer.id,
        "profiles": [_profile_body(profile, customer.id) for profile in profiles],
        "loyaltyInfo": loyalty_info(customer),
        "segments": customer.segments,
        "extendedFields": customer.extended_fields,
    }
    for name in embed:
        body.update(_embedded(customer, name, org))
    body["warnings"] = []
    return body


def search(
    store: Store, *, q: str, source: str | None, account_id: str | None, limit: int, offset: int
) -> Blob:
    """Customers whose first name, last name or an identifier starts with Q, a page of them.
    A mobile is kept without its leading +: +9191 finds what 9191 does."""
    if q[1:].isdigit() and q.startswith("+"):
        q = q[1:]
    place = None if source is None or source_of(source) == ALL else source_of(source)
    account = "" if place is None else account_of(place, account_id)
    with store.read() as tx:
        found = tx.search(q, source=place, account_id=account, limit=limit, offset=offset)
    key = search_key(q)
    return {
        "pagination": {"limit": limit, "offset": offset, "total": found.total},
        "data": [_search_hit(customer, key, place, account) for customer in found.customers],
        "warnings": [],
        "errors": [],
    }


# --- profiles and customers as the rules build them ----------------------------------------


def _registered_profile(registration: Blob, source: str, account: str, till: str) -> Profile:
    """The one profile a registration by TILL makes in its source, from the body's profiles."""
    bodies = registration["profiles"]
    names: Blob = next((b for b in bodies if b.get("firstName") or b.get("lastName")), {})
    identifiers = dict.fromkeys(  # each once, in order
        identity.valid_identifier(
            item, invalid_mobile=8014, invalid_email=8055, invalid_external_id=8064
        )
        for body in bodies
        for item in body["identifiers"]
    )
    created = identity.timestamp()
    registered = registration.get("attributionV2", {}).get("createDate") or created
    return dataclasses.replace(
        _new_profile(source, account, registered, till),
        first_name=names.get("firstName"),
        last_name=names.get("lastName"),
        fields={k: v for body in bodies for k, v in body.get("fields", {}).items()},
        identifiers=tuple(identifiers),
        comm_channels=tuple(
            identity.comm_channel(item, invalid_mobile=8014, invalid_email=8057)
            for body in bodies
            for item in body.get("commChannels", [])
        ),
        auto_update_time=created,
    )


def _new_profile(source: str, account: str, created: str, till: str) -> Profile:
    """An empty profile in SOURCE and ACCOUNT that TILL made at CREATED."""
    return Profile(
        source=source,
        account_id=account,
        attribution=_attribution(created, _till(till)),
        auto_update_time=created,
    )


def _new_customer(
    customer_id: int, registration: Blob, profile: Profile, org: Org, till: str
) -> Customer:
    assert profile.attribution is not None
    customer = Customer(
        id=customer_id,
        loyalty_type="non_loyalty",
        profiles=(profile,),
        extended_fields=dict(registration.get("extendedFields", {})),
        loyalty_attribution=_attribution(profile.attribution["createDate"], _short_till(till)),
        lifetime_purchases=0,
    )
    if registration["loyaltyInfo"]["loyaltyType"] == "loyalty":
        customer = points.enrolled(customer, org)
    return customer


def _touched(customer: Customer, old: Profile, new: Profile, till: str) -> Customer:
    """CUSTOMER with NEW in place of its profile OLD (or beside its profiles), NEW and the
    customer's loyalty attribution marked as changed now by TILL."""
    moment = identity.timestamp()
    new = dataclasses.replace(
        new, attribution=_modified(new.attribution, _till(till), moment), auto_update_time=moment
    )
    return dataclasses.replace(
        _replace_profile(customer, old, new),
        loyalty_attribution=_modified(customer.loyalty_attribution, _short_till(till), moment),
    )


def _attribution(created: str, actor: Blob) -> Blob:
    return {"createDate": created, "createdBy": actor, "modifiedBy": actor, "modifiedDate": created}


def _modified(attribution: Blob | None, actor: Blob, moment: str) -> Blob | None:
    """ATTRIBUTION as changed by ACTOR at MOMENT. One the documents do not show stays
    absent: the mock does not know who created that record."""
    if attribution is None:
        return None
    return {**attribution, "modifiedBy": actor, "modifiedDate": moment}


def _till(name: str) -> Blob:
    """The till NAME as a profile's attribution names who made a change."""
    return {"code": name, "description": "", "name": name, "type": "TILL"}


def _short_till(name: str) -> Blob:
    """The till NAME as loyaltyInfo's attribution names it: by code and name only."""
    return {"code": name, "name": name}


def _profile_changes(body: Blob) -> dict[str, Any]:
    """What a profile of an update body changes: names, custom fields, channels. The
    profile's own source/accountId/identifiers identify it and change nothing."""
    changes: dict[str, Any] = {}
    if "firstName" in body:
        changes["first_name"] = body["firstName"]
    if "lastName" in body:
        changes["last_name"] = body["lastName"]
    if "fields" in body:
        changes["fields"] = body["fields"]
    if "commChannels" in body:
        changes["comm_channels"] = tuple(
            identity.comm_channel(item, invalid_mobile=8058, invalid_email=8057)
            for item in body["commChannels"]
        )
    return changes


def _added_identifier(item: Blob) -> Identifier:
    return identity.valid_identifier(
        item, invalid_mobile=8056, invalid_email=8055, invalid_external_id=8064
    )


def _replace_profile(customer: Customer, old: Profile, new: Profile) -> Customer:
    if old in customer.profiles:
        profiles = tuple(new if profile is old else profile for profile in customer.profiles)
    else:
        profiles = (*customer.profiles, new)
    return dataclasses.replace(customer, profiles=profiles)


def _combined(
    existing: Customer, registration: Blob, profile: Profile, org: Org, till: str
) -> Customer:
    """EXISTING, as REGISTRATION (whose profile is PROFILE) by TILL combines into it (8050):
    PROFILE's source added, or what PROFILE says added to its profile there; the
    registration's extended fields, as an update sets them; enrolled, for a loyalty one."""
    same = next(iter(existing.profiles_in(profile.source, profile.account_id)), None)
    if same is None:
        combined = dataclasses.replace(existing, profiles=(*existing.profiles, profile))
    else:
        channels = {(c["type"], c["value"]): c for c in same.comm_channels + profile.comm_channels}
        joined = dataclasses.replace(
            same,
            first_name=profile.first_name if profile.first_name is not None else same.first_name,
            last_name=profile.last_name if profile.last_name is not None else same.last_name,
            fields={**same.fields, **profile.fields},
            identifiers=tuple(dict.fromkeys(same.identifiers + profile.identifiers)),
            comm_channels=tuple(channels.values()),
        )
        combined = _touched(existing, same, joined, till)
    combined = dataclasses.replace(
        combined,
        extended_fields={**existing.extended_fields, **registration.get("extendedFields", {})},
    )
    if (
        registration["loyaltyInfo"]["loyaltyType"] == "loyalty"
        and combined.loyalty_type != "loyalty"
    ):
        combined = points.enrolled(combined, org)
    return combined


def _merge(tx: WriteTransaction, *, victim: Customer, survivor: Customer) -> None:
    """Move VICTIM into SURVIVOR: its profiles, its loyalty, points, subscriptions, partner
    programs, transfers and retro requests, and the fields SURVIVOR has no value for. VICTIM
    then only says where it went (8069)."""
    for profile in victim.profiles:
        if survivor.profiles_in(profile.source, profile.account_id):
            raise IdentifierConflict(
                8066,
                detail=f"customers {victim.id} and {survivor.id} both have a profile in "
                f"{where(profile.source, profile.account_id)}",
            )
    tx.save(Customer(id=victim.id, loyalty_type=victim.loyalty_type, merged_into=survivor.id))
    tx.save(_absorbed(survivor, victim))


def _absorbed(survivor: Customer, victim: Customer) -> Customer:
    loyal = "loyalty" in (survivor.loyalty_type, victim.loyalty_type)
    purchases = [
        p for p in (survivor.lifetime_purchases, victim.lifetime_purchases) if p is not None
    ]
    return dataclasses.replace(
        survivor,
        loyalty_type="loyalty" if loyal else survivor.loyalty_type,
        profiles=survivor.profiles + victim.profiles,
        extended_fields={**victim.extended_fields, **survivor.extended_fields},
        segments={**victim.segments, **survivor.segments},
        lifetime_purchases=sum(purchases) if purchases else None,
        subscriptions=subscriptions.combined(survivor.subscriptions, victim.subscriptions),
        points=points.combined(survivor.points, victim.points),
        promotional_points=points.combined_promotions(
            survivor.promotional_points, victim.promotional_points
        ),
        points_transfers=survivor.points_transfers + victim.points_transfers,
        retro_requests=survivor.retro_requests + victim.retro_requests,
        partner_programs=partner_programs.combined(
            survivor.partner_programs, victim.partner_programs
        ),
    )


def _no_profile(code: int, customer: Customer, source: str, account: str) -> CustomerNotFound:
    return CustomerNotFound(
        code, detail=f"customer {customer.id} has no profile in {where(source, account)}"
    )


# --- bodies ---------------------------------------------------------------------------------


def _profile_body(profile: Profile, customer_id: int) -> Blob:
    body: Blob = {}
    if profile.first_name is not None:
        body["firstName"] = profile.first_name
    if profile.last_name is not None:
        body["lastName"] = profile.last_name
    if profile.attribution is not None:
        body["attribution"] = profile.attribution
    body["fields"] = profile.fields
    body["identifiers"] = [{"type": i.type, "value": i.value} for i in profile.identifiers]
    body["commChannels"] = list(profile.comm_channels)
    body["source"] = profile.source
    body["userId"] = customer_id
    body["conflictingProfileList"] = []
    if profile.auto_update_time is not None:
        body["autoUpdateTime"] = profile.auto_update_time
    return body


def loyalty_info(customer: Customer) -> Blob:
    """CUSTOMER's loyaltyInfo, as a GET of the customer shows it."""
    info: Blob = {"loyaltyType": customer.loyalty_type}
    if customer.loyalty_attribution is not None:
        info["attributionV2"] = customer.loyalty_attribution
    if customer.lifetime_purchases is not None:
        info["lifetimePurchases"] = customer.lifetime_purchases
    return info


def _embedded(customer: Customer, name: str, org: Org) -> Blob:
    """What embed=NAME adds; usergroup and expiredPoints have no documented response."""
    if name == "points":
        summary = points.summary(customer.points, org)
        return {} if summary is None else {"pointsSummary": summary}
    if name == "subscriptions":
        return {
            "subscriptionInfo": {
                "subscriptions": [
                    subscriptions.subscription_body(s) for s in customer.subscriptions
                ]
            }
        }
    if name == "mlp":
        return {"loyaltyProgramDetails": points.other_programs(customer.points, org)}
    if name == "promotionalPoints":
        empty: Blob = {
            "customerPromotionType": [],
            "transactionPromotionType": [],
            "lineitemPromotionType": [],
        }
        return {"promotionalPoints": customer.promotional_points or empty}
    if name == "expirySchedules":
        return {"expirySchedules": list(customer.points.expiring)}
    return {}


def _search_hit(customer: Customer, key: str, source: str | None, account: str) -> Blob:
    profiles = [
        p
        for p in customer.profiles
        if source is None or (p.source == source and p.account_id == account)
    ]
    matched = []
    for profile in profiles:
        matched += [
            {
                "idType": kind,
                "idValue": value,
                "source": profile.source,
                "accountId": profile.account_id,
            }
            for kind, value in search_fields(profile)
            if search_key(value).startswith(key)
        ]
    return {
        "userId": customer.id,
        "matchedIdentifiers": matched,
        "profiles": [
            {"source": p.source}
            | ({"firstName": p.first_name} if p.first_name is not None else {})
            | ({"lastName": p.last_name} if p.last_name is not None else {})
            for p in profiles
        ],
    }
