from __future__ import annotations

import subprocess
import sys
from dataclasses import FrozenInstanceError
from datetime import UTC, datetime

import pytest

from partita.records import (
    UNPARTITIONED,
    Input,
    Materialization,
    PlannerState,
    RunStatus,
    StepStatus,
    input_fingerprint,
    partition_column,
    partition_value,
)


def test_fingerprint_ignores_order_and_accepts_triples() -> None:
    a = Input("raw", "2025-03-01", "v1")
    b = Input("raw", "2025-03-02", "v2")
    assert input_fingerprint([a, b]) == input_fingerprint([b, a])
    assert input_fingerprint([a, b]) == input_fingerprint(
        [("raw", "2025-03-02", "v2"), ("raw", "2025-03-01", "v1")]
    )


def test_fingerprint_changes_with_version_and_with_the_set_of_partitions() -> None:
    base = [Input("raw", "d1", "v1"), Input("raw", "d2", "v1")]
    assert input_fingerprint(base) != input_fingerprint([Input("raw", "d1", "v1")])
    assert input_fingerprint(base) != input_fingerprint(
        [Input("raw", "d1", "v1"), Input("raw", "d2", "v2")]
    )
    # field boundaries are encoded: moving a character between fields changes the hash
    assert input_fingerprint([("ab", "c", "v")]) != input_fingerprint([("a", "bc", "v")])


def test_fingerprint_is_the_same_in_another_process() -> None:
    code = (
        "from partita.records import input_fingerprint as f;"
        "print(f([('raw', 'd1', 'v1'), ('dim', None, 'v9')]))"
    )
    other = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert other == input_fingerprint([("raw", "d1", "v1"), ("dim", None, "v9")])
    assert len(other) == 32


def test_unpartitioned_round_trip() -> None:
    assert partition_column(None) == UNPARTITIONED
    assert partition_value(UNPARTITIONED) is None
    assert partition_value(partition_column("eu")) == "eu"


def test_records_are_frozen() -> None:
    mat = Materialization("a", None, "r1", "dv", datetime(2025, 1, 1, tzinfo=UTC))
    with pytest.raises(FrozenInstanceError):
        mat.data_version = "other"  # type: ignore[misc]


def test_statuses_are_strings() -> None:
    assert RunStatus("crashed") is RunStatus.CRASHED
    assert StepStatus.TIMED_OUT == "timed_out"
    assert {s.value for s in StepStatus} >= {"abandoned", "skipped", "cancelled"}


def test_empty_planner_state_has_typed_columns() -> None:
    state = PlannerState.empty()
    assert state.latest.num_rows == 0
    assert state.latest.column_names[:3] == ["asset", "partition", "materialization_id"]
    assert state.inputs.schema.field("upstream_materialization_id").type == "int64"
    assert state.latest_of("x").num_rows == 0
