"""Time partitions: daily, hourly, weekly and monthly windows in an exact time zone.

Windows are computed with :mod:`zoneinfo`: a daily window runs from one local
midnight to the next (23 or 25 hours on DST days), hourly partitions follow
real hours (a ``Europe/Berlin`` DST day has 23 or 25 of them).

Keys:

* daily ``2025-03-30``; weekly: the first day of the week ``2025-01-06``;
  monthly ``2025-03``;
* hourly: the local wall time ``2025-03-30T01:00``. On a fall-back day the
  repeated hour occurs twice, so *those two keys only* carry their UTC
  offset: ``2025-10-26T02:00+02:00`` then ``2025-10-26T02:00+01:00``. A bare
  ``2025-10-26T02:00`` is rejected as ambiguous, a wall time inside a
  spring-forward gap (``2025-03-30T02:00``) as non-existent. An offset on an
  unambiguous hour is accepted and dropped from the canonical key.

Bounds: ``start`` is the first partition. ``end`` (optional, *exclusive*, in
the same format as ``start``) closes the definition: only periods that end
at or before it exist. Whatever ``end`` says, partitions exist only once
complete at ``now``: ``end_offset=1`` adds the period in progress, a negative
offset lags behind.
"""

from __future__ import annotations

import re
from abc import abstractmethod
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import cached_property
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from partita.errors import DefinitionError
from partita.partitions.base import (
    TimeWindowRange,
    check_dimension_name,
    require_aware,
    to_utc,
)
from partita.partitions.subsets import IndexedPartitions

__all__ = [
    "DailyPartitions",
    "HourlyPartitions",
    "MonthlyPartitions",
    "TimePartitions",
    "WeeklyPartitions",
]

_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})", re.ASCII)
_MONTH = re.compile(r"([0-9]{4})-([0-9]{2})(?:-01)?", re.ASCII)
_HOUR = re.compile(
    r"([0-9]{4}-[0-9]{2}-[0-9]{2})(?:T([0-9]{2}):([0-9]{2}))?(?:([+-])([0-9]{2}):([0-9]{2}))?",
    re.ASCII,
)
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_HOUR_DELTA = timedelta(hours=1)
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


def _parse_date(text: str) -> date:
    if not _DATE.fullmatch(text):
        raise ValueError("expected YYYY-MM-DD")
    return date.fromisoformat(text)


def _as_text(value: object, what: str) -> str:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%dT%H:%M")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        return value.strip()
    raise DefinitionError(f"{what} must be a string or a date, got {type(value).__name__}")


@dataclass(frozen=True, repr=False)
class TimePartitions(IndexedPartitions):
    """The common base of time partitions (see the module docstring for bounds and keys)."""

    start: str
    end: str | None = None
    timezone: str = "UTC"
    end_offset: int = 0
    dimension: str = "date"

    def __post_init__(self) -> None:
        object.__setattr__(self, "start", _as_text(self.start, "start"))
        if self.end is not None:
            object.__setattr__(self, "end", _as_text(self.end, "end"))
        check_dimension_name(self.dimension)
        if not isinstance(self.end_offset, int) or isinstance(self.end_offset, bool):
            raise DefinitionError(f"end_offset must be an int, got {self.end_offset!r}")
        if not isinstance(self.timezone, str):
            raise DefinitionError(f"timezone must be a string, got {self.timezone!r}")
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise DefinitionError(
                f"unknown time zone {self.timezone!r} in {type(self).__name__}",
                hint="use an IANA name such as 'UTC' or 'Europe/Berlin'",
            ) from exc
        self._check_bounds()

    # -- to implement per grain -----------------------------------------------------------

    @property
    @abstractmethod
    def grain(self) -> str:
        """``hourly``, ``daily``, ``weekly`` or ``monthly``."""

    @abstractmethod
    def period_start(self, index: int) -> datetime:
        """The start of period ``index`` (any integer, even before ``start``)."""

    @abstractmethod
    def index_at(self, moment: datetime) -> int:
        """The number of the period containing ``moment`` (may be negative)."""

    @abstractmethod
    def _parse_bound(self, text: str) -> datetime:
        """The instant a ``start``/``end`` text stands for."""

    # -- shared ---------------------------------------------------------------------------

    @cached_property
    def tz(self) -> ZoneInfo:
        """The :class:`ZoneInfo` of ``timezone``."""
        return ZoneInfo(self.timezone)

    def _check_bounds(self) -> None:
        try:
            self._parse_bound(self.start)
        except ValueError as exc:
            raise DefinitionError(
                f"invalid start {self.start!r} for {type(self).__name__}: {exc}"
            ) from exc
        if self.end is not None:
            try:
                end = self._parse_bound(self.end)
            except ValueError as exc:
                raise DefinitionError(
                    f"invalid end {self.end!r} for {type(self).__name__}: {exc}"
                ) from exc
            if self.index_at(end) <= 0:
                raise DefinitionError(
                    f"{self!r}: end {self.end} leaves no complete period after start",
                    hint="end is exclusive: the first period that is not included",
                )

    @property
    def is_time(self) -> bool:
        """Time definitions are time definitions."""
        return True

    @cached_property
    def end_count(self) -> int | None:
        """How many periods ``end`` allows, or ``None`` when open-ended."""
        if self.end is None:
            return None
        return self.index_at(self._parse_bound(self.end))

    def count(self, now: datetime) -> int:
        """Partitions that exist at ``now``: complete periods, shifted by ``end_offset``."""
        n = self.index_at(require_aware(now)) + self.end_offset
        if self.end_count is not None:
            n = min(n, self.end_count)
        return max(n, 0)

    def ceil_index(self, moment: datetime) -> int:
        """The number of the first period starting at or after ``moment``."""
        index = self.index_at(moment)
        return index if to_utc(self.period_start(index)) == to_utc(moment) else index + 1

    def window_at(self, index: int) -> TimeWindowRange:
        """The window of period ``index``."""
        return TimeWindowRange(self.period_start(index), self.period_start(index + 1))

    def time_window(self, key: str) -> TimeWindowRange:
        """The window of ``key``: start inclusive, end exclusive, in the definition's zone."""
        return self.window_at(self.index_of(key))

    def exists_from(self, key: str) -> datetime:
        """When ``key`` comes to exist: the end of its window (it exists once complete),
        ``end_offset`` periods earlier (``end_offset=1``: when the window starts)."""
        return self.period_start(self.index_of(key) + 1 - self.end_offset)

    def _index_checked(self, key: object, index: int) -> int:
        if index < 0:
            raise self.key_error(key, f"it is before the first partition {self.key_at(0)}")
        if self.end_count is not None and index >= self.end_count:
            raise self.key_error(
                key, f"it is after the last partition {self.key_at(self.end_count - 1)}"
            )
        return index

    def example_key(self) -> str:
        """The first key."""
        return self.key_at(0)

    def describe(self) -> str:
        """E.g. ``daily from 2025-01-01 (UTC)``; closed: ``daily 2025-01-01..2025-01-31 (UTC)``."""
        if self.end is not None and self.end_count:
            text = f"{self.grain} {self.start}..{self.key_at(self.end_count - 1)}"
        else:
            text = f"{self.grain} from {self.start}"
        if self.end_offset:
            text += f", end_offset={self.end_offset}"
        return f"{text} ({self.timezone})"

    def _extra_repr(self) -> list[str]:
        return []

    def __repr__(self) -> str:
        parts = [f"start={self.start}"]
        if self.end is not None:
            parts.append(f"end={self.end}")
        parts.append(f"timezone={self.timezone}")
        if self.end_offset:
            parts.append(f"end_offset={self.end_offset}")
        parts.extend(self._extra_repr())
        if self.dimension != "date":
            parts.append(f"dimension={self.dimension}")
        return f"{type(self).__name__}({', '.join(parts)})"


class _DayBased(TimePartitions):
    """Periods that start at a local midnight: daily and weekly."""

    _step = 1

    @cached_property
    def _start_ordinal(self) -> int:
        return _parse_date(self.start).toordinal()

    def _parse_bound(self, text: str) -> datetime:
        return datetime.combine(_parse_date(text), time(0), tzinfo=self.tz)

    def period_start(self, index: int) -> datetime:
        """Local midnight of the period's first day."""
        day = date.fromordinal(self._start_ordinal + index * self._step)
        return datetime.combine(day, time(0), tzinfo=self.tz)

    def index_at(self, moment: datetime) -> int:
        """The period containing ``moment``."""
        local = require_aware(moment).astimezone(self.tz).date()
        return (local.toordinal() - self._start_ordinal) // self._step

    def key_at(self, index: int) -> str:
        """The first day of the period, ``YYYY-MM-DD``."""
        return date.fromordinal(self._start_ordinal + index * self._step).isoformat()

    def keys_between(self, start: int, stop: int) -> list[str]:
        """Batch formatting of keys."""
        base, step = self._start_ordinal, self._step
        if stop - start < 64:
            fromordinal = date.fromordinal
            return [fromordinal(base + i * step).isoformat() for i in range(start, stop)]
        import numpy as np  # noqa: PLC0415 - only for long ranges; a slow import

        days = np.arange(start, stop, dtype=np.int64) * step + (base - _EPOCH_ORDINAL)
        keys: list[str] = np.datetime_as_string(days.astype("datetime64[D]")).tolist()
        return keys

    def index_of(self, key: str) -> int:
        """The number of ``key``."""
        if not isinstance(key, str) or not _DATE.fullmatch(key):
            raise self.key_error(key, "expected a date YYYY-MM-DD")
        try:
            day = date.fromisoformat(key)
        except ValueError as exc:
            raise self.key_error(key, str(exc)) from None
        offset = day.toordinal() - self._start_ordinal
        if offset % self._step:
            raise self.key_error(key, f"a week here starts on a {_WEEKDAYS[self._start_weekday]}")
        return self._index_checked(key, offset // self._step)

    @property
    def _start_weekday(self) -> int:
        return date.fromordinal(self._start_ordinal).weekday()


@dataclass(frozen=True, repr=False)
class DailyPartitions(_DayBased):
    """One partition per local calendar day, key ``YYYY-MM-DD``.

    ``DailyPartitions(start="2025-01-01", end=None, timezone="UTC", end_offset=0,
    dimension="date")``; ``end`` is exclusive.
    """

    @property
    def grain(self) -> str:
        """``daily``."""
        return "daily"


@dataclass(frozen=True, repr=False)
class WeeklyPartitions(_DayBased):
    """One partition per week, keyed by its first day (``2025-01-06``).

    ``start`` must fall on ``week_start`` (any weekday name, default ``monday``).
    """

    week_start: str = "monday"
    _step = 7

    def __post_init__(self) -> None:
        name = self.week_start.lower() if isinstance(self.week_start, str) else ""
        if name not in _WEEKDAYS:
            raise DefinitionError(
                f"invalid week_start {self.week_start!r}", hint="use a weekday name: monday..sunday"
            )
        object.__setattr__(self, "week_start", name)
        super().__post_init__()

    def _check_bounds(self) -> None:
        super()._check_bounds()
        for label, text in (("start", self.start), ("end", self.end)):
            if text is None:
                continue
            day = _parse_date(text)
            wanted = _WEEKDAYS.index(self.week_start)
            if day.weekday() != wanted:
                before = day - timedelta(days=(day.weekday() - wanted) % 7)
                raise DefinitionError(
                    f"WeeklyPartitions {label} {text} is a {_WEEKDAYS[day.weekday()]}, "
                    f"but weeks start on {self.week_start}",
                    hint=f"use {label}={before.isoformat()!r} (or change week_start)",
                )

    @property
    def grain(self) -> str:
        """``weekly``."""
        return "weekly"

    def _extra_repr(self) -> list[str]:
        return [] if self.week_start == "monday" else [f"week_start={self.week_start}"]


@dataclass(frozen=True, repr=False)
class MonthlyPartitions(TimePartitions):
    """One partition per calendar month, key ``YYYY-MM``; ``start="2025-01"``."""

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(self, "start", self._month_text(self.start))
        if self.end is not None:
            object.__setattr__(self, "end", self._month_text(self.end))

    @staticmethod
    def _month_text(text: str) -> str:
        match = _MONTH.fullmatch(text)
        assert match is not None
        return f"{match.group(1)}-{match.group(2)}"

    @property
    def grain(self) -> str:
        """``monthly``."""
        return "monthly"

    @staticmethod
    def _month_number(text: str) -> int:
        match = _MONTH.fullmatch(text)
        if not match:
            raise ValueError("expected YYYY-MM")
        year, month = int(match.group(1)), int(match.group(2))
        if not 1 <= month <= 12 or year < 1:
            raise ValueError("month must be 01..12")
        return year * 12 + month - 1

    @cached_property
    def _start_month(self) -> int:
        return self._month_number(self.start)

    def _parse_bound(self, text: str) -> datetime:
        number = self._month_number(text)
        return datetime(number // 12, number % 12 + 1, 1, tzinfo=self.tz)

    def period_start(self, index: int) -> datetime:
        """Local midnight of the first day of the month."""
        number = self._start_month + index
        return datetime(number // 12, number % 12 + 1, 1, tzinfo=self.tz)

    def index_at(self, moment: datetime) -> int:
        """The month containing ``moment``."""
        local = require_aware(moment).astimezone(self.tz)
        return local.year * 12 + local.month - 1 - self._start_month

    def key_at(self, index: int) -> str:
        """``YYYY-MM``."""
        number = self._start_month + index
        return f"{number // 12:04d}-{number % 12 + 1:02d}"

    def index_of(self, key: str) -> int:
        """The number of ``key``."""
        if not isinstance(key, str) or not re.fullmatch(r"[0-9]{4}-[0-9]{2}", key, re.ASCII):
            raise self.key_error(key, "expected a month YYYY-MM")
        try:
            number = self._month_number(key)
        except ValueError as exc:
            raise self.key_error(key, str(exc)) from None
        return self._index_checked(key, number - self._start_month)


@dataclass(frozen=True, repr=False)
class HourlyPartitions(TimePartitions):
    """One partition per real hour; keys are local wall times (see the module docstring).

    ``start`` is a local wall time ``2025-01-01T00:00`` (or a date for midnight).
    Assumes the zone's offsets change by whole hours (true of every zone in use
    except Australia/Lord_Howe).
    """

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(self, "start", self._bound_text(self.start))
        if self.end is not None:
            object.__setattr__(self, "end", self._bound_text(self.end))

    def _bound_text(self, text: str) -> str:
        return self._parse_bound(text).strftime("%Y-%m-%dT%H:%M")

    @property
    def grain(self) -> str:
        """``hourly``."""
        return "hourly"

    def _parse_bound(self, text: str) -> datetime:
        match = _HOUR.fullmatch(text)
        if not match or match.group(4):
            raise ValueError("expected a local wall time YYYY-MM-DDTHH:00")
        day = _parse_date(match.group(1))
        hour, minute = int(match.group(2) or 0), int(match.group(3) or 0)
        if minute != 0 or hour > 23:
            raise ValueError("an hourly bound is on the hour (minute 00)")
        wall = datetime.combine(day, time(hour), tzinfo=self.tz)
        if to_utc(wall).astimezone(self.tz).replace(tzinfo=None) != wall.replace(tzinfo=None):
            raise ValueError(f"{text} does not exist in {self.timezone} (clocks jump forward)")
        return wall

    @cached_property
    def _anchor(self) -> datetime:
        return to_utc(self._parse_bound(self.start))

    def period_start(self, index: int) -> datetime:
        """The start of hour ``index`` in the definition's zone."""
        return (self._anchor + index * _HOUR_DELTA).astimezone(self.tz)

    def index_at(self, moment: datetime) -> int:
        """The hour containing ``moment``."""
        return (to_utc(require_aware(moment)) - self._anchor) // _HOUR_DELTA

    def key_at(self, index: int) -> str:
        """The local wall time; the two repeated hours of a fall-back day carry an offset."""
        local = self.period_start(index)
        key = f"{local.year:04d}-{local.month:02d}-{local.day:02d}T{local.hour:02d}:00"
        if local.replace(fold=1 - local.fold).utcoffset() != local.utcoffset():
            key += _offset_text(local)
        return key

    def index_of(self, key: str) -> int:
        """The number of ``key``."""
        match = _HOUR.fullmatch(key) if isinstance(key, str) else None
        if not match or match.group(2) is None:
            raise self.key_error(key, "expected a local wall time YYYY-MM-DDTHH:00")
        try:
            day = _parse_date(match.group(1))
        except ValueError as exc:
            raise self.key_error(key, str(exc)) from None
        hour, minute = int(match.group(2)), int(match.group(3))
        if minute != 0 or hour > 23:
            raise self.key_error(key, "an hourly key is on the hour (minute 00)")
        naive = datetime.combine(day, time(hour))
        candidates = []
        for fold in (0, 1):
            local = naive.replace(tzinfo=self.tz, fold=fold)
            if to_utc(local).astimezone(self.tz).replace(tzinfo=None) == naive:
                candidates.append(local)
        if not candidates:
            raise self.key_error(
                key, f"this hour does not exist in {self.timezone} (clocks jump forward)"
            )
        if match.group(4):
            sign = 1 if match.group(4) == "+" else -1
            offset = sign * timedelta(hours=int(match.group(5)), minutes=int(match.group(6)))
            chosen = [c for c in candidates if c.utcoffset() == offset]
            if not chosen:
                raise self.key_error(
                    key, f"the offset is not valid at that time in {self.timezone}"
                )
            instant = chosen[0]
        else:
            if len({c.utcoffset() for c in candidates}) > 1:
                options = " or ".join(
                    repr(naive.strftime("%Y-%m-%dT%H:%M") + _offset_text(c)) for c in candidates
                )
                raise self.key_error(
                    key, f"this hour occurs twice in {self.timezone}; write {options}"
                )
            instant = candidates[0]
        delta = to_utc(instant) - self._anchor
        if delta % _HOUR_DELTA:
            raise self.key_error(key, "it does not start an hour of this definition")
        return self._index_checked(key, delta // _HOUR_DELTA)


def _offset_text(moment: datetime) -> str:
    text = moment.strftime("%z")
    return f"{text[:3]}:{text[3:]}"
