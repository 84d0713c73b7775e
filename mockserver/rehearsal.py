"""The rehearsal in force for a mock: its flags' settings (mockserver/chaos.py), with the changes
that `PUT /__admin/chaos` shared with every worker through the store over them; and what the
mock says when a rate limit or a fault stops a request (mockserver/request_path.py's steps).

The app cannot wait without holding its worker, nor leave a client without an answer: it
leaves a request's plan in the WSGI environ (chaos.PLAN) and capkit serve's server
(mockserver/server.py) carries it out. Under another WSGI server (a test's client) the
answer comes at once, and a request planned to get none gets a 503 that says so.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import msgspec

from mockserver.chaos import Chaos, ChaosError, Plan, Quota, RateLimit
from mockserver.storage import Store

#: The store's count of requests: under --chaos-seed, a request's place in it decides its plan.
SEQUENCE = "requests"
#: What a rehearsed 500 and 503 say: Capillary's words, and that the mock was asked for it.
FAULT_MESSAGES = {
    500: "Internal server error (capkit mock: a rehearsed fault)",
    503: "Service unavailable: try again later (capkit mock: a rehearsed fault)",
}
_UNITS = {1: "second", 60: "minute", 3600: "hour", 86400: "day"}


class Rehearsal:
    """The settings of a mock: FLAGS, and the changes its store shares over them, which may
    name by operationId only OPERATIONS."""

    def __init__(self, flags: Chaos, operations: Iterable[str]) -> None:
        """Raises ChaosError for a latency of FLAGS for an operation not in OPERATIONS."""
        self.operations = frozenset(operations)
        self.flags = self._known(flags)
        self._shared: Mapping[str, Any] | None = None
        self._in_force = flags

    def in_force(self, store: Store) -> Chaos:
        """The settings in force now, in every worker."""
        shared = store.shared_settings()
        if shared is None:
            return self.flags
        if shared != self._shared:
            try:
                self._in_force = self.changed(shared)
            except ChaosError:  # put for another spec (its start says so): the flags are in force
                self._in_force = self.flags
            self._shared = shared
        return self._in_force

    def carried_over(self, store: Store) -> list[str]:
        """What STORE holds of the rehearsal from before this process, for its start to say:
        settings put at runtime, in force over the flags, and a sequence of requests under
        way, which a chaos seed goes on from. A start leaves both as they are: it cannot tell
        a restart from a process joining others on the state, whose settings they are too.
        Raises StoreUnavailable."""
        said = []
        shared = store.shared_settings()
        if shared is not None:
            said.append(
                "capkit mock: the state holds settings put at runtime (PUT /__admin/chaos), in"
                f" force over the flags: {msgspec.json.encode(shared).decode()};"
                " DELETE /__admin/chaos returns to the flags"
            )
        seed = self.flags.chaos_seed
        if shared is not None:
            try:
                seed = self.changed(shared).chaos_seed
            except ChaosError as error:
                said.append(
                    f"capkit mock: settings put at runtime cannot be in force ({error}):"
                    " the flags are"
                )
        place = store.counted(SEQUENCE, 0) if seed is not None else 0
        if place:
            said.append(
                f"capkit mock: the state counted {place} requests of the sequence that chaos"
                f" seed {seed} draws from: the next is number {place + 1};"
                " POST /__admin/reset starts it again (and the customers from the seed)"
            )
        return said

    def changed(self, changes: Mapping[str, Any]) -> Chaos:
        """The flags with CHANGES (PUT /__admin/chaos's JSON) over them. Raises ChaosError
        naming the field, for a value it cannot take or an operation the spec lacks."""
        return self._known(self.flags.overridden(changes))

    def _known(self, settings: Chaos) -> Chaos:
        """SETTINGS, whose latencies name operations of the spec; raises ChaosError."""
        unknown = sorted(set(settings.latency_of) - self.operations)
        if unknown:
            raise ChaosError(
                "latency",
                f"expected operationIds of the spec ({', '.join(sorted(self.operations))}),"
                f" got {unknown[0]!r}",
            )
        return settings


def too_many(limit: RateLimit, quota: Quota) -> str:
    """What a 429 says."""
    return (
        f"Too many requests: these credentials made the {limit.requests} requests per"
        f" {_UNITS[limit.period]} the rate limit allows; retry after {quota.retry_after} s"
    )


def unanswered(plan: Plan) -> str:
    """What a WSGI server other than capkit serve's answers for a request planned to get none."""
    return (
        f"Service unavailable: try again later (capkit mock: fault={plan.fault} leaves the"
        " client without an answer under capkit serve; this server cannot)"
    )
