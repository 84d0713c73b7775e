"""Single requests to a server under test: the credential, the first 200, the checks' probes."""

from __future__ import annotations

import base64
import hashlib
import http.client

#: Capillary's Basic credential: a till and the md5 hex digest of its password.
AUTHORIZATION = (
    "Basic "
    + base64.b64encode(b"bench.till:" + hashlib.md5(b"bench").hexdigest().encode()).decode()
)

#: Paths of the spec (without its /v2 base path), as in the read mix of bench/mix.lua.
LOOKUP = "/customers/lookup?source=INSTORE&identifierName=mobile&identifierValue=919111111111"
EXPIRY = "/customers/565039505/pointsExpirySchedule"
CUSTOMER = "/customers/17742?source=WECHAT&accountId=22232"
INVALID = "/customers/lookup?source=INSTORE&identifierName=bogus&identifierValue=919111111111"


def get(
    port: int, path: str, *, authorized: bool = True, timeout: float = 5.0
) -> tuple[int, bytes]:
    """Status and body of GET PATH on 127.0.0.1:PORT; raise OSError when nothing answers."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        headers = {"Authorization": AUTHORIZATION} if authorized else {}
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()
