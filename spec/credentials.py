"""Credentials in what capkit writes (journals, HAR files, reports): masked, their scheme kept.

The mock's journal and `capkit fuzz` write the traffic they saw to files that end up in CI
artifacts and repositories, so the headers that carry Capillary's credentials never reach them
as sent. The scheme stays (`Basic [Filtered]`): it says how the request authenticated, and
`capkit verify` counts a masked credential as present.
"""

from __future__ import annotations

#: The headers that carry Capillary's credentials, lower case.
HEADERS = frozenset({"authorization", "x-cap-api-oauth-token"})
#: What replaces a secret: schemathesis' replacement too.
MASK = "[Filtered]"


def masked(name: str, value: str) -> str:
    """VALUE of the header NAME as capkit writes it: a credential's secret replaced by MASK."""
    if name.lower() not in HEADERS:
        return value
    scheme, space, _ = value.strip().partition(" ")
    if name.lower() == "authorization" and space and scheme:
        return f"{scheme} {MASK}"
    return MASK
