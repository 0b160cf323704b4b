"""``partita freshness`` and ``partita status`` as a user types them, on a real SQLite catalog."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from partita.api import load_project
from partita.catalog.sqlite import SQLiteCatalog
from partita.records import Input, Materialization, Run, StepAttempt, StepStatus
from tests.conftest import run_cli, write_project

PROJECT = """
from partita import DailyPartitions, Definitions, Freshness, asset

daily = DailyPartitions(start="2025-03-25", timezone="Europe/Berlin")

@asset(partitions=daily)
def raw_orders() -> None:
    return None

@asset(
    partitions=daily,
    freshness=Freshness(deadline="0 9 * * *", timezone="Europe/Berlin", warn_lag="28h"),
)
def clean_orders(raw_orders: None) -> None:
    return None

@asset(freshness=Freshness(max_lag="6h"))
def summary(clean_orders: None) -> None:
    return None

defs = Definitions(assets=[raw_orders, clean_orders, summary])
"""

DAYS = [f"2025-03-{d}" for d in range(25, 31)]  # 2025-03-25 .. 2025-03-30 (a DST day)
BUILT_AT = datetime(2025, 3, 31, 6, 30, tzinfo=UTC)


def _record(
    project: Path, raw: dict[str, str], clean: list[str], *, at: datetime = BUILT_AT
) -> None:
    """Record raw_orders partitions at the given versions, then clean_orders reading them."""
    loaded = load_project(cwd=project)
    versions = {str(k): loaded.graph.code_version(k) for k in loaded.graph.keys}
    with SQLiteCatalog(loaded.catalog_path) as catalog:
        run_id = f"r{len(catalog.runs(now=at))}"
        catalog.start_run(Run(run_id=run_id, started_at=at))
        raw_items: list[tuple[Materialization, list[Input]]] = [
            (Materialization("raw_orders", d, run_id, v, at, versions["raw_orders"]), [])
            for d, v in raw.items()
        ]
        catalog.record_materializations_bulk(raw_items, upstream_assets={"raw_orders": []})
        clean_items = [
            (
                Materialization("clean_orders", d, run_id, f"c@{d}", at, versions["clean_orders"]),
                [Input("raw_orders", d, raw.get(d, f"raw@{d}"))],
            )
            for d in clean
        ]
        catalog.record_materializations_bulk(
            clean_items, upstream_assets={"clean_orders": ["raw_orders"]}
        )


def _fail(project: Path, partition: str, *, at: datetime = BUILT_AT) -> None:
    loaded = load_project(cwd=project)
    with SQLiteCatalog(loaded.catalog_path) as catalog:
        run_id = f"failing{len(catalog.runs(now=at))}"
        catalog.start_run(Run(run_id=run_id, started_at=at))
        running = StepAttempt(run_id, "clean_orders", partition, 1, StepStatus.RUNNING, at)
        catalog.record_attempt_start(running)
        failed = StepAttempt(
            run_id, "clean_orders", partition, 1, StepStatus.FAILED, at, at, "boom"
        )
        catalog.record_step_outcome(failed, upstream_assets=["raw_orders"])


def _freshness(project: Path, at: str, *args: str) -> tuple[int, dict[str, Any]]:
    result = run_cli(["freshness", *args, "--at", at, "--json"], project)
    assert not result.stderr, result.stderr
    return result.returncode, json.loads(result.stdout)


def test_deadline_statuses_and_exit_codes(tmp_path: Path) -> None:
    project = write_project(tmp_path / "p", PROJECT)
    _record(project, {d: f"raw@{d}" for d in DAYS}, DAYS[:-1])
    # 2025-03-30 (23 hours) is due 2025-03-31 09:00 CEST = 07:00 UTC
    code, data = _freshness(project, "2025-03-31T06:59", "clean_orders")
    (item,) = data["assets"]
    assert code == 0 and item["status"] == "warn" and item["judged_partition"] == "2025-03-29"
    assert item["newest_partition"] == "2025-03-30"
    assert item["next_deadline"] == "2025-03-31T07:00:00+00:00"
    assert item["lag_seconds"] == 31 * 3600 + 59 * 60  # from 2025-03-29T23:00Z
    code, data = _freshness(project, "2025-03-31T09:00+02:00", "clean_orders")
    (item,) = data["assets"]
    assert code == 1 and item["status"] == "missing" and item["level"] == "error"
    assert item["judged_partition"] == "2025-03-30" and data["violated"] is True
    assert "2025-03-30: never materialized" in item["reason"]

    _record(project, {}, ["2025-03-30"])
    code, data = _freshness(project, "2025-03-31T07:00", "clean_orders")
    assert code == 0 and data["assets"][0]["status"] == "fresh"
    assert data["assets"][0]["last_materialization"] == BUILT_AT.isoformat()

    _record(project, {"2025-03-30": "raw changed"}, [])
    code, data = _freshness(project, "2025-03-31T07:00", "clean_orders")
    assert code == 1 and data["assets"][0]["status"] == "stale"
    assert "upstream_changed: raw_orders" in data["assets"][0]["reason"]

    _fail(project, "2025-03-30")
    code, data = _freshness(project, "2025-03-31T07:00")
    statuses = {a["asset"]: a["status"] for a in data["assets"]}
    assert code == 1
    assert statuses == {"raw_orders": "no_policy", "clean_orders": "failed", "summary": "missing"}
    assert data["totals"]["failed"] == 1 and data["totals"]["no_policy"] == 1

    text = run_cli(["freshness", "--at", "2025-03-31T07:00"], project)
    assert text.returncode == 1
    assert "clean_orders" in text.stdout and "failed" in text.stdout
    assert "3 assets at 2025-03-31 07:00 UTC" in text.stdout


def test_status_counts_every_partition(tmp_path: Path) -> None:
    project = write_project(tmp_path / "p", PROJECT)
    _record(project, {d: f"raw@{d}" for d in DAYS}, ["2025-03-25", "2025-03-26", "2025-03-28"])
    _record(project, {"2025-03-26": "raw changed"}, [])
    _fail(project, "2025-03-29")
    result = run_cli(["status", "--at", "2025-03-31T07:00", "--json"], project, check=True)
    data = json.loads(result.stdout)
    rows = {a["asset"]: a for a in data["assets"]}
    clean = rows["clean_orders"]
    assert (clean["partitions"], clean["fresh"], clean["stale"]) == (6, 2, 1)
    assert (clean["missing"], clean["failed"]) == (2, 1)
    assert clean["missing_partitions"]["ranges"] == [
        ["2025-03-27", "2025-03-27"],
        ["2025-03-30", "2025-03-30"],
    ]
    assert clean["stale_partitions"]["text"] == "2025-03-26 (1)"
    assert rows["summary"]["partitioned"] is False and rows["summary"]["missing"] == 1
    assert data["totals"] == {
        "assets": 3,
        "partitions": 13,
        "fresh": 8,
        "stale": 1,
        "missing": 3,
        "failed": 1,
    }
    text = run_cli(["status", "--at", "2025-03-31T07:00"], project, check=True).stdout
    assert "3 assets, 13 partitions: 8 fresh, 1 stale, 3 missing, 1 failed" in text
    assert "missing 2025-03-27, 2025-03-30 (2)" in text


def test_a_project_that_never_ran(tmp_path: Path) -> None:
    project = write_project(tmp_path / "p", PROJECT)
    code, data = _freshness(project, "2025-03-31T07:00")
    assert code == 1 and {a["status"] for a in data["assets"]} == {"no_policy", "missing"}
    status = json.loads(run_cli(["status", "--json"], project, check=True).stdout)
    assert status["totals"]["fresh"] == 0
    assert not (project / ".partita" / "catalog.db").exists()
    bad = run_cli(["freshness", "--at", "yesterday"], project)
    assert bad.returncode == 1 and "invalid time 'yesterday'" in bad.stderr


def test_at_an_earlier_time_counts_only_what_was_recorded_by_then(tmp_path: Path) -> None:
    """Issue 12 item 9: ``--at`` in the past used materializations made after that time."""
    project = write_project(tmp_path / "p", PROJECT)
    _record(project, {d: f"raw@{d}" for d in DAYS}, DAYS[:-1])  # at 06:30 UTC
    later = datetime(2025, 3, 31, 8, 0, tzinfo=UTC)
    # after 08:00: the late day is built, another is rebuilt on a changed input, one fails
    _record(project, {"2025-03-28": "raw changed"}, ["2025-03-30", "2025-03-28"], at=later)
    _fail(project, "2025-03-27", at=later)

    # 07:30 UTC is past the 09:00 CEST deadline of 2025-03-30, which was not built yet
    code, data = _freshness(project, "2025-03-31T07:30", "clean_orders")
    (item,) = data["assets"]
    assert code == 1 and item["status"] == "missing", item
    assert item["judged_partition"] == "2025-03-30"
    assert item["last_materialization"] == BUILT_AT.isoformat()
    status = json.loads(
        run_cli(["status", "clean_orders", "--at", "2025-03-31T07:30", "--json"], project).stdout
    )
    (clean,) = status["assets"]
    assert (clean["fresh"], clean["stale"], clean["missing"], clean["failed"]) == (5, 0, 1, 0)

    # at 08:00 and after, the later records count
    code, data = _freshness(project, "2025-03-31T08:00", "clean_orders")
    (item,) = data["assets"]
    assert item["last_materialization"] == later.isoformat()
    status = json.loads(
        run_cli(["status", "clean_orders", "--at", "2025-03-31T08:00", "--json"], project).stdout
    )
    (clean,) = status["assets"]
    assert (clean["fresh"], clean["stale"], clean["missing"], clean["failed"]) == (5, 0, 0, 1)
