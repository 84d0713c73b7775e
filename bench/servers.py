"""Launching the servers under test, timing their first 200, reading their memory, stopping them."""

from __future__ import annotations

import dataclasses
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from bench import probes
from bench.config import PRISM, ROOT, SPEC
from tests.processes import descendants


class LaunchFailed(RuntimeError):
    """A server exited, or did not answer 200, before its time ran out."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class Server:
    """A server under test: its command line on a port, and where it serves the spec's paths."""

    name: str
    argv: tuple[str, ...]
    #: The path before the spec's paths: "/v2" (the spec's server), or "" for Prism.
    prefix: str
    #: How many processes it runs once up: gunicorn's main process and its workers.
    processes: int = 1

    def command(self, port: int) -> list[str]:
        """The command line, {port} replaced by PORT."""
        return [part.replace("{port}", str(port)) for part in self.argv]


def capkit(
    workers: int, *, auth: str | None = None, state: str | None = None, name: str = "capkit"
) -> Server:
    """`capkit serve` with its defaults (state, validation and auth on), WORKERS processes,
    only the till of AUTH ("till:password") and the --state STATE if given; no request log,
    as Prism logs errors only."""
    executable = Path(sys.executable).with_name("capkit")
    pinned = ("--auth", auth) if auth is not None else ()
    kept = ("--state", state) if state is not None else ()
    argv = (
        str(executable),
        *("serve", "--port", "{port}", "--workers", str(workers), "--quiet", *pinned, *kept),
    )
    return Server(name=name, argv=argv, prefix="/v2", processes=1 + workers)


def prism() -> Server:
    """Stoplight Prism's mock of the same spec file, logging errors only."""
    argv = (str(PRISM), "mock", str(SPEC), "-v", "error", "-h", "127.0.0.1", "-p", "{port}")
    return Server(name="Prism", argv=argv, prefix="")


def ceiling(workers: int) -> Server:
    """The fixed-bytes WSGI callable of bench/ceiling.py, served as capkit is."""
    argv = (sys.executable, "-m", "bench.ceiling", "--port", "{port}", "--workers", str(workers))
    return Server(name="WSGI ceiling", argv=argv, prefix="", processes=1 + workers)


@dataclasses.dataclass(frozen=True, kw_only=True)
class Running:
    """A launched server."""

    server: Server
    process: subprocess.Popen[bytes]
    port: int
    #: Milliseconds from the launch to the first 200.
    first_200_ms: float
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def launch(server: Server, *, logs: Path, timeout: float = 60.0) -> Running:
    """Start SERVER on a free loopback port and wait for its first 200.

    Raises LaunchFailed, with the end of its log, if it exits or does not answer in TIMEOUT s.
    """
    port = free_port()
    logs.mkdir(parents=True, exist_ok=True)
    log = logs / f"{server.name.replace(' ', '-').lower()}-{port}.log"
    # The defaults must hold: no CAPKIT_* variable of the caller's reaches the server.
    environ = {k: v for k, v in os.environ.items() if not k.startswith("CAPKIT_")}
    with log.open("wb") as output:
        started = time.perf_counter()
        process = subprocess.Popen(
            server.command(port),
            cwd=ROOT,
            env=environ,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            # A process group of its own (killpg stops its workers too), in this session: a
            # session of its own would be an autogroup of the scheduler, which splits the cores
            # between the server and wrk by group rather than by thread (with it, capkit's p99
            # at c10 was 7-17 ms; without, 4 ms).
            process_group=0,
        )
    running = Running(server=server, process=process, port=port, first_200_ms=0.0, log=log)
    while time.perf_counter() - started < timeout:
        if process.poll() is not None:
            raise LaunchFailed(f"{server.name} exited {process.returncode}: {_tail(log)}")
        try:
            status, _ = probes.get(port, server.prefix + probes.EXPIRY, timeout=1.0)
        except OSError:
            status = 0
        if status == 200:
            elapsed = (time.perf_counter() - started) * 1000
            return dataclasses.replace(running, first_200_ms=elapsed)
        time.sleep(0.005)
    stop(running)
    raise LaunchFailed(f"{server.name} gave no 200 within {timeout:.0f} s: {_tail(log)}")


def stop(running: Running) -> None:
    """Interrupt the server as Ctrl-C does; kill its process group if it lingers."""
    if running.process.poll() is None:
        running.process.send_signal(signal.SIGINT)
        try:
            running.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            pass
    try:
        # The server's own process group: its workers, if any outlived it, and nothing else.
        os.killpg(running.process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    running.process.wait()


def free_port() -> int:
    """A loopback TCP port that nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclasses.dataclass(frozen=True)
class Memory:
    """Resident memory (VmRSS) of a process and its descendants, MiB by pid, root first."""

    processes: dict[int, float]

    @property
    def total(self) -> float:
        return sum(self.processes.values())

    @property
    def largest(self) -> float:
        return max(self.processes.values(), default=0.0)


def memory(root: int) -> Memory:
    """The resident memory of ROOT and of every process below it, read from /proc."""
    return Memory({pid: _rss_mib(pid) for pid in [root, *descendants(root)]})


def cpu_seconds(*roots: int) -> float:
    """The CPU time (user and system) that ROOTS and every process below them have used, read
    from /proc. A process that ended counts in its parent's once the parent has reaped it (as
    PostgreSQL's postmaster reaps an autovacuum worker), and no more in between."""
    ticks = 0
    for pid in [pid for root in roots for pid in (root, *descendants(root))]:
        try:
            # "pid (comm) state ...": utime, stime, and those of the children the process
            # reaped, cutime and cstime, are the 14th to 17th fields.
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += sum(int(field) for field in fields[11:15])
    return ticks / os.sysconf("SC_CLK_TCK")


def _rss_mib(pid: int) -> float:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _tail(log: Path, lines: int = 20) -> str:
    text = log.read_text(errors="replace").splitlines()[-lines:]
    return "\n".join(text) if text else f"(nothing in {log})"
