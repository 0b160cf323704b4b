"""Evaluating a schedule: which ticks are due, catch-up, the partition range to build.

A schedule's cursor is the newest tick it handled (ISO 8601, UTC), stored
with the tick's record in one transaction after the run. So a daemon killed
during a run evaluates the same tick again on restart, and plans only what is
still stale. On its first evaluation a schedule handles no past tick: it
records that it started, and the next tick after that time is its first.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from partita.api import Project, RunResult
from partita.automation.launching import failure_text, tick_status
from partita.errors import DefinitionError
from partita.partitions.time import TimePartitions
from partita.planner import assets_needed, targets
from partita.records import TickKind, TickRecord, TickStatus
from partita.schedules import Schedule
from partita.sensors import RunRequest

__all__ = [
    "ScheduleTick",
    "UpToDateMemory",
    "catchup_definition",
    "due_ticks",
    "evaluate_schedule",
]

Launch = Callable[[RunRequest, datetime], RunResult]
"""Run a request planned as of a time (the daemon's :func:`launch_run`, bound)."""


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


@dataclass(frozen=True)
class ScheduleTick:
    """The ticks due at one evaluation: those caught up (newest last) and those skipped."""

    kept: tuple[datetime, ...]
    skipped: tuple[datetime, ...]

    @property
    def newest(self) -> datetime:
        """The newest due tick (the new cursor)."""
        return (self.kept or self.skipped)[-1]


def due_ticks(schedule: Schedule, last: datetime, now: datetime) -> ScheduleTick | None:
    """The ticks in ``(last, now]``, split by ``max_catchup`` (``None``: none due)."""
    due = schedule.ticks_between(last, now)
    if not due:
        return None
    bound = len(due) if schedule.max_catchup is None else min(schedule.max_catchup, len(due))
    cut = len(due) - bound
    return ScheduleTick(kept=tuple(due[cut:]), skipped=tuple(due[:cut]))


def catchup_definition(project: Project, schedule: Schedule) -> TimePartitions | None:
    """The one time partitions definition that bounding ``schedule``'s catch-up uses
    (``None``: the schedule catches up every missed tick).

    Raises:
        DefinitionError: ``max_catchup`` is set but the selection's partitioned
            assets do not share one time partitions definition.
    """
    if schedule.max_catchup is None:
        return None
    found = {
        project.graph.spec(key).partitions
        for key in targets(project.graph, schedule.selection)
        if project.graph.spec(key).partitions is not None
    }
    if len(found) == 1:
        (definition,) = found
        if isinstance(definition, TimePartitions):
            return definition
    raise DefinitionError(
        f"schedule {schedule.name!r}: max_catchup needs the assets of "
        f"{schedule.selection or '*'!r} to share one time partitions definition "
        f"(found {len(found)} partitions definitions)",
        hint="narrow the selection, or leave max_catchup=None to catch up every missed tick",
    )


class UpToDateMemory:
    """Remembers that a schedule's tick planned nothing, so that the next tick skips
    planning when nothing it depends on changed.

    A plan is a pure function of the catalog state, the request and the time.
    The state is summed up by the catalog's change marker (any materialization,
    observation, attempt, wipe or dynamic partition key changes it); the time
    matters only through which time partitions exist. So a tick whose marker
    and partition counts equal those of a tick that planned nothing would plan
    nothing too. Selections that read sources with an observe function always
    plan (observing is how their changes are seen), and so do those with
    multi-dimensional time partitions.
    """

    def __init__(self, project: Project, schedule: Schedule) -> None:
        specs = [project.graph.spec(k) for k in assets_needed(project.graph, schedule.selection)]
        observed = any(spec.is_source and spec.fn is not None for spec in specs)
        definitions = {spec.partitions for spec in specs if spec.partitions is not None}
        self._times = sorted((d for d in definitions if isinstance(d, TimePartitions)), key=repr)
        self.usable = not observed and all(
            isinstance(d, TimePartitions) or not d.is_time for d in definitions
        )
        self._remembered: tuple[object, ...] | None = None

    def fingerprint(self, marker: tuple[int, ...], tick: datetime) -> tuple[object, ...] | None:
        """What a plan at ``tick`` depends on besides the code (``None``: not usable)."""
        if not self.usable:
            return None
        return (marker, tuple(d.count(tick) for d in self._times))

    def remember(self, fingerprint: tuple[object, ...] | None) -> None:
        """Remember the fingerprint of a tick that planned nothing (``None``: forget)."""
        self._remembered = fingerprint

    def unchanged(self, fingerprint: tuple[object, ...] | None) -> bool:
        """Whether a tick with this fingerprint would plan nothing."""
        return fingerprint is not None and fingerprint == self._remembered


def _request(
    schedule: Schedule, ticks: ScheduleTick, definition: TimePartitions | None
) -> RunRequest | None:
    """The run for the kept ticks: every stale partition, or, when older ticks were
    skipped, only the partitions the kept ticks close (``None``: they close none)."""
    if not ticks.skipped or definition is None:
        return RunRequest(schedule.selection)
    first = definition.count(ticks.skipped[-1])
    last = definition.count(ticks.kept[-1]) - 1
    if last < first:
        return None
    return RunRequest(
        schedule.selection, partition_range=(definition.key_at(first), definition.key_at(last))
    )


def evaluate_schedule(
    schedule: Schedule,
    cursor: str | None,
    now: datetime,
    launch: Launch,
    definition: TimePartitions | None = None,
    unchanged: Callable[[datetime], bool] = lambda tick: False,
) -> tuple[TickRecord, str] | None:
    """Evaluate ``schedule`` at ``now``: the record to write and the new cursor, or
    ``None`` when no tick is due. Launches at most one run (the catch-up), none
    when ``unchanged(tick)`` says a plan at the newest tick would be empty."""
    if cursor is None:
        detail = f"started; first tick {_iso(schedule.next_tick(now))}"
        record = TickRecord(
            kind=TickKind.SCHEDULE,
            name=schedule.name,
            tick_at=now,
            evaluated_at=now,
            status=TickStatus.NOTHING_TO_DO,
            detail=detail,
        )
        return record, _iso(now)
    ticks = due_ticks(schedule, datetime.fromisoformat(cursor), now)
    if ticks is None:
        return None
    notes: list[str] = []
    if len(ticks.kept) > 1:
        notes.append(f"caught up {len(ticks.kept)} ticks in one run")
    if ticks.skipped:
        notes.append(
            f"skipped {len(ticks.skipped)} older missed ticks (max_catchup={schedule.max_catchup})"
        )
    run_ids: tuple[str, ...] = ()
    if not ticks.kept:
        status = TickStatus.SKIPPED
    else:
        request = _request(schedule, ticks, definition)
        if request is None:
            status = TickStatus.NOTHING_TO_DO
        elif request.partition_range is None and unchanged(ticks.kept[-1]):
            status = TickStatus.NOTHING_TO_DO
            notes.append("up to date: nothing changed since a tick that planned nothing")
        else:
            result = launch(request, ticks.kept[-1])
            status = tick_status(result)
            run_ids = () if result.run_id is None else (result.run_id,)
            if request.partition_range is not None:
                notes.append("partitions {}..{}".format(*request.partition_range))
            if failure_text(result):
                notes.append(failure_text(result))
    record = TickRecord(
        kind=TickKind.SCHEDULE,
        name=schedule.name,
        tick_at=ticks.newest,
        evaluated_at=now,
        status=status,
        run_ids=run_ids,
        covered=tuple(_iso(t) for t in ticks.kept),
        detail="; ".join(notes),
    )
    return record, _iso(ticks.newest)
