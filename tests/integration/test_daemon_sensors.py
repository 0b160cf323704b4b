"""Sensors and eager selections in the daemon, with an injected clock."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

import pandas as pd

from partita.api import Project, as_project, materialize, runs
from partita.assets import asset
from partita.automation import Daemon, LaunchSettings, PeriodicJob
from partita.definitions import Definitions
from partita.partitions import DailyPartitions
from partita.records import TickKind, TickStatus
from partita.schedules import Schedule
from partita.sensors import Eager, RunRequest, SensorContext, SensorResult, SourceSensor, sensor
from partita.sources import source
from tests.integration.daemon_support import FakeClock, built, run_daemon, ticks, utc

DAYS = DailyPartitions(start="2025-03-01", end="2025-03-04")


def test_a_raising_sensor_and_job_do_not_stop_the_schedule(tmp_path: Path) -> None:
    @asset
    def report() -> pd.DataFrame:
        return pd.DataFrame({"x": [1]})

    @sensor(every="10m")
    def broken(context: SensorContext) -> SensorResult:
        raise ConnectionError("the bucket is unreachable")

    def failing_job(now: Any) -> None:
        raise RuntimeError("freshness store down")

    project = as_project(
        Definitions(
            assets=[report],
            sensors=[broken],
            schedules=[Schedule("0 * * * *", name="hourly")],
        ),
        tmp_path,
    )
    clock = FakeClock(utc(2025, 3, 1))
    daemon = Daemon(
        project,
        clock=clock.now,
        sleep=clock.sleep,
        settings=LaunchSettings(executor="inprocess"),
        jobs=[PeriodicJob("freshness", every=timedelta(hours=1), fn=failing_job)],
    )
    daemon.run(until=utc(2025, 3, 1, 2, 0, 30), handle_signals=False)
    errors = ticks(project, TickKind.SENSOR)
    assert len(errors) == 13  # every 10 minutes from 00:00 to 02:00
    assert {t.status for t in errors} == {TickStatus.ERROR}
    assert "ConnectionError: the bucket is unreachable" in errors[0].detail
    jobs = ticks(project, TickKind.JOB)
    assert len(jobs) == 3 and "RuntimeError: freshness store down" in jobs[0].detail
    assert [t.status for t in ticks(project)[1:]] == [
        TickStatus.SUCCEEDED,
        TickStatus.NOTHING_TO_DO,
    ]


def test_custom_sensor_adds_keys_runs_requests_and_keeps_its_cursor(tmp_path: Path) -> None:
    seen: list[str | None] = []

    @asset(partitions=DAYS)
    def daily(context: Any) -> pd.DataFrame:
        return pd.DataFrame({"day": [str(context.partition_key)]})

    @sensor(every="1h")
    def exports(context: SensorContext) -> SensorResult | list[RunRequest]:
        seen.append(context.cursor)
        if context.cursor is None:
            return SensorResult([RunRequest("daily", partition_key="2025-03-01")], cursor="1")
        return []

    project = as_project(Definitions(assets=[daily], sensors=[exports]), tmp_path)
    run_daemon(project, utc(2025, 3, 5), utc(2025, 3, 5, 2, 0, 30))
    assert seen == [None, "1", "1"]
    assert dict(built(project, "daily")) == {"2025-03-01": 1}
    statuses = [t.status for t in ticks(project, TickKind.SENSOR)]
    assert statuses == [TickStatus.SUCCEEDED, TickStatus.NOTHING_TO_DO, TickStatus.NOTHING_TO_DO]


def test_source_sensor_runs_readers_only_when_the_observation_changed(tmp_path: Path) -> None:
    version = {"value": "v1"}

    @source(key="landing/prices")
    def prices(context: Any) -> str:
        return version["value"]

    @asset(deps=["landing/prices"])
    def price_list() -> pd.DataFrame:
        return pd.DataFrame({"version": [version["value"]]})

    project = as_project(
        Definitions(
            assets=[price_list],
            sources=[prices],
            sensors=[SourceSensor("landing/prices", every="5m")],
        ),
        tmp_path,
    )
    clock = FakeClock(utc(2025, 3, 1))
    daemon = Daemon(
        project, clock=clock.now, sleep=clock.sleep, settings=LaunchSettings(executor="inprocess")
    )
    daemon.run(until=utc(2025, 3, 1, 0, 12), handle_signals=False)
    version["value"] = "v2"
    daemon.run(until=utc(2025, 3, 1, 0, 22), handle_signals=False)
    statuses = [t.status for t in ticks(project, TickKind.SENSOR)]
    assert statuses == [TickStatus.SUCCEEDED] + [TickStatus.NOTHING_TO_DO] * 2 + [
        TickStatus.SUCCEEDED
    ] + [TickStatus.NOTHING_TO_DO]
    assert (
        len(built(project, "price_list")) == 1 and sum(built(project, "price_list").values()) == 2
    )


def test_eager_selection_coalesces_a_burst_into_one_run(tmp_path: Path) -> None:
    builds = {"n": 0}

    @asset(partitions=DAYS)
    def raw(context: Any) -> pd.DataFrame:
        builds["n"] += 1  # new data at every build
        return pd.DataFrame({"day": [str(context.partition_key)], "build": [builds["n"]]})

    @asset(partitions=DAYS)
    def summary(raw: pd.DataFrame) -> pd.DataFrame:
        return raw.assign(n=1)

    project: Project = as_project(
        Definitions(assets=[raw, summary], eager=[Eager("summary", min_interval="10m")]),
        tmp_path,
    )
    now = utc(2025, 3, 10)
    materialize(project, "raw", now=now)
    clock = FakeClock(now)
    daemon = Daemon(
        project, clock=clock.now, sleep=clock.sleep, settings=LaunchSettings(executor="inprocess")
    )
    with project.open_catalog() as catalog:
        records = catalog.automation
        first = daemon.evaluate(records, clock.now())
        assert [t.status for t in first] == [TickStatus.SUCCEEDED]  # the three days, one run
        for day in ("2025-03-01", "2025-03-02", "2025-03-03"):  # a burst of upstream changes
            clock.sleep(60)
            materialize(project, "raw", partition_key=day, force=True, now=clock.now())
            assert daemon.evaluate(records, clock.now()) == []  # within min_interval
        clock.moment = now.replace(minute=10)
        second = daemon.evaluate(records, clock.now())
    assert [t.status for t in second] == [TickStatus.SUCCEEDED]
    assert len(second[0].run_ids) == 1
    assert dict(built(project, "summary")) == {"2025-03-01": 2, "2025-03-02": 2, "2025-03-03": 2}


def test_stop_cancels_the_run_in_progress_and_leaves_its_tick_to_the_next_start(
    tmp_path: Path,
) -> None:
    started = threading.Event()
    release = threading.Event()

    @asset(partitions=DAYS)
    def slow(context: Any) -> pd.DataFrame:
        started.set()
        release.wait(10)
        return pd.DataFrame({"day": [str(context.partition_key)]})

    hourly = Schedule("0 * * * *", name="hourly")
    project = as_project(Definitions(assets=[slow], schedules=[hourly]), tmp_path)
    clock = FakeClock(utc(2025, 3, 10))
    daemon = Daemon(
        project,
        clock=clock.now,
        sleep=clock.sleep,
        settings=LaunchSettings(executor="thread", max_workers=1),
    )

    def stop_when_started() -> None:
        started.wait(10)
        daemon.stop("terminated")
        release.set()

    stopper = threading.Thread(target=stop_when_started)
    stopper.start()
    daemon.run(until=utc(2025, 3, 10, 2), handle_signals=False)
    stopper.join()
    assert [t.detail.split(";")[0] for t in ticks(project)] == ["started"]  # tick not recorded
    (run,) = runs(project)
    assert run.run.status == "cancelled"
    assert len(built(project, "slow")) <= 1  # the running step finished or was cancelled, no other


def test_quiet_evaluations_older_than_the_retention_are_pruned(tmp_path: Path) -> None:
    @asset
    def report() -> pd.DataFrame:
        return pd.DataFrame({"x": [1]})

    @sensor(every="1h")
    def once(context: SensorContext) -> SensorResult | list[RunRequest]:
        if context.cursor is None:
            return SensorResult([RunRequest("report")], cursor="done")
        return []

    project = as_project(Definitions(assets=[report], sensors=[once]), tmp_path)
    clock = FakeClock(utc(2025, 3, 1))
    daemon = Daemon(
        project,
        clock=clock.now,
        sleep=clock.sleep,
        settings=LaunchSettings(executor="inprocess"),
        keep_quiet_ticks=timedelta(days=2),
    )
    daemon.run(until=utc(2025, 3, 6, 0, 30), handle_signals=False)
    kept = ticks(project, TickKind.SENSOR)
    # the run it launched stays; quiet evaluations are kept for 2 days (checked hourly)
    assert kept[0].status is TickStatus.SUCCEEDED and kept[0].tick_at == utc(2025, 3, 1)
    quiet = kept[1:]
    assert {t.status for t in quiet} == {TickStatus.NOTHING_TO_DO}
    assert quiet[0].tick_at >= utc(2025, 3, 3, 23) and quiet[-1].tick_at == utc(2025, 3, 6)
    assert len(quiet) < 3 * 24
    pruned = ticks(project, TickKind.JOB)
    assert pruned and all(t.name == "prune-ticks" for t in pruned)
    assert "quiet evaluations older than 2 days" in pruned[0].detail
