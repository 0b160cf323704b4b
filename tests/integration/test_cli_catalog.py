"""``partita lineage / history / runs / logs / partitions`` as a user runs them.

A real project folder, a real catalog file filled through :class:`SQLiteCatalog`,
and the installed ``partita`` command in a subprocess.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from partita.catalog.sqlite import SQLiteCatalog
from partita.records import Input, Materialization, Run, RunStatus, StepAttempt, StepStatus
from tests.conftest import run_cli, write_project

PROJECT = """
from partita import DailyPartitions, Definitions, DynamicPartitions, In, TimeWindow, asset

daily = DailyPartitions(start="2025-03-01", end="2025-03-31")

@asset(partitions=daily, key="sales/raw_orders")
def raw_orders() -> None: ...

@asset(partitions=daily, key="sales/weekly",
       ins={"raw_orders": In(key="sales/raw_orders", mapping=TimeWindow(start_offset=-6))})
def weekly(raw_orders: object) -> None: ...

@asset(partitions=DynamicPartitions("customers"))
def customer_files() -> None: ...

defs = Definitions(assets=[raw_orders, weekly, customer_files])
"""

T0 = datetime(2025, 3, 8, 6, 0, tzinfo=UTC)
DAYS = [f"2025-03-0{d}" for d in range(1, 8)]


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def _fill(catalog_path: Path) -> None:
    """run-1 builds 7 days and a weekly rollup; run-2 rebuilds one day and fails; one run died."""
    with SQLiteCatalog(catalog_path) as catalog:
        catalog.start_run(Run(run_id="run-1", started_at=T0, host="ci", pid=1))
        for day in DAYS:
            attempt = StepAttempt(
                "run-1", "sales/raw_orders", day, 1, StepStatus.SUCCEEDED, T0, T0, logs=f"{day}\n"
            )
            mat = Materialization(
                "sales/raw_orders", day, "run-1", f"{day}-v1", T0, rows=10, bytes=2048
            )
            catalog.record_step_outcome(attempt, [mat])
        weekly = StepAttempt("run-1", "sales/weekly", DAYS[-1], 1, StepStatus.SUCCEEDED, T0, T0)
        catalog.record_step_outcome(
            weekly,
            [Materialization("sales/weekly", DAYS[-1], "run-1", "weekly-v1", T0)],
            [[Input("sales/raw_orders", day, f"{day}-v1") for day in DAYS]],
        )
        catalog.finish_run("run-1", RunStatus.SUCCEEDED, now=T0 + timedelta(seconds=65))

        later = T0 + timedelta(hours=1)
        catalog.start_run(Run(run_id="run-2", started_at=later, host="ci", pid=1))
        fix = StepAttempt("run-2", "sales/raw_orders", DAYS[2], 1, StepStatus.SUCCEEDED, later)
        catalog.record_step_outcome(
            fix, [Materialization("sales/raw_orders", DAYS[2], "run-2", "fixed-v2", later)]
        )
        failed = StepAttempt(
            "run-2",
            "sales/weekly",
            DAYS[-1],
            1,
            StepStatus.FAILED,
            later,
            later,
            error="ValueError: boom",
            logs="reading 7 days\nValueError: boom\n",
        )
        catalog.record_step_outcome(failed)
        catalog.finish_run("run-2", RunStatus.FAILED, now=later + timedelta(seconds=3))

        catalog.start_run(
            Run(run_id="run-3", started_at=later, host=socket.gethostname(), pid=_dead_pid())
        )
        catalog.record_attempt_start(
            StepAttempt("run-3", "sales/raw_orders", DAYS[0], 1, StepStatus.RUNNING, later)
        )


def test_an_empty_project_reads_as_empty_and_creates_nothing(tmp_path: Path) -> None:
    project = write_project(tmp_path / "p", PROJECT)
    runs = run_cli(["runs"], project, check=True)
    assert "no runs recorded yet" in runs.stdout
    history = json.loads(run_cli(["history", "weekly", "--json"], project, check=True).stdout)
    assert history == {"asset": "sales/weekly", "partition": None, "materializations": []}
    lineage = run_cli(["lineage", "weekly", "--partition", "2025-03-07"], project)
    assert lineage.returncode == 1
    assert "error: sales/weekly 2025-03-07 has never been materialized" in lineage.stderr
    assert "hint: `partita history sales/weekly`" in lineage.stderr
    assert "Traceback" not in lineage.stderr
    assert not (project / ".partita").exists()


@pytest.fixture(scope="module")
def filled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project whose catalog holds the runs of :func:`_fill` (shared: the tests only read)."""
    project = write_project(tmp_path_factory.mktemp("filled"), PROJECT)
    _fill(project / ".partita" / "catalog.db")
    return project


def test_lineage_tree_json_and_diagrams(filled: Path) -> None:
    project = filled
    tree = run_cli(["lineage", "weekly", "-p", "2025-03-07"], project, check=True).stdout
    assert tree.startswith("sales/weekly 2025-03-07: built from\n")
    lines = tree.splitlines()
    assert "sales/weekly 2025-03-07  weekly-v  " in lines[1] and "run run-1" in lines[1]
    assert "(2025-03-08 06:00:00 UTC)" in lines[1]
    superseded = [line for line in lines if "superseded" in line and "2025-03-03" in line]
    assert len(superseded) == 1 and "2025-03-" in superseded[0]
    assert sum("  current" in line for line in lines) == 6
    assert "8 materializations, 7 inputs; 1 superseded" in tree

    data = json.loads(
        run_cli(["lineage", "sales/weekly", "-p", "2025-03-07", "--json"], project).stdout
    )
    assert (data["asset"], data["partition"], data["direction"]) == (
        "sales/weekly",
        "2025-03-07",
        "up",
    )
    assert len(data["nodes"]) == 8 and data["nodes"][0]["data_version"] == "weekly-v1"
    stale = [e["upstream_partition"] for e in data["edges"] if e["status"] == "superseded"]
    assert stale == ["2025-03-03"]

    down = run_cli(["lineage", "raw_orders", "-p", "2025-03-05", "--downstream"], project).stdout
    assert "fed by this version" in down and "└── sales/weekly 2025-03-07  weekly-v" in down
    mermaid = run_cli(
        ["lineage", "weekly", "-p", "2025-03-07", "--format", "mermaid"], project, check=True
    ).stdout
    assert mermaid.startswith("flowchart LR") and '-->|"superseded"| m8' in mermaid


def test_history_runs_and_logs(filled: Path) -> None:
    project = filled
    history = json.loads(
        run_cli(["history", "raw_orders", "-p", "2025-03-03", "--json"], project).stdout
    )
    assert [(m["data_version"], m["run_id"]) for m in history["materializations"]] == [
        ("fixed-v2", "run-2"),
        ("2025-03-03-v1", "run-1"),
    ]
    assert history["materializations"][1]["bytes"] == 2048

    runs = json.loads(run_cli(["runs", "--json"], project, check=True).stdout)["runs"]
    assert {r["run_id"]: r["status"] for r in runs} == {
        "run-1": "succeeded",
        "run-2": "failed",
        "run-3": "crashed",
    }
    first = next(r for r in runs if r["run_id"] == "run-1")
    assert first["duration_s"] == 65.0 and first["steps"] == {"succeeded": 8}
    assert next(r for r in runs if r["run_id"] == "run-3")["steps"] == {"abandoned": 1}
    table = run_cli(["runs", "--limit", "2"], project, check=True).stdout
    assert "run-2" in table and "1 failed, 1 succeeded" in table and "run-1" not in table
    assert "2 runs, newest first (--limit to see more)" in table

    logs = run_cli(["logs", "run-2", "--asset", "weekly"], project, check=True).stdout
    assert logs == (
        "=== sales/weekly [2025-03-07] attempt 1: failed\nreading 7 days\nValueError: boom\n"
    )
    missing = run_cli(["logs", "run-9"], project)
    assert missing.returncode == 1 and "no run 'run-9'" in missing.stderr
    assert "hint: `partita runs` lists the latest runs" in missing.stderr


def test_dynamic_partitions_and_usage_errors(tmp_path: Path) -> None:
    project = write_project(tmp_path / "p", PROJECT)
    added = run_cli(["partitions", "add", "customers", "acme", "globex"], project, check=True)
    assert "added 2 key(s) to customers (2 keys in all)" in added.stdout
    deleted = json.loads(
        run_cli(["partitions", "delete", "customers", "globex", "nobody", "--json"], project).stdout
    )
    assert deleted == {
        "name": "customers",
        "deleted": ["globex"],
        "absent": ["nobody"],
        "keys": ["acme"],
    }
    listed = json.loads(run_cli(["partitions", "list", "customers", "--json"], project).stdout)
    assert listed == {"name": "customers", "keys": ["acme"]}

    unknown = run_cli(["partitions", "add", "customer", "x"], project)
    assert unknown.returncode == 1
    assert "no DynamicPartitions named 'customer'" in unknown.stderr
    assert "hint: its dynamic partitions: 'customers'" in unknown.stderr
    bad_depth = run_cli(["lineage", "weekly", "--depth", "-1"], project)
    assert bad_depth.returncode == 2 and "Traceback" not in bad_depth.stderr
