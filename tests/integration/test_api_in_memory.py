"""The in-memory Python API: pipelines tested in pytest without writing a defs.py.

``partita.materialize`` and ``partita.plan`` take ``Definitions`` (or a list of
assets) built in memory, typed partition arguments and a ``home`` folder; the
result says whether it succeeded and reads what was built. The assets here are
module-level, so the process executor can send them to its workers.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

import partita
from partita import DailyPartitions, Definitions, In, TimeWindow, asset
from partita.errors import PartitaError, PartitionKeyError, PlanError
from partita.planner import Reason

DAYS = DailyPartitions(start="2025-01-01", end="2025-01-08")


@asset(partitions=DAYS)
def raw_orders(context) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    day = int(context.partition_key[-2:])
    return pd.DataFrame({"order_id": [day * 10, day * 10 + 1], "amount": [float(day), -1.0]})


@asset(partitions=DAYS)
def clean_orders(raw_orders: pd.DataFrame) -> pd.DataFrame:
    return raw_orders[raw_orders.amount > 0].reset_index(drop=True)


@asset(partitions=DAYS, ins={"clean_orders": In(mapping=TimeWindow(start_offset=-6))})
def weekly_revenue(clean_orders: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({"revenue": [float(clean_orders.amount.sum())]})


@asset
def run_info(context) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    return pd.DataFrame({"partition_key": [repr(context.partition_key)]})


DEFS = Definitions(assets=[raw_orders, clean_orders, weekly_revenue, run_info])


def test_materialize_one_partition_and_read_the_output(tmp_path: Path) -> None:
    week = ("2025-01-01", "2025-01-07")
    result = partita.materialize(
        DEFS, "raw_orders,clean_orders", partition_range=week, home=tmp_path
    )
    assert result.success, result.summary_lines()
    assert len(result.built) == 14
    # the window of 2025-01-07 reads the seven days of clean_orders built above
    result = partita.materialize(DEFS, "weekly_revenue", partition_key="2025-01-07", home=tmp_path)
    assert result.success, result.summary_lines()
    assert [(o.asset, o.partition) for o in result.built] == [("weekly_revenue", "2025-01-07")]
    revenue = result.output_for("weekly_revenue", "2025-01-07")
    assert revenue.equals(pd.DataFrame({"revenue": [float(sum(range(1, 8)))]}))
    table = result.output_for("clean_orders", "2025-01-03", as_type=pa.Table)
    assert table.column("order_id").to_pylist() == [30]
    # state persists in home: nothing is stale any more
    fresh = partita.plan(DEFS, "+weekly_revenue", partition_key="2025-01-07", home=tmp_path)
    assert fresh.is_empty
    stale = partita.plan(DEFS, "weekly_revenue", partition_range=week, home=tmp_path)
    assert [list(s.partitions) for s in stale.steps] == [[f"2025-01-0{d}" for d in range(1, 7)]]


def test_a_range_backfill_from_a_list_of_assets(tmp_path: Path) -> None:
    plan = partita.plan(
        [raw_orders, clean_orders], partition_range=("2025-01-02", "2025-01-04"), home=tmp_path
    )
    assert [(str(s.asset), list(s.partitions)) for s in plan.steps] == [
        ("raw_orders", ["2025-01-02", "2025-01-03", "2025-01-04"]),
        ("clean_orders", ["2025-01-02", "2025-01-03", "2025-01-04"]),
    ]
    assert {r.reason for s in plan.steps for r in s.reasons} == {
        Reason.MISSING,
        Reason.UPSTREAM_STALE,
    }
    result = partita.materialize(
        [raw_orders, clean_orders], partition_range=("2025-01-02", "2025-01-04"), home=tmp_path
    )
    assert result.success and len(result.built) == 6
    # statuses are enums (that still compare equal to their text)
    assert result.status is partita.RunOutcome.SUCCEEDED and result.status == "succeeded"
    assert {o.status for o in result.outcomes} == {partita.TaskState.SUCCEEDED}
    assert partita.materialize([raw_orders], home=tmp_path, partition_key="2025-01-02").status is (
        partita.RunOutcome.NOTHING_TO_DO
    )
    assert (tmp_path / "catalog.db").is_file()
    assert (tmp_path / "data" / "clean_orders" / "date=2025-01-03" / "data.parquet").is_file()


def test_worker_processes_run_definitions_built_in_memory(tmp_path: Path) -> None:
    result = partita.materialize(
        DEFS, "raw_orders,run_info", partition_key="2025-01-05", home=tmp_path, executor="process"
    )
    assert result.success, result.summary_lines()
    assert result.output_for("raw_orders", "2025-01-05").order_id.tolist() == [50, 51]
    # an unpartitioned asset's context.partition_key is None, never the text "None"
    assert result.output_for("run_info").partition_key.tolist() == ["None"]  # repr(None)
    inprocess = partita.materialize(DEFS, "run_info", home=tmp_path / "b")
    assert inprocess.output_for("run_info").partition_key.tolist() == ["None"]


def test_definitions_that_cannot_reach_workers_get_a_clear_error(tmp_path: Path) -> None:
    @asset
    def local() -> pd.DataFrame:
        return pd.DataFrame({"x": [1]})

    with pytest.raises(PartitaError, match="cannot be sent to worker processes") as info:
        partita.materialize([local], home=tmp_path, executor="process")
    assert "executor='inprocess'" in (info.value.hint or "")
    assert partita.materialize([local], home=tmp_path).success  # in-process by default


def test_bad_partition_arguments_say_what_is_wrong(tmp_path: Path) -> None:
    with pytest.raises(PlanError, match="not both"):
        partita.plan(DEFS, partition_key="2025-01-01", partition_range=("a", "b"), home=tmp_path)
    with pytest.raises(PartitionKeyError, match="DailyPartitions"):
        partita.plan(DEFS, "raw_orders", partition_key="2025-13-01", home=tmp_path)
    result = partita.materialize(DEFS, "raw_orders", partition_key="2025-01-01", home=tmp_path)
    with pytest.raises(PartitionKeyError, match="say which partition"):
        result.output_for("raw_orders")
    with pytest.raises(PartitaError, match="not stored"):
        result.output_for("raw_orders", "2025-01-02")


def test_without_a_home_a_temporary_folder_holds_the_run(tmp_path: Path) -> None:
    result = partita.materialize(DEFS, "raw_orders", partition_key="2025-01-01")
    assert result.success
    assert result.project is not None and result.project.home != tmp_path
    assert result.output_for("raw_orders", "2025-01-01").amount.tolist() == [1.0, -1.0]
