"""What must hold for the numbers to count: each check a function of what was measured,
returning a Check that says what was expected and what was seen."""

from __future__ import annotations

import dataclasses

from bench import probes
from bench.servers import Running
from bench.wrk import Load


@dataclasses.dataclass(frozen=True, kw_only=True)
class Check:
    """One invariant of one server in one run."""

    server: str
    name: str
    passed: bool
    expected: str
    actual: str


def invalid_refused(server: str, load: Load) -> Check:
    """Validation is on: each invalid lookup of the read mix was answered 400.

    wrk stops with up to one request per connection in flight, unanswered and uncounted.
    """
    sent, refused = load.counts.get("sent_invalid", 0), load.counts.get("rejected", 0)
    unanswered = sent - refused
    return Check(
        server=server,
        name="invalid requests refused with 400",
        passed=sent > 0 and 0 <= unanswered <= load.connections,
        expected=f"each invalid request sent answered 400 (at most {load.connections} in flight)",
        actual=f"{sent} sent, {refused} answered 400",
    )


def valid_answered(server: str, load: Load) -> Check:
    """Every other response of the read mix was a 2xx, and wrk saw no more non-2xx."""
    other, refused = load.counts.get("other", -1), load.counts.get("rejected", 0)
    return Check(
        server=server,
        name="no other response non-2xx",
        passed=other == 0 and load.non_2xx == refused,
        expected=f"{refused} non-2xx (the invalid requests), no other",
        actual=f"wrk counted {load.non_2xx} non-2xx; {other} non-2xx other than 400",
    )


def writes_found(server: str, load: Load) -> Check:
    """Every register of the write mix was acknowledged, and every lookup found its customer."""
    registered, found = load.counts.get("registered", 0), load.counts.get("found", 0)
    other = load.counts.get("other", -1)
    return Check(
        server=server,
        name="write mix: every register 200, every lookup found it",
        passed=registered > 0
        and other == 0
        and load.non_2xx == 0
        and 0 <= registered - found <= load.connections,
        expected=f"no failure; lookups = registers less at most {load.connections} in flight",
        actual=f"{registered} registered, {found} found, {other} failed, {load.non_2xx} non-2xx",
    )


def delays_kept(server: str, load: Load, delay_ms: int) -> Check:
    """Every delayed request was answered 200, none before its delay, all within half of it
    more (a delay holds no worker)."""
    ok, other = load.counts.get("ok", 0), load.counts.get("other", -1)
    return Check(
        server=server,
        name=f"delayed requests answered 200 after {delay_ms} ms, p99 within {delay_ms * 1.5:.0f}",
        passed=ok > 0 and other == 0 and delay_ms <= load.p50 and load.p99 <= delay_ms * 1.5,
        expected=f"all 200, p50 at least {delay_ms} ms, p99 at most {delay_ms * 1.5:.0f} ms",
        actual=f"{ok} answered 200, {other} other; p50 {load.p50:.0f} ms, p99 {load.p99:.0f} ms",
    )


def probed(running: Running) -> list[Check]:
    """Before the load: the three requests of the mix answer 200, the invalid one 400, and
    one without credentials 401 (validation and auth are on)."""
    prefix, name = running.server.prefix, running.server.name
    wanted = [
        ("lookup", probes.LOOKUP, True, 200),
        ("points expiry", probes.EXPIRY, True, 200),
        ("get customer", probes.CUSTOMER, True, 200),
        ("invalid lookup (identifierName=bogus)", probes.INVALID, True, 400),
        ("points expiry without credentials", probes.EXPIRY, False, 401),
    ]
    checks = []
    for label, path, authorized, status in wanted:
        actual, body = probes.get(running.port, prefix + path, authorized=authorized)
        checks.append(
            Check(
                server=name,
                name=f"probe: {label} answers {status}",
                passed=actual == status,
                expected=str(status),
                actual=f"{actual} {body[:120].decode(errors='replace')}",
            )
        )
    return checks
