"""A PostgreSQL server of the caller's own, in a temporary folder, on a free loopback port.

It is the server of the machine's PostgreSQL package (the one whose binaries `pg_config
--bindir` names; on Debian, `apt-get install postgresql`), or the one whose binaries are in the
folder BINARIES names (another version's). PostgreSQL refuses to run as root:
as root, the server runs as the package's `postgres` user. The tests start one for the whole
session (tests/mockserver/conftest.py), and so does `make bench`.
"""

from __future__ import annotations

import dataclasses
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from tests.ports import free_port
from tests.processes import descendants

#: Set (to anything but "" or 0) where the PostgreSQL tests must run: a missing server is then
#: a failure, not a skip. .ci/run sets it.
REQUIRED = "CAPKIT_REQUIRE_POSTGRESQL"
#: The folder of another server's initdb and pg_ctl, where set.
BINARIES = "CAPKIT_POSTGRESQL_BINDIR"
USER = "capkit"
#: Settings of a server whose data may be lost: it is thrown away when the session ends.
DISPOSABLE = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}


class ServerMissing(RuntimeError):
    """This machine has no PostgreSQL server to start; the message says how to install one."""


def required() -> bool:
    return os.environ.get(REQUIRED, "") not in ("", "0")


def binaries() -> Path:
    """The folder of initdb and pg_ctl. Raises ServerMissing."""
    install = "install PostgreSQL's server (apt-get install postgresql)"
    if os.environ.get(BINARIES):
        found = Path(os.environ[BINARIES])
        install = f"set {BINARIES} to the folder of a server's binaries"
    else:
        pg_config = shutil.which("pg_config")
        if pg_config is None:
            raise ServerMissing(f"pg_config is not on PATH: {install}")
        found = Path(
            subprocess.run(
                [pg_config, "--bindir"], capture_output=True, text=True, check=True
            ).stdout.strip()
        )
    for program in ("initdb", "pg_ctl"):
        if not (found / program).is_file():
            raise ServerMissing(f"{found} has no {program}: {install}")
    return found


@dataclasses.dataclass(frozen=True)
class Server:
    """A PostgreSQL server whose data is in FOLDER, listening on 127.0.0.1:PORT and on a
    socket in FOLDER; the superuser USER has PASSWORD."""

    folder: Path
    port: int
    password: str
    bin: Path

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{USER}:{self.password}@127.0.0.1:{self.port}/{database}"

    def socket_url(self, url: str) -> str:
        """URL, connecting by the server's Unix socket instead of TCP."""
        local = url.replace(f"@127.0.0.1:{self.port}/", "@/")
        return f"{local}?host={self.folder}&port={self.port}"

    def create_database(self, name: str, encoding: str | None = None) -> str:
        """A new, empty database NAME, in ENCODING (by default, the server's); its URL."""
        statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        if encoding is not None:  # template0 and the C locale go with any encoding
            statement += sql.SQL(
                " ENCODING {} LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0"
            ).format(sql.Literal(encoding))
        with psycopg.connect(self.url(), autocommit=True) as connection:
            connection.execute(statement)
        return self.url(name)

    def version(self) -> str:
        """What the server says of itself: "PostgreSQL 15.18 (Debian 15.18-0+deb12u1) on ..."."""
        with psycopg.connect(self.url()) as connection:
            row = connection.execute("SELECT version()").fetchone()
        return str(row[0]) if row else "PostgreSQL (unknown version)"

    def start(self) -> None:
        self._pg_ctl("start", "--wait", "--log", str(self.folder / "server.log"))

    def stop(self) -> None:
        """Stop it as an administrator does: sessions are ended, the data kept."""
        self._pg_ctl("stop", "--wait", "--mode", "fast")

    def postmaster(self) -> int:
        """The process id of the server's first process, the others' parent."""
        return int((self.folder / "data" / "postmaster.pid").read_text().split()[0])

    @contextmanager
    def paused(self) -> Iterator[None]:
        """The server's processes stopped for the block (SIGSTOP), as `docker pause` leaves a
        database: its host still takes connections and data for it, and nothing answers."""
        postmaster = self.postmaster()
        processes = [postmaster, *descendants(postmaster)]
        try:
            for process in processes:
                with suppress(ProcessLookupError):  # ended meanwhile
                    os.kill(process, signal.SIGSTOP)
            yield
        finally:
            for process in processes:
                with suppress(ProcessLookupError):
                    os.kill(process, signal.SIGCONT)

    def _pg_ctl(self, *arguments: str) -> None:
        _run(self.bin / "pg_ctl", "--pgdata", str(self.folder / "data"), *arguments)


@contextmanager
def running(settings: dict[str, str] | None = None, *, tls: bool = False) -> Iterator[Server]:
    """A server started with SETTINGS (postgresql.conf's), stopped and deleted on the way out;
    with TLS, it takes TLS connections too (a certificate of its own, made by openssl, as
    managed databases have). Raises ServerMissing."""
    bin = binaries()
    folder = Path(tempfile.mkdtemp(prefix="capkit-postgresql-"))
    try:
        os.chown(folder, *_owner())
        server = Server(folder, free_port(), secrets.token_hex(8), bin)
        (folder / "password").write_text(server.password)
        os.chown(folder / "password", *_owner())
        _run(
            bin / "initdb",
            *("--pgdata", str(folder / "data"), "--username", USER),
            *("--pwfile", str(folder / "password"), "--auth-local", "trust"),
            *("--auth-host", "scram-sha-256", "--encoding", "UTF8", "--locale", "C.UTF-8"),
            "--no-sync",
        )
        conf = {
            "port": str(server.port),
            "listen_addresses": "'127.0.0.1'",
            "unix_socket_directories": f"'{folder}'",
            "max_connections": "200",
            **(_certificate(folder) if tls else {}),
            **(settings or {}),
        }
        with (folder / "data" / "postgresql.conf").open("a") as file:
            file.writelines(f"{name} = {value}\n" for name, value in conf.items())
        server.start()
        try:
            yield server
        finally:
            server._pg_ctl("stop", "--wait", "--mode", "immediate")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _certificate(folder: Path) -> dict[str, str]:
    """A self-signed certificate and its key in FOLDER, the server's; the settings that use
    them. Raises ServerMissing without openssl (which Debian's postgresql package brings)."""
    openssl = shutil.which("openssl")
    if openssl is None:
        raise ServerMissing("openssl is not on PATH: apt-get install openssl")
    certificate, key = folder / "server.crt", folder / "server.key"
    written = ("-keyout", str(key), "-out", str(certificate), "-subj", "/CN=127.0.0.1")
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", *written],
        capture_output=True,
        check=True,
    )
    for path in (certificate, key):
        os.chown(path, *_owner())
        path.chmod(0o600)  # the server refuses a key that others may read
    return {"ssl": "on", "ssl_cert_file": f"'{certificate}'", "ssl_key_file": f"'{key}'"}


def _owner() -> tuple[int, int]:
    """Who runs the server: this user, or the `postgres` user for root (whom it refuses)."""
    if os.geteuid() != 0:
        return os.geteuid(), os.getegid()
    try:
        account = pwd.getpwnam("postgres")
    except KeyError:
        raise ServerMissing(
            "PostgreSQL does not run as root, and this machine has no postgres user to run it"
        ) from None
    return account.pw_uid, account.pw_gid


def _run(*command: str | Path) -> None:
    uid, gid = _owner()
    options: dict[str, Any] = {}
    if uid != os.geteuid():
        options = {"user": uid, "group": gid, "extra_groups": []}
    result = subprocess.run(
        command, capture_output=True, text=True, cwd="/", **options, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, command))} failed: {result.stderr}")
