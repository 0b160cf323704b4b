"""The daemon loop: schedules, sensors, eager selections and periodic jobs, one project.

:class:`Daemon` holds the project's daemon lock (:mod:`.lock`) and loops:
evaluate what is due at ``clock()``, record each evaluation (``partita
ticks``), sleep until the next thing is due. Clock and sleep are injected, so
a test runs days of ticks in seconds. An asset that fails, a sensor that
raises or a periodic job that raises is recorded and the loop goes on;
SIGTERM (or Ctrl-C) cancels a run in progress as it does ``materialize`` (its
steps finish or are cancelled cleanly) and stops the loop; the tick of a
cancelled run is not recorded, so the next start evaluates it again.

Periodic jobs (``PeriodicJob(name, every, fn)``: ``fn(now)``) run on their
cadence inside the loop. When an asset or the project has
``on_freshness_violation`` targets, the daemon adds one itself,
``freshness-alerts``, every ``freshness_every`` (default one minute). Every
run's failure alerts, and a schedule's own ``on_failure``, go through one
shared :class:`~partita.alerts.AlertSender`, so a dead target is logged once.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from types import FrameType

from partita.alerts import AlertSender
from partita.api import (
    CancelToken,
    Project,
    ProjectWatch,
    RunOutcome,
    RunResult,
    evaluate_freshness_alerts,
    reload_project,
)
from partita.automation.launching import (
    LaunchSettings,
    RunOrigin,
    failure_text,
    launch_run,
    tick_status,
)
from partita.automation.lock import DaemonLock
from partita.automation.scheduling import (
    UpToDateMemory,
    catchup_definition,
    due_ticks,
    evaluate_schedule,
)
from partita.automation.sensing import evaluate_sensor
from partita.errors import PartitaError
from partita.events import Subscriber
from partita.partitions.time import TimePartitions
from partita.records import AutomationRecords, Catalog, TickKind, TickRecord, TickStatus
from partita.schedules import Schedule
from partita.sensors import AnySensor, Eager, RunRequest

__all__ = ["Daemon", "PeriodicJob"]

_EAGER_POLL = timedelta(seconds=30)
"""How often an eager selection looks for changes at most (a cheap catalog read)."""

_RELOAD = "reload"
"""The job under which the daemon records loading the project again after an edit."""

_PRUNE = "prune-ticks"
_PRUNE_EVERY = timedelta(hours=1)
"""How often the daemon deletes quiet evaluations older than ``keep_quiet_ticks``."""


@dataclass(frozen=True)
class PeriodicJob:
    """A function the daemon calls every ``every`` with the current time.

    ``fn(now)`` returns a line when it did something worth recording (the
    evaluation is recorded as ``succeeded`` with that detail, ``partita
    ticks --kind job``), ``None`` when not; one that raises is recorded as ``error``.
    """

    name: str
    every: timedelta
    fn: Callable[[datetime], str | None]


class _StoppedError(Exception):
    """A run was cancelled because the daemon is stopping."""


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _error_text(exc: BaseException) -> str:
    """One line: the exception's type and message, then its hint once (a
    :class:`~partita.errors.PartitaError`'s text already holds its hint on a line
    of its own, so its bare message is taken)."""
    message = exc.message if isinstance(exc, PartitaError) else str(exc)
    lines = f"{type(exc).__name__}: {message}".splitlines()
    text = " ".join(line.strip() for line in lines if line.strip())
    hint = exc.hint if isinstance(exc, PartitaError) else None
    return f"{text} (hint: {' '.join(hint.split())})" if hint else text


def _error_record(
    kind: TickKind, name: str, tick_at: datetime, now: datetime, exc: BaseException
) -> TickRecord:
    """The record of an evaluation that raised ``exc`` (status ``error``)."""
    return TickRecord(
        kind=kind,
        name=name,
        tick_at=tick_at,
        evaluated_at=now,
        status=TickStatus.ERROR,
        detail=_error_text(exc),
    )


def _job_done(name: str, now: datetime, detail: str) -> TickRecord:
    """The record of a periodic job that did something (status ``succeeded``)."""
    return TickRecord(
        kind=TickKind.JOB,
        name=name,
        tick_at=now,
        evaluated_at=now,
        status=TickStatus.SUCCEEDED,
        detail=detail,
    )


class Daemon:
    """Runs a project's schedules, sensors, eager selections and periodic jobs.

    Args:
        project: the loaded project.
        clock: the current time (aware; default: the system clock, UTC).
        sleep: wait this many seconds (default: a wait that SIGTERM interrupts).
        settings: how runs execute (executor, workers).
        subscribers_for: the extra event subscribers of a run, by who asked for it
            (e.g. a schedule's alerts); every run goes through :func:`launch_run`.
        jobs: periodic jobs, besides the freshness alerts the daemon adds itself.
        freshness_every: how often freshness policies with
            ``on_freshness_violation`` targets are judged (and alerted on).
        lock_ttl_s: the daemon lock's time to live (see :mod:`.lock`).
        max_sleep_s: the longest single sleep.
        keep_quiet_ticks: evaluations that launched nothing (a sensor that found
            nothing new, an up-to-date schedule tick) are deleted once older than
            this, checked every hour (the newest of each is kept, and so is every
            evaluation that launched a run or failed); ``None`` keeps them all.
        on_tick: called with each recorded evaluation (the CLI prints a line).
        on_start: called once the lock is held, before the first evaluation.
    """

    def __init__(
        self,
        project: Project,
        *,
        clock: Callable[[], datetime] = _utc_now,
        sleep: Callable[[float], None] | None = None,
        settings: LaunchSettings | None = None,
        subscribers_for: Callable[[RunOrigin], Sequence[Subscriber]] = lambda origin: (),
        jobs: Sequence[PeriodicJob] = (),
        freshness_every: timedelta = timedelta(minutes=1),
        lock_ttl_s: float = 60.0,
        max_sleep_s: float = 60.0,
        keep_quiet_ticks: timedelta | None = timedelta(days=7),
        on_tick: Callable[[TickRecord], None] = lambda record: None,
        on_start: Callable[[], None] = lambda: None,
    ) -> None:
        self.clock = clock
        self.cancel = CancelToken()
        self._wake = threading.Event()
        self.sleep = sleep or self._wake.wait
        self.settings = settings or LaunchSettings()
        self.subscribers_for = subscribers_for
        self.alert_sender = AlertSender()
        self._own_jobs = tuple(jobs)
        self._freshness_every = freshness_every
        self.lock_ttl_s = lock_ttl_s
        self.max_sleep_s = max_sleep_s
        self.keep_quiet_ticks = keep_quiet_ticks
        self.on_tick = on_tick
        self.on_start = on_start
        self._configure(project)
        self._cursors: dict[str, str | None] = {}
        self._due: dict[tuple[TickKind, str], datetime] = {}
        self._eager_marker: dict[str, tuple[int, ...] | None] = {}
        self._eager_pending: dict[str, bool] = {}
        self._eager_last: dict[str, datetime] = {}

    def _configure(self, project: Project) -> None:
        """Take the schedules, sensors, eager selections and jobs of ``project``."""
        definitions = project.loaded.definitions
        self.project = project
        self._watch = ProjectWatch.of(project)
        self.jobs = self._own_jobs + self._freshness_jobs(self._freshness_every)
        self.schedules: tuple[Schedule, ...] = definitions.schedules
        self._schedule_alerts = {s.name: s.alert_targets for s in self.schedules}
        self.sensors: tuple[AnySensor, ...] = definitions.sensors
        self.eager: tuple[Eager, ...] = definitions.eager
        self._catchup: dict[str, TimePartitions | None] = {
            s.name: catchup_definition(project, s) for s in self.schedules
        }
        self._memory = {s.name: UpToDateMemory(project, s) for s in self.schedules}

    def _reload_if_changed(self, records: AutomationRecords, now: datetime) -> None:
        """Load the project again when its files changed on disk (recorded as the job
        ``reload``): what is planned from then on is the code as it is now. A project
        that no longer loads (a half-saved file) is recorded as an error once per
        change, and the daemon goes on with the definitions it has."""
        watch = self._watch
        changed = [] if watch is None else watch.changed()
        if watch is None or not changed:
            return
        self._watch = watch.refreshed()
        names = ", ".join(path.name for path in changed)
        try:
            project = reload_project(self.project)
        except Exception as exc:  # the loop goes on with what it has
            record = _error_record(TickKind.JOB, _RELOAD, now, now, exc)
            self._record(records, replace(record, detail=f"{names} changed: {record.detail}"))
            return
        self._configure(project)
        self._record(records, _job_done(_RELOAD, now, f"{names} changed: definitions reloaded"))

    def _freshness_jobs(self, every: timedelta) -> tuple[PeriodicJob, ...]:
        """The freshness-alerts job, when any asset's violations have someone to tell."""
        definitions = self.project.loaded.definitions
        watched = definitions.on_freshness_violation or any(
            spec.on_freshness_violation for spec in definitions.assets
        )
        if not watched:
            return ()

        def judge(now: datetime) -> str | None:
            done = evaluate_freshness_alerts(self.project, now=now, sender=self.alert_sender)
            return done.describe() if done.alerts or done.problems else None

        return (PeriodicJob("freshness-alerts", every, judge),)

    # ------------------------------------------------------------------ loop

    def stop(self, reason: str = "stopped") -> None:
        """Ask the loop to stop (a run in progress is cancelled cleanly)."""
        self.cancel.cancel(reason)
        self._wake.set()

    def run(
        self, *, until: datetime | None = None, once: bool = False, handle_signals: bool = True
    ) -> None:
        """Hold the lock and loop until stopped (or until the clock passes ``until``;
        ``once``: evaluate what is due once, then return).

        Raises:
            DaemonRunningError: another daemon holds the project's lock.
        """
        with self.project.open_catalog() as catalog:
            records = catalog.automation
            lock = DaemonLock(
                records,
                self.clock,
                ttl_s=self.lock_ttl_s,
                on_lost=lambda: self.stop("lost the daemon lock"),
            )
            with lock, self._signals(handle_signals):
                self.on_start()
                self._loop(catalog, until, once)

    def _loop(self, catalog: Catalog, until: datetime | None, once: bool) -> None:
        while not self.cancel.cancelled:
            now = self.clock()
            if until is not None and now >= until:
                return
            try:
                self._reload_if_changed(catalog.automation, now)
                self.evaluate(catalog.automation, now)
            except _StoppedError:
                return
            if once:
                return
            later = self.clock()
            wait = (self.next_wake(now) - later).total_seconds()
            if until is not None:
                wait = min(wait, (until - later).total_seconds())
            if not self.cancel.cancelled:
                self.sleep(max(0.0, min(wait, self.max_sleep_s)))

    @contextmanager
    def _signals(self, enabled: bool) -> Iterator[None]:
        if not enabled or threading.current_thread() is not threading.main_thread():
            yield
            return

        def handler(signum: int, frame: FrameType | None) -> None:
            self.stop("interrupted" if signum == signal.SIGINT else "terminated")

        previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for sig, old in previous.items():
                signal.signal(sig, old)

    # ------------------------------------------------------------ evaluation

    def _launcher(self, origin: RunOrigin) -> Callable[[RunRequest, datetime], RunResult]:
        def launch(request: RunRequest, now: datetime) -> RunResult:
            result = launch_run(
                self.project,
                request,
                origin=origin,
                now=now,
                cancel=self.cancel,
                settings=self.settings,
                subscribers=self.subscribers_for(origin),
                on_failure=self._schedule_alerts.get(origin.name, ())
                if origin.kind is TickKind.SCHEDULE
                else (),
                alert_sender=self.alert_sender,
            )
            if result.status is RunOutcome.CANCELLED or self.cancel.cancelled:
                raise _StoppedError
            return result

        return launch

    def _record(
        self,
        records: AutomationRecords,
        record: TickRecord,
        *,
        cursor: str | None = None,
        files: Sequence[str] = (),
    ) -> TickRecord:
        tick_id = records.record_tick(record, cursor=cursor, files=files)
        stored = TickRecord(**{**record.__dict__, "id": tick_id})
        self.on_tick(stored)
        return stored

    def evaluate(self, records: AutomationRecords, now: datetime) -> list[TickRecord]:
        """Evaluate everything due at ``now``; return the records written."""
        written: list[TickRecord] = []
        for schedule in self.schedules:
            written.extend(self._evaluate_schedule(records, schedule, now))
        for sensor in self.sensors:
            written.extend(self._evaluate_sensor(records, sensor, now))
        for eager in self.eager:
            written.extend(self._evaluate_eager(records, eager, now))
        for job in self.jobs:
            written.extend(self._evaluate_job(records, job, now))
        written.extend(self._prune(records, now))
        return written

    def _prune(self, records: AutomationRecords, now: datetime) -> list[TickRecord]:
        """Delete quiet evaluations older than ``keep_quiet_ticks`` (hourly); a pass that
        deleted something is recorded as a job evaluation."""
        keep = self.keep_quiet_ticks
        if keep is None:
            return []

        def prune(at: datetime) -> str | None:
            deleted = records.prune_ticks(before=at - keep)
            return f"deleted {deleted} quiet evaluations older than {keep}" if deleted else None

        return self._run_job(records, _PRUNE, _PRUNE_EVERY, now, prune)

    def _evaluate_schedule(
        self, records: AutomationRecords, schedule: Schedule, now: datetime
    ) -> list[TickRecord]:
        if schedule.name not in self._cursors:
            self._cursors[schedule.name] = records.cursor(TickKind.SCHEDULE, schedule.name)
        cursor = self._cursors[schedule.name]
        origin = RunOrigin(TickKind.SCHEDULE, schedule.name)
        memory = self._memory[schedule.name]
        marker = records.change_marker() if memory.usable else ()
        launcher = self._launcher(origin)

        def launch(request: RunRequest, tick: datetime) -> RunResult:
            result = launcher(request, tick)
            quiet = result.status is RunOutcome.NOTHING_TO_DO and request.partition_range is None
            memory.remember(memory.fingerprint(marker, tick) if quiet else None)
            return result

        try:
            found = evaluate_schedule(
                schedule,
                cursor,
                now,
                launch,
                self._catchup[schedule.name],
                unchanged=lambda tick: memory.unchanged(memory.fingerprint(marker, tick)),
            )
        except _StoppedError:
            raise
        except Exception as exc:
            ticks = None if cursor is None else due_ticks(schedule, _parse(cursor), now)
            newest = now if ticks is None else ticks.newest
            found = (
                _error_record(TickKind.SCHEDULE, schedule.name, newest, now, exc),
                newest.astimezone(UTC).isoformat(),
            )
        if found is None:
            return []
        record, new_cursor = found
        stored = self._record(records, record, cursor=new_cursor)
        self._cursors[schedule.name] = new_cursor
        return [stored]

    def _is_due(self, kind: TickKind, name: str, now: datetime, every: timedelta) -> bool:
        due = self._due.get((kind, name))
        if due is not None and now < due:
            return False
        self._due[(kind, name)] = now + every
        return True

    def _evaluate_sensor(
        self, records: AutomationRecords, sensor: AnySensor, now: datetime
    ) -> list[TickRecord]:
        if not self._is_due(TickKind.SENSOR, sensor.name, now, sensor.interval):
            return []
        launch = self._launcher(RunOrigin(TickKind.SENSOR, sensor.name))
        try:
            found = evaluate_sensor(sensor, self.project, records, now, launch)
        except _StoppedError:
            raise
        except Exception as exc:
            error = _error_record(TickKind.SENSOR, sensor.name, now, now, exc)
            return [self._record(records, error)]
        return [self._record(records, found.record, cursor=found.cursor, files=found.files)]

    def _evaluate_eager(
        self, records: AutomationRecords, eager: Eager, now: datetime
    ) -> list[TickRecord]:
        name = eager.name
        if self._is_due(TickKind.EAGER, name, now, min(eager.interval, _EAGER_POLL)):
            marker = records.change_marker()
            if marker != self._eager_marker.get(name):
                self._eager_pending[name] = True
                self._eager_marker[name] = marker
        last = self._eager_last.get(name)
        if not self._eager_pending.get(name) or (last is not None and now < last + eager.interval):
            return []
        self._eager_pending[name] = False
        self._eager_last[name] = now
        launch = self._launcher(RunOrigin(TickKind.EAGER, name))
        try:
            result = launch(RunRequest(eager.selection), now)
            status, run_ids, detail = (
                tick_status(result),
                () if result.run_id is None else (result.run_id,),
                failure_text(result),
            )
        except _StoppedError:
            raise
        except Exception as exc:
            status, run_ids, detail = TickStatus.ERROR, (), _error_text(exc)
        record = TickRecord(
            kind=TickKind.EAGER,
            name=name,
            tick_at=now,
            evaluated_at=now,
            status=status,
            run_ids=run_ids,
            detail=detail,
        )
        return [self._record(records, record)]

    def _evaluate_job(
        self, records: AutomationRecords, job: PeriodicJob, now: datetime
    ) -> list[TickRecord]:
        return self._run_job(records, job.name, job.every, now, job.fn)

    def _run_job(
        self,
        records: AutomationRecords,
        name: str,
        every: timedelta,
        now: datetime,
        fn: Callable[[datetime], str | None],
    ) -> list[TickRecord]:
        """Call ``fn(now)`` when due; what it reports (or raises) is recorded."""
        if not self._is_due(TickKind.JOB, name, now, every):
            return []
        try:
            detail = fn(now)
        except Exception as exc:  # a job that raises is recorded; the loop goes on
            return [self._record(records, _error_record(TickKind.JOB, name, now, now, exc))]
        if not detail:
            return []
        return [self._record(records, _job_done(name, now, detail))]

    def next_wake(self, now: datetime) -> datetime:
        """When something is next due (a tick, a sensor, an eager run, a job)."""
        candidates = [now + timedelta(seconds=self.max_sleep_s)]
        for schedule in self.schedules:
            cursor = self._cursors.get(schedule.name)
            start = now if cursor is None else max(_parse(cursor), now)
            candidates.append(schedule.next_tick(start))
        candidates.extend(self._due.values())
        for eager in self.eager:
            last = self._eager_last.get(eager.name)
            if self._eager_pending.get(eager.name) and last is not None:
                candidates.append(last + eager.interval)
        return min(candidates)


def _parse(cursor: str) -> datetime:
    return datetime.fromisoformat(cursor)
