"""Workers die with their coordinator, and a publish is fenced by the run's lease.

Real `partita materialize` processes: a coordinator killed with SIGKILL while
its worker sleeps inside a step must not let that worker publish after a rerun
fixed the output; and a run that lost a lease (another run took it over) while
its coordinator lives has its publish refused and recorded, on every executor.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from partita.api import load_project, plan_project
from partita.api.running import project_ref
from partita.catalog.sqlite import SQLiteCatalog
from partita.io import ParquetStore
from partita.processes import pid_alive, this_host
from partita.records import Run, RunStatus
from partita.runner import RunOptions, RunResult, run_plan
from partita.versions import data_version
from tests.conftest import run_cli, write_project

STEP = """
import os
import time
from pathlib import Path

import pandas as pd

from partita.assets import asset
from partita.definitions import Definitions

HERE = Path(__file__).parent


@asset
def value() -> pd.DataFrame:
    pause = float((HERE / "pause").read_text())
    with (HERE / "trace").open("a") as out:
        out.write(f"start {os.getpid()} {time.time()} {pause}\\n")
    time.sleep(pause)
    return pd.DataFrame({"v": ["buggy"]})


defs = Definitions(assets=[value])
"""


def _starts(folder: Path, count: int, limit: float = 60) -> list[list[str]]:
    trace = folder / "trace"
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        lines = trace.read_text().splitlines() if trace.exists() else []
        if len(lines) >= count:
            return [line.split() for line in lines]
        time.sleep(0.02)
    raise AssertionError(f"fewer than {count} steps started")


def _stored(folder: Path) -> str:
    project = load_project(cwd=folder)
    table = ParquetStore(project.data_path).read("value", [()], as_type=pd.DataFrame)
    return str(table["v"].tolist())


@pytest.mark.slow
def test_a_killed_coordinators_worker_never_publishes_after_the_rerun(tmp_path: Path) -> None:
    folder = write_project(tmp_path / "p", STEP)
    (folder / "pause").write_text("8")
    exe = Path(sys.executable).with_name("partita")
    coordinator = subprocess.Popen(
        [str(exe), "materialize"],
        cwd=folder,
        env={**os.environ, "NO_COLOR": "1"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    ((_, worker, started, pause),) = _starts(folder, 1)
    coordinator.send_signal(signal.SIGKILL)
    coordinator.wait(timeout=30)
    killed = time.monotonic()
    while pid_alive(int(worker)) and time.monotonic() - killed < 10:
        time.sleep(0.05)
    assert not pid_alive(int(worker)), "the worker outlived its coordinator"
    # about a second (ample leeway for a loaded machine), not the 8 s the step lasts
    assert time.monotonic() - killed < 5.0

    source = (folder / "defs.py").read_text()
    (folder / "defs.py").write_text(source.replace('"buggy"', '"fixed"'))
    (folder / "pause").write_text("0")
    rerun = run_cli(["materialize", "--json"], folder, check=True)
    rerun_id = json.loads(rerun.stdout)["run_id"]

    # past the end of the old step, had its worker lived on
    time.sleep(max(0.0, float(started) + float(pause) + 1.5 - time.time()))
    assert _stored(folder) == "['fixed']"
    project = load_project(cwd=folder)
    with SQLiteCatalog(project.catalog_path) as catalog:
        latest = catalog.latest_materialization("value")
        assert latest is not None
        assert latest.run_id == rerun_id
        assert ParquetStore(project.data_path).list_partitions("value") == [()]
        recorded = pq.read_table(latest.location or "")
        assert recorded.column("v").to_pylist() == ["fixed"]
        assert latest.data_version == data_version(recorded)
    assert "up to date" in run_cli(["plan"], folder, check=True).stdout.lower()
    workers = [int(line[1]) for line in _starts(folder, 2)]
    assert not any(pid_alive(pid) for pid in [coordinator.pid, *workers])


def _run(folder: Path, executor: str, into: list[RunResult]) -> None:
    project = load_project(cwd=folder)
    options = RunOptions(executor=executor, handle_signals=False, lease_ttl_s=0.5, heartbeat_s=60.0)
    with SQLiteCatalog(project.catalog_path) as catalog:
        planned = plan_project(project, catalog=catalog)
        ref = project_ref(project) if executor == "process" else None
        into.append(
            run_plan(
                planned.plan,
                project.graph,
                catalog,
                data_path=project.data_path,
                project=ref,
                options=options,
            )
        )


@pytest.mark.parametrize("executor", ["process", "thread", "inprocess"])
def test_a_publish_after_another_run_took_the_lease_is_refused_and_recorded(
    tmp_path: Path, executor: str
) -> None:
    folder = write_project(tmp_path / "p", STEP)
    (folder / "pause").write_text("2")
    results: list[RunResult] = []
    running = threading.Thread(target=_run, args=(folder, executor, results))
    running.start()
    _starts(folder, 1)
    time.sleep(1.0)  # the run's lease (0.5 s, never renewed here) has expired
    project = load_project(cwd=folder)
    with SQLiteCatalog(project.catalog_path) as catalog:
        now = datetime.now(UTC)
        catalog.start_run(Run(run_id="other", started_at=now, host=this_host(), pid=os.getpid()))
        taken = catalog.acquire_leases("other", [("value", None)], now=now, ttl_s=60)
        assert taken == [("value", None)]
        running.join(timeout=60)
        (result,) = results
        (outcome,) = result.outcomes
        assert str(outcome.status) == "failed"
        assert outcome.error is not None
        assert "lease was lost (run other holds its lease now)" in outcome.error
        assert "publish was discarded" in outcome.error
        assert outcome.attempts == 1  # not retried
        (attempt,) = catalog.attempts(result.run_id or "")
        assert str(attempt.status) == "failed"
        assert "lease was lost" in (attempt.error or "")
        assert catalog.latest_materialization("value") is None
        assert ParquetStore(project.data_path).list_partitions("value") == []
        # the lease stays with the run that took it
        assert catalog.lease_holders([("value", None)], now=now) == {("value", None): "other"}
        catalog.finish_run("other", RunStatus.SUCCEEDED, now=datetime.now(UTC))
