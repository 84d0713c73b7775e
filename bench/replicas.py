"""Beyond one machine: two single-worker replicas of the mock on one PostgreSQL, against two
workers on one SQLite file, with the read and the write mix, in the same run.

The replicas stand for two hosts behind a round-robin balancer: wrk's threads connect to
them in turn (BENCH_REPLICAS, read by the Lua scripts), so each replica gets half the
connections, with no balancer's own cost on the two cores. They reach PostgreSQL by TCP, as
replicas on other hosts do, and, as another setup, by its Unix socket, as replicas on the
database's own host may: on one machine, a round trip by TCP costs both sides more.
PostgreSQL runs as its package ships it (fsync and synchronous_commit on), as SQLite runs with
synchronous=FULL: a write is acknowledged once it is on disk, in both.

Each run also says what a request cost the mock's processes and PostgreSQL's in CPU: on one
machine they share the cores, and where the requests/s ratios move with the machine's load from
round to round (a neighbour's), the share of each in a round holds steadier.
"""

from __future__ import annotations

import contextlib
import dataclasses
import statistics
from collections.abc import Callable, Iterator
from functools import partial

from bench import checks, servers, wrk
from bench.checks import Check
from bench.config import LOGS, Config
from bench.probes import AUTHORIZATION
from bench.servers import Running
from bench.wrk import Load
from tests import postgresql


@dataclasses.dataclass(frozen=True)
class Cost:
    """The CPU a request of one run cost, in microseconds: the mock's processes (SQLite's work
    is theirs), and PostgreSQL's (0 for SQLite). Neither counts wrk's, nor the kernel's work
    for the network where it is charged to no process of theirs."""

    mock: float
    database: float


@dataclasses.dataclass(frozen=True, kw_only=True)
class Setup:
    """One way of running the mock on two processes, and what each mix measured on it."""

    label: str
    read: list[Load]
    write: list[Load]
    #: What each run of read and of write cost, in step with them.
    read_cost: list[Cost]
    write_cost: list[Cost]

    def median(self, mix: str, measure: str) -> float:
        """The median of MEASURE ("rps", "p50", "p99") over the runs of MIX ("read", "write")."""
        loads: list[Load] = getattr(self, mix)
        return float(statistics.median(getattr(load, measure) for load in loads))

    def median_cost(self, mix: str, part: str) -> float:
        """The median over the runs of MIX of PART ("mock", "database") of a request's CPU."""
        costs: list[Cost] = getattr(self, f"{mix}_cost")
        return float(statistics.median(getattr(cost, part) for cost in costs))


@dataclasses.dataclass(frozen=True, kw_only=True)
class Replicas:
    sqlite: Setup
    #: By TCP, and by the server's Unix socket.
    postgresql: Setup
    postgresql_socket: Setup
    #: The server's own version line, e.g. "PostgreSQL 15.18 (Debian 15.18-0+deb12u1) ...".
    version: str


def measure(config: Config, found: list[Check], say: Callable[[str], None]) -> Replicas:
    """config.rounds rounds of each mix on each setup, the setups in turns; checks into FOUND,
    progress to SAY."""
    with contextlib.ExitStack() as stack:
        sqlite = [stack.enter_context(_launched(servers.capkit(config.workers)))]
        server = stack.enter_context(postgresql.running())
        urls = {
            "postgresql": server.create_database("capkit"),
            "postgresql_socket": server.socket_url(server.create_database("capkit_socket")),
        }
        setups = {"sqlite": sqlite}
        for name, url in urls.items():
            setups[name] = [
                stack.enter_context(_launched(servers.capkit(1, state=url, name=f"replica {n}")))
                for n in (1, 2)
            ]
        version = server.version()
        loads: dict[str, dict[str, list[Load]]] = {
            name: {"read": [], "write": []} for name in setups
        }
        costs: dict[str, dict[str, list[Cost]]] = {
            name: {"read": [], "write": []} for name in setups
        }
        for running in setups.values():
            if config.warmup:
                _read(running, config, config.warmup)
        connections = config.connections[0]
        for number in range(config.rounds):
            order = list(setups.items())
            shift = number % len(order)  # each setup goes first in a round of its own
            for name, running in order[shift:] + order[:shift]:
                mock = [each.process.pid for each in running]
                database = [server.postmaster()] if name != "sqlite" else []
                read, read_cost = _costed(
                    partial(_read, running, config, config.seconds, connections=connections),
                    mock,
                    database,
                )
                write, write_cost = _costed(
                    partial(_write, running, config, nonce=number + 1), mock, database
                )
                loads[name]["read"].append(read)
                loads[name]["write"].append(write)
                costs[name]["read"].append(read_cost)
                costs[name]["write"].append(write_cost)
                label = _labels(config)[name]
                found += [
                    checks.invalid_refused(label, read),
                    checks.valid_answered(label, read),
                    checks.writes_found(label, write),
                ]
                say(
                    f"replicas round {number + 1}/{config.rounds} {label}: read c{connections}"
                    f" {read.rps:,.0f} req/s (p99 {read.p99:.2f} ms), write"
                    f" {write.rps:,.0f} req/s (p99 {write.p99:.2f} ms)"
                )
    labels = _labels(config)
    setup = {
        name: Setup(
            label=labels[name],
            read=loads[name]["read"],
            write=loads[name]["write"],
            read_cost=costs[name]["read"],
            write_cost=costs[name]["write"],
        )
        for name in setups
    }
    return Replicas(version=version, **setup)


def _labels(config: Config) -> dict[str, str]:
    return {
        "sqlite": f"{config.workers} workers on SQLite",
        "postgresql": "2 replicas (1 worker each) on PostgreSQL, by TCP",
        "postgresql_socket": "2 replicas (1 worker each) on PostgreSQL, by its Unix socket",
    }


@contextlib.contextmanager
def _launched(server: servers.Server) -> Iterator[Running]:
    running = servers.launch(server, logs=LOGS)
    try:
        yield running
    finally:
        servers.stop(running)


def _costed(run: Callable[[], Load], mock: list[int], database: list[int]) -> tuple[Load, Cost]:
    """What RUN measured, and what a request of it cost the process trees of MOCK and of
    DATABASE."""
    mock_before, database_before = servers.cpu_seconds(*mock), servers.cpu_seconds(*database)
    load = run()
    per_request = 1e6 / max(load.requests, 1)
    return load, Cost(
        (servers.cpu_seconds(*mock) - mock_before) * per_request,
        (servers.cpu_seconds(*database) - database_before) * per_request,
    )


def _read(running: list[Running], config: Config, seconds: int, connections: int = 0) -> Load:
    return wrk.run(
        running[0].url,
        wrk.MIX,
        [running[0].server.prefix, AUTHORIZATION, str(config.invalid_every)],
        connections=connections or max(config.connections),
        threads=config.threads,
        seconds=seconds,
        replicas=[each.port for each in running] if len(running) > 1 else [],
    )


def _write(running: list[Running], config: Config, *, nonce: int) -> Load:
    return wrk.run(
        running[0].url,
        wrk.WRITE,
        [running[0].server.prefix, AUTHORIZATION, str(nonce)],
        connections=config.write_connections,
        threads=config.write_connections,
        seconds=config.seconds,
        replicas=[each.port for each in running] if len(running) > 1 else [],
    )
