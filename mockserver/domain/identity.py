"""Who a request is about: sources and accounts, identifiers, and finding the customer."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from mockserver.domain.errors import CustomerNotFound, InvalidValue, NotAllowed
from mockserver.domain.records import MOBILE, Blob, Customer, Identifier
from mockserver.storage import ReadTransaction

#: Sources where an org has several accounts: a call must say which (accountId).
MULTI_ACCOUNT_SOURCES = frozenset({"WECHAT", "FACEBOOK", "LINE"})
ALL = "ALL"

#: Matched whole (fullmatch): `$` would also match before a final newline.
#: An address: no white space, and no control character (a NUL, a DEL), around one @.
_EMAIL = re.compile(r"[^@\s\x00-\x1f\x7f]+@[^@\s\x00-\x1f\x7f]+\.[^@\s\x00-\x1f\x7f]+")
_SPACE = re.compile(r"\s")


def source_of(value: str) -> str:
    """The source a documented spelling means (the activity sample sends `instore`)."""
    return value.upper()


def account_of(source: str, account_id: str | None, *, missing_code: int = 8045) -> str:
    """The account a call addresses in SOURCE: "" for a source with one account, and
    ACCOUNT_ID, which must be given (else MISSING_CODE), for a source with several."""
    if source not in MULTI_ACCOUNT_SOURCES:
        return ""
    if not account_id:
        raise InvalidValue(
            missing_code, detail=f"source {source} has several accounts: pass accountId"
        )
    return account_id


def where(source: str, account_id: str) -> str:
    return f"{source} account {account_id}" if account_id else source


def identifier(item: Blob) -> Identifier:
    """An identifier of a request body, in its canonical form (Identifier.canonical); a number
    stands for the string of its digits."""
    return _as_sent(item).canonical()


def _as_sent(item: Blob) -> Identifier:
    return Identifier(item["type"], _digits(item["value"]))


def _digits(value: str | int | float) -> str:
    """VALUE, a string or a whole number, as text: a number as the string of its digits,
    written with a fraction or an exponent or not (JSON Schema's integers include 12.0 and
    9.19e11, which JSON reads as floats)."""
    return str(int(value)) if isinstance(value, float) else str(value)


def valid_identifier(
    item: Blob, *, invalid_mobile: int, invalid_email: int, invalid_external_id: int
) -> Identifier:
    """An identifier a write gives a customer, which every write checks alike: a mobile is 8
    to 15 digits, an email an address, an externalId has no white space. It is given in its
    canonical form (Identifier.canonical). Raises the code given for each."""
    found = _as_sent(item)
    if found.type == "mobile" and not MOBILE.fullmatch(found.value):
        raise InvalidValue(
            invalid_mobile,
            detail=f"mobile {found.value!r} is not 8 to 15 digits with an optional leading +",
        )
    if found.type == "email" and not _EMAIL.fullmatch(found.value):
        raise InvalidValue(invalid_email, detail=f"email {found.value!r} is not an email address")
    if found.type == "externalId" and _SPACE.search(found.value):
        raise InvalidValue(
            invalid_external_id, detail=f"externalId {found.value!r} contains white space"
        )
    return found.canonical()


def comm_channel(item: Blob, *, invalid_mobile: int, invalid_email: int) -> Blob:
    """A communication channel a write gives a customer, in the shape Capillary answers with;
    every write checks mobiles and emails alike. Raises the code given for each."""
    value = _digits(item["value"])
    if item["type"] == "mobile" and not MOBILE.fullmatch(value):
        raise InvalidValue(
            invalid_mobile, detail=f"mobile channel {value!r} is not a mobile number"
        )
    if item["type"] == "email" and not _EMAIL.fullmatch(value):
        raise InvalidValue(invalid_email, detail=f"email channel {value!r} is not an email address")
    channel: Blob = {"type": item["type"], "value": value}
    for flag in ("primary", "verified"):
        if flag in item:
            channel[flag] = flag_of(item[flag])
    if "meta" in item:
        channel["meta"] = {key: flag_of(value) for key, value in item["meta"].items()}
    return channel


def flag_of(value: Any) -> bool:
    """A documented flag: true/false, or the strings "true"/"false" the samples send."""
    return value is True or value == "true"


def customer_by_id(
    tx: ReadTransaction, customer_id: int, *, not_found: int, merged: int | None = None
) -> Customer:
    """The live customer CUSTOMER_ID. A merged one answers MERGED (naming the survivor, the
    live customer it is part of now), or NOT_FOUND where the operation documents no code for
    it."""
    customer = tx.customer(customer_id)
    if customer is None:
        raise CustomerNotFound(not_found, detail=f"no customer has id {customer_id}")
    if customer.merged_into is not None:
        survivor = live(tx, customer).id
        detail = f"customer {customer_id} was merged into customer {customer.merged_into}"
        if survivor != customer.merged_into:
            detail += f", since merged into customer {survivor}"
        if merged is None:
            raise CustomerNotFound(not_found, detail=detail)
        raise NotAllowed(merged, subject=survivor, detail=detail)
    return customer


def live(tx: ReadTransaction, customer: Customer) -> Customer:
    """CUSTOMER, or the customer it was merged into, or the one that was merged into, and so
    on: a survivor may itself be merged later, and its victims are not changed then."""
    seen = {customer.id}
    while customer.merged_into is not None:
        survivor = tx.customer(customer.merged_into)
        assert survivor is not None and survivor.id not in seen, "merges end at a live customer"
        seen.add(survivor.id)
        customer = survivor
    return customer


def customer_by_identifier(
    tx: ReadTransaction,
    wanted: Identifier,
    *,
    source: str,
    account_id: str | None,
    not_found: int,
    elsewhere: int | None = None,
) -> Customer:
    """The customer who holds WANTED, in any spelling, in SOURCE (ALL: any) and ACCOUNT_ID
    (None: any).

    Raises NOT_FOUND, or ELSEWHERE when the identifier is held but not where asked.
    """
    wanted = wanted.canonical()
    if source == ALL:
        holdings = tx.holders(wanted)
    else:
        holdings = tx.holders(wanted, source=source, account_id=account_id)
    if holdings:
        found = tx.customer(holdings[0].customer_id)
        assert found is not None, "the store indexes identifiers of stored customers only"
        return found
    place = "any source" if source == ALL else where(source, account_id or "")
    detail = f"no customer has {wanted.type} {wanted.value!r} in {place}"
    if elsewhere is not None and tx.holders(wanted):
        raise CustomerNotFound(elsewhere, detail=detail)
    raise CustomerNotFound(not_found, detail=detail)


def warning(code: int, message: str) -> Blob:
    return {"status": False, "code": code, "message": message}


def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def timestamp(moment: datetime | None = None) -> str:
    """A date-time as Capillary writes it: 2016-06-23T19:11:18+08:00."""
    return (moment or now()).isoformat()
