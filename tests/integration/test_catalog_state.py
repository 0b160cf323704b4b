"""Planner state v3: edges, output hashes, the v2 -> v3 migration and state snapshots."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from partita.catalog.sqlite import SQLiteCatalog
from partita.catalog.sqlite.migrations import migrate
from partita.catalog.sqlite.state import load_planner_state
from partita.records import (
    Input,
    Materialization,
    Observation,
    PlannerState,
    StepAttempt,
    StepStatus,
    combine_hashes,
    partition_hash,
)

from .test_catalog_support import at, build, start_run

ASSETS = ["a", "b", "c", "d"]


def _rows(state: PlannerState) -> tuple[list[tuple[object, ...]], ...]:
    """Every table of a state as sorted row tuples (row order carries no meaning)."""
    return tuple(
        sorted(tuple(row.values()) for row in table.to_pylist())
        for table in (state.latest, state.edges, state.failed, state.observations)
    )


def _cold(path: Path, assets: list[str]) -> PlannerState:
    """The state straight from SQLite, without any snapshot."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        return load_planner_state(conn, assets)
    finally:
        conn.close()


def _record_random(catalog: SQLiteCatalog, rng: random.Random, run_id: str, count: int) -> None:
    items = []
    for _ in range(count):
        asset = rng.choice(ASSETS)
        ups = [f"p{rng.randrange(30)}" for _ in range(rng.randrange(4))]
        inputs = [Input("src", p, f"s{rng.randrange(3)}") for p in ups]
        mat = Materialization(asset, f"p{rng.randrange(30)}", run_id, f"v{rng.random()}", at(1))
        items.append((mat, inputs))
    catalog.record_materializations_bulk(items, upstream_assets={a: ["src", "dim"] for a in ASSETS})


def test_a_version_2_catalog_gets_hashes_and_edges(tmp_path: Path) -> None:
    path = tmp_path / "v2.db"
    conn = sqlite3.connect(path, isolation_level=None)
    migrate(conn, target=2)
    conn.execute("INSERT INTO runs (run_id, status, started_at) VALUES ('old', 'succeeded', 1.0)")
    for mid, asset, partition, version in ((1, "raw", "d1", "r1"), (2, "raw", "d2", "r2")):
        conn.execute(
            "INSERT INTO materializations (id, asset, partition, run_id, code_version, "
            "config_hash, data_version, input_fingerprint, created_at) "
            "VALUES (?, ?, ?, 'old', 'c', '', ?, 'x', 2.0)",
            (mid, asset, partition, version),
        )
    conn.execute(
        "INSERT INTO materializations (id, asset, partition, run_id, code_version, config_hash, "
        "data_version, input_fingerprint, created_at) VALUES (3, 'top', '', 'old', 'c', '', "
        "'t', 'x', 3.0)"
    )
    conn.executemany(
        "INSERT INTO inputs VALUES (3, 'raw', ?, ?, ?)", [("d1", 1, "r1"), ("d2", 2, "r2")]
    )
    conn.execute(
        "INSERT INTO latest_materialization SELECT asset, partition, id, data_version, "
        "code_version, config_hash, input_fingerprint, run_id, created_at FROM materializations"
    )
    conn.execute(
        "INSERT INTO observations (asset, partition, data_version, observed_at) "
        "VALUES ('src', '', 'o1', 1.0)"
    )
    conn.close()

    catalog = SQLiteCatalog(path)
    state = catalog.planner_state(["raw", "top", "src"])
    assert state.edges.to_pylist() == [
        {
            "materialization_id": 3,
            "upstream_asset": "raw",
            "n_inputs": 2,
            "fingerprint": combine_hashes(
                [partition_hash("raw", "d1", "r1"), partition_hash("raw", "d2", "r2")]
            ),
        }
    ]
    hashes = {(r["asset"], r["partition"]): r["output_hash"] for r in state.latest.to_pylist()}
    assert hashes[("top", "")] == partition_hash("top", None, "t")
    assert state.observations["output_hash"].to_pylist() == [partition_hash("src", None, "o1")]


def test_snapshot_plus_later_writes_equals_a_cold_load(tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    rng = random.Random(7)
    always = SQLiteCatalog(path, snapshot_refresh_rows=1)  # rewrites the snapshot each time
    never = SQLiteCatalog(path, snapshot_refresh_rows=10**9)  # only merges deltas
    start_run(always, "r1")
    for round_ in range(8):
        _record_random(always, rng, "r1", rng.randrange(1, 40))
        if round_ % 3 == 0:
            build(always, "r1", "a", "p1", f"failed-then-{round_}")
            always.record_step_outcome(
                StepAttempt("r1", "b", "p2", round_ + 2, StepStatus.FAILED, at(5), at(6), "x")
            )
            always.record_observation(Observation("src", "p1", f"o{round_}", at(round_)))
        reader = always if round_ % 2 else never
        assert _rows(reader.planner_state(ASSETS)) == _rows(_cold(path, ASSETS))
        assert _rows(reader.planner_state(["b", "zz"])) == _rows(_cold(path, ["b", "zz"]))
    assert always.snapshot_path.exists()


def test_a_wipe_is_seen_through_a_snapshot_taken_before_it(tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    writer = SQLiteCatalog(path, snapshot_refresh_rows=1)
    start_run(writer, "r1")
    _record_random(writer, random.Random(3), "r1", 40)
    build(writer, "r1", "a", "p1", "x")
    writer.planner_state(ASSETS)  # writes the snapshot, with a p1
    assert writer.snapshot_path.exists()
    reader = SQLiteCatalog(path, snapshot_refresh_rows=10**9)
    writer.record_wipe("a", ["p1"], now=at(9))
    for catalog in (reader, writer):
        state = catalog.planner_state(ASSETS)
        assert _rows(state) == _rows(_cold(path, ASSETS))
        assert ("a", "p1") not in set(
            zip(*(state.latest[c].to_pylist() for c in ("asset", "partition")), strict=True)
        )


def test_a_corrupt_stale_or_foreign_snapshot_is_never_trusted(tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    catalog = SQLiteCatalog(path, snapshot_refresh_rows=1)
    start_run(catalog, "r1")
    _record_random(catalog, random.Random(1), "r1", 50)
    catalog.planner_state(ASSETS)
    snapshot = catalog.snapshot_path
    good = snapshot.read_bytes()

    # power loss before the data reached the disk: a truncated file
    snapshot.write_bytes(good[: len(good) // 2])
    assert _rows(catalog.planner_state(ASSETS)) == _rows(_cold(path, ASSETS))
    # a flipped byte inside the Arrow data
    garbled = bytearray(good)
    garbled[len(good) - 100] ^= 0xFF
    snapshot.write_bytes(bytes(garbled))
    (snapshot.parent / ".state-leftover.tmp").write_bytes(b"half a snapshot")
    assert _rows(catalog.planner_state(ASSETS)) == _rows(_cold(path, ASSETS))

    # a non-append change bumps the generation: the old snapshot no longer applies
    snapshot.write_bytes(good)
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("DELETE FROM latest_materialization WHERE asset = 'a'")
    conn.execute("UPDATE catalog_meta SET value = value + 1 WHERE key = 'generation'")
    conn.close()
    state = catalog.planner_state(ASSETS)
    assert "a" not in state.latest["asset"].to_pylist()
    assert _rows(state) == _rows(_cold(path, ASSETS))

    # another catalog file at the same path (deleted and recreated)
    stale = snapshot.read_bytes()
    catalog.close()
    for leftover in tmp_path.glob("c.db*"):
        if leftover.is_file():
            leftover.unlink()
    fresh = SQLiteCatalog(path, snapshot_refresh_rows=10**9)
    snapshot.write_bytes(stale)
    start_run(fresh, "r1")
    _record_random(fresh, random.Random(2), "r1", 80)
    assert _rows(fresh.planner_state(ASSETS)) == _rows(_cold(path, ASSETS))


_SNAPSHOTTER = textwrap.dedent(
    """
    import sys
    from datetime import UTC, datetime
    from partita.catalog.sqlite import SQLiteCatalog
    from partita.records import Input, Materialization, Run
    catalog = SQLiteCatalog(sys.argv[1], snapshot_refresh_rows=0)
    now = datetime(2025, 3, 1, tzinfo=UTC)
    run_id = sys.argv[2]
    catalog.start_run(Run(run_id=run_id, started_at=now))
    i = 0
    while True:  # every load rewrites the snapshot; the parent kills us at some point
        items = [(Materialization("a", f"p{(i * 7 + k) % 500}", run_id, f"v{i}.{k}", now),
                  [Input("src", f"p{k}", "s")]) for k in range(300)]
        catalog.record_materializations_bulk(items, upstream_assets={"a": ["src"]})
        catalog.planner_state(["a"])
        i += 1
        if i == 2:
            print("writing", flush=True)
    """
)


def test_sigkill_while_snapshots_are_written_gives_the_cold_state(tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    SQLiteCatalog(path).close()
    src = str(Path(__file__).resolve().parents[2] / "src")
    env = {**os.environ, "PYTHONPATH": src + os.pathsep + os.environ.get("PYTHONPATH", "")}
    rng = random.Random(3)
    for round_ in range(3):
        child = subprocess.Popen(
            [sys.executable, "-c", _SNAPSHOTTER, str(path), f"snap{round_}"],
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert child.stdout is not None and child.stdout.readline().strip() == "writing"
        time.sleep(rng.uniform(0.0, 0.3))
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
        reader = SQLiteCatalog(path, snapshot_refresh_rows=10**9)
        assert _rows(reader.planner_state(["a"])) == _rows(_cold(path, ["a"]))
        reader.close()


def test_the_state_as_of_a_time_is_the_state_the_catalog_had_then(tmp_path: Path) -> None:
    """``planner_state(as_of=T)`` (for ``freshness --at``, issue 12 item 9) equals the state
    read at ``T``: later materializations, failures and observations do not count, and a
    partition rebuilt later counts with the materialization it had then."""
    catalog = SQLiteCatalog(tmp_path / "c.db")
    rng = random.Random(11)
    start_run(catalog, "r1")
    assets = [*ASSETS, "src"]
    seen: list[tuple[float, tuple[list[tuple[object, ...]], ...]]] = []
    for round_ in range(6):
        base = 100.0 * (round_ + 1)
        items = []
        for _ in range(rng.randrange(1, 25)):
            inputs = [Input("src", f"p{rng.randrange(30)}", f"s{rng.randrange(3)}")]
            version = f"v{rng.random()}"
            items.append(
                (
                    Materialization(
                        rng.choice(ASSETS), f"p{rng.randrange(30)}", "r1", version, at(base)
                    ),
                    inputs,
                )
            )
        catalog.record_materializations_bulk(items, upstream_assets={a: ["src"] for a in ASSETS})
        partition = f"p{rng.randrange(30)}"
        catalog.record_step_outcome(
            StepAttempt(
                "r1", "b", partition, round_ + 2, StepStatus.FAILED, at(base + 1), at(base + 2), "x"
            )
        )
        catalog.record_observation(Observation("src", partition, f"o{round_}", at(base + 3)))
        seen.append((base + 5, _rows(catalog.planner_state(assets))))
    for moment, rows in seen:
        assert _rows(catalog.planner_state(assets, as_of=at(moment))) == rows
    assert _rows(catalog.planner_state(assets, as_of=at(0))) == _rows(PlannerState.empty())
    catalog.close()
