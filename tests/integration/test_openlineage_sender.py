"""The sender process that builds and sends a run's OpenLineage events over HTTP: the
run's process never loads the client, a killed run leaves no sender behind, Ctrl-C
ends the run with its last events still sent, and a sender that dies mid-run
neither fails the run nor warns more than once."""

from __future__ import annotations

import gc
import logging
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from partita import DailyPartitions, Definitions, asset, materialize
from partita.api.openlineage import openlineage_subscribers
from partita.api.project import as_project
from partita.events import Event, StepStarted
from partita.openlineage.sender import ProcessSink
from partita.processes import pid_alive
from tests.openlineage_support import Receiver, receiver, spec_validator

SENDER = b"partita.openlineage.sender_child"

RUN = textwrap.dedent(
    """
    import sys, time
    import pandas as pd
    from partita import DailyPartitions, Definitions, asset, materialize

    daily = DailyPartitions(start="2025-01-01", end="2025-01-02")

    @asset(partitions=daily)
    def first() -> pd.DataFrame:
        return pd.DataFrame({"n": [1]})

    @asset(partitions=daily)
    def slow(first: pd.DataFrame) -> pd.DataFrame:
        time.sleep(60)
        return first

    # the thread executor publishes a step's start while it runs
    result = materialize(Definitions(assets=[first, slow]), home=sys.argv[1], executor="thread")
    print("status", result.status, "client", "openlineage.client" in sys.modules, flush=True)
    """
)
"""A run whose second asset sleeps a minute: killed or interrupted while it sleeps."""


def senders_of(parent: int) -> list[int]:
    """The sender processes whose parent is ``parent``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            command = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if int(stat[1]) == parent and SENDER in command:
            found.append(int(entry.name))
    return found


def _wait_for(condition: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"waited {timeout} s for {what}"
        time.sleep(0.05)


def _start_run(tmp_path: Path, got: Receiver) -> tuple[subprocess.Popen[str], int]:
    """The slow run in a process of its own, once its sender has sent the slow step's START:
    the run's process and its sender's pid."""
    script = tmp_path / "run.py"
    script.write_text(RUN, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENLINEAGE")}
    env["OPENLINEAGE_URL"] = got.url
    run = subprocess.Popen(
        [sys.executable, str(script), str(tmp_path / "home")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )

    def slow_started() -> bool:
        assert run.poll() is None, run.communicate()
        return any(
            e["job"]["name"] == "slow" and e["eventType"] == "START" for e in list(got.events)
        )

    _wait_for(slow_started, 60, "the slow step's START at the receiver")
    senders = senders_of(run.pid)
    assert len(senders) == 1, senders
    return run, senders[0]


def test_a_killed_run_leaves_no_sender_behind(tmp_path: Path) -> None:
    with receiver() as got:
        run, sender = _start_run(tmp_path, got)
        run.kill()
        run.communicate()
        _wait_for(lambda: not pid_alive(sender), 5, f"the sender {sender} to exit")


def test_ctrl_c_ends_the_run_and_its_last_events_are_still_sent(tmp_path: Path) -> None:
    validator = spec_validator()
    with receiver() as got:
        run, sender = _start_run(tmp_path, got)
        run.send_signal(signal.SIGINT)  # the sender, in a session of its own, gets none
        out, err = run.communicate(timeout=30)
        _wait_for(lambda: not pid_alive(sender), 5, f"the sender {sender} to exit")
    assert "status cancelled client False" in out, out + err
    assert [e for event in got.events for e in validator.errors(event)] == []
    ends = {(e["job"]["name"], e["eventType"]) for e in got.events if e["eventType"] != "START"}
    assert ("slow", "ABORT") in ends, ends
    assert ("materialize", "ABORT") in ends, ends


daily = DailyPartitions(start="2025-01-01", end="2025-01-03")


@asset(partitions=daily)
def numbers() -> pd.DataFrame:
    return pd.DataFrame({"n": [1, 2]})


@asset(partitions=daily)
def doubled(numbers: pd.DataFrame) -> pd.DataFrame:
    return numbers * 2


class KillSender:
    """A subscriber that kills this process's sender when the first step starts."""

    def __init__(self) -> None:
        self.killed: list[int] = []

    def __call__(self, event: Event, /) -> None:
        if isinstance(event, StepStarted) and not self.killed:
            _wait_for(lambda: bool(senders_of(os.getpid())), 10, "the sender to start")
            for pid in senders_of(os.getpid()):
                os.kill(pid, signal.SIGKILL)
                self.killed.append(pid)


def test_a_sender_dying_mid_run_warns_once_and_the_run_goes_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    caplog.set_level(logging.WARNING, logger="partita.openlineage")
    for key in [k for k in os.environ if k.startswith("OPENLINEAGE")]:
        monkeypatch.delenv(key)
    killer = KillSender()
    with receiver() as got:
        monkeypatch.setenv("OPENLINEAGE_URL", got.url)
        started = time.monotonic()
        result = materialize(
            Definitions(assets=[numbers, doubled]), home=tmp_path, subscribers=[killer]
        )
        took = time.monotonic() - started
    assert result.success
    assert len(killer.killed) == 1
    assert took < 10.0
    warnings = [r.getMessage() for r in caplog.records if r.name == "partita.openlineage"]
    assert len(warnings) == 1, warnings
    assert "the sender process ended" in warnings[0] and "the run goes on" in warnings[0]


def test_a_sink_dropped_unused_ends_its_sender(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key in [k for k in os.environ if k.startswith("OPENLINEAGE")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("OPENLINEAGE_URL", "http://127.0.0.1:9")  # never called
    project = as_project(Definitions(assets=[numbers, doubled]), tmp_path)
    (sink,) = openlineage_subscribers(project)
    assert isinstance(sink, ProcessSink)
    sender = sink.pid  # started with the sink, so it starts up while the run plans
    assert sender is not None and pid_alive(sender)
    del sink
    gc.collect()
    _wait_for(lambda: not pid_alive(sender), 5, f"the sender {sender} to exit")
