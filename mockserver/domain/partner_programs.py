"""Partner programs: a customer's activity in supplementary and external programs."""

from __future__ import annotations

import dataclasses
from datetime import MAXYEAR, MINYEAR, datetime

from mockserver.domain import dates, identity
from mockserver.domain.errors import CustomerNotFound, InvalidValue
from mockserver.domain.identity import source_of
from mockserver.domain.records import Blob, Identifier, PartnerProgram
from mockserver.storage import Store

#: The two activity types, as error 2014 names them.
BENEFITS_AVAILED = "BENEFITSAVAILED"
LINKING_UPDATES = "LINKINGUPDATES"
#: Details that describe the latest membership change: part of the linking updates.
_LAST_UPDATE_FIELDS = (
    "partnerProgramMembershipLastUpdatedDate",
    "partnerProgramMembershipLastUpdatedActivity",
)


def activity_histories(
    store: Store,
    *,
    source: str,
    identifier_name: str,
    identifier_value: str,
    activity_type: str,
    start: datetime | None,
    end: datetime | None,
    partner_program_id: int | None,
    partner_program_type: str | None,
    limit: int,
    offset: int,
    now: datetime | None = None,
) -> Blob:
    """The customer's partner programs, each with its benefits availed in a window (the
    last year by default) or its linking updates. Raises 2015, 2013 (a window over a
    year, or backwards), 2014, 2011."""
    kind = _activity_kind(activity_type)
    if kind not in (BENEFITS_AVAILED, LINKING_UPDATES):
        raise InvalidValue(2014, detail=f"activityType {activity_type!r} is neither")
    if kind == LINKING_UPDATES and (start or end):
        raise InvalidValue(2015, detail="startDate and endDate are for benefitsAvailed only")
    window = _window(start, end, now or identity.now()) if kind == BENEFITS_AVAILED else None
    with store.read() as tx:
        customer = identity.customer_by_identifier(
            tx,
            Identifier(identifier_name, identifier_value),
            source=source_of(source),
            account_id=None,
            not_found=2011,
        )
    programs = [
        program
        for program in customer.partner_programs
        if (partner_program_id is None or program.details["partnerProgramId"] == partner_program_id)
        and (
            partner_program_type is None
            or program.details["partnerProgramType"] == partner_program_type
        )
    ]
    if not programs:
        raise CustomerNotFound(2011, detail=f"customer {customer.id} has no such partner program")
    page = programs[offset : offset + limit]
    return {
        "pagination": {"limit": limit, "offset": offset, "total": len(programs)},
        "data": [_linking(p) if window is None else _benefits(p, *window) for p in page],
        "warnings": [],
        "errors": [],
    }


def combined(
    kept: tuple[PartnerProgram, ...], joined: tuple[PartnerProgram, ...]
) -> tuple[PartnerProgram, ...]:
    """KEPT's programs with JOINED's activity in them, and JOINED's other programs."""
    theirs = {program.details["partnerProgramId"]: program for program in joined}
    programs = []
    for program in kept:
        other = theirs.pop(program.details["partnerProgramId"], None)
        if other is not None:
            program = dataclasses.replace(
                program,
                linking_updates=program.linking_updates + other.linking_updates,
                benefits_availed=program.benefits_availed + other.benefits_availed,
            )
        programs.append(program)
    return (*programs, *theirs.values())


def _activity_kind(spelling: str) -> str:
    """The activity type SPELLING means. The documents write each type in capitals with and
    without an underscore and in camel case (BENEFITS_AVAILED, BENEFITSAVAILED,
    benefitsAvailed): all spell one type."""
    return spelling.replace("_", "").upper()


def _window(
    start: datetime | None, end: datetime | None, now: datetime
) -> tuple[datetime, datetime]:
    """The window of benefits asked for: a year at most, the last year by default; one
    date alone opens a year from it (up to now) or to it."""
    if start is None and end is None:
        start, end = _years(now, -1), now
    elif start is None:
        assert end is not None
        start = _years(end, -1)
    elif end is None:
        end = _years(start, 1) if start > now else min(now, _years(start, 1))
    if start > end:
        raise InvalidValue(
            2013,
            detail=f"startDate {start:%Y-%m-%d %H:%M:%S} is after endDate {end:%Y-%m-%d %H:%M:%S}",
        )
    if end > _years(start, 1):
        raise InvalidValue(2013, detail=f"startDate to endDate spans {(end - start).days} days")
    return start, end


def _years(moment: datetime, years: int) -> datetime:
    """MOMENT on the same day YEARS later (or earlier), within the calendar's years 1 to
    9999; 29 February falls on the 28th."""
    year = min(max(moment.year + years, MINYEAR), MAXYEAR)
    try:
        return moment.replace(year=year)
    except ValueError:
        return moment.replace(year=year, day=28)


def _linking(program: PartnerProgram) -> Blob:
    return {
        "partnerProgramDetails": program.details,
        "customerActivityHistory": list(program.linking_updates),
    }


def _benefits(program: PartnerProgram, start: datetime, end: datetime) -> Blob:
    details = {k: v for k, v in program.details.items() if k not in _LAST_UPDATE_FIELDS}
    availed = [
        activity
        for activity in program.benefits_availed
        if start <= dates.moment(activity["activityDate"]) <= end
    ]
    return {
        "partnerProgramDetails": details,
        "customerActivityHistory": availed,
        "notes": f"showing customer activities from {_java_date(start)} till {_java_date(end)}",
    }


def _java_date(moment: datetime) -> str:
    """As Java's Date.toString() in GMT writes it, which is what the documented notes show."""
    return moment.strftime("%a %b %d %H:%M:%S GMT %Y")
