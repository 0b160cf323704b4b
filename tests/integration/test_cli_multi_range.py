"""A date range over a date x region asset selects every region (CLI, subprocesses)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import run_cli, write_project

PROJECT = """
import pandas as pd
from partita import DailyPartitions, Definitions, asset
from partita.partitions import MultiPartitions, StaticPartitions

parts = MultiPartitions(
    {"date": DailyPartitions(start="2025-01-01", end="2025-01-06"),
     "region": StaticPartitions(["eu", "us"])}
)

@asset(partitions=parts)
def sales(context) -> pd.DataFrame:
    return pd.DataFrame({"amount": [1.0]})

defs = Definitions(assets=[sales])
"""


def test_from_to_of_dates_builds_every_region_and_one_region_stays_possible(
    tmp_path: Path,
) -> None:
    write_project(tmp_path, PROJECT)
    done = run_cli(["materialize", "--from", "2025-01-02", "--to", "2025-01-03"], tmp_path)
    assert done.returncode == 0, done.stderr
    assert "built 4 partitions in 4 tasks" in done.stdout
    one = run_cli(["plan", "--json", "--partition", "2025-01-04|us"], tmp_path)
    assert one.returncode == 0, one.stderr
    steps = json.loads(one.stdout)["steps"]
    assert [s["partitions"]["ranges"] for s in steps] == [[["2025-01-04|us", "2025-01-04|us"]]]
    wiped = run_cli(["wipe", "sales", "--partition", "2025-01-02", "--yes"], tmp_path)
    assert wiped.returncode == 0, wiped.stderr
    assert "2025-01-02|eu, 2025-01-02|us" in wiped.stdout
    bad = run_cli(["plan", "--from", "2025-01-02|eu", "--to", "2025-01-03"], tmp_path)
    assert bad.returncode == 1
    assert "joined by '|'" in bad.stderr and "MultiPartitions" in bad.stderr
