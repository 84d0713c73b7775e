"""Dates and date-times as records and queries hold them, RFC 3339 text, read to compare.

RFC 3339 (the spec's `format: date` and `date-time`, which seed files are held to) admits
what Python's fromisoformat does not: year 0000, a leap second, a lower-case `t` and `z`.
"""

from __future__ import annotations

from datetime import date, datetime


def day(text: str) -> date:
    """The date TEXT, a date or a date-time, falls on; year 0000, which the calendar begins
    after, reads as year 1."""
    return date.fromisoformat(_from_year_one(text[:10]))


def moment(text: str) -> datetime:
    """The date-time TEXT; year 0000 reads as year 1, a leap second as the second before it."""
    text = _from_year_one(text.upper())
    if text[17:19] == "60":
        text = f"{text[:17]}59{text[19:]}"
    return datetime.fromisoformat(text)


def _from_year_one(text: str) -> str:
    return f"0001{text[4:]}" if text.startswith("0000") else text
