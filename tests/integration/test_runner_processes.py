"""`partita materialize` processes under stress: SIGTERM, SIGKILL, two runs at once."""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from partita.api import load_project
from partita.catalog.sqlite import SQLiteCatalog
from partita.io import ParquetStore
from tests.conftest import write_project

SLOW = """
import time
import os
import pandas as pd
from pathlib import Path
from partita.assets import asset
from partita.definitions import Definitions
from partita.partitions import DailyPartitions

DAYS = DailyPartitions(start="2025-01-01", end="2025-01-09")
TRACE = Path(__file__).with_name("trace")
PAUSE = float(os.environ.get("PAUSE", "0.3"))

@asset(partitions=DAYS)
def slow(context) -> pd.DataFrame:
    with TRACE.open("a") as out:
        out.write(f"start {context.partition_key} {os.getpid()} {time.time()}\\n")
    time.sleep(PAUSE)
    with TRACE.open("a") as out:
        out.write(f"end {context.partition_key} {os.getpid()} {time.time()}\\n")
    return pd.DataFrame({"day": [context.partition_key]})

@asset(partitions=DAYS)
def after(slow: pd.DataFrame) -> pd.DataFrame:
    return slow.assign(ok=True)

defs = Definitions(assets=[slow, after])
"""


def _partita(folder: Path, *args: str, pause: float = 0.3) -> subprocess.Popen[str]:
    exe = Path(sys.executable).with_name("partita")
    env = {**os.environ, "PAUSE": str(pause), "NO_COLOR": "1"}
    return subprocess.Popen(
        [str(exe), "materialize", *args],
        cwd=folder,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for_starts(trace: Path, count: int, limit: float = 30) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if trace.exists() and trace.read_text().count("start ") >= count:
            return
        time.sleep(0.05)
    raise AssertionError(f"fewer than {count} tasks started")


def _consistent(folder: Path) -> set[str]:
    """Published partitions and catalog records agree; returns the recorded partitions."""
    project = load_project(cwd=folder)
    with SQLiteCatalog(project.catalog_path) as catalog:
        recorded = {m.partition or "" for m in catalog.history("slow", limit=1000)}
        for key in recorded:
            latest = catalog.latest_materialization("slow", key)
            assert latest is not None
            assert Path(latest.location or "").exists()
    store = ParquetStore(project.data_path)
    published = {dict(p)["date"] for p in store.list_partitions("slow")}
    assert recorded <= published
    return recorded


@pytest.mark.slow
def test_sigterm_cancels_the_run_and_nothing_is_half_published(tmp_path: Path) -> None:
    folder = write_project(tmp_path / "p", SLOW)
    proc = _partita(folder, "--max-workers", "2", pause=2.0)
    _wait_for_starts(folder / "trace", 2)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 1, out + err
    assert "cancelled" in out
    project = load_project(cwd=folder)
    with SQLiteCatalog(project.catalog_path) as catalog:
        runs = catalog.runs(now=datetime.now(UTC))
        assert str(runs[0].run.status) == "cancelled"
        attempts = catalog.attempts(runs[0].run.run_id)
        assert {str(a.status) for a in attempts} <= {"cancelled", "succeeded"}
    recorded = _consistent(folder)
    assert len(recorded) < 8
    rerun = subprocess.run(
        [str(Path(sys.executable).with_name("partita")), "materialize", "--json"],
        cwd=folder,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PAUSE": "0"},
        timeout=120,
    )
    assert rerun.returncode == 0, rerun.stderr
    assert _consistent(folder) == {f"2025-01-0{i}" for i in range(1, 9)}


@pytest.mark.slow
def test_sigkill_mid_run_then_rerun_builds_only_the_rest(tmp_path: Path) -> None:
    folder = write_project(tmp_path / "p", SLOW)
    proc = _partita(folder, "--max-workers", "1", "slow", pause=0.4)
    trace = folder / "trace"
    _wait_for_starts(trace, 4)
    proc.kill()
    proc.communicate(timeout=30)
    time.sleep(1.0)  # an orphaned worker may finish its task
    before = _consistent(folder)
    assert 0 < len(before) < 8
    trace.unlink()
    rerun = subprocess.run(
        [str(Path(sys.executable).with_name("partita")), "materialize", "slow"],
        cwd=folder,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PAUSE": "0"},
        timeout=120,
    )
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    rebuilt = {
        line.split()[1] for line in trace.read_text().splitlines() if line.startswith("start")
    }
    assert rebuilt == {f"2025-01-0{i}" for i in range(1, 9)} - before
    assert _consistent(folder) == {f"2025-01-0{i}" for i in range(1, 9)}


@pytest.mark.slow
def test_two_concurrent_runs_never_build_a_partition_at_once(tmp_path: Path) -> None:
    folder = write_project(tmp_path / "p", SLOW)
    first = _partita(folder, "slow", "--from", "2025-01-01", "--to", "2025-01-06", pause=0.3)
    time.sleep(0.3)
    second = _partita(folder, "slow", "--from", "2025-01-03", "--to", "2025-01-08", pause=0.3)
    out1, err1 = first.communicate(timeout=120)
    out2, err2 = second.communicate(timeout=120)
    assert first.returncode == 0, out1 + err1
    assert second.returncode == 0, out2 + err2
    spans: dict[str, list[tuple[float, float]]] = {}
    opened: dict[tuple[str, str], float] = {}
    for line in (folder / "trace").read_text().splitlines():
        kind, key, pid, moment = line.split()
        if kind == "start":
            opened[(key, pid)] = float(moment)
        else:
            spans.setdefault(key, []).append((opened.pop((key, pid)), float(moment)))
    for key, found in spans.items():
        found.sort()
        for (_, end), (start, _) in itertools.pairwise(found):
            assert start >= end, f"{key} was built by two runs at once"
    assert set(spans) == {f"2025-01-0{i}" for i in range(1, 9)}
    assert _consistent(folder) == set(spans)
