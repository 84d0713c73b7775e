"""Refusals of the domain: the code an operation documents, and what the message names."""

from __future__ import annotations


class DomainError(Exception):
    """A request the documents' rules refuse.

    `code` is the Capillary code the operation documents; `subject` fills the X of a
    documented message ("... merged with user id X"); `detail` says which value broke
    which rule, for the message to end with.
    """

    def __init__(self, code: int, *, subject: object = None, detail: str | None = None) -> None:
        super().__init__(f"{code}: {detail}" if detail else str(code))
        self.code = code
        self.subject = subject
        self.detail = detail


class CustomerNotFound(DomainError, LookupError):
    """No (live) customer answers to the id or identifier given."""


class IdentifierConflict(DomainError, ValueError):
    """An identifier is held where the rules allow only one holder."""


class InvalidValue(DomainError, ValueError):
    """A value breaks a rule of the documents that the spec's schema cannot express."""


class NotAllowed(DomainError, PermissionError):
    """The customer's state forbids the change (loyalty to non_loyalty, merged customer)."""
