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

The run's process writes a check's result and a published partition to the pipe
with the step's end that follows them; the sender reads the pipe in batches
(when it has nothing more, it waits :data:`PAUSE_S` before reading again), and
the run's end wakes it at once (``SIGUSR1``, once it has said it handles it):
waking up for each event was most of its CPU.

A dead or hanging receiver, or a sender that dies, never fails or stalls the
run: writes to the pipe never block (what the pipe cannot take yet is kept
and written later). The sender is started when the sink is (only when
OpenLineage is configured; :meth:`ProcessSink.start`, so its start-up overlaps
the run's planning), else at a run's first event; in a session of its own so
Ctrl-C in a terminal reaches the run, which ends (its last events still sent),
not the sender; and it exits as soon as its pipe closes without the run's end
(the run's process killed, or the sink dropped unused), so no sender is left
behind.

This module does not import the OpenLineage client.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pickle
import select
import signal
import struct
import subprocess
import sys
import threading
import time
import weakref
from collections.abc import Callable, Mapping
from dataclasses import fields
from functools import partial
from operator import attrgetter
from pathlib import Path
from typing import IO, Any, NamedTuple

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

__all__ = [
    "NICENESS",
    "PAUSE_S",
    "ProcessSink",
    "ReadInput",
    "event_frame",
    "frame_event",
    "read_frame",
    "write_frame",
]

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

_FIELDS: dict[type, tuple[str, ...]] = {
    kind: tuple(item.name for item in fields(kind)) for kind in _TAKEN
}
_VALUES = {kind: attrgetter(*names) for kind, names in _FIELDS.items()}
_KINDS = {kind.__name__: kind for kind in _TAKEN}
_INPUTS = _FIELDS[PartitionPublished].index("inputs")


class ReadInput(NamedTuple):
    """An input partition of a published partition, as the sender gets it (what the
    events say of a :class:`~partita.records.Input`, without the records' classes)."""

    upstream_asset: str
    upstream_partition: str | None
    upstream_data_version: str


def event_frame(event: Event) -> object:
    """What the run's process writes to the pipe for ``event``: its kind's name and its
    fields' values, a published partition's inputs as tuples (pickled in C, where a
    dataclass pickles field by field in Python, on both sides: the run's process too;
    and the sender loads no records' class: they import pyarrow)."""
    getter = _VALUES.get(type(event))
    if getter is None:  # a subclass of its own: pickled as it is
        return event
    values = getter(event)
    if type(event) is PartitionPublished and values[_INPUTS]:
        inputs = tuple(
            (i.upstream_asset, i.upstream_partition, i.upstream_data_version)
            for i in values[_INPUTS]
        )
        values = (*values[:_INPUTS], inputs, *values[_INPUTS + 1 :])
    return ("event", type(event).__name__, values)


def frame_event(frame: tuple[str, str, tuple[Any, ...]]) -> Event:
    """The event :func:`event_frame` wrote (its inputs as :class:`ReadInput`)."""
    kind = _KINDS[frame[1]]
    values = dict(zip(_FIELDS[kind], frame[2], strict=True))
    if kind is PartitionPublished:
        values["inputs"] = tuple(ReadInput(*item) for item in values["inputs"])
    event: Event = kind(**values)
    return event


_WITH_STEP_END = (CheckEvaluated, PartitionPublished)
"""Events always followed by their step's end (or the run's): written to the pipe with it."""

_HEADER = struct.Struct("!I")

_CHILD = "partita.openlineage.sender_child"

_PENDING_MAX = 64 << 20
"""Bytes of events kept for a sender that does not read (stopped, or starved) at most."""

PAUSE_S = 0.05
"""When the pipe has nothing more, how long the sender waits before reading it again:
it takes a run's events in batches, and the run's end wakes it at once."""

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
    root = str(Path(__file__).resolve().parents[2])  # the folder holding the partita package
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    return env


class _Warnings:
    """A run's one warning line, logged by this process."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.run_id = "?"
        self._warned = False
        self._lock = threading.Lock()

    def reset(self) -> None:
        """A new sender: it may warn once."""
        with self._lock:
            self._warned = False
            self.run_id = "?"

    def say(self, what: str) -> None:
        """Log ``what`` (as a sentence of this sink's run), unless the run warned already."""
        self.line(f"OpenLineage ({self.name}), run {self.run_id}: {what}; the run goes on")

    def line(self, line: str) -> None:
        """Log ``line`` as it is, unless the run warned already."""
        with self._lock:
            if self._warned:
                return
            self._warned = True
        logger.warning("%s", line)


class _Channel:
    """One sender process: the pipe to it, and what it reported (read on a thread that
    holds no reference to the sink, so a sink dropped unused is collected and its
    sender's pipe closed)."""

    def __init__(
        self, environment: dict[str, str], setup: dict[str, object], warnings: _Warnings
    ) -> None:
        self.warnings = warnings
        self.process = subprocess.Popen(
            [sys.executable, "-m", _CHILD],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=environment,
            cwd=Path.cwd(),
            start_new_session=True,  # Ctrl-C in a terminal goes to the run, not here
        )
        assert self.process.stdin is not None and self.process.stdout is not None
        self.fd = self.process.stdin.fileno()
        os.set_blocking(self.fd, False)
        self.pending = bytearray()  # written to the pipe as it takes it
        self.broken = False  # the pipe is closed: the sender is gone
        self.stopped = False  # stopped here: its output ending is expected
        self.report: tuple[int, int, str | None] | None = None
        self.finished = threading.Event()  # it reported, or its output ended
        self.ready = False  # it handles SIGUSR1 (wakes up at once to finish the run)
        self.send(setup)
        threading.Thread(
            target=_read_reports,
            args=(self, self.process.stdout.fileno()),
            name=f"partita-openlineage-{warnings.name}-reports",
            daemon=True,
        ).start()

    def send(self, value: object, *, now: bool = True) -> None:
        """Queue one frame for the pipe and write what the pipe takes now (with ``now``;
        else the frame waits for the next frame sent ``now``)."""
        if self.broken:
            return
        data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        if len(self.pending) > _PENDING_MAX:  # the sender has not read for a long while
            self.broken = True
            self.pending.clear()
            self.warnings.say(
                "the sender process does not keep up; the run's later events are not sent"
            )
            return
        self.pending += _HEADER.pack(len(data))
        self.pending += data
        if now:
            self.flush(None)

    def flush(self, deadline: float | None) -> bool:
        """Write the pending frames; without a deadline, only what the pipe takes now.
        Return whether everything was written."""
        while self.pending and not self.broken:
            try:
                written = os.write(self.fd, self.pending)
            except BlockingIOError:
                left = 0.0 if deadline is None else deadline - time.monotonic()
                if left <= 0:
                    return False
                select.select([], [self.fd], [], left)
                continue
            except OSError:  # BrokenPipeError: the sender is gone
                self.broken = True
                self.pending.clear()
                return False
            del self.pending[:written]
        return not self.pending and not self.broken

    def finish(self, deadline: float) -> tuple[int, int, str | None] | None:
        """Write what is left and wait for the sender's report, until ``deadline``."""
        if self.flush(deadline):
            if self.ready:  # it reads the pipe in batches: the run's end is now
                with contextlib.suppress(OSError):
                    os.kill(self.process.pid, signal.SIGUSR1)
            self.finished.wait(max(0.0, deadline - time.monotonic()))
        return self.report

    def stop(self) -> None:
        """End the sender: close its pipe (it exits), kill it if it does not."""
        if self.stopped:
            return
        self.stopped = True
        self.pending.clear()
        process = self.process
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


def _read_reports(channel: _Channel, fd: int) -> None:
    """The sender's reports (its warning, its counts at the run's end)."""
    try:
        while True:
            try:
                report = read_frame(partial(os.read, fd))
            except (OSError, EOFError, pickle.UnpicklingError):
                report = None
            if report is None:
                break
            if report[0] == "ready":
                channel.ready = True
            elif report[0] == "warn":
                channel.warnings.line(report[1])
            elif report[0] == "done":
                channel.report = (report[1], report[2], report[3])
                break
    finally:
        if channel.report is None and not channel.stopped:
            try:
                status: int | None = channel.process.wait(1.0)
            except subprocess.TimeoutExpired:
                status = None
            channel.warnings.say(
                f"the sender process ended (exit status {status}); "
                "the run's later events are not sent"
            )
        channel.finished.set()


class ProcessSink:
    """Hands a run's events to a sender process (a :class:`~partita.events.Subscriber`).

    Args:
        settings: the project's OpenLineage settings; the sender makes the client
            from them as :func:`~partita.openlineage.config.configured_client` does,
            with this process's environment as it is when the sink is made, in the
            current folder.
        namespace: the jobs' namespace.
        lineage: the assets' lineage, from :func:`~partita.openlineage.lineage.portable_lineage`.
        source_code: per asset, returns its code; called here the first time an
            asset's step starts in a run, and the text handed to the sender.
        name: says which sink a log line is about.
        drain_s: at the run's end, how long to wait for the sender at most.
        stuck_s: at the run's end, the sender stops waiting once one event has taken this long.
        pause_s: when the pipe has nothing more, how long the sender waits before reading
            it again (it takes the events in batches; the run's end wakes it at once).

    Attributes:
        sent / unsent / error: as the sender's sink reported them at the run's end
            (see :class:`~partita.openlineage.sink.OpenLineageSink`).
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
        pause_s: float = PAUSE_S,
    ) -> None:
        self.settings = settings
        self.namespace = namespace
        self.lineage = lineage
        self.source_code = dict(source_code)
        self.name = name
        self.drain_s = drain_s
        self.stuck_s = stuck_s
        self.pause_s = pause_s
        self.sent = 0
        self.unsent = 0
        self.error: str | None = None
        # the environment as it is now, when the decision to send was made: the sender
        # reads the client's configuration from it
        self._environment = _child_environment()
        self._lock = threading.Lock()
        self._warnings = _Warnings(name)
        self._channel: _Channel | None = None
        self._active = False  # in a run (its sender started, or failed to)
        self._coded: set[str] = set()

    @property
    def pid(self) -> int | None:
        """The process id of the sender started for the current (or next) run."""
        return None if self._channel is None else self._channel.process.pid

    def start(self) -> None:
        """Start the sender now, so its start-up (an interpreter, the client's import)
        overlaps what the caller does before the run's first event."""
        with self._lock:
            if self._channel is None:
                self._open()

    def __call__(self, event: Event, /) -> None:
        """Take one event of the run (from the event bus's thread)."""
        if not isinstance(event, _TAKEN):
            return
        with self._lock:
            if not self._active:
                self._active = True  # one sender a run, even when it could not start
                self._coded.clear()
                if self._channel is None:
                    self._open()
                self._warnings.run_id = event.run_id
            channel = self._channel
            if channel is None:  # it could not start (said once)
                self._active = not isinstance(event, RunFinished)
                return
            if isinstance(event, StepStarted) and event.asset not in self._coded:
                self._coded.add(event.asset)
                code = self.source_code.get(event.asset)
                text = None if code is None else code()
                if text is not None:
                    channel.send(("code", event.asset, text), now=False)
            # a check's result and a published partition go with the step's end, which
            # follows them at once: one write to the pipe (one wake-up of the sender)
            channel.send(event_frame(event), now=not isinstance(event, _WITH_STEP_END))
            if isinstance(event, RunFinished):
                self._active = False
                self._channel = None
                self._finish(channel)

    def _open(self) -> None:
        self._warnings.reset()
        setup: dict[str, object] = {
            "settings": self.settings,
            "namespace": self.namespace,
            "lineage": self.lineage,
            "name": self.name,
            "drain_s": max(0.0, self.drain_s - _GRACE_S),
            "stuck_s": self.stuck_s,
            "niceness": NICENESS,
            "pause_s": self.pause_s,
        }
        try:
            channel = _Channel(self._environment, setup, self._warnings)
        except OSError as exc:
            self._warnings.say(f"could not start the sender process ({type(exc).__name__}: {exc})")
            return
        self._channel = channel
        weakref.finalize(self, channel.stop)  # a sink dropped unused: its sender ends

    def _finish(self, channel: _Channel) -> None:
        """At the run's end: wait for the sender (bounded), then stop it."""
        report = channel.finish(time.monotonic() + self.drain_s)
        if report is not None:
            self.sent, self.unsent, self.error = report
        elif not channel.broken:
            self._warnings.say(
                f"the sender did not send the run's last events within {self.drain_s:g} s; "
                "they are not sent"
            )
        channel.stop()
