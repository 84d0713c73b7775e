"""The traffic of a run as HAR 1.2, each entry marked with what the fuzzer meant by it.

schemathesis' HAR writer makes the entries; each one then gets the custom field (HAR's custom
fields start with `_`)

    "_capkit": {"operationId": "registerCustomer", "phase": "coverage", "sentAs": "invalid",
                "invalid": "Value above maximum (body)"}

and its credentials shown as capkit shows them (contracts.intent). `capkit verify` reads the
mark: it judges every response, and as an app's request only what was sent as valid.
"""

from __future__ import annotations

import json
from importlib.metadata import version
from pathlib import Path
from typing import IO, Any

from schemathesis.cli.commands.run.handlers.base import (
    RecordedScenarioHandler,
    write_until_finished,
)
from schemathesis.cli.context import BaseExecutionContext
from schemathesis.config import OutputConfig
from schemathesis.engine.recorder import RecordedScenario
from schemathesis.reporting.har import HarWriter

from contracts.intent import intent_of, shown_headers
from contracts.verify import MARK
from spec import credentials

__all__ = ["MarkedHarHandler"]


class MarkedHarHandler(RecordedScenarioHandler):
    """Writes every exchange of a run to OUTPUT as marked HAR; AUTHENTICATED: the run sends
    credentials (a request without them is then ignored_auth's probe)."""

    def __init__(self, output: Path, config: OutputConfig, *, authenticated: bool) -> None:
        super().__init__(output=output, config=config)
        self.authenticated = authenticated

    def start(self, ctx: BaseExecutionContext) -> None:
        assert isinstance(self.output, Path)
        writer = _MarkedHarWriter(self.output, self.config, authenticated=self.authenticated)
        self._start_writer(
            "CapkitHarWriter",
            write_until_finished,
            writer=writer,
            open=writer.open,
            write=writer.write,
        )


class _Entries:
    """Stands in for harfile's writer: keeps the entries schemathesis' HarWriter adds."""

    def __init__(self) -> None:
        self.added: list[dict[str, Any]] = []

    def add_entry(self, **fields: Any) -> None:
        self.added.append(
            {
                name: value.asdict() if hasattr(value, "asdict") else value
                for name, value in fields.items()
                if value is not None
            }
        )


class _MarkedHarWriter(HarWriter):
    def __init__(self, output: Path, config: OutputConfig, *, authenticated: bool) -> None:
        super().__init__(output=output, config=config)
        self.path = output
        self.authenticated = authenticated
        self.file: IO[str] | None = None
        self.written = 0

    def open(self, seed: int | None = None) -> None:
        self.file = self.path.open("w")
        creator = json.dumps({"name": "capkit fuzz", "version": version("capkit")})
        self.file.write(f'{{"log": {{"version": "1.2", "creator": {creator}, "entries": [')

    def write(self, recorder: RecordedScenario) -> None:
        entries = _Entries()
        # HarWriter adds one entry per interaction, in order, to its `_har`.
        self._har = entries  # type: ignore[assignment]
        super().write(recorder)
        assert self.file is not None
        for (case_id, interaction), entry in zip(
            recorder.interactions.items(), entries.added, strict=True
        ):
            case = recorder.cases[case_id].value
            sent = {name: values[0] for name, values in interaction.request.headers.items()}
            shown = shown_headers(sent)
            for header in entry["request"]["headers"]:
                if header["name"].lower() in credentials.HEADERS:
                    header["value"] = shown[header["name"]]
            # HAR 1.2 requires it; schemathesis' writer leaves it out, and validators refuse it.
            entry.setdefault("cache", {})
            meta = case.meta
            entry[MARK] = {
                "operationId": case.operation.definition.raw.get("operationId"),
                "phase": meta.phase.name.value if meta is not None else None,
                **intent_of(case, sent, authenticated=self.authenticated).mark(),
            }
            self.file.write(("\n" if not self.written else ",\n") + json.dumps(entry))
            self.written += 1

    def close(self) -> None:
        if self.file is not None:
            self.file.write("\n]}}\n")
            self.file.close()
            self.file = None
