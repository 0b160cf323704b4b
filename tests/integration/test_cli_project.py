"""The CLI as a user types it: a subprocess in a temporary project folder."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import run_cli, write_project

PROJECT = """
import pandas as pd
from partita import DailyPartitions, Definitions, In, TimeWindow, asset

daily = DailyPartitions(start="2025-01-01", end="2025-03-31")

@asset(partitions=daily, group="sales")
def raw_orders() -> pd.DataFrame:
    \"\"\"Orders as they land.\"\"\"
    return pd.DataFrame()

@asset(partitions=daily, group="sales")
def clean_orders(raw_orders: pd.DataFrame) -> pd.DataFrame:
    return raw_orders

@asset(partitions=daily, group="reporting",
       ins={"clean_orders": In(mapping=TimeWindow(start_offset=-6))})
def weekly_revenue(clean_orders: pd.DataFrame) -> pd.DataFrame:
    return clean_orders

defs = Definitions(assets=[raw_orders, clean_orders, weekly_revenue])
"""


def test_list_graph_validate(tmp_path: Path) -> None:
    project = write_project(tmp_path / "p", PROJECT)
    listed = run_cli(["list"], project, check=True)
    assert "raw_orders" in listed.stdout and "Orders as they land." in listed.stdout
    assert "3 assets, 0 sources" in listed.stdout
    data = json.loads(run_cli(["list", "--json"], project, check=True).stdout)
    assert [a["key"] for a in data["assets"]] == ["raw_orders", "clean_orders", "weekly_revenue"]
    assert data["assets"][1]["upstream"] == ["raw_orders"]
    assert data["assets"][0]["dimensions"] == ["date"]

    graph = json.loads(run_cli(["graph", "--format", "json"], project, check=True).stdout)
    assert {(e["upstream"], e["downstream"]) for e in graph["edges"]} == {
        ("raw_orders", "clean_orders"),
        ("clean_orders", "weekly_revenue"),
    }
    assert graph["generations"] == [["raw_orders"], ["clean_orders"], ["weekly_revenue"]]
    mermaid = run_cli(["graph", "--format", "mermaid"], project, check=True).stdout
    assert mermaid.startswith("flowchart LR") and "raw_orders --> clean_orders" in mermaid
    assert "TimeWindow" in mermaid
    dot = run_cli(["graph", "+clean_orders", "--format", "dot"], project, check=True).stdout
    assert '"raw_orders" -> "clean_orders"' in dot and "weekly_revenue" not in dot
    text = run_cli(["graph"], project, check=True).stdout
    assert "raw_orders" in text and "weekly_revenue" in text

    ok = run_cli(["validate"], project, check=True)
    assert "ok: 3 assets, 0 sources, 2 dependencies" in ok.stdout
    sub = json.loads(run_cli(["list", "group:reporting", "--json"], project, check=True).stdout)
    assert [a["key"] for a in sub["assets"]] == ["weekly_revenue"]


def test_file_and_module_options(tmp_path: Path) -> None:
    project = write_project(tmp_path / "p", PROJECT, pyproject=False)
    by_file = run_cli(["validate", "-f", "defs.py"], project, check=True)
    assert "ok: 3 assets" in by_file.stdout
    by_module = run_cli(["validate", "-m", "defs"], project, check=True)
    assert "ok: 3 assets" in by_module.stdout
    both = run_cli(["validate", "-f", "defs.py", "-m", "defs"], project)
    assert both.returncode == 2 and "not both" in both.stderr


def test_errors_are_one_line_with_a_hint(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    missing = run_cli(["list"], empty)
    assert missing.returncode == 1
    assert "error: no Partita project found" in missing.stderr
    assert "hint:" in missing.stderr and "Traceback" not in missing.stderr

    cyclic = write_project(
        tmp_path / "cyc",
        """
        from partita import Definitions, asset

        @asset
        def a(b): ...

        @asset
        def b(a): ...

        defs = Definitions(assets=[a, b])
        """,
    )
    result = run_cli(["validate"], cyclic)
    assert result.returncode == 1
    assert "cycle: a -> b -> a" in result.stderr or "cycle: b -> a -> b" in result.stderr
    assert "Traceback" not in result.stderr
    debug = run_cli(["--debug", "validate"], cyclic)
    assert debug.returncode == 1 and "Traceback" in debug.stderr

    project = write_project(tmp_path / "p", PROJECT)
    unknown = run_cli(["list", "clean_order"], project)
    assert unknown.returncode == 1 and "did you mean 'clean_orders'" in unknown.stderr
    usage = run_cli(["graph", "--format", "png"], project)
    assert usage.returncode == 2 and "png" in usage.stderr
    assert run_cli(["no-such-command"], project).returncode == 2


def test_file_option_before_or_after_the_command(tmp_path: Path) -> None:
    project = write_project(tmp_path / "p", PROJECT, pyproject=False)
    (project / "defs.py").rename(project / "pipeline.py")
    after = run_cli(["list", "--json", "-f", "pipeline.py"], project, check=True)
    before = run_cli(["-f", "pipeline.py", "list", "--json"], project, check=True)
    assert json.loads(before.stdout) == json.loads(after.stdout)
    assert len(json.loads(before.stdout)["assets"]) == 3
    same = run_cli(["--file", "pipeline.py", "plan", "-f", "pipeline.py"], project, check=True)
    assert "raw_orders" in same.stdout
    clash = run_cli(["-f", "pipeline.py", "list", "-f", "other.py"], project)
    assert clash.returncode == 2
    assert "-f/--file is given twice" in clash.stderr


def test_python_dash_m_partita_is_the_partita_command() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "partita", "--version"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("partita, version ")
    assert done.stderr == ""


PIPELINE = """
import pandas as pd
from partita import DailyPartitions, Definitions, asset

days = DailyPartitions(start="2025-01-01", end="2025-01-04")

@asset(partitions=days, key="{name}/raw")
def raw() -> pd.DataFrame:
    return pd.DataFrame({{"x": [1, 2]}})

@asset(partitions=days, key="{name}/total")
def total(raw: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({{"total": [int(raw["x"].sum())]}})

defs = Definitions(assets=[raw, total], pools={{"shared": 1}})
"""


def test_merged_pipelines_run_in_worker_processes(tmp_path: Path) -> None:
    """Definitions.merge of two pipeline modules: the process executor's workers load the
    same declarations, and a second plan has nothing to do."""
    project = write_project(
        tmp_path / "p",
        "from partita import Definitions\n"
        "from pipelines import marketing, sales\n\n"
        "defs = Definitions.merge(sales.defs, marketing.defs)\n",
    )
    (project / "pipelines").mkdir()
    for name in ("sales", "marketing"):
        (project / "pipelines" / f"{name}.py").write_text(PIPELINE.format(name=name))
    run = run_cli(["materialize", "--executor", "process", "--max-workers", "2"], project)
    assert run.returncode == 0, run.stdout + run.stderr
    plan = json.loads(run_cli(["plan", "--json"], project, check=True).stdout)
    assert plan["total_partitions"] == 0, plan
    listed = json.loads(run_cli(["list", "--json"], project, check=True).stdout)
    assert {a["key"] for a in listed["assets"]} == {
        "sales/raw",
        "sales/total",
        "marketing/raw",
        "marketing/total",
    }
