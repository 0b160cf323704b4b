"""The state view's vectorized paths give what a per-row reading of the state gives.

:func:`partita.planner.state_view.build_state_view` takes shortcuts at scale:
one pass per column for code versions and config hashes (one value, a few,
or a per-row column of many), one ``index_in`` for the partitions most rows
share, edges read in the catalogs' order without a join (when it holds) and
split by upstream asset through a periodicity check (when it holds), integer
columns read chunk by chunk. Random states below (rows grouped or shuffled,
chunked at random places, partitions that do not exist at ``now``, edges in
the catalog's order or not, missing, extra or reordered upstream assets) are
compared, array by array, with a plain loop over rows.
"""

from __future__ import annotations

import random
from itertools import pairwise

import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from partita.assets import asset
from partita.definitions import Definitions
from partita.graph import AssetGraph
from partita.keys import AssetKey
from partita.partitions import DailyPartitions
from partita.planner.recorded import RecordedEdges
from partita.planner.state_view import StateView, build_state_view
from partita.records import EDGES_SCHEMA, LATEST_SCHEMA, PlannerState
from tests.planner_support import NOW

SETTINGS = settings(max_examples=120, deadline=None, derandomize=True, database=None)

DAILY = DailyPartitions(start="2025-01-01", end="2025-01-09")  # 8 days
LATER = DailyPartitions(start="2025-01-04", end="2025-01-09")  # 5 days, its own index
DEPS = {"a": [], "b": ["a"], "c": ["a", "b"], "d": ["b"], "e": ["b", "c", "a"]}
GONE = "gone"  # an upstream asset the graph no longer has


def _graph() -> AssetGraph:
    specs = [
        asset(key=name, partitions=LATER if name == "d" else DAILY, deps=deps, code_version=name)(
            lambda: None
        )
        for name, deps in DEPS.items()
    ]
    return AssetGraph(Definitions(assets=specs))


GRAPH = _graph()


def _keys(name: str) -> list[str]:
    return list((LATER if name == "d" else DAILY).keys(NOW))


@st.composite
def states(draw: st.DrawFn) -> tuple[PlannerState, dict[str, str]]:
    """A random state of the assets of ``GRAPH``, and config hashes for them."""
    rng = random.Random(draw(st.integers(0, 2**32)))
    latest: list[dict[str, object]] = []
    edges: list[dict[str, object]] = []
    next_id = 1
    shuffled_edges = draw(st.booleans())
    stale_share = draw(st.sampled_from((0.0, 0.2)))  # none: every row agrees
    for name, deps in DEPS.items():
        if rng.random() < 0.15:
            continue  # never built
        keys = _keys(name)
        chosen = keys if rng.random() < 0.5 else [k for k in keys if rng.random() < 0.7]
        if rng.random() < 0.2:
            chosen = [*chosen, "2031-01-01"]  # not a partition at now
        elif chosen == keys and rng.random() < 0.2:
            # as many rows as partitions, in order, but one is not a partition at now
            chosen = [*keys[:-2], "2031-01-01", keys[-1]]
        if rng.random() < 0.2:
            rng.shuffle(chosen)
        names = list(deps)
        if rng.random() < 0.15:
            names.append(GONE)
        reorder = rng.random() < 0.15
        for partition in chosen:
            mat_id = next_id
            next_id += rng.choice((1, 1, 1, 3))
            latest.append(
                {
                    "asset": name,
                    "partition": partition,
                    "materialization_id": mat_id,
                    "data_version": "v",
                    "code_version": "old" if rng.random() < stale_share else name,
                    "config_hash": "x" if rng.random() < stale_share else "",
                    "output_hash": rng.getrandbits(63),
                    "run_id": "r",
                    "created_at": NOW,
                }
            )
            upstream = [u for u in names if rng.random() < 0.9] if rng.random() < 0.2 else names
            if reorder:
                upstream = rng.sample(upstream, len(upstream))
            edges.extend(
                {
                    "materialization_id": mat_id,
                    "upstream_asset": u,
                    "n_inputs": 1,
                    "fingerprint": rng.getrandbits(63),
                }
                for u in upstream
            )
    if draw(st.booleans()):
        rng.shuffle(latest)
    if shuffled_edges:
        rng.shuffle(edges)
    configs = draw(
        st.sampled_from([{}, {n: "x" for n in DEPS}, {"b": "x", "c": "y"}, {n: n for n in DEPS}])
    )
    state = PlannerState(
        latest=_chunked(latest, LATEST_SCHEMA, rng),
        edges=_chunked(edges, EDGES_SCHEMA, rng),
        failed=PlannerState.empty().failed,
        observations=PlannerState.empty().observations,
    )
    return state, configs


def _chunked(rows: list[dict[str, object]], schema: pa.Schema, rng: random.Random) -> pa.Table:
    """``rows`` as a table of chunks split at random places (some empty)."""
    cuts = sorted(rng.randint(0, len(rows)) for _ in range(rng.randint(0, 4)))
    bounds = [0, *cuts, len(rows)]
    return pa.Table.from_batches(
        [pa.RecordBatch.from_pylist(rows[lo:hi], schema=schema) for lo, hi in pairwise(bounds)],
        schema=schema,
    )


def _expected(state: PlannerState, configs: dict[str, str]) -> StateView:
    """The view read row by row (the reference)."""
    view = build_state_view(GRAPH, PlannerState.empty(), GRAPH.keys, NOW, configs)
    owner: dict[int, tuple[AssetKey, int]] = {}
    for row in state.latest.to_pylist():
        key = next(k for k in GRAPH.keys if str(k) == row["asset"])
        space = view.spaces[key]
        at = space.position(row["partition"])
        if at is None:
            continue
        space.materialized[at] = True
        space.output_hash[at] = np.uint64(row["output_hash"])
        space.materialization_id[at] = row["materialization_id"]
        owner[row["materialization_id"]] = (key, at)
        for target, recorded, current in (
            (view.code_ok, row["code_version"], GRAPH.code_version(key)),
            (view.config_ok, row["config_hash"], configs.get(row["asset"], "")),
        ):
            if recorded != current:
                target.setdefault(key, np.ones(space.size, dtype=np.bool_))[at] = False
    for row in state.edges.to_pylist():
        found = owner.get(row["materialization_id"])
        if found is None or row["upstream_asset"] not in DEPS[str(found[0])]:
            continue
        key, at = found
        recorded = view.edges.setdefault(
            (key, row["upstream_asset"]),
            RecordedEdges(np.zeros(view.spaces[key].size, dtype=np.uint64)),
        )
        recorded.fingerprint[at] = np.uint64(row["fingerprint"])
    return view


@SETTINGS
@given(states())
def test_the_view_equals_a_row_by_row_reading(drawn: tuple[PlannerState, dict[str, str]]) -> None:
    state, configs = drawn
    view = build_state_view(GRAPH, state, GRAPH.keys, NOW, configs)
    expected = _expected(state, configs)
    for key, space in expected.spaces.items():
        got = view.spaces[key]
        assert np.array_equal(got.materialized, space.materialized), key
        assert np.array_equal(got.output_hash, space.output_hash), key
        assert np.array_equal(got.materialization_id, space.materialization_id), key
    for name, got_masks, expected_masks in (
        ("code", view.code_ok, expected.code_ok),
        ("config", view.config_ok, expected.config_ok),
    ):
        assert got_masks.keys() == expected_masks.keys(), name
        for key, mask in expected_masks.items():
            assert np.array_equal(got_masks[key], mask), (name, key)
    assert view.edges.keys() == expected.edges.keys()
    for pair, recorded in expected.edges.items():
        assert np.array_equal(view.edges[pair].fingerprint, recorded.fingerprint), pair


def test_the_catalog_order_takes_the_shortcuts() -> None:
    """Rows in the catalogs' order (grouped, k edges per build in one order) give the same
    view with and without the shortcuts taken (the shuffled copy takes the join)."""
    rng = random.Random(7)
    latest, edges = [], []
    for i, name in enumerate(sorted(DEPS)):
        for j, partition in enumerate(_keys(name)):
            mat_id = 100 * i + j + 1
            latest.append(
                {
                    "asset": name,
                    "partition": partition,
                    "materialization_id": mat_id,
                    "data_version": "v",
                    "code_version": name,
                    "config_hash": "",
                    "output_hash": rng.getrandbits(63),
                    "run_id": "r",
                    "created_at": NOW,
                }
            )
            edges.extend(
                {
                    "materialization_id": mat_id,
                    "upstream_asset": u,
                    "n_inputs": 1,
                    "fingerprint": rng.getrandbits(63),
                }
                for u in DEPS[name]
            )
    ordered = PlannerState(
        latest=pa.Table.from_pylist(latest, schema=LATEST_SCHEMA),
        edges=pa.Table.from_pylist(edges, schema=EDGES_SCHEMA),
        failed=PlannerState.empty().failed,
        observations=PlannerState.empty().observations,
    )
    rng.shuffle(edges)
    shuffled = PlannerState(
        latest=ordered.latest,
        edges=pa.Table.from_pylist(edges, schema=EDGES_SCHEMA),
        failed=ordered.failed,
        observations=ordered.observations,
    )
    fast = build_state_view(GRAPH, ordered, GRAPH.keys, NOW, {})
    slow = build_state_view(GRAPH, shuffled, GRAPH.keys, NOW, {})
    expected = _expected(ordered, {})
    assert fast.edges.keys() == slow.edges.keys() == expected.edges.keys()
    assert len(fast.edges) == sum(len(d) for d in DEPS.values())
    for pair, recorded in expected.edges.items():
        assert np.array_equal(fast.edges[pair].fingerprint, recorded.fingerprint)
        assert np.array_equal(slow.edges[pair].fingerprint, recorded.fingerprint)
