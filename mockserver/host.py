"""A request's Host header (RFC 9110 7.2, RFC 9112 3.2): what is wrong with it, the
authority the journal names a request by, and whether it names this machine (the admin
endpoints answer no other: mockserver/admin.py).

A request sent to the mock with a Host that is no host (`a:99999`, `[::1`, `a b`) is refused,
as an HTTP/1.1 server must; the journal still records it, under the address that answered it,
so that every URL it lists parses (a browser's `new URL()` among the readers).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Collection
from typing import TYPE_CHECKING

from mockserver.validation import abridged

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment

#: RFC 3986's host: an IP literal in brackets, or a name of its characters and %-escapes; then
#: an optional port.
_HOST = re.compile(
    r"(?:\[(?P<literal>[^\]]*)\]|(?:[\w\-.~!$&'()*+,;=]|%[0-9A-Fa-f]{2})*)"
    r"(?::(?P<port>[0-9]*))?",
    re.ASCII,
)


def host_problem(environ: WSGIEnvironment) -> str | None:
    """What is wrong with the Host of ENVIRON's request; None when nothing is (HTTP/1.0 may
    send none; aiohttp refuses an HTTP/1.1 request without one itself)."""
    host = environ.get("HTTP_HOST")
    if host is None or _valid(host):
        return None
    return (
        "header 'Host' must be a host name or address and an optional port up to 65535"
        f" (RFC 9110 7.2), got {abridged(host, 80)!r}"
    )


def authority(environ: WSGIEnvironment) -> str:
    """The host and port ENVIRON's request was sent to: its Host, or where there is none or
    it is no host, the address of the server that answered."""
    host: str = environ.get("HTTP_HOST", "")
    if host and _valid(host):
        return host
    name = environ.get("SERVER_NAME", "")
    address = f"[{name}]" if ":" in name else name  # an IPv6 address goes in brackets
    return f"{address}:{environ.get('SERVER_PORT', '')}"


def name(host: str) -> str:
    """The host that HOST, a Host header's value, names: without the port and a trailing dot,
    in lower case, as names compare (`LocalHost.:8080` -> `localhost`, `[0::1]:80` -> `[::1]`)."""
    match = _HOST.fullmatch(host)
    if match is not None and match["port"] is not None:
        host = host[: match.start("port") - 1]
    if match is not None and match["literal"] is not None:
        # One address has many spellings ([FD00::0002], [fd00::2]): named by its shortest.
        try:
            return f"[{ipaddress.IPv6Address(match['literal']).compressed}]"
        except ValueError:
            pass
    return host.rstrip(".").lower()


def names_this_machine(host: str, allowed: Collection[str]) -> bool:
    """Whether HOST, a request's Host ('': it sent none, as HTTP/1.0 may), names this
    machine, by an IP address or localhost (always the loopback, RFC 6761), or is one of the
    ALLOWED names (`*`: any). A page's request, which can name a host that DNS has just pointed
    here, cannot send no Host, nor an empty one."""
    if not host or "*" in allowed:
        return True
    if not _valid(host):
        return False
    named = name(host)
    if named.startswith("["):  # a valid literal is an IPv6 address
        return True
    try:
        ipaddress.IPv4Address(named)
    except ValueError:
        return named == "localhost" or named.endswith(".localhost") or named in allowed
    return True


def _valid(host: str) -> bool:
    match = _HOST.fullmatch(host)
    port = match and match["port"]
    if match is None or (port and (len(port) > 5 or int(port) > 65535)):
        return False
    if match["literal"] is None:
        return True
    try:
        ipaddress.IPv6Address(match["literal"])
    except ValueError:
        return False
    return True
