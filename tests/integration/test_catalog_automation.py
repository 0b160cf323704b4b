"""The daemon's records in a real SQLite catalog: the lock, ticks with cursors and files."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from partita.catalog import open_catalog
from partita.processes import this_host
from partita.records import DaemonHolder, TickKind, TickRecord, TickStatus

NOW = datetime(2025, 3, 2, 1, tzinfo=UTC)


def _holder(token: str, host: str, pid: int) -> DaemonHolder:
    return DaemonHolder(token=token, host=host, pid=pid, since=NOW, heartbeat_at=NOW)


def test_lock_refuses_a_live_holder_and_takes_over_a_dead_or_silent_one(tmp_path: Path) -> None:
    with open_catalog(tmp_path / "catalog.db") as catalog:
        records = catalog.automation
        me = _holder("me", this_host(), os.getpid())
        assert records.acquire_daemon_lock(me, now=NOW, ttl_s=60) is None
        other = _holder("other", this_host(), os.getpid())
        assert records.acquire_daemon_lock(other, now=NOW, ttl_s=60) == me  # alive: refused
        assert records.renew_daemon_lock("me", now=NOW + timedelta(seconds=30))
        # another host's holder: live until its heartbeat is older than the ttl
        records.release_daemon_lock("me")
        remote = _holder("remote", "elsewhere", 1)
        assert records.acquire_daemon_lock(remote, now=NOW, ttl_s=60) is None
        assert (
            records.acquire_daemon_lock(me, now=NOW + timedelta(seconds=59), ttl_s=60) is not None
        )
        assert records.acquire_daemon_lock(me, now=NOW + timedelta(seconds=61), ttl_s=60) is None
        assert not records.renew_daemon_lock("remote", now=NOW)  # it lost the lock
        # a holder on this host whose process is gone: taken over at once
        gone = subprocess.run(
            [sys.executable, "-c", "import os; print(os.getpid())"],
            capture_output=True,
            text=True,
            check=True,
        )
        records.release_daemon_lock("me")
        dead = _holder("dead", this_host(), int(gone.stdout))
        assert records.acquire_daemon_lock(dead, now=NOW, ttl_s=60) is None
        assert records.acquire_daemon_lock(me, now=NOW, ttl_s=60) is None
        holder = records.daemon_holder()
        assert holder is not None and holder.token == "me"


def test_a_tick_its_cursor_and_its_files_are_recorded_together(tmp_path: Path) -> None:
    with open_catalog(tmp_path / "catalog.db") as catalog:
        records = catalog.automation
        assert records.cursor(TickKind.SENSOR, "landing") is None
        tick = TickRecord(
            kind=TickKind.SENSOR,
            name="landing",
            tick_at=NOW,
            evaluated_at=NOW,
            status=TickStatus.SUCCEEDED,
            run_ids=("r1",),
            covered=("a.csv", "b.csv"),
        )
        tick_id = records.record_tick(tick, cursor="b.csv", files=["a.csv", "b.csv"])
        assert records.cursor(TickKind.SENSOR, "landing") == "b.csv"
        assert records.handled_files("landing", ["a.csv", "c.csv"]) == {"a.csv"}
        assert records.handled_files("other", ["a.csv"]) == set()
        (stored,) = records.ticks(kind=TickKind.SENSOR)
        assert stored.id == tick_id and stored.run_ids == ("r1",) and stored.covered == tick.covered
        before = records.change_marker()
        catalog.dynamic_partitions.add("files", ["a"])
        assert records.change_marker() != before
