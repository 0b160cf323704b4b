"""The daemon's alerts: a schedule's on_failure and the freshness-alerts job (fake clock)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from partita import Freshness, env, webhook
from partita.api import as_project
from partita.assets import asset
from partita.automation import Daemon, LaunchSettings
from partita.definitions import Definitions
from partita.partitions import DailyPartitions
from partita.records import TickKind, TickStatus
from partita.schedules import Schedule
from tests.integration.alert_receivers import webhook_receiver
from tests.integration.daemon_support import FakeClock, ticks, utc


def test_a_schedule_alerts_its_failures_and_the_daemon_judges_freshness(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    days = DailyPartitions(start="2025-03-01")

    @asset(partitions=days)
    def orders(context: Any) -> pd.DataFrame:
        if str(context.partition_key) == "2025-03-02":
            raise RuntimeError("the shop API answered 503")
        return pd.DataFrame({"day": [str(context.partition_key)]})

    @asset(freshness=Freshness(max_lag="1h"))
    def never_built() -> pd.DataFrame:
        return pd.DataFrame({"x": [1]})

    defs = Definitions(
        assets=[orders, never_built],
        schedules=[
            Schedule(
                "0 2 * * *",
                selection="orders",
                name="nightly",
                on_failure=[webhook(url=env("SCHEDULE_HOOK"), format="json")],
            )
        ],
        on_freshness_violation=[webhook(url=env("FRESH_HOOK"), format="json")],
    )
    project = as_project(defs, tmp_path)
    with webhook_receiver() as schedule_hook, webhook_receiver() as fresh_hook:
        monkeypatch.setenv("SCHEDULE_HOOK", schedule_hook.url)
        monkeypatch.setenv("FRESH_HOOK", fresh_hook.url)
        clock = FakeClock(utc(2025, 3, 2, 1, 0))
        daemon = Daemon(
            project,
            clock=clock.now,
            sleep=clock.sleep,
            settings=LaunchSettings(executor="inprocess"),
            freshness_every=timedelta(hours=1),
        )
        # ticks at 02:00 on the 2nd (builds the 1st) and the 3rd (the 2nd fails)
        daemon.run(until=utc(2025, 3, 3, 4, 0), handle_signals=False)
        failures = [body for _, body in schedule_hook.posts]
        assert [(b["asset"], b["partition"], b["kind"]) for b in failures] == [
            ("orders", "2025-03-02", "step_failed")
        ]
        # judged every hour for a day: violated once, never repeated
        assert [(b["asset"], b["kind"]) for _, b in fresh_hook.posts] == [
            ("never_built", "freshness_violated")
        ]
    statuses = [t.status for t in ticks(project)[1:]]
    assert statuses == [TickStatus.SUCCEEDED, TickStatus.FAILED]
    (job,) = ticks(project, TickKind.JOB)  # recorded when it sent something
    assert job.name == "freshness-alerts" and job.status is TickStatus.SUCCEEDED
    assert job.detail.startswith("freshness alerts: 1 violation, 0 recoveries")
