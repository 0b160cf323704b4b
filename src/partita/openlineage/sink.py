"""The event subscriber that emits a run's OpenLineage events.

:class:`OpenLineageSink` is one more :class:`~partita.events.Subscriber`: the
event bus calls it on a thread of its own, so building and sending events
never slows the run's steps. Per partition built it sends a START when the
step starts and one terminal event when it ends (COMPLETE, FAIL, or ABORT
when it is cancelled), plus START and a terminal event of the Partita run.

Sending never fails or stalls the run. Events are sent by a daemon thread of
the sink's own, so a slow transport holds up neither the steps nor the other
subscribers. The first transport error of a run is logged once (a warning on
the ``partita.openlineage`` logger) and the run's later events are not sent.
At the run's end the sink waits for what is queued, but never longer than
``drain_s``, and not at all once the transport has failed or has been
``stuck_s`` on one event (a receiver that accepts connections and never
answers): what is left is counted and said in that one warning.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

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
from partita.openlineage.steps import CheckResult, ParentRun, Written

if TYPE_CHECKING:  # the sender process's plain path imports neither the client nor pyarrow
    from partita.openlineage.plain import PlainEventBuilder
    from partita.openlineage.runs import EventBuilder

__all__ = ["Emitter", "OpenLineageSink"]

logger = logging.getLogger("partita.openlineage")


class Emitter(Protocol):
    """Where events go: an ``openlineage.client.OpenLineageClient`` will do."""

    def emit(self, event: Any) -> None:  # pragma: no cover - a protocol
        """Send one event."""
        ...

    def close(self, timeout: float = -1.0) -> bool:  # pragma: no cover - a protocol
        """Flush and release the transport."""
        ...


class OpenLineageSink:
    """Emits the OpenLineage events of one run (a :class:`~partita.events.Subscriber`).

    Args:
        client: where the events go (an ``OpenLineageClient``).
        builder: makes the events (:class:`~partita.openlineage.runs.EventBuilder`, or
            :class:`~partita.openlineage.plain.PlainEventBuilder` for an emitter of plain dicts).
        name: says which sink a log line is about (``file``, ``configured``).
        drain_s: at the run's end, how long to wait for queued events at most
            (below the event bus's flush timeout, so the bus never abandons the sink).
        stuck_s: at the run's end, stop waiting once one event has taken this long.
        on_warning: takes the run's one warning line instead of the ``partita.openlineage``
            logger (the sender process hands it to the run's process this way).

    Attributes:
        sent: events sent.
        unsent: events not sent because the transport failed (or failed earlier in the run).
        error: the run's first transport error (``Type: message``).
    """

    def __init__(
        self,
        client: Emitter,
        builder: EventBuilder | PlainEventBuilder,
        *,
        name: str = "openlineage",
        drain_s: float = 4.0,
        stuck_s: float = 2.0,
        on_warning: Callable[[str], None] | None = None,
    ) -> None:
        self.client = client
        self.builder = builder
        self.name = name
        self.drain_s = drain_s
        self.stuck_s = stuck_s
        self.on_warning = on_warning
        self.sent = 0
        self.unsent = 0
        self.error: str | None = None
        self._warned = False
        self._outbox: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._queued = 0  # events put in the outbox and not yet sent or dropped
        self._busy_since: float | None = None  # when the sender started the current event
        self._cond = threading.Condition()
        self._sender: threading.Thread | None = None
        self._parent: ParentRun | None = None
        self._steps: dict[tuple[str, str | None], tuple[str | None, ...]] = {}
        self._started: set[tuple[str, str | None]] = set()
        self._written: dict[tuple[str, str | None], Written] = {}
        self._checks: dict[tuple[str, str | None], list[CheckResult]] = {}
        self._lock = threading.Lock()

    def __call__(self, event: Event, /) -> None:
        """Take one event of the run (from the event bus's thread)."""
        with self._lock:
            self._take(event)

    # -- dispatch ---------------------------------------------------------------------

    def _parent_of(self, event: Event) -> ParentRun:
        if self._parent is None or self._parent.run_id != event.run_id:
            # the run's start was missed (a sink added late): the event's time stands in
            self._parent = ParentRun(event.run_id, event.at)
        return self._parent

    def _take(self, event: Event) -> None:
        if isinstance(event, RunStarted):
            self._parent = ParentRun(event.run_id, event.at)
            with self._cond:
                self.error = None  # a sink that serves several runs logs once per run
                self._warned = False
            self._emit(self.builder.run_started(self._parent, event.at))
        elif isinstance(event, StepStarted):
            self._step_started(event)
        elif isinstance(event, CheckEvaluated):
            if not event.source:
                self._checks.setdefault((event.asset, event.partition), []).append(
                    CheckResult(
                        name=event.check_name,
                        passed=event.passed,
                        severity=event.severity,
                        message=event.message,
                        failing_rows=event.failing_rows,
                        total_rows=event.total_rows,
                    )
                )
        elif isinstance(event, PartitionPublished):
            self._written[(event.asset, event.partition_key)] = Written(
                data_version=event.data_version,
                rows=event.rows,
                bytes=event.bytes,
                schema=event.schema,
                inputs=event.inputs,
            )
        elif isinstance(event, StepRetried):
            # the next attempt is checked afresh: only its results go in the terminal event
            for key in self._steps.get((event.asset, event.partition), (event.partition,)):
                self._checks.pop((event.asset, key), None)
        elif isinstance(event, StepSucceeded | StepFailed | StepCancelled):
            self._step_ended(event)
        elif isinstance(event, RunFinished):
            self._run_finished(event)

    def _step_started(self, event: StepStarted) -> None:
        parent = self._parent_of(event)
        keys: tuple[str | None, ...] = event.partitions or (event.partition,)
        self._steps[(event.asset, event.partition)] = keys
        for key in keys:
            if (event.asset, key) in self._started:
                continue  # a retry: the partition's OpenLineage run is already started
            self._started.add((event.asset, key))
            self._emit(self.builder.step_started(parent, event.asset, key, event.at))

    def _step_ended(self, event: StepSucceeded | StepFailed | StepCancelled) -> None:
        parent = self._parent_of(event)
        keys = self._steps.pop((event.asset, event.partition), (event.partition,))
        for key in keys:
            item = (event.asset, key)
            if item not in self._started:
                continue  # cancelled before it started: no OpenLineage run
            self._started.discard(item)
            checks = self._checks.pop(item, [])
            written = self._written.pop(item, None)
            if isinstance(event, StepSucceeded):
                made = self.builder.step_completed(
                    parent, event.asset, key, event.at, written, checks
                )
            elif isinstance(event, StepFailed):
                made = self.builder.step_failed(
                    parent, event.asset, key, event.at, event.error, checks
                )
            else:
                made = self.builder.step_aborted(parent, event.asset, key, event.at)
            self._emit(made)

    def _run_finished(self, event: RunFinished) -> None:
        parent = self._parent_of(event)
        for asset, key in sorted(self._started, key=lambda item: (item[0], item[1] or "")):
            self._emit(self.builder.step_aborted(parent, asset, key, event.at))
        self._started.clear()
        self._emit(self.builder.run_finished(parent, event.at, event.status, event.error))
        left = self._drain()
        if left:
            self._warn(
                f"the receiver did not take the run's last {left} events in time "
                f"(it took over {self.stuck_s:g} s on one, or {self.drain_s:g} s in all)"
            )
        else:
            try:
                self.client.close(0)
            except Exception:
                logger.debug("OpenLineage %s: closing failed", self.name, exc_info=True)

    # -- sending (on the sink's own thread) ---------------------------------------------

    def _emit(self, event: Any) -> None:
        with self._cond:
            if self.error is not None:
                self.unsent += 1
                return
            self._queued += 1
            if self._sender is None:
                self._sender = threading.Thread(
                    target=self._send_all, name=f"partita-openlineage-{self.name}", daemon=True
                )
                self._sender.start()
        self._outbox.put(event)

    def _send_all(self) -> None:
        while True:
            event = self._outbox.get()
            with self._cond:
                failed = self.error is not None
                self._busy_since = None if failed else time.monotonic()
            error: str | None = None
            if not failed:
                try:
                    self.client.emit(event)
                except Exception as exc:
                    error = f"{type(exc).__name__}: {exc}"
            with self._cond:
                self._busy_since = None
                self._queued -= 1
                if failed or error is not None:
                    self.unsent += 1
                else:
                    self.sent += 1
                if error is not None and self.error is None:
                    self.error = error
                self._cond.notify_all()
            if error is not None:
                self._warn(f"could not send an event ({error}); its later events are not sent")

    def _drain(self) -> int:
        """Wait for the queued events (see the module's text); return how many are left."""
        deadline = time.monotonic() + self.drain_s
        with self._cond:
            while self._queued and self.error is None:
                now = time.monotonic()
                if now >= deadline:
                    break
                if self._busy_since is not None and now - self._busy_since >= self.stuck_s:
                    break
                self._cond.wait(min(0.05, deadline - now))
            return self._queued if self.error is None else 0

    def _warn(self, what: str) -> None:
        with self._cond:
            if self._warned:
                return
            self._warned = True
        run_id = self._parent.run_id if self._parent else "?"
        line = f"OpenLineage ({self.name}), run {run_id}: {what}; the run goes on"
        if self.on_warning is not None:
            self.on_warning(line)
        else:
            logger.warning("%s", line)

    def flush(self, timeout_s: float = 10.0) -> bool:
        """Wait until every queued event is sent or dropped (tests, benchmarks); return
        whether that happened within ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while self._queued:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
        return True
