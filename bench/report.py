"""bench/RESULTS.md from what a run measured: the table, the ratios, the checks, the machine."""

from __future__ import annotations

import dataclasses
import statistics
from collections import defaultdict

from bench.checks import Check
from bench.config import Config
from bench.fuzz import Fuzz
from bench.replicas import Replicas, Setup
from bench.servers import Memory
from bench.wrk import Load

#: The goals of issue 5 for capkit, with every check on.
GOAL_RATIO, GOAL_FIRST_200_MS, GOAL_WORKER_MIB = 2.0, 1000.0, 80.0
#: The goals of issue 14: replicas on PostgreSQL against workers on SQLite.
GOAL_REPLICA_READ, GOAL_REPLICA_WRITE = 0.8, 1.0
#: Issue 13's: delayed requests in flight cost the read mix at most a tenth.
GOAL_DELAYED_COST = 0.10

PRISM_PATHS = (
    "Prism 5 serves the spec's paths at the root (`/customers/lookup`), not under the base path"
    " of the spec's server (`https://{host}/v2`): its router consults `servers` only for a"
    " request that names a server (`__server`), and `/v2/customers/lookup` answers 404"
    " NO_PATH_MATCHED_ERROR. So Prism gets the same requests without the `/v2` prefix, from"
    " the same Lua script (its first argument is the prefix), on the unmodified"
    " `spec/v2.json`: same operations, parameters, headers and credentials; nothing else"
    " differs. The probes under Checks show what each request of the mix, the invalid one and"
    " one without credentials answered on both servers before the load."
)


@dataclasses.dataclass(frozen=True, kw_only=True)
class Measured:
    """One server's numbers over the run: wrk loads by connection count, one per round."""

    label: str
    starts_ms: list[float]
    idle: Memory
    loaded: Memory
    loads: dict[int, list[Load]]

    @property
    def first_200_ms(self) -> float:
        return statistics.median(self.starts_ms)

    def rps(self, connections: int) -> float:
        return statistics.median(load.rps for load in self.loads[connections])

    def p50(self, connections: int) -> float:
        return statistics.median(load.p50 for load in self.loads[connections])

    def p99(self, connections: int) -> float:
        return statistics.median(load.p99 for load in self.loads[connections])


@dataclasses.dataclass(frozen=True, kw_only=True)
class Delayed:
    """One round of the read mix alone, then beside requests that ask for a delay."""

    alone: Load
    mix: Load
    delayed: Load


@dataclasses.dataclass(frozen=True, kw_only=True)
class Results:
    """Everything one run of the benchmark measured."""

    config: Config
    machine: list[tuple[str, str]]
    load_before: str
    load_after: str
    minutes: float
    capkit: Measured
    prism: Measured
    write: list[Load]
    replicas: Replicas
    delayed: list[Delayed]
    ceiling: Measured
    fuzz: list[Fuzz]
    checks: list[Check]


def render(results: Results) -> str:
    """RESULTS.md."""
    config = results.config
    date = dict(results.machine)["date"]
    sections = [
        "# capkit against Prism 5: `make bench`\n",
        f"Written by `make bench` (bench/run.py) on {date}, in {results.minutes:.1f} minutes."
        f" {config.rounds} round(s) of {config.seconds} s per server and connection count,"
        " alternating the two servers; each figure is the median over the rounds. wrk"
        f" ({config.threads} threads) shares the cores with the server under load, so compare"
        " within one run, as ratios. Load average (1, 5, 15 min) before the run:"
        f" {results.load_before}; after: {results.load_after}.\n",
        _verdict(results.checks),
        "## Read mix\n",
        _read_table(results),
        _read_notes(results),
        "### The goals of issue 5\n",
        _goals(results),
        "## Write mix (capkit alone)\n",
        _write(results),
        "## Delayed requests beside the read mix (capkit alone)\n",
        _delayed(results),
        "## Beyond one machine: replicas on PostgreSQL\n",
        _replicas(results),
        "## The ceiling of the machine for the mock's server\n",
        _ceiling(results),
        "## schemathesis\n",
        _fuzz(results),
        "## Checks\n",
        _checks(results.checks),
        "## Rounds\n",
        _rounds(results),
        "## Machine\n",
        "\n".join(f"- {label}: {value}" for label, value in results.machine) + "\n",
        "## Prism and the spec\n",
        PRISM_PATHS + "\n",
        "## Running it\n",
        "`make bench` installs what it needs (the venv, Prism in bench/.tools, wrk) and runs"
        " `python -m bench`. Variables: BENCH_SECONDS (seconds per wrk run,"
        f" {config.seconds} here), BENCH_ROUNDS ({config.rounds}), BENCH_WARMUP"
        f" ({config.warmup}), BENCH_STARTS (launches timed per server, {config.starts}),"
        f" BENCH_CONNECTIONS ({','.join(map(str, config.connections))}),"
        f" BENCH_WRITE_CONNECTIONS ({config.write_connections}), BENCH_THREADS"
        f" ({config.threads}), BENCH_WORKERS ({config.workers}), BENCH_INVALID_EVERY"
        f" ({config.invalid_every}), BENCH_EXAMPLES ({config.examples}), BENCH_DELAYED"
        f" ({config.delayed}), BENCH_DELAY_MS ({config.delay_ms}). A quick run:"
        " `make bench BENCH_SECONDS=3 BENCH_ROUNDS=1`.\n",
    ]
    return "\n".join(sections)


def _verdict(checks: list[Check]) -> str:
    failed = [check for check in checks if not check.passed]
    if not failed:
        return (
            f"All {len(checks)} checks passed: validation and auth were on, and every response"
            " but the invalid requests' was a 2xx.\n"
        )
    return (
        f"**{len(failed)} of {len(checks)} checks FAILED** (see Checks): these numbers do not"
        " count as they are.\n"
    )


def _read_table(results: Results) -> str:
    capkit, prism, config = results.capkit, results.prism, results.config
    counts = config.connections
    header = (
        ["server"]
        + [f"rps c{c}" for c in counts]
        + [f"{p} c{c}" for c in counts for p in ("p50", "p99")]
        + ["first 200", "RSS idle", "RSS after load"]
    )
    rows = [_read_row(capkit, counts), _read_row(prism, counts)]
    ratios = (
        [f"{capkit.rps(c) / prism.rps(c):.2f}x" for c in counts]
        + [
            f"{getattr(capkit, p)(c) / getattr(prism, p)(c):.2f}x"
            for c in counts
            for p in ("p50", "p99")
        ]
        + [
            f"{capkit.first_200_ms / prism.first_200_ms:.2f}x",
            f"{capkit.idle.total / prism.idle.total:.2f}x",
            f"{capkit.loaded.total / prism.loaded.total:.2f}x",
        ]
    )
    rows.append(["**capkit / Prism**", *ratios])
    return _table(header, rows)


def _read_row(measured: Measured, counts: tuple[int, ...]) -> list[str]:
    return (
        [measured.label]
        + [_rps(measured.rps(c)) for c in counts]
        + [_ms(getattr(measured, p)(c)) for c in counts for p in ("p50", "p99")]
        + [
            f"{measured.first_200_ms:.0f} ms",
            f"{measured.idle.total:.0f} MiB",
            f"{measured.loaded.total:.0f} MiB",
        ]
    )


def _read_notes(results: Results) -> str:
    config = results.config
    every = (
        f"; one request in {config.invalid_every} is instead an invalid lookup"
        " (`identifierName=bogus`) that must be refused with 400"
        if config.invalid_every
        else ""
    )
    return (
        "The mix (bench/mix.lua), in rotation, each with `Authorization: Basic ...`: GET"
        " `/customers/lookup?source=INSTORE&identifierName=mobile&identifierValue=919111111111`,"
        " GET `/customers/565039505/pointsExpirySchedule`, GET"
        f" `/customers/17742?source=WECHAT&accountId=22232`{every}. capkit serves them under"
        " `/v2`, Prism at the root (see Prism and the spec). capkit runs `capkit serve"
        f" --workers {config.workers}` with its other defaults (state, request and response"
        " validation, auth); Prism runs `prism mock spec/v2.json -v error`, one Node process as"
        " it ships. Ratios above 1 favour capkit for"
        " requests/s, below 1 for the others. First 200: median of"
        f" {config.starts} launch{'es' if config.starts > 1 else ''}, from the launch to the"
        " first 200. RSS: VmRSS summed over the"
        " process and its children (a page shared by two processes counts in each). By"
        f" process, idle: capkit {_processes(results.capkit.idle)}, Prism"
        f" {_processes(results.prism.idle)}; after load: capkit"
        f" {_processes(results.capkit.loaded)}, Prism {_processes(results.prism.loaded)}.\n"
    )


def _goals(results: Results) -> str:
    capkit, prism = results.capkit, results.prism
    c = results.config.connections[0]
    ratio = capkit.rps(c) / prism.rps(c)
    workers = list(capkit.loaded.processes.values())[1:] or [capkit.loaded.largest]
    worker = max(workers)
    rows = [
        [
            f"throughput at least {GOAL_RATIO:.0f}x Prism's at c{c}",
            f"{ratio:.2f}x ({_rps(capkit.rps(c))} against {_rps(prism.rps(c))} requests/s)",
            _met(ratio >= GOAL_RATIO),
        ],
        [
            f"p99 at c{c} no worse than Prism's",
            f"{_ms(capkit.p99(c))} against {_ms(prism.p99(c))}",
            _met(capkit.p99(c) <= prism.p99(c)),
        ],
        [
            "first 200 within 1 s of launch",
            f"{capkit.first_200_ms:.0f} ms",
            _met(capkit.first_200_ms <= GOAL_FIRST_200_MS),
        ],
        [
            f"at most {GOAL_WORKER_MIB:.0f} MB RSS per worker (after load)",
            f"{worker:.0f} MiB (largest worker)",
            _met(worker <= GOAL_WORKER_MIB),
        ],
    ]
    return _table(["goal", "measured", "met"], rows)


def _write(results: Results) -> str:
    loads = results.write
    connections = loads[0].connections
    registered = sum(load.counts.get("registered", 0) for load in loads)
    found = sum(load.counts.get("found", 0) for load in loads)
    row = [
        f"capkit, c{connections}",
        _rps(statistics.median(load.rps for load in loads)),
        _ms(statistics.median(load.p50 for load in loads)),
        _ms(statistics.median(load.p99 for load in loads)),
        f"{registered:,}",
        f"{found:,}",
    ]
    read = results.capkit.rps(results.config.connections[0])
    return (
        _table(["server", "rps", "p50", "p99", "registered", "looked up and found"], [row])
        + f"\n{len(loads)} run(s) of {results.config.seconds} s (bench/write.lua), medians."
        f" Each of the {connections} connections (one per wrk thread, so its requests go one"
        " after the other) registers a customer in INSTORE with a mobile never used before,"
        " then looks that mobile up: every lookup must find the customer. That is"
        f" {statistics.median(load.rps for load in loads) / read:.2f}x capkit's read mix at"
        f" c{results.config.connections[0]}.\n"
    )


def _replicas(results: Results) -> str:
    replicas, config = results.replicas, results.config
    sqlite = replicas.sqlite
    on_postgresql = {"TCP": replicas.postgresql, "socket": replicas.postgresql_socket}
    connections = config.connections[0]
    header = ["setup", f"read rps c{connections}", "p50", "p99"]
    header += [f"write rps c{config.write_connections}", "p50", "p99"]
    measures = [(mix, measure) for mix in ("read", "write") for measure in ("rps", "p50", "p99")]

    def row(setup: Setup) -> list[str]:
        return [setup.label] + [
            (_rps if measure == "rps" else _ms)(setup.median(mix, measure))
            for mix, measure in measures
        ]

    def ratio(setup: Setup, mix: str, measure: str = "rps") -> float:
        return setup.median(mix, measure) / sqlite.median(mix, measure)

    def against(mix: str, goal: float) -> list[str]:
        cells = []
        for setup in on_postgresql.values():
            measured = ratio(setup, mix)
            rounds = [
                mine.rps / theirs.rps
                for mine, theirs in zip(getattr(setup, mix), getattr(sqlite, mix), strict=True)
            ]
            spread = f"{min(rounds):.2f}x-{max(rounds):.2f}x"
            cells += [f"{measured:.2f}x", spread, _met(measured >= goal)]
        return cells

    rows = [row(sqlite)] + [row(setup) for setup in on_postgresql.values()]
    rows += [
        [f"**PostgreSQL by {way} / SQLite**"] + [f"{ratio(setup, *m):.2f}x" for m in measures]
        for way, setup in on_postgresql.items()
    ]
    goals = _table(
        ["goal", "by TCP", "round by round", "met", "by the Unix socket", "round by round", "met"],
        [
            [
                f"read mix at least {GOAL_REPLICA_READ}x SQLite's requests/s",
                *against("read", GOAL_REPLICA_READ),
            ],
            [
                "write mix at least SQLite's requests/s",
                *against("write", GOAL_REPLICA_WRITE),
            ],
        ],
    )
    return (
        _table(header, rows)
        + f"\n{config.rounds} round(s) of {config.seconds} s of each mix on each setup, the"
        " setups in turns; medians. The same scripts as above (bench/mix.lua, bench/write.lua)."
        f" SQLite: `capkit serve --workers {config.workers}`, as in the read mix above."
        " PostgreSQL: two `capkit serve --workers 1 --state postgresql://...` on two ports (two"
        " hosts, as far as the mock can tell), with their default pool (`--db-pool`), on one"
        f" {replicas.version.split(' on ')[0]} as its package ships it (fsync and"
        " synchronous_commit on; SQLite runs synchronous=FULL: both acknowledge a write once it"
        " is on disk), on the same two cores; a database of their own for each way to reach"
        " it: TCP on the loopback, as replicas on other hosts do, and the server's Unix socket,"
        " as replicas on its own host may. wrk's threads connect to the replicas in turns, as a"
        " round-robin balancer hands out connections, so each replica has half of them; the"
        " write mix's lookup goes to the replica that registered. Below, round by round: the"
        " lowest and highest ratio of one round's setups, which ran one after the other (the"
        " machine's noise).\n\n" + goals + "\n" + _costs(sqlite, *on_postgresql.values())
    )


def _costs(*setups: Setup) -> str:
    """What a request cost the mock's processes and PostgreSQL's, by setup and mix."""
    header = ["setup", "read: mock", "PostgreSQL", "total", "write: mock", "PostgreSQL", "total"]
    rows = []
    for setup in setups:
        row = [setup.label]
        for mix in ("read", "write"):
            mock, database = (setup.median_cost(mix, part) for part in ("mock", "database"))
            row += [_us(mock), _us(database) if database else "-", _us(mock + database)]
        rows.append(row)
    return (
        _table(header, rows)
        + "\nCPU a request (user and system time over each run, divided by its requests;"
        " medians over the rounds) of the mock's processes, where SQLite's work is done, and of"
        " PostgreSQL's (the postmaster and every process below it). On one host both take the"
        " same cores, so the total is what the ratios above come from; neither counts wrk's, nor"
        " the kernel's work for the network where it is charged to no process of theirs.\n"
    )


def _delayed(results: Results) -> str:
    config, rounds = results.config, results.delayed
    connections = config.connections[0]

    def median(values: list[float]) -> float:
        return statistics.median(values)

    alone = [median([r.alone.rps for r in rounds]), median([r.alone.p99 for r in rounds])]
    beside = [median([r.mix.rps for r in rounds]), median([r.mix.p99 for r in rounds])]
    held = [r.delayed for r in rounds]
    table = _table(
        ["read mix", f"rps c{connections}", f"p50 c{connections}", f"p99 c{connections}"],
        [
            ["alone", _rps(alone[0]), _ms(median([r.alone.p50 for r in rounds])), _ms(alone[1])],
            [
                f"beside {config.delayed} delayed requests",
                _rps(beside[0]),
                _ms(median([r.mix.p50 for r in rounds])),
                _ms(beside[1]),
            ],
            [
                "**beside / alone**",
                f"{beside[0] / alone[0]:.2f}x",
                "",
                f"{beside[1] / alone[1]:.2f}x",
            ],
        ],
    )
    met = beside[0] >= (1 - GOAL_DELAYED_COST) * alone[0]
    return (
        f"{table}\n{len(rounds)} round(s): the read mix at c{connections} for {config.seconds} s"
        f" alone, then again while {config.delayed} connections (bench/delayed.lua) each keep a"
        f" request in flight with `Prefer: delay={config.delay_ms}`; medians. The delayed"
        f" requests: {sum(load.requests for load in held):,} answered, p50"
        f" {_ms(median([load.p50 for load in held]))}, p99"
        f" {_ms(median([load.p99 for load in held]))} (each waits without holding a worker)."
        f" Goal of issue 13, the read mix within {GOAL_DELAYED_COST:.0%} of its throughput"
        f" alone: {_met(met)}.\n"
    )


def _ceiling(results: Results) -> str:
    ceiling, capkit = results.ceiling, results.capkit
    counts = results.config.connections
    header = ["server"] + [f"rps c{c}" for c in counts] + [f"p99 c{c}" for c in counts]
    rows = [
        [ceiling.label]
        + [_rps(ceiling.rps(c)) for c in counts]
        + [_ms(ceiling.p99(c)) for c in counts],
        ["**capkit / ceiling**"]
        + [f"{capkit.rps(c) / ceiling.rps(c):.2f}x" for c in counts]
        + [f"{capkit.p99(c) / ceiling.p99(c):.2f}x" for c in counts],
    ]
    return (
        _table(header, rows) + "\nA WSGI callable that answers every request with the same 28 bytes"
        " (bench/ceiling.py), served as mockserver/server.py serves the mock (gunicorn,"
        f" {results.config.workers} aiohttp workers on uvloop, the app called inline), loaded with"
        " the same script;"
        " one run per connection count after the rounds.\n"
    )


def _fuzz(results: Results) -> str:
    rows = [
        [fuzz.mode, f"{fuzz.cases:,}", f"{fuzz.seconds:.1f} s", f"{fuzz.rate:.0f}"]
        for fuzz in results.fuzz
    ]
    failures: dict[str, int] = defaultdict(int)
    for fuzz in results.fuzz:
        for failure, n in fuzz.failures.items():
            failures[failure] += n
    listed = "\n".join(f"- {failure} ({n})" for failure, n in sorted(failures.items()))
    found = (
        f"\nWhat the runs found, summed over both (the mock's contract failures):\n\n{listed}\n"
        if failures
        else "\nschemathesis found no failure.\n"
    )
    return (
        _table(["mode", "cases", "time", "cases/s"], rows)
        + f"\nBy contracts.fuzz (every phase of schemathesis' engine, its checks and Capillary's),"
        f" max_examples {results.config.examples} per operation and phase (the coverage phase"
        " adds cases of its own), against the mock pinned to the bench's till (`--auth`):"
        " in-process, the app object of `create_app()` in the bench's own process; over HTTP,"
        " `capkit serve` with as many workers as above.\n" + found + "\n"
    )


def _checks(checks: list[Check]) -> str:
    grouped: dict[tuple[str, str], list[Check]] = defaultdict(list)
    for check in checks:
        grouped[(check.server, check.name)].append(check)
    rows = []
    for (server, name), group in grouped.items():
        failed = [check for check in group if not check.passed]
        shown = failed[0] if failed else group[-1]
        rows.append(
            [
                server,
                name,
                f"{len(group) - len(failed)}/{len(group)}" + (" **FAILED**" if failed else ""),
                shown.expected,
                shown.actual.replace("|", "\\|").replace("\n", " "),
            ]
        )
    header = ["server", "check", "runs passed", "expected", "actual (last, or first failure)"]
    return _table(header, rows)


def _rounds(results: Results) -> str:
    runs = [
        (load.started, number, measured.label, load)
        for measured in (results.capkit, results.prism)
        for loads in measured.loads.values()
        for number, load in enumerate(loads, 1)
    ]
    rows = [
        [
            str(number),
            f"c{load.connections}",
            label,
            _rps(load.rps),
            _ms(load.p50),
            _ms(load.p99),
            f"{load.non_2xx:,}",
            f"{load.counts.get('sent_invalid', 0)}/{load.counts.get('rejected', 0)}",
            str(load.socket_errors),
        ]
        for _, number, label, load in sorted(runs, key=lambda run: run[0])
    ]
    header = ["round", "conns", "server", "rps", "p50", "p99", "non-2xx", "invalid sent/400"]
    return "Each wrk run of the read mix, in the order they ran.\n\n" + _table(
        [*header, "socket errors"], rows
    )


def _processes(memory: Memory) -> str:
    sizes = [f"{mib:.0f}" for mib in memory.processes.values()]
    if len(sizes) == 1:
        return f"one process, {sizes[0]} MiB"
    return f"main {sizes[0]} MiB, workers {', '.join(sizes[1:])} MiB"


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def _rps(value: float) -> str:
    return f"{value:,.0f}"


def _us(value: float) -> str:
    return f"{value:,.0f} us"


def _ms(value: float) -> str:
    return f"{value:.2f} ms"


def _met(met: bool) -> str:
    return "yes" if met else "**no**"
