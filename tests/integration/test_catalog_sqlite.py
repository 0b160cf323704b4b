"""What the SQLite catalog does beyond the protocols: the file, WAL, schema migrations.

The protocols' contract is tested for every implementation in
``test_catalog_conformance.py``; the state blocks in
``test_catalog_state.py``, real processes in ``test_catalog_processes.py``
and ``test_catalog_leases.py``.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from partita.catalog import open_catalog, open_existing_catalog
from partita.catalog.sqlite import SCHEMA_VERSION, SQLiteCatalog
from partita.catalog.sqlite.migrations import MIGRATIONS, migrate
from partita.errors import CatalogError

from .test_catalog_support import at, build


def test_open_catalog_creates_a_sqlite_file_and_open_existing_never_does(tmp_path: Path) -> None:
    path = tmp_path / "project" / ".partita" / "catalog.db"
    assert open_existing_catalog(path) is None
    assert not path.parent.exists()
    with open_catalog(path) as catalog:
        assert isinstance(catalog, SQLiteCatalog)
    reopened = open_existing_catalog(path)
    assert isinstance(reopened, SQLiteCatalog)
    reopened.close()


def test_the_file_is_created_in_wal_mode_with_foreign_keys(tmp_path: Path) -> None:
    catalog = SQLiteCatalog(tmp_path / ".partita" / "catalog.db")
    assert catalog.path.exists()
    conn = sqlite3.connect(catalog.path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    with pytest.raises(CatalogError, match="FOREIGN KEY"):
        build(catalog, "no-such-run", "a", None, "v1")  # foreign key to runs
    assert catalog.integrity_check() == "ok"


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
