"""``partita verify`` through the command line (issue 13, item 7): data deleted or
edited behind Partita's back is found, ``--repair`` makes ``plan`` show it stale
with the reason, ``materialize`` rebuilds it, and a step reading a lost input
names the upstream partition. Real Parquet files and a real DuckDB file, the
CLI as a subprocess."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from partita.io import DuckDBStore
from tests.conftest import run_cli, write_project

D1, D2, D3 = "2026-11-20", "2026-11-21", "2026-11-22"

PROJECT = """
from pathlib import Path

import pandas as pd
from partita.assets import asset
from partita.definitions import Definitions
from partita.io import DuckDBStore
from partita.partitions import DailyPartitions

HERE = Path(__file__).parent
STORE = {store}
DAYS = DailyPartitions(start="2026-11-20", end="2026-11-23")


@asset(partitions=DAYS, store=STORE)
def raw(context) -> pd.DataFrame:
    day = int(context.partition_key[-2:])
    return pd.DataFrame({{"n": [day, day + 1, day + 2], "label": ["a", "b", "c"]}})


@asset(partitions=DAYS, store=STORE)
def doubled(raw: pd.DataFrame) -> pd.DataFrame:
    return raw.assign(n=raw["n"] * 2)


defs = Definitions(assets=[raw, doubled])
"""

STORES = {"parquet": "None", "duckdb": 'DuckDBStore(HERE / "warehouse.duckdb")'}


def _json(folder: Path, args: list[str], code: int) -> dict[str, Any]:
    result = run_cli([*args, "--json"], folder)
    assert result.returncode == code, result.stdout + result.stderr
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def _drifts(report: dict[str, Any]) -> set[tuple[str, str, str]]:
    return {(d["asset"], d["partition"], d["kind"]) for a in report["assets"] for d in a["drifts"]}


def _planned(folder: Path) -> dict[str, list[tuple[str, str]]]:
    """Per planned asset, its ranges of partitions (first, last)."""
    plan = _json(folder, ["plan"], 0)
    return {
        step["asset"]: [tuple(r) for r in step["partitions"]["ranges"]] for step in plan["steps"]
    }


def _tamper_parquet(folder: Path) -> None:
    root = folder / ".partita" / "data" / "raw"
    (root / f"date={D1}" / "data.parquet").unlink()
    pq.write_table(
        pa.table({"n": [99, 99, 99], "label": ["a", "b", "c"]}),
        root / f"date={D2}" / "data.parquet",
    )


def _tamper_duckdb(folder: Path) -> None:
    table = DuckDBStore.table_name("raw")
    with duckdb.connect(str(folder / "warehouse.duckdb")) as con:
        con.execute(f"DELETE FROM {table} WHERE CAST(date AS VARCHAR) = ?", [D1])
        con.execute(f"UPDATE {table} SET n = 99 WHERE CAST(date AS VARCHAR) = ?", [D2])


@pytest.mark.parametrize("store", sorted(STORES))
def test_verify_finds_drift_repair_marks_it_stale_and_materialize_rebuilds(
    store: str, tmp_path: Path
) -> None:
    folder = write_project(tmp_path / "p", PROJECT.format(store=STORES[store]))
    assert _json(folder, ["materialize"], 0)["status"] == "succeeded"
    clean = _json(folder, ["verify"], 0)
    assert clean["ok"] and not _drifts(clean)
    assert {a["asset"]: a["hashed"] for a in clean["assets"]} == {"raw": 3, "doubled": 3}

    (_tamper_parquet if store == "parquet" else _tamper_duckdb)(folder)
    assert _planned(folder) == {}  # the catalog alone cannot see it

    if store == "parquet":  # a step that reads the lost file blames the upstream partition
        forced = _json(folder, ["materialize", "doubled", "--partition", D1, "--force"], 1)
        error = forced["tasks"][0]["error"]
        assert f"raw [{D1}] is recorded as built but missing from the store" in error
        assert "partita verify raw --repair" in error
        assert _planned(folder) == {"doubled": [(D1, D1)]}  # that failed build; raw looks fresh

    found = _json(folder, ["verify"], 1)
    missing_kind = "missing" if store == "parquet" else "changed"  # DuckDB: listed, no rows
    assert _drifts(found) == {("raw", D1, missing_kind), ("raw", D2, "changed")}

    repaired = _json(folder, ["verify", "raw", "--repair"], 1)
    assert {(d["partition"], d["kind"]) for d in repaired["repaired"]} == {
        (D1, missing_kind),
        (D2, "changed"),
    }
    assert repaired["run_id"]
    assert _planned(folder)["raw"] == [(D1, D2)]
    explained = run_cli(["plan", "--explain", f"raw:{D1}"], folder)
    assert f"failed: stored data {missing_kind}, found by `partita verify`" in explained.stdout

    assert _json(folder, ["materialize"], 0)["status"] == "succeeded"
    assert _planned(folder) == {}
    again = _json(folder, ["verify"], 0)
    assert again["ok"], again


def test_verify_table_and_exit_status(tmp_path: Path) -> None:
    folder = write_project(tmp_path / "p", PROJECT.format(store="None"))
    run_cli(["materialize"], folder, check=True)
    ok = run_cli(["verify"], folder)
    assert ok.returncode == 0, ok.stderr
    assert "store and catalog agree (data versions re-hashed)" in ok.stdout

    _tamper_parquet(folder)
    # a stray partition nobody recorded: reported, never deleted by --repair
    stray = folder / ".partita" / "data" / "doubled" / "date=2026-11-30"
    stray.mkdir(parents=True)
    pq.write_table(pa.table({"n": [1]}), stray / "data.parquet")

    quick = run_cli(["verify", "--quick"], folder)
    assert quick.returncode == 1
    assert "1 missing, 0 changed, 1 unrecorded" in quick.stdout  # no hashing: no "changed"

    shown = run_cli(["verify", "--repair"], folder)
    assert shown.returncode == 1, shown.stderr
    assert "1 missing, 1 changed, 1 unrecorded" in shown.stdout
    assert "marked 2 partition(s) stale" in shown.stdout
    assert "left in place" in shown.stdout
    assert (stray / "data.parquet").is_file()


DELTA_PROJECT = PROJECT.replace(
    "from partita.io import DuckDBStore", "from partita.io import DeltaStore"
)


def test_unreadable_files_are_changed_not_a_crash_and_repair_works(tmp_path: Path) -> None:
    """A Parquet file overwritten with garbage, and a data file gone from a Delta table:
    `changed` (stored but unreadable), the other partitions still checked, and
    `--repair` marks them stale."""
    store = 'DeltaStore(HERE / "lake")'
    folder = write_project(tmp_path / "p", DELTA_PROJECT.format(store=store))
    assert _json(folder, ["materialize"], 0)["status"] == "succeeded"
    (gone,) = (folder / "lake" / "raw" / f"date={D1}").glob("*.parquet")
    gone.unlink()
    for data in (folder / "lake" / "doubled" / f"date={D2}").glob("*.parquet"):
        data.write_bytes(b"garbage")
    found = _json(folder, ["verify"], 1)
    assert _drifts(found) == {("raw", D1, "changed"), ("doubled", D2, "changed")}
    details = [d["detail"] for a in found["assets"] for d in a["drifts"]]
    assert all(d.startswith("stored but unreadable: ") for d in details), details
    assert not any("\x1b[" in d for d in details)  # the Delta reader's colours are gone
    repaired = _json(folder, ["verify", "--repair"], 1)
    assert len(repaired["repaired"]) == 2
    assert _json(folder, ["materialize"], 0)["status"] == "succeeded"
    assert _json(folder, ["verify"], 0)["ok"]
