from __future__ import annotations

import hashlib
import subprocess
import sys
from dataclasses import FrozenInstanceError
from datetime import UTC, datetime

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from partita.records import (
    UNPARTITIONED,
    Materialization,
    Observation,
    PlannerState,
    RunStatus,
    StepStatus,
    combine_hashes,
    partition_column,
    partition_hash,
    partition_value,
)


def _reference_hash(asset: str, partition: str, version: str) -> int:
    digest = hashlib.blake2b(f"{asset}\x1f{partition}\x1f{version}".encode(), digest_size=8)
    return int.from_bytes(digest.digest(), "big", signed=True)


def test_partition_hash_is_the_documented_blake2b() -> None:
    assert partition_hash("raw", "2025-03-01", "v1") == _reference_hash("raw", "2025-03-01", "v1")
    assert partition_hash("dim", None, "v9") == _reference_hash("dim", "", "v9")
    # field boundaries are encoded: moving a character between fields changes the hash
    assert partition_hash("ab", "c", "v") != partition_hash("a", "bc", "v")
    assert -(2**63) <= partition_hash("x", "y", "z") < 2**63


def test_partition_hash_is_the_same_in_another_process() -> None:
    code = "from partita.records import partition_hash as h; print(h('raw', 'd1', 'v1'))"
    other = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert int(other) == partition_hash("raw", "d1", "v1")


@given(st.lists(st.integers(min_value=-(2**63), max_value=2**63 - 1), max_size=50))
def test_combine_hashes_is_the_wrapping_uint64_sum(values: list[int]) -> None:
    wrapped = np.array(values, dtype=np.int64).view(np.uint64).sum(dtype=np.uint64)
    assert combine_hashes(values) == int(np.array([wrapped], dtype=np.uint64).view(np.int64)[0])
    assert combine_hashes(reversed(values)) == combine_hashes(values)
    assert -(2**63) <= combine_hashes(values) < 2**63


def test_combine_hashes_of_nothing_is_zero_and_versions_change_it() -> None:
    assert combine_hashes([]) == 0
    d1, d2 = partition_hash("raw", "d1", "v1"), partition_hash("raw", "d2", "v1")
    assert combine_hashes([d1, d2]) != combine_hashes([d1, partition_hash("raw", "d2", "v2")])
    assert combine_hashes([d1, d2]) != combine_hashes([d1])


def test_output_hash_of_records() -> None:
    when = datetime(2025, 1, 1, tzinfo=UTC)
    assert Materialization("a", "p", "r", "v", when).output_hash == partition_hash("a", "p", "v")
    assert Observation("s", None, "o", when).output_hash == partition_hash("s", None, "o")


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
    assert StepStatus.TIMED_OUT.value == "timed_out"
    assert {s.value for s in StepStatus} >= {"abandoned", "skipped", "cancelled"}


def test_empty_planner_state_has_typed_columns() -> None:
    state = PlannerState.empty()
    assert state.latest.num_rows == 0
    assert state.latest.column_names[:3] == ["asset", "partition", "materialization_id"]
    assert state.edges.schema.field("fingerprint").type == "int64"
    assert state.latest.schema.field("output_hash").type == "int64"
    assert state.observations.schema.field("output_hash").type == "int64"
    assert state.latest_of("x").num_rows == 0
