"""The catalog keeps the components of each code version, to explain code changes."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from partita.catalog.sqlite import SCHEMA_VERSION, SQLiteCatalog
from partita.catalog.sqlite.migrations import migrate
from partita.records import Materialization, StepAttempt, StepStatus
from tests.integration.test_catalog_support import at, build, start_run

COMPONENTS = {"body": "b1", "function transforms.py:normalize_amount": "h1"}


def materialization(partition: str, code_version: str, components: str) -> Materialization:
    return Materialization(
        "clean", partition, "r1", "d1", at(1), code_version=code_version, code_components=components
    )


def test_components_are_kept_once_per_code_version(tmp_path: Path) -> None:
    catalog = SQLiteCatalog(tmp_path / "c.db")
    start_run(catalog, "r1")
    step = StepAttempt("r1", "clean", "d1", 1, StepStatus.SUCCEEDED, at(0), at(1))
    catalog.record_step_outcome(step, [materialization("d1", "v1", json.dumps(COMPONENTS))], [[]])
    recorded = catalog.record_materializations_bulk(
        [
            (materialization("d2", "v1", json.dumps({"body": "other"})), []),
            (materialization("d3", "v2", json.dumps({"body": "b2"})), []),
            (materialization("d4", "explicit", ""), []),
        ]
    )
    assert recorded == 3
    assert catalog.code_components("v1") == COMPONENTS
    assert catalog.code_components("v2") == {"body": "b2"}
    assert catalog.code_components("explicit") is None
    assert catalog.code_components("never-seen") is None


def test_a_version_4_catalog_upgrades_and_explains_nothing_for_older_builds(
    tmp_path: Path,
) -> None:
    path = tmp_path / "v4.db"
    conn = sqlite3.connect(path, isolation_level=None)
    migrate(conn, target=4)
    conn.close()
    catalog = SQLiteCatalog(path)
    start_run(catalog, "r1")
    build(catalog, "r1", "clean", "d1", "d1", code_version="old")
    assert catalog.code_components("old") is None
    versions = sqlite3.connect(path).execute("SELECT version FROM schema_version").fetchall()
    assert [v for (v,) in versions] == list(range(1, SCHEMA_VERSION + 1))
    assert SCHEMA_VERSION >= 5
