"""A non-breaking change of a SQL model rebuilds only that model, from the CLI.

The project of ``tests/integration/test_sql_assets.py`` (orders -> the daily model
-> a 7-day window over it), in a temporary folder, driven by the ``partita``
command as a user would: a column added to the daily model is planned for the
model alone, built, and leaves the window up to date with its lineage unchanged,
while the model's history shows its true new data version (``partita verify``
re-hashes the stored data). What still propagates: new data in a partition of the
model, and a breaking change; the early cutoff works on the hashes the model kept.
The same on a PostgreSQL catalog (``PARTITA_CATALOG_URL``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from partita.api import Project, history, lineage, load_project, materialize, plan_project, verify
from partita.api.project import CATALOG_URL_VARIABLE
from tests.integration.test_sql_assets import DAILY, _project
from tests.postgres_support import PostgresServer

ADD_TOP = ("sum(amount) AS revenue", "sum(amount) AS revenue, max(amount) AS top")


def _cli(args: list[str], folder: Path, url: str | None = None) -> str:
    """``partita ARGS`` in ``folder`` (the catalog at ``url`` when given); its stdout."""
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
    env.pop("PARTITA_DEBUG", None)
    env.pop("PARTITA_CATALOG_URL", None)
    if url is not None:
        env["PARTITA_CATALOG_URL"] = url
    result = subprocess.run(
        [str(Path(sys.executable).with_name("partita")), *args],
        cwd=folder,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, f"partita {' '.join(args)}:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def _json(args: list[str], folder: Path, url: str | None = None) -> Any:
    return json.loads(_cli([*args, "--json"], folder, url))


def _built(run: dict[str, Any]) -> dict[str, list[str]]:
    """Per asset, the partitions a ``materialize --json`` run executed."""
    found: dict[str, list[str]] = {}
    for task in run["tasks"]:
        if task["status"] == "succeeded":
            found.setdefault(task["asset"], []).append(task["partition"])
    return {asset: sorted(keys) for asset, keys in found.items()}


def _planned(plan: dict[str, Any]) -> dict[str, int]:
    return {step["asset"]: step["count"] for step in plan["steps"]}


def _columns(folder: Path, asset: str, day: str) -> list[str]:
    path = folder / ".partita" / "data" / asset / f"date={day}" / "data.parquet"
    return list(pq.read_schema(path).names)


def _set_daily(folder: Path, text: str) -> None:
    (folder / "models" / "sales" / "daily.sql").write_text(text, encoding="utf-8")


DAYS = [f"2025-01-{d:02d}" for d in range(1, 11)]


def _load(folder: Path) -> Project:
    return load_project(file=folder / "defs.py")


def _build(folder: Path, **request: Any) -> dict[str, list[str]]:
    """Materialize in this process (the in-process executor); the partitions built."""
    result = materialize(_load(folder), executor="inprocess", handle_signals=False, **request)
    assert result.success, result.summary_lines()
    return _built(result.to_json())


def _lineage(folder: Path, asset: str, day: str) -> tuple[Any, Any]:
    """The nodes and edges of a partition's upstream lineage (without the edges'
    ``status``: whether an input was rebuilt since)."""
    found: dict[str, Any] = lineage(_load(folder), asset, day).to_dict()
    edges = [{k: v for k, v in e.items() if k != "status"} for e in found["edges"]]
    return found["nodes"], edges


def test_a_column_added_to_a_model_rebuilds_only_the_model(tmp_path: Path) -> None:
    folder = _project(tmp_path)
    _build(folder, partition_range=("2025-01-01", "2025-01-10"))
    weekly_before = _lineage(folder, "sales/weekly", "2025-01-07")

    _set_daily(folder, DAILY.replace(*ADD_TOP))
    plan = _json(["plan", "--explain", "sales/weekly:2025-01-07"], folder)
    assert _planned(plan) == {"sales/daily": 10}  # the window is not stale
    assert plan["steps"][0]["non_breaking"]["ranges"] == [["2025-01-01", "2025-01-10"]]
    assert plan["sql_changes"]["sales/daily"] == {
        "kind": "non-breaking",
        "summary": "adds column top",
    }
    assert plan["explain"]["status"] == "up to date"
    assert plan["explain"]["reasons"] == [
        "upstream sales/daily 2025-01-01, 2025-01-02, 2025-01-03, 2025-01-04, 2025-01-05, ... "
        "changed non-breakingly (adds column top); not rebuilt"
    ]

    run = _json(["materialize", "--executor", "inprocess"], folder)
    assert _built(run) == {"sales/daily": DAYS}
    assert "top" in _columns(folder, "sales/daily", "2025-01-07")
    assert "top" not in _columns(folder, "sales/weekly", "2025-01-07")  # gains it when rebuilt
    assert plan_project(_load(folder)).plan.is_empty
    # the window's lineage is what it was: the daily builds it read, each rebuilt since
    # with the same output (not stale)
    assert _lineage(folder, "sales/weekly", "2025-01-07") == weekly_before
    edges = lineage(_load(folder), "sales/weekly", "2025-01-07", depth=1).edges
    assert {e.upstream_asset: e.status for e in edges} == {"sales/daily": "same_output"}
    # the model's history has the new build with its true data version, which
    # `partita verify` re-hashes from the stored data
    newest, previous = history(_load(folder), "sales/daily", "2025-01-07")[:2]
    read = next(
        n for n in weekly_before[0] if n["materialization_id"] == previous.materialization_id
    )
    assert (read["asset"], read["partition"]) == ("sales/daily", "2025-01-07")
    assert newest.data_version != previous.data_version
    assert newest.output_hash == previous.output_hash  # what readers compare
    checked = verify(_load(folder), "sales/daily")
    assert checked.drifts == () and checked.exit_code == 0

    # early cutoff on the kept hashes: the late order (which the model filters out)
    # changes, the model is rebuilt to the same data, and the window is skipped
    defs = folder / "defs.py"
    defs.write_text(defs.read_text().replace("100.0]", "200.0]"), encoding="utf-8")
    result = materialize(
        _load(folder), partition_key="2025-01-07", executor="inprocess", handle_signals=False
    )
    assert _built(result.to_json()) == {
        "sales/daily": ["2025-01-07"],
        "sales/orders": ["2025-01-07"],
    }
    assert [(o.asset, o.reason) for o in result.skipped] == [("sales/weekly", "inputs unchanged")]

    # new data in a day of the model (its kept hash gives way) reaches the window
    defs.write_text(defs.read_text().replace('"amount": [float(n),', '"amount": [float(n) * 2,'))
    assert _build(folder, partition_key="2025-01-07") == {
        "sales/daily": ["2025-01-07"],
        "sales/orders": ["2025-01-07"],
        "sales/weekly": ["2025-01-07"],
    }

    # a breaking change (a filter) rebuilds what reads the model
    breaking = DAILY.replace(*ADD_TOP).replace(
        "< $partition_end", "< $partition_end AND amount > 5"
    )
    _set_daily(folder, breaking)
    plan = _json(["plan", "sales/daily+"], folder)
    assert plan["sql_changes"]["sales/daily"]["kind"] == "breaking"
    assert _planned(plan) == {"sales/daily": 10, "sales/weekly": 10}
    assert all(step["non_breaking"] is None for step in plan["steps"])


def test_a_column_added_to_a_model_rebuilds_only_the_model_on_postgres(
    tmp_path: Path, postgres_server: PostgresServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same through the library on a PostgreSQL catalog (the CLI is the same code)."""
    monkeypatch.setenv(CATALOG_URL_VARIABLE, postgres_server.new_database())
    folder = _project(tmp_path)
    days = ("2025-01-01", "2025-01-03")

    assert len(_build(folder, partition_range=days)) == 3
    _set_daily(folder, DAILY.replace(*ADD_TOP))
    planned = plan_project(_load(folder), partition_range=days).plan
    assert {str(s.asset): len(s.partitions) for s in planned.steps} == {"sales/daily": 3}
    assert _build(folder, partition_range=days) == {"sales/daily": DAYS[:3]}
    assert plan_project(_load(folder), partition_range=days).plan.is_empty
    assert not (folder / ".partita" / "catalog.db").exists()  # it all went to PostgreSQL
