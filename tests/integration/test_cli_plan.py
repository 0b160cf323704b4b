"""``partita plan`` as a user types it, on a temporary project."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import run_cli, write_project

PROJECT = """
import pandas as pd
from pydantic import BaseModel
from partita import DailyPartitions, Definitions, In, TimeWindow, asset

daily = DailyPartitions(start="2025-01-01", end="2025-01-11")

class Threshold(BaseModel):
    min_amount: float = 0.0

@asset(partitions=daily)
def raw_orders() -> pd.DataFrame:
    return pd.DataFrame({"amount": [1.0]})

@asset(partitions=daily)
def clean_orders(raw_orders: pd.DataFrame, config: Threshold) -> pd.DataFrame:
    return raw_orders[raw_orders.amount >= config.min_amount]

@asset(partitions=daily, ins={"clean_orders": In(mapping=TimeWindow(start_offset=-6))})
def weekly(clean_orders: pd.DataFrame) -> pd.DataFrame:
    return clean_orders

defs = Definitions(assets=[raw_orders, clean_orders, weekly])
"""


def test_plan_of_a_fresh_project(tmp_path: Path) -> None:
    project = write_project(tmp_path / "p", PROJECT)
    text = run_cli(["plan"], project, check=True).stdout
    assert "raw_orders" in text and "2025-01-01..2025-01-10 (10)" in text
    assert "30 partitions of 3 assets to build" in text
    data = json.loads(run_cli(["plan", "--json"], project, check=True).stdout)
    assert data["total_partitions"] == 30 and data["total_steps"] == 3
    assert [s["asset"] for s in data["steps"]] == ["raw_orders", "clean_orders", "weekly"]
    assert data["steps"][0]["reasons"][0]["reason"] == "missing"

    one = json.loads(
        run_cli(["plan", "+clean_orders", "--partition", "2025-01-03", "--json"], project).stdout
    )
    assert one["total_partitions"] == 2
    ranged = json.loads(
        run_cli(
            ["plan", "raw_orders", "--from", "2025-01-02", "--to", "2025-01-04", "--json"], project
        ).stdout
    )
    assert ranged["steps"][0]["count"] == 3


def test_explain_and_config(tmp_path: Path) -> None:
    project = write_project(tmp_path / "p", PROJECT)
    why = run_cli(["plan", "--explain", "weekly:2025-01-05"], project, check=True).stdout
    assert "weekly 2025-01-05" in why and "missing: never materialized" in why
    assert "clean_orders 2025-01-05" in why
    data = json.loads(run_cli(["plan", "-c", "min_amount=5", "--json"], project, check=True).stdout)
    assert data["request"]["config_hashes"]["clean_orders"]


def test_plan_errors(tmp_path: Path) -> None:
    project = write_project(tmp_path / "p", PROJECT)
    bad_key = run_cli(["plan", "--partition", "2025-02-30"], project)
    assert bad_key.returncode == 1
    assert "DailyPartitions" in bad_key.stderr and "2025-01-01" in bad_key.stderr
    both = run_cli(["plan", "--partition", "2025-01-01", "--from", "2025-01-01"], project)
    assert both.returncode == 1 and "not both" in both.stderr
    config = run_cli(["plan", "-c", "nope=1"], project)
    assert config.returncode == 1 and "fits no selected asset" in config.stderr
    invalid = run_cli(["plan", "-c", "min_amount=abc"], project)
    assert invalid.returncode == 1 and "clean_orders" in invalid.stderr
    explain = run_cli(["plan", "--explain", "weekly"], project)
    assert explain.returncode == 1 and "say which partition" in explain.stderr
    unknown = run_cli(["plan", "wekly"], project)
    assert unknown.returncode == 1 and "did you mean 'weekly'" in unknown.stderr


NESTED_CONFIG = """
from pydantic import BaseModel
from partita import Definitions, asset

class Window(BaseModel):
    days: int = 1

class ReportConfig(BaseModel):
    window: Window = Window()

@asset
def report(config: ReportConfig) -> None:
    return None

defs = Definitions(assets=[report])
"""


def test_config_for_a_nested_model_and_for_one_asset(tmp_path: Path) -> None:
    project = write_project(tmp_path / "p", NESTED_CONFIG)

    def hashes(*assignments: str) -> dict[str, str]:
        args = ["plan", "--json", *(a for pair in assignments for a in ("-c", pair))]
        data = json.loads(run_cli(args, project, check=True).stdout)
        return dict(data["request"]["config_hashes"])

    default = hashes()
    shared = hashes('window={"days": 3}')
    assert shared["report"] != default["report"]
    assert hashes('report.window={"days": 3}') == shared
    typo = run_cli(["plan", "-c", 'report.windw={"days": 3}'], project)
    assert typo.returncode == 1
    assert "report has no config field 'windw'; did you mean 'window'?" in typo.stderr
    unknown = run_cli(["plan", "-c", "reprt.window=1"], project)
    assert unknown.returncode == 1 and "did you mean 'report'?" in unknown.stderr


CODE_PROJECT = """
import pandas as pd
from partita import DailyPartitions, Definitions, asset
from transforms import normalize_amount

days = DailyPartitions(start="2025-01-01", end="2025-01-04")

@asset(partitions=days)
def orders() -> pd.DataFrame:
    return pd.DataFrame({"amount": [1.234, 5.678]})

@asset(partitions=days)
def clean_orders(orders: pd.DataFrame) -> pd.DataFrame:
    return orders.assign(amount=normalize_amount(orders.amount))

@asset(partitions=days, code_version="1")
def pinned(clean_orders: pd.DataFrame) -> pd.DataFrame:
    return clean_orders

defs = Definitions(assets=[orders, clean_orders, pinned])
"""

TRANSFORMS = """
DIGITS = 2

def normalize_amount(amounts):
    return amounts.round(DIGITS)
"""


def test_a_changed_helper_in_another_module_makes_partitions_stale_and_is_named(
    tmp_path: Path,
) -> None:
    project = write_project(tmp_path / "p", CODE_PROJECT)
    transforms = project / "transforms.py"
    transforms.write_text(TRANSFORMS, encoding="utf-8")
    run_cli(["materialize", "--executor", "inprocess"], project, check=True)
    assert json.loads(run_cli(["plan", "--json"], project, check=True).stdout)["steps"] == []

    transforms.write_text(
        '"""Helpers."""\n' + TRANSFORMS.replace("(DIGITS)", "(\n        DIGITS  # places\n    )"),
        encoding="utf-8",
    )
    assert json.loads(run_cli(["plan", "--json"], project, check=True).stdout)["steps"] == []

    transforms.write_text(TRANSFORMS.replace("amounts.round", "amounts.abs().round"))
    data = json.loads(run_cli(["plan", "--json"], project, check=True).stdout)
    [clean] = [s for s in data["steps"] if s["asset"] == "clean_orders"]
    assert clean["count"] == 3
    assert [r["reason"] for r in clean["reasons"]] == ["code_changed"]
    assert "orders" not in {s["asset"] for s in data["steps"]}
    why = run_cli(["plan", "--explain", "clean_orders:2025-01-02"], project, check=True).stdout
    assert "code_changed: helper `normalize_amount` in transforms.py changed" in why

    transforms.write_text(TRANSFORMS.replace("DIGITS = 2", "DIGITS = 3"))
    why = run_cli(["plan", "--explain", "clean_orders:2025-01-02"], project, check=True).stdout
    assert "code_changed: constant `DIGITS` in transforms.py changed" in why
    assert "helper `normalize_amount`" not in why

    (project / "defs.py").write_text(
        CODE_PROJECT.replace('code_version="1"', 'code_version="2"'), encoding="utf-8"
    )
    why = run_cli(["plan", "--explain", "pinned:2025-01-02"], project, check=True).stdout
    assert "code_changed: code version 1 -> 2" in why


OPEN_ENDED = """
import pandas as pd
from partita import DailyPartitions, Definitions, asset

@asset(partitions=DailyPartitions(start="2025-01-01"))
def orders(context) -> pd.DataFrame:
    return pd.DataFrame({"day": [context.partition_key]})

defs = Definitions(assets=[orders])
"""


def test_a_partition_in_the_future_does_not_exist_yet(tmp_path: Path) -> None:
    """Issue 12 item 6: it used to say "Nothing to do: every selected partition is up to
    date"; plan and materialize refuse it with exit status 1, saying when it will exist."""
    project = write_project(tmp_path / "p", OPEN_ENDED)
    for command in (["plan"], ["materialize", "--executor", "inprocess"]):
        result = run_cli([*command, "--partition", "2030-01-01"], project)
        assert result.returncode == 1, result.stdout
        assert "up to date" not in result.stdout
        assert (
            "error: partition 2030-01-01 of orders (daily from 2025-01-01 (UTC)) does not "
            "exist yet: a time partition exists once its window is complete; it exists from "
            "2030-01-02 00:00 UTC"
        ) in " ".join(result.stderr.split())
        assert "hint: the newest partition now is" in result.stderr
    assert not (project / ".partita" / "data" / "orders").exists()
    ranged = run_cli(["plan", "--from", "2025-01-01", "--to", "2030-01-01"], project)
    assert ranged.returncode == 1 and "do not exist yet" in ranged.stderr
    past = run_cli(["plan", "--partition", "2025-01-05", "--json"], project, check=True)
    assert json.loads(past.stdout)["total_partitions"] == 1
