"""The mock's settings in one object: a flag, else a CAPKIT_* variable, else the default."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

ENV_PREFIX = "CAPKIT_"


class SettingsError(ValueError):
    """A setting has a value it cannot take."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class Settings:
    """How the mock behaves. Every field can also come from CAPKIT_<FIELD> (upper case)."""

    host: str = "127.0.0.1"
    port: int = 8080
    workers: int = 1
    #: Where the state is kept across restarts (mockserver/storage/backends.py reads it): the
    #: path of a SQLite file; None: a temporary one.
    state: str | None = None
    #: The folder of the request journal; None: a temporary one.
    journal: Path | None = None
    auth_required: bool = True
    #: "till:password" pins one till (the password checked as Capillary does, md5).
    auth: str | None = None
    #: Pins the one X-CAP-API-OAUTH-TOKEN accepted. With either pin, only pinned ones pass.
    token: str | None = None
    #: Accept query parameters the spec does not declare.
    lenient: bool = False
    max_body: int = 1024 * 1024
    #: Another OpenAPI document to serve; None: the bundled spec.
    spec: Path | None = None

    def __post_init__(self) -> None:
        if self.auth is not None and ":" not in self.auth:
            raise SettingsError(f"auth has value {self.auth!r}; expected 'till:password'")
        if self.workers < 1:
            raise SettingsError(f"workers has value {self.workers}; expected at least 1")
        if self.max_body < 1:
            raise SettingsError(f"max_body has value {self.max_body}; expected at least 1 byte")
        if not 0 <= self.port <= 65535:
            raise SettingsError(f"port has value {self.port}; expected 0 to 65535")

    @classmethod
    def load(
        cls, overrides: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None
    ) -> Settings:
        """Settings from OVERRIDES (flags; None values ignored), else ENVIRON, else defaults.

        Raises SettingsError naming the variable when an environment value does not parse.
        """
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for field in dataclasses.fields(cls):
            variable = ENV_PREFIX + field.name.upper()
            if overrides is not None and overrides.get(field.name) is not None:
                values[field.name] = overrides[field.name]
            elif variable in environ:
                values[field.name] = _parse(variable, environ[variable], field.type)
        return cls(**values)

    def environ(self) -> dict[str, str]:
        """These settings as CAPKIT_* variables, for worker processes to load() again."""
        variables = {}
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if value is not None:
                variables[ENV_PREFIX + field.name.upper()] = (
                    str(value).lower() if isinstance(value, bool) else str(value)
                )
        return variables


def _parse(variable: str, text: str, annotation: Any) -> Any:
    kind = str(annotation)
    if kind.startswith("bool"):
        lowered = text.strip().lower()
        if lowered in ("1", "true", "yes", "on"):
            return True
        if lowered in ("0", "false", "no", "off"):
            return False
        raise SettingsError(f"{variable} has value {text!r}; expected true or false")
    if kind.startswith("int"):
        try:
            return int(text)
        except ValueError:
            raise SettingsError(f"{variable} has value {text!r}; expected an integer") from None
    if kind.startswith("Path"):
        return Path(text) if text else None
    return text or None
