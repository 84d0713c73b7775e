"""What the benchmark ran on: the machine, the runtimes and the versions under test."""

from __future__ import annotations

import os
import platform
import subprocess
from datetime import UTC, datetime
from importlib import metadata

from bench import wrk
from bench.config import PRISM

PACKAGES = (
    "capkit",
    "gunicorn",
    "aiohttp",
    "uvloop",
    "flask",
    "werkzeug",
    "schemathesis",
    "hypothesis",
)


def describe() -> list[tuple[str, str]]:
    """Labelled facts about this machine and the software measured, in report order."""
    return [
        ("date", datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")),
        ("CPU", f"{cpu_model()}, {os.cpu_count()} cores"),
        ("memory", f"{memory_gib():.0f} GiB"),
        ("kernel", f"{platform.system()} {platform.release()}"),
        ("Python", platform.python_version()),
        ("packages", ", ".join(f"{name} {_version(name)}" for name in PACKAGES)),
        ("Node.js", _output(["node", "--version"])),
        ("Prism", prism_version()),
        ("wrk", wrk.version()),
    ]


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo."""
    with open("/proc/cpuinfo") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


def memory_gib() -> float:
    """Total memory from /proc/meminfo, GiB."""
    with open("/proc/meminfo") as meminfo:
        for line in meminfo:
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 1024 / 1024
    return 0.0


def prism_version() -> str:
    """The version Prism prints of itself, e.g. "5.14.2"."""
    return _output([str(PRISM), "--version"])


def load_average() -> str:
    """The 1, 5 and 15 minute load averages: how busy the machine was around the run."""
    return " ".join(f"{load:.2f}" for load in os.getloadavg())


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def _output(command: list[str]) -> str:
    try:
        done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"unavailable ({error})"
    return done.stdout.strip() or done.stderr.strip()
