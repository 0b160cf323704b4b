"""Concurrent overlapping backfills (real `partita materialize` processes) build each
partition once: a run that finds a partition built by another run while it waited
takes that build instead of rebuilding it.

Counted two ways: the builds the asset functions themselves record in a file, and
the succeeded attempts in the catalog. Every run records an attempt for every task
it planned, so the catalog holds one attempt per planned partition per run (here 3
runs of 24 days of 3 assets); all but one per partition are ``skipped: built by run
X``. Counting those as builds gives the inflated figure of issue 13 item 11 (132
"builds" for 60 partitions were 3 backfills of 44 partitions each).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from partita.api import load_project, materialize, plan_project
from partita.catalog.sqlite import SQLiteCatalog
from partita.runner import RunOptions, run_plan
from tests.conftest import run_cli, write_project

BACKFILL = """
import os
import time
from pathlib import Path

import pandas as pd

from partita import In, TimeWindow
from partita.assets import asset
from partita.definitions import Definitions
from partita.partitions import DailyPartitions

DAYS = DailyPartitions(start="2025-01-01", end="2025-01-31")
TRACE = Path(__file__).with_name("builds")


def _built(name: str, key: str) -> None:
    with TRACE.open("a") as out:
        out.write(f"{name} {key} {os.getpid()}\\n")


@asset(partitions=DAYS)
def raw(context) -> pd.DataFrame:
    _built("raw", context.partition_key)
    time.sleep(0.2)
    return pd.DataFrame({"day": [context.partition_key], "n": [1]})


@asset(partitions=DAYS)
def daily(context, raw: pd.DataFrame) -> pd.DataFrame:
    _built("daily", context.partition_key)
    return raw.assign(n=raw["n"] * 2)


@asset(partitions=DAYS, ins={"raw": In("raw", mapping=TimeWindow(start_offset=-2))})
def rolling(context, raw: pd.DataFrame) -> pd.DataFrame:
    _built("rolling", context.partition_key)
    return pd.DataFrame({"day": [context.partition_key], "n": [len(raw)]})


defs = Definitions(assets=[raw, daily, rolling])
"""

RANGES = (("2025-01-01", "2025-01-14"), ("2025-01-07", "2025-01-22"), ("2025-01-15", "2025-01-30"))


@pytest.mark.slow
def test_three_overlapping_backfills_build_each_partition_once(tmp_path: Path) -> None:
    folder = write_project(tmp_path / "p", BACKFILL)
    run_cli(["plan"], folder, check=True)  # the catalog exists before the runs race
    exe = Path(sys.executable).with_name("partita")
    env = {**os.environ, "NO_COLOR": "1"}
    runs = [
        subprocess.Popen(
            [
                str(exe),
                "materialize",
                "--from",
                first,
                "--to",
                last,
                "--max-workers",
                "2",
                "--json",
            ],
            cwd=folder,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for first, last in RANGES
    ]
    run_ids = []
    for run in runs:
        out, err = run.communicate(timeout=300)
        assert run.returncode == 0, out + err
        run_ids.append(json.loads(out)["run_id"])
    names = ("raw", "daily", "rolling")
    expected = {(name, f"2025-01-{day:02d}") for name in names for day in range(1, 31)}
    lines = (folder / "builds").read_text().splitlines()
    builds = Counter(tuple(line.split()[:2]) for line in lines)
    assert set(builds) == expected
    assert {key: n for key, n in builds.items() if n > 1} == {}

    project = load_project(cwd=folder)
    with SQLiteCatalog(project.catalog_path) as catalog:
        attempts = [a for run_id in run_ids for a in catalog.attempts(run_id)]
    succeeded = Counter((a.asset, a.partition) for a in attempts if str(a.status) == "succeeded")
    assert set(succeeded) == expected
    assert set(succeeded.values()) == {1}
    others = [a for a in attempts if str(a.status) != "succeeded"]
    assert all(str(a.status) == "skipped" for a in others), others
    assert all(a.logs.startswith("skipped: built by run") for a in others), others
    assert "up to date" in run_cli(["plan"], folder, check=True).stdout.lower()


def test_partitions_built_between_a_runs_planning_and_its_start_are_not_rebuilt(
    tmp_path: Path,
) -> None:
    """The window the backfills above rarely hit, made certain: run B plans, run A
    builds the same partitions, then B starts; B takes A's builds, as the plan it
    started from had not seen them."""
    folder = write_project(tmp_path / "p", BACKFILL)
    project = load_project(cwd=folder)
    days = ("2025-01-01", "2025-01-03")
    with SQLiteCatalog(project.catalog_path) as catalog:
        planned = plan_project(project, partition_range=days, catalog=catalog)
    first = materialize(project, partition_range=days, executor="inprocess", handle_signals=False)
    assert first.success
    with SQLiteCatalog(project.catalog_path) as catalog:
        second = run_plan(
            planned.plan,
            project.graph,
            catalog,
            data_path=project.data_path,
            options=RunOptions(executor="inprocess", handle_signals=False),
            planned_from=planned.state,
        )
    assert {(o.status, o.reason) for o in second.outcomes} == {
        ("skipped", f"built by run {first.run_id}")
    }
    lines = (folder / "builds").read_text().splitlines()
    builds = Counter(tuple(line.split()[:2]) for line in lines)
    assert len(builds) == 9
    assert set(builds.values()) == {1}
