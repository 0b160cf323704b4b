"""``partita.api.verify``: the store compared with the catalog, in memory, on real
Parquet files and a real DuckDB file (issue 13, item 7)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from partita import Definitions, asset, source
from partita.api import DriftKind, plan, verify
from partita.api import materialize as run
from partita.api.stored_versions import stored_data_version
from partita.io import DuckDBStore, ParquetStore, write_partition
from partita.keys import AssetKey
from partita.partitions import DailyPartitions, StaticPartitions
from partita.planner import Reason

DAYS = DailyPartitions(start="2026-11-20", end="2026-11-23")
D1, D2, D3 = "2026-11-20", "2026-11-21", "2026-11-22"


def _defs(home: Path, store: object = None) -> Definitions:
    @asset(partitions=DAYS, store=store)
    def orders(context) -> pd.DataFrame:
        return pd.DataFrame({"id": [1, 2, 3], "day": [context.partition_key] * 3})

    @asset(partitions=DAYS)
    def notify(orders: pd.DataFrame) -> None:
        """A side effect: stores nothing."""

    landing = source("landing")

    @asset(deps=[landing])
    def totals() -> pd.DataFrame:
        return pd.DataFrame({"n": [1.5]})

    return Definitions(assets=[orders, notify, landing, totals], home=home)


def _parquet(home: Path, asset_name: str, partition: str | None) -> Path:
    folder = home / "data" / asset_name
    return (folder / f"date={partition}" if partition else folder) / "data.parquet"


def _kinds(defs: Definitions, **options: bool) -> set[tuple[str, str | None, DriftKind]]:
    return {(d.asset, d.partition, d.kind) for d in verify(defs, **options).drifts}


def test_agreement_then_each_kind_of_drift(tmp_path: Path) -> None:
    defs = _defs(tmp_path)
    assert run(defs, executor="inprocess").status == "succeeded"
    clean = verify(defs)
    assert clean.exit_code == 0 and not clean.drifts
    by_asset = {a.asset: a for a in clean.assets}
    assert (by_asset["orders"].recorded, by_asset["orders"].hashed) == (3, 3)
    assert by_asset["notify"].no_data == 3 and by_asset["notify"].stored == 0
    assert by_asset["landing"].skipped is not None and "source" in by_asset["landing"].skipped
    assert by_asset["totals"].hashed == 1

    _parquet(tmp_path, "orders", D1).unlink()
    pq.write_table(
        pa.table({"id": [1, 2, 3], "day": [D2, D2, "edited"]}), _parquet(tmp_path, "orders", D2)
    )
    pq.write_table(pa.table({"n": [1.5], "extra": [1]}), _parquet(tmp_path, "totals", None))
    stray = ParquetStore(tmp_path / "data")
    write_partition(stray, "orders", (("date", "2026-12-31"),), pa.table({"id": [9]}))

    found = _kinds(defs)
    assert found == {
        ("orders", D1, DriftKind.MISSING),
        ("orders", D2, DriftKind.CHANGED),
        ("orders", "2026-12-31", DriftKind.UNRECORDED),
    }  # an added column is not a change of the recorded columns
    assert _kinds(defs, quick=True) == {
        ("orders", D1, DriftKind.MISSING),
        ("orders", "2026-12-31", DriftKind.UNRECORDED),
    }
    assert verify(defs).exit_code == 1


def test_repair_marks_missing_and_changed_stale_and_keeps_unrecorded_data(
    tmp_path: Path,
) -> None:
    defs = _defs(tmp_path)
    run(defs, executor="inprocess")
    _parquet(tmp_path, "orders", D1).unlink()
    pq.write_table(pa.table({"id": [7], "day": [D2]}), _parquet(tmp_path, "orders", D2))
    stray = ParquetStore(tmp_path / "data")
    write_partition(stray, "orders", (("date", "2026-12-31"),), pa.table({"id": [9]}))
    assert not plan(defs).steps  # drift is invisible to the catalog alone

    repaired = verify(defs, repair=True)
    assert {(d.partition, d.kind) for d in repaired.repaired} == {
        (D1, DriftKind.MISSING),
        (D2, DriftKind.CHANGED),
    }
    assert repaired.run_id is not None
    step = plan(defs).step(AssetKey("orders"))
    assert step is not None and sorted(step.partitions) == [D1, D2]
    assert [r.reason for r in step.reasons_for(D1)] == [Reason.FAILED]
    assert _parquet(tmp_path, "orders", "2026-12-31").is_file()  # never deleted

    rebuilt = run(defs, executor="inprocess")
    assert rebuilt.status == "succeeded"
    built = {(t.asset, t.partition) for t in rebuilt.outcomes if t.status == "succeeded"}
    assert built == {("orders", D1), ("orders", D2)}  # notify read the same data: skipped
    assert _kinds(defs) == {("orders", "2026-12-31", DriftKind.UNRECORDED)}


def test_a_duckdb_column_widened_by_a_later_write_still_verifies(tmp_path: Path) -> None:
    """One day wrote integers, a later one floats: the table's column is DOUBLE now,
    and the integer day's data is cast back to its recorded type before hashing."""
    store = DuckDBStore(tmp_path / "w.duckdb")
    numbers = {D1: [1, 2], D2: [0.5, 2.5]}

    @asset(partitions=DAYS, store=store)
    def values(context) -> pd.DataFrame:
        return pd.DataFrame({"v": numbers.get(context.partition_key, [7])})

    defs = Definitions(assets=[values], home=tmp_path)
    run(defs, executor="inprocess")
    result = verify(defs)
    assert result.exit_code == 0, result.drifts
    assert result.assets[0].hashed == 3


def test_duckdb_reads_keep_each_partitions_rows_in_written_order(tmp_path: Path) -> None:
    """A partition whose rows cross a DuckDB vector (2,048 rows) came back reordered
    by the read's join; its data version then no longer matched."""
    store = DuckDBStore(tmp_path / "w.duckdb")
    rows = list(range(1000))
    for i in range(60):
        write_partition(store, "big", (("part", f"k{i:02d}"),), pa.table({"n": rows}))
    for i in range(60):
        read = store.read("big", [(("part", f"k{i:02d}"),)], as_type=pa.Table)
        assert read["n"].to_pylist() == rows, f"k{i:02d}"


def test_stored_version_says_why_it_cannot_match(tmp_path: Path) -> None:
    store = ParquetStore(tmp_path)
    key = AssetKey("items")
    part = (("region", "eu"),)
    written = write_partition(store, key, part, pa.table({"a": [1, 2], "b": ["x", "y"]}))
    assert stored_data_version(store, key, part, written.schema) == (written.data_version, "")
    write_partition(store, key, part, pa.table({"b": ["x", "y"]}))
    assert stored_data_version(store, key, part, written.schema) == ("", "column 'a' is gone")
    write_partition(store, key, part, pa.table({"a": ["1", "2"], "b": ["x", "y"]}))
    version, why = stored_data_version(store, key, part, written.schema)
    assert version == "" and why == "column 'a' is string, was int64"


@pytest.mark.parametrize("definition", [None, StaticPartitions(["eu", "us"], dimension="region")])
def test_a_missing_input_names_the_upstream_partition(
    tmp_path: Path, definition: StaticPartitions | None
) -> None:
    @asset(partitions=definition)
    def upstream() -> pd.DataFrame:
        return pd.DataFrame({"x": [1]})

    @asset(partitions=definition)
    def downstream(upstream: pd.DataFrame) -> pd.DataFrame:
        return upstream

    defs = Definitions(assets=[upstream, downstream], home=tmp_path)
    run(defs, executor="inprocess")
    partition = "eu" if definition else None
    path = tmp_path / "data" / "upstream"
    (path / "region=eu" / "data.parquet" if definition else path / "data.parquet").unlink()
    if definition is None:
        failed = run(defs, ["downstream"], force=True, executor="inprocess")
    else:
        failed = run(defs, ["downstream"], partition_key="eu", force=True, executor="inprocess")
    assert failed.status == "failed"
    (task,) = failed.outcomes
    where = "upstream [eu]" if partition else "upstream"
    assert task.error is not None
    assert f"input 'upstream': {where} is recorded as built but missing from the store" in (
        task.error
    )
    assert "`partita verify upstream --repair`, then rerun" in task.error
    assert task.attempts == 1  # not retried: the upstream must be rebuilt first
