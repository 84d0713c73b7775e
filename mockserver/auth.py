"""Capillary's credentials: Basic (a till and the md5 of its password) or an OAuth token."""

from __future__ import annotations

import base64
import hashlib
import hmac

TOKEN_HEADER = "X-CAP-API-OAUTH-TOKEN"
BASIC = "Authorization: Basic base64(till:md5(password))"
HOW = f"send {BASIC}, or {TOKEN_HEADER}"


class Unauthenticated(Exception):
    """The request's credentials are missing, malformed, or not the pinned till's."""


def authenticate(
    authorization: str | None,
    token: str | None,
    *,
    pinned: str | None = None,
    pinned_token: str | None = None,
) -> str | None:
    """The till that the AUTHORIZATION header authenticates, or None for the TOKEN header,
    which names no till; raise Unauthenticated saying why.

    Without pins, any well-formed credentials pass. A pin makes the mock strict: only
    PINNED's till ("till:password", the Basic password being the md5 hex digest of the
    real one, as Capillary has it) and only PINNED_TOKEN pass, each if it is pinned.
    """
    strict = pinned is not None or pinned_token is not None
    if token and token.strip():
        # A request that sends both is judged by its token, as a Capillary cluster does.
        if strict and pinned_token is None:
            raise Unauthenticated(
                f"This mock takes no {TOKEN_HEADER}: it was started with --auth alone, and a"
                f" request with a token is judged by the token; send {BASIC} without it."
            )
        if strict and not _same(token, str(pinned_token)):
            raise Unauthenticated(f"{TOKEN_HEADER} is not the token this mock accepts (--token).")
        return None
    if not authorization:
        raise Unauthenticated(f"No credentials: {HOW}.")
    scheme, _, encoded = authorization.partition(" ")
    if scheme.lower() != "basic":
        raise Unauthenticated(f"Authorization scheme {scheme!r} is not Basic: {HOW}.")
    try:
        till, colon, password = (
            base64.b64decode(encoded.strip(), validate=True).decode().partition(":")
        )
    except ValueError:  # binascii.Error, UnicodeDecodeError, and a str beyond ASCII
        raise Unauthenticated(
            f"Authorization: Basic is not base64 of till:password: {HOW}."
        ) from None
    if not colon or not till:
        raise Unauthenticated(f"Authorization: Basic holds no till:password: {HOW}.")
    if strict:
        if pinned is None:
            raise Unauthenticated(f"This mock accepts only the {TOKEN_HEADER} pinned by --token.")
        pinned_till, _, pinned_password = pinned.partition(":")
        digest = hashlib.md5(pinned_password.encode()).hexdigest()
        if till == pinned_till and _same(password, pinned_password):
            raise Unauthenticated(
                f"Till {till!r} sent its password as it is, where Capillary takes the md5 hex"
                f" digest of it: {BASIC}."
            )
        if till != pinned_till or not _same(password.lower(), digest):
            raise Unauthenticated(
                f"Till {till!r} or its password is not the one this mock accepts (--auth);"
                f" the password travels as its md5 hex digest: {BASIC}."
            )
    return till


def _same(given: str, expected: str) -> bool:
    # As bytes: compare_digest refuses strings with characters beyond ASCII.
    return hmac.compare_digest(given.encode(), expected.encode())
