"""Outputs handed over in memory (runner/output_cache.py): exactly what a store read gives.

A worker that staged a partition hands the table to its later readers instead of
reading the Parquet file back. Each example here builds the upstream partitions
through a real :class:`WorkerRuntime` and Parquet store, then runs the reader
twice on the same published files: once in that runtime (served from its cache)
and once in a runtime without a cache (a real store read); the two values must
be equal in every respect the reader can see.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from partita import AllPartitions, DailyPartitions, Definitions, In, StaticPartitions, TimeWindow
from partita.assets import asset
from partita.graph import AssetGraph
from partita.io import ParquetStore
from partita.runner.messages import Outcome, ReadRequest, WorkItem
from partita.runner.output_cache import OutputCache
from partita.runner.worker import WorkerRuntime

from .runtime_support import published

DAYS = DailyPartitions(start="2025-01-01", end="2025-01-06")
REGION_KEYS = ["plain", "a:b", "x+y", "v1.2-rc_3"]
REGIONS = StaticPartitions(REGION_KEYS)
ANNOTATIONS: tuple[Any, ...] = (
    pd.DataFrame,
    pa.Table,
    pa.RecordBatchReader,
    duckdb.DuckDBPyRelation,
)

UPSTREAM: dict[str, object] = {}
"""What ``up`` returns, by partition key (set by each example)."""
RECEIVED: list[object] = []
"""What the reader got, materialized (a frame, a table)."""


def _up(context: Any) -> Any:
    return UPSTREAM[context.partition_key]


def _materialized(value: Any) -> object:
    if isinstance(value, pa.RecordBatchReader):
        return value.read_all()
    if isinstance(value, duckdb.DuckDBPyRelation):
        return value.to_arrow_table()
    return value


def _graph(annotation: Any, ins: In, partitions: Any) -> AssetGraph:
    def down(up: Any) -> None:
        RECEIVED.append(_materialized(up))

    down.__annotations__["up"] = annotation  # the type under test
    up = asset(key="up", partitions=partitions)(_up)
    return AssetGraph(
        Definitions(assets=[up, asset(key="down", partitions=partitions, ins={"up": ins})(down)])
    )


def _build(runtime: WorkerRuntime, values: dict[str, object]) -> dict[str, str] | None:
    """Run ``up`` for each key; its data versions, or ``None`` if the store refused one."""
    versions: dict[str, str] = {}
    for key, value in values.items():
        UPSTREAM[key] = value
        item = WorkItem(run_id="r", asset="up", keys=(key,), attempt=1)
        result = published(runtime.default_store, runtime.run(item))
        if result.outcome is not Outcome.SUCCEEDED:
            return None
        write = result.writes[0][1]
        assert write is not None
        versions[key] = write.data_version
    return versions


def _received(runtime: WorkerRuntime, item: WorkItem) -> object:
    """What the reader got, or its error's text (DuckDB cannot take some Arrow types:
    then both reads must fail alike)."""
    RECEIVED.clear()
    result = runtime.run(item)
    if result.outcome is not Outcome.SUCCEEDED:
        return f"failed: {result.error}"
    assert len(RECEIVED) == 1
    return RECEIVED.pop()


def assert_same_value(cached: object, read: object) -> None:
    """Equal as the reader sees them: type, columns, dtypes, index, values, metadata."""
    assert type(cached) is type(read)
    if isinstance(read, str):
        assert cached == read
        return
    if isinstance(read, pd.DataFrame):
        assert isinstance(cached, pd.DataFrame)
        pd.testing.assert_frame_equal(
            cached, read, check_exact=True, check_index_type=True, check_categorical=True
        )
        assert list(cached.dtypes) == list(read.dtypes)
        assert cached.index.equals(read.index) and type(cached.index) is type(read.index)
        return
    assert isinstance(cached, pa.Table) and isinstance(read, pa.Table)
    assert cached.schema.equals(read.schema, check_metadata=True), (cached.schema, read.schema)
    # Table.equals counts NaN unequal to itself: compare plain values then, floats by repr
    assert cached.equals(read) or _plain(cached.to_pylist()) == _plain(read.to_pylist())


def _plain(value: object) -> object:
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def read_both(
    annotation: Any, values: dict[str, object], *, wanted: bool, partitions: Any = DAYS
) -> tuple[object, object, int] | None:
    """The reader's value from a cache and from the store (and the cache's hits), or
    ``None`` when the store refused the upstream data."""
    keys = list(values)
    ins = In(mapping=AllPartitions() if partitions is REGIONS else TimeWindow(start_offset=-5))
    ins = In(mapping=ins.mapping, partition_columns=wanted)
    graph = _graph(annotation, ins, partitions)
    with tempfile.TemporaryDirectory() as root:
        cached_runtime = WorkerRuntime(graph, ParquetStore(root))
        versions = _build(cached_runtime, values)
        if versions is None:
            return None
        written = ("date",) if any(_has_column(v, "date") for v in values.values()) else ()
        read = ReadRequest(
            "up",
            "up",
            tuple(keys),
            written_columns=written if partitions is DAYS else (),
            versions=tuple(versions[k] for k in keys),
        )
        item = WorkItem(run_id="r", asset="down", keys=(keys[-1],), attempt=1, reads=(read,))
        cached = _received(cached_runtime, item)
        store_runtime = WorkerRuntime(graph, ParquetStore(root), outputs=OutputCache(0))
        from_store = _received(store_runtime, item)
        assert store_runtime.outputs.hits == 0
        return cached, from_store, cached_runtime.outputs.hits


def _has_column(value: object, name: str) -> bool:
    if isinstance(value, pd.DataFrame):
        return name in value.columns
    assert isinstance(value, pa.Table | pa.RecordBatch)
    return name in value.schema.names


# -- hand-picked values ---------------------------------------------------------------------


def _frames() -> dict[str, Callable[[int], object]]:
    def ts(i: int) -> pd.Series:
        return pd.Series(pd.date_range("2025-01-01", periods=3, freq="37min", unit="ns")) + (
            pd.Timedelta(days=i)
        )

    return {
        "w1_like": lambda i: pd.DataFrame(
            {"ts": ts(i), "user_id": np.arange(3) + i, "amount": [1.5, -2.0, np.nan]}
        ),
        "range_index_from_5": lambda i: pd.DataFrame({"a": [1, 2]}, index=pd.RangeIndex(5, 7)),
        "named_index": lambda i: pd.DataFrame(
            {"a": [1.0, 2.0]}, index=pd.Index(["x", "y"], name="k")
        ),
        "categorical": lambda i: pd.DataFrame({"c": pd.Categorical(["b", "a", "b"])}),
        "nullable": lambda i: pd.DataFrame(
            {"n": pd.array([1, None, 3], "Int64"), "s": pd.array(["x", None, "z"], "string")}
        ),
        "tz_and_seconds": lambda i: pd.DataFrame(
            {"t": pd.date_range("2025-03-30", periods=2, freq="h", tz="Europe/Paris", unit="s")}
        ),
        "object_and_bool": lambda i: pd.DataFrame({"o": ["a", None], "b": [True, False]}),
        "own_date_column": lambda i: pd.DataFrame({"date": [f"2025-01-0{i + 1}"], "v": [i]}),
        "empty": lambda i: pd.DataFrame({"a": pd.Series([], dtype="int64")}),
        "ragged_rows": lambda i: pd.DataFrame({"a": list(range(i + 1)), "s": ["x"] * (i + 1)}),
        "arrow_seconds": lambda i: pa.table({"t": pa.array([i, None], pa.timestamp("s"))}),
        "arrow_large_and_dict": lambda i: pa.table(
            {
                "l": pa.array(["a", None], pa.large_string()),
                "d": pa.array(["u", "v"]).dictionary_encode(),
            }
        ),
        "record_batch": lambda i: pa.record_batch({"x": pa.array([i, i + 1], pa.uint32())}),
    }


FRAMES = _frames()


@pytest.mark.parametrize("name", sorted(FRAMES))
@pytest.mark.parametrize("annotation", ANNOTATIONS)
@pytest.mark.parametrize("days", [1, 3])
@pytest.mark.parametrize("wanted", [False, True])
def test_cached_inputs_equal_store_reads(
    name: str, annotation: Any, days: int, wanted: bool
) -> None:
    make = FRAMES[name]
    values = {f"2025-01-0{i + 1}": make(i) for i in range(days)}
    both = read_both(annotation, values, wanted=wanted)
    assert both is not None
    cached, from_store, hits = both
    assert_same_value(cached, from_store)
    relation = annotation is duckdb.DuckDBPyRelation  # DuckDB always scans the files
    assert hits == (0 if relation else days)  # else every input came from memory


@pytest.mark.parametrize("annotation", ANNOTATIONS)
def test_static_keys_with_odd_characters_read_as_from_the_store(annotation: Any) -> None:
    values = {key: pd.DataFrame({"v": [i, i * 2]}) for i, key in enumerate(REGION_KEYS)}
    both = read_both(annotation, values, wanted=True, partitions=REGIONS)
    assert both is not None
    cached, from_store, hits = both
    assert_same_value(cached, from_store)
    assert hits == (0 if annotation is duckdb.DuckDBPyRelation else len(values))


def test_a_lossy_read_back_is_not_kept_and_is_read_from_the_store() -> None:
    # a date64 with a time of day is written as date32: the store's value differs
    odd = pa.table({"d": pa.array([86_400_001], pa.date64())})
    both = read_both(pa.Table, {"2025-01-01": odd}, wanted=False)
    if both is None:
        pytest.skip("the store refuses date64 with a time of day")
    cached, from_store, hits = both
    assert_same_value(cached, from_store)
    assert hits == 0


def test_schemas_that_differ_between_partitions_are_unified_by_the_store() -> None:
    values = {
        "2025-01-01": pa.table({"a": pa.array([1], pa.int32())}),
        "2025-01-02": pa.table({"a": pa.array([2], pa.int32()), "b": ["new"]}),
    }
    both = read_both(pa.Table, values, wanted=False)
    assert both is not None
    cached, from_store, hits = both
    assert_same_value(cached, from_store)
    assert hits == 0  # both partitions were kept, but their join is left to the store


# -- generated values -----------------------------------------------------------------------

_TYPES: list[tuple[pa.DataType, st.SearchStrategy[Any]]] = [
    (pa.int8(), st.integers(-128, 127)),
    (pa.uint16(), st.integers(0, 65535)),
    (pa.int64(), st.integers(-(2**63), 2**63 - 1)),
    (pa.uint64(), st.integers(0, 2**64 - 1)),
    (pa.float32(), st.floats(width=32)),
    (pa.float64(), st.floats(allow_nan=True)),
    (pa.bool_(), st.booleans()),
    (pa.string(), st.text(max_size=5)),
    (pa.large_string(), st.text(max_size=5)),
    (pa.binary(), st.binary(max_size=5)),
    (pa.date32(), st.dates(date(1970, 1, 1), date(2100, 1, 1))),
    (pa.time64("us"), st.times()),
    (pa.time32("s"), st.times().map(lambda t: time(t.hour, t.minute, t.second))),
    (pa.timestamp("s"), st.datetimes(datetime(1970, 1, 1), datetime(2100, 1, 1))),
    (pa.timestamp("ms", tz="UTC"), st.datetimes(datetime(1970, 1, 1), datetime(2100, 1, 1))),
    (pa.timestamp("ns", tz="Asia/Tokyo"), st.datetimes(datetime(1970, 1, 1), datetime(2100, 1, 1))),
    (pa.duration("ms"), st.integers(-(10**12), 10**12)),
    (pa.decimal128(9, 3), st.decimals(-(10**5), 10**5, places=3).map(Decimal)),
    (pa.list_(pa.int32()), st.lists(st.integers(-5, 5), max_size=3)),
    (
        pa.struct([("x", pa.int16()), ("y", pa.string())]),
        st.fixed_dictionaries({"x": st.integers(-5, 5), "y": st.text(max_size=2)}),
    ),
]


@st.composite
def _tables(draw: st.DrawFn, rows: int, columns: list[int], dictionary: set[int]) -> pa.Table:
    arrays = {}
    for position in columns:
        kind, values = _TYPES[position]
        items = draw(st.lists(st.one_of(st.none(), values), min_size=rows, max_size=rows))
        array = pa.array(items, kind)
        if position in dictionary and pa.types.is_string(kind):
            array = array.dictionary_encode()
        arrays[f"c{position}"] = array
    return pa.table(arrays)


@st.composite
def _examples(draw: st.DrawFn) -> tuple[Any, dict[str, object], bool]:
    columns = draw(st.lists(st.integers(0, len(_TYPES) - 1), min_size=1, max_size=4, unique=True))
    dictionary = draw(st.sets(st.sampled_from(columns)))
    days = draw(st.integers(1, 3))
    as_pandas = draw(st.booleans())
    values: dict[str, object] = {}
    for i in range(days):
        table = draw(_tables(draw(st.integers(0, 6)), columns, dictionary))
        values[f"2025-01-0{i + 1}"] = table.to_pandas() if as_pandas else table
    return draw(st.sampled_from(ANNOTATIONS)), values, draw(st.booleans())


def test_generated_values_read_as_from_the_store() -> None:
    hits: list[int] = []

    @settings(
        max_examples=120,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(_examples())
    def check(example: tuple[Any, dict[str, object], bool]) -> None:
        annotation, values, wanted = example
        both = read_both(annotation, values, wanted=wanted)
        if both is None:
            event("the store refused the upstream data")
            return
        cached, from_store, served = both
        event(f"served from memory: {served == len(values)}")
        assert_same_value(cached, from_store)
        hits.append(served)

    check()
    assert sum(1 for h in hits if h) >= len(hits) // 2, "the cache served too few examples"
