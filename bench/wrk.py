"""Running wrk with one of the bench's Lua scripts, and reading what it prints."""

from __future__ import annotations

import dataclasses
import os
import re
import subprocess
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
MIX = HERE / "mix.lua"
WRITE = HERE / "write.lua"
DELAYED = HERE / "delayed.lua"

_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}


class WrkFailed(RuntimeError):
    """wrk exited with an error, or printed something this module cannot read."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class Load:
    """What one wrk run measured. Latencies in milliseconds."""

    connections: int
    #: When the run began (seconds since the epoch), to list runs in the order they ran.
    started: float
    requests: int
    rps: float
    p50: float
    p99: float
    #: wrk's "Non-2xx or 3xx responses" (0 when it prints no such line).
    non_2xx: int
    #: connect, read, write and timeout errors, summed.
    socket_errors: int
    #: The counts the Lua script's done() printed, by name.
    counts: dict[str, int]


def run(
    url: str,
    script: Path,
    arguments: list[str],
    *,
    connections: int,
    threads: int,
    seconds: int,
    replicas: list[int] | None = None,
) -> Load:
    """Load URL for SECONDS with SCRIPT (or REPLICAS, as start() does); raise WrkFailed with
    wrk's output if it fails."""
    return finish(
        start(
            url,
            script,
            arguments,
            connections=connections,
            threads=threads,
            seconds=seconds,
            replicas=replicas,
        )
    )


@dataclasses.dataclass(frozen=True)
class Running:
    """A wrk run under way, in the background."""

    process: subprocess.Popen[str]
    command: list[str]
    connections: int
    started: float


def start(
    url: str,
    script: Path,
    arguments: list[str],
    *,
    connections: int,
    threads: int,
    seconds: int,
    replicas: list[int] | None = None,
) -> Running:
    """Start loading URL for SECONDS with SCRIPT, or the loopback ports of REPLICAS in turns,
    a wrk thread's connections to each (URL then gives the request's Host header), in the
    background; finish() waits for it."""
    command = [
        "wrk",
        f"-t{min(threads, connections)}",
        f"-c{connections}",
        f"-d{seconds}s",
        "--latency",
        "-s",
        str(script),
        url,
        "--",
        *arguments,
    ]
    spread = {"BENCH_REPLICAS": " ".join(f"127.0.0.1:{port}" for port in replicas or [])}
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ | spread,
    )
    return Running(process, command, connections, time.time())


def finish(running: Running) -> Load:
    """What RUNNING measured, once it ends; raise WrkFailed with wrk's output if it fails."""
    output, errors = running.process.communicate()
    if running.process.returncode != 0:
        raise WrkFailed(
            f"{' '.join(running.command)} exited {running.process.returncode}: {errors.strip()}"
        )
    return parse(output, connections=running.connections, started=running.started)


def parse(output: str, *, connections: int, started: float = 0.0) -> Load:
    """The measures in wrk's OUTPUT (run with --latency); raise WrkFailed if one is missing."""
    errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    counts = re.search(r"^bench-\w+ (.*)$", output, re.MULTILINE)
    return Load(
        connections=connections,
        started=started,
        requests=int(_find(r"(\d+) requests in", output)),
        rps=float(_find(r"Requests/sec:\s+([\d.]+)", output)),
        p50=_milliseconds(_find(r"^\s+50%\s+(\S+)", output)),
        p99=_milliseconds(_find(r"^\s+99%\s+(\S+)", output)),
        non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
        socket_errors=sum(int(n) for n in errors.groups()) if errors else 0,
        counts=(
            {k: int(v) for k, v in (pair.split("=") for pair in counts.group(1).split())}
            if counts
            else {}
        ),
    )


def _find(pattern: str, output: str) -> str:
    found = re.search(pattern, output, re.MULTILINE)
    if found is None:
        raise WrkFailed(f"no match for {pattern!r} in wrk's output:\n{output}")
    return found.group(1)


def _milliseconds(text: str) -> float:
    """wrk's "1.23ms", "870.00us", "1.02s" in milliseconds."""
    found = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text)
    if found is None:
        raise WrkFailed(f"latency {text!r} is not a number with a unit (us, ms, s, m, h)")
    return float(found.group(1)) * _UNITS[found.group(2)]


def version() -> str:
    """wrk's own version line, e.g. "wrk debian/4.1.0-3+b2 [epoll]"."""
    done = subprocess.run(["wrk", "-v"], capture_output=True, text=True, check=False)
    first = (done.stdout or done.stderr).splitlines()
    return first[0].split(" Copyright")[0].strip() if first else "wrk (unknown version)"
