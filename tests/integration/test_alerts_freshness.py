"""Freshness alerts: one per violation, none while it lasts, one "recovered" (state: catalog)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from partita.api import evaluate_freshness_alerts, load_project, materialize
from tests.conftest import run_cli, write_project
from tests.integration.alert_receivers import webhook_receiver

PROJECT = """
import pandas as pd
from partita import Definitions, Freshness, asset, env, webhook

@asset(freshness=Freshness(max_lag="1h"))
def orders() -> pd.DataFrame:
    return pd.DataFrame({"id": [1, 2]})

@asset(freshness=Freshness(max_lag="1h"))
def unwatched_by_itself(orders: pd.DataFrame) -> pd.DataFrame:
    return orders

@asset
def no_policy(orders: pd.DataFrame) -> pd.DataFrame:
    return orders

defs = Definitions(
    assets=[orders, unwatched_by_itself, no_policy],
    on_freshness_violation=[webhook(url=env("FRESHNESS_HOOK"), format="json")],
)
"""


def _alert(project: Path) -> tuple[int, dict[str, object]]:
    result = run_cli(["freshness", "--alert", "--json"], project)
    assert not result.stderr, result.stderr
    return result.returncode, json.loads(result.stdout)


def test_partita_freshness_alert_once_per_violation_then_recovered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = write_project(tmp_path / "p", PROJECT)
    with webhook_receiver() as hook:
        monkeypatch.setenv("FRESHNESS_HOOK", hook.url)
        code, data = _alert(project)  # nothing built: both policies violated
        assert code == 1
        kinds = sorted((p[1]["asset"], p[1]["kind"]) for p in hook.posts)
        assert kinds == [
            ("orders", "freshness_violated"),
            ("unwatched_by_itself", "freshness_violated"),
        ]
        assert len(data["alerts"]["sent"]) == 2  # type: ignore[index]

        code, data = _alert(project)  # still violated, a new process: no alert
        assert code == 1 and len(hook.posts) == 2
        assert data["alerts"] == {"sent": [], "undelivered": []}

        result = run_cli(["materialize"], project)
        assert result.returncode == 0, result.stderr
        code, _ = _alert(project)
        assert code == 0
        recovered = [p[1] for p in hook.posts[2:]]
        assert sorted(r["asset"] for r in recovered) == ["orders", "unwatched_by_itself"]
        assert {r["kind"] for r in recovered} == {"freshness_recovered"}

        _alert(project)  # still fresh: nothing
        assert len(hook.posts) == 4


def test_an_injected_clock_drives_violation_and_recovery(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the daemon calls on a cadence: the state follows ``now``, not the wall clock."""
    project_dir = write_project(tmp_path / "p", PROJECT)
    project = load_project(cwd=project_dir)
    with webhook_receiver() as hook:
        monkeypatch.setenv("FRESHNESS_HOOK", hook.url)
        assert materialize(project, executor="inprocess").success
        built = datetime.now(UTC)
        first = evaluate_freshness_alerts(project, "orders", now=built)
        assert first.alerts == () and first.watched == 1
        late = evaluate_freshness_alerts(project, "orders", now=built + timedelta(hours=2))
        assert [a.kind.value for a in late.alerts] == ["freshness_violated"]
        again = evaluate_freshness_alerts(project, "orders", now=built + timedelta(hours=3))
        assert again.alerts == ()
        back = evaluate_freshness_alerts(project, "orders", now=built + timedelta(minutes=5))
        assert [a.kind.value for a in back.alerts] == ["freshness_recovered"]
        assert [p[1]["kind"] for p in hook.posts] == [
            "freshness_violated",
            "freshness_recovered",
        ]
