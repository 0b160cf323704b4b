"""Check results in the catalog: schema v3 -> v4 on a real file, full records, latest per check."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from partita.catalog import SCHEMA_VERSION, SQLiteCatalog
from partita.catalog.migrations import migrate
from partita.records import CheckRecord, Run, RunStatus, StepAttempt, StepStatus

from .test_catalog_support import at, start_run


def test_a_version_3_catalog_with_check_results_upgrades_to_4(tmp_path: Path) -> None:
    path = tmp_path / "v3.db"
    conn = sqlite3.connect(path, isolation_level=None)
    migrate(conn, target=3)
    conn.execute("INSERT INTO runs (run_id, status, started_at) VALUES ('r0', 'succeeded', 1.0)")
    conn.execute(
        "INSERT INTO check_results (run_id, asset, partition, check_name, passed, severity, "
        "message, created_at) VALUES ('r0', 'a', 'd1', 'not_null_id', 0, 'error', 'old', 2.0)"
    )
    conn.close()
    assert SCHEMA_VERSION >= 4

    catalog = SQLiteCatalog(path)
    [old] = catalog.check_results()
    assert (old.check_name, old.passed, old.message) == ("not_null_id", False, "old")
    assert old.sample == "[]" and old.metadata == "{}" and old.failing_rows is None
    run = catalog.get_run("r0", now=at(10))
    assert run is not None and run.kind == "materialize"
    versions = sqlite3.connect(path).execute("SELECT version FROM schema_version").fetchall()
    assert [v for (v,) in versions] == list(range(1, SCHEMA_VERSION + 1))
    columns = {r[1] for r in sqlite3.connect(path).execute("PRAGMA table_info(check_results)")}
    assert {"failing_rows", "total_rows", "failing_fraction", "sample", "metadata"} <= columns


def test_results_per_attempt_latest_per_check_and_by_materialization(tmp_path: Path) -> None:
    catalog = SQLiteCatalog(tmp_path / "c.db")
    start_run(catalog, "r1")
    for attempt, passed in ((1, False), (2, True)):
        catalog.record_step_outcome(
            StepAttempt("r1", "a", "d1", attempt, StepStatus.FAILED, at(attempt), at(attempt)),
            checks=[
                CheckRecord(
                    "a",
                    "d1",
                    "unique_id",
                    passed,
                    failing_rows=0 if passed else 2,
                    total_rows=4,
                    failing_fraction=0.0 if passed else 0.5,
                    sample="[]" if passed else json.dumps([{"id": 1}, {"id": 1}]),
                    kind="unique",
                )
            ],
        )
    every = catalog.check_results(latest_only=False)
    assert [(r.attempt, r.passed) for r in every] == [(2, True), (1, False)]
    [latest] = catalog.check_results(assets=["a"], partition="d1")
    assert latest.attempt == 2 and latest.passed
    assert catalog.check_results(failed_only=True) == []
    assert json.loads(every[1].sample) == [{"id": 1}, {"id": 1}]
    assert every[1].failing_fraction == 0.5 and every[1].kind == "unique"
    # a check run of published data: records carry their own run, time and materialization
    catalog.start_run(Run(run_id="c1", started_at=at(5), kind="check"))
    catalog.record_checks(
        [CheckRecord("a", "d1", "unique_id", False, run_id="c1", created_at=at(6))]
    )
    catalog.finish_run("c1", RunStatus.FAILED, now=at(7))
    [failed] = catalog.check_results(failed_only=True)
    assert failed.run_id == "c1" and failed.attempt is None
    assert [r.check_name for r in catalog.checks_of_run("c1")] == ["unique_id"]
    run = catalog.get_run("c1", now=at(8))
    assert run is not None and run.kind == "check"
