"""The mock's settings in one object: a flag, else a CAPKIT_* variable, else the default."""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import re
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mockserver import chaos

ENV_PREFIX = "CAPKIT_"
#: RFC 6750's b64token: what an Authorization: Bearer header can carry.
_TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]+=*")
#: A host name as a Host header carries it (RFC 1123's labels; _ too, as container names have
#: it), an optional trailing dot; or *, any.
_HOST_NAME = re.compile(r"(?:[A-Za-z0-9_-]+\.)*[A-Za-z0-9_-]+\.?|\*")


class SettingsError(ValueError):
    """The setting NAME has a value the mock cannot take; the message says which and why."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(message)
        self.name = name

    def from_variable(self, variable: str) -> SettingsError:
        """This error, saying that the value came from the environment variable VARIABLE."""
        return SettingsError(self.name, f"{self} from {variable}")


def _ipv6(host: str) -> bool:
    """Whether HOST is an IPv6 address, in brackets (as a URL has it) or not."""
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    try:
        ipaddress.IPv6Address(host)
    except ValueError:
        return False
    return True


def _invalid(name: str, requirement: str, value: object) -> SettingsError:
    """`--workers must be at least 1, got 0`: the flag, what it must be, the value."""
    return SettingsError(name, f"{flag(name)} {requirement}, got {value!r}")


def flag(name: str) -> str:
    """The `capkit serve` flag of the setting NAME; its variable for the one with no flag."""
    if name == "journal":
        return ENV_PREFIX + name.upper()
    negated = {"auth_required": "--no-auth", "documented_seed": "--no-documented-seed"}
    return negated.get(name, "--" + name.replace("_", "-"))


@dataclasses.dataclass(frozen=True, kw_only=True)
class Settings:
    """How the mock behaves. Every field can also come from CAPKIT_<FIELD> (upper case)."""

    host: str = "127.0.0.1"
    port: int = 8080
    workers: int = 1
    #: Where the state is kept across restarts (mockserver/storage/backends.py reads it): the
    #: path of a SQLite file (a Path is taken too), or a postgresql:// URL that replicas share;
    #: None: a temporary file.
    state: str | None = None
    #: Connections to PostgreSQL that each worker process keeps for writing the customers: a
    #: worker writes for one request at a time, with one (reads have a connection of their own).
    db_pool: int = 1
    #: The folder of the request journal; None: a temporary one.
    journal: Path | None = None
    auth_required: bool = True
    #: "till:password" pins one till (the password checked as Capillary does, md5).
    auth: str | None = None
    #: Pins the one X-CAP-API-OAUTH-TOKEN accepted. With either pin, only pinned ones pass.
    token: str | None = None
    #: What an /__admin request that changes something must carry (Authorization: Bearer);
    #: None: any may.
    admin_token: str | None = None
    #: Names that the Host of an /__admin request may name, beside IP addresses, localhost and
    #: the --host (mockserver/host.py); "*": any. CAPKIT_ALLOWED_HOST separates them with ','.
    allowed_host: tuple[str, ...] = ()
    #: Accept query parameters the spec does not declare.
    lenient: bool = False
    max_body: int = 1024 * 1024
    #: Another OpenAPI document to serve; None: the bundled spec.
    spec: Path | None = None
    #: Seed files (JSON or YAML) whose customers join the documented ones, or take the place
    #: of those with their ids; CAPKIT_SEED separates them as PATH does (with ':').
    seed: tuple[Path, ...] = ()
    #: Start from the documented customers (and the seed files'); False: the files' alone.
    documented_seed: bool = True
    #: How long requests under /v2 wait: "300ms", "100ms-2s", or "operationId=1s" for the
    #: requests of one operation (mockserver/chaos.py); CAPKIT_LATENCY separates them with ','.
    latency: tuple[str, ...] = ()
    #: The fraction of requests under /v2 that meet a fault, of one of FAULT_KINDS.
    faults: float = 0.0
    fault_kinds: tuple[str, ...] = chaos.FAULT_KINDS
    #: How long a `timeout` fault holds the connection open.
    fault_hold: str = "30s"
    #: Which requests meet a fault, and how long they wait, the same in every run.
    chaos_seed: int | None = None
    #: "100/m": at most so many requests per s, m, h or d for each credential.
    rate_limit: str | None = None

    def __post_init__(self) -> None:
        # From Python a path may come as a str or a Path: each field keeps the type it declares.
        if isinstance(self.state, os.PathLike):
            object.__setattr__(self, "state", os.fspath(self.state))
        for name in ("journal", "spec"):
            if isinstance(getattr(self, name), str):
                object.__setattr__(self, name, Path(getattr(self, name)))
        if self.auth is not None and ":" not in self.auth:
            raise _invalid("auth", "must be till:password", self.auth)
        if self.workers < 1:
            raise _invalid("workers", "must be at least 1", self.workers)
        if self.db_pool < 1:
            raise _invalid("db_pool", "must be at least 1 (connections)", self.db_pool)
        if self.admin_token is not None and not _TOKEN.fullmatch(self.admin_token):
            raise _invalid(
                "admin_token",
                "must be letters, digits and -._~+/ (what a Bearer token may hold)",
                self.admin_token,
            )
        for name in self.allowed_host:
            if not (_HOST_NAME.fullmatch(name) or _ipv6(name)):
                raise _invalid(
                    "allowed_host",
                    "must be a host name or address, without a scheme or a port"
                    " (mock.internal, [fd00::2]), or * for any",
                    name,
                )
        if self.max_body < 1:
            raise _invalid("max_body", "must be at least 1 (bytes)", self.max_body)
        if not 0 <= self.port <= 65535:
            raise _invalid("port", "must be from 0 to 65535", self.port)
        object.__setattr__(self, "seed", tuple(Path(path) for path in self.seed))
        self.chaos()

    def chaos(self) -> chaos.Chaos:
        """What the rehearsal flags ask for. Raises SettingsError naming the flag."""
        try:
            return chaos.settings(
                latency=self.latency,
                faults=self.faults,
                fault_kinds=self.fault_kinds,
                fault_hold=self.fault_hold,
                chaos_seed=self.chaos_seed,
                rate_limit=self.rate_limit,
            )
        except chaos.ChaosError as error:
            name = _CHAOS_FIELDS[error.field]
            raise SettingsError(name, f"{flag(name)}: {error.message}") from None

    @classmethod
    def load(
        cls, overrides: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None
    ) -> Settings:
        """Settings from OVERRIDES (flags; None values ignored), else ENVIRON, else defaults.

        Raises SettingsError naming the flag, and the variable when the value came from one.
        """
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        variables: dict[str, str] = {}
        try:
            for field in dataclasses.fields(cls):
                variable = ENV_PREFIX + field.name.upper()
                # A repeatable flag given no time is an empty tuple: not given.
                if overrides is not None and overrides.get(field.name) not in (None, ()):
                    values[field.name] = overrides[field.name]
                elif variable in environ:
                    variables[field.name] = variable
                    values[field.name] = _parse(field.name, environ[variable])
            return cls(**values)
        except SettingsError as error:
            if error.name in variables:
                raise error.from_variable(variables[error.name]) from None
            raise

    def environ(self) -> dict[str, str]:
        """These settings as CAPKIT_* variables, for worker processes to load() again."""
        variables = {}
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if value is not None:
                variables[ENV_PREFIX + field.name.upper()] = _text(value)
        return variables


def _text(value: object) -> str:
    """VALUE as a CAPKIT_* variable holds it, which _parse reads back."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, tuple):
        return (os.pathsep if value and isinstance(value[0], Path) else ",").join(map(str, value))
    return str(value)


def _parse(name: str, text: str) -> Any:
    """TEXT, the value of the setting NAME in a CAPKIT_* variable, as the type NAME declares."""
    kind = _TYPES[name]
    if kind == tuple[Path, ...]:
        return tuple(Path(part) for part in text.split(os.pathsep) if part)
    if kind == tuple[str, ...]:
        return tuple(part.strip() for part in text.split(",") if part.strip())
    if kind is float:
        try:
            return float(text)
        except ValueError:
            raise _invalid(name, "must be a number", text) from None
    if kind is bool:
        lowered = text.strip().lower()
        if lowered in ("1", "true", "yes", "on"):
            return True
        if lowered in ("0", "false", "no", "off"):
            return False
        raise _invalid(name, "must be true or false", text)
    if kind is int or int in typing.get_args(kind):
        try:
            return int(text)
        except ValueError:
            raise _invalid(name, "must be an integer", text) from None
    if Path in typing.get_args(kind):
        return Path(text) if text else None
    return text or None


#: The setting of each field of /__admin/chaos's JSON (mockserver/chaos.py names them so).
_CHAOS_FIELDS = {
    "latency": "latency",
    "faults": "faults",
    "faultKinds": "fault_kinds",
    "faultHold": "fault_hold",
    "chaosSeed": "chaos_seed",
    "rateLimit": "rate_limit",
}

#: Each setting's type, as the class declares it.
_TYPES = typing.get_type_hints(Settings)
