"""The chaos settings, what a Prefer header asks, and the plan of a request: values alone."""

from __future__ import annotations

import dataclasses
import itertools
import random
from collections import Counter

import pytest

from mockserver import chaos
from mockserver.chaos import (
    AS_IT_COMES,
    FAULT_KINDS,
    Asked,
    Chaos,
    ChaosError,
    Latency,
    Plan,
    Quota,
    RateLimit,
)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("300ms", 0.3), ("2s", 2.0), ("1.5s", 1.5), ("800", 0.8), (" 0 ", 0.0), (250, 0.25)],
)
def test_a_duration_is_ms_or_s_and_a_bare_number_is_ms(text: str | int, seconds: float) -> None:
    assert chaos.duration(text, field="latency") == seconds


@pytest.mark.parametrize(
    "text",
    [
        "",
        "fast",
        "2 minutes",
        "-5ms",
        "1e3",
        "601s",
        "１２ms",
        pytest.param("9" * 5000, id="5000 digits"),
        True,
        None,
        -5000,
        -0.5,
    ],
)
def test_a_duration_that_is_none_is_refused_naming_the_field(text: object) -> None:
    with pytest.raises(ChaosError) as refused:
        chaos.duration(text, field="faultHold")  # type: ignore[arg-type]
    assert refused.value.field == "faultHold"
    assert str(refused.value).startswith("faultHold: expected ")


def test_a_latency_is_one_wait_or_a_span_and_reads_back_as_it_was_written() -> None:
    assert Latency.parse("300ms", field="latency") == Latency(0.3, 0.3)
    assert Latency.parse("100ms-2s", field="latency") == Latency(0.1, 2.0)
    assert Latency.parse("100ms - 2s", field="latency") == Latency(0.1, 2.0)
    for text in ("300ms", "100ms-2s", "1.5s", "1s-1500ms"):
        assert str(Latency.parse(text, field="latency")) in (text, "1s-1.5s")
    with pytest.raises(ChaosError, match="from the shorter wait up"):
        Latency.parse("2s-100ms", field="latency")


@pytest.mark.parametrize(
    ("text", "limit"),
    [("100/m", RateLimit(100, 60)), ("2/s", RateLimit(2, 1)), ("5000 / h", RateLimit(5000, 3600))],
)
def test_a_rate_limit_is_requests_per_unit(text: str, limit: RateLimit) -> None:
    assert RateLimit.parse(text) == limit
    assert RateLimit.parse(str(limit)) == limit


@pytest.mark.parametrize(
    "text",
    [
        "100",
        "100/w",
        "0/m",
        "-1/m",
        "many/m",
        "100/minute",
        "１００/m",
        pytest.param("9" * 5000 + "/m", id="5000 digits/m"),
    ],
)
def test_a_rate_limit_that_is_none_is_refused_with_the_units(text: str) -> None:
    with pytest.raises(ChaosError) as refused:
        RateLimit.parse(text)
    assert refused.value.field == "rateLimit"
    assert "such as 100/m (units s, m, h, d)" in str(refused.value)


def test_settings_from_the_flags() -> None:
    settings = chaos.settings(
        latency=["100ms-2s", "getCustomer=1s"],
        faults=0.05,
        fault_kinds=["503", "reset"],
        fault_hold="1s",
        chaos_seed=7,
        rate_limit="100/m",
    )
    assert settings == Chaos(
        latency=Latency(0.1, 2.0),
        latency_of={"getCustomer": Latency(1.0, 1.0)},
        faults=0.05,
        fault_kinds=("503", "reset"),
        fault_hold=1.0,
        chaos_seed=7,
        rate_limit=RateLimit(100, 60),
    )
    assert chaos.settings() == Chaos()
    assert Chaos().quiet and not Chaos().random
    assert settings.random and not settings.quiet


@pytest.mark.parametrize(
    ("flags", "field", "expected"),
    [
        ({"latency": ["soon"]}, "latency", "expected a duration"),
        ({"latency": ["get customer=1s"]}, "latency", "expected operationId=wait"),
        (
            {"latency": ["1s", "getCustomer=3s", "2s"]},
            "latency",
            "expected one wait for every operation, got '1s' and '2s'",
        ),
        (
            {"latency": ["getCustomer=1s", "getCustomer =2s"]},
            "latency",
            "expected one wait for getCustomer, got 'getCustomer=1s' and 'getCustomer =2s'",
        ),
        ({"faults": 1.5}, "faults", "from 0 to 1"),
        ({"fault_kinds": ["503", "crash"]}, "faultKinds", "got 'crash'"),
        ({"fault_hold": "forever"}, "faultHold", "expected a duration"),
        ({"rate_limit": "lots"}, "rateLimit", "such as 100/m"),
    ],
)
def test_a_bad_flag_value_is_refused_naming_it(
    flags: dict[str, object], field: str, expected: str
) -> None:
    with pytest.raises(ChaosError) as refused:
        chaos.settings(**flags)  # type: ignore[arg-type]
    assert refused.value.field == field
    assert expected in refused.value.message


def test_settings_read_back_from_their_json() -> None:
    flags = chaos.settings(
        latency=["300ms", "lookupCustomer=100ms-2s"],
        faults=0.25,
        fault_kinds=["500", "lost"],
        fault_hold="1500ms",
        chaos_seed=3,
        rate_limit="2/s",
    )
    shown = flags.to_json()
    assert shown == {
        "latency": ["300ms", "lookupCustomer=100ms-2s"],
        "faults": 0.25,
        "faultKinds": ["500", "lost"],
        "faultHold": "1.5s",
        "chaosSeed": 3,
        "rateLimit": "2/s",
        "changedAtRuntime": [],
    }
    del shown["changedAtRuntime"]
    assert dataclasses.replace(Chaos().overridden(shown), changed=()) == flags


def test_an_override_changes_what_it_names_and_null_turns_a_setting_off() -> None:
    flags = chaos.settings(latency=["300ms"], rate_limit="100/m", fault_hold="1s")
    changed = flags.overridden({"faults": 0.5, "latency": "2s", "rateLimit": None})
    assert (changed.faults, changed.latency, changed.rate_limit) == (0.5, Latency(2, 2), None)
    assert changed.fault_hold == 1.0  # not named: the flag's
    assert changed.changed == ("latency", "faults", "rateLimit")
    assert flags.overridden({"faultKinds": None, "faultHold": None}) == Chaos(
        latency=Latency(0.3, 0.3),
        rate_limit=RateLimit(100, 60),
        changed=("faultKinds", "faultHold"),
    )


@pytest.mark.parametrize(
    ("changes", "field", "expected"),
    [
        ({"latncy": "2s"}, "latncy", "no such setting (they are latency, faults, faultKinds,"),
        ({"latncy": "2s"}, "latncy", "did you mean latency?"),
        ({"faults": "half"}, "faults", "expected a fraction of requests from 0 to 1, got 'half'"),
        ({"faults": True}, "faults", "got True"),
        ({"faultKinds": []}, "faultKinds", "expected a list of reset, empty, timeout"),
        ({"faultKinds": "503,boom"}, "faultKinds", "got 'boom'"),
        ({"latency": [300]}, "latency", "expected a wait such as 300ms"),
        ({"chaosSeed": "7"}, "chaosSeed", "expected a whole number"),
        ({"rateLimit": 100}, "rateLimit", "got 100"),
    ],
)
def test_a_bad_override_is_refused_naming_the_field(
    changes: dict[str, object], field: str, expected: str
) -> None:
    with pytest.raises(ChaosError) as refused:
        Chaos().overridden(changes)
    assert refused.value.field == field
    assert expected in refused.value.message


def test_overrides_are_a_json_object() -> None:
    with pytest.raises(ChaosError, match="expected a JSON object of settings, got"):
        Chaos().overridden(["latency"])  # type: ignore[arg-type]


# --- what a request asks --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("prefer", "wanted"),
    [
        ("", Asked()),
        ("delay=800", Asked(delay=0.8)),
        ("fault=reset", Asked(fault="reset")),
        ("delay=800, fault=503", Asked(delay=0.8, fault="503")),
        ("code=400, example=err8015; Delay=5", Asked(delay=0.005)),
        ("respond-async, wait=10", Asked()),
        ("fault=LOST", Asked(fault="lost")),
        ('fault="503", delay="300"', Asked(delay=0.3, fault="503")),
        ("delay=800, delay=5", Asked(delay=0.8)),
        ("delay=000000000000000000001", Asked(delay=0.001)),
    ],
)
def test_what_a_prefer_header_asks(prefer: str, wanted: Asked) -> None:
    assert chaos.asked(prefer) == wanted


@pytest.mark.parametrize(
    ("prefer", "expected"),
    [
        ("delay=soon", "delay must be a whole number of milliseconds (digits 0-9), got 'soon'"),
        ("delay=-5", "delay must be a whole number of milliseconds"),
        ("delay=600001", "expected at most 600s"),
        ("delay=\xb2", "delay must be a whole number of milliseconds (digits 0-9), got '\xb2'"),
        ("delay=１２", "delay must be a whole number of milliseconds (digits 0-9), got '１２'"),
        pytest.param(
            "delay=" + "9" * 5000,
            "delay must be at most 600000 milliseconds, got '999",
            id="delay of 5000 digits",
        ),
        ("fault=crash", "fault must be one of reset, empty, timeout, lost, 500, 503, got 'crash'"),
    ],
)
def test_a_prefer_header_asking_what_cannot_be_is_refused(prefer: str, expected: str) -> None:
    with pytest.raises(ChaosError) as refused:
        chaos.asked(prefer)
    assert refused.value.field == "Prefer"
    assert expected in refused.value.message


# --- the plan of a request ------------------------------------------------------------------


def no_dice() -> random.Random:
    raise AssertionError("nothing is drawn")


def test_without_settings_or_asking_a_request_goes_as_it_comes() -> None:
    assert chaos.plan(Chaos(), "getCustomer", Asked(), no_dice) is AS_IT_COMES
    assert AS_IT_COMES.answered


def test_what_a_request_asks_wins_over_the_settings() -> None:
    settings = chaos.settings(latency=["2s"], faults=1.0, fault_kinds=["503"], chaos_seed=1)
    dice = chaos.dice_of(1, lambda: 1)
    assert chaos.plan(settings, "getCustomer", Asked(delay=0.8, fault="reset"), dice) == Plan(
        0.8, "reset"
    )
    assert chaos.plan(settings, "getCustomer", Asked(delay=0.0), dice) == Plan(0.0, "503")


def test_an_operation_named_waits_its_own_latency() -> None:
    settings = chaos.settings(latency=["300ms", "getCustomer=1s"])
    assert chaos.plan(settings, "getCustomer", Asked(), no_dice) == Plan(1.0)
    assert chaos.plan(settings, "lookupCustomer", Asked(), no_dice) == Plan(0.3)
    assert chaos.plan(settings, None, Asked(), no_dice) == Plan(0.3)
    only = chaos.settings(latency=["getCustomer=1s"])
    assert chaos.plan(only, "lookupCustomer", Asked(), no_dice) == Plan(0.0)


def test_a_timeout_waits_the_fault_hold_then_leaves_without_an_answer() -> None:
    settings = chaos.settings(fault_hold="1s")
    timeout = chaos.plan(settings, "getCustomer", Asked(delay=0.5, fault="timeout"), no_dice)
    assert timeout == Plan(1.5, "timeout")
    assert not timeout.answered
    assert chaos.plan(settings, None, Asked(fault="lost"), no_dice).answered is False
    assert chaos.plan(settings, None, Asked(fault="503"), no_dice).answered


def test_random_faults_meet_about_their_fraction_of_requests_with_the_kinds_given() -> None:
    settings = chaos.settings(faults=0.25, fault_kinds=["503", "reset"])
    dice = chaos.dice_of(None, no_place)
    plans = [chaos.plan(settings, "getCustomer", Asked(), dice) for _ in range(2000)]
    kinds = Counter(plan.fault for plan in plans)
    assert set(kinds) == {None, "503", "reset"}
    assert 400 < kinds["503"] + kinds["reset"] < 600


def no_place() -> int:
    raise AssertionError("without a seed, no request needs its place")


def test_with_a_seed_a_request_s_place_decides_its_plan() -> None:
    settings = chaos.settings(
        latency=["10ms-2s"], faults=0.3, fault_kinds=list(FAULT_KINDS), chaos_seed=42
    )

    def run(seed: int) -> list[Plan]:
        places = itertools.count(1)
        dice = chaos.dice_of(seed, lambda: next(places))
        return [chaos.plan(settings, "getCustomer", Asked(), dice) for _ in range(200)]

    first = run(42)
    assert run(42) == first
    assert run(43) != first
    assert len({plan.delay for plan in first}) > 150
    assert {plan.fault for plan in first} == {None, *FAULT_KINDS}


# --- the rate limit -------------------------------------------------------------------------


def test_a_quota_counts_a_credential_s_requests_in_fixed_windows() -> None:
    counts: Counter[tuple[str, int]] = Counter()

    def count(key: str, window: int) -> int:
        counts[(key, window)] += 1
        return counts[(key, window)]

    limit = RateLimit(2, 60)
    at = 6_000_000_010.0  # 10 s into a minute
    first, second, third = (chaos.quota(limit, "till", at + i, count) for i in range(3))
    assert (first.used, second.used, third.used) == (1, 2, 3)
    assert not second.exceeded and third.exceeded
    assert first.headers() == [
        ("RateLimit-Limit", "2"),
        ("RateLimit-Remaining", "1"),
        ("RateLimit-Reset", "50"),
    ]
    assert third.headers()[1:] == [
        ("RateLimit-Remaining", "0"),
        ("RateLimit-Reset", "48"),
        ("Retry-After", "48"),
    ]
    assert chaos.quota(limit, "token", at, count).used == 1
    assert chaos.quota(limit, "till", at + 50, count) == Quota(2, 1, 60)


def test_the_seconds_to_wait_are_never_0() -> None:
    assert Quota(1, 2, 0.2).headers()[-1] == ("Retry-After", "1")
