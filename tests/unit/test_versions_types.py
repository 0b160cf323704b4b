"""Data versions of every Arrow type, with and without nulls (nested ones too).

Each case is an Arrow type with a strategy for its non-null values and a
"zero" value (epoch 0, 0, '', b'', False, an empty list...). For every case:
hashing never raises; equal data gives an equal version however it is built
(sliced out of a larger array, split into chunks); and a null differs from the
zero value in the same place. Versions of data that hashed before are pinned,
so no stored data version changes.
"""

from __future__ import annotations

import datetime as dt
import decimal
import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from partita.versions import data_version

Build = Callable[[list[Any]], pa.Array]


@dataclass(frozen=True)
class Case:
    """An Arrow type, how to draw its values, how to build an array of them."""

    name: str
    values: st.SearchStrategy[Any]
    zero: Any
    build: Build


def typed(data_type: pa.DataType) -> Build:
    return lambda values: pa.array(values, data_type)


def viewed(storage: pa.DataType, data_type: pa.DataType) -> Build:
    """Build from integer storage (any valid count of the type's unit)."""
    return lambda values: pa.array(values, storage).view(data_type)


def encoded(value_type: pa.DataType) -> Build:
    return lambda values: pa.array(values, value_type).dictionary_encode()


def ints(bits: int, signed: bool = True) -> st.SearchStrategy[int]:
    if signed:
        return st.integers(-(1 << (bits - 1)), (1 << (bits - 1)) - 1)
    return st.integers(0, (1 << bits) - 1)


def case(name: str, values: st.SearchStrategy[Any], zero: Any, build: Build) -> Case:
    return Case(name, values, zero, build)


# counts of a unit that stay within Python's datetime range (nested values are converted)
COUNTS = st.integers(-(10**11), 10**11)
DAY_COUNTS = st.integers(-700_000, 2_900_000)
TEXT = st.text(max_size=6)
TIMESTAMPS = [
    case(f"timestamp[{unit}, {tz}]", COUNTS, 0, viewed(pa.int64(), pa.timestamp(unit, tz)))
    for unit in ("s", "ms", "us", "ns")
    for tz in (None, "UTC", "Europe/Berlin")
]
CASES = [
    *(case(f"int{b}", ints(b), 0, typed(getattr(pa, f"int{b}")())) for b in (8, 16, 32, 64)),
    *(
        case(f"uint{b}", ints(b, signed=False), 0, typed(getattr(pa, f"uint{b}")()))
        for b in (8, 16, 32, 64)
    ),
    case(
        "float16", st.floats(width=16), 0.0, lambda v: pa.array(v, pa.float32()).cast(pa.float16())
    ),
    case("float32", st.floats(width=32), 0.0, typed(pa.float32())),
    case("float64", st.floats(), 0.0, typed(pa.float64())),
    case("bool", st.booleans(), False, typed(pa.bool_())),
    case("string", TEXT, "", typed(pa.string())),
    case("large_string", TEXT, "", typed(pa.large_string())),
    case("string_view", TEXT, "", typed(pa.string_view())),
    case("binary", st.binary(max_size=6), b"", typed(pa.binary())),
    case("large_binary", st.binary(max_size=6), b"", typed(pa.large_binary())),
    case("binary_view", st.binary(max_size=6), b"", typed(pa.binary_view())),
    case("fixed_size_binary", st.binary(min_size=3, max_size=3), b"\0\0\0", typed(pa.binary(3))),
    case("date32", DAY_COUNTS, 0, viewed(pa.int32(), pa.date32())),
    case("date64", st.dates(), dt.date(1970, 1, 1), typed(pa.date64())),
    case("time32[s]", st.integers(0, 86_399), 0, viewed(pa.int32(), pa.time32("s"))),
    case("time32[ms]", st.integers(0, 86_399_999), 0, viewed(pa.int32(), pa.time32("ms"))),
    case("time64[us]", st.integers(0, 86_399_999_999), 0, viewed(pa.int64(), pa.time64("us"))),
    case("time64[ns]", st.integers(0, 86_399 * 10**9), 0, viewed(pa.int64(), pa.time64("ns"))),
    *TIMESTAMPS,
    *(
        case(f"duration[{u}]", COUNTS, 0, viewed(pa.int64(), pa.duration(u)))
        for u in ("s", "ms", "us", "ns")
    ),
    case(
        "month_day_nano_interval",
        st.tuples(ints(32), ints(32), ints(64)),
        (0, 0, 0),
        typed(pa.month_day_nano_interval()),
    ),
    *(
        case(
            f"decimal{kind}({precision}, {scale})",
            st.decimals(
                places=scale,
                min_value=-(10 ** (precision - scale)) + 1,
                max_value=10 ** (precision - scale) - 1,
                allow_nan=False,
                allow_infinity=False,
            ),
            decimal.Decimal(0),
            typed(factory(precision, scale)),
        )
        for kind, factory, precision, scale in (
            ("128", pa.decimal128, 3, 1),
            ("128", pa.decimal128, 18, 4),
            ("256", pa.decimal256, 40, 3),
        )
    ),
    case("dictionary<string>", TEXT, "", encoded(pa.string())),
    case("dictionary<date32>", st.dates(), dt.date(1970, 1, 1), encoded(pa.date32())),
    case(
        "dictionary<timestamp>",
        st.datetimes(),
        dt.datetime(1970, 1, 1),
        encoded(pa.timestamp("us")),
    ),
    case(
        "list<int64>", st.lists(st.none() | ints(64), max_size=3), [], typed(pa.list_(pa.int64()))
    ),
    case(
        "large_list<timestamp[ns]>",
        st.lists(st.none() | st.datetimes(dt.datetime(1678, 1, 1), dt.datetime(2261, 1, 1))),
        [],
        typed(pa.large_list(pa.timestamp("ns"))),
    ),
    case(
        "list<timestamp[s]> beyond the years Python holds",
        st.lists(st.none() | st.integers(-(2**62), 2**62), max_size=3),
        [],
        lambda v: pa.array(v, pa.list_(pa.int64())).cast(pa.list_(pa.timestamp("s"))),
    ),
    case(
        "struct<day: date32> beyond the years Python holds",
        st.fixed_dictionaries({"day": st.none() | ints(32)}),
        {"day": None},
        lambda v: pa.array(v, pa.struct([("day", pa.int32())])).cast(
            pa.struct([("day", pa.date32())])
        ),
    ),
    case(
        "fixed_size_list<int32, 2>",
        st.lists(st.none() | ints(32), min_size=2, max_size=2),
        [0, 0],
        typed(pa.list_(pa.int32(), 2)),
    ),
    case("list_view<int32>", st.lists(st.none() | ints(32)), [], typed(pa.list_view(pa.int32()))),
    case(
        "list<string>",
        st.lists(st.none() | TEXT, max_size=3),
        [],
        typed(pa.list_(pa.string())),
    ),
    case(
        "struct<ts: timestamp[us, UTC], day: date32, s: string>",
        st.fixed_dictionaries(
            {
                "ts": st.none() | st.datetimes(timezones=st.just(dt.UTC)),
                "day": st.none() | st.dates(),
                "s": st.none() | TEXT,
            }
        ),
        {"ts": None, "day": None, "s": None},
        typed(
            pa.struct([("ts", pa.timestamp("us", "UTC")), ("day", pa.date32()), ("s", pa.string())])
        ),
    ),
    case(
        "map<string, duration[us]>",
        st.lists(
            st.tuples(TEXT, st.none() | st.timedeltas(-dt.timedelta(10**6), dt.timedelta(10**6))),
            max_size=3,
        ),
        [],
        typed(pa.map_(pa.string(), pa.duration("us"))),
    ),
]
NULL_ONLY = case("null", st.none(), None, typed(pa.null()))


def version_of(*chunks: pa.Array) -> str:
    return data_version(pa.table({"x": pa.chunked_array(chunks, chunks[0].type)}))


def test_every_type_named_in_the_issue_is_covered() -> None:
    names = " ".join(c.name for c in CASES)
    for required in (
        "int8", "uint64", "float16", "bool", "large_string", "large_binary", "date32",
        "date64", "time32", "time64", "timestamp[ns, Europe/Berlin]", "duration",
        "decimal128", "decimal256", "dictionary", "large_list", "struct", "map",
        "fixed_size_binary",
    ):  # fmt: skip
        assert required in names


@pytest.mark.parametrize("case", [*CASES, NULL_ONLY], ids=lambda c: c.name)
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_any_type_with_or_without_nulls_hashes_stably(case: Case, data: st.DataObject) -> None:
    nulls = data.draw(st.booleans())
    values = data.draw(st.lists(st.none() | case.values if nulls else case.values, max_size=12))
    version = version_of(case.build(values))
    # equal data, built again, or sliced out of a larger array, or split into chunks
    assert version_of(case.build(values)) == version
    padded = case.build([None, *values, None])
    assert version_of(padded.slice(1, len(values))) == version
    cut = sorted(data.draw(st.lists(st.integers(0, len(values)), max_size=3)))
    bounds = [0, *cut, len(values)]
    chunks = [case.build(values[a:b]) for a, b in itertools.pairwise(bounds)]
    assert version_of(*chunks) == version
    # a null is not the zero value (NaT is not the epoch, None is not 0 or '')
    for at, value in enumerate(values):
        if value is None and case is not NULL_ONLY:
            zeroed = [*values[:at], case.zero, *values[at + 1 :]]
            assert version_of(case.build(zeroed)) != version
            break


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_a_null_in_each_place_differs_from_zero_and_from_other_places(case: Case) -> None:
    zeros = [case.zero] * 3
    versions = {version_of(case.build(zeros))}
    for at in range(3):
        versions.add(version_of(case.build([*zeros[:at], None, *zeros[at + 1 :]])))
    versions.add(version_of(case.build([None] * 3)))
    assert len(versions) == 5


def pandas_frame(with_nulls: bool) -> pd.DataFrame:
    """One column per type pandas hands to Arrow, a null in the second row when asked."""
    first: dict[str, Any] = {
        "datetime": pd.Timestamp("2025-01-01 12:00"),
        "datetime_tz": pd.Timestamp("2025-01-01 12:00", tz="Europe/Berlin"),
        "date": dt.date(2025, 1, 1),
        "time": dt.time(12, 30),
        "timedelta": pd.Timedelta("90min"),
        "Int8": 1,
        "UInt64": 2,
        "float32": 1.5,
        "float16": 0.5,
        "boolean": True,
        "object_str": "a",
        "string": "b",
        "category": "c",
        "decimal": decimal.Decimal("1.5"),
        "bytes": b"x",
        "list": [1, None],
        "dict": {"a": 1, "b": dt.date(2025, 1, 1)},
        "period": pd.Period("2025-01", "M"),
        "interval": pd.Interval(0.0, 1.0),
    }
    dtypes = {
        "Int8": "Int8",
        "UInt64": "UInt64",
        "float32": "Float32",
        "float16": "float16",
        "boolean": "boolean",
        "string": "string",
        "category": "category",
        "period": "period[M]",
    }
    frame = pd.DataFrame({name: [value, value] for name, value in first.items()}).astype(dtypes)
    if with_nulls:
        for name in frame.columns:
            frame.loc[1, name] = None
    return frame


@pytest.mark.parametrize("with_nulls", [False, True])
def test_every_type_pandas_produces_hashes(with_nulls: bool) -> None:
    frame = pandas_frame(with_nulls)
    table = pa.Table.from_pandas(frame, preserve_index=False)
    assert table.column("datetime").null_count == int(with_nulls)
    version = data_version(table)
    for name in table.column_names:
        column = table.select([name])
        assert data_version(column) == data_version(pa.Table.from_batches(column.to_batches(1)))
    assert data_version(pa.Table.from_pandas(pandas_frame(with_nulls), preserve_index=False)) == (
        version
    )


def test_nat_is_not_the_epoch() -> None:
    nat = pd.DataFrame({"t": pd.Series([pd.NaT, pd.Timestamp("2025-01-01")], dtype="M8[ns]")})
    epoch = pd.DataFrame({"t": pd.Series([pd.Timestamp(0), pd.Timestamp("2025-01-01")])})
    assert data_version(pa.Table.from_pandas(nat)) != data_version(pa.Table.from_pandas(epoch))


# Versions computed before nulls in time columns were hashable: data that hashed then
# keeps its version, so no user's stored data version changes (no rebuilds).
PINNED = {
    "f56d7496bd899c11": pa.table(
        {"id": pa.array([1, 2, 3], pa.int64()), "amount": [0.5, 1.5, 2.5], "name": ["a", "bb", ""]}
    ),
    "15fe24928011c8d8": pa.table(
        {
            "id": pa.array([1, None, 3], pa.int64()),
            "amount": [0.5, None, 2.5],
            "name": ["a", None, ""],
            "flag": [True, None, False],
            "dec": pa.array(
                [decimal.Decimal("1.50"), None, decimal.Decimal("-2.25")], pa.decimal128(10, 2)
            ),
        }
    ),
    "3ac765bbfacbe54a": pa.table(
        {
            "ts": pa.array([dt.datetime(2025, 1, 1, 12)], pa.timestamp("ns")),
            "tz": pa.array(
                [dt.datetime(2025, 1, 1, 12, tzinfo=dt.UTC)], pa.timestamp("us", "Europe/Berlin")
            ),
            "d": pa.array([dt.date(2025, 1, 1)], pa.date32()),
            "t": pa.array([dt.time(1, 2, 3)], pa.time64("us")),
            "dur": pa.array([dt.timedelta(hours=1)], pa.duration("ns")),
        }
    ),
    "393944aeb0c4f6da": pa.table(
        {
            "l": pa.array([[1, None], None, []], pa.list_(pa.int64())),
            "s": pa.array(
                [{"a": dt.date(2025, 1, 1)}, None, {"a": None}], pa.struct([("a", pa.date32())])
            ),
        }
    ),
}


@pytest.mark.parametrize("expected", PINNED)
def test_versions_of_data_that_hashed_before_do_not_change(expected: str) -> None:
    assert data_version(PINNED[expected]) == expected
