"""`partita materialize` as a user types it, in a temporary project folder."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import run_cli, write_project

PROJECT = """
import pandas as pd
from pydantic import BaseModel
from partita.assets import asset
from partita.definitions import Definitions
from partita.partitions import DailyPartitions

DAYS = DailyPartitions(start="2025-01-01", end="2025-01-04")

class Scale(BaseModel):
    factor: int = 1

@asset(partitions=DAYS)
def raw(context) -> pd.DataFrame:
    return pd.DataFrame({"x": [1, 2]})

@asset(partitions=DAYS)
def scaled(raw: pd.DataFrame, config: Scale) -> pd.DataFrame:
    if config.factor < 0:
        raise ValueError("negative factor")
    return raw.assign(y=raw.x * config.factor)

defs = Definitions(assets=[raw, scaled])
"""


def test_materialize_then_nothing_to_do(tmp_path: Path) -> None:
    folder = write_project(tmp_path / "p", PROJECT)
    first = run_cli(["materialize", "--executor", "thread"], folder, check=True)
    assert "built 6 partitions in 6 tasks" in first.stdout
    assert "[6/6]" in first.stderr  # plain progress lines when not a terminal
    again = run_cli(["materialize"], folder, check=True)
    assert "nothing to do" in again.stdout


def test_materialize_json_config_and_failure_exit_status(tmp_path: Path) -> None:
    folder = write_project(tmp_path / "p", PROJECT)
    one = run_cli(["materialize", "--partition", "2025-01-02", "--json", "-c", "factor=3"], folder)
    assert one.returncode == 0, one.stderr
    data = json.loads(one.stdout)
    assert data["status"] == "succeeded" and data["counts"] == {"succeeded": 2}
    assert {t["partition"] for t in data["tasks"]} == {"2025-01-02"}
    bad = run_cli(
        [
            "materialize",
            "scaled",
            "--from",
            "2025-01-01",
            "--to",
            "2025-01-02",
            "-c",
            "factor=-1",
            "--force",
        ],
        folder,
    )
    assert bad.returncode == 1
    assert "scaled[2025-01-02]: ValueError: negative factor" in bad.stdout
    assert "partita logs " in bad.stdout and "--asset scaled --partition 2025-01-02" in bad.stdout
    run_id = bad.stdout.split()[1]
    logs = run_cli(["logs", run_id, "--asset", "scaled", "--partition", "2025-01-02"], folder)
    assert "ValueError: negative factor" in logs.stdout


def test_materialize_rejects_bad_options(tmp_path: Path) -> None:
    folder = write_project(tmp_path / "p", PROJECT)
    both = run_cli(["materialize", "--partition", "2025-01-01", "--from", "2025-01-01"], folder)
    assert both.returncode != 0 and "--from" in both.stderr
    wrong = run_cli(["materialize", "--executor", "ray"], folder)
    assert wrong.returncode == 2
