"""The benchmark's settings: a BENCH_* environment variable, else the default."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PRISM = ROOT / "bench" / ".tools" / "node_modules" / ".bin" / "prism"
SPEC = ROOT / "spec" / "v2.json"
RESULTS = ROOT / "bench" / "RESULTS.md"
LOGS = ROOT / "bench" / ".tools" / "logs"


class ConfigError(ValueError):
    """A BENCH_* variable has a value the benchmark cannot take."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class Config:
    """How long and how hard the benchmark runs. Each field comes from BENCH_<FIELD>."""

    #: Seconds of each wrk run.
    seconds: int = 10
    #: Rounds of the read mix, each one run per server and connection count.
    rounds: int = 3
    #: Seconds of load on each server before the first round, not counted.
    warmup: int = 2
    #: Launches of each server to time the first 200 (the median is reported).
    starts: int = 3
    #: Connection counts of the read mix.
    connections: tuple[int, ...] = (10, 50)
    #: Connections of the write mix: one per wrk thread, so each lookup follows its register.
    write_connections: int = 10
    #: wrk threads for the read mix (it shares the cores with the servers).
    threads: int = 2
    #: Worker processes of capkit and of the WSGI ceiling.
    workers: int = dataclasses.field(default_factory=lambda: os.cpu_count() or 1)
    #: One request in this many of the read mix is invalid and must be refused (0: none).
    invalid_every: int = 50
    #: schemathesis cases generated per operation, in each of its two runs.
    examples: int = 25
    #: Requests kept in flight, each asking to be answered DELAY_MS late, beside the read mix.
    delayed: int = 50
    delay_ms: int = 1000

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> Config:
        """The settings from BENCH_* variables; raise ConfigError naming a bad one."""
        env = os.environ if environ is None else environ
        default = cls()
        return cls(
            seconds=_count(env, "BENCH_SECONDS", default.seconds),
            rounds=_count(env, "BENCH_ROUNDS", default.rounds),
            warmup=_count(env, "BENCH_WARMUP", default.warmup, minimum=0),
            starts=_count(env, "BENCH_STARTS", default.starts),
            connections=_counts(env, "BENCH_CONNECTIONS", default.connections),
            write_connections=_count(env, "BENCH_WRITE_CONNECTIONS", default.write_connections),
            threads=_count(env, "BENCH_THREADS", default.threads),
            workers=_count(env, "BENCH_WORKERS", default.workers),
            invalid_every=_count(env, "BENCH_INVALID_EVERY", default.invalid_every, minimum=0),
            examples=_count(env, "BENCH_EXAMPLES", default.examples),
            delayed=_count(env, "BENCH_DELAYED", default.delayed),
            delay_ms=_count(env, "BENCH_DELAY_MS", default.delay_ms),
        )


def _count(environ: Mapping[str, str], variable: str, default: int, *, minimum: int = 1) -> int:
    """The whole number in VARIABLE, DEFAULT when unset; raise ConfigError when it is not one."""
    text = environ.get(variable)
    if text is None:
        return default
    try:
        value = int(text.strip())
    except ValueError:
        raise ConfigError(f"{variable} has value {text!r}; expected a whole number") from None
    if value < minimum:
        raise ConfigError(f"{variable} has value {text!r}; expected at least {minimum}")
    return value


def _counts(environ: Mapping[str, str], variable: str, default: tuple[int, ...]) -> tuple[int, ...]:
    """The comma-separated whole numbers in VARIABLE ("10,50"), DEFAULT when unset."""
    text = environ.get(variable)
    if text is None:
        return default
    parts = [part for part in text.split(",") if part.strip()]
    if not parts:
        raise ConfigError(f"{variable} has value {text!r}; expected numbers such as '10,50'")
    return tuple(_count({variable: part}, variable, 0) for part in parts)
