"""Run and step events, the subscriber protocol, and the bus that delivers them.

The runner tells what happens during a run as frozen :class:`Event` values:
:class:`RunStarted`, :class:`StepStarted`, :class:`CheckEvaluated`,
:class:`PartitionPublished`, :class:`StepSucceeded`, :class:`StepRetried`,
:class:`StepFailed`, :class:`StepSkipped`, :class:`StepWaiting`,
:class:`StepCancelled`, :class:`RunCancelling` and :class:`RunFinished`.
Side concerns (the terminal display, OpenLineage, alerts, the web page)
subscribe with a :class:`Subscriber`: any callable taking one event.

The catalog is not a subscriber. It is the system of record, so the runner
writes each record first (synchronously, in order; a failed write fails the
run) and only then publishes the event: an event always describes something
the catalog already holds.

Delivery (:class:`EventBus`): each subscriber has a bounded queue drained by
its own daemon thread, so publishing never waits for a subscriber.

- Per subscriber, events arrive in the order they were published.
- A subscriber that raises is logged once (a warning with the traceback, on the
  ``partita.events`` logger) and keeps receiving later events; the run goes on.
- When a subscriber's queue is full, new events for it are dropped and counted,
  never blocking the runner.
- At run end :meth:`EventBus.close` waits for the queues to drain, at most
  ``flush_timeout_s`` in all; what is still undelivered is abandoned and
  counted. The :class:`DeliveryReport` says, per subscriber, what was
  dropped, abandoned or raised.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:  # annotations only: the OpenLineage sender process unpickles events
    # without loading the records (pyarrow)
    from partita.records import CheckRecord, Input

__all__ = [
    "CheckEvaluated",
    "DeliveryReport",
    "Event",
    "EventBus",
    "PartitionPublished",
    "RunCancelling",
    "RunFinished",
    "RunStarted",
    "StepCancelled",
    "StepEvent",
    "StepFailed",
    "StepRetried",
    "StepSkipped",
    "StepStarted",
    "StepSucceeded",
    "StepWaiting",
    "Subscriber",
    "SubscriberReport",
]

logger = logging.getLogger("partita.events")


# -- the events ---------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    """Something that happened in a run.

    Attributes:
        run_id: the run.
        at: when it happened (the run's clock, UTC).
    """

    run_id: str
    at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class RunStarted(Event):
    """The run was recorded and starts ``tasks`` tasks.

    Attributes:
        tasks: how many tasks the run has (one per partition, one per range of a batch).
        selection / partitions: what was asked for, as recorded on the run.
    """

    tasks: int
    selection: tuple[str, ...] = ()
    partitions: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class RunCancelling(Event):
    """The run is being cancelled: no new task starts, running ones are stopped."""

    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class RunFinished(Event):
    """The run ended and its status is recorded.

    Attributes:
        status: ``succeeded``, ``failed`` or ``cancelled``.
        error: why it failed or was cancelled.
        started_at: when it started.
    """

    status: str
    started_at: datetime
    error: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class StepEvent(Event):
    """Something that happened to one task (a step) of a run.

    Attributes:
        asset: the asset key.
        partition: the task's partition: ``None`` when unpartitioned, a key, or
            ``first..last`` for a batch.
        attempt: the attempt it concerns (1 for the first; for a skip or a
            cancellation before starting, the attempt it would have been).
    """

    asset: str
    partition: str | None
    attempt: int

    @property
    def label(self) -> str:
        """``asset`` or ``asset[partition]``."""
        return self.asset if self.partition is None else f"{self.asset}[{self.partition}]"


@dataclass(frozen=True, slots=True, kw_only=True)
class StepStarted(StepEvent):
    """An attempt was sent to the executor.

    Attributes:
        partitions: the partition keys it builds (more than one for a batch;
            empty when unpartitioned).
    """

    partitions: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class CheckEvaluated(StepEvent):
    """A data-quality check ran: on an attempt's staged output, or on a source partition.

    ``partition`` is the partition checked (one key, even in a batch). For a
    source, ``attempt`` is 0 (sources are not built).

    Attributes:
        check_name: the check.
        passed: whether it passed.
        severity: ``error`` (a failure blocks publication) or ``warn``.
        message: what it found.
        source: whether the asset is a source (checked on its published data).
        failing_rows / total_rows: counts, when the check reports them.
    """

    check_name: str
    passed: bool
    severity: str
    message: str = ""
    source: bool = False
    failing_rows: int | None = None
    total_rows: int | None = None

    @property
    def blocking(self) -> bool:
        """Whether this result blocks publication (a failed ``error`` check)."""
        return not self.passed and self.severity == "error"

    @classmethod
    def of(
        cls, record: CheckRecord, *, run_id: str, at: datetime, attempt: int, source: bool = False
    ) -> CheckEvaluated:
        """The event of a check's recorded result."""
        return cls(
            run_id=run_id,
            at=at,
            asset=record.asset,
            partition=record.partition,
            attempt=attempt,
            check_name=record.check_name,
            passed=record.passed,
            severity=record.severity,
            message=record.message,
            source=source,
            failing_rows=record.failing_rows,
            total_rows=record.total_rows,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class PartitionPublished(StepEvent):
    """A partition's new data was published and its materialization recorded.

    Attributes:
        partition_key: the partition written (``None`` when unpartitioned);
            ``partition`` stays the task's label.
        materialization_id: the catalog's id of the materialization.
        data_version: the content hash of what was written.
        rows / bytes: sizes, when the store reports them.
        location: where the data is (a path or a table), when known.
        schema: the written columns as JSON text (a list of ``{"name", "type"}``),
            when the store reports them.
        inputs: the exact upstream partitions this partition was built from.
    """

    partition_key: str | None
    materialization_id: int
    data_version: str
    rows: int | None = None
    bytes: int | None = None
    location: str | None = None
    schema: str | None = None
    inputs: tuple[Input, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class StepSucceeded(StepEvent):
    """An attempt succeeded (its partitions are published).

    Attributes:
        started_at: when the attempt started.
        duration_s: seconds spent in the worker.
        warnings: ``check: message`` of each ``warn`` check that failed.
    """

    started_at: datetime
    duration_s: float
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class StepRetried(StepEvent):
    """An attempt failed and the task will be tried again.

    Attributes:
        error: the failed attempt's error (first line first).
        delay_s: seconds before the next attempt.
        max_attempts: the retry policy's limit.
    """

    error: str
    delay_s: float
    max_attempts: int


@dataclass(frozen=True, slots=True, kw_only=True)
class StepFailed(StepEvent):
    """The last attempt failed for good; the task's dependents are skipped.

    Attributes:
        status: ``failed`` (an error, or a blocking check) or ``timed_out``.
        error: the error (first line first, then the user's traceback).
        started_at: when the attempt started.
        duration_s: seconds spent in the worker.
    """

    status: str
    error: str
    started_at: datetime
    duration_s: float


@dataclass(frozen=True, slots=True, kw_only=True)
class StepSkipped(StepEvent):
    """The task was not run (inputs unchanged, upstream failed, built by another run...)."""

    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class StepWaiting(StepEvent):
    """The task waits for a partition another live run is building, or for a slot of
    its concurrency pool.

    Attributes:
        holder: the run building the partition; for a pool, the steps holding its slots.
        pool: the pool whose slot the task waits for (``None``: it waits for a partition).
    """

    holder: str
    pool: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class StepCancelled(StepEvent):
    """The task was cancelled (stopped while running, or before it started)."""

    reason: str


# -- subscribing ----------------------------------------------------------------


class Subscriber(Protocol):
    """Anything called with each event of a run, in order (``list.append`` will do).

    It is called on a thread of its own; it may be slow or raise without
    affecting the run (see :class:`EventBus`).
    """

    def __call__(self, event: Event, /) -> None:
        """Take one event."""
        ...


@dataclass(frozen=True, slots=True)
class SubscriberReport:
    """How delivery to one subscriber went.

    Attributes:
        name: the subscriber (its qualified name).
        delivered: events it took (including those it raised on).
        dropped: events dropped because its queue was full.
        abandoned: events still queued when the flush timed out.
        failures: events it raised on.
        first_error: ``Type: message`` of the first exception.
    """

    name: str
    delivered: int
    dropped: int
    abandoned: int
    failures: int
    first_error: str | None

    @property
    def ok(self) -> bool:
        """Every event was delivered and taken without an exception."""
        return not (self.dropped or self.abandoned or self.failures)

    def describe(self) -> str:
        """One line for people (empty when ``ok``)."""
        problems: list[str] = []
        if self.failures:
            problems.append(f"raised on {self.failures} events (first: {self.first_error})")
        if self.dropped:
            problems.append(f"dropped {self.dropped} events (queue full)")
        if self.abandoned:
            problems.append(f"{self.abandoned} events undelivered at run end (flush timed out)")
        return f"event subscriber {self.name}: " + "; ".join(problems) if problems else ""


@dataclass(frozen=True, slots=True)
class DeliveryReport:
    """How delivery went, per subscriber."""

    subscribers: tuple[SubscriberReport, ...] = ()

    @property
    def warnings(self) -> tuple[str, ...]:
        """One line per subscriber that missed events or raised."""
        return tuple(s.describe() for s in self.subscribers if not s.ok)


def _name(subscriber: Subscriber) -> str:
    name = getattr(subscriber, "__qualname__", None)
    return str(name) if name else type(subscriber).__qualname__


class _Stop:
    """Queued after the last event: the delivery thread ends."""


_STOP = _Stop()


class _Delivery:
    """One subscriber's queue and the daemon thread that drains it."""

    def __init__(self, subscriber: Subscriber, queue_size: int) -> None:
        self.subscriber = subscriber
        self.name = _name(subscriber)
        self.queue_size = queue_size
        # unbounded, so the end mark always fits; offer() bounds the events
        self.queue: queue.SimpleQueue[Event | _Stop] = queue.SimpleQueue()
        self.dropped = 0  # written by the publishing thread only
        self.delivered = 0  # written by the delivery thread only
        self.failures = 0
        self.first_error: str | None = None
        self.abandoned = 0
        self.give_up = threading.Event()
        self.thread = threading.Thread(
            target=self._drain, name=f"partita-events-{self.name}", daemon=True
        )
        self.thread.start()

    def offer(self, event: Event) -> None:
        """Queue ``event``, or count it dropped when the queue is full."""
        if self.queue.qsize() >= self.queue_size:
            self.dropped += 1
        else:
            self.queue.put(event)

    def _drain(self) -> None:
        while not self.give_up.is_set():
            event = self.queue.get()
            if isinstance(event, _Stop):
                return
            self.delivered += 1
            try:
                self.subscriber(event)
            except Exception as exc:
                self.failures += 1
                if self.first_error is None:
                    self.first_error = f"{type(exc).__name__}: {exc}"
                    logger.warning(
                        "event subscriber %s raised on %s (run %s); the run goes on, "
                        "later failures of this subscriber are only counted",
                        self.name,
                        type(event).__name__,
                        event.run_id,
                        exc_info=True,
                    )

    def finish(self) -> None:
        """Queue the end mark: the thread ends after the events queued before it."""
        self.queue.put(_STOP)

    def wait(self, deadline: float) -> None:
        """Wait for the thread until ``deadline`` (monotonic); then abandon what is left."""
        self.thread.join(max(0.0, deadline - time.monotonic()))
        if self.thread.is_alive():
            self.give_up.set()
            self.abandoned = max(0, self.queue.qsize() - 1)  # minus the end mark

    def report(self) -> SubscriberReport:
        """Counts so far."""
        return SubscriberReport(
            name=self.name,
            delivered=self.delivered,
            dropped=self.dropped,
            abandoned=self.abandoned,
            failures=self.failures,
            first_error=self.first_error,
        )


class EventBus:
    """Delivers a run's events to its subscribers without ever waiting for them.

    Args:
        subscribers: who gets the events (each on a daemon thread of its own,
            started here).
        queue_size: events queued per subscriber before new ones are dropped.
        flush_timeout_s: how long :meth:`close` waits, in all, for the
            subscribers to take what is queued.
    """

    def __init__(
        self,
        subscribers: Iterable[Subscriber] = (),
        *,
        queue_size: int = 10_000,
        flush_timeout_s: float = 5.0,
    ) -> None:
        self.flush_timeout_s = flush_timeout_s
        self._deliveries = [_Delivery(s, queue_size) for s in subscribers]
        self._open = list(self._deliveries)
        self._report: DeliveryReport | None = None

    def publish(self, event: Event) -> None:
        """Queue ``event`` for every subscriber (dropped for those whose queue is full)."""
        for delivery in self._open:
            delivery.offer(event)

    def close(self) -> DeliveryReport:
        """Flush (at most ``flush_timeout_s`` in all), end the threads, say how delivery went.

        Problems are also logged as warnings. Closing twice returns the same
        report; events published after closing go nowhere.
        """
        if self._report is None:
            self._open = []
            deadline = time.monotonic() + self.flush_timeout_s
            for delivery in self._deliveries:
                delivery.finish()
            for delivery in self._deliveries:
                delivery.wait(deadline)
            self._report = DeliveryReport(tuple(d.report() for d in self._deliveries))
            for line in self._report.warnings:
                logger.warning("%s", line)
        return self._report
