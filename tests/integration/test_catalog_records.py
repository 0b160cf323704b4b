from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from partita.catalog import SCHEMA_VERSION, SQLiteCatalog
from partita.catalog.migrations import MIGRATIONS, migrate
from partita.errors import CatalogError
from partita.records import (
    CatalogReader,
    CatalogWriter,
    CheckRecord,
    DynamicPartitionsStore,
    Input,
    Materialization,
    Observation,
    RunStatus,
    StepAttempt,
    StepStatus,
    combine_hashes,
    partition_hash,
)

from .test_catalog_support import at, build, start_run


@pytest.fixture
def catalog(tmp_path: Path) -> SQLiteCatalog:
    return SQLiteCatalog(tmp_path / ".partita" / "catalog.db")


def test_file_is_wal_with_foreign_keys_and_satisfies_protocols(catalog: SQLiteCatalog) -> None:
    assert catalog.path.exists()
    conn = sqlite3.connect(catalog.path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert isinstance(catalog, CatalogReader)
    assert isinstance(catalog, CatalogWriter)
    assert isinstance(catalog, DynamicPartitionsStore)
    with pytest.raises(CatalogError):
        build(catalog, "no-such-run", "a", None, "v1")  # foreign key to runs


def test_step_outcome_records_everything_and_the_state_has_columns(
    catalog: SQLiteCatalog,
) -> None:
    start_run(catalog, "r1")
    build(catalog, "r1", "raw", "d1", "rv1")
    build(catalog, "r1", "raw", "d2", "rv2")
    attempt = StepAttempt("r1", "daily", None, 1, StepStatus.RUNNING, at(2))
    catalog.record_attempt_start(attempt)
    catalog.append_logs("r1", "daily", None, 1, "reading\n")
    mats = [
        Materialization("daily", None, "r1", "dv1", at(3), code_version="c9", config_hash="h"),
    ]
    inputs = [[Input("raw", "d1", "rv1"), Input("raw", "d2", "rv2")]]
    checks = [CheckRecord("daily", None, "not_empty", True, message="3 rows")]
    done = StepAttempt("r1", "daily", None, 1, StepStatus.SUCCEEDED, at(2), at(3), logs="done\n")
    (mid,) = catalog.record_step_outcome(done, mats, inputs, checks)

    latest = catalog.latest_materialization("daily")
    assert latest is not None and latest.materialization_id == mid
    state = catalog.planner_state(["daily", "raw"])
    assert sorted(
        zip(state.latest["asset"].to_pylist(), state.latest["partition"].to_pylist(), strict=True)
    ) == [
        ("daily", ""),
        ("raw", "d1"),
        ("raw", "d2"),
    ]
    assert state.edges.to_pylist() == [
        {
            "materialization_id": mid,
            "upstream_asset": "raw",
            "n_inputs": 2,
            "fingerprint": combine_hashes(
                [partition_hash("raw", "d1", "rv1"), partition_hash("raw", "d2", "rv2")]
            ),
        }
    ]
    hashes = dict(
        zip(
            state.latest["partition"].to_pylist(),
            state.latest["output_hash"].to_pylist(),
            strict=True,
        )
    )
    assert hashes["d1"] == partition_hash("raw", "d1", "rv1")
    rows = catalog.inputs_of([mid]).to_pylist()
    assert {r["upstream_partition"] for r in rows} == {"d1", "d2"}
    raw_d1 = catalog.latest_materialization("raw", "d1")
    assert raw_d1 is not None
    assert {r["upstream_materialization_id"] for r in rows if r["upstream_partition"] == "d1"} == {
        raw_d1.materialization_id
    }
    assert state.latest.schema.field("created_at").type.tz == "UTC"
    assert catalog.planner_state(["raw"]).edges.num_rows == 0
    (att,) = catalog.attempts("r1", asset="daily")
    assert att.status is StepStatus.SUCCEEDED and att.logs == "reading\ndone\n"
    assert "reading" in catalog.logs("r1", asset="daily")


def test_a_step_outcome_is_all_or_nothing(catalog: SQLiteCatalog) -> None:
    start_run(catalog, "r1")
    good = Materialization("a", "p1", "r1", "v1", at(1))
    bad = Materialization("a", "p2", "run-that-does-not-exist", "v1", at(1))
    attempt = StepAttempt("r1", "a", "p1..p2", 1, StepStatus.SUCCEEDED, at(0), at(1))
    with pytest.raises(CatalogError, match="FOREIGN KEY"):
        catalog.record_step_outcome(attempt, [good, bad])
    assert catalog.history("a") == []
    assert catalog.attempts("r1") == []
    assert catalog.planner_state(["a"]).latest.num_rows == 0


def test_batched_step_gives_one_materialization_per_partition(catalog: SQLiteCatalog) -> None:
    start_run(catalog, "r1")
    attempt = StepAttempt("r1", "a", "d1...d3", 1, StepStatus.SUCCEEDED, at(0), at(1))
    mats = [Materialization("a", f"d{i}", "r1", f"v{i}", at(1)) for i in (1, 2, 3)]
    ids = catalog.record_step_outcome(attempt, mats)
    assert len(set(ids)) == 3
    assert catalog.planner_state(["a"]).latest.num_rows == 3


def test_failed_after_success_and_observations_in_state(catalog: SQLiteCatalog) -> None:
    start_run(catalog, "r1")
    build(catalog, "r1", "a", "d1", "v1", when=1)
    build(catalog, "r1", "a", "d2", "v1", when=1)
    start_run(catalog, "r2", when=10)
    failure = StepAttempt(
        "r2", "a", "d1", 1, StepStatus.FAILED, at(10), at(11), error="ValueError: boom\ntrace"
    )
    catalog.record_step_outcome(failure)
    timeout = StepAttempt("r2", "a", "d3", 1, StepStatus.TIMED_OUT, at(10), at(12))
    catalog.record_step_outcome(timeout)
    # d2 failed once, then succeeded again: not failed any more
    catalog.record_step_outcome(StepAttempt("r2", "a", "d2", 1, StepStatus.FAILED, at(10), at(11)))
    build(catalog, "r2", "a", "d2", "v2", when=12)
    catalog.record_observation(Observation("src", "d1", "o1", at(1)))
    catalog.record_observation(Observation("src", "d1", "o2", at(2)))
    state = catalog.planner_state(["a", "src"])
    failed = sorted(state.failed.to_pylist(), key=lambda r: r["partition"])
    assert failed == [
        {"asset": "a", "partition": "d1", "status": "failed", "error": "ValueError: boom"},
        {"asset": "a", "partition": "d3", "status": "timed_out", "error": ""},
    ]
    assert state.observations.to_pylist()[0]["data_version"] == "o2"
    assert state.observations["output_hash"].to_pylist() == [partition_hash("src", "d1", "o2")]
    assert state.observations.num_rows == 1


def test_history_runs_and_finish(catalog: SQLiteCatalog) -> None:
    start_run(catalog, "r1", when=0)
    build(catalog, "r1", "a", "d1", "v1", when=1)
    build(catalog, "r1", "a", "d1", "v2", when=2, attempt=2)
    catalog.record_attempt_start(StepAttempt("r1", "a", "d2", 1, StepStatus.RUNNING, at(3)))
    catalog.finish_run("r1", RunStatus.FAILED, now=at(5), error="one step failed")
    assert [m.data_version for m in catalog.history("a", "d1")] == ["v2", "v1"]
    assert len(catalog.history("a", limit=1)) == 1
    (summary,) = catalog.runs(now=at(100))
    assert summary.run.status is RunStatus.FAILED
    assert summary.duration_s == pytest.approx(5.0)
    assert summary.count(StepStatus.SUCCEEDED) == 2
    assert summary.count(StepStatus.ABANDONED) == 1


def test_dynamic_partitions_persist_across_connections(tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    first = SQLiteCatalog(path)
    first.add("customers", ["acme", "globex"])
    first.add("customers", ["acme", "initech"])
    first.close()
    second = SQLiteCatalog(path)
    assert second.get("customers") == ("acme", "globex", "initech")
    second.delete("customers", ["globex", "absent"])
    assert SQLiteCatalog(path).get_dynamic_partitions("customers") == ("acme", "initech")
    assert second.get("other") == ()


def test_a_version_1_catalog_opens_and_upgrades(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path, isolation_level=None)
    migrate(conn, target=1)
    conn.execute("INSERT INTO runs (run_id, status, started_at) VALUES ('old', 'succeeded', 1.0)")
    for mid, version in ((1, "v1"), (2, "v2")):
        conn.execute(
            "INSERT INTO materializations (id, asset, partition, run_id, code_version, "
            "config_hash, data_version, input_fingerprint, created_at) "
            "VALUES (?, 'a', 'd1', 'old', 'c', '', ?, '', 2.0)",
            (mid, version),
        )
    conn.close()
    assert MIGRATIONS[0].version == 1 and SCHEMA_VERSION >= 2

    catalog = SQLiteCatalog(path)
    latest = catalog.latest_materialization("a", "d1")
    assert latest is not None and latest.data_version == "v2"
    assert catalog.planner_state(["a"]).latest.num_rows == 1
    versions = sqlite3.connect(path).execute("SELECT version FROM schema_version").fetchall()
    assert [v for (v,) in versions] == list(range(1, SCHEMA_VERSION + 1))


def test_a_newer_catalog_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    SQLiteCatalog(path).close()
    sqlite3.connect(path).execute("INSERT INTO schema_version VALUES (999)").connection.commit()
    with pytest.raises(CatalogError, match="newer"):
        SQLiteCatalog(path)
