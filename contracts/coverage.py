"""How much of the contract a run reached: per operation, the statuses the spec declares and
those that came back, and the error codes it documents and those that came back.

A documented error code is an `errors[].code` of an operation's error response (its `errNNNN`
examples, or the enum of its schema: contracts.documented), other than the status itself:
Capillary's generic 400 (err400) and the 401 are counted as statuses, so the codes are those
that tell one business error from another (8015, 8011, ...). A code is reached when an answer
of the operation with that status carries it.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator, Mapping
from typing import Any

import spec
from contracts.documented import codes_in, error_codes

__all__ = ["Coverage", "CoverageCounter", "OperationCoverage", "operations_of"]

NOT_FOUND = 404


@dataclasses.dataclass(frozen=True)
class OperationCoverage:
    #: "GET /customers/lookup", as schemathesis labels an operation.
    label: str
    operation_id: str | None
    #: Answers of this operation the run saw.
    answers: int
    declared_statuses: tuple[int, ...]
    received_statuses: tuple[int, ...]
    #: (status, code): the error codes documented, and those of them the run's answers carried.
    documented_codes: tuple[tuple[int, int], ...]
    reached_codes: tuple[tuple[int, int], ...]
    #: (status, code) pairs that came back but are not documented (a contract failure too).
    undocumented_codes: tuple[tuple[int, int], ...]

    @property
    def undeclared_statuses(self) -> tuple[int, ...]:
        return tuple(s for s in self.received_statuses if s not in self.declared_statuses)

    @property
    def reached(self) -> bool:
        """The target answered the operation as one it serves: a 404 the spec does not declare
        says it serves no such path (the URL is not where it serves the API)."""
        return any(
            status != NOT_FOUND or status in self.declared_statuses
            for status in self.received_statuses
        )


@dataclasses.dataclass(frozen=True)
class Coverage:
    """The coverage of every operation of the spec, in the spec's order."""

    operations: tuple[OperationCoverage, ...] = ()

    @property
    def reached_operations(self) -> int:
        return sum(1 for operation in self.operations if operation.reached)

    @property
    def documented_codes(self) -> int:
        return sum(len(operation.documented_codes) for operation in self.operations)

    @property
    def reached_codes(self) -> int:
        return sum(len(operation.reached_codes) for operation in self.operations)

    @property
    def statuses(self) -> tuple[int, ...]:
        """Every status declared or received, in order: the columns of a matrix."""
        return tuple(
            sorted(
                {s for operation in self.operations for s in operation.declared_statuses}
                | {s for operation in self.operations for s in operation.received_statuses}
            )
        )

    def line(self) -> str:
        """`coverage: 16/16 operations, 23/61 documented error codes`."""
        return (
            f"coverage: {self.reached_operations}/{len(self.operations)} operations,"
            f" {self.reached_codes}/{self.documented_codes} documented error codes"
        )


def operations_of(document: Mapping[str, Any]) -> Iterator[tuple[str, str | None, Any]]:
    """(label, operationId, operation) for every operation of DOCUMENT, in its order."""
    for path, method, operation in spec.operations(document):
        if isinstance(operation, Mapping):
            yield f"{method.upper()} {path}", operation.get("operationId"), operation


class CoverageCounter:
    """Counts the answers of a run, by operation label, against what DOCUMENT declares."""

    def __init__(self, document: Mapping[str, Any]) -> None:
        self._operations: dict[str, tuple[str | None, tuple[int, ...], frozenset[Any]]] = {}
        for label, operation_id, operation in operations_of(document):
            declared = tuple(
                sorted(int(s) for s in operation.get("responses", {}) if str(s).isdigit())
            )
            documented = frozenset(
                (status, code)
                for status in declared
                if status >= 400
                for code in error_codes(document, operation, status)
                if code != status
            )
            self._operations[label] = (operation_id, declared, documented)
        self._answers: dict[str, int] = dict.fromkeys(self._operations, 0)
        self._statuses: dict[str, set[int]] = {label: set() for label in self._operations}
        self._codes: dict[str, set[tuple[int, int]]] = {label: set() for label in self._operations}

    def add(self, label: str, status: int, body: str | bytes) -> None:
        """An answer STATUS with BODY to the operation LABEL; one of no operation is ignored."""
        if label not in self._operations:
            return
        self._answers[label] += 1
        self._statuses[label].add(status)
        if status >= 400:
            self._codes[label].update((status, code) for code in _codes_in(body))

    def coverage(self) -> Coverage:
        return Coverage(
            tuple(
                OperationCoverage(
                    label=label,
                    operation_id=operation_id,
                    answers=self._answers[label],
                    declared_statuses=declared,
                    received_statuses=tuple(sorted(self._statuses[label])),
                    documented_codes=tuple(sorted(documented)),
                    reached_codes=tuple(sorted(self._codes[label] & documented)),
                    undocumented_codes=tuple(
                        sorted(
                            (status, code)
                            for status, code in self._codes[label] - documented
                            if code != status
                        )
                    ),
                )
                for label, (operation_id, declared, documented) in self._operations.items()
            )
        )


def _codes_in(body: str | bytes) -> Iterator[int]:
    try:
        parsed = json.loads(body)
    except ValueError:
        return iter(())
    return codes_in(parsed)
