"""Schedule ticks: cron on a local wall clock, exact across DST, and the closed partition."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from partita.definitions import Definitions
from partita.errors import DefinitionError
from partita.partitions import DailyPartitions, HourlyPartitions
from partita.schedules import Schedule, closed_key
from partita.sensors import Eager, FileSensor, RunRequest, SensorResult, sensor


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


def test_daily_tick_in_berlin_is_two_o_clock_local_in_winter_and_summer() -> None:
    schedule = Schedule("0 2 * * *", timezone="Europe/Berlin")
    assert schedule.next_tick(utc(2025, 1, 10)) == utc(2025, 1, 10, 1)  # CET, +01:00
    assert schedule.next_tick(utc(2025, 7, 9, 12)) == utc(2025, 7, 10, 0)  # CEST, +02:00


def test_non_existent_local_time_fires_shifted_forward_by_the_gap() -> None:
    schedule = Schedule("30 2 * * *", timezone="Europe/Berlin")
    ticks = schedule.ticks_between(utc(2025, 3, 29), utc(2025, 3, 31, 12))
    # 2025-03-30 02:30 does not exist in Berlin: the tick is 03:30 CEST = 01:30 UTC
    assert ticks == [utc(2025, 3, 29, 1, 30), utc(2025, 3, 30, 1, 30), utc(2025, 3, 31, 0, 30)]


def test_repeated_local_time_fires_once_at_its_first_occurrence() -> None:
    schedule = Schedule("30 2 * * *", timezone="Europe/Berlin")
    ticks = schedule.ticks_between(utc(2025, 10, 25), utc(2025, 10, 27, 12))
    # 2025-10-26 02:30 occurs at 00:30 UTC (CEST) and 01:30 UTC (CET): once, the first
    assert ticks == [utc(2025, 10, 25, 0, 30), utc(2025, 10, 26, 0, 30), utc(2025, 10, 27, 1, 30)]


def test_hourly_schedule_has_23_ticks_on_spring_day_and_24_on_fall_day() -> None:
    hourly = Schedule("0 * * * *", timezone="Europe/Berlin")
    spring = hourly.ticks_between(utc(2025, 3, 29, 23), utc(2025, 3, 30, 22))
    fall = hourly.ticks_between(utc(2025, 10, 25, 22), utc(2025, 10, 26, 23))
    assert len(spring) == 23 and len(set(spring)) == 23
    assert len(fall) == 24 and utc(2025, 10, 26, 1) not in fall  # the repeated 02:00 (CET)


def test_tick_closes_the_previous_day_in_the_zone_of_the_partitions() -> None:
    schedule = Schedule("0 2 * * *", timezone="Europe/Berlin")
    days = DailyPartitions(start="2025-01-01", timezone="Europe/Berlin")
    tick = schedule.next_tick(utc(2025, 3, 1, 12))
    assert schedule.closes(days, tick) == "2025-03-01"
    assert closed_key(HourlyPartitions(start="2025-03-02T00:00"), utc(2025, 3, 2, 5)) == (
        "2025-03-02T04:00"
    )
    assert closed_key(days, utc(2024, 12, 31)) is None


def test_bad_declarations_say_what_is_wrong() -> None:
    with pytest.raises(DefinitionError, match="invalid cron"):
        Schedule("0 25 * * *")
    with pytest.raises(DefinitionError, match="unknown time zone 'Europe/Berln'"):
        Schedule("0 2 * * *", timezone="Europe/Berln")
    with pytest.raises(DefinitionError, match="max_catchup"):
        Schedule("0 2 * * *", max_catchup=-1)
    with pytest.raises(DefinitionError, match="invalid FileSensor"):
        FileSensor("landing", "landing/", every="soon")
    with pytest.raises(DefinitionError, match="partition_key or partition_range"):
        RunRequest("a", partition_key="x", partition_range=("x", "y"))


def test_definitions_hold_automation_with_unique_names() -> None:
    @sensor(every="1m")
    def custom(context: object) -> SensorResult:
        return SensorResult()

    defs = Definitions(
        schedules=[Schedule("0 2 * * *", selection="group:sales")],
        sensors=[custom, FileSensor("landing", "landing/")],
        eager=[Eager("daily_revenue", min_interval="5m")],
    )
    assert [s.name for s in defs.schedules] == ["group:sales@0 2 * * *"]
    assert [s.name for s in defs.sensors] == ["custom", "landing"]
    assert defs.eager[0].interval.total_seconds() == 300
    with pytest.raises(DefinitionError, match="two schedules are named 'nightly'"):
        Definitions(schedules=[Schedule("0 2 * * *", name="nightly")] * 2)
    with pytest.raises(DefinitionError, match="takes Schedule values"):
        Definitions(schedules=["0 2 * * *"])  # type: ignore[list-item]


def test_a_cron_that_never_fires_is_refused_when_declared() -> None:
    with pytest.raises(DefinitionError, match="never fires") as refused:
        Schedule("0 0 31 2 *")
    assert refused.value.hint is not None and '"L"' in refused.value.hint
    assert Schedule("0 0 L 2 *").next_tick(datetime(2025, 1, 1, tzinfo=UTC)) == datetime(
        2025, 2, 28, tzinfo=UTC
    )
