"""What the mock keeps about customers and the org, as frozen records.

Details the documents show verbatim (points summaries, schedules, retro requests, ...)
stay in Capillary's own shape (camelCase dicts), so they are served as documented.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

Blob = dict[str, Any]

#: A mobile number as the mock takes it: 8 to 15 digits with an optional leading +, matched
#: whole (fullmatch: `$` would also match before a final newline).
MOBILE = re.compile(r"\+?[0-9]{8,15}")
#: The types of identifier that have spellings besides their canonical form.
RESPELT_TYPES = ("email", "mobile")


@dataclasses.dataclass(frozen=True)
class Identifier:
    type: str
    value: str

    def canonical(self) -> Identifier:
        """This identifier in the one form the mock stores, compares, looks up and removes it
        by: a mobile without its leading + (the documents write a mobile as its digits, the
        country code first), an email lower-cased (the documents say nothing of case, and
        mail providers take an address in any case); any other type as it is."""
        if self.type == "mobile" and self.value.startswith("+") and MOBILE.fullmatch(self.value):
            return Identifier(self.type, self.value[1:])
        if self.type == "email" and self.value != (lowered := self.value.lower()):
            return Identifier(self.type, lowered)
        return self


@dataclasses.dataclass(frozen=True)
class Profile:
    """A customer in one source, and one account of it ("" for single-account sources)."""

    source: str
    account_id: str = ""
    first_name: str | None = None
    last_name: str | None = None
    fields: Blob = dataclasses.field(default_factory=dict)
    identifiers: tuple[Identifier, ...] = ()
    comm_channels: tuple[Blob, ...] = ()
    attribution: Blob | None = None
    auto_update_time: str | None = None


@dataclasses.dataclass(frozen=True)
class Subscription:
    channel: str
    priority: str
    type: str
    account_id: str = ""


@dataclasses.dataclass(frozen=True)
class PartnerProgram:
    """A partner program of the customer: its details and the customer's activity in it."""

    details: Blob
    linking_updates: tuple[Blob, ...] = ()
    benefits_availed: tuple[Blob, ...] = ()


@dataclasses.dataclass(frozen=True)
class Points:
    """A customer's points: the one record that every read of points derives from.

    `accounts` are the customer's accounts in the loyalty programs it is enrolled in, one per
    program: balance and tier as loyaltyDetails shows them (a LoyaltyProgramDetail, programId
    included). The scheduled points are points of those accounts, each entry naming its
    program: `expiring` (points an account holds and will lose: the expiry schedule),
    `promised` (points it gains from a date on) and `trigger_based` (points it gains on an
    external trigger). They are one list per kind, not one per account, because the
    documents list the promised points of several programs interleaved.

    Raises ValueError for two accounts in one program, for scheduled points of a program the
    customer has no account in, and for more points expiring in a program than its account
    holds.
    """

    accounts: tuple[Blob, ...] = ()
    expiring: tuple[Blob, ...] = ()
    promised: tuple[Blob, ...] = ()
    trigger_based: tuple[Blob, ...] = ()

    def __post_init__(self) -> None:
        programs = [account["programId"] for account in self.accounts]
        if len(set(programs)) < len(programs):
            raise ValueError(f"two accounts in one program: {programs}")
        for entry in self.expiring + self.promised + self.trigger_based:
            if entry["programId"] not in programs:
                raise ValueError(
                    f"points of program {entry['programId']}, where the customer has no account"
                    f" (it has {programs})"
                )
        for account in self.accounts:
            expiring = sum(
                e["points"] for e in self.expiring if e["programId"] == account["programId"]
            )
            if expiring > account["loyaltyPoints"]:
                raise ValueError(
                    f"{expiring} points expire in program {account['programId']}, whose account"
                    f" holds {account['loyaltyPoints']}"
                )

    def account(self, program_id: int) -> Blob | None:
        """The account in PROGRAM_ID, or None."""
        return next((a for a in self.accounts if a["programId"] == program_id), None)


@dataclasses.dataclass(frozen=True)
class Customer:
    id: int
    loyalty_type: str
    profiles: tuple[Profile, ...] = ()
    extended_fields: Blob = dataclasses.field(default_factory=dict)
    segments: Blob = dataclasses.field(default_factory=dict)
    loyalty_attribution: Blob | None = None
    lifetime_purchases: int | float | None = None
    #: The survivor this customer was merged into; a merged customer answers 8069.
    merged_into: int | None = None
    subscriptions: tuple[Subscription, ...] = ()
    points: Points = dataclasses.field(default_factory=Points)
    promotional_points: Blob | None = None
    #: Points given to and taken from other customers; their names are read from them.
    points_transfers: tuple[Blob, ...] = ()
    retro_requests: tuple[Blob, ...] = ()
    partner_programs: tuple[PartnerProgram, ...] = ()

    def profiles_in(self, source: str, account_id: str) -> list[Profile]:
        """The profiles in SOURCE (and ACCOUNT_ID), or all of them for source ALL."""
        if source == "ALL":
            return list(self.profiles)
        return [p for p in self.profiles if p.source == source and p.account_id == account_id]

    def holdings(self) -> list[tuple[Profile, Identifier]]:
        return [
            (profile, identifier) for profile in self.profiles for identifier in profile.identifiers
        ]


@dataclasses.dataclass(frozen=True)
class Program:
    id: int
    name: str
    default: bool = False


@dataclasses.dataclass(frozen=True)
class Org:
    """What the org is configured with; it does not change while the mock runs."""

    programs: tuple[Program, ...]

    @property
    def default_program(self) -> Program:
        return next(program for program in self.programs if program.default)

    def program(self, program_id: int) -> Program | None:
        return next((program for program in self.programs if program.id == program_id), None)
