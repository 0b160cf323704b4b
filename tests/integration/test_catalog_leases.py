"""Partition leases: in one process, and between real processes racing for partitions."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from partita.catalog import SQLiteCatalog
from partita.catalog.runs import this_host
from partita.errors import CatalogError
from partita.records import Run, RunStatus

NOW = datetime(2025, 3, 1, tzinfo=UTC)


def _env() -> dict[str, str]:
    src = str(Path(__file__).resolve().parents[2] / "src")
    return {**os.environ, "PYTHONPATH": src + os.pathsep + os.environ.get("PYTHONPATH", "")}


def _start(catalog: SQLiteCatalog, run_id: str, pid: int | None = None) -> None:
    pid = os.getpid() if pid is None else pid
    catalog.start_run(Run(run_id=run_id, started_at=NOW, host=this_host(), pid=pid))


def test_acquire_renew_release_and_expiry(tmp_path: Path) -> None:
    catalog = SQLiteCatalog(tmp_path / "c.db")
    _start(catalog, "r1")
    _start(catalog, "r2")
    items = [("a", "d1"), ("a", "d2"), ("dim", None), ("a", "d1")]
    assert catalog.acquire_leases("r1", items, now=NOW, ttl_s=60) == [
        ("a", "d1"),
        ("a", "d2"),
        ("dim", None),
    ]
    # r2 gets only what r1 does not hold; r1 asking again renews its own
    assert catalog.acquire_leases("r2", [("a", "d2"), ("a", "d3")], now=NOW, ttl_s=60) == [
        ("a", "d3")
    ]
    assert catalog.acquire_leases("r1", [("a", "d1")], now=NOW, ttl_s=60) == [("a", "d1")]
    assert catalog.lease_holders([("a", "d1"), ("a", "d3"), ("b", "x")], now=NOW) == {
        ("a", "d1"): "r1",
        ("a", "d3"): "r2",
    }
    # r1 renews; once r2's lease expires r1 may take its partition over
    later = NOW + timedelta(seconds=90)
    assert catalog.renew_leases("r1", now=NOW + timedelta(seconds=50), ttl_s=60) == 3
    assert catalog.lease_holders([("a", "d3")], now=later) == {}
    assert catalog.acquire_leases("r1", [("a", "d3")], now=later, ttl_s=60) == [("a", "d3")]
    assert catalog.release_leases("r1", [("a", "d3"), ("dim", None)]) == 2
    assert catalog.lease_holders([("dim", None)], now=later) == {}
    assert catalog.release_leases("r1") == 2
    with pytest.raises(CatalogError, match="no run"):
        catalog.acquire_leases("ghost", [("a", "d1")], now=NOW, ttl_s=60)


def test_leases_of_finished_or_dead_runs_are_taken_over(tmp_path: Path) -> None:
    catalog = SQLiteCatalog(tmp_path / "c.db")
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait(timeout=30)
    _start(catalog, "dead", pid=gone.pid)
    _start(catalog, "done")
    _start(catalog, "next")
    assert catalog.acquire_leases("dead", [("a", "d1")], now=NOW, ttl_s=600) == [("a", "d1")]
    assert catalog.acquire_leases("done", [("a", "d2")], now=NOW, ttl_s=600) == [("a", "d2")]
    catalog.finish_run("done", RunStatus.SUCCEEDED, now=NOW)
    assert catalog.lease_holders([("a", "d1"), ("a", "d2")], now=NOW) == {}
    got = catalog.acquire_leases("next", [("a", "d1"), ("a", "d2")], now=NOW, ttl_s=600)
    assert got == [("a", "d1"), ("a", "d2")]


_RACER = textwrap.dedent(
    """
    import json, os, sys, time
    from datetime import UTC, datetime
    from pathlib import Path
    from partita.catalog import SQLiteCatalog
    from partita.catalog.runs import this_host
    from partita.records import Run
    path, run_id, start = sys.argv[1], sys.argv[2], Path(sys.argv[3])
    hold = sys.argv[4] == "hold"
    catalog = SQLiteCatalog(path)
    now = datetime.now(UTC)
    catalog.start_run(Run(run_id=run_id, started_at=now, host=this_host(), pid=os.getpid()))
    while not start.exists():
        time.sleep(0.005)
    got = []
    for day in range(60):  # overlapping ranges, one partition at a time, as a runner asks
        got += catalog.acquire_leases(run_id, [("a", f"d{day:02d}")], now=now, ttl_s=600)
    print(json.dumps(got), flush=True)
    if hold:
        time.sleep(60)
    """
)


def test_racing_processes_never_lease_the_same_partition(tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    SQLiteCatalog(path).close()
    start = tmp_path / "start"
    racers = [
        subprocess.Popen(
            [sys.executable, "-c", _RACER, str(path), f"run{i}", str(start), "hold"],
            env=_env(),
            stdout=subprocess.PIPE,
            text=True,
        )
        for i in range(2)
    ]
    start.touch()
    won = []
    for racer in racers:
        assert racer.stdout is not None
        won.append({tuple(item) for item in json.loads(racer.stdout.readline())})
    assert won[0].isdisjoint(won[1])
    assert won[0] | won[1] == {("a", f"d{day:02d}") for day in range(60)}

    # while both live, nothing is free; once one is killed its partitions are free
    catalog = SQLiteCatalog(path)
    _start(catalog, "late")
    now = datetime.now(UTC)
    everything = [("a", f"d{day:02d}") for day in range(60)]
    assert catalog.acquire_leases("late", everything, now=now, ttl_s=60) == []
    os.kill(racers[0].pid, signal.SIGKILL)
    racers[0].wait(timeout=30)
    taken = catalog.acquire_leases("late", everything, now=now, ttl_s=60)
    assert set(taken) == won[0]
    holders = catalog.lease_holders(everything, now=now)
    assert {item for item, run in holders.items() if run == "run1"} == won[1]
    racers[1].kill()
    racers[1].wait(timeout=30)
