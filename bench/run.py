"""The benchmark's flow: launch capkit and Prism, load them in turns, then capkit alone,
replicas on PostgreSQL beside workers on SQLite, the WSGI ceiling and schemathesis; check,
and write bench/RESULTS.md."""

from __future__ import annotations

import contextlib
import dataclasses
import math
import shutil
import sys
import time
from collections.abc import Iterator

from bench import checks, fuzz, machine, replicas, report, servers, wrk
from bench.checks import Check
from bench.config import LOGS, PRISM, RESULTS, Config, ConfigError
from bench.probes import AUTHORIZATION
from bench.report import Delayed, Measured, Results
from bench.servers import Running, Server
from bench.wrk import Load
from tests import postgresql

#: Seconds to wait, at most, for every worker of a launched server to be up.
SETTLE_TIMEOUT = 30.0


class ToolMissing(RuntimeError):
    """wrk, Prism or PostgreSQL's server is not installed where the bench looks for it."""


def main() -> int:
    """Run the benchmark; 0 when every check passed, 1 when one failed, 2 when it cannot run."""
    try:
        config = Config.from_environ()
        require_tools()
    except (ConfigError, ToolMissing) as error:
        print(f"bench: {error}", file=sys.stderr)
        return 2
    shutil.rmtree(LOGS, ignore_errors=True)  # the servers' logs of this run only
    try:
        results = measure(config)
    except (servers.LaunchFailed, wrk.WrkFailed, OSError, postgresql.ServerMissing) as error:
        print(f"bench: {error}", file=sys.stderr)
        return 2
    RESULTS.write_text(report.render(results))
    say(f"wrote {RESULTS.relative_to(RESULTS.parent.parent)}")
    failed = [check for check in results.checks if not check.passed]
    for check in failed:
        say(f"FAILED {check.server}: {check.name}: expected {check.expected}; got {check.actual}")
    return 1 if failed else 0


def require_tools() -> None:
    """Raise ToolMissing, saying how to install it, if wrk, Prism or PostgreSQL is missing."""
    if shutil.which("wrk") is None:
        raise ToolMissing("wrk is not on PATH: `make bench` installs it (apt-get install wrk)")
    if not PRISM.exists():
        raise ToolMissing(f"Prism is not at {PRISM}: `make bench` installs it with npm")
    try:
        postgresql.binaries()
    except postgresql.ServerMissing as missing:
        raise ToolMissing(f"{missing}; `make bench` installs it") from None


def measure(config: Config) -> Results:
    """Every measure of the run, the checks among them."""
    started, load_before = time.perf_counter(), machine.load_average()
    described = machine.describe()
    found: list[Check] = []
    with contextlib.ExitStack() as stack:
        capkit, capkit_starts = stack.enter_context(
            timed_launches(servers.capkit(config.workers), config)
        )
        prism, prism_starts = stack.enter_context(timed_launches(servers.prism(), config))
        idle = [servers.memory(capkit.process.pid), servers.memory(prism.process.pid)]
        found += checks.probed(capkit) + checks.probed(prism)
        warm_up(capkit, config)
        warm_up(prism, config)
        loads = read_rounds([capkit, prism], config, found)
        loaded = [servers.memory(capkit.process.pid), servers.memory(prism.process.pid)]
        write = write_rounds(capkit, config, found)
        delayed = delayed_rounds(capkit, config, found)
    on_postgresql = replicas.measure(config, found, say)
    say("schemathesis over HTTP")
    pinned = servers.launch(servers.capkit(config.workers, auth=fuzz.AUTH), logs=LOGS)
    try:
        over_http = fuzz.over_http(pinned.url, config.examples)
    finally:
        servers.stop(pinned)
    ceiling = measure_ceiling(config)
    say("schemathesis in-process")
    in_process = fuzz.in_process(config.examples)
    workers = f"{config.workers} worker{'s' if config.workers > 1 else ''}"
    return Results(
        config=config,
        machine=described,
        load_before=load_before,
        load_after=machine.load_average(),
        minutes=(time.perf_counter() - started) / 60,
        capkit=Measured(
            label=f"capkit ({workers})",
            starts_ms=capkit_starts,
            idle=idle[0],
            loaded=loaded[0],
            loads=loads[capkit.server.name],
        ),
        prism=Measured(
            label=f"Prism {machine.prism_version()}",
            starts_ms=prism_starts,
            idle=idle[1],
            loaded=loaded[1],
            loads=loads[prism.server.name],
        ),
        write=write,
        replicas=on_postgresql,
        delayed=delayed,
        ceiling=ceiling,
        fuzz=[in_process, over_http],
        checks=found,
    )


@contextlib.contextmanager
def timed_launches(server: Server, config: Config) -> Iterator[tuple[Running, list[float]]]:
    """Launch SERVER config.starts times, one at a time, timing each first 200; keep the last
    running (and its workers settled) until the context ends."""
    times: list[float] = []
    running: Running | None = None
    try:
        for attempt in range(config.starts):
            running = servers.launch(server, logs=LOGS)
            times.append(running.first_200_ms)
            say(f"{server.name}: first 200 after {running.first_200_ms:.0f} ms")
            if attempt < config.starts - 1:
                servers.stop(running)
        assert running is not None
        settle(running)
        yield running, times
    finally:
        if running is not None:
            servers.stop(running)


def settle(running: Running) -> None:
    """Wait until every process of RUNNING is up and its workers answer, for idle memory."""
    deadline = time.perf_counter() + SETTLE_TIMEOUT
    while time.perf_counter() < deadline:
        if len(servers.memory(running.process.pid).processes) >= running.server.processes:
            break
        time.sleep(0.05)
    time.sleep(1.0)  # the last worker builds its app after its process starts


def warm_up(running: Running, config: Config) -> None:
    """Load RUNNING for config.warmup seconds, uncounted (Node's JIT, SQLite's cache)."""
    if config.warmup:
        say(f"{running.server.name}: warm-up {config.warmup} s")
        read_load(running, config, connections=max(config.connections), seconds=config.warmup)


def read_rounds(
    both: list[Running], config: Config, found: list[Check]
) -> dict[str, dict[int, list[Load]]]:
    """The read mix, config.rounds times at each connection count, the servers in turns
    (capkit first in odd rounds, Prism first in even ones); checks each run into FOUND."""
    loads: dict[str, dict[int, list[Load]]] = {
        run.server.name: {c: [] for c in config.connections} for run in both
    }
    for number in range(config.rounds):
        order = both if number % 2 == 0 else both[::-1]
        for connections in config.connections:
            for running in order:
                load = read_load(running, config, connections=connections, seconds=config.seconds)
                loads[running.server.name][connections].append(load)
                found += [
                    checks.invalid_refused(running.server.name, load),
                    checks.valid_answered(running.server.name, load),
                ]
                say(
                    f"round {number + 1}/{config.rounds} c{connections} {running.server.name}:"
                    f" {load.rps:,.0f} req/s, p50 {load.p50:.2f} ms, p99 {load.p99:.2f} ms"
                )
    return loads


def read_load(running: Running, config: Config, *, connections: int, seconds: int) -> Load:
    """One wrk run of the read mix (bench/mix.lua) against RUNNING."""
    arguments = [running.server.prefix, AUTHORIZATION, str(config.invalid_every)]
    return wrk.run(
        running.url,
        wrk.MIX,
        arguments,
        connections=connections,
        threads=config.threads,
        seconds=seconds,
    )


def write_rounds(running: Running, config: Config, found: list[Check]) -> list[Load]:
    """The write mix (bench/write.lua) on capkit, config.rounds times; checks into FOUND."""
    loads = []
    for number in range(config.rounds):
        # A nonce per round: its mobiles are new to a state that already holds the others.
        arguments = [running.server.prefix, AUTHORIZATION, str(number + 1)]
        load = wrk.run(
            running.url,
            wrk.WRITE,
            arguments,
            connections=config.write_connections,
            threads=config.write_connections,
            seconds=config.seconds,
        )
        loads.append(load)
        found.append(checks.writes_found(running.server.name, load))
        say(f"write round {number + 1}/{config.rounds}: {load.rps:,.0f} req/s")
    return loads


def delayed_rounds(running: Running, config: Config, found: list[Check]) -> list[Delayed]:
    """The read mix at the first connection count, alone then with config.delayed requests in
    flight, each asking to be answered config.delay_ms late, config.rounds times; checks into
    FOUND."""
    rounds = []
    delay = config.delay_ms / 1000
    connections = config.connections[0]
    for number in range(config.rounds):
        alone = read_load(running, config, connections=connections, seconds=config.seconds)
        slow = wrk.start(
            running.url,
            wrk.DELAYED,
            [running.server.prefix, AUTHORIZATION, str(config.delay_ms)],
            connections=config.delayed,
            threads=1,
            seconds=config.seconds + math.ceil(2 * delay),
        )
        time.sleep(delay)  # every delayed connection has its first request in flight
        mix = read_load(running, config, connections=connections, seconds=config.seconds)
        held = wrk.finish(slow)
        rounds.append(Delayed(alone=alone, mix=mix, delayed=held))
        found += [
            checks.invalid_refused(running.server.name, mix),
            checks.valid_answered(running.server.name, mix),
            checks.delays_kept(running.server.name, held, config.delay_ms),
        ]
        say(
            f"delayed round {number + 1}/{config.rounds}: read mix {alone.rps:,.0f} req/s alone,"
            f" {mix.rps:,.0f} beside {held.requests} delayed requests (p99 {held.p99:.0f} ms)"
        )
    return rounds


def measure_ceiling(config: Config) -> Measured:
    """The fixed-bytes WSGI app on capkit's server, once per connection count."""
    server = servers.ceiling(config.workers)
    with timed_launches(server, dataclasses.replace(config, starts=1)) as (running, times):
        idle = servers.memory(running.process.pid)
        warm_up(running, config)
        loads = {}
        for connections in config.connections:
            loads[connections] = [
                read_load(running, config, connections=connections, seconds=config.seconds)
            ]
            say(f"WSGI ceiling c{connections}: {loads[connections][0].rps:,.0f} req/s")
        loaded = servers.memory(running.process.pid)
    return Measured(
        label=f"WSGI ceiling ({config.workers} workers)",
        starts_ms=times,
        idle=idle,
        loaded=loaded,
        loads=loads,
    )


def say(line: str) -> None:
    """Progress, as the run goes."""
    print(f"bench: {line}", flush=True)
