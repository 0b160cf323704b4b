"""Observing sources from ``partita plan`` / ``materialize`` as a user runs them: only
the partitions a request reads, batch observe functions, retries, and a failing
observation reported as that source partition's failure (issue 12, item 1)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import run_cli, write_project

PROJECT = """
from pathlib import Path

import pandas as pd
from partita import DailyPartitions, Definitions, RetryPolicy, asset, source

HERE = Path(__file__).parent
DAYS = DailyPartitions(start="2025-01-01", end="2025-01-11")  # 10 days


def note(line: str) -> None:
    with (HERE / "calls.log").open("a") as calls:
        calls.write(line + "\\n")


@source(partitions=DAYS, retry=RetryPolicy(max_attempts=2, delay=0))
def vendor(context) -> str:
    note(f"vendor {context.partition_key}")
    if context.partition_key == "2025-01-04" and not (HERE / "fixed").exists():
        raise ConnectionError("database is down")
    return "v1"


@source(partitions=DAYS, batch=True)
def prices(context) -> dict[str, str]:
    note("prices " + ",".join(context.partition_keys))
    return {key: "p1" for key in context.partition_keys}


@asset(partitions=DAYS, deps=[vendor, prices])
def orders(context) -> pd.DataFrame:
    return pd.DataFrame({"day": [context.partition_key]})


@asset(partitions=DAYS)
def report(orders: pd.DataFrame) -> pd.DataFrame:
    return orders


defs = Definitions(assets=[orders, report], sources=[vendor, prices])
"""

ALL_DAYS = [f"2025-01-{d:02d}" for d in range(1, 11)]


def calls(project: Path) -> list[str]:
    """The observe calls made since the last look (the log is emptied)."""
    log = project / "calls.log"
    if not log.exists():
        return []
    lines = log.read_text().splitlines()
    log.unlink()
    return lines


def test_plan_of_another_day_observes_only_that_day_and_succeeds(tmp_path: Path) -> None:
    project = write_project(tmp_path / "p", PROJECT)
    result = run_cli(["plan", "--partition", "2025-01-06", "--json"], project)
    assert result.returncode == 0, result.stderr
    assert sorted(calls(project)) == ["prices 2025-01-06", "vendor 2025-01-06"]
    data = json.loads(result.stdout)
    assert [(s["asset"], s["count"]) for s in data["steps"]] == [("orders", 1), ("report", 1)]
    assert data["failed_observations"] == [] and data["blocked"] == []


def test_plan_reports_a_failed_observation_and_blocks_only_its_readers(tmp_path: Path) -> None:
    project = write_project(tmp_path / "p", PROJECT)
    result = run_cli(["plan"], project)
    assert result.returncode == 0, result.stderr
    seen = calls(project)
    assert seen.count("vendor 2025-01-04") == 2  # the source's retry policy: two attempts
    assert sorted(c for c in seen if c.startswith("vendor")) == sorted(
        [f"vendor {d}" for d in ALL_DAYS] + ["vendor 2025-01-04"]
    )
    assert [c for c in seen if c.startswith("prices")] == ["prices " + ",".join(ALL_DAYS)]
    assert "warning: 1 source partition could not be observed" in result.stderr
    text = result.stdout
    assert "observation failed: vendor 2025-01-04: ConnectionError: database is down" in text
    assert (
        "blocked: orders 2025-01-04 (1): needs vendor 2025-01-04 (1), "
        "whose observation failed: ConnectionError: database is down" in text
    )
    assert "18 partitions of 2 assets to build, 2 blocked" in text

    why = run_cli(["plan", "--explain", "orders:2025-01-04"], project, check=True).stdout
    assert "blocked" in why and "whose observation failed: ConnectionError" in why
    data = json.loads(run_cli(["plan", "--json"], project, check=True).stdout)
    assert data["failed_observations"] == [
        {
            "asset": "vendor",
            "partition": "2025-01-04",
            "error": "ConnectionError: database is down",
            "attempts": 2,
        }
    ]
    assert data["blocked"][0]["detail"] == (
        "whose observation failed: ConnectionError: database is down"
    )


def test_materialize_builds_every_other_day_and_records_the_failure(tmp_path: Path) -> None:
    project = write_project(tmp_path / "p", PROJECT)
    args = ["materialize", "--from", "2025-01-02", "--to", "2025-01-06", "--executor", "inprocess"]
    result = run_cli([*args, "--json"], project)
    assert result.returncode == 1, result.stderr  # something failed: the observation
    run = json.loads(result.stdout)
    assert run["status"] == "failed" and run["counts"] == {"failed": 1, "succeeded": 8}
    failed = [t for t in run["tasks"] if t["status"] == "failed"]
    assert failed == [
        {
            "asset": "vendor",
            "partition": "2025-01-04",
            "status": "failed",
            "attempts": 2,
            "reason": "observation failed",
            "error": "observation failed: ConnectionError: database is down",
            "duration_s": 0.0,
            "warnings": [],
        }
    ]
    assert len(run["blocked"]) == 2
    # only the requested days were observed (the batch source in one call)
    observed = calls(project)
    assert {c.split()[1] for c in observed if c.startswith("vendor")} == set(ALL_DAYS[1:6])
    assert [c for c in observed if c.startswith("prices")] == ["prices " + ",".join(ALL_DAYS[1:6])]

    runs = json.loads(run_cli(["runs", "--json"], project, check=True).stdout)["runs"]
    assert runs[0]["status"] == "failed" and runs[0]["steps"] == {"failed": 1, "succeeded": 8}
    logs = run_cli(
        ["logs", runs[0]["run_id"], "--asset", "vendor", "--partition", "2025-01-04"], project
    )
    assert logs.returncode == 0, logs.stderr
    assert "attempt 2: failed" in logs.stdout
    assert 'raise ConnectionError("database is down")' in logs.stdout
    status = json.loads(run_cli(["status", "--json"], project, check=True).stdout)
    by_asset = {a["asset"]: a for a in status["assets"]}
    assert by_asset["vendor"]["failed"] == 1
    assert by_asset["vendor"]["failed_partitions"]["ranges"] == [["2025-01-04", "2025-01-04"]]
    assert by_asset["orders"]["missing_partitions"]["ranges"][0] == ["2025-01-01", "2025-01-01"]

    # the database is back: the day is observed again, its failure ends, its readers build
    (project / "fixed").touch()
    again = run_cli([*args, "--json"], project)
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["counts"] == {"succeeded": 2}
    status = json.loads(run_cli(["status", "--json"], project, check=True).stdout)
    assert {a["asset"]: a["failed"] for a in status["assets"]}["vendor"] == 0


def test_materialize_records_a_run_when_only_an_observation_failed(tmp_path: Path) -> None:
    project = write_project(tmp_path / "p", PROJECT)
    result = run_cli(
        ["materialize", "--partition", "2025-01-04", "--executor", "inprocess"], project
    )
    assert result.returncode == 1
    assert "vendor[2025-01-04]: observation failed: ConnectionError: database is down" in (
        result.stdout
    )
    assert "see: partita logs" in result.stdout
    runs = json.loads(run_cli(["runs", "--json"], project, check=True).stdout)["runs"]
    assert [(r["status"], r["steps"]) for r in runs] == [("failed", {"failed": 1})]


KEYED_SOURCE = """
from pathlib import Path

import pandas as pd
from partita import DailyPartitions, Definitions, asset, source

HERE = Path(__file__).parent
DAYS = DailyPartitions(start="2025-01-01", end="2025-01-04")


@source(key="landing/orders", partitions=DAYS)
def observe_orders(context) -> str:
    with (HERE / "calls.log").open("a") as calls:
        calls.write(f"orders {context.partition_key}\\n")
    return "v1"


@asset(partitions=DAYS, deps=["landing/orders"])
def orders(context) -> pd.DataFrame:
    return pd.DataFrame({"day": [context.partition_key]})


defs = Definitions(assets=[orders], sources=[observe_orders])
"""


def test_source_decorator_with_key_and_partitions_observes_and_builds(tmp_path: Path) -> None:
    """Issue 12 item 5: ``@source(key=..., partitions=...)`` on a function used to fail with
    ``source landing/orders has no function to call``."""
    project = write_project(tmp_path / "p", KEYED_SOURCE)
    listed = run_cli(["list"], project)
    assert listed.returncode == 0, listed.stderr
    assert "landing/orders" in listed.stdout
    result = run_cli(
        ["materialize", "--partition", "2025-01-02", "--executor", "inprocess", "--json"], project
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["counts"] == {"succeeded": 1}
    assert calls(project) == ["orders 2025-01-02"]
