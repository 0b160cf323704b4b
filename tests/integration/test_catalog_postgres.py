"""The PostgreSQL catalog beyond the conformance suite, against a real server.

The server is this pytest worker's (:mod:`tests.postgres_support`); each test
gets its own database. Covered here: a project materializing with its catalog
in PostgreSQL (``PARTITA_CATALOG_URL`` and ``[tool.partita] catalog``),
``partita catalog copy`` of a SQLite catalog with its history, racing
processes splitting leases, dead runs found by heartbeat age and never by
pid, and the one clear error (exit 2, no password) for a database that
cannot be reached or refuses the password.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from partita.catalog import copy_catalog, open_catalog
from partita.catalog.postgres import PostgresCatalog
from partita.errors import CatalogError
from partita.processes import this_host
from partita.records import PlannerState, Run, RunStatus
from tests.conftest import write_project
from tests.postgres_support import PostgresServer

PROJECT = """
import pandas as pd
from partita.assets import asset
from partita.definitions import Definitions
from partita.partitions import DailyPartitions

DAYS = DailyPartitions(start="2025-01-01", end="2025-01-04")

@asset(partitions=DAYS)
def raw(context) -> pd.DataFrame:
    return pd.DataFrame({"x": [1, 2]})

@asset(partitions=DAYS)
def doubled(raw: pd.DataFrame) -> pd.DataFrame:
    return raw.assign(y=raw.x * 2)

defs = Definitions(assets=[raw, doubled])
"""


def _cli(args: list[str], cwd: Path, *, url: str | None = None) -> subprocess.CompletedProcess[str]:
    """The ``partita`` command in a subprocess, with the catalog URL in the environment."""
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
    env.pop("PARTITA_DEBUG", None)
    env.pop("PARTITA_CATALOG_URL", None)
    if url is not None:
        env["PARTITA_CATALOG_URL"] = url
    return subprocess.run(
        [str(Path(sys.executable).with_name("partita")), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=env,
        timeout=180,
        check=False,
    )


def _rows(state: PlannerState) -> dict[str, list[tuple[object, ...]]]:
    """A planner state's tables as sorted rows (row order is not part of the contract)."""
    tables = {
        "latest": state.latest,
        "edges": state.edges,
        "failed": state.failed,
        "observations": state.observations,
    }
    return {
        name: sorted(tuple(row.values()) for row in table.to_pylist())
        for name, table in tables.items()
    }


def _ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_a_sqlite_catalog_copies_over_and_the_project_runs_on_postgres(
    tmp_path: Path, postgres_url: str
) -> None:
    folder = write_project(tmp_path / "p", PROJECT)
    assert "built 6 partitions" in _ok(_cli(["materialize", "--executor", "thread"], folder))
    sqlite_file = folder / ".partita" / "catalog.db"

    copied = copy_catalog(sqlite_file, postgres_url)
    assert copied.rows["materializations"] == 6 and copied.rows["runs"] == 1
    assert copied.rows["inputs"] == 3 and copied.rows["latest_materialization"] == 6
    assert "partita-test-secret" not in copied.target
    now = datetime.now(UTC)
    with open_catalog(sqlite_file) as before, open_catalog(postgres_url) as after:
        assert isinstance(after, PostgresCatalog)
        # the same answers, ids included (lineage points at them)
        assert after.runs(now=now) == before.runs(now=now)
        assert after.history("doubled") == before.history("doubled")
        newest = before.history("doubled")[0]
        assert newest.materialization_id is not None
        assert after.lineage(newest.materialization_id) == before.lineage(newest.materialization_id)
        assert _rows(after.planner_state(["raw", "doubled"])) == _rows(
            before.planner_state(["raw", "doubled"])
        )

    # the runner on PostgreSQL (PARTITA_CATALOG_URL): everything is current
    assert "nothing to do" in _ok(_cli(["materialize"], folder, url=postgres_url))
    # [tool.partita] catalog names it too; a code change rebuilds through PostgreSQL
    pyproject = folder / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + f'catalog = "{postgres_url}"\n')
    defs = folder / "defs.py"
    defs.write_text(defs.read_text().replace("raw.x * 2", "raw.x * 3"))
    sqlite_file.unlink()
    # worker processes check their leases in PostgreSQL before publishing
    assert "built 3 partitions" in _ok(_cli(["materialize", "--executor", "process"], folder))
    assert not sqlite_file.exists()  # nothing went to SQLite
    with open_catalog(postgres_url) as catalog:
        assert len(catalog.history("doubled")) == 6
        statuses = [r.run.status for r in catalog.runs(now=datetime.now(UTC))]
        assert statuses == [RunStatus.SUCCEEDED, RunStatus.SUCCEEDED]  # "nothing to do": no run
        # ids given by PostgreSQL continue after the copied ones
        ids = [m.materialization_id for m in catalog.history("doubled")]
        assert len(set(ids)) == 6

    # the project's old SQLite file is not copied over the database it now uses
    with open_catalog(sqlite_file) as stale:
        stale.start_run(Run(run_id="stale", started_at=now))
    refused = _cli(["catalog", "copy", "--to", postgres_url, "--replace"], folder)
    assert refused.returncode != 0 and "Traceback" not in refused.stderr
    assert "the project's catalog is already" in refused.stderr
    with open_catalog(postgres_url) as catalog:
        assert len(catalog.history("doubled")) == 6  # its history is intact
    sqlite_file.unlink()

    # a target holding history is refused, unless told to replace it
    other = tmp_path / "other.db"
    with open_catalog(other) as empty:
        empty.start_run(Run(run_id="only", started_at=now))
    with pytest.raises(CatalogError, match="already holds runs or materializations"):
        copy_catalog(other, postgres_url)
    assert copy_catalog(other, postgres_url, replace=True).rows["materializations"] == 0
    with open_catalog(postgres_url) as catalog:
        assert [r.run.run_id for r in catalog.runs(now=now)] == ["only"]
        assert catalog.history("doubled") == []


_RACER = textwrap.dedent(
    """
    import json, os, sys, time
    from datetime import UTC, datetime
    from pathlib import Path
    from partita.catalog import copy_catalog, open_catalog
    from partita.records import Run
    url, run_id, start = sys.argv[1], sys.argv[2], Path(sys.argv[3])
    catalog = open_catalog(url)
    now = datetime.now(UTC)
    catalog.start_run(Run(run_id=run_id, started_at=now, host="machine-" + run_id, pid=1))
    while not start.exists():
        time.sleep(0.005)
    got = []
    for day in range(40):  # one partition at a time, as a runner asks
        got += catalog.acquire_leases(run_id, [("a", f"d{day:02d}")], now=now, ttl_s=600)
    print(json.dumps(got), flush=True)
    catalog.close()
    """
)


def test_racing_processes_split_the_leases_of_a_shared_catalog(
    tmp_path: Path, postgres_url: str
) -> None:
    open_catalog(postgres_url).close()  # migrated once, before the race
    start = tmp_path / "start"
    racers = [
        subprocess.Popen(
            [sys.executable, "-c", _RACER, postgres_url, f"run{i}", str(start)],
            stdout=subprocess.PIPE,
            text=True,
        )
        for i in range(3)
    ]
    start.touch()
    won = []
    for racer in racers:
        out, _ = racer.communicate(timeout=120)
        assert racer.returncode == 0
        won.append({tuple(item) for item in json.loads(out)})
    everything = {("a", f"d{day:02d}") for day in range(40)}
    assert sum(len(w) for w in won) == len(everything)
    assert set().union(*won) == everything
    # the racers' processes are gone, but their runs are on other machines: their
    # leases stay theirs until the heartbeat says they are dead
    with open_catalog(postgres_url) as catalog:
        now = datetime.now(UTC)
        catalog.start_run(Run(run_id="late", started_at=now, host=this_host(), pid=os.getpid()))
        items = sorted(everything)
        assert catalog.acquire_leases("late", items, now=now, ttl_s=60) == []
        later = now + timedelta(minutes=10)
        catalog.heartbeat("late", now=later)
        assert sorted(catalog.mark_dead_runs(now=later)) == ["run0", "run1", "run2"]
        assert catalog.acquire_leases("late", items, now=later, ttl_s=60) == items


def test_a_dead_pid_on_this_host_is_not_a_dead_run_in_a_shared_catalog(
    postgres_url: str,
) -> None:
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait(timeout=30)
    now = datetime.now(UTC)
    with open_catalog(postgres_url) as catalog:
        # another machine may have the same host name and reuse pids: only heartbeats count
        catalog.start_run(Run(run_id="r", started_at=now, host=this_host(), pid=gone.pid))
        assert catalog.mark_dead_runs(now=now + timedelta(minutes=1)) == []
        run = catalog.get_run("r", now=now + timedelta(minutes=1))
        assert run is not None and run.status is RunStatus.RUNNING
        assert catalog.mark_dead_runs(now=now + timedelta(minutes=6)) == ["r"]


def test_wrong_password_and_unreachable_server_are_one_clear_error(
    tmp_path: Path, postgres_server: PostgresServer
) -> None:
    folder = write_project(tmp_path / "p", PROJECT)
    secret = "hunter2-not-the-password"
    wrong = postgres_server.url(password=secret)
    result = _cli(["materialize"], folder, url=wrong)
    assert result.returncode == 2
    where = f"postgres@127.0.0.1:{postgres_server.port}/postgres"
    assert f"cannot connect to the catalog database {where}" in result.stderr
    assert "password" in result.stderr and "hint" in result.stderr
    assert secret not in result.stdout + result.stderr
    assert "Traceback" not in result.stderr

    # a port nobody listens on: the address and what to check
    with pytest.raises(CatalogError) as caught:
        PostgresCatalog(f"postgresql://someone:{secret}@127.0.0.1:1/catalog")
    assert "127.0.0.1:1/catalog" in str(caught.value)
    assert "PostgreSQL is running there" in str(caught.value)
    assert "127.0.0.1:1/catalog: Connection refused" in str(caught.value)
    assert secret not in str(caught.value)
    with pytest.raises(CatalogError) as copying:
        copy_catalog(tmp_path / "absent.db", wrong)
    assert secret not in str(copying.value)


def test_both_schemas_have_the_same_tables_and_columns(tmp_path: Path, postgres_url: str) -> None:
    # a change to SQLite's schema (a new migration) needs its PostgreSQL migration too
    sqlite_only = {"schema_version", "state_blocks"}  # its migrations; its planner cache
    open_catalog(tmp_path / "c.db").close()
    with sqlite3.connect(tmp_path / "c.db") as lite:
        tables = [
            str(name)
            for (name,) in lite.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            if name not in sqlite_only
        ]
        in_sqlite = {
            (table, str(column[1]))
            for table in tables
            for column in lite.execute(f"PRAGMA table_info({table})")
        }
    open_catalog(postgres_url).close()
    with psycopg.connect(postgres_url) as conn:
        in_postgres = {
            (str(table), str(column))
            for table, column in conn.execute(
                "SELECT table_name, column_name FROM information_schema.columns "
                "WHERE table_schema = 'public' AND table_name <> 'partita_schema_version'"
            )
        }
    assert in_postgres == in_sqlite
