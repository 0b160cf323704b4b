"""The group commit's ordering, proved on the syscalls of a real ``partita materialize``.

A killed process keeps the page cache, so kill tests cannot show what a power
loss would leave; the order of the syscalls can. The run (process executor, a
chain of three daily assets) is traced with ``strace -f -tt -y``, and for every
materialization the catalog recorded:

- its temp file was fsynced before it was renamed into place (no torn file);
- after the rename, the folder it was renamed into was fsynced (or the
  filesystem synced) before the first write to the catalog's WAL that holds
  the materialization's location (no recorded materialization is missing
  after a power loss);
- each folder created on the way had its parent fsynced after the mkdir and
  before that WAL write.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from partita.catalog.sqlite import SQLiteCatalog
from partita.records import Materialization
from tests.conftest import write_project
from tests.strace_support import Syscall, parse_strace

STRACE = "/usr/bin/strace"

PROJECT = """
import pandas as pd
from partita import DailyPartitions, asset
from partita.definitions import Definitions

DAYS = DailyPartitions(start="2025-01-01", end="2025-01-05")

@asset(partitions=DAYS)
def raw(context) -> pd.DataFrame:
    return pd.DataFrame({"x": range(10)})

@asset(partitions=DAYS)
def clean(raw: pd.DataFrame) -> pd.DataFrame:
    return raw.assign(y=raw.x * 2)

@asset(partitions=DAYS)
def report(clean: pd.DataFrame) -> pd.DataFrame:
    return clean.assign(z=clean.y + 1)

defs = Definitions(assets=[raw, clean, report])
"""

_TRACED = "fsync,fdatasync,syncfs,rename,renameat,renameat2,mkdir,mkdirat,pwrite64"


def _strace() -> str:
    found = shutil.which("strace") or (STRACE if Path(STRACE).is_file() else None)
    if found is None:
        pytest.fail(
            "strace is needed to check the order of fsyncs, renames and catalog writes "
            "(apt-get install strace); this test must not be skipped"
        )
    return found


def _traced_run(folder: Path) -> tuple[list[Syscall], list[Materialization]]:
    log = folder / "strace.log"
    exe = Path(sys.executable).with_name("partita")
    command = [
        _strace(),
        "-f",
        "-tt",
        "-y",
        "-s",
        "1000000",
        "-e",
        f"trace={_TRACED}",
        "-o",
        str(log),
        str(exe),
        "materialize",
        "--executor",
        "process",
        "--max-workers",
        "2",
    ]
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
    done = subprocess.run(
        command, cwd=folder, capture_output=True, text=True, env=env, timeout=300, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    with SQLiteCatalog(folder / ".partita" / "catalog.db") as catalog:
        mats = [
            m
            for asset in ("raw", "clean", "report")
            for m in catalog.history(asset, None, limit=100)
        ]
    return parse_strace(log.read_text(errors="replace")), mats


def _first_wal_write(calls: list[Syscall], text: str) -> Syscall:
    for call in calls:
        path = call.fd_path() or ""
        if call.name == "pwrite64" and path.endswith("catalog.db-wal") and text in call.args:
            return call
    raise AssertionError(f"no write to the catalog's WAL holds {text!r}")


def _synced_between(calls: list[Syscall], folder: str, after: int, before: int) -> bool:
    """Whether ``folder`` was fsynced (or its filesystem synced) entirely between lines
    ``after`` and ``before``."""
    for call in calls:
        if not (call.ok and call.entered > after and call.returned < before):
            continue
        if call.name == "syncfs" or (
            call.name in ("fsync", "fdatasync") and call.fd_path() == folder
        ):
            return True
    return False


def _check_order(calls: list[Syscall], mat: Materialization, root: Path) -> None:
    location = str(mat.location)
    wal = _first_wal_write(calls, location)
    renames = [
        c for c in calls if c.ok and c.name.startswith("rename") and c.paths()[-1:] == [location]
    ]
    assert renames, f"{location} was never renamed into place"
    rename = max((c for c in renames if c.returned < wal.entered), key=lambda c: c.entered)
    temp = rename.paths()[0]
    assert any(
        c.ok
        and c.name in ("fsync", "fdatasync")
        and c.fd_path() == temp
        and c.returned < rename.entered
        for c in calls
    ), f"{temp} was renamed to {location} before it was fsynced"
    folder = str(Path(location).parent)
    assert _synced_between(calls, folder, rename.returned, wal.entered), (
        f"{mat.asset} [{mat.partition}]: recorded before its folder {folder} was fsynced "
        "after the rename"
    )
    for call in calls:
        if call.ok and call.name.startswith("mkdir") and call.entered < wal.entered:
            made = call.paths()[-1]
            if location.startswith(made + "/") and made.startswith(str(root) + "/"):
                parent = str(Path(made).parent)
                assert _synced_between(calls, parent, call.returned, wal.entered), (
                    f"{made} was created and {mat.asset} [{mat.partition}] recorded "
                    f"before {parent} was fsynced"
                )


def test_every_recorded_file_and_folder_is_durable_before_the_catalog_says_so(
    tmp_path: Path,
) -> None:
    folder = write_project(tmp_path.resolve() / "p", PROJECT)
    calls, mats = _traced_run(folder)
    assert len(mats) == 12  # 4 days x 3 assets
    assert any(c.name.startswith("rename") for c in calls), "the trace shows no rename"
    for mat in mats:
        _check_order(calls, mat, folder / ".partita")
