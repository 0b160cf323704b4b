"""Time columns with nulls (NaT) are stored, read back and versioned, in every store.

Real data has NaT: a datetime, tz-aware datetime, date, time or timedelta
column with a null must materialize to Parquet and to DuckDB, keep its nulls,
and have a data version that differs from the same frame with the epoch in
place of the NaT.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import sqlite3
from pathlib import Path

import pandas as pd
import pytest

import partita
from partita import Definitions, asset
from partita.io import DuckDBStore, ParquetStore

COLUMNS = ("at", "at_berlin", "day", "clock", "took")


def frame_with(null: object) -> pd.DataFrame:
    """Two rows; the second row's time values are ``null``: ``None`` (NaT), or ``0`` (epoch)."""
    at = pd.Timestamp("2025-03-01 10:00")
    second = pd.NaT if null is None else pd.Timestamp(0)
    return pd.DataFrame(
        {
            "id": [1, 2],
            "at": pd.Series([at, second], dtype="datetime64[ns]"),
            "at_berlin": pd.Series(
                [at.tz_localize("UTC"), second if null is None else second.tz_localize("UTC")],
                dtype="datetime64[ns, UTC]",
            ).dt.tz_convert("Europe/Berlin"),
            "day": [dt.date(2025, 3, 1), None if null is None else dt.date(1970, 1, 1)],
            "clock": [dt.time(10, 30), None if null is None else dt.time(0, 0)],
            "took": pd.Series(
                [pd.Timedelta("90min"), pd.NaT if null is None else pd.Timedelta(0)],
                dtype="timedelta64[ns]",
            ),
        }
    )


@asset
def events_with_nat() -> pd.DataFrame:
    return frame_with(None)


@asset
def events_with_epoch() -> pd.DataFrame:
    return frame_with(0)


@asset
def events_downstream(events_with_nat: pd.DataFrame) -> pd.DataFrame:
    return events_with_nat.assign(late=events_with_nat["at"].isna())


@pytest.mark.parametrize("store_kind", ["parquet", "duckdb"])
def test_a_frame_with_nat_in_every_time_column_materializes(
    tmp_path: Path, store_kind: str
) -> None:
    store = (
        ParquetStore(tmp_path / "data")
        if store_kind == "parquet"
        else DuckDBStore(tmp_path / "warehouse.duckdb")
    )
    defs = Definitions(assets=[events_with_nat, events_with_epoch, events_downstream], store=store)
    result = partita.materialize(defs, home=tmp_path)
    assert result.success, result.summary_lines()
    stored = result.output_for("events_with_nat")
    assert stored[list(COLUMNS)].iloc[0].notna().all()
    assert stored[list(COLUMNS)].iloc[1].isna().all(), stored
    assert result.output_for("events_downstream")["late"].tolist() == [False, True]
    nat, epoch = versions(tmp_path)["events_with_nat"], versions(tmp_path)["events_with_epoch"]
    assert nat != epoch
    # the same data again is the same version
    again = partita.materialize(defs, "events_with_nat", home=tmp_path, force=True)
    assert again.success, again.summary_lines()
    assert versions(tmp_path)["events_with_nat"] == nat * 2
    assert partita.plan(defs, home=tmp_path).is_empty


def versions(home: Path) -> dict[str, list[str]]:
    """Each asset's recorded data versions, oldest first."""
    found: dict[str, list[str]] = {}
    with contextlib.closing(sqlite3.connect(home / "catalog.db")) as catalog:
        rows = catalog.execute("SELECT asset, data_version FROM materializations ORDER BY id")
        for asset_name, version in rows:
            found.setdefault(asset_name, []).append(version)
    return found
