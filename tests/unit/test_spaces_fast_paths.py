"""The shortcuts of :mod:`partita.spaces` give the answers of the general paths.

``AssetRows.group`` keeps a table whose rows of each asset are together (the
catalog's order) as it is, and sorts any other; ``KeyIndex.indices_of``
answers "every key in index order" with one equality check. Both are compared
with what the general path says on shuffled and partial inputs.
"""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from hypothesis import given, settings
from hypothesis import strategies as st

from partita.partitions import DailyPartitions
from partita.spaces import AssetRows, KeyIndex

NOW = datetime(2025, 3, 1, tzinfo=UTC)
SETTINGS = settings(max_examples=150, deadline=None, derandomize=True, database=None)


def _rows_by_asset(grouped: AssetRows) -> dict[str, list[int]]:
    found: dict[str, list[int]] = {}
    for name in grouped.bounds:
        rows = grouped.of(name)
        assert rows is not None
        assert set(rows["asset"].to_pylist()) == {name}
        found[name] = sorted(rows["value"].to_pylist())
    return found


@SETTINGS
@given(
    st.lists(st.sampled_from("abcde"), min_size=1, max_size=40), st.booleans(), st.integers(1, 4)
)
def test_group_finds_the_same_rows_whether_or_not_the_table_is_grouped(
    assets: list[str], grouped_first: bool, chunks: int
) -> None:
    """Grouped input (kept as it is) and shuffled input (sorted) give each asset its rows."""
    if grouped_first:
        assets = sorted(assets)
    values = list(range(len(assets)))
    size = -(-len(assets) // chunks)
    table = pa.Table.from_batches(
        [
            pa.record_batch({"asset": assets[i : i + size], "value": values[i : i + size]})
            for i in range(0, len(assets), size)
        ]
    )
    expected: dict[str, list[int]] = {}
    for asset, value in zip(assets, values, strict=True):
        expected.setdefault(asset, []).append(value)
    grouped = AssetRows.group(table)
    assert _rows_by_asset(grouped) == expected
    if grouped_first:
        assert grouped.table is table, "an already grouped table is not copied"


@SETTINGS
@given(st.integers(0, 30), st.lists(st.integers(0, 40), max_size=40), st.booleans())
def test_indices_of_equals_index_in(days: int, picks: list[int], every_key: bool) -> None:
    """Every key in order (the shortcut), or any keys (some that do not exist): the same
    indices as a lookup of each key."""
    definition = DailyPartitions(start="2025-01-01")
    index = KeyIndex.of(definition, NOW)
    keys = list(index.keys)
    wanted = keys if every_key else [keys[p] if p < len(keys) else f"x{p}" for p in picks]
    partitions = pa.chunked_array(
        [pa.array(wanted[:days], pa.string()), pa.array(wanted[days:], pa.string())]
    )
    expected = np.asarray(pc.index_in(partitions, value_set=index.array).fill_null(-1))
    assert index.indices_of(partitions).tolist() == expected.tolist()
