"""SQLite partition leases between real processes: dead pids, and processes racing.

The leases' contract in one process is in ``test_catalog_conformance.py``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from datetime import UTC, datetime
from pathlib import Path

from partita.catalog.sqlite import SQLiteCatalog
from partita.processes import this_host
from partita.records import Run

NOW = datetime(2025, 3, 1, tzinfo=UTC)


def _env() -> dict[str, str]:
    src = str(Path(__file__).resolve().parents[2] / "src")
    return {**os.environ, "PYTHONPATH": src + os.pathsep + os.environ.get("PYTHONPATH", "")}


def _start(catalog: SQLiteCatalog, run_id: str, pid: int | None = None) -> None:
    pid = os.getpid() if pid is None else pid
    catalog.start_run(Run(run_id=run_id, started_at=NOW, host=this_host(), pid=pid))


def test_leases_of_a_run_whose_process_is_gone_are_taken_over_at_once(tmp_path: Path) -> None:
    catalog = SQLiteCatalog(tmp_path / "c.db")
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait(timeout=30)
    _start(catalog, "dead", pid=gone.pid)
    _start(catalog, "next")
    assert catalog.acquire_leases("dead", [("a", "d1")], now=NOW, ttl_s=600) == [("a", "d1")]
    # the run is still recorded running and its lease unexpired: its pid decides
    assert catalog.lease_holders([("a", "d1")], now=NOW) == {}
    assert catalog.acquire_leases("next", [("a", "d1")], now=NOW, ttl_s=600) == [("a", "d1")]


_RACER = textwrap.dedent(
    """
    import json, os, sys, time
    from datetime import UTC, datetime
    from pathlib import Path
    from partita.catalog.sqlite import SQLiteCatalog
    from partita.processes import this_host
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


def test_the_sqlite_lease_reader_sees_a_coordinator_gone_from_this_host(tmp_path: Path) -> None:
    # SQLite's catalog is on one machine: a pid of this host that is gone is a dead run at
    # once (the shared PostgreSQL catalog waits for the heartbeat instead)
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait(timeout=30)
    now = datetime.now(UTC)
    with SQLiteCatalog(tmp_path / "catalog.db") as catalog:
        catalog.start_run(Run(run_id="dead", started_at=now, host=this_host(), pid=gone.pid))
        assert catalog.acquire_leases("dead", [("b", "x")], now=now, ttl_s=60) == [("b", "x")]
        reader = catalog.lease_reader_factory()()
        try:
            assert "is gone" in (reader.lease_held("dead", ("b", "x")) or "")
        finally:
            reader.close()
