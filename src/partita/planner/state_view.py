"""Scattering the catalog's bulk state into per-asset index spaces (vectorized).

The catalog hands the planner Arrow tables (``PlannerState``); this module
groups their rows by asset once (one sort, none when the catalog's order
already groups them), and fills the arrays of each
:class:`~partita.planner.space.AssetSpace`. The work that would otherwise be
one Arrow call per asset is done once over the whole ``latest`` table: the
partition keys become indices with one ``index_in`` per partitions
definition that most rows share, and the recorded code versions and config
hashes are compared with each asset's current ones in one pass per column.
The recorded per-edge input fingerprints come from
:mod:`partita.planner.recorded`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from partita.graph import AssetGraph
from partita.keys import AssetKey
from partita.partitions import DynamicPartitionsStore, PartitionsDefinition
from partita.planner.columns import IntRanges
from partita.planner.recorded import Owners, RecordedEdges, hashes, recorded_edges, same
from partita.planner.space import AssetSpace, Mask
from partita.records import PlannerState, partition_hash
from partita.spaces import AssetRows, KeyIndex

__all__ = ["RecordedEdges", "StateView", "build_state_view"]

U64 = npt.NDArray[np.uint64]
Ints = npt.NDArray[np.int64]

_SCALAR_COMPARES = 3
"""Compare a whole column with each current value when the assets have at most this
many distinct ones (else with a per-row column of them)."""

_SHARED_INDEX_SHARE = 4
"""Look up the partitions of every row in one ``index_in`` when the assets of one
partitions definition hold at least 1/this of the rows (else asset by asset)."""


@dataclass
class StateView:
    """Index spaces of the assets a plan looks at, and their recorded edges."""

    spaces: dict[AssetKey, AssetSpace]
    edges: dict[tuple[AssetKey, str], RecordedEdges]
    code_ok: dict[AssetKey, Mask]
    config_ok: dict[AssetKey, Mask]
    non_breaking: dict[AssetKey, Mask] = field(default_factory=dict)
    """Per SQL asset with a non-breaking change: the partitions recorded with a code
    version the current one only adds columns to."""


def _unobserved_source(space: AssetSpace, key: AssetKey) -> None:
    """A source without an observe function counts as present with data version ``""``."""
    space.materialized[:] = True
    space.output_hash[:] = np.asarray(
        [partition_hash(str(key), k or None, "") for k in space.keys], dtype=np.int64
    ).view(np.uint64)


@dataclass(frozen=True)
class _Built:
    """An asset with latest rows ``lo:hi`` of the grouped table, and what it is now."""

    key: AssetKey
    index: KeyIndex
    lo: int
    hi: int
    code_version: str
    config_hash: str | None  # None: not compared (the config is unknown)
    non_breaking: frozenset[str]


def _agreement(column: pa.ChunkedArray, spans: Sequence[tuple[int, int, str]]) -> Mask | None:
    """Per row of ``column``: whether it equals the value of the span ``(lo, hi, value)``
    the row is in (null: no; rows in no span: unspecified); None when every row does."""
    distinct = sorted({value for _, _, value in spans})
    if len(distinct) == 1:
        equal = pc.equal(column, distinct[0])
        if not equal.null_count and pc.all(equal).as_py():
            return None  # one value everywhere, the current one: nothing to compare
        return np.asarray(equal.fill_null(False), dtype=np.bool_)
    if len(distinct) <= _SCALAR_COMPARES:
        result = np.zeros(len(column), dtype=np.bool_)
        for value in distinct:
            equal = same(column, value)
            for lo, hi, current in spans:
                if current == value:
                    result[lo:hi] = equal[lo:hi]
        return result
    number = {value: i for i, value in enumerate(distinct)}
    codes = np.zeros(len(column), dtype=np.int32)
    for lo, hi, value in spans:
        codes[lo:hi] = number[value]
    expected = pa.array(distinct, type=pa.string()).take(pa.array(codes))
    equal = pc.equal(column, expected)
    if equal.null_count:
        equal = equal.fill_null(False)
    return np.asarray(equal, dtype=np.bool_)


def _whole(index: Ints, size: int) -> bool:
    """Whether ``index`` is ``0, 1, ..., size - 1`` (every partition, in index order)."""
    if len(index) != size:
        return False
    if not size:
        return True
    return bool(index[0] == 0) and bool((index[1:] - index[:-1] == 1).all())


def _partition_indices(column: pa.ChunkedArray, built: Sequence[_Built]) -> list[tuple[Ints, bool]]:
    """The index of each latest row's partition in its asset's space (-1: not at ``now``),
    and whether they are exactly every partition in index order.

    An asset whose rows hold every partition in index order (the common case: the
    catalog keeps each asset's rows in the order they were first built) is found by
    comparing its slice with the index's keys (a comparison of buffers, no hashing);
    the others are looked up with ``index_in``.
    """
    result: dict[int, tuple[Ints, bool]] = {}
    every: dict[int, Ints] = {}  # per index (by identity): 0, 1, ..., size - 1
    for i, item in enumerate(built):
        index = item.index
        size = index.size
        if item.hi - item.lo == size and column.slice(item.lo, size).equals(index.chunked):
            positions = every.get(id(index))
            if positions is None:
                positions = every[id(index)] = np.arange(size, dtype=np.int64)
            result[i] = (positions, True)
    pending = [i for i in range(len(built)) if i not in result]
    rows_per_index: Counter[int] = Counter()
    for i in pending:
        rows_per_index[id(built[i].index)] += built[i].hi - built[i].lo
    whole_column: dict[int, Ints] = {}  # per index: every row of the column looked up
    for i in pending:
        item = built[i]
        index = item.index
        if rows_per_index[id(index)] * _SHARED_INDEX_SHARE < len(column):
            positions = index.indices_of(column.slice(item.lo, item.hi - item.lo))
        else:
            looked_up = whole_column.get(id(index))
            if looked_up is None:
                found = pc.index_in(column, value_set=index.array).fill_null(-1)
                looked_up = whole_column[id(index)] = np.asarray(found, dtype=np.int64)
            positions = looked_up[item.lo : item.hi]
        result[i] = (positions, _whole(positions, index.size))
    return [result[i] for i in range(len(built))]


def _scatter_built(
    table: pa.Table, built: Sequence[_Built], view: StateView, owners: Owners
) -> None:
    """Fill the spaces of ``built`` from their rows of the grouped ``latest`` table."""
    ids = IntRanges(table["materialization_id"], null=-1)
    output = IntRanges(table["output_hash"])
    code_same = _agreement(table["code_version"], [(b.lo, b.hi, b.code_version) for b in built])
    config_spans = [(b.lo, b.hi, b.config_hash) for b in built if b.config_hash is not None]
    config_same = _agreement(table["config_hash"], config_spans) if config_spans else None
    indices = _partition_indices(table["partition"], built)
    for item, (index, whole) in zip(built, indices, strict=True):
        lo, hi, size = item.lo, item.hi, item.index.size
        valid: Mask | None = None
        built_ids, built_hashes = ids.range(lo, hi), output.range(lo, hi).view(np.uint64)
        if whole:  # every partition, in index order (the common case): views of the columns
            at = index
            space = AssetSpace(
                index=item.index,
                materialized=np.ones(size, dtype=np.bool_),
                materialization_id=built_ids,
                output_hash=built_hashes,
                failed=np.zeros(size, dtype=np.bool_),
            )
        else:
            space = AssetSpace.over(item.index)
            if bool((index >= 0).all()):
                at = index
            else:
                valid = index >= 0
                at, built_ids, built_hashes = index[valid], built_ids[valid], built_hashes[valid]
            space.materialized[at] = True
            space.output_hash[at] = built_hashes
            space.materialization_id[at] = built_ids
        for target, agreeing in ((view.code_ok, code_same), (view.config_ok, config_same)):
            if agreeing is None:
                continue  # every recorded build agrees
            if target is view.config_ok and item.config_hash is None:
                continue  # its config is not compared
            agrees = agreeing[lo:hi] if valid is None else agreeing[lo:hi][valid]
            if agrees.all():
                continue  # no entry: every recorded build agrees
            mask = np.ones(space.size, dtype=np.bool_)
            mask[at] = agrees
            target[item.key] = mask
            if target is view.code_ok:
                codes = table["code_version"].slice(lo, hi - lo)
                _code_changes(item, space, codes, at, valid, view)
        view.spaces[item.key] = space
        owners.ids.append(ids.range(lo, hi))
        owners.keys.append(item.key)
        owners.positions.append(index)
        owners.whole.append(whole)


def _code_changes(
    item: _Built,
    space: AssetSpace,
    codes: pa.ChunkedArray,
    at: Ints,
    valid: Mask | None,
    view: StateView,
) -> None:
    """Note the recorded code versions that differ from the current one, and the
    partitions built with one the current code changes non-breakingly."""
    differing = pc.unique(pc.filter(codes, pa.array(~same(codes, item.code_version))))
    space.stale_code_versions = tuple(sorted(str(c) for c in differing.to_pylist()))
    if item.non_breaking:
        from_versions = pc.is_in(codes, value_set=pa.array(sorted(item.non_breaking)))
        spared = np.asarray(from_versions.fill_null(False), dtype=np.bool_)
        found = np.zeros(space.size, dtype=np.bool_)
        found[at] = spared if valid is None else spared[valid]
        view.non_breaking[item.key] = found


def _scatter_observed(space: AssetSpace, rows: pa.Table) -> None:
    """Fill a source asset's space from its latest observations."""
    index = space.index.indices_of(rows["partition"])
    valid = index >= 0
    space.materialized[index[valid]] = True
    space.output_hash[index[valid]] = hashes(rows["output_hash"])[valid]


def build_state_view(
    graph: AssetGraph,
    state: PlannerState,
    assets: Iterable[AssetKey],
    now: datetime,
    config_hashes: Mapping[str, str],
    dynamic: DynamicPartitionsStore | None = None,
    non_breaking: Mapping[AssetKey, frozenset[str]] | None = None,
    config_not_compared: frozenset[str] = frozenset(),
) -> StateView:
    """Scatter ``state`` into index spaces for ``assets``; ``non_breaking[asset]`` are
    recorded code versions the asset's current code changes non-breakingly; the
    recorded config hashes of ``config_not_compared`` (asset key strings) are not
    compared."""
    latest_groups = AssetRows.group(state.latest)
    observed_groups = AssetRows.group(state.observations)
    failed_groups = AssetRows.group(state.failed)
    view = StateView(spaces={}, edges={}, code_ok={}, config_ok={})
    owners = Owners()
    shared_keys: dict[PartitionsDefinition | None, KeyIndex] = {}
    built: list[_Built] = []
    order: list[AssetKey] = []
    for key in assets:
        order.append(key)
        spec = graph.spec(key)
        index = shared_keys.get(spec.partitions)
        if index is None:
            index = shared_keys[spec.partitions] = KeyIndex.of(spec.partitions, now, dynamic)
        name = str(key)
        bounds = None if spec.is_source else latest_groups.bounds.get(name)
        if bounds is not None:  # its space is made from its rows below
            spared = (non_breaking or {}).get(key, frozenset())
            code = graph.code_version(key)
            config = None if name in config_not_compared else config_hashes.get(name, "")
            built.append(_Built(key, index, *bounds, code, config, spared))
            continue
        space = view.spaces[key] = AssetSpace.over(index)
        if spec.is_source:
            rows = observed_groups.of(name)
            if spec.fn is None and rows is None:
                _unobserved_source(space, key)
            elif rows is not None:
                _scatter_observed(space, rows)
    if built:
        built.sort(key=lambda item: item.lo)  # in the table's order, as its edges come
        _scatter_built(latest_groups.table, built, view, owners)
        view.spaces = {key: view.spaces[key] for key in order}
    for key in order:
        failed_rows = failed_groups.of(str(key))
        if failed_rows is not None:
            space = view.spaces[key]
            failed_index = space.index.indices_of(failed_rows["partition"])
            space.failed[failed_index[failed_index >= 0]] = True
    view.edges = recorded_edges(graph, state.edges, view.spaces, owners)
    return view
