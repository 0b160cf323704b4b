"""A run's OpenLineage events built and sent by a process of their own.

Building a step's two events with the client's classes, serializing them and
posting them costs a few milliseconds of CPU; in the run's own process that
CPU is taken under the coordinator's GIL, beside the coordinator, the committer
and the event bus. :class:`ProcessSink` is the event subscriber that moves all
of it to a **sender process** (``python -m partita.openlineage.sender_child``):
the run's process only pickles the step events it is handed (small frozen
records) and writes them to a pipe; the sender builds, serializes and sends
them with the configured client, through an :class:`~partita.openlineage.sink.OpenLineageSink`
of its own, at a lower CPU priority than the run.

What the run's process keeps:

- the once-per-run warning: the sender hands its one warning line back, and
  it is logged here, on the ``partita.openlineage`` logger;
- the bounded wait at the run's end: after the run's last event, at most
  ``drain_s`` (the sender itself stops waiting for a receiver ``stuck_s`` on
  one event, or failed); a sender that has not finished by then is killed.

A dead or hanging receiver, or a sender that dies, never fails or stalls the
run: writes to the pipe never block (what the pipe cannot take yet is kept
and written later). The sender is started on the first event of a run (only
when OpenLineage is configured), in a session of its own so Ctrl-C in a
terminal reaches the run, which ends (its last events still sent), not the
sender; and it exits as soon as its pipe closes without the run's end, so a
killed run leaves no sender behind.

This module does not import the OpenLineage client.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pickle
import select
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from functools import partial
from pathlib import Path
from typing import IO, Any

import partita
from partita.events import (
    CheckEvaluated,
    Event,
    PartitionPublished,
    RunFinished,
    RunStarted,
    StepCancelled,
    StepFailed,
    StepRetried,
    StepStarted,
    StepSucceeded,
)
from partita.openlineage.config import OpenLineageSettings

__all__ = ["NICENESS", "ProcessSink", "read_frame", "write_frame"]

logger = logging.getLogger("partita.openlineage")

NICENESS = 10
"""How much lower the sender's CPU priority is than the run's (``nice``): its work
waits for the CPU the run leaves idle, so it never slows the run's steps."""

_TAKEN = (
    RunStarted,
    StepStarted,
    CheckEvaluated,
    PartitionPublished,
    StepRetried,
    StepSucceeded,
    StepFailed,
    StepCancelled,
    RunFinished,
)
"""The events the sender's sink makes OpenLineage events of (the others are not sent)."""

_HEADER = struct.Struct("!I")

_CHILD = "partita.openlineage.sender_child"

_GRACE_S = 0.25
"""How much sooner than the run's process the sender stops waiting at the run's end,
so its report arrives before the run's process gives up on it."""


def write_frame(stream: IO[bytes], value: object) -> None:
    """Write ``value`` pickled, after its length (blocking; the sender's side)."""
    data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_HEADER.pack(len(data)) + data)
    stream.flush()


def _read_exactly(read: Callable[[int], bytes], size: int) -> bytes | None:
    chunks: list[bytes] = []
    while size:
        chunk = read(size)
        if not chunk:
            return None
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def read_frame(read: Callable[[int], bytes]) -> Any:
    """The next value :func:`write_frame` (or :class:`ProcessSink`) wrote, read with
    ``read`` (``os.read`` of a descriptor, or a binary stream's ``read``), or ``None``
    at the end of the stream."""
    header = _read_exactly(read, _HEADER.size)
    if header is None:
        return None
    data = _read_exactly(read, _HEADER.unpack(header)[0])
    return None if data is None else pickle.loads(data)


def _child_environment() -> dict[str, str]:
    """The environment, with Partita's own folder first on the child's import path."""
    env = dict(os.environ)
    root = str(Path(partita.__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    return env


class ProcessSink:
    """Hands a run's events to a sender process (a :class:`~partita.events.Subscriber`).

    Args:
        settings: the project's OpenLineage settings; the sender makes the client
            from them as :func:`~partita.openlineage.config.configured_client` does,
            with this process's environment and current folder.
        namespace: the jobs' namespace.
        lineage: the assets' lineage, from :func:`~partita.openlineage.lineage.portable_lineage`.
        source_code: per asset, returns its code; called here the first time an
            asset's step starts in a run, and the text handed to the sender.
        name: says which sink a log line is about.
        drain_s: at the run's end, how long to wait for the sender at most.
        stuck_s: at the run's end, the sender stops waiting once one event has taken this long.

    Attributes:
        sent / unsent / error: as the sender's sink reported them at the run's end
            (see :class:`~partita.openlineage.sink.OpenLineageSink`).
        pid: the sender process of the current run (``None`` when none runs).
    """

    def __init__(
        self,
        settings: OpenLineageSettings,
        namespace: str,
        lineage: bytes,
        source_code: Mapping[str, Callable[[], str | None]],
        *,
        name: str = "configured",
        drain_s: float = 4.0,
        stuck_s: float = 2.0,
    ) -> None:
        self.settings = settings
        self.namespace = namespace
        self.lineage = lineage
        self.source_code = dict(source_code)
        self.name = name
        self.drain_s = drain_s
        self.stuck_s = stuck_s
        self.sent = 0
        self.unsent = 0
        self.error: str | None = None
        self._lock = threading.Lock()
        self._process: subprocess.Popen[bytes] | None = None
        self._fd = -1
        self._pending = bytearray()  # written to the pipe as it takes it
        self._broken = False  # the pipe is closed: the sender is gone
        self._coded: set[str] = set()
        self._run_id = "?"
        self._warned = False
        self._warn_lock = threading.Lock()
        self._stopping = False  # the run's end: the sender's output ending is expected
        self._report: tuple[int, int, str | None] | None = None
        self._finished = threading.Event()  # the sender reported, or its output ended

    @property
    def pid(self) -> int | None:
        """The current sender's process id."""
        return None if self._process is None else self._process.pid

    def __call__(self, event: Event, /) -> None:
        """Take one event of the run (from the event bus's thread)."""
        if not isinstance(event, _TAKEN):
            return
        with self._lock:
            if self._process is None:
                self._start(event.run_id)
            if isinstance(event, StepStarted) and event.asset not in self._coded:
                self._coded.add(event.asset)
                code = self.source_code.get(event.asset)
                text = None if code is None else code()
                if text is not None:
                    self._send(("code", event.asset, text))
            self._send(event)
            if isinstance(event, RunFinished):
                self._finish()

    # -- the sender process ------------------------------------------------------------

    def _start(self, run_id: str) -> None:
        self._run_id = run_id
        self._warned = False
        self._stopping = False
        self._report = None
        self._finished.clear()
        self._coded.clear()
        self._pending.clear()
        self._broken = False
        try:
            process = subprocess.Popen(
                [sys.executable, "-m", _CHILD],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                env=_child_environment(),
                start_new_session=True,  # Ctrl-C in a terminal goes to the run, not here
            )
        except OSError as exc:
            self._broken = True
            self._warn(f"could not start the sender process ({type(exc).__name__}: {exc})")
            return
        assert process.stdin is not None and process.stdout is not None
        self._process = process
        self._fd = process.stdin.fileno()
        os.set_blocking(self._fd, False)
        self._send(
            {
                "settings": self.settings,
                "namespace": self.namespace,
                "lineage": self.lineage,
                "name": self.name,
                "drain_s": max(0.0, self.drain_s - _GRACE_S),
                "stuck_s": self.stuck_s,
                "niceness": NICENESS,
            }
        )
        threading.Thread(
            target=self._read_reports,
            args=(process, process.stdout.fileno()),
            name=f"partita-openlineage-{self.name}-reports",
            daemon=True,
        ).start()

    def _send(self, value: object) -> None:
        """Queue one frame for the pipe and write what the pipe takes now."""
        if self._broken or self._process is None:
            return
        data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        self._pending += _HEADER.pack(len(data))
        self._pending += data
        self._flush(None)

    def _flush(self, deadline: float | None) -> bool:
        """Write the pending frames; without a deadline, only what the pipe takes now.
        Return whether everything was written."""
        while self._pending and not self._broken:
            try:
                written = os.write(self._fd, self._pending)
            except BlockingIOError:
                left = 0.0 if deadline is None else deadline - time.monotonic()
                if left <= 0:
                    return False
                select.select([], [self._fd], [], left)
                continue
            except OSError:  # BrokenPipeError: the sender is gone
                self._broken = True
                self._pending.clear()
                return False
            del self._pending[:written]
        return not self._pending and not self._broken

    def _read_reports(self, process: subprocess.Popen[bytes], fd: int) -> None:
        """The sender's reports (its warning, its counts at the run's end), on a thread."""
        try:
            while True:
                try:
                    report = read_frame(partial(os.read, fd))
                except (OSError, EOFError, pickle.UnpicklingError):
                    report = None
                if report is None:
                    break
                if report[0] == "warn":
                    self._warn_line(report[1])
                elif report[0] == "done":
                    self._report = (report[1], report[2], report[3])
                    break
        finally:
            if self._report is None and not self._stopping:
                try:
                    status: int | None = process.wait(1.0)
                except subprocess.TimeoutExpired:
                    status = None
                self._warn(
                    f"the sender process ended (exit status {status}); "
                    "the run's later events are not sent"
                )
            self._finished.set()

    def _finish(self) -> None:
        """At the run's end: wait for the sender (bounded), then stop it."""
        process = self._process
        if process is None:
            return
        deadline = time.monotonic() + self.drain_s
        if self._flush(deadline):
            self._finished.wait(max(0.0, deadline - time.monotonic()))
        report = self._report
        if report is not None:
            self.sent, self.unsent, self.error = report
        elif not self._broken:
            self._warn(
                f"the sender did not send the run's last events within {self.drain_s:g} s; "
                "they are not sent"
            )
        self._stop(process)

    def _stop(self, process: subprocess.Popen[bytes]) -> None:
        self._stopping = True
        self._process = None
        self._fd = -1
        self._pending.clear()
        if process.stdin is not None:
            with contextlib.suppress(OSError):
                process.stdin.close()  # a sender still reading ends here
        try:
            process.wait(0.5)  # it exits once it has reported
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()

    def _warn(self, what: str) -> None:
        self._warn_line(f"OpenLineage ({self.name}), run {self._run_id}: {what}; the run goes on")

    def _warn_line(self, line: str) -> None:
        with self._warn_lock:
            if self._warned:
                return
            self._warned = True
        logger.warning("%s", line)
