"""`partita daemon` as a user runs it: a file sensor across a restart and a kill -9,
one daemon per project, SIGTERM, `partita ticks` and `partita schedules`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from partita.api import history, load_project
from partita.automation import list_ticks
from partita.records import TickKind
from tests.conftest import run_cli, write_project

PROJECT = """
import time
from pathlib import Path

import pandas as pd
from partita.assets import asset
from partita.definitions import Definitions
from partita.partitions import DynamicPartitions
from partita.schedules import Schedule
from partita.sensors import FileSensor

FILES = DynamicPartitions("files")
HERE = Path(__file__).parent


@asset(partitions=FILES)
def landed(context) -> pd.DataFrame:
    key = str(context.partition_key)
    text = (HERE / "landing" / f"{key}.csv").read_text()
    with open(HERE / "started.log", "a") as log:
        log.write(key + "\\n")
    if text.startswith("slow"):
        time.sleep(30)
    return pd.DataFrame({"line": text.splitlines()})


defs = Definitions(
    assets=[landed],
    sensors=[
        FileSensor(
            "landing", "landing", selection="landed", pattern="*.csv", partitions="files",
            every="0.2s",
        )
    ],
    schedules=[Schedule("0 2 * * *", timezone="Europe/Berlin", name="nightly")],
)
"""


class _Daemon:
    """A `partita daemon` subprocess whose output lines are collected as they come.

    The test watches the daemon's output (and a file the asset writes), as a
    user would, instead of opening the catalog while runs write to it.
    """

    def __init__(self, folder: Path) -> None:
        env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1", "PYTHONUNBUFFERED": "1"}
        exe = str(Path(sys.executable).with_name("partita"))
        self.process = subprocess.Popen(
            [exe, "daemon", "--executor", "thread", "--quiet"],
            cwd=folder,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line)

    def wait_for(self, condition: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline or self.process.poll() is not None:
                self.process.kill()
                self.process.wait()
                assert self.process.stderr is not None
                err = self.process.stderr.read()
                raise AssertionError(f"waiting for {what}:\n{''.join(self.lines)}\n{err}")
            time.sleep(0.05)

    def succeeded(self) -> int:
        return sum("sensor landing: succeeded" in line for line in self.lines)

    def stop(self) -> str:
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=60)
        self._reader.join(timeout=10)
        assert self.process.stderr is not None
        err = self.process.stderr.read()
        assert self.process.returncode == 0, err
        return "".join(self.lines)


def _built(folder: Path) -> Counter[str]:
    project = load_project(file=folder / "defs.py")
    return Counter(str(m.partition) for m in history(project, "landed", limit=1000))


def _land(folder: Path, name: str, text: str = "x\n") -> None:
    landing = folder / "landing"
    landing.mkdir(exist_ok=True)
    (landing / f"{name}.tmp").write_text(text, encoding="utf-8")
    (landing / f"{name}.tmp").rename(landing / f"{name}.csv")  # arrives whole


def test_file_sensor_builds_each_file_once_across_restart_and_kill_9(tmp_path: Path) -> None:
    folder = write_project(tmp_path / "p", PROJECT)
    _land(folder, "a")
    _land(folder, "b")
    daemon = _Daemon(folder)
    daemon.wait_for(lambda: daemon.succeeded() == 1, "a and b to be built")
    _land(folder, "c", "slow\n")
    started = folder / "started.log"
    daemon.wait_for(lambda: "c" in started.read_text().split(), "c to start")
    daemon.process.kill()  # kill -9 in the middle of c's run
    daemon.process.wait(timeout=30)
    (folder / "landing" / "c.csv").write_text("fast now\n", encoding="utf-8")
    _land(folder, "d")
    daemon = _Daemon(folder)  # takes over the dead daemon's lock at once
    daemon.wait_for(lambda: daemon.succeeded() == 1, "c and d to be built")
    time.sleep(0.5)  # a few more evaluations: nothing may be built again
    output = daemon.stop()
    assert "terminated, stopped" in output
    # c and d in one run; c's key was added before the kill
    assert "2 new files; 1 keys added to files" in output
    assert dict(_built(folder)) == {"a": 1, "b": 1, "c": 1, "d": 1}
    project = load_project(file=folder / "defs.py")
    covered = Counter(
        name
        for tick in list_ticks(project, kind=TickKind.SENSOR, limit=10_000)
        for name in tick.covered
    )
    assert covered == {"a.csv": 1, "b.csv": 1, "c.csv": 1, "d.csv": 1}


def test_two_daemons_cannot_run_at_once(tmp_path: Path) -> None:
    folder = write_project(tmp_path / "p", PROJECT)
    first = _Daemon(folder)
    first.wait_for(lambda: any("holding the lock" in line for line in first.lines), "the lock")
    second = run_cli(["daemon"], folder)
    first.stop()
    assert second.returncode == 1
    assert f"another daemon runs for this project: pid {first.process.pid} on " in second.stderr
    assert "since" in second.stderr
    listed = json.loads(run_cli(["ticks", "--json"], folder, check=True).stdout)
    assert {tick["name"] for tick in listed} == {"nightly", "landing"}
    nightly = [tick for tick in listed if tick["name"] == "nightly"]
    assert nightly[0]["detail"].startswith("started; first tick")
    schedules = json.loads(run_cli(["schedules", "--json"], folder, check=True).stdout)
    assert schedules[0]["name"] == "nightly"
    assert all(tick.endswith(("+01:00", "+02:00")) for tick in schedules[0]["next_ticks"])
    assert all("T02:00:00" in tick for tick in schedules[0]["next_ticks"])
