"""Errors that are the user's problem are said as such, never as ``internal error ... report it``.

A project whose code fails to import (the file and line in the user's code,
the exception, a hint) and a catalog whose disk is full (a real SQLite
``SQLITE_FULL``: a catalog limited by ``PRAGMA max_page_count``, and, where the
machine lets an unprivileged user mount one, a real tiny tmpfs).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from datetime import UTC, datetime
from pathlib import Path

import pytest

from partita.catalog.sqlite import SQLiteCatalog
from partita.errors import CatalogError
from partita.records import Materialization, Run, StepAttempt, StepStatus
from tests.conftest import run_cli, write_project

GOOD = """
from partita import Definitions, asset

@asset
def a() -> None: ...

defs = Definitions(assets=[a])
"""


@pytest.mark.parametrize(
    ("source", "helper", "expected", "hint"),
    [
        (
            "import os\n\nimport partita_no_such_module_anywhere\n" + GOOD,
            None,
            "defs.py, line 3: ModuleNotFoundError: No module named "
            "'partita_no_such_module_anywhere'",
            "install the module 'partita_no_such_module_anywhere'",
        ),
        (
            "import os\ndef broken(:\n    pass\n" + GOOD,
            None,
            "defs.py, line 2: SyntaxError: invalid syntax ('def broken(:')",
            "fix the syntax at that line",
        ),
        (
            "from os import no_such_name\n" + GOOD,
            None,
            "defs.py, line 1: ImportError: cannot import name 'no_such_name' from 'os'",
            "check the import",
        ),
        (
            "from helpers import LIMIT\n" + GOOD,
            "import os\n\nLIMIT = int('ten')\n",
            "helpers.py, line 3: ValueError: invalid literal for int() with base 10: 'ten'",
            "fix the error at that line",
        ),
    ],
    ids=["module-not-found", "syntax-error", "import-error", "error-in-a-helper"],
)
def test_an_error_loading_the_project_names_the_file_and_line(
    tmp_path: Path, source: str, helper: str | None, expected: str, hint: str
) -> None:
    folder = write_project(tmp_path / "project", source)
    if helper is not None:
        (folder / "helpers.py").write_text(helper, encoding="utf-8")
    for args in (["plan"], ["materialize"], ["list"]):
        result = run_cli(args, folder)
        assert result.returncode == 1, (args, result.stdout, result.stderr)
        assert "internal error" not in result.stderr
        assert "report it" not in result.stderr
        assert f"error: cannot load the project: {expected}" in result.stderr
        assert f"hint: {hint}" in result.stderr


T0 = datetime(2025, 3, 1, tzinfo=UTC)


def test_a_full_catalog_disk_is_reported_as_such_and_nothing_half_written(
    tmp_path: Path,
) -> None:
    path = tmp_path / "catalog.db"
    with SQLiteCatalog(path) as catalog:
        catalog.start_run(Run(run_id="r1", started_at=T0, host="h", pid=1))
        conn = catalog._db.connection()  # the real connection: SQLite's own size limit
        (pages,) = conn.execute("PRAGMA page_count").fetchone()
        (free,) = conn.execute("PRAGMA freelist_count").fetchone()  # pages a migration freed
        (size,) = conn.execute("PRAGMA page_size").fetchone()
        conn.execute(f"PRAGMA max_page_count = {pages + 2}")
        logs = "x" * (size * (free + 5))  # more than the free pages and the two allowed
        attempt = StepAttempt("r1", "a", "k", 1, StepStatus.SUCCEEDED, T0, T0, logs=logs)
        with pytest.raises(CatalogError) as full:
            catalog.record_step_outcome(attempt, [Materialization("a", "k", "r1", "v", T0)])
        assert str(full.value).startswith(f"the disk holding the catalog ({path}) is full")
        assert "database or disk is full" in str(full.value)
        assert catalog.latest_materialization("a", "k") is None  # rolled back whole

        conn.execute("PRAGMA max_page_count = 1000000")  # space freed: the same write works
        catalog.record_step_outcome(attempt, [Materialization("a", "k", "r1", "v", T0)])
        assert catalog.latest_materialization("a", "k") is not None


MANY = """
import pandas as pd
from partita import Definitions, StaticPartitions, asset

@asset(partitions=StaticPartitions([f"k{i}" for i in range(300)]))
def many(context) -> pd.DataFrame:
    return pd.DataFrame({"x": [1]})

defs = Definitions(assets=[many])
"""


def _can_mount_a_tmpfs(tmp_path: Path) -> bool:
    if shutil.which("unshare") is None:
        return False
    target = tmp_path / "probe"
    target.mkdir()
    probe = subprocess.run(
        ["unshare", "-rm", "sh", "-c", f"mount -t tmpfs -o size=64k tmpfs {target}"],
        capture_output=True,
        check=False,
    )
    return probe.returncode == 0


def test_a_full_catalog_disk_on_a_real_tiny_filesystem(tmp_path: Path) -> None:
    if not _can_mount_a_tmpfs(tmp_path):
        pytest.skip("this machine does not let the user mount a tmpfs (unshare -rm)")
    folder = write_project(tmp_path / "project", MANY, pyproject=False)
    (folder / "pyproject.toml").write_text(
        '[tool.partita]\ndefinitions = "defs.py"\nhome = "small/home"\n', encoding="utf-8"
    )
    small = folder / "small"
    small.mkdir()
    exe = Path(sys.executable).with_name("partita")
    script = textwrap.dedent(
        f"""
        mount -t tmpfs -o size=64k tmpfs {small} || exit 99
        {exe} materialize > {tmp_path}/new.out 2> {tmp_path}/new.err
        echo $? > {tmp_path}/new.rc
        ls -A {small}/home > {tmp_path}/new.ls
        mount -o remount,size=300k {small}
        {exe} materialize --executor inprocess > {tmp_path}/first.out 2> {tmp_path}/first.err
        echo $? > {tmp_path}/first.rc
        mount -o remount,size=20m {small}
        {exe} materialize --executor inprocess > {tmp_path}/second.out 2> {tmp_path}/second.err
        echo $? > {tmp_path}/second.rc
        """
    )
    done = run_in_namespace(script, folder)
    assert done.returncode == 0, done.stderr
    catalog = small / "home" / "catalog.db"
    new_err = (tmp_path / "new.err").read_text()  # no room to create the catalog
    assert (tmp_path / "new.rc").read_text().strip() == "1", new_err
    assert f"the disk holding the catalog ({catalog}) is full" in new_err
    assert (tmp_path / "new.ls").read_text().split() == []  # no partial catalog left behind
    first_err = (tmp_path / "first.err").read_text()  # full in the middle of a run
    assert (tmp_path / "first.rc").read_text().strip() == "1", first_err
    assert f"the disk holding the catalog ({catalog}) is full" in first_err
    assert "internal error" not in first_err
    second_err = (tmp_path / "second.err").read_text()
    assert (tmp_path / "second.rc").read_text().strip() == "0", second_err


def run_in_namespace(script: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run ``script`` with ``sh`` in a new user and mount namespace (its mounts vanish after)."""
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
    env.pop("PARTITA_DEBUG", None)
    return subprocess.run(
        ["unshare", "-rm", "sh", "-c", script],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
