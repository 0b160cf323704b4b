"""Concurrency pools: slots in the catalog, two concurrent runs, a killed holder."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from partita import Definitions, asset
from partita.catalog.sqlite import SQLiteCatalog
from partita.errors import DefinitionError
from partita.processes import this_host
from partita.records import Run
from tests.conftest import write_project

NOW = datetime(2025, 3, 1, tzinfo=UTC)


def _start(catalog: SQLiteCatalog, run_id: str, pid: int | None = None, host: str = "") -> None:
    catalog.start_run(
        Run(run_id=run_id, started_at=NOW, host=host or this_host(), pid=pid or os.getpid())
    )


def test_the_slot_of_a_run_whose_process_is_gone_is_free_at_once(tmp_path: Path) -> None:
    catalog = SQLiteCatalog(tmp_path / "c.db")
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait(timeout=30)
    _start(catalog, "dead", pid=gone.pid)
    _start(catalog, "live")
    assert catalog.acquire_pool_slot("dead", "api", 1, ("a", None), now=NOW, ttl_s=600)
    assert catalog.acquire_pool_slot("live", "api", 1, ("b", None), now=NOW, ttl_s=600)


def test_pool_declarations_are_checked() -> None:
    @asset(pool="shop_api")
    def orders() -> None: ...

    with pytest.raises(DefinitionError, match="unknown pool 'shop_api'; did you mean 'shop_apis'"):
        Definitions(assets=[orders], pools={"shop_apis": 2})
    with pytest.raises(DefinitionError, match="a pool needs at least one slot"):
        Definitions(assets=[orders], pools={"shop_api": 0})
    with pytest.raises(DefinitionError, match="a pool needs at least one slot"):
        Definitions(assets=[orders], pools={"shop_api": -1})
    with pytest.raises(DefinitionError, match="pool= must be a pool's name"):
        asset(key="nameless", pool="")(lambda: None)
    assert Definitions(assets=[orders], pools={"shop_api": 2}).pools == {"shop_api": 2}


POOLED = """
import os, time
from pathlib import Path
import pandas as pd
from partita import DailyPartitions, Definitions, asset

STAMPS = Path(__file__).with_name("stamps")
DAYS = DailyPartitions(start="2025-01-01", end="2025-01-{last:02d}")

def call_api(context, name):
    started = time.time()
    time.sleep(float(os.environ.get("POOL_TEST_SLEEP", "0.3")))
    with STAMPS.open("a") as out:
        key, pid = context.partition_key, os.getpid()
        out.write(f"{{name}} {{key}} {{pid}} {{started}} {{time.time()}}\\n")
    return pd.DataFrame({{"day": [context.partition_key]}})

@asset(partitions=DAYS, pool="shop_api")
def orders(context) -> pd.DataFrame:
    return call_api(context, "orders")

@asset(partitions=DAYS, pool="shop_api")
def refunds(context) -> pd.DataFrame:
    return call_api(context, "refunds")

@asset(partitions=DAYS)
def free(context) -> pd.DataFrame:
    return pd.DataFrame({{"day": [context.partition_key]}})

defs = Definitions(assets=[orders, refunds, free], pools={{"shop_api": 2}})
"""


def _env(**extra: str) -> dict[str, str]:
    src = str(Path(__file__).resolve().parents[2] / "src")
    path = src + os.pathsep + os.environ.get("PYTHONPATH", "")
    return {**os.environ, "PYTHONPATH": path, "NO_COLOR": "1", **extra}


def _materialize(project: Path, *args: str, **env: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [str(Path(sys.executable).with_name("partita")), "materialize", *args],
        cwd=project,
        env=_env(**env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _most_at_once(lines: list[str]) -> int:
    events: list[tuple[float, int]] = []
    for line in lines:
        *_, started, ended = line.split()
        events += [(float(started), 1), (float(ended), -1)]
    running = most = 0
    for _, change in sorted(events):  # an end before a start at the same instant
        running += change
        most = max(most, running)
    return most


def _wait_for_slot(project: Path, timeout_s: float = 60) -> list[tuple[str, str, str]]:
    """Poll the catalog until a run holds a slot of ``shop_api``."""
    path = project / ".partita" / "catalog.db"
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if path.exists():
            with SQLiteCatalog(path) as catalog:
                held = catalog.pool_holders("shop_api", now=datetime.now(UTC))
            if held:
                return held
        time.sleep(0.05)
    raise AssertionError("no run took a slot of shop_api")


def test_two_concurrent_runs_never_exceed_a_pool_of_two(tmp_path: Path) -> None:
    """Six pooled partitions per run, worker room for four: across both runs (one with
    worker processes, one with threads) exactly two steps of the pool run at once."""
    project = write_project(tmp_path / "p", POOLED.format(last=7))
    first = _materialize(
        project, "orders", "--executor", "process", "--max-workers", "4", POOL_TEST_SLEEP="0.6"
    )
    _wait_for_slot(project)  # the second run starts while the first holds the pool
    second = _materialize(project, "refunds", "--executor", "thread", "--max-workers", "4")
    for run in (first, second):
        out, err = run.communicate(timeout=180)
        assert run.returncode == 0, out + err
    assert "for a slot of pool shop_api (2 slots, held by orders[" in out + err
    lines = (project / "stamps").read_text().splitlines()
    assert len(lines) == 12
    assert len({line.split()[2] for line in lines}) >= 3  # worker processes and a thread run
    assert _most_at_once(lines) == 2
    with SQLiteCatalog(project / ".partita" / "catalog.db") as catalog:
        assert catalog.pool_holders("shop_api", now=datetime.now(UTC)) == []


def test_a_killed_holder_frees_its_slots_at_once(tmp_path: Path) -> None:
    project = write_project(tmp_path / "p", POOLED.format(last=3))
    holder = _materialize(project, "orders", "--executor", "inprocess", POOL_TEST_SLEEP="120")
    assert _wait_for_slot(project)[0][1] == "orders"
    os.kill(holder.pid, signal.SIGKILL)
    holder.communicate(timeout=30)

    started = time.monotonic()
    second = _materialize(project, "refunds", "--executor", "inprocess", POOL_TEST_SLEEP="0")
    out, err = second.communicate(timeout=120)
    assert second.returncode == 0, out + err
    # the dead run's slot did not wait for its 60 s lease time to run out
    assert time.monotonic() - started < 30
    stamps = (project / "stamps").read_text().splitlines()
    assert sorted(line.split()[1] for line in stamps) == ["2025-01-01", "2025-01-02"]
    assert all(line.startswith("refunds") for line in stamps)
