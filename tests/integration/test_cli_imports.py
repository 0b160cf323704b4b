"""What each command imports: start-up stays short because nothing heavy loads unasked.

Each command runs as a user runs it (a subprocess in the project's folder), with
``sys.modules`` written out at exit. The project is Parquet-only, with no
built-in (SQL) check and no config model, so no command needs DuckDB, sqlglot,
networkx (the graph orders itself) or pydantic; ``--help`` and ``--version``
need nothing but click; ``--json`` output needs no rich; planning needs
neither the runner nor the stores' datasets. A worker of the process executor
imports what its steps use: no DuckDB or sqlglot here either.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import run_cli, write_project

PROJECT = """
import json
import sys
from pathlib import Path

import pandas as pd

from partita.assets import asset
from partita.definitions import Definitions
from partita.partitions import DailyPartitions

DAYS = DailyPartitions(start="2026-01-01", end="2026-01-04")
HERE = Path(__file__).parent


@asset(partitions=DAYS)
def raw(context) -> pd.DataFrame:
    return pd.DataFrame({"day": [context.partition_key], "amount": [1.5]})


@asset(partitions=DAYS)
def clean(raw: pd.DataFrame) -> pd.DataFrame:
    (HERE / "worker_modules.json").write_text(json.dumps(sorted(sys.modules)))
    return raw


defs = Definitions(assets=[raw, clean])
"""

DUMP_MODULES = (
    "import atexit, json, sys\n"
    "atexit.register(lambda: sys.stderr.write('\\nMODULES ' + json.dumps(sorted(sys.modules))))\n"
    "from partita.cli.main import main\n"
    "main()\n"
)

NEVER = {"duckdb", "sqlglot", "networkx", "pydantic"}
"""Imported by no command of this project (nor by its workers)."""

JUST_CLICK = {
    *NEVER,
    "rich",
    "pandas",
    "numpy",
    "pyarrow",
    "importlib.metadata",
    "partita.api",
    "partita.graph",
    "partita.catalog",
}
"""What ``--help`` and ``--version`` import none of."""


def imported(args: list[str], cwd: Path) -> set[str]:
    """The modules loaded when ``partita ARGS`` exits (it must succeed)."""
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
    done = subprocess.run(
        [sys.executable, "-c", DUMP_MODULES, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, f"partita {' '.join(args)}:\n{done.stdout}\n{done.stderr[:2000]}"
    line = next(ln for ln in done.stderr.splitlines() if ln.startswith("MODULES "))
    return set(json.loads(line.removeprefix("MODULES ")))


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project, built once with the process executor."""
    project = write_project(tmp_path_factory.mktemp("imports") / "p", PROJECT)
    run_cli(["materialize", "--executor", "process", "--json"], project, check=True)
    return project


@pytest.mark.parametrize("args", [["--help"], ["--version"], ["-h"]])
def test_help_and_version_import_click_and_nothing_heavy(args: list[str], tmp_path: Path) -> None:
    loaded = imported(args, tmp_path)
    assert "click" in loaded
    assert loaded & JUST_CLICK == set()
    assert {m for m in loaded if m.startswith("partita.")} <= {
        "partita.cli",
        "partita.cli.app",
        "partita.cli.main",
        "partita.errors",
        "partita.lazy",
        "partita.release",
    }


def test_plan_json_needs_no_rich_no_runner_and_no_datasets(built: Path) -> None:
    loaded = imported(["plan", "--json"], built)
    assert "partita.planner" in loaded and "pandas" in loaded  # pandas: the project's own
    assert loaded & (NEVER | {"rich", "partita.runner", "pyarrow.dataset"}) == set()


@pytest.mark.parametrize(
    "args",
    [
        ["plan"],
        ["plan", "--help"],
        ["list", "--json"],
        ["graph"],
        ["status", "--json"],
        ["history", "clean", "--json"],
        ["lineage", "clean", "-p", "2026-01-02", "--json"],
        ["runs"],
        ["verify", "--json"],
        ["materialize", "--json"],
    ],
)
def test_no_command_imports_what_it_does_not_need(args: list[str], built: Path) -> None:
    loaded = imported(args, built)
    assert loaded & NEVER == set(), " ".join(args)


def test_a_worker_imports_what_its_steps_use(built: Path) -> None:
    worker = set(json.loads((built / "worker_modules.json").read_text()))
    assert "partita.runner.worker" in worker and "pandas" in worker
    assert worker & NEVER == set()
    assert "rich" not in worker
