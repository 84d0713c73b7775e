"""Rehearsing real life: slow answers, faults and a rate limit, as settings and a plan per request.

The settings come from the flags (`--latency`, `--faults`, `--rate-limit`, ...) and may be
overridden at runtime for every worker (`PUT /__admin/chaos`); a request may ask for its own
delay or fault (`Prefer: delay=800`, `Prefer: fault=reset`). `plan` turns them into what
happens to one request: how long it waits, and which fault, if any, it meets. Carrying the
plan out (waiting without holding a worker, resetting a connection) is the server's part.

Nothing here knows HTTP frameworks or storage: values in, values out.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import random
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from mockserver.prefer import preferences

#: What a fault may be: a transport fault (reset: the connection reset, no answer; empty:
#: closed without an answer; timeout: held open with no answer, then closed; lost: the request
#: takes effect, then the connection is reset) or one of Capillary's 5xx answers.
FAULT_KINDS = ("reset", "empty", "timeout", "lost", "500", "503")
#: Faults that leave the client without an answer: only a server that owns the connection
#: can play them.
TRANSPORT_FAULTS = frozenset({"reset", "empty", "timeout", "lost"})
#: Where the app leaves a request's plan in its WSGI environ, for the server to carry out.
PLAN = "capkit.plan"
#: The longest wait, of a delay or of a held connection: a typo does not hold one for a day.
LONGEST_WAIT = 600.0
DEFAULT_FAULT_HOLD = 30.0
RATE_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}

# ASCII digits alone: Python reads others (full-width, Arabic-Indic) as numbers too.
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s)?\s*$", re.ASCII)
_SPAN = re.compile(r"^(?P<low>[^-]+?)\s*-\s*(?P<high>[^-]+)$")
_RATE = re.compile(r"^\s*(\d{1,18})\s*/\s*([a-z]+)\s*$", re.ASCII)
_WHOLE = re.compile(r"[0-9]+")


class ChaosError(ValueError):
    """A chaos setting has a value the mock cannot take. `field` names it as the JSON of
    /__admin/chaos does (faultKinds); the message says what was expected."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def duration(value: str | float, *, field: str) -> float:
    """Seconds of VALUE: "300ms", "2s", or a bare number of milliseconds. Raises ChaosError."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value) / 1000
    else:
        found = _DURATION.match(str(value)) if isinstance(value, str) else None
        if found is None:
            raise ChaosError(
                field,
                f"expected a duration such as 300ms or 2s (a bare number is ms), got {value!r}",
            )
        seconds = float(found[1]) / (1 if found[2] == "s" else 1000)
    if seconds < 0:
        raise ChaosError(field, f"expected a duration of 0 or more, got {value!r}")
    if seconds > LONGEST_WAIT:
        raise ChaosError(field, f"expected at most {LONGEST_WAIT:.0f}s, got {value!r}")
    return seconds


def _spoken(seconds: float) -> str:
    """SECONDS as the flags write them: 300ms, 2s, 1.5s."""
    if seconds >= 1 and round(seconds * 1000) % 100 == 0:
        return f"{seconds:g}s"
    return f"{seconds * 1000:g}ms"


@dataclasses.dataclass(frozen=True)
class Latency:
    """A wait drawn uniformly from LOW to HIGH seconds (one value when they are equal)."""

    low: float
    high: float

    @classmethod
    def parse(cls, text: str, *, field: str) -> Latency:
        """ "300ms" or "100ms-2s". Raises ChaosError."""
        span = _SPAN.match(text.strip())
        if span is None:
            wait = duration(text, field=field)
            return cls(wait, wait)
        low, high = duration(span["low"], field=field), duration(span["high"], field=field)
        if low > high:
            raise ChaosError(field, f"expected a range from the shorter wait up, got {text!r}")
        return cls(low, high)

    def draw(self, dice: random.Random | None) -> float:
        """A wait: LOW when the span is one value, else one drawn with DICE."""
        if self.low == self.high:
            return self.low
        assert dice is not None, "a span of waits is drawn: Chaos.random holds"
        return dice.uniform(self.low, self.high)

    def __str__(self) -> str:
        if self.low == self.high:
            return _spoken(self.low)
        return f"{_spoken(self.low)}-{_spoken(self.high)}"


@dataclasses.dataclass(frozen=True)
class RateLimit:
    """At most REQUESTS per PERIOD seconds, per credential."""

    requests: int
    period: int

    @classmethod
    def parse(cls, text: str, *, field: str = "rateLimit") -> RateLimit:
        """ "100/m" (units s, m, h, d). Raises ChaosError."""
        found = _RATE.match(text) if isinstance(text, str) else None
        if found is None or found[2] not in RATE_UNITS or int(found[1]) < 1:
            raise ChaosError(
                field,
                f"expected requests/unit such as 100/m (units {', '.join(RATE_UNITS)}),"
                f" got {text!r}",
            )
        return cls(int(found[1]), RATE_UNITS[found[2]])

    def __str__(self) -> str:
        unit = next(name for name, seconds in RATE_UNITS.items() if seconds == self.period)
        return f"{self.requests}/{unit}"


@dataclasses.dataclass(frozen=True, kw_only=True)
class Chaos:
    """What every request under the API's base path meets, unless its Prefer header asks."""

    #: The wait of every request, and of the operations named (by operationId) instead.
    latency: Latency | None = None
    latency_of: Mapping[str, Latency] = dataclasses.field(default_factory=dict)
    #: The fraction of requests that meet a fault, of one of FAULT_KINDS drawn at random.
    faults: float = 0.0
    fault_kinds: tuple[str, ...] = FAULT_KINDS
    #: How long a `timeout` fault holds the connection open, in seconds.
    fault_hold: float = DEFAULT_FAULT_HOLD
    #: With a seed, which requests meet a fault, which and how long they wait is the same in
    #: every run: decided by the seed and each request's place in the sequence of requests.
    chaos_seed: int | None = None
    rate_limit: RateLimit | None = None
    #: The settings (as JSON names them) changed at runtime, away from the flags.
    changed: tuple[str, ...] = ()

    @property
    def random(self) -> bool:
        """Whether a request's plan is drawn at random (and so, with a seed, by its place)."""
        spans = [self.latency, *self.latency_of.values()]
        return self.faults > 0 or any(s is not None and s.low != s.high for s in spans)

    @property
    def quiet(self) -> bool:
        """Whether a request that asks for nothing is planned as it comes: nothing to do."""
        return self.latency is None and not self.latency_of and not self.faults

    def to_json(self) -> dict[str, Any]:
        """These settings as GET /__admin/chaos shows them, and PUT takes them."""
        latency = [] if self.latency is None else [str(self.latency)]
        latency += [f"{operation}={wait}" for operation, wait in self.latency_of.items()]
        return {
            "latency": latency,
            "faults": self.faults,
            "faultKinds": list(self.fault_kinds),
            "faultHold": _spoken(self.fault_hold),
            "chaosSeed": self.chaos_seed,
            "rateLimit": None if self.rate_limit is None else str(self.rate_limit),
            "changedAtRuntime": list(self.changed),
        }

    def overridden(self, changes: Mapping[str, Any]) -> Chaos:
        """These settings with CHANGES (JSON as PUT /__admin/chaos takes it) in force; a null
        turns that setting off, or back to its default. Raises ChaosError naming the field."""
        if not isinstance(changes, Mapping):
            raise ChaosError("body", f"expected a JSON object of settings, got {changes!r}")
        values: dict[str, Any] = {}
        for name, value in changes.items():
            if name not in _READERS:
                close = difflib.get_close_matches(name, _READERS, n=1)
                hint = f"; did you mean {close[0]}?" if close else ""
                raise ChaosError(name, f"no such setting (they are {', '.join(_READERS)}){hint}")
            values.update(_READERS[name](value))
        changed = tuple(name for name in _READERS if name in changes or name in self.changed)
        return dataclasses.replace(self, **values, changed=changed)


def settings(
    *,
    latency: Iterable[str] = (),
    faults: float = 0.0,
    fault_kinds: Iterable[str] = FAULT_KINDS,
    fault_hold: str | float = "30s",
    chaos_seed: int | None = None,
    rate_limit: str | None = None,
) -> Chaos:
    """Chaos from the flags' values. Raises ChaosError naming the setting as JSON does."""
    values: dict[str, Any] = {}
    values.update(_latencies(list(latency)))
    values.update(_faults(faults))
    values.update(_fault_kinds(list(fault_kinds)))
    values.update(_fault_hold(fault_hold))
    values.update(_chaos_seed(chaos_seed))
    values.update(_rate_limit(rate_limit))
    return Chaos(**values)


def _latencies(value: Any) -> dict[str, Any]:
    items = [] if value is None else [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
        raise ChaosError(
            "latency", f"expected a wait such as 300ms, or a list of them, got {value!r}"
        )
    waits: dict[str, tuple[str, Latency]] = {}  # by operation, "" for every one
    for item in items:
        operation, equals, wait = item.rpartition("=")
        operation = operation.strip()
        if equals and not re.fullmatch(r"[A-Za-z_][\w.-]*", operation):
            raise ChaosError("latency", f"expected operationId=wait, got {item!r}")
        if operation in waits:  # which of the two was meant is not the mock's to guess
            which = f"for {operation}" if operation else "for every operation"
            raise ChaosError(
                "latency", f"expected one wait {which}, got {waits[operation][0]!r} and {item!r}"
            )
        waits[operation] = (item, Latency.parse(wait, field="latency"))
    every = waits.pop("", None)
    return {
        "latency": every and every[1],
        "latency_of": {operation: latency for operation, (_, latency) in waits.items()},
    }


def _faults(value: Any) -> dict[str, Any]:
    if value is None:
        value = 0.0
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise ChaosError("faults", f"expected a fraction of requests from 0 to 1, got {value!r}")
    return {"faults": float(value)}


def _fault_kinds(value: Any) -> dict[str, Any]:
    if value is None:
        return {"fault_kinds": FAULT_KINDS}
    kinds = value.split(",") if isinstance(value, str) else value
    if not isinstance(kinds, list | tuple) or not kinds:
        raise ChaosError(
            "faultKinds", f"expected a list of {', '.join(FAULT_KINDS)}, got {value!r}"
        )
    names = [str(kind).strip() for kind in kinds]
    unknown = [name for name in names if name not in FAULT_KINDS]
    if unknown:
        raise ChaosError(
            "faultKinds", f"expected some of {', '.join(FAULT_KINDS)}, got {unknown[0]!r}"
        )
    return {"fault_kinds": tuple(dict.fromkeys(names))}


def _fault_hold(value: Any) -> dict[str, Any]:
    if value is None:
        return {"fault_hold": DEFAULT_FAULT_HOLD}
    return {"fault_hold": duration(value, field="faultHold")}


def _chaos_seed(value: Any) -> dict[str, Any]:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
        raise ChaosError("chaosSeed", f"expected a whole number, got {value!r}")
    return {"chaos_seed": value}


def _rate_limit(value: Any) -> dict[str, Any]:
    return {"rate_limit": None if value is None else RateLimit.parse(value)}


#: How each setting of /__admin/chaos's JSON is read, by its name there.
_READERS: dict[str, Callable[[Any], dict[str, Any]]] = {
    "latency": _latencies,
    "faults": _faults,
    "faultKinds": _fault_kinds,
    "faultHold": _fault_hold,
    "chaosSeed": _chaos_seed,
    "rateLimit": _rate_limit,
}


# --- one request ----------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Asked:
    """What a request's Prefer header asks of chaos: its own delay (seconds) or fault."""

    delay: float | None = None
    fault: str | None = None


def asked(prefer: str) -> Asked:
    """The delay and fault that a Prefer header (`delay=800, fault=reset`) asks for; other
    preferences are left to whom they concern. Raises ChaosError naming `Prefer`."""
    wanted = preferences(prefer)
    delay = fault = None
    if "delay" in wanted:
        delay = _milliseconds(wanted["delay"])
    if "fault" in wanted:
        fault = wanted["fault"].lower()
        if fault not in FAULT_KINDS:
            raise ChaosError(
                "Prefer", f"fault must be one of {', '.join(FAULT_KINDS)}, got {wanted['fault']!r}"
            )
    return Asked(delay, fault)


def _milliseconds(value: str) -> float:
    """Seconds of VALUE, a Prefer's whole number of milliseconds. Raises ChaosError."""
    if not _WHOLE.fullmatch(value):
        raise ChaosError(
            "Prefer",
            f"delay must be a whole number of milliseconds (digits 0-9), got {value!r}",
        )
    # Python reads no more than 4,300 digits; a number this long is over the longest wait.
    if len(value.lstrip("0")) > len(str(int(LONGEST_WAIT * 1000))):
        raise ChaosError(
            "Prefer",
            f"delay must be at most {LONGEST_WAIT * 1000:.0f} milliseconds, got {value!r}",
        )
    return duration(int(value), field="Prefer")


@dataclasses.dataclass(frozen=True)
class Plan:
    """What happens to one request: it waits DELAY seconds, then meets FAULT (a kind of
    FAULT_KINDS), or is answered as usual when FAULT is None."""

    delay: float = 0.0
    fault: str | None = None

    @property
    def answered(self) -> bool:
        """Whether the client gets an answer (lost: the mock answers, the client never hears)."""
        return self.fault not in TRANSPORT_FAULTS


AS_IT_COMES = Plan()


def plan(
    chaos: Chaos, operation: str | None, request: Asked, dice: Callable[[], random.Random]
) -> Plan:
    """The plan of a request of OPERATION (None: no operation's path) that asks REQUEST, under
    CHAOS. DICE gives the random source, called once and only when something is drawn.

    What the request asks wins over the settings; a timeout waits the fault hold, then
    leaves the connection without an answer."""
    if chaos.quiet and request == Asked():
        return AS_IT_COMES
    drawn = dice() if chaos.random else None
    fault = request.fault
    if fault is None and chaos.faults and drawn is not None:
        # Both draws are made for every request, so that a request's place alone decides.
        hit, kind = drawn.random() < chaos.faults, drawn.choice(chaos.fault_kinds)
        fault = kind if hit else None
    latency = chaos.latency_of.get(operation or "", chaos.latency)
    delay = request.delay
    if delay is None:
        delay = 0.0 if latency is None else latency.draw(drawn)
    if fault == "timeout":
        delay += chaos.fault_hold
    return Plan(delay=delay, fault=fault)


def dice_of(seed: int | None, place: Callable[[], int]) -> Callable[[], random.Random]:
    """The random source of a request: decided by SEED and the request's place in the
    sequence of requests (PLACE, asked once), or free without a seed."""
    if seed is None:
        return lambda: _FREE
    return lambda: random.Random(f"capkit chaos {seed}:{place()}")


_FREE = random.Random()


@dataclasses.dataclass(frozen=True)
class Quota:
    """Where a credential stands against the rate limit: USED of LIMIT requests in the
    current window, which ends in RESET seconds."""

    limit: int
    used: int
    reset: float

    @property
    def exceeded(self) -> bool:
        return self.used > self.limit

    @property
    def retry_after(self) -> int:
        """Whole seconds until the window ends, at least 1."""
        return max(1, math.ceil(self.reset))

    def headers(self) -> list[tuple[str, str]]:
        """The quota as response headers (the IETF draft's RateLimit fields: Capillary documents
        none), with Retry-After once exceeded."""
        seconds = str(self.retry_after)
        headers = [
            ("RateLimit-Limit", str(self.limit)),
            ("RateLimit-Remaining", str(max(0, self.limit - self.used))),
            ("RateLimit-Reset", seconds),
        ]
        return headers + [("Retry-After", seconds)] if self.exceeded else headers


def quota(limit: RateLimit, credential: str, now: float, count: Callable[[str, int], int]) -> Quota:
    """Count one request of CREDENTIAL at NOW (seconds since the epoch) against LIMIT, in fixed
    windows of its period; COUNT(key, window) counts across every worker."""
    window = int(now // limit.period)
    used = count(f"rate-limit {credential}", window)
    return Quota(limit.requests, used, (window + 1) * limit.period - now)
