"""The Prefer header (RFC 7240), by which a request asks the mock for a documented example
(`code=400, example=err8015`, as Prism reads it), a delay or a fault (mockserver/chaos.py).

Nothing here knows HTTP frameworks: text in, preferences out.
"""

from __future__ import annotations

import re

#: A preference, up to the `,` or `;` that ends it; a quoted value may hold either (a quote
#: left open runs to the end of the header).
_PREFERENCE = re.compile(r'(?:"(?:[^"\\]|\\.)*"?|[^,;"])+')
_ESCAPED = re.compile(r"\\(.)")


def preferences(header: str) -> dict[str, str]:
    """The preferences of HEADER that have a value, by their names in lower case: `delay=800,
    fault="503"` is {"delay": "800", "fault": "503"}, a quoted value unquoted (RFC 7240 allows
    either). Of a name given twice, the first counts, as RFC 7240 says."""
    found: dict[str, str] = {}
    for preference in _PREFERENCE.findall(header):
        name, equals, value = preference.partition("=")
        if not equals:
            continue
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = _ESCAPED.sub(r"\1", value[1:-1])
        found.setdefault(name.strip().lower(), value)
    return found


def header_text(value: str) -> str:
    """A header's VALUE as the client wrote it: WSGI gives its bytes as latin-1 (PEP 3333),
    where clients send UTF-8; bytes that are no UTF-8 stay as latin-1 read them."""
    try:
        return value.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return value
