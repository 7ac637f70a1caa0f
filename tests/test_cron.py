"""CronJob schedules read the way robfig/cron v3 ParseStandard (the CronJob controller) reads them."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from premortem.model.cron import DAY_MINUTES, ScheduleError, cadence


@pytest.mark.parametrize(
    ("schedule", "interval_minutes", "runs"),
    [
        ("* * * * *", 1, 1440),
        ("*/5 * * * *", 5, 288),
        ("0 * * * *", 60, 24),
        ("@hourly", 60, 24),
        ("@daily", 1440, 1),
        ("@midnight", 1440, 1),
        ("@weekly", 1440, 1),
        ("0 0 1 1 *", 1440, 1),
        ("0,30 9-17 * * MON-FRI", 30, 18),
        ("5/15 * * * *", 15, 96),  # 5-59/15: :05 :20 :35 :50
        ("0 */6 * * *", 360, 4),
        ("0 1,2 * * *", 60, 2),  # 01:00 and 02:00: the shortest gap is one hour
        ("CRON_TZ=Europe/Paris 0 3 * * *", 1440, 1),
        ("TZ=UTC */10 * * * *", 10, 144),
        ("0 0 ? * SUN", 1440, 1),
        ("0 0 1 JAN,jul *", 1440, 1),
    ],
)
def test_cadence(schedule, interval_minutes, runs):
    every = cadence(schedule)
    assert every.min_interval_seconds == interval_minutes * 60
    assert every.runs_per_day == runs


def test_every_descriptor():
    assert cadence("@every 1h30m").min_interval_seconds == 5400
    assert cadence("@every 90s").runs_per_day == 960


@pytest.mark.parametrize(
    "schedule",
    [
        "",
        "* * * *",
        "60 * * * *",
        "* 24 * * *",
        "*/0 * * * *",
        "{{ .Values.schedule }}",
        "@often",
        "? * * * *",
        "1-x * * * *",
        "@every",
        "@every 0s",
        "* * * * 7",
    ],
)
def test_schedules_the_controller_rejects(schedule):
    with pytest.raises(ScheduleError):
        cadence(schedule)


def test_descriptions():
    assert cadence("* * * * *").describe() == "every minute"
    assert cadence("*/5 * * * *").describe() == "every 5 minutes"
    assert cadence("0 1,2 * * *").describe() == "as often as every hour"
    assert cadence("@daily").describe() == "at most once a day"
    assert cadence("@every 30s").describe() == "every 30 seconds"


@given(st.integers(min_value=1, max_value=59))
def test_minute_step_law(step):
    """*/n fires ceil(60/n) times an hour; the shortest gap is n minutes, or the wrap to the next hour."""
    every = cadence(f"*/{step} * * * *")
    per_hour = -(-60 // step)
    assert every.runs_per_day == per_hour * 24
    assert every.min_interval_seconds == 60 * min(step, 60 - step * (per_hour - 1))


@given(st.sets(st.integers(0, 59), min_size=1), st.sets(st.integers(0, 23), min_size=1))
def test_lists_law(minutes, hours):
    """A list schedule fires |minutes| x |hours| times a day, and no gap is shorter than the shortest one."""
    every = cadence(f"{','.join(map(str, sorted(minutes)))} {','.join(map(str, sorted(hours)))} * * *")
    assert every.runs_per_day == len(minutes) * len(hours)
    times = sorted(h * 60 + m for h in hours for m in minutes)
    assert every.min_interval_seconds <= 60 * DAY_MINUTES / len(times)
