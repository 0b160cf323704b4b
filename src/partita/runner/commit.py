"""Group commit: the coordinator publishes and records finished steps in batches.

Workers stage and check a step's output and return the
:class:`~partita.io.StagedWrite` values; they never publish. The
:class:`Committer`, a thread of the coordinator's process, commits the finished
steps waiting while the coordinator has other work: as soon as
:data:`GROUP_STEPS` wait, or when the oldest has waited :data:`LINGER_S` (while
one batch commits, the next accumulates). A batch per step would cost a
transaction and a round of fsyncs per step, and the thread's work competes with
the steps run in the coordinator's own process. When the coordinator has
nothing else to do (a chain: the next step waits for this commit), it commits
the waiting steps itself at once, the same way (:meth:`Committer.poll`). One
batch at a time, in order. For the batch, it:

1. makes the staged files durable together (a store with the
   :class:`~partita.io.GroupCommitStore` capability: parallel fsyncs of the
   files, then of the folders staging created);
2. publishes each write in the order the steps finished (an upstream step is
   always committed before its downstream starts, so this is dependency
   order), fenced by the run's lease (:mod:`partita.runner.fencing`): the
   store's lock, its schema record, the lease check, the rename;
3. makes the renames durable (each distinct folder fsynced once, in parallel);
4. records the whole batch in ONE catalog transaction: the step rows waiting
   in :class:`~partita.runner.recording.PendingRows` (starts, skips,
   failures, retries), the successes with their materializations, inputs and
   checks, and the release of the finished steps' leases;
5. only then hands the batch back to the coordinator (:meth:`Committer.completed`),
   which publishes the events and marks the steps succeeded, so that their
   downstream steps become ready.

Invariants: the catalog never records a materialization whose file and
folder entries are not durable yet; a file is durable before it is renamed
into place, so no reader sees a torn file, even after a power loss; a kill at
any moment leaves the published data and the catalog consistent (a file
renamed but not recorded is rebuilt by the next run). A store without the
capability (DuckDBStore, a third-party store) publishes durably on its own,
in the same place in the sequence: the coordinator publishes for every store.
A store with a publish session (:class:`~partita.io.PublishSessionStore`:
DuckDBStore) gets the batch's publishes inside one session (one connection).

A fence refusal, a schema conflict or any other publish error fails that
step's attempt as a worker's error would (same outcome, error and log line);
the rest of the batch goes on. A catalog error stops the committer and fails
the run (:meth:`Committer.raise_error`).
"""

from __future__ import annotations

import contextlib
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime

from partita.errors import LeaseLostError, PartitaError
from partita.events import Event
from partita.io import GroupCommitStore, PublishSessionStore, StagedWrite, Store, WriteResult
from partita.keys import AssetKey
from partita.records import CatalogWriter, LeaseItem, StepRecord, partition_value
from partita.runner.executor_protocol import Executor, Finished
from partita.runner.fencing import LeaseFence
from partita.runner.messages import Outcome, WorkResult
from partita.runner.recording import Attempt, RunRecorder
from partita.runner.tasks import Task

__all__ = ["Committed", "Committer", "FinishedStep"]

_THREAD = "thread"
_HERE = "here"

GROUP_STEPS = 32
"""Finished steps that make a batch the thread commits at once."""

LINGER_S = 0.1
"""Seconds a finished step waits at most for more to join its batch (while the
coordinator has other work; it commits at once when it has none)."""


@dataclass(frozen=True)
class FinishedStep:
    """A step whose worker succeeded: staged, checked, waiting to be published.

    Attributes:
        index: the task's index in the run's task graph.
        task: the task.
        attempt: the attempt in flight.
        result: the worker's result (``staged`` filled in, ``writes`` empty).
        finished: when the coordinator saw it end (recorded as its end).
        upstream: the assets the task's asset depends on.
    """

    index: int
    task: Task
    attempt: Attempt
    result: WorkResult
    finished: datetime
    upstream: tuple[str, ...]

    def items(self) -> list[LeaseItem]:
        """The lease items of the step."""
        return [(str(self.task.asset), partition_value(k)) for k in self.task.keys]


@dataclass(frozen=True)
class Committed:
    """One batch, committed: what the coordinator publishes and applies, in order.

    Attributes:
        events: the events of the batch's waiting rows (publish them first).
        succeeded: per step published and recorded: the step, its result with
            ``writes`` filled in, its rows and its materialization ids.
        failed: steps whose publish failed, with the failed result to handle
            as any failed attempt (nothing of theirs was recorded).
    """

    events: list[Event]
    succeeded: list[tuple[FinishedStep, WorkResult, StepRecord, tuple[int, ...]]]
    failed: list[tuple[FinishedStep, WorkResult]]


def _failed(result: WorkResult, exc: BaseException) -> WorkResult:
    """``result`` turned into the failure a worker reports for ``exc``."""
    if isinstance(exc, LeaseLostError):
        error, outcome, retryable, log = str(exc), Outcome.LEASE_LOST, False, f"error: {exc}\n"
    elif isinstance(exc, PartitaError):
        error, outcome, retryable, log = str(exc), Outcome.FAILED, exc.retryable, f"error: {exc}\n"
    else:  # a bug of a store or of partita: keep it in the log
        error, outcome, retryable = f"{type(exc).__name__}: {exc}", Outcome.FAILED, True
        log = "".join(traceback.format_exception(exc))
    return replace(
        result, outcome=outcome, error=error, retryable=retryable, logs=result.logs + log
    )


def _sync(
    sync: Callable[[list[StagedWrite]], None],
    group: list[tuple[int, StagedWrite]],
    errors: dict[int, BaseException],
) -> None:
    """Make one store's writes of a batch durable; a failure fails each step of the group."""
    try:
        sync([s for _, s in group])
    except Exception as exc:
        for i, _ in group:
            errors.setdefault(i, exc)


@contextlib.contextmanager
def _sessions(steps: list[FinishedStep], stores: list[Store]) -> Iterator[None]:
    """One publish session (:class:`~partita.io.PublishSessionStore`) per store the batch
    publishes to that offers it, entered in a stable order (two runs sharing two
    databases cannot deadlock). A session that cannot open is left out: each publish
    then opens the store itself and reports its own error."""
    capable: dict[str, PublishSessionStore] = {}
    for step, store in zip(steps, stores, strict=True):
        staged = any(s is not None for _, s in step.result.staged)
        if staged and isinstance(store, PublishSessionStore):
            capable.setdefault(repr(store), store)
    with contextlib.ExitStack() as stack:
        for name in sorted(capable):
            with contextlib.suppress(Exception):
                stack.enter_context(capable[name].publishing())
        yield


def _discard(store: Store, staged: StagedWrite | None) -> None:
    if staged is not None:
        with contextlib.suppress(Exception):
            store.discard(staged)


class Committer:
    """The coordinator's group-commit thread (see the module's text).

    Args:
        catalog: where batches are recorded.
        recorder: the run's recorder; its ``pending`` rows join each batch.
        store_of: the store of an asset.
        fence: the run's lease fence, checked at each publish.
    """

    def __init__(
        self,
        catalog: CatalogWriter,
        recorder: RunRecorder,
        store_of: Callable[[AssetKey], Store],
        fence: LeaseFence,
    ) -> None:
        self.catalog = catalog
        self.recorder = recorder
        self.run_id = recorder.run_id
        self.store_of = store_of
        self.fence = fence
        self.rows = recorder.pending
        self._cond = self.rows.cond
        self._steps: list[FinishedStep] = []
        self._done: list[Committed] = []
        self._error: BaseException | None = None
        self._closing = False
        self._requested = 0
        self._served = 0
        self._in_flight = 0
        # who commits a batch now: None, _THREAD or _HERE (the coordinator's thread)
        self._busy: str | None = None
        self._here: list[FinishedStep] | None = None  # the steps of a batch committed here
        self._broken = False  # a commit failed: nothing more is committed
        self._kicked = False  # the thread is to take the waiting steps
        self._oldest = 0.0  # when the first of the waiting steps was submitted (monotonic)
        self._thread = threading.Thread(target=self._main, name="partita-commit", daemon=True)

    def start(self) -> Committer:
        """Start the thread; returns ``self``."""
        self._thread.start()
        return self

    # -- the coordinator's side ---------------------------------------------------------

    def submit(self, step: FinishedStep) -> None:
        """Publish and record ``step`` in the next batch (see :meth:`poll` for who
        commits it)."""
        with self._cond:
            if not self._steps:
                self._oldest = time.monotonic()
                self._cond.notify_all()  # the thread's linger starts
            self._steps.append(step)
            self._in_flight += 1

    def _kick(self) -> None:
        """Have the thread commit the waiting steps now if they make a full batch (the
        coordinator has work meanwhile; a smaller batch waits for its linger)."""
        with self._cond:
            if len(self._steps) >= GROUP_STEPS and not self._kicked:
                self._kicked = True
                self._cond.notify_all()

    @property
    def in_flight(self) -> int:
        """Steps submitted whose batch the coordinator has not taken back yet."""
        return self._in_flight

    def completed(self) -> list[Committed]:
        """The batches committed since the last call (in commit order)."""
        with self._cond:
            done, self._done = self._done, []
            for batch in done:
                self._in_flight -= len(batch.succeeded) + len(batch.failed)
            return done

    def wait(self, timeout: float) -> None:
        """Wait up to ``timeout`` seconds for a batch to be committed (or an error)."""
        with self._cond:
            self._cond.wait_for(lambda: bool(self._done) or self._error is not None, timeout)

    def poll(self, executor: Executor, timeout: float) -> list[Finished]:
        """The executor's ended attempts; meanwhile the steps submitted are committed.

        While steps are in flight: when the executor has work (an attempt queued
        to run inside this call, or attempts that ended), the thread commits the
        waiting steps meanwhile; when it has none, the calling thread commits
        them itself if the thread is idle (no hand-off to it and back: what a
        chain of steps waits for), else waits for the batch being committed
        rather than for the executor (a batch may make tasks ready).
        """
        if not self.in_flight:
            return executor.poll(timeout)
        if executor.free_slots <= 0:
            self._kick()
        found = executor.poll(0.0)
        if found:
            self._kick()
        elif not self.commit_here():
            self.wait(min(timeout, 0.05))
        return found

    def commit_here(self) -> bool:
        """Commit the waiting steps and rows in the calling thread, if some wait and no
        batch is being committed; whether a batch was committed (or failed: see
        :meth:`raise_error`). Batches stay in order: one is committed at a time."""
        with self._cond:
            if self._busy is not None or not self._steps or self._broken or self._closing:
                return False
            taken = self._take(_HERE)
        self._commit_taken(*taken)
        return True

    def _take_back_here(self) -> list[FinishedStep]:
        """The steps of a batch this thread was committing when an exception (Ctrl-C)
        stopped it: neither recorded nor failed; the committer is free again. Their
        staged data is discarded (a file already renamed is published but not
        recorded: the next run rebuilds it)."""
        with self._cond:
            steps, self._here = self._here, None
            if steps is None:
                return []
            if self._busy == _HERE:
                self._busy = None
            self._in_flight -= len(steps)
            self._cond.notify_all()
        for step in steps:
            store = self.store_of(step.task.asset)
            for _, staged in step.result.staged:
                _discard(store, staged)
        return steps

    def settle(self) -> tuple[list[Committed], list[FinishedStep]]:
        """For a run that stops: drop the steps not yet in a batch (:meth:`drop_waiting`),
        let the batch being committed end; what is committed, and the steps dropped
        (their attempts are cancelled)."""
        dropped = self._take_back_here() + self.drop_waiting()
        self.flush()
        with self._cond:
            done, self._done = self._done, []
            self._in_flight = 0
            return done, dropped

    def raise_error(self) -> None:
        """Raise the error that stopped the committer, if any (once)."""
        with self._cond:
            error, self._error = self._error, None
        if error is not None:
            raise error

    def flush(self) -> None:
        """Commit every waiting row and step now; return when they are committed."""
        with self._cond:
            self._requested += 1
            wanted = self._requested
            self._cond.notify_all()
            self._cond.wait_for(
                lambda: self._served >= wanted or self._broken or not self._thread.is_alive()
            )

    def drop_waiting(self) -> list[FinishedStep]:
        """Take back the steps not yet in a batch, their staged data discarded (a
        cancelled run publishes nothing more)."""
        with self._cond:
            steps, self._steps = self._steps, []
            self._in_flight -= len(steps)
        for step in steps:
            store = self.store_of(step.task.asset)
            for _, staged in step.result.staged:
                _discard(store, staged)
        return steps

    def close(self) -> BaseException | None:
        """Commit what waits, stop the thread; the error that stopped it, if any."""
        self._take_back_here()
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        if self._thread.is_alive():
            self._thread.join()
        with self._cond:
            error, self._error = self._error, None
            return error

    # -- the thread ------------------------------------------------------------------------

    def _take(
        self, owner: str, *, with_steps: bool = True
    ) -> tuple[list[FinishedStep], list[StepRecord], list[Event], list[LeaseItem], int]:
        """Under the lock: take the waiting rows (and steps) as the next batch; ``owner``
        commits it (busy until then)."""
        self._busy = owner
        steps: list[FinishedStep] = []
        if with_steps:
            steps, self._steps = self._steps, []
            self._kicked = False
        if owner == _HERE:
            self._here = steps
        rows, events, release = self.rows.take()
        return steps, rows, events, release, self._requested

    def _commit_taken(
        self,
        steps: list[FinishedStep],
        rows: list[StepRecord],
        events: list[Event],
        release: list[LeaseItem],
        serving: int,
    ) -> bool:
        """Commit a taken batch; whether it was committed (else the error is kept and
        the committer stops). Ctrl-C in the coordinator's thread committing it here
        propagates: the batch is left to :meth:`settle` (:meth:`_take_back_here`)."""
        here = self._busy == _HERE
        try:
            batch = self._commit(steps, rows, events, release)
        except BaseException as exc:
            interrupted = here and not isinstance(exc, Exception)
            with self._cond:
                if not interrupted:
                    self._error = exc
                    self._broken = True
                    self._here = None
                self._busy = None
                self._cond.notify_all()
            if interrupted:
                raise
            return False
        with self._cond:
            self._done.append(batch)
            self._served = max(self._served, serving)
            self._busy = None
            self._here = None
            self._cond.notify_all()
        return True

    def _main(self) -> None:
        while True:
            with self._cond:
                while True:
                    if self._broken:
                        return
                    due = self.rows.due(time.monotonic())
                    wanted = self._requested > self._served
                    if self._busy is not None:  # the coordinator commits a batch itself
                        self._cond.wait()
                        continue
                    linger = None
                    if self._steps:
                        linger = max(0.0, self._oldest + LINGER_S - time.monotonic())
                    urgent = self._kicked or wanted or self._closing or linger == 0.0
                    steps = bool(self._steps) and urgent
                    if steps or due == 0.0 or (due is not None and (wanted or self._closing)):
                        break
                    if wanted:
                        self._served = self._requested
                        self._cond.notify_all()
                        continue
                    if self._closing:
                        return
                    waits = [t for t in (due, linger) if t is not None]
                    self._cond.wait(min(waits) if waits else None)
                taken = self._take(_THREAD, with_steps=steps)
            if not self._commit_taken(*taken):
                return

    def _commit(
        self,
        steps: list[FinishedStep],
        rows: list[StepRecord],
        events: list[Event],
        release: list[LeaseItem],
    ) -> Committed:
        published, failed = self._publish(steps)
        records = list(rows)
        succeeded: list[tuple[FinishedStep, WorkResult, StepRecord]] = []
        for step, result in published:
            record = self.recorder.success_record(
                step.task, step.attempt, result, step.finished, step.upstream
            )
            records.append(record)
            succeeded.append((step, result, record))
            release.extend(step.items())
        ids = self.catalog.record_batch(self.run_id, records, release=release) if records else []
        mids = ids[len(rows) :]
        return Committed(
            events,
            [(s, r, rec, i) for (s, r, rec), i in zip(succeeded, mids, strict=True)],
            failed,
        )

    def _publish(
        self, steps: list[FinishedStep]
    ) -> tuple[list[tuple[FinishedStep, WorkResult]], list[tuple[FinishedStep, WorkResult]]]:
        """Sync, publish and sync again the batch's writes; the steps published and
        the steps that failed (with their failed results)."""
        errors: dict[int, BaseException] = {}
        stores = [self.store_of(step.task.asset) for step in steps]
        by_store: dict[int, tuple[GroupCommitStore, list[tuple[int, StagedWrite]]]] = {}
        for i, (step, store) in enumerate(zip(steps, stores, strict=True)):
            if isinstance(store, GroupCommitStore):
                group = by_store.setdefault(id(store), (store, []))[1]
                group.extend((i, s) for _, s in step.result.staged if s is not None)
        for capable, group in by_store.values():
            _sync(capable.sync_staged, group, errors)
        writes: dict[int, list[tuple[str, WriteResult | None]]] = {}
        done: dict[int, tuple[GroupCommitStore, list[tuple[int, StagedWrite]]]] = {}
        with _sessions(steps, stores):
            for i, (step, store) in enumerate(zip(steps, stores, strict=True)):
                writes[i] = self._publish_step(i, step, store, errors, done)
        for capable, group in done.values():
            _sync(capable.sync_published, group, errors)
        ok: list[tuple[FinishedStep, WorkResult]] = []
        failed: list[tuple[FinishedStep, WorkResult]] = []
        for i, step in enumerate(steps):
            if i in errors:
                failed.append((step, _failed(step.result, errors[i])))
            else:
                ok.append((step, replace(step.result, writes=tuple(writes[i]), staged=())))
        return ok, failed

    def _publish_step(
        self,
        i: int,
        step: FinishedStep,
        store: Store,
        errors: dict[int, BaseException],
        done: dict[int, tuple[GroupCommitStore, list[tuple[int, StagedWrite]]]],
    ) -> list[tuple[str, WriteResult | None]]:
        asset = str(step.task.asset)
        writes: list[tuple[str, WriteResult | None]] = []
        staged = list(step.result.staged)
        for n, (key, one) in enumerate(staged):
            if i in errors:
                for _, rest in staged[n:]:
                    _discard(store, rest)
                break
            if one is None:
                writes.append((key, None))
                continue
            fence = self.fence.for_publish(self.run_id, asset, key)
            try:
                if isinstance(store, GroupCommitStore):
                    writes.append((key, store.publish_unsynced(one, fence)))
                    done.setdefault(id(store), (store, []))[1].append((i, one))
                else:
                    writes.append((key, store.publish(one, fence)))
            except Exception as exc:
                errors[i] = exc
                _discard(store, one)
        return writes
