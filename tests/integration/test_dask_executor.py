"""The Dask executor against a real cluster: ``dask scheduler`` and two ``dask worker``
processes on 127.0.0.1 (free ports), started once for the module.

A backfill of the chaos project runs through the CLI on that cluster; one
worker is killed (SIGKILL) while it runs a long step. The step's attempt is
recorded as failed and retried, and the published data and the catalog equal
a clean build (the chaos campaign's invariants, and the data versions of a
clean in-process run). Also on that cluster: a timed-out step stopped by
restarting its worker, Ctrl-C cancelling the running task, definitions built in
memory, a worker's address named as not a scheduler. And: a run on a
``LocalCluster`` the executor starts itself (the project loaded once per worker),
and an unreachable scheduler (one error naming the address, exit 2).
"""

from __future__ import annotations

import importlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

import partita
from partita import api
from partita.catalog import open_existing_catalog
from partita.errors import UnreachableError
from tests.chaos import pipeline
from tests.chaos.invariants import (
    catalog_integrity,
    catalog_matches_store,
    every_partition_published,
    published_data_is_clean,
)
from tests.chaos.project import ChaosProject
from tests.conftest import run_cli, write_project

LONG_DAY = "2025-01-05"
"""``raw[LONG_DAY]`` sleeps LONG_S on the workers: the window in which one is killed."""
LONG_S = 2.0


@dataclass
class DaskCluster:
    """A scheduler and its workers, each a process of its own."""

    address: str
    folder: Path
    processes: list[subprocess.Popen[bytes]]


def _dask(*args: str) -> list[str]:
    return [str(Path(sys.executable).with_name("dask")), *args]


def _wait_for(condition: object, what: str, limit: float = 60) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if callable(condition) and condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _worker_count(address: str) -> int:
    from distributed import Client  # noqa: PLC0415  (imported by these tests only)

    with Client(address, timeout=10) as client:
        return len(client.nthreads())


def _preload(address: str) -> None:
    """Import the worker side of the executor (pandas, pyarrow) on every worker now, so a
    step's timeout does not count the first import."""
    from distributed import Client  # noqa: PLC0415  (imported by these tests only)

    with Client(address, timeout=10) as client:
        client.run(importlib.import_module, "partita.runner.dask_worker")


@pytest.fixture(scope="module")
def dask_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DaskCluster]:
    """``dask scheduler`` and two one-thread ``dask worker`` processes on 127.0.0.1.

    Workers import partita from the tree under test and run the chaos project's
    steps with its environment: ``raw[LONG_DAY]`` sleeps ``LONG_S`` seconds.
    """
    folder = tmp_path_factory.mktemp("dask")
    scheduler_file = folder / "scheduler.json"
    source_root = str(Path(partita.__file__).resolve().parents[1])
    inherited = os.environ.get("PYTHONPATH", "")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (source_root, inherited) if p)}
    env.update(
        CHAOS_STEP_S="0",
        CHAOS_LONG_STEP=f"raw:{LONG_DAY}",
        CHAOS_LONG_S=str(LONG_S),
        DASK_DISTRIBUTED__WORKER__DAEMON="False",
    )
    common = {"env": env, "cwd": folder, "start_new_session": True}
    logs = (folder / "cluster.log").open("wb")
    scheduler = subprocess.Popen(
        _dask(
            "scheduler",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--no-dashboard",
            "--scheduler-file",
            str(scheduler_file),
        ),
        stdout=logs,
        stderr=subprocess.STDOUT,
        **common,  # type: ignore[call-overload]
    )
    processes = [scheduler]
    try:
        _wait_for(scheduler_file.exists, "the scheduler's address")
        _wait_for(lambda: "address" in scheduler_file.read_text() or False, "the address")
        address = json.loads(scheduler_file.read_text())["address"]
        for name in ("w1", "w2"):
            worker = subprocess.Popen(
                _dask(
                    "worker",
                    "--scheduler-file",
                    str(scheduler_file),
                    "--nthreads",
                    "1",
                    "--host",
                    "127.0.0.1",
                    "--no-dashboard",
                    "--name",
                    name,
                    "--memory-limit",
                    "0",
                ),
                stdout=logs,
                stderr=subprocess.STDOUT,
                **common,  # type: ignore[call-overload]
            )
            processes.append(worker)
        _wait_for(lambda: _worker_count(address) == 2, "two workers")
        _preload(address)
        yield DaskCluster(address, folder, processes)
    finally:
        for process in reversed(processes):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        logs.close()


def _with_retries(project: ChaosProject) -> None:
    """Give every asset of the chaos project a retry policy (a killed worker's attempt
    is a failed attempt, retried like any other)."""
    defs = project.folder / "defs.py"
    text = defs.read_text(encoding="utf-8")
    text = text.replace("from partita import ", "from partita import RetryPolicy, ", 1).replace(
        "@asset(partitions=DAYS",
        "@asset(retry=RetryPolicy(max_attempts=3, delay=0.0), partitions=DAYS",
    )
    defs.write_text(text, encoding="utf-8")


def _latest_versions(project: ChaosProject) -> dict[tuple[str, str], str]:
    catalog = open_existing_catalog(project.catalog_path)
    assert catalog is not None
    with catalog:
        rows = catalog.planner_state(list(pipeline.ASSETS)).latest.to_pylist()
    return {(str(r["asset"]), str(r["partition"])): str(r["data_version"]) for r in rows}


def _start_line(trace: Path, asset: str, day: str) -> list[str] | None:
    if not trace.exists():
        return None
    for line in trace.read_text(encoding="utf-8").splitlines():
        parts = line.split()
        if parts[:3] == ["start", asset, day]:
            return parts
    return None


def test_a_killed_worker_is_a_failed_attempt_and_the_backfill_equals_a_clean_run(
    dask_cluster: DaskCluster, tmp_path: Path
) -> None:
    project = ChaosProject.create(tmp_path / "dask", "parquet")
    _with_retries(project)
    run = project.start(
        ["materialize", "--executor", "dask", "--dask-address", dask_cluster.address, "--json"],
        marker="dask-kill",
        step_s=0.0,
    )
    try:
        _wait_for(
            lambda: _start_line(project.trace_path, "raw", LONG_DAY) is not None,
            f"raw[{LONG_DAY}] to start on a worker",
        )
        started = _start_line(project.trace_path, "raw", LONG_DAY)
        assert started is not None
        victim = int(started[3])  # the Dask worker process running the step
        os.kill(victim, signal.SIGKILL)
        status = run.wait(timeout=90)
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
    assert status == 0, project.output("dask-kill")
    result = json.loads((project.folder / "dask-kill.out").read_text(encoding="utf-8"))
    assert result["status"] == "succeeded"

    catalog = open_existing_catalog(project.catalog_path)
    assert catalog is not None
    with catalog:
        attempts = catalog.attempts(result["run_id"], asset="raw", partition=LONG_DAY)
        history = catalog.history("raw", partition=LONG_DAY, limit=10)
    assert [(a.attempt, str(a.status)) for a in attempts] == [(1, "failed"), (2, "succeeded")]
    assert attempts[0].error is not None and "Dask worker" in attempts[0].error
    assert len(history) == 1  # one materialization: the killed attempt published nothing

    # the data and the catalog equal a clean build's
    store = project.store()
    assert catalog_integrity(project) == []
    assert every_partition_published(store) == []
    assert catalog_matches_store(project, store) == []
    assert published_data_is_clean(store, {1: pipeline.expected_frames(1)}, 1) == []
    clean = ChaosProject.create(tmp_path / "clean", "parquet")
    _with_retries(clean)
    assert clean.run(["materialize", "--executor", "inprocess"], marker="clean") == 0
    assert _latest_versions(project) == _latest_versions(clean)
    assert len(_latest_versions(project)) == len(pipeline.ASSETS) * pipeline.DAYS


HELD = """
import os
import time
from pathlib import Path

import pandas as pd

from partita import Definitions, asset

HERE = Path(__file__).parent


@asset(timeout={timeout})
def held() -> pd.DataFrame:
    (HERE / "held.pid").write_text(str(os.getpid()))
    with (HERE / "held.starts").open("a") as starts:
        starts.write(f"{{os.getpid()}}\\n")
    deadline = time.monotonic() + 60
    while not (HERE / "release").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    return pd.DataFrame({{"x": [1]}})


defs = Definitions(assets=[held])
"""
"""``held`` waits (up to 60 s) until a ``release`` file appears beside the project."""


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _published(folder: Path) -> list[Path]:
    """The files of ``held`` in the store, staged or published (its schema record aside)."""
    data = folder / ".partita" / "data" / "held"
    found = data.rglob("*") if data.exists() else []
    return sorted(p for p in found if p.is_file() and p.name != ".partita-schema.json")


def test_a_timed_out_step_is_stopped_by_restarting_its_worker(
    dask_cluster: DaskCluster, tmp_path: Path
) -> None:
    folder = write_project(tmp_path / "timeout", HELD.format(timeout=2))
    started = time.monotonic()
    done = run_cli(["materialize", "--dask-address", dask_cluster.address, "--json"], folder)
    assert done.returncode == 1, done.stderr
    assert time.monotonic() - started < 20
    result = json.loads(done.stdout)
    assert result["counts"] == {"timed_out": 1}
    pid = int((folder / "held.pid").read_text())
    _wait_for(lambda: not _pid_alive(pid), "the timed-out step's worker to be restarted", 60)
    assert _published(folder) == []
    _wait_for(lambda: _worker_count(dask_cluster.address) == 2, "the restarted worker")
    # cancelled before its worker restarted: never handed to the other worker
    assert len((folder / "held.starts").read_text().split()) == 1


def test_ctrl_c_cancels_the_running_tasks(dask_cluster: DaskCluster, tmp_path: Path) -> None:
    from distributed import Client  # noqa: PLC0415  (imported by these tests only)

    folder = write_project(tmp_path / "cancel", HELD.format(timeout=None))
    run = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("partita")),
            "materialize",
            "--dask-address",
            dask_cluster.address,
            "--json",
        ],
        cwd=folder,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "NO_COLOR": "1"},
    )
    try:
        _wait_for((folder / "held.pid").exists, "the step to start on a worker")
        run.send_signal(signal.SIGINT)
        out, err = run.communicate(timeout=30)
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
    assert run.returncode == 1, err
    result = json.loads(out)
    assert result["status"] == "cancelled" and result["counts"] == {"cancelled": 1}
    with Client(dask_cluster.address, timeout=10) as client:
        _wait_for(lambda: not any(client.processing().values()), "the task to be cancelled", 30)
        (folder / "release").touch()  # the step ends: its output is discarded, not published
        _wait_for(lambda: not client.call_stack(), "the worker to finish the step", 30)
    assert _published(folder) == []


SMALL = """
import os
from pathlib import Path

import pandas as pd

from partita import DailyPartitions, Definitions, asset

DAYS = DailyPartitions(start="2025-01-01", end="2025-01-05")
with (Path(__file__).parent / "loads").open("a") as loads:
    loads.write(f"{os.getpid()}\\n")  # each process that loads the project, once per load


@asset(partitions=DAYS)
def raw(context) -> pd.DataFrame:
    print(f"built by pid {os.getpid()}")
    return pd.DataFrame({"day": [context.partition_key], "n": [len(context.partition_key)]})


@asset(partitions=DAYS)
def doubled(raw: pd.DataFrame) -> pd.DataFrame:
    return raw.assign(n=raw["n"] * 2)


defs = Definitions(assets=[raw, doubled], executor="dask")
"""


def test_a_local_cluster_runs_the_project_from_its_definitions(tmp_path: Path) -> None:
    folder = write_project(tmp_path / "local", SMALL)
    done = run_cli(["materialize", "--max-workers", "1", "--json"], folder)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["status"] == "succeeded" and result["counts"] == {"succeeded": 8}
    project = api.load_project(cwd=folder)
    with project.open_catalog() as catalog:
        attempts = catalog.attempts(result["run_id"], asset="raw")
    pids = {int(a.logs.split("built by pid ")[1].split()[0]) for a in attempts}
    assert os.getpid() not in pids and len(attempts) == 4  # the steps ran on the cluster
    loads = (folder / "loads").read_text().split()
    assert all(loads.count(str(pid)) == 1 for pid in pids), loads  # once per worker, not per step
    frame = api.materialize(project, executor="inprocess").status
    assert frame == "nothing_to_do"  # what the cluster built is recorded and current


def _refused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])  # closed again: nothing listens there


def test_an_unreachable_scheduler_is_one_error_naming_the_address(tmp_path: Path) -> None:
    folder = write_project(tmp_path / "unreachable", SMALL)
    address = f"tcp://127.0.0.1:{_refused_port()}"
    started = time.monotonic()
    done = run_cli(["materialize", "--dask-address", address], folder)
    assert done.returncode == 2, done.stderr
    assert time.monotonic() - started < 15
    assert f"cannot reach the Dask scheduler at {address}" in done.stderr
    assert "hint: check that `dask scheduler` runs there" in done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""
    project = api.load_project(cwd=folder)
    with project.open_catalog() as catalog:
        assert catalog.runs(now=datetime.now(UTC)) == []  # nothing ran, nothing recorded


def test_a_workers_address_is_named_as_not_a_scheduler(dask_cluster: DaskCluster) -> None:
    from distributed import Client  # noqa: PLC0415  (imported by these tests only)

    from partita.runner.dask_executor import connect  # noqa: PLC0415  (imports distributed)

    with Client(dask_cluster.address, timeout=10) as client:
        worker = sorted(client.nthreads())[0]
    with pytest.raises(
        UnreachableError, match=f"^{re.escape(worker)} is not a Dask scheduler: it is a Dask worker"
    ):
        connect(partita.DaskCluster(worker, connect_timeout_s=5), 1)
    client, local = connect(partita.DaskCluster(dask_cluster.address, connect_timeout_s=5), 1)
    with client:  # the scheduler's own address passes the same check
        assert local is None and len(client.nthreads()) >= 1


IN_MEMORY = """
import pandas as pd

from partita import DailyPartitions, asset

DAYS = DailyPartitions(start="2025-01-01", end="2025-01-04")


@asset(partitions=DAYS)
def letters(context) -> pd.DataFrame:
    letter = "abc"[int(context.partition_key[-1]) - 1]
    return pd.DataFrame({"day": [context.partition_key], "letter": [letter]})
"""


def test_definitions_built_in_memory_run_on_the_cluster(
    dask_cluster: DaskCluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "dask_in_memory_assets.py").write_text(IN_MEMORY, encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))  # the workers get the caller's sys.path
    module = importlib.import_module("dask_in_memory_assets")
    result = partita.materialize(
        partita.Definitions(assets=[module.letters]),
        executor="dask",
        dask_address=dask_cluster.address,
        home=tmp_path / "home",
        handle_signals=False,
    )
    assert result.status == "succeeded" and result.counts == {"succeeded": 3}
    frame = result.output_for("letters", "2025-01-03")
    assert frame.to_dict("list") == {"day": ["2025-01-03"], "letter": ["c"]}
