"""Planner state: edges, output hashes, the v2 -> v3 migration and the state blocks (v7)."""

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
from partita.catalog.sqlite.snapshot import read_blocks, write_blocks
from partita.catalog.sqlite.state import catalog_generation, load_planner_state, load_state
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
    """The state straight from the rows, without the state blocks."""
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


def _blocks(path: Path) -> tuple[int, int | None]:
    """How many state blocks the catalog holds, and the id they are valid up to."""
    conn = sqlite3.connect(path)
    try:
        (count,) = conn.execute("SELECT COUNT(*) FROM state_blocks").fetchone()
        row = conn.execute("SELECT value FROM catalog_meta WHERE key = 'state_max_id'").fetchone()
        return int(count), None if row is None else int(row[0])
    finally:
        conn.close()


def _max_id(path: Path) -> int:
    conn = sqlite3.connect(path)
    try:
        return int(conn.execute("SELECT MAX(id) FROM materializations").fetchone()[0])
    finally:
        conn.close()


def test_blocks_plus_later_writes_equal_a_cold_load(tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    rng = random.Random(7)
    always = SQLiteCatalog(path, snapshot_refresh_rows=1)  # writes new blocks on each load
    never = SQLiteCatalog(path, snapshot_refresh_rows=10**9)  # only merges what came after
    start_run(always, "r1")
    for round_ in range(8):
        _record_random(never, rng, "r1", rng.randrange(1, 40))
        if round_ % 3 == 0:
            build(always, "r1", "a", "p1", f"failed-then-{round_}")
            always.record_step_outcome(
                StepAttempt("r1", "b", "p2", round_ + 2, StepStatus.FAILED, at(5), at(6), "x")
            )
            always.record_observation(Observation("src", "p1", f"o{round_}", at(round_)))
        reader = always if round_ % 2 else never
        assert _rows(reader.planner_state(ASSETS)) == _rows(_cold(path, ASSETS))
        assert _rows(reader.planner_state(["b", "zz"])) == _rows(_cold(path, ["b", "zz"]))
    count, max_id = _blocks(path)
    assert (count, max_id) == (len(ASSETS), _max_id(path))  # the last load was always's


def test_a_bulk_record_leaves_blocks_up_to_date(tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    catalog = SQLiteCatalog(path, snapshot_refresh_rows=30)
    start_run(catalog, "r1")
    _record_random(catalog, random.Random(5), "r1", 10)
    assert _blocks(path) == (0, None)  # fewer rows than snapshot_refresh_rows: no blocks yet
    _record_random(catalog, random.Random(6), "r1", 200)
    assert _blocks(path) == (len(ASSETS), _max_id(path))
    reader = SQLiteCatalog(path)
    assert _rows(reader.planner_state(ASSETS)) == _rows(_cold(path, ASSETS))


def test_a_wipe_is_seen_through_blocks_written_before_it(tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    writer = SQLiteCatalog(path, snapshot_refresh_rows=1)
    start_run(writer, "r1")
    _record_random(writer, random.Random(3), "r1", 40)
    build(writer, "r1", "a", "p1", "x")
    writer.planner_state(ASSETS)  # writes the blocks, with a p1
    assert _blocks(path) == (len(ASSETS), _max_id(path))
    reader = SQLiteCatalog(path, snapshot_refresh_rows=10**9)
    writer.record_wipe("a", ["p1"], now=at(9))
    for catalog in (reader, writer):
        state = catalog.planner_state(ASSETS)
        assert _rows(state) == _rows(_cold(path, ASSETS))
        assert ("a", "p1") not in set(
            zip(*(state.latest[c].to_pylist() for c in ("asset", "partition")), strict=True)
        )


def test_garbled_stale_or_foreign_blocks_are_never_trusted(tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    catalog = SQLiteCatalog(path, snapshot_refresh_rows=1)
    reader = SQLiteCatalog(path, snapshot_refresh_rows=10**9)  # never rewrites the blocks
    start_run(catalog, "r1")
    _record_random(catalog, random.Random(1), "r1", 50)
    catalog.planner_state(ASSETS)
    conn = sqlite3.connect(path, isolation_level=None)
    good = dict(conn.execute("SELECT asset, latest FROM state_blocks").fetchall())

    # a blob cut short, then one with a flipped byte inside the Arrow data
    conn.execute("UPDATE state_blocks SET latest = substr(latest, 1, 100) WHERE asset = 'a'")
    assert _rows(reader.planner_state(ASSETS)) == _rows(_cold(path, ASSETS))
    garbled = bytearray(good["a"])
    garbled[len(garbled) // 2] ^= 0xFF
    conn.execute("UPDATE state_blocks SET latest = ? WHERE asset = 'a'", (bytes(garbled),))
    assert _rows(reader.planner_state(ASSETS)) == _rows(_cold(path, ASSETS))
    conn.execute("UPDATE state_blocks SET latest = ? WHERE asset = 'a'", (good["a"],))

    # stale: written before later materializations, which are merged on top
    _record_random(reader, random.Random(4), "r1", 30)
    assert _blocks(path)[1] is not None and _blocks(path)[1] != _max_id(path)  # type: ignore[comparison-overlap]
    assert _rows(reader.planner_state(ASSETS)) == _rows(_cold(path, ASSETS))

    # a non-append change bumps the generation: the old blocks no longer apply
    conn.execute("DELETE FROM latest_materialization WHERE asset = 'a'")
    conn.execute(
        "UPDATE catalog_meta SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT) "
        "WHERE key = 'generation'"
    )
    state = reader.planner_state(ASSETS)
    assert "a" not in state.latest["asset"].to_pylist()
    assert _rows(state) == _rows(_cold(path, ASSETS))

    # a mark beyond the newest materialization (the rows went back in time)
    catalog.planner_state(ASSETS)  # blocks of the new generation
    conn.execute(
        "UPDATE catalog_meta SET value = CAST(CAST(value AS INTEGER) + 1000 AS TEXT) "
        "WHERE key = 'state_max_id'"
    )
    conn.execute("DELETE FROM latest_materialization WHERE asset = 'b'")  # no generation bump
    state = reader.planner_state(ASSETS)
    assert "b" not in state.latest["asset"].to_pylist()
    assert _rows(state) == _rows(_cold(path, ASSETS))
    conn.close()


def test_blocks_from_an_outdated_mark_are_not_written(tmp_path: Path) -> None:
    """Two processes compacting at once: the second finds another mark and writes nothing."""
    path = tmp_path / "c.db"
    catalog = SQLiteCatalog(path, snapshot_refresh_rows=10**9)
    start_run(catalog, "r1")
    _record_random(catalog, random.Random(8), "r1", 40)
    conn = sqlite3.connect(path, isolation_level=None)
    _, first = load_state(conn, ASSETS, refresh_rows=1)
    _, second = load_state(conn, ASSETS, refresh_rows=1)
    assert first is not None and second is not None
    for blocks, written in ((first, True), (second, False)):
        conn.execute("BEGIN IMMEDIATE")
        assert write_blocks(conn, blocks, catalog_generation(conn)) is written
        conn.execute("COMMIT")
    _record_random(catalog, random.Random(9), "r1", 40)
    _, third = load_state(conn, ASSETS, refresh_rows=1)
    assert third is not None and not third.replace_all
    catalog.record_wipe("a", None, now=at(9))  # the generation moves on
    conn.execute("BEGIN IMMEDIATE")
    assert write_blocks(conn, third, catalog_generation(conn)) is False
    conn.execute("COMMIT")
    conn.close()
    assert _rows(catalog.planner_state(ASSETS)) == _rows(_cold(path, ASSETS))


def _tables(conn: sqlite3.Connection) -> set[str]:
    rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    return {str(name) for (name,) in rows}


def test_a_version_6_catalog_with_data_gets_blocks(tmp_path: Path) -> None:
    path = tmp_path / "v6.db"
    old = SQLiteCatalog(path)
    start_run(old, "r1")
    _record_random(old, random.Random(2), "r1", 60)
    old.close()
    reference = sqlite3.connect(tmp_path / "reference.db", isolation_level=None)
    migrate(reference, target=6)
    tables_of_6 = _tables(reference)
    reference.close()
    conn = sqlite3.connect(path, isolation_level=None)  # back to what schema version 6 had
    for name in _tables(conn) - tables_of_6:  # state_blocks, and the tables of later versions
        conn.execute(f"DROP TABLE {name}")
    conn.execute("DELETE FROM catalog_meta WHERE key LIKE 'state_%'")
    conn.execute("DELETE FROM schema_version WHERE version > 6")
    conn.close()
    expected = _rows(_cold(path, ASSETS))

    catalog = SQLiteCatalog(path, snapshot_refresh_rows=1)
    assert _rows(catalog.planner_state(ASSETS)) == expected
    assert _blocks(path) == (len(ASSETS), _max_id(path))
    assert _rows(SQLiteCatalog(path).planner_state(ASSETS)) == expected


def test_a_version_10_catalog_keeps_its_blocks_with_the_checksum_moved(tmp_path: Path) -> None:
    """Version 11 stores the checksum before the blobs (listing the checksums must not
    read the blobs); the blocks are copied across and stay valid."""
    path = tmp_path / "v10.db"
    catalog = SQLiteCatalog(path, snapshot_refresh_rows=1)
    start_run(catalog, "r1")
    _record_random(catalog, random.Random(3), "r1", 60)
    expected = _rows(catalog.planner_state(ASSETS))
    catalog.close()
    blocks = _blocks(path)
    assert blocks[0] == len(ASSETS)
    conn = sqlite3.connect(path, isolation_level=None)  # back to version 10's column order
    conn.executescript(
        """
        CREATE TABLE old_blocks (asset TEXT PRIMARY KEY, latest BLOB NOT NULL,
                                 edges BLOB NOT NULL, checksum INTEGER NOT NULL);
        INSERT INTO old_blocks SELECT asset, latest, edges, checksum FROM state_blocks;
        DROP TABLE state_blocks;
        ALTER TABLE old_blocks RENAME TO state_blocks;
        DELETE FROM schema_version WHERE version > 10;
        """
    )
    conn.close()

    upgraded = SQLiteCatalog(path)
    assert _rows(upgraded.planner_state(ASSETS)) == expected
    upgraded.close()
    conn = sqlite3.connect(path)
    try:
        columns = [row[1] for row in conn.execute("PRAGMA table_info(state_blocks)")]
        assert columns == ["asset", "checksum", "latest", "edges"]
        assert read_blocks(conn, ASSETS) is not None  # every checksum still matches
    finally:
        conn.close()
    assert _blocks(path) == blocks


_COMPACTOR = textwrap.dedent(
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
    while True:  # every load rewrites the blocks; the parent kills us at some point
        items = [(Materialization("a", f"p{(i * 7 + k) % 500}", run_id, f"v{i}.{k}", now),
                  [Input("src", f"p{k}", "s")]) for k in range(300)]
        catalog.record_materializations_bulk(items, upstream_assets={"a": ["src"]})
        catalog.planner_state(["a"])
        i += 1
        if i == 2:
            print("writing", flush=True)
    """
)


def test_sigkill_while_blocks_are_written_gives_the_cold_state(tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    SQLiteCatalog(path).close()
    src = str(Path(__file__).resolve().parents[2] / "src")
    env = {**os.environ, "PYTHONPATH": src + os.pathsep + os.environ.get("PYTHONPATH", "")}
    rng = random.Random(3)
    for round_ in range(3):
        child = subprocess.Popen(
            [sys.executable, "-c", _COMPACTOR, str(path), f"snap{round_}"],
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
        assert _blocks(path)[0] == 1
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


def test_the_columnar_scan_equals_the_rows_one_by_one(tmp_path: Path) -> None:
    """Separators, non-ASCII text and empty strings survive the ``group_concat`` scan."""
    path = tmp_path / "c.db"
    catalog = SQLiteCatalog(path)
    start_run(catalog, "r,1")
    odd = ["", "a,b", "ü€😀", "x" * 300, "1,2,3", "p"]
    items = [
        (
            Materialization(
                asset,
                odd[k % len(odd)] or None,
                "r,1",
                f"v,{k}é",
                at(k + 0.123456),
                code_version=odd[(k + 1) % len(odd)],
                config_hash=odd[(k + 2) % len(odd)],
            ),
            [Input("src,é", odd[k % len(odd)] or None, "s")],
        )
        for k, asset in enumerate(["a", "b,c", "é"] * 6)
    ]
    catalog.record_materializations_bulk(
        items, upstream_assets={a: ["src,é", "z"] for a in ["a", "b,c", "é"]}
    )
    conn = sqlite3.connect(path, isolation_level=None)
    latest = conn.execute(
        "SELECT asset, partition, materialization_id, data_version, code_version, config_hash, "
        "output_hash, run_id, created_at FROM latest_materialization"
    ).fetchall()
    edges = conn.execute(
        "SELECT e.* FROM input_edges e JOIN latest_materialization l "
        "ON l.materialization_id = e.materialization_id"
    ).fetchall()
    state = load_planner_state(conn, ["a", "b,c", "é"])
    conn.close()
    assert state.latest.num_rows == len(latest) > 3 and state.edges.num_rows == len(edges)
    expected = sorted((*row[:8], round(row[8] * 1e6)) for row in latest)
    got = sorted(
        (*row[:8], int(row[8].timestamp() * 1e6))
        for row in zip(
            *(state.latest[c].to_pylist() for c in state.latest.column_names), strict=True
        )
    )
    assert got == expected
    assert sorted(tuple(row.values()) for row in state.edges.to_pylist()) == sorted(edges)


def test_a_load_never_waits_for_another_process_writing(tmp_path: Path) -> None:
    """Writing blocks is optional: a load while another connection holds the write lock
    returns the right state at once and leaves the blocks for a later load."""
    path = tmp_path / "c.db"
    catalog = SQLiteCatalog(path, snapshot_refresh_rows=1)
    start_run(catalog, "r1")
    _record_random(catalog, random.Random(3), "r1", 50)
    assert _blocks(path)[1] == _max_id(path)  # the bulk record wrote blocks
    build(catalog, "r1", "a", "p1", "newer")
    reader = SQLiteCatalog(path, snapshot_refresh_rows=1)
    holder = sqlite3.connect(path, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")  # another process's write transaction
        started = time.monotonic()
        state = reader.planner_state(ASSETS)
        waited = time.monotonic() - started
        holder.execute("ROLLBACK")
    finally:
        holder.close()
    assert waited < 30  # the busy timeout is 60 s: a load that waited for it fails here
    assert _rows(state) == _rows(_cold(path, ASSETS))
    assert _blocks(path)[1] != _max_id(path)  # not refreshed while the lock was held
