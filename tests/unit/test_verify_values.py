"""The pure pieces of ``partita verify``: results and their exit status, splitting a
batched read by partition, the input-missing error, and how ``plan --explain``
words a partition that ``verify --repair`` marked stale."""

from __future__ import annotations

import pyarrow as pa

from partita.api import AssetVerification, Drift, DriftKind, VerifyResult
from partita.api.stored_versions import StoredPartition, _split
from partita.assets import asset
from partita.definitions import Definitions
from partita.errors import InputMissingError, StorageError
from partita.graph import AssetGraph
from partita.keys import AssetKey
from partita.partitions import StaticPartitions
from partita.planner import PlanRequest, explain, plan
from partita.records import DRIFT_ERROR_PREFIX, INPUTS_SCHEMA
from tests.planner_support import NOW, FakeCatalog


def _drift(kind: DriftKind, partition: str = "eu") -> Drift:
    return Drift("sales", partition, kind, "v1", None, "what was found")


def test_exit_status_and_counts() -> None:
    agree = VerifyResult(assets=(AssetVerification("sales", recorded=2, stored=2, hashed=2),))
    assert agree.exit_code == 0 and agree.to_json()["ok"] is True

    drifted = AssetVerification(
        "sales",
        drifts=(_drift(DriftKind.MISSING), _drift(DriftKind.UNRECORDED, "us")),
    )
    result = VerifyResult(assets=(drifted, AssetVerification("landing", skipped="source")))
    assert result.exit_code == 1
    assert result.drifts == drifted.drifts
    data = result.to_json()
    assert (data["missing"], data["changed"], data["unrecorded"]) == (1, 0, 1)
    assert data["assets"][1]["skipped"] == "source"
    assert data["assets"][0]["drifts"][0] == {
        "asset": "sales",
        "partition": "eu",
        "kind": "missing",
        "recorded_version": "v1",
        "stored_version": None,
        "detail": "what was found",
    }


def _item(region: str) -> StoredPartition:
    return StoredPartition(region, "v", (("region", region),), None, 0)


def test_a_batched_read_is_split_by_the_stores_dimension_columns() -> None:
    table = pa.table({"x": [1, 2, 3, 4], "region": ["eu", "us", "eu", "eu"]})
    parts = _split(table, [_item("eu"), _item("us")])
    assert parts is not None
    assert [p["x"].to_pylist() for p in parts] == [[1, 3, 4], [2]]  # order kept

    dictionary = table.set_column(
        1, "region", pa.array(["eu", "us", "eu", "eu"]).dictionary_encode()
    )
    assert _split(dictionary, [_item("eu"), _item("us")]) is not None


def test_a_batched_read_that_cannot_be_told_apart_is_not_split() -> None:
    typed = pa.table({"x": [1], "region": [7]})  # the data's own typed column
    assert _split(typed, [_item("7"), _item("8")]) is None
    stray = pa.table({"x": [1, 2], "region": ["eu", "xx"]})  # a row of no asked partition
    assert _split(stray, [_item("eu"), _item("us")]) is None


def test_input_missing_error_names_the_upstream_partition_and_the_way_out() -> None:
    error = InputMissingError("raw", ("2026-11-20", "2026-11-21"), "raw")
    assert isinstance(error, StorageError) and not error.retryable
    assert error.message == (
        "input 'raw': raw [2026-11-20 and 1 more] is recorded as built but missing from "
        "the store; run `partita verify raw --repair`, then rerun"
    )
    assert "input 'orders': orders is recorded" in str(InputMissingError("orders", ("",), "orders"))


def test_explain_words_a_partition_marked_stale_by_verify() -> None:
    regions = StaticPartitions(["eu", "us"], dimension="region")

    @asset(partitions=regions)
    def sales() -> None: ...

    graph = AssetGraph(Definitions(assets=[sales]))
    catalog = FakeCatalog(graph)
    catalog.build_all("sales")
    catalog.fail("sales", "eu", f"{DRIFT_ERROR_PREFIX}missing, found by `partita verify`: gone")
    catalog.fail("sales", "us", "ValueError: boom")
    state = catalog.state()
    planned = plan(graph, state, PlanRequest(), NOW)

    def why(partition: str) -> tuple[str, ...]:
        return explain(
            graph,
            planned,
            state,
            AssetKey("sales"),
            partition,
            lambda _: INPUTS_SCHEMA.empty_table(),
        ).reasons

    assert why("eu") == ("failed: stored data missing, found by `partita verify`: gone",)
    assert why("us") == ("failed: the last attempt failed: ValueError: boom",)
