"""The Prefer header read as its preferences (RFC 7240): values alone."""

from __future__ import annotations

import pytest

from mockserver.prefer import header_text, preferences


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("", {}),
        ("code=400, example=err8015", {"code": "400", "example": "err8015"}),
        ("Delay = 800 ;fault=reset", {"delay": "800", "fault": "reset"}),
        ('fault="503", delay="300"', {"fault": "503", "delay": "300"}),
        ('example="a, b; c=d", delay=1', {"example": "a, b; c=d", "delay": "1"}),
        (r'example="say \"hi\""', {"example": 'say "hi"'}),
        ('example="open, delay=1', {"example": '"open, delay=1'}),
        ("respond-async, wait=10", {"wait": "10"}),
        ("delay=800, DELAY=5", {"delay": "800"}),
        ("delay=", {"delay": ""}),
    ],
)
def test_preferences_by_name_a_quoted_value_unquoted_the_first_of_a_name_counting(
    header: str, expected: dict[str, str]
) -> None:
    assert preferences(header) == expected


def test_a_header_s_text_is_read_as_utf_8_where_it_is_utf_8() -> None:
    as_wsgi_gives_it = "delay=１２".encode().decode("latin-1")
    assert header_text(as_wsgi_gives_it) == "delay=１２"
    assert header_text("delay=\xb2") == "delay=\xb2"  # not UTF-8: as latin-1 read it
    assert header_text("delay=800") == "delay=800"
