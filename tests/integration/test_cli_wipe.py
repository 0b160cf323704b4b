"""``partita wipe`` through the command line, as the issue's user met it (issue 12,
item 3): an integer column that was float one day, then text; the refusal names
the command; ``wipe`` asks before deleting, and the rebuild works. Real Parquet
files and a real DuckDB file, the CLI as a subprocess."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

from partita import api
from tests.conftest import run_cli, write_project

D1, D2, D3 = "2026-11-20", "2026-11-21", "2026-11-22"

PROJECT = """
from pathlib import Path

import pandas as pd
from partita.assets import asset
from partita.definitions import Definitions
from partita.io import DuckDBStore
from partita.partitions import DailyPartitions
from partita.policies import RetryPolicy

HERE = Path(__file__).parent
STORE = {store}


@asset(
    partitions=DailyPartitions(start="2026-11-20", end="2026-11-24"),
    store=STORE,
    retry=RetryPolicy(max_attempts=3, delay=0.01),
)
def deals(context) -> pd.DataFrame:
    mode = (HERE / "mode").read_text().strip()
    if mode == "float":  # a left join left a NaN: the column comes out as float
        return pd.DataFrame({{"deals": [1.0, float("nan")]}})
    if mode == "int":
        return pd.DataFrame({{"deals": [3, 4]}})
    return pd.DataFrame({{"deals": ["many"]}})


defs = Definitions(assets=[deals])
"""

STORES = {"parquet": "None", "duckdb": 'DuckDBStore(HERE / "warehouse.duckdb")'}


def _partita(folder: Path, args: list[str], *, answer: str | None = None) -> tuple[int, str]:
    """Run ``partita`` with stdin not a terminal (``answer`` None) or a terminal that
    types ``answer``; return the exit status and everything printed."""
    exe = Path(sys.executable).with_name("partita")
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
    if answer is None:
        done = subprocess.run(
            [str(exe), *args],
            cwd=folder,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
            check=False,
        )
        return done.returncode, done.stdout + done.stderr
    main, terminal = pty.openpty()
    try:
        os.write(main, answer.encode())
        done = subprocess.run(
            [str(exe), *args],
            cwd=folder,
            stdin=terminal,
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
            check=False,
        )
    finally:
        os.close(terminal)
        os.close(main)
    return done.returncode, done.stdout + done.stderr


def _materialize(folder: Path, mode: str, *args: str) -> dict[str, object]:
    (folder / "mode").write_text(mode)
    result = run_cli(["materialize", *args, "--json"], folder)
    data: dict[str, object] = json.loads(result.stdout)
    return data


def _reasons(folder: Path) -> dict[str, list[str]]:
    plan = api.plan(api.load_project(file=folder / "defs.py"))
    return {
        key: [r.reason.value for r in step.reasons_for(key)]
        for step in plan.steps
        for key in step.partitions
    }


@pytest.mark.parametrize("store", sorted(STORES))
def test_a_type_change_widens_or_is_refused_and_wipe_clears_the_way(
    store: str, tmp_path: Path
) -> None:
    folder = write_project(tmp_path / "p", PROJECT.format(store=STORES[store]))
    assert _materialize(folder, "float", "--partition", D1)["status"] == "succeeded"
    # integers after a float day: safe widening, no error (the issue: refused)
    assert _materialize(folder, "int", "--partition", D2)["status"] == "succeeded"

    refused = _materialize(folder, "text", "--partition", D3)
    assert refused["status"] == "failed"
    tasks = refused["tasks"]
    assert isinstance(tasks, list) and len(tasks) == 1
    task = tasks[0]
    assert task["attempts"] == 1  # deterministic: not retried by RetryPolicy(max_attempts=3)
    assert "column 'deals' changes type from" in task["error"]
    logs = run_cli(["logs", str(refused["run_id"]), "--asset", "deals"], folder).stdout
    assert "partita wipe deals" in logs

    status, out = _partita(folder, ["wipe", "deals"])
    assert status == 2
    assert "2 partition(s) of deals: 2026-11-20, 2026-11-21" in out and "--yes" in out
    status, out = _partita(folder, ["wipe", "deals", "--partition", D1, "--dry-run"])
    assert (status, out.strip()) == (0, f"would wipe 1 partition(s) of deals: {D1}")
    status, out = _partita(folder, ["wipe", "deals"], answer="n\n")
    assert status == 1 and "nothing wiped" in out
    assert "failed" in _reasons(folder)[D3] and D1 not in _reasons(folder)

    status, out = _partita(folder, ["wipe", "deals"], answer="y\n")
    assert status == 0, out
    assert "wiped 2 partition(s) of deals: 2026-11-20, 2026-11-21" in out
    reasons = _reasons(folder)
    assert {day: reasons[day] for day in (D1, D2, D3)} == {
        D1: ["missing"],
        D2: ["missing"],
        D3: ["missing"],  # the wipe is newer than the failure
    }

    rebuilt = _materialize(folder, "text", "--from", D1, "--to", D3)
    assert rebuilt["status"] == "succeeded", rebuilt

    status, out = _partita(folder, ["wipe", "deals", "--partition", D2, "--yes", "--json"])
    assert status == 0
    assert json.loads(out) == {
        "asset": "deals",
        "partitions": [D2],
        "whole_asset": False,
        "dry_run": False,
    }
    assert D2 in _reasons(folder) and D1 not in _reasons(folder)


def test_wipe_names_an_unknown_asset(tmp_path: Path) -> None:
    folder = write_project(tmp_path / "p", PROJECT.format(store="None"))
    status, out = _partita(folder, ["wipe", "dealz", "--yes"])
    assert status == 1
    assert "unknown asset 'dealz'" in out and "did you mean 'deals'" in out
