"""The daemon's schedules with an injected clock: a day of ticks, catch-up, DST days."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from partita.api import Project, as_project, materialize
from partita.assets import asset
from partita.definitions import Definitions
from partita.partitions import DailyPartitions, HourlyPartitions
from partita.records import TickStatus
from partita.schedules import Schedule
from tests.integration.daemon_support import built, run_daemon, ticks, utc


def _hourly_project(home: Path, timezone: str, start: str, fail_at: str | None = None) -> Project:
    hours = HourlyPartitions(start=start, timezone=timezone)

    @asset(partitions=hours)
    def events(context: Any) -> pd.DataFrame:
        key = str(context.partition_key)
        if key == fail_at:
            raise RuntimeError("the upstream API is down")
        return pd.DataFrame({"hour": [key]})

    @asset(partitions=hours)
    def hourly_total(events: pd.DataFrame) -> pd.DataFrame:
        return events.assign(n=1)

    defs = Definitions(
        assets=[events, hourly_total],
        schedules=[Schedule("0 * * * *", timezone=timezone, name="hourly")],
    )
    return as_project(defs, home)


def test_a_day_of_hourly_ticks_builds_each_hour_exactly_once(tmp_path: Path) -> None:
    project = _hourly_project(tmp_path, "UTC", "2025-03-02T00:00")
    run_daemon(project, utc(2025, 3, 2), utc(2025, 3, 3, 0, 0, 30))
    expected = {f"2025-03-02T{hour:02d}:00": 1 for hour in range(24)}
    assert dict(built(project, "events")) == expected
    assert dict(built(project, "hourly_total")) == expected
    recorded = ticks(project)
    assert recorded[0].detail.startswith("started")
    assert [t.status for t in recorded[1:]] == [TickStatus.SUCCEEDED] * 24
    assert [t.tick_at for t in recorded[1:]] == [utc(2025, 3, 2, h) for h in range(1, 24)] + [
        utc(2025, 3, 3)
    ]
    assert all(len(t.run_ids) == 1 for t in recorded[1:])


def test_a_failing_asset_does_not_stop_the_daemon(tmp_path: Path) -> None:
    project = _hourly_project(tmp_path, "UTC", "2025-03-02T00:00", fail_at="2025-03-02T02:00")
    run_daemon(project, utc(2025, 3, 2), utc(2025, 3, 2, 6, 0, 30))
    statuses = [t.status for t in ticks(project)[1:]]
    assert statuses == [TickStatus.SUCCEEDED, TickStatus.SUCCEEDED] + [TickStatus.FAILED] * 4
    # the failed hour is tried again at every later tick, the others built once
    assert built(project, "events")["2025-03-02T05:00"] == 1
    assert "2025-03-02T02:00" not in built(project, "events")


def test_dst_nights_in_berlin_build_every_hour_once(tmp_path: Path) -> None:
    # spring forward: local 00:00-05:00 CEST; 02:00 does not exist
    spring = _hourly_project(tmp_path / "spring", "Europe/Berlin", "2025-03-30T00:00")
    run_daemon(spring, utc(2025, 3, 29, 23), utc(2025, 3, 30, 3, 0, 30))
    assert dict(built(spring, "events")) == {
        key: 1
        for key in ("2025-03-30T00:00", "2025-03-30T01:00", "2025-03-30T03:00", "2025-03-30T04:00")
    }
    assert [t.tick_at for t in ticks(spring)[1:]] == [utc(2025, 3, 30, h) for h in range(4)]

    # fall back: local 00:00 CEST - 04:00 CET; 02:00 occurs twice, its tick fires once
    fall = _hourly_project(tmp_path / "fall", "Europe/Berlin", "2025-10-26T00:00")
    run_daemon(fall, utc(2025, 10, 25, 22), utc(2025, 10, 26, 3, 0, 30))
    assert dict(built(fall, "events")) == {
        key: 1
        for key in (
            "2025-10-26T00:00",
            "2025-10-26T01:00",
            "2025-10-26T02:00+02:00",
            "2025-10-26T02:00+01:00",
            "2025-10-26T03:00",
        )
    }
    fall_ticks = ticks(fall)[1:]
    assert [t.tick_at for t in fall_ticks] == [utc(2025, 10, 25, 23)] + [
        utc(2025, 10, 26, h) for h in (0, 2, 3)
    ]
    assert all(t.status is TickStatus.SUCCEEDED for t in fall_ticks)


def _daily_project(home: Path, max_catchup: int | None) -> Project:
    days = DailyPartitions(start="2025-03-01", timezone="Europe/Berlin")

    @asset(partitions=days, group="sales")
    def orders(context: Any) -> pd.DataFrame:
        return pd.DataFrame({"day": [str(context.partition_key)]})

    schedule = Schedule(
        "0 2 * * *",
        timezone="Europe/Berlin",
        selection="group:sales",
        name="nightly",
        max_catchup=max_catchup,
    )
    return as_project(Definitions(assets=[orders], schedules=[schedule]), home)


def test_a_daemon_stopped_three_days_catches_up_once(tmp_path: Path) -> None:
    project = _daily_project(tmp_path, None)
    run_daemon(project, utc(2025, 3, 1, 12), utc(2025, 3, 2, 3))
    assert dict(built(project, "orders")) == {"2025-03-01": 1}
    # down from 2025-03-02 03:00 UTC until 2025-03-05 12:00 UTC: three ticks missed
    run_daemon(project, utc(2025, 3, 5, 12), utc(2025, 3, 5, 13))
    recorded = ticks(project)
    catchup = recorded[-1]
    assert len(recorded) == 3 and len(catchup.run_ids) == 1
    assert catchup.covered == (
        "2025-03-03T01:00:00+00:00",
        "2025-03-04T01:00:00+00:00",
        "2025-03-05T01:00:00+00:00",
    )
    assert "caught up 3 ticks in one run" in catchup.detail
    assert dict(built(project, "orders")) == {f"2025-03-0{day}": 1 for day in range(1, 5)}


def test_max_catchup_bounds_the_catch_up(tmp_path: Path) -> None:
    project = _daily_project(tmp_path, 2)
    run_daemon(project, utc(2025, 3, 1, 12), utc(2025, 3, 2, 3))
    run_daemon(project, utc(2025, 3, 5, 12), utc(2025, 3, 5, 13))
    catchup = ticks(project)[-1]
    assert "skipped 1 older missed ticks (max_catchup=2)" in catchup.detail
    assert "partitions 2025-03-03..2025-03-04" in catchup.detail
    assert set(built(project, "orders")) == {
        "2025-03-01",
        "2025-03-03",
        "2025-03-04",
    }


def test_a_quiet_tick_skips_planning_until_something_changes(tmp_path: Path) -> None:
    calls = {"n": 0}

    @asset
    def report() -> pd.DataFrame:
        calls["n"] += 1
        return pd.DataFrame({"n": [calls["n"]]})

    @asset
    def summary(report: pd.DataFrame) -> pd.DataFrame:
        return report

    hourly = Schedule("0 * * * *", selection="summary", name="hourly")
    project = as_project(Definitions(assets=[report, summary], schedules=[hourly]), tmp_path)
    run_daemon(project, utc(2025, 3, 1), utc(2025, 3, 1, 3, 0, 30))
    details = [t.detail for t in ticks(project)[1:]]
    statuses = [t.status for t in ticks(project)[1:]]
    assert statuses[0] is TickStatus.NOTHING_TO_DO  # summary has no built input yet: blocked
    materialize(project, "report", now=utc(2025, 3, 1, 3, 30))  # an upstream change
    run_daemon(project, utc(2025, 3, 1, 3, 30), utc(2025, 3, 1, 5, 0, 30))
    later = ticks(project)[4:]
    assert [t.status for t in later] == [TickStatus.SUCCEEDED, TickStatus.NOTHING_TO_DO]
    assert "up to date" in details[2] and "up to date" not in later[1].detail
    assert dict(built(project, "summary")) == {"None": 1}
