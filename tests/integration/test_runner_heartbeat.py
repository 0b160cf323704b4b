"""The run's heartbeat and lease renewal do not depend on the executor's loop."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from partita.api import load_project, plan_project
from partita.catalog.sqlite import SQLiteCatalog
from partita.runner import RunOptions, RunResult, run_plan
from tests.conftest import write_project

LONG = """
import time
from pathlib import Path

import pandas as pd

from partita.assets import asset
from partita.definitions import Definitions

TRACE = Path(__file__).with_name("trace")


@asset
def long() -> pd.DataFrame:
    with TRACE.open("a") as out:
        out.write("start\\n")
    time.sleep(5.0)  # ample time for the second run to plan on a loaded machine
    return pd.DataFrame({"x": [1]})


defs = Definitions(assets=[long])
"""


def _run(folder: Path, options: RunOptions, into: list[RunResult]) -> None:
    project = load_project(cwd=folder)
    with SQLiteCatalog(project.catalog_path) as catalog:
        planned = plan_project(project, catalog=catalog)
        into.append(
            run_plan(
                planned.plan, project.graph, catalog, data_path=project.data_path, options=options
            )
        )


def test_an_in_process_task_longer_than_the_lease_keeps_its_lease(tmp_path: Path) -> None:
    folder = write_project(tmp_path / "p", LONG)
    trace = folder / "trace"
    short_lease = RunOptions(
        executor="inprocess", handle_signals=False, lease_ttl_s=1.0, heartbeat_s=0.2
    )
    first: list[RunResult] = []
    worker = threading.Thread(target=_run, args=(folder, short_lease, first))
    worker.start()
    deadline = time.monotonic() + 30
    while not trace.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(1.5)  # the task is still running, longer than the lease's time to live
    second: list[RunResult] = []
    _run(folder, RunOptions(executor="inprocess", handle_signals=False, lease_wait_s=0.3), second)
    worker.join(timeout=60)

    assert trace.read_text().splitlines() == ["start"]  # built once, by the first run
    assert first[0].success
    (skipped,) = second[0].outcomes
    assert str(skipped.status) == "skipped"
    assert skipped.reason == f"being built by run {first[0].run_id}"
    project = load_project(cwd=folder)
    with SQLiteCatalog(project.catalog_path) as catalog:
        latest = catalog.latest_materialization("long")
        assert latest is not None
        assert latest.run_id == first[0].run_id
        run = catalog.get_run(first[0].run_id, now=datetime.now(UTC))
        assert run is not None
        assert run.heartbeat_at is not None
        assert run.heartbeat_at > run.started_at  # it beat while the task ran
