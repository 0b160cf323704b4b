"""The catalog file itself: created whole, refused when it is not a usable catalog,
checked after an unclean shutdown, started anew only when asked (``partita catalog init``).

Real files (emptied, truncated, overwritten with garbage, another program's
SQLite database), real processes killed with SIGKILL, the real ``partita``.
"""

from __future__ import annotations

import hashlib
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from partita.catalog import init_catalog, open_catalog
from partita.catalog.sqlite import SQLiteCatalog
from partita.errors import CatalogError
from partita.records import Materialization, Run, RunStatus, StepAttempt, StepStatus
from tests.conftest import run_cli, write_project

T0 = datetime(2025, 3, 1, tzinfo=UTC)

PROJECT = """
import time
from pathlib import Path
from partita import Definitions, StaticPartitions, asset

@asset(partitions=StaticPartitions(["a", "b"]))
def letters(context) -> None:
    marker = Path(__file__).with_name("slow")
    if marker.exists():
        Path(__file__).with_name("started").write_text("yes")
        time.sleep(60)

defs = Definitions(assets=[letters])
"""


def _env() -> dict[str, str]:
    src = str(Path(__file__).resolve().parents[2] / "src")
    return {**os.environ, "PYTHONPATH": src + os.pathsep + os.environ.get("PYTHONPATH", "")}


def _fill(path: Path, partitions: int = 30) -> None:
    """A catalog with history: one run that built ``partitions`` partitions."""
    with open_catalog(path) as catalog:
        catalog.start_run(Run(run_id="r1", started_at=T0, host="h", pid=1))
        for i in range(partitions):
            attempt = StepAttempt("r1", "a", f"k{i}", 1, StepStatus.SUCCEEDED, T0, T0)
            catalog.record_step_outcome(attempt, [Materialization("a", f"k{i}", "r1", f"v{i}", T0)])
        catalog.finish_run("r1", RunStatus.SUCCEEDED, now=T0)


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# ----------------------------------------------------------------- creating


def test_a_missing_catalog_is_created_whole_with_no_temporary_file_left(tmp_path: Path) -> None:
    path = tmp_path / "home" / "catalog.db"
    with SQLiteCatalog(path) as catalog:
        assert catalog.created
        assert catalog.dynamic_partitions.get("files") == []
    assert sorted(p.name for p in path.parent.iterdir()) == ["catalog.db", "catalog.db.lock"]
    with SQLiteCatalog(path) as again:
        assert not again.created


_CREATOR = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from partita.catalog import open_catalog
    path, key, go = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
    while not go.exists():
        time.sleep(0.005)
    with open_catalog(path) as catalog:
        catalog.dynamic_partitions.add("files", [key])
    """
)


def test_processes_creating_the_catalog_at_once_end_with_one_catalog(tmp_path: Path) -> None:
    path = tmp_path / "home" / "catalog.db"
    go = tmp_path / "go"
    keys = [f"k{i}" for i in range(4)]
    children = [
        subprocess.Popen(
            [sys.executable, "-c", _CREATOR, str(path), key, str(go)],
            env=_env(),
            stderr=subprocess.PIPE,
            text=True,
        )
        for key in keys
    ]
    time.sleep(1.0)
    go.write_text("go")
    for child in children:
        _, err = child.communicate(timeout=120)
        assert child.returncode == 0, err
    with open_catalog(path) as catalog:
        assert sorted(catalog.dynamic_partitions.get("files")) == keys  # no catalog replaced
    assert not [p for p in path.parent.iterdir() if ".new-" in p.name]


# ----------------------------------------------------------------- refusing


def _truncate_mid_page(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2 + 100])


def _truncate_at_page(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[:8192])


def _garbage(path: Path) -> None:
    path.write_bytes(os.urandom(20_000))


def _text(path: Path) -> None:
    path.write_text("this is my shopping list\n", encoding="utf-8")


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        (_garbage, "is not a SQLite database"),
        (_text, "is not a SQLite database"),
        (_truncate_mid_page, "truncated"),
        (_truncate_at_page, "damaged"),
    ],
)
def test_a_damaged_catalog_is_refused_and_init_moves_it_aside(
    tmp_path: Path, damage: object, reason: str
) -> None:
    path = tmp_path / "catalog.db"
    _fill(path)
    damage(path)  # type: ignore[operator]
    before = _digest(path)
    with pytest.raises(CatalogError, match=reason) as refused:
        open_catalog(path)
    assert str(path) in str(refused.value)
    assert "partita catalog init" in str(refused.value)
    assert _digest(path) == before  # refused, not touched

    result = init_catalog(path)
    assert result.created and result.refused is not None and reason in result.refused
    assert result.moved_aside is not None and _digest(result.moved_aside) == before
    with open_catalog(path) as catalog:  # a new, empty, usable catalog
        assert catalog.get_run("r1", now=T0) is None
        catalog.dynamic_partitions.add("files", ["x"])


def test_another_programs_sqlite_database_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "catalog.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE customers (id INTEGER, name TEXT)")
        conn.execute("INSERT INTO customers VALUES (1, 'acme')")
    conn.close()
    with pytest.raises(CatalogError, match=r"a SQLite database but not a Partita catalog"):
        open_catalog(path)
    with sqlite3.connect(path) as conn:
        tables = [row[0] for row in conn.execute("SELECT name FROM sqlite_master")]
    conn.close()
    assert tables == ["customers"]  # no Partita table added to it


def test_a_healthy_catalog_is_kept_by_init(tmp_path: Path) -> None:
    path = tmp_path / "catalog.db"
    _fill(path)
    result = init_catalog(path)
    assert (result.created, result.refused, result.moved_aside) == (False, None, None)
    with open_catalog(path) as catalog:
        assert catalog.get_run("r1", now=T0) is not None


def test_an_empty_catalog_file_is_refused_by_every_command_until_catalog_init(
    tmp_path: Path,
) -> None:
    folder = write_project(tmp_path / "project", PROJECT)
    run_cli(["materialize"], folder, check=True)
    catalog = folder / ".partita" / "catalog.db"
    catalog.write_bytes(b"")
    for args in (["plan"], ["materialize"], ["runs"], ["status"]):
        result = run_cli(args, folder)
        assert result.returncode == 1, (args, result.stdout, result.stderr)
        assert f"the catalog {catalog} cannot be used: it is empty (0 bytes)" in result.stderr
        assert "partita catalog init" in result.stderr
        assert "internal error" not in result.stderr
        assert catalog.stat().st_size == 0  # nothing silently started over

    init = run_cli(["catalog", "init"], folder, check=True)
    assert "is empty (0 bytes)" in init.stdout and "started a new empty catalog" in init.stdout
    plan = run_cli(["plan"], folder, check=True)
    assert "missing" in plan.stdout  # no history: everything is rebuilt
    run_cli(["materialize"], folder, check=True)
    again = run_cli(["catalog", "init"], folder, check=True)
    assert "is healthy; kept it with its history" in again.stdout


def test_a_new_project_creates_its_catalog_on_first_materialize(tmp_path: Path) -> None:
    folder = write_project(tmp_path / "project", PROJECT)
    assert not (folder / ".partita").exists()
    run_cli(["materialize"], folder, check=True)
    assert (folder / ".partita" / "catalog.db").stat().st_size > 0
    assert "Nothing to do" in run_cli(["plan"], folder, check=True).stdout


# ----------------------------------------------------------------- unclean shutdown

_WRITER = textwrap.dedent(
    """
    import os, sys, time
    from datetime import UTC, datetime
    from partita.catalog import open_catalog
    from partita.records import Run
    catalog = open_catalog(sys.argv[1])
    run = Run(run_id=sys.argv[3], started_at=datetime.now(UTC), host="h", pid=os.getpid())
    catalog.start_run(run)
    print("written", flush=True)
    if sys.argv[2] == "wait":
        time.sleep(120)
    catalog.close()
    """
)


def _writer(path: Path, run_id: str, *, killed: bool) -> None:
    """A process that writes the catalog, then is killed with SIGKILL or closes it cleanly."""
    child = subprocess.Popen(
        [sys.executable, "-c", _WRITER, str(path), "wait" if killed else "close", run_id],
        env=_env(),
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "written"
    if killed:
        child.send_signal(signal.SIGKILL)
    child.wait(timeout=60)


def test_the_integrity_check_runs_after_an_unclean_shutdown_only(tmp_path: Path) -> None:
    path = tmp_path / "catalog.db"
    _fill(path)
    _writer(path, "clean", killed=False)
    with SQLiteCatalog(path) as catalog:
        assert not catalog.integrity_checked

    _writer(path, "w", killed=True)
    assert path.with_name("catalog.db-wal").stat().st_size > 0  # the dead writer's WAL
    with SQLiteCatalog(path) as catalog:
        assert catalog.integrity_checked
        assert catalog.get_run("w", now=T0) is not None  # what it committed survived
    with SQLiteCatalog(path) as catalog:  # closed cleanly: no check this time
        assert not catalog.integrity_checked


def test_the_integrity_check_is_skipped_while_another_process_has_the_catalog_open(
    tmp_path: Path,
) -> None:
    path = tmp_path / "catalog.db"
    _fill(path)
    with open_catalog(path) as first:
        first.dynamic_partitions.add("files", ["x"])  # the WAL has frames
        with SQLiteCatalog(path) as second:
            assert not second.integrity_checked


def _damage_table(path: Path, table: str) -> None:
    """Overwrite the root page of ``table`` in the (checkpointed) file with garbage."""
    with sqlite3.connect(path) as conn:
        root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", (table,))
        (page,) = root.fetchone()
        (size,) = conn.execute("PRAGMA page_size").fetchone()
    conn.close()
    assert not path.with_name("catalog.db-wal").exists()
    with path.open("r+b") as handle:
        handle.seek((page - 1) * size)
        handle.write(b"\xff" * size)


def test_a_catalog_damaged_before_an_unclean_shutdown_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "catalog.db"
    _fill(path)
    _damage_table(path, "materializations")
    _writer(path, "w", killed=True)
    with pytest.raises(CatalogError, match="failed its integrity check") as refused:
        open_catalog(path)
    assert "after an unclean shutdown" in str(refused.value)
    assert "partita catalog init" in str(refused.value)


def test_a_materialize_killed_mid_run_is_checked_and_the_next_run_completes(
    tmp_path: Path,
) -> None:
    folder = write_project(tmp_path / "project", PROJECT)
    (folder / "slow").write_text("yes")
    exe = Path(sys.executable).with_name("partita")
    child = subprocess.Popen(
        [str(exe), "materialize", "--executor", "inprocess"],
        cwd=folder,
        env=_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while not (folder / "started").exists():
        assert time.monotonic() < deadline, "the step never started"
        time.sleep(0.05)
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=60)

    catalog_path = folder / ".partita" / "catalog.db"
    assert catalog_path.with_name("catalog.db-wal").exists()
    with SQLiteCatalog(catalog_path) as catalog:
        assert catalog.integrity_checked
    (folder / "slow").unlink()
    run_cli(["materialize"], folder, check=True)
    assert "Nothing to do" in run_cli(["plan"], folder, check=True).stdout
