"""The mock's own endpoints, outside the API's base path: reset, state, seed, journal, chaos,
health."""

from __future__ import annotations

import difflib
import hmac
from typing import Any
from urllib.parse import urlsplit

import msgspec
from flask import Flask, Response, request
from werkzeug.exceptions import BadRequest

from mockserver import journal
from mockserver.chaos import ChaosError
from mockserver.contract import envelope
from mockserver.domain import seed_files
from mockserver.domain.seed_files import InvalidSeed
from mockserver.host import host_problem, name, names_this_machine
from mockserver.mock import Mock
from mockserver.responses import json_response
from mockserver.seeding import YAML_TYPES, decode
from mockserver.storage import StoreUnavailable
from mockserver.validation import abridged
from spec import CAPKIT_VERSION


def register(app: Flask, mock: Mock) -> None:
    """Add the admin endpoints of MOCK to APP; those that change something ask for the
    --admin-token, when the mock has one."""

    def reset() -> Response:
        mock.reset()
        return json_response({"reset": True, "customers": len(mock.seed.customers)})

    def state() -> Response:
        with mock.store.read() as tx:
            customers = tx.customers()
        return json_response({"customers": msgspec.to_builtins(customers)})

    def requests() -> Response:
        wanted = request.args.get("format", "json")
        if wanted not in _FORMATS:
            raise BadRequest(
                f"query parameter 'format' must be json (the default) or har, got {_shown(wanted)}"
            )
        version = f"{wanted}-{mock.journal.version()}"
        if request.if_none_match.contains(version):
            answer = Response(status=304)
        else:
            entries = mock.journal.entries()
            if wanted == "har":
                answer = json_response(journal.har(entries))
            else:
                answer = json_response({"requests": [journal.summary(e) for e in entries]})
        answer.set_etag(version)
        answer.headers["Cache-Control"] = "no-cache"  # asked again each time, not kept
        return answer

    def exchange(entry_id: str) -> Response:
        entry = mock.journal.entry(entry_id)
        if entry is None:
            message = f"The journal holds no exchange {_shown(entry_id)}: cleared, or too old"
            return _refused([message], NOT_FOUND)
        return json_response(journal.har_entry(entry))

    def seed() -> Response:
        with mock.store.read() as tx:
            return json_response(seed_files.document(tx.customers()))

    def add_seed() -> Response:
        is_yaml = request.mimetype in YAML_TYPES
        try:
            written = decode(request.get_data(), is_yaml=is_yaml)
        except ValueError as error:
            kind = "YAML" if is_yaml else f"JSON (or YAML, sent as {YAML_TYPES[0]})"
            raise BadRequest(f"body: expected {kind}, got what it cannot read: {error}") from None
        try:
            with mock.store.write() as tx:
                customers = mock.seeding.customers(written, alongside=tx.customers())
                tx.save_all(customers)
        except InvalidSeed as error:
            return _refused([str(problem) for problem in error.problems])
        return json_response({"seeded": [customer.id for customer in customers]})

    def chaos() -> Response:
        return json_response(mock.rehearsal.in_force(mock.store).to_json())

    def change_chaos() -> Response:
        changes = _json_body()
        try:
            mock.rehearsal.changed(changes)
        except ChaosError as error:
            raise BadRequest(abridged(str(error), _LONGEST_PROBLEM)) from None
        mock.store.share_settings(changes)
        return chaos()

    def forget_chaos() -> Response:
        mock.store.share_settings(None)
        return chaos()

    def forget_requests() -> Response:
        mock.journal.clear()
        return json_response({"cleared": True})

    def health() -> Response:
        body = {"operations": len(mock.contract.operations), "version": CAPKIT_VERSION}
        try:
            with mock.store.read() as tx:
                tx.customer(0)
        except StoreUnavailable as error:
            return json_response({"status": "unavailable", "store": str(error), **body}, 503)
        try:
            mock.store.check_writable()
        except StoreUnavailable as error:
            # Up for the reads, which every replica of the state serves alike: a balancer that
            # took them all out would answer its own 503 to reads too. The status says it.
            return json_response({"status": "read-only", "store": str(error), **body})
        return json_response({"status": "ok", "store": "ok", **body})

    def takes_its_query_parameters() -> Response | None:
        """A 400 naming each query parameter an admin endpoint does not take, or that is given
        more than once, as the API's operations refuse theirs; nothing else is done."""
        endpoint = request.endpoint or ""
        if not endpoint.startswith(_ENDPOINTS) or not request.args:
            return None
        takes = _QUERY_PARAMETERS.get(endpoint, ())
        where = f"{request.method} {abridged(request.path, 80)}"
        problems = [_not_taken(name, where, takes) for name in request.args if name not in takes]
        problems += [
            f"query parameter {abridged(name, _LONGEST_ECHO)!r} is given {len(values)} times;"
            " expected once"
            for name, values in request.args.lists()
            if name in takes and len(values) > 1
        ]
        return _refused(problems) if problems else None

    def asks_for_the_admin_token() -> Response | None:
        """A 401 for a change asked without the --admin-token, before anything of the
        request is looked at: who may not change the mock learns nothing of how to ask."""
        token = mock.settings.admin_token
        admin = (request.endpoint or "").startswith(_ENDPOINTS)
        if token is None or not admin or request.method in _READS:
            return None
        scheme, _, sent = request.headers.get("Authorization", "").partition(" ")
        # The scheme in any case (RFC 9110 11.1); the token as it is, compared in constant time.
        if scheme.lower() == "bearer" and hmac.compare_digest(sent.encode(), token.encode()):
            return None
        return _unauthorized(request.method, request.path)

    allowed = {name(_bracketed(host)) for host in (*mock.settings.allowed_host, mock.settings.host)}

    def answers_names_of_this_machine() -> Response | None:
        """A 403 for a request whose Host names no host of this machine (an IP address,
        localhost, the --host) nor an --allowed-host: a page whose site's name an attacker
        points at 127.0.0.1 once it has loaded (DNS rebinding) is of the mock's site to the
        browser, and could else read the journal, and reset or reseed a mock on localhost."""
        host = request.headers.get("Host", "")
        admin = (request.endpoint or "").startswith(_ENDPOINTS)
        if not admin or names_this_machine(host, allowed):
            return None
        problem = host_problem(request.environ)
        if problem is not None:
            return _refused([problem])
        message = (
            f"Host {_shown(host)} is not a name this mock answers admin requests for (a"
            " page whose site name leads to this machine could use it: DNS rebinding); start"
            f" the mock with --allowed-host {abridged(name(host), _LONGEST_ECHO)} to"
            " allow it"
        )
        return _refused([message], 403)

    def refuses_pages_of_other_sites() -> Response | None:
        """A 403 for a request that a browser sends from a page of another site: else any page
        a developer opens could read the journal, and reset or reseed a mock on localhost or
        on a staging host. Pages of the mock's own site (the console, an app on localhost:3000
        for a mock on localhost:8080) and clients that are no page are served. A browser names
        the page's site by its Fetch Metadata, which it sends to secure origins alone (https,
        localhost); to a mock at http://mock.internal, by the Origin it sends with every
        request that changes something or whose answer the page's script reads."""
        if not (request.endpoint or "").startswith(_ENDPOINTS):
            return None
        fetched_from = request.headers.get("Sec-Fetch-Site")
        origin = request.headers.get("Origin")
        if fetched_from is not None:
            if fetched_from != "cross-site":
                return None
            told = abridged(origin or "unknown", _LONGEST_ECHO)
            page = f"a page of another site ({told}, Sec-Fetch-Site: cross-site)"
            remedy = ""
        else:
            host = request.headers.get("Host", "")
            page_host = _host_of(origin) if origin is not None else None
            if origin is None or page_host in {name(host), *allowed}:
                return None
            page = f"a page of another host ({_shown(origin)}, for a mock at {_shown(host)})"
            remedy = (
                "; if that page is the mock's own (its console behind a proxy that sends the"
                " mock another Host), start the mock with --allowed-host"
                f" {abridged(page_host, _LONGEST_ECHO)}"
                if page_host
                else ""
            )
        message = (
            f"{request.method} {abridged(request.path, 80)} comes from {page}: the admin"
            " endpoints answer pages of the mock's own site and clients that are no browser"
            f" page{remedy}"
        )
        return _refused([message], 403)

    # Who may not ask is refused before anything else is looked at: a page learns nothing,
    # not even whether a change needs the --admin-token, nor which parameters an endpoint takes.
    app.before_request(answers_names_of_this_machine)
    app.before_request(refuses_pages_of_other_sites)
    app.before_request(asks_for_the_admin_token)
    app.before_request(takes_its_query_parameters)
    app.add_url_rule("/__admin/reset", "admin_reset", reset, methods=["POST"])
    app.add_url_rule("/__admin/state", "admin_state", state)
    app.add_url_rule("/__admin/requests", "admin_requests", requests)
    app.add_url_rule("/__admin/requests/<entry_id>", "admin_exchange", exchange)
    app.add_url_rule(
        "/__admin/requests", "admin_forget_requests", forget_requests, methods=["DELETE"]
    )
    app.add_url_rule("/__admin/health", "admin_health", health)
    app.add_url_rule("/__admin/seed", "admin_seed", seed)
    app.add_url_rule("/__admin/seed", "admin_add_seed", add_seed, methods=["POST"])
    app.add_url_rule("/__admin/chaos", "admin_chaos", chaos)
    app.add_url_rule("/__admin/chaos", "admin_change_chaos", change_chaos, methods=["PUT"])
    app.add_url_rule("/__admin/chaos", "admin_forget_chaos", forget_chaos, methods=["DELETE"])


def _json_body() -> Any:
    """The request's body as JSON; a 400 when it is not."""
    try:
        return msgspec.json.decode(request.get_data())
    except msgspec.DecodeError as error:
        raise BadRequest(f"body: expected JSON, got what JSON cannot read: {error}") from None
    except RecursionError:  # nesting as deep as Python's recursion limit
        raise BadRequest("body: expected JSON, got JSON nested too deep to be read") from None


def _bracketed(host: str) -> str:
    """HOST, a name or an address, as a Host header spells it: an IPv6 address in brackets."""
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def _host_of(origin: str) -> str | None:
    """The host of ORIGIN, a page's (`http://LocalHost.:3000` -> `localhost`), as a Host's
    name() spells it; None for a page of no site (`null`: a file, a sandbox)."""
    try:
        page = urlsplit(origin).hostname
    except ValueError:
        return None
    return name(_bracketed(page)) if page else None


def _refused(problems: list[str], status: int = 400) -> Response:
    """STATUS in Capillary's envelope, an error per problem, each abridged."""
    items = [(status, abridged(problem, _LONGEST_PROBLEM)) for problem in problems]
    return json_response(envelope(items), status)


def _not_taken(name: str, where: str, takes: tuple[str, ...]) -> str:
    """What is said of a query parameter NAME that the endpoint WHERE does not take."""
    close = difflib.get_close_matches(name, takes, n=1, cutoff=0.6)
    hint = f"; did you mean '{close[0]}'?" if close else ""
    return (
        f"query parameter {_shown(name)} is not a parameter of {where}"
        f" (it takes {', '.join(takes) or 'none'}){hint}"
    )


def _shown(value: str) -> str:
    """VALUE, sent by a client, as a message echoes it: quoted, its middle left out when long."""
    return repr(abridged(value, _LONGEST_ECHO))


def _unauthorized(method: str, path: str) -> Response:
    """401 in Capillary's envelope, for a change asked without the --admin-token."""
    message = (
        f"{method} {path} changes the mock, which was started with --admin-token: send"
        " 'Authorization: Bearer TOKEN' with that token"
    )
    response = _refused([message], 401)
    response.headers["WWW-Authenticate"] = 'Bearer realm="capkit admin"'
    return response


#: The journal's renderings: a list of summaries, or HAR 1.2 (what `capkit verify` reads).
_FORMATS = ("json", "har")
#: The endpoints of this module, by their names' prefix, and the query parameters each takes
#: (none where it is not named).
_ENDPOINTS = "admin_"
#: The methods of the admin endpoints that change nothing (any other changes the mock); a
#: browser's CORS preflight (OPTIONS) never carries credentials.
_READS = ("GET", "HEAD", "OPTIONS")
_QUERY_PARAMETERS = {"admin_requests": ("format",)}
#: Characters of a problem said in full, and of a value echoed in full: a 100,000-character
#: value echoed whole would bury what the message says about it.
_LONGEST_PROBLEM, _LONGEST_ECHO = 400, 80
NOT_FOUND = 404
