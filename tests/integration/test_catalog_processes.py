"""Real processes against one catalog file: concurrency, SIGKILL, crashed runs."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from partita.catalog.sqlite import SQLiteCatalog
from partita.records import RunStatus, StepStatus

from .test_catalog_support import build, start_run

_WRITER = textwrap.dedent(
    """
    import os, sys
    from datetime import UTC, datetime
    from partita.catalog.sqlite import SQLiteCatalog
    from partita.records import Input, Materialization, Run, StepAttempt, StepStatus
    path, name, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    now = datetime(2025, 3, 1, tzinfo=UTC)
    catalog = SQLiteCatalog(path)
    catalog.start_run(Run(run_id=name, started_at=now, pid=os.getpid()))
    for i in range(count):
        attempt = StepAttempt(name, name, f"p{i}", 1, StepStatus.SUCCEEDED, now, now)
        mat = Materialization(name, f"p{i}", name, f"v{i}", now)
        catalog.record_step_outcome(attempt, [mat], [[Input("src", f"p{i}", "s")]])
    """
)

_READER = textwrap.dedent(
    """
    import sys, time
    from partita.catalog.sqlite import SQLiteCatalog
    catalog = SQLiteCatalog(sys.argv[1])
    seen = 0
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        state = catalog.planner_state(["w1", "w2"])
        assert state.latest.num_rows >= seen, "a reader saw rows disappear"
        seen = state.latest.num_rows
        if seen == 2 * int(sys.argv[2]):
            break
    print(seen)
    """
)


def _env() -> dict[str, str]:
    src = str(Path(__file__).resolve().parents[2] / "src")
    return {**os.environ, "PYTHONPATH": src + os.pathsep + os.environ.get("PYTHONPATH", "")}


def test_two_writers_and_a_reader_lose_nothing(tmp_path: Path) -> None:
    path = tmp_path / "catalog.db"
    SQLiteCatalog(path).close()
    count = 150
    procs = [
        subprocess.Popen([sys.executable, "-c", _WRITER, str(path), name, str(count)], env=_env())
        for name in ("w1", "w2")
    ]
    reader = subprocess.Popen(
        [sys.executable, "-c", _READER, str(path), str(count)],
        env=_env(),
        stdout=subprocess.PIPE,
        text=True,
    )
    for proc in procs:
        assert proc.wait(timeout=120) == 0
    out, _ = reader.communicate(timeout=120)
    assert reader.returncode == 0
    assert int(out) == 2 * count
    catalog = SQLiteCatalog(path)
    state = catalog.planner_state(["w1", "w2"])
    assert state.latest.num_rows == 2 * count
    assert state.edges.num_rows == 2 * count
    assert len(catalog.attempts("w1")) == count
    assert catalog.integrity_check() == "ok"


_KILLED_WRITER = textwrap.dedent(
    """
    import os, sys, time
    from datetime import UTC, datetime
    from pathlib import Path
    from partita.catalog.sqlite import SQLiteCatalog
    from partita.records import Input, Materialization
    path, marker = sys.argv[1], Path(sys.argv[2])
    now = datetime(2025, 3, 1, tzinfo=UTC)
    catalog = SQLiteCatalog(path)

    def items():
        for i in range(1_000_000):
            if i == 45_000:  # rows of earlier chunks are already written, uncommitted
                marker.write_text("inside")
                time.sleep(60)
            yield Materialization("big", f"p{i}", "r1", "v", now), [Input("a", "p", "v")]

    catalog.record_materializations_bulk(items())
    """
)


def test_sigkill_inside_a_write_transaction_leaves_nothing_half_written(tmp_path: Path) -> None:
    path = tmp_path / "catalog.db"
    catalog = SQLiteCatalog(path)
    start_run(catalog, "r1")
    before = build(catalog, "r1", "a", "p", "v")
    marker = tmp_path / "inside"
    child = subprocess.Popen(
        [sys.executable, "-c", _KILLED_WRITER, str(path), str(marker)], env=_env()
    )
    deadline = time.monotonic() + 60
    while not marker.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert marker.exists(), "the child never reached the middle of its transaction"
    os.kill(child.pid, signal.SIGKILL)
    child.wait(timeout=30)

    reopened = SQLiteCatalog(path)
    assert reopened.integrity_check() == "ok"
    assert reopened.history("big") == []
    assert reopened.planner_state(["big"]).latest.num_rows == 0
    latest = reopened.latest_materialization("a", "p")
    assert latest is not None and latest.materialization_id == before
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT COUNT(*) FROM inputs").fetchone()[0] == 0
    assert conn.execute("SELECT COUNT(*) FROM input_edges").fetchone()[0] == 0
    # the catalog is writable again (no lock left behind)
    build(reopened, "r1", "a", "p", "v2", attempt=2)


_RUNNER = textwrap.dedent(
    """
    import os, sys, time
    from datetime import UTC, datetime
    from partita.catalog.sqlite import SQLiteCatalog
    from partita.records import Run, StepAttempt, StepStatus
    from partita.processes import this_host
    now = datetime.now(UTC)
    catalog = SQLiteCatalog(sys.argv[1])
    catalog.start_run(Run(run_id="doomed", started_at=now, host=this_host(), pid=os.getpid()))
    catalog.record_attempt_start(StepAttempt("doomed", "a", "p1", 1, StepStatus.RUNNING, now))
    print("started", flush=True)
    time.sleep(60)
    """
)


def test_a_killed_run_shows_as_crashed_and_its_steps_abandoned(tmp_path: Path) -> None:
    path = tmp_path / "catalog.db"
    child = subprocess.Popen(
        [sys.executable, "-c", _RUNNER, str(path)], env=_env(), stdout=subprocess.PIPE, text=True
    )
    assert child.stdout is not None and child.stdout.readline().strip() == "started"
    catalog = SQLiteCatalog(path)
    now = datetime.now(UTC)
    run = catalog.get_run("doomed", now=now)
    assert run is not None and run.status is RunStatus.RUNNING  # alive: left alone

    os.kill(child.pid, signal.SIGKILL)
    child.wait(timeout=30)
    (summary,) = catalog.runs(now=now)
    assert summary.run.status is RunStatus.CRASHED
    assert summary.count(StepStatus.ABANDONED) == 1
    (attempt,) = catalog.attempts("doomed")
    assert attempt.status is StepStatus.ABANDONED


def test_a_run_silent_past_the_heartbeat_timeout_is_crashed(tmp_path: Path) -> None:
    catalog = SQLiteCatalog(tmp_path / "c.db", heartbeat_timeout=timedelta(minutes=5))
    start = datetime(2025, 3, 1, tzinfo=UTC)
    start_run(catalog, "elsewhere")  # host "" is never this host: only the heartbeat counts
    catalog.heartbeat("elsewhere", now=start + timedelta(minutes=10))
    assert catalog.mark_dead_runs(now=start + timedelta(minutes=14)) == []
    assert catalog.mark_dead_runs(now=start + timedelta(minutes=16)) == ["elsewhere"]
    run = catalog.get_run("elsewhere", now=start + timedelta(minutes=16))
    assert run is not None and run.status is RunStatus.CRASHED
