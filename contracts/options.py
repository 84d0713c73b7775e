"""The options of a contract run, and the schemathesis configuration they make.

How schemathesis' checks are configured for Capillary, and why, is `CHECKS` below; the README's
"capkit fuzz" section says the same for a reader of the docs.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from schemathesis.config import SchemathesisConfig
from schemathesis.core.errors import InvalidRateLimit
from schemathesis.core.rate_limit import parse_units

import spec
from contracts.errors import BadOption
from spec import credentials

__all__ = [
    "CHECKS",
    "REPORTS",
    "RUN",
    "FuzzOptions",
    "parse_header",
    "reports_by_format",
    "schemathesis_config",
]

#: schemathesis' checks, all of them on; only positive_data_acceptance needs configuration.
#: Capillary answers business errors with HTTP 400 and a code of their own (unknown customer
#: 8015, duplicate identifier 8006, ...) where the REST statuses positive_data_acceptance expects
#: by default are 404 and 409; the spec says so ("400 for every business error"). So 400 joins
#: its expected statuses, and contracts.checks.valid_input_not_called_invalid keeps what that
#: gives up: valid input answered with Capillary's code for invalid input, 400, still fails.
CHECKS: dict[str, Any] = {
    "enabled": True,
    "positive_data_acceptance": {
        "expected-statuses": ["2xx", "3xx", "400", "401", "403", "404", "409", "429", "5xx"],
    },
}

#: What every run is, whatever its options; schemathesis.toml says the same to `st run` in the
#: checkout (a test keeps them equal).
RUN: dict[str, Any] = {
    "checks": CHECKS,
    "generation": {
        "mode": "all",
        # In memory: a run is reproduced by its seed (its other caches: contracts.runner).
        "database": ":memory:",
    },
    # Every distinct failure of an operation, not only the first one hypothesis meets (which it
    # would then shrink, leaving the others in that operation unseen).
    "continue-on-failure": True,
    # The cross-run cache replays earlier runs' requests: off, for the same reasons.
    "cache": {"enabled": False},
}

#: Methods that change nothing, the only ones a --read-only run sends: its own operations are
#: filtered to GET, and schemathesis' probe for undeclared methods (expecting 405) keeps to these.
SAFE_METHODS = ("GET", "OPTIONS", "TRACE")
UNSAFE_METHODS = ("POST", "PUT", "PATCH", "DELETE")

#: Headers the HTTP client writes itself, for each request: they frame the message or manage
#: the connection, so one given as an option breaks the run (a Content-Length: 5 on bodiless
#: requests left the target waiting for bytes that never came, 45 s). Host is not one: the
#: client sends the one given, for a target reached by its address that serves by name.
CLIENT_HEADERS = frozenset(
    {
        "content-length",
        "transfer-encoding",
        "connection",
        "keep-alive",
        "proxy-connection",
        "te",
        "trailer",
        "upgrade",
        "expect",
    }
)
#: What HTTP cannot carry in a header value (RFC 9110, 5.5): control characters but the tab.
#: Sent anyway, requests refused a CR or LF case by case (the run sent nothing, and called its
#: errors a broken contract), and http.client a character past Latin-1 (capkit fuzz crashed).
_UNSENDABLE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]|[^\x00-\xff]")
#: A header's name is a token (RFC 9110, 5.1).
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
#: A Host: a name or an address, and an optional port (RFC 9110, 7.2).
_HOST = re.compile(r"(?:[\w\-.~%!$&'()*+,;=]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?", re.ASCII)


@dataclasses.dataclass(frozen=True, kw_only=True)
class FuzzOptions:
    """How to fuzz a target. Raises BadOption naming the value that cannot be used."""

    #: "till:password": Capillary's Basic credentials, the password sent as its md5 hex digest.
    auth: str | None = None
    #: Sent with every request ("X-CAP-API-OAUTH-TOKEN": "...").
    headers: Mapping[str, str] = dataclasses.field(default_factory=dict)
    #: Examples per operation and phase; None: schemathesis' default (100).
    max_examples: int | None = None
    #: Stop after this many seconds; schemathesis keeps fuzzing until then.
    max_time: int | None = None
    workers: int = 1
    #: Makes a run reproducible (with one worker).
    seed: int | None = None
    #: "100/m": at most 100 requests a minute (units s, m, h, d).
    rate_limit: str | None = None
    #: Send no POST, PUT, PATCH or DELETE: safe on production.
    read_only: bool = False
    #: operationIds to test; empty: every operation.
    operations: tuple[str, ...] = ()
    #: Where to write a JUnit XML report, an HTML page of the run, and a HAR of the traffic.
    junit: Path | None = None
    html: Path | None = None
    har: Path | None = None

    def __post_init__(self) -> None:
        if self.auth is not None:
            till, colon, _ = self.auth.partition(":")
            if not colon or not till:
                raise BadOption(f"--auth has value {self.auth!r}; expected 'till:password'")
        for name in ("max_examples", "max_time", "workers"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise BadOption(
                    f"--{name.replace('_', '-')} has value {value}; expected at least 1"
                )
        for name, value in self.headers.items():
            _check_header(name, value)
        if self.rate_limit is not None:
            try:
                # schemathesis' limiter asserts a count of at least one.
                valid = parse_units(self.rate_limit)[0] >= 1
            except InvalidRateLimit:
                valid = False
            if not valid:
                raise BadOption(
                    f"--rate-limit has value {self.rate_limit!r}; expected requests/unit"
                    " (at least 1 request, a unit of s, m, h or d), as in 100/m"
                )

    @property
    def authenticated(self) -> bool:
        """The run sends credentials: --auth, or a credentials header."""
        return self.auth is not None or any(
            name.lower() in credentials.HEADERS for name in self.headers
        )

    @property
    def basic_credentials(self) -> tuple[str, str] | None:
        """(till, md5 hex digest of the password), as Capillary's Basic auth takes them."""
        if self.auth is None:
            return None
        till, _, password = self.auth.partition(":")
        return till, hashlib.md5(password.encode()).hexdigest()


def parse_header(text: str) -> tuple[str, str]:
    """'Name: value' as (name, value); raise BadOption when it is not a header."""
    name, colon, value = text.partition(":")
    if not colon or not name.strip() or name != name.strip() or " " in name:
        raise BadOption(f"--header has value {text!r}; expected 'Name: value'")
    return name, value.strip()


def _check_header(name: str, value: str) -> None:
    """Raise BadOption for a header that no request of the run could send as given."""
    given = f"--header has value {f'{name}: {value}'!r}"
    if not _TOKEN.fullmatch(name):
        raise BadOption(f"{given}; expected 'Name: value'")
    if name.lower() in CLIENT_HEADERS:
        raise BadOption(f"{given}; the HTTP client sets {name} itself on each request: drop it")
    if name.lower() == "host" and not _HOST.fullmatch(value):
        raise BadOption(f"{given}; expected a host name or address and an optional port")
    unsendable = _UNSENDABLE.search(value)
    if unsendable is not None:
        raise BadOption(
            f"{given}; a header value cannot hold {unsendable.group()!r}: expected printable"
            " Latin-1 characters"
        )


#: What a report's extension says it is: a format, and the field of FuzzOptions that takes it.
REPORTS = {".xml": ("JUnit XML", "junit"), ".html": ("a page", "html"), ".htm": ("a page", "html")}


def reports_by_format(
    reports: Iterable[Path], formats: tuple[str, ...] = ("junit", "html")
) -> dict[str, Path]:
    """REPORTS (--report's files) by the field of their format, one of FORMATS; raise BadOption
    for another extension, or two reports of one format."""
    chosen: dict[str, Path] = {}
    known = {suffix: kind for suffix, kind in REPORTS.items() if kind[1] in formats}
    for path in map(Path, reports):
        kind = known.get(path.suffix.lower())
        if kind is None:
            expected = ", ".join(f"{suffix} ({kind[0]})" for suffix, kind in known.items())
            raise BadOption(f"--report has value '{path}'; expected a file ending in {expected}")
        if kind[1] in chosen:
            raise BadOption(
                f"--report names two files of {kind[0]}: '{chosen[kind[1]]}' and '{path}'"
            )
        chosen[kind[1]] = path
    return chosen


def schemathesis_config(
    options: FuzzOptions, base_url: str, document: spec.Document | None = None
) -> SchemathesisConfig:
    """The schemathesis configuration of a run of OPTIONS against BASE_URL (origin + /v2) of
    DOCUMENT (default: the bundled spec), whose security schemes say which headers are
    credentials."""
    headers, api_keys = _credential_headers(
        options, document if document is not None else spec.load()
    )
    data: dict[str, Any] = copy.deepcopy(RUN) | {"base-url": base_url, "workers": options.workers}
    optional = {
        "seed": options.seed,
        "max-time": options.max_time,
        "rate-limit": options.rate_limit,
        "headers": headers or None,
    }
    data.update({key: value for key, value in optional.items() if value is not None})
    if options.max_examples is not None:
        data["generation"]["max-examples"] = options.max_examples
    credentials = options.basic_credentials
    if credentials is not None:
        till, password = map(_literal, credentials)
        data["auth"] = {"basic": {"username": till, "password": password}}
    elif api_keys:
        data["auth"] = {"openapi": api_keys}
    if options.read_only:
        data["phases"] = {"coverage": {"unexpected-methods": list(SAFE_METHODS)}}
    return SchemathesisConfig.from_dict(data)


def _credential_headers(
    options: FuzzOptions, document: spec.Document
) -> tuple[dict[str, str], dict[str, dict[str, str]]]:
    """OPTIONS' headers for schemathesis: (those it sends as given, the spec's apiKey schemes it
    authenticates with, {scheme: {"api_key": value}}).

    ignored_auth takes a token sent as a plain header for one it generated, and its probes left
    it on the request; as its scheme's key, a probe drops it or makes it invalid. Beside --auth
    (schemathesis takes one kind of auth) it stays a header, spelled as the spec spells it: the
    name the probes strip it by.
    """
    schemes = document.get("components", {}).get("securitySchemes", {})
    spelled: dict[str, tuple[str | None, str]] = {}
    for scheme, definition in schemes.items() if isinstance(schemes, dict) else ():
        if not isinstance(definition, dict):
            continue
        if definition.get("type") == "http":
            spelled["authorization"] = (None, "Authorization")
        elif definition.get("type") == "apiKey" and definition.get("in") == "header":
            name = str(definition.get("name", ""))
            spelled[name.lower()] = (scheme, name)
    headers: dict[str, str] = {}
    api_keys: dict[str, dict[str, str]] = {}
    for name, value in options.headers.items():
        scheme, spelling = spelled.get(name.lower(), (None, name))
        if scheme is not None and options.auth is None:
            api_keys[scheme] = {"api_key": _literal(value)}
        else:
            headers[_literal(spelling)] = _literal(value)
    return headers, api_keys


def _literal(text: str) -> str:
    """TEXT in schemathesis' configuration, which reads `${NAME}` as an environment variable
    (and `$${` as `${`): sent as the user gave it."""
    return text.replace("${", "$${")


def origin_of(url: str) -> str:
    """URL, the origin of a target (scheme, host and port), as the run sends to it. Raises
    BadOption for one that is none."""
    expected = f"URL has value {url!r}; expected an origin such as http://127.0.0.1:8080"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (raises for a port that is none, or past 65535)
    except ValueError as error:
        raise BadOption(f"{expected} ({error})") from None
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise BadOption(expected)
    if "@" in parts.netloc:
        raise BadOption(f"{expected}, without credentials: pass them with --auth")
    if parts.path.strip("/") or parts.query or parts.fragment:
        raise BadOption(
            f"URL has value {url!r}; expected an origin without a path:"
            f" the spec's server path is appended to it ({parts.scheme}://{parts.netloc})"
        )
    return f"{parts.scheme}://{parts.netloc}"
