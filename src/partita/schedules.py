"""``Schedule``: build a selection on a cron in a time zone (``partita daemon`` runs it).

::

    Schedule("0 2 * * *", timezone="Europe/Berlin", selection="group:sales")

At each tick the daemon plans the selection *as of the tick* and runs what is
stale: time partitions exist once complete, so the 02:00 tick of 2025-03-02
builds up to 2025-03-01, the partition the tick closes (see :meth:`Schedule.closes`).

Ticks are cron times on the *local wall clock* of ``timezone``, mapped to UTC:

* a local time that does not exist (inside a spring-forward gap, 02:30 on
  2025-03-30 in Europe/Berlin) fires at the same distance past the gap's start
  in the new offset, i.e. shifted forward by the gap (03:30 CEST); several
  wall times that shift onto one instant fire once;
* a local time that occurs twice (02:30 on 2025-10-26 in Europe/Berlin)
  fires once, at its first occurrence (02:30 CEST = 00:30 UTC).

So an hourly schedule has 23 ticks on a spring-forward day and 24 on a
fall-back day (the tick after the repeated hour also plans the partition of
its second occurrence: the plan covers every partition complete at the tick).

Ticks missed while the daemon was down are caught up on restart as ONE run
(planned as of the newest missed tick); ``max_catchup`` bounds how many of
them: older ones are recorded as skipped, and their partitions left alone.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from partita.alert_targets import AlertTarget, targets_of
from partita.errors import DefinitionError
from partita.partitions import PartitionsDefinition
from partita.partitions.base import require_aware
from partita.partitions.time import TimePartitions

__all__ = ["Schedule", "closed_key"]

_LOOKBACK = timedelta(hours=3)  # more than any DST shift: where wall-clock iteration starts


def _cron_valid(expression: str) -> bool:
    from croniter import croniter  # noqa: PLC0415  (~20 ms to import: only here)

    return bool(croniter.is_valid(expression))


def _cron_fires(expression: str) -> bool:
    """Whether a valid cron expression has a tick at all (``0 0 31 2 *`` has none)."""
    from croniter import CroniterBadDateError, croniter  # noqa: PLC0415

    try:
        croniter(expression, datetime(2000, 1, 1)).get_next(datetime)
    except CroniterBadDateError:
        return False
    return True


_CRON_FIELDS = (
    ("minute", "0-59"),
    ("hour", "0-23"),
    ("day of month", "1-31"),
    ("month", "1-12 or jan-dec"),
    ("weekday", "0-7 (0 and 7 are Sunday) or sun-sat"),
)


def _cron_error(expression: str) -> DefinitionError:
    """The error for an invalid cron expression, naming the wrong field and its range."""
    fields = expression.split()
    if len(fields) != len(_CRON_FIELDS):
        return DefinitionError(
            f"Schedule: {expression!r} is not a five-field cron expression ({len(fields)} fields)",
            hint='minute hour day month weekday, e.g. "0 2 * * *" (no seconds field)',
        )
    for index, (label, values) in enumerate(_CRON_FIELDS):
        alone = ["*"] * len(_CRON_FIELDS)
        alone[index] = fields[index]
        if not _cron_valid(" ".join(alone)):
            return DefinitionError(
                f"Schedule: invalid cron expression {expression!r}: "
                f"{label} field {fields[index]!r} is not valid",
                hint=f"the {label} field takes {values}, a list (1,15), a range (1-5), "
                "a step (*/10) or *",
            )
    return DefinitionError(
        f"Schedule: invalid cron expression {expression!r}",
        hint='five fields: minute hour day month weekday, e.g. "0 2 * * *"',
    )


@dataclass(frozen=True)
class Schedule:
    """Build ``selection`` at each tick of ``cron`` on the wall clock of ``timezone``.

    Args:
        cron: a five-field cron expression (``"0 2 * * *"``: every day at 02:00).
        timezone: an IANA time zone name (default ``UTC``).
        selection: the assets to build (an asset selection; ``None``: every asset).
        name: how ``partita schedules`` / ``partita ticks`` call it (default:
            ``selection@cron``).
        max_catchup: at most this many ticks missed while the daemon was down are
            caught up (as one run); ``None``: all of them. Bounding needs the
            selection's partitioned assets to share one time partitions definition.
        on_failure: alert targets (:mod:`partita.alert_targets`: ``webhook``,
            ``email``, a callable) told of every failed step of this schedule's
            runs, besides the assets' and the project's own ``on_failure``.
    """

    cron: str
    timezone: str = "UTC"
    selection: str | None = None
    name: str = ""
    max_catchup: int | None = None
    on_failure: AlertTarget | Sequence[AlertTarget] = ()
    _zone: ZoneInfo = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.cron, str):
            raise DefinitionError(
                f"Schedule: the cron expression must be text, not {self.cron!r}",
                hint='five fields: minute hour day month weekday, e.g. "0 2 * * *"',
            )
        if len(self.cron.split()) != len(_CRON_FIELDS) or not _cron_valid(self.cron):
            raise _cron_error(self.cron)
        if not _cron_fires(self.cron):
            raise DefinitionError(
                f"Schedule: cron expression {self.cron!r} never fires "
                "(its day of month does not exist in its months)",
                hint='pick a day every chosen month has (e.g. "0 0 28 2 *"), or "L" for the last',
            )
        try:
            zone = ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise DefinitionError(
                f"Schedule {self.cron!r}: unknown time zone {self.timezone!r}",
                hint="an IANA name such as 'Europe/Berlin' or 'UTC'",
            ) from exc
        object.__setattr__(self, "_zone", zone)
        if self.selection is not None and (
            not isinstance(self.selection, str) or not self.selection.strip()
        ):
            raise DefinitionError(f"Schedule {self.cron!r}: selection must be a non-empty text")
        if self.max_catchup is not None and (
            isinstance(self.max_catchup, bool)
            or not isinstance(self.max_catchup, int)
            or self.max_catchup < 0
        ):
            raise DefinitionError(
                f"Schedule {self.cron!r}: max_catchup must be a count >= 0 or None, "
                f"not {self.max_catchup!r}"
            )
        if not self.name:
            object.__setattr__(self, "name", f"{self.selection or '*'}@{self.cron}")
        object.__setattr__(
            self, "on_failure", targets_of(self.on_failure, f"Schedule {self.name!r} on_failure")
        )

    @property
    def alert_targets(self) -> tuple[AlertTarget, ...]:
        """The schedule's ``on_failure`` targets, as a tuple."""
        return targets_of(self.on_failure, f"Schedule {self.name!r} on_failure")  # checked

    @property
    def zone(self) -> ZoneInfo:
        """The schedule's time zone."""
        return self._zone

    def _wall_times(self, start: datetime) -> Iterator[datetime]:
        """Naive local wall times matching the cron, from ``start`` (naive, local) on."""
        from croniter import croniter  # noqa: PLC0415

        it = croniter(self.cron, start - timedelta(microseconds=1))
        while True:
            yield it.get_next(datetime)

    def _instant(self, wall: datetime) -> datetime:
        """The UTC instant of a naive local wall time: the first occurrence of a
        repeated one, a non-existent one shifted forward by the gap (``fold=0``)."""
        return wall.replace(tzinfo=self._zone, fold=0).astimezone(UTC)

    def ticks_after(self, moment: datetime) -> Iterator[datetime]:
        """The ticks strictly after ``moment``, in UTC, in order, each once."""
        moment = require_aware(moment).astimezone(UTC)
        start = (moment.astimezone(self._zone) - _LOOKBACK).replace(tzinfo=None, fold=0)
        last: datetime | None = None
        for wall in self._wall_times(start):
            instant = self._instant(wall)
            if instant <= moment or instant == last:
                continue
            last = instant
            yield instant

    def next_tick(self, moment: datetime) -> datetime:
        """The first tick strictly after ``moment`` (UTC)."""
        return next(self.ticks_after(moment))

    def ticks_between(self, after: datetime, until: datetime) -> list[datetime]:
        """The ticks in ``(after, until]``, in UTC."""
        until = require_aware(until)
        found: list[datetime] = []
        for tick in self.ticks_after(after):
            if tick > until:
                break
            found.append(tick)
        return found

    def closes(self, definition: PartitionsDefinition, tick: datetime) -> str | None:
        """The newest partition of ``definition`` complete at ``tick`` (what the tick closes)."""
        return closed_key(definition, tick)


def closed_key(definition: PartitionsDefinition, moment: datetime) -> str | None:
    """The newest key of a time partitions definition complete at ``moment`` (``None``:
    none yet, or not a time definition)."""
    if not isinstance(definition, TimePartitions):
        return None
    count = definition.count(require_aware(moment))
    return definition.key_at(count - 1) if count > 0 else None
