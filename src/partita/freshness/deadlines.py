"""When data is due: cron ticks in a time zone, and the due time of a time partition.

A cron expression is iterated in local wall time of the policy's zone (so
``0 9 * * *`` in ``Europe/Berlin`` is 09:00 on every day, 23- and 25-hour days
included) and each tick is then placed on the time line with :mod:`zoneinfo`.
A tick inside a spring-forward gap takes the offset from before the jump.

Partition ``p`` of a time definition is *due* (must be present and current)
at the earlier of:

- ``start(p) + max_lag``: from then on, without ``p`` the newest data would be
  older than ``max_lag`` (lag is measured from the end of the newest good
  partition's window, and ``end(p - 1) == start(p)``);
- the first ``deadline`` tick at or after ``end(p)``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from croniter import croniter

from partita.partitions import TimePartitions
from partita.policies import Freshness

__all__ = ["due_at", "last_due_index", "next_tick", "previous_tick", "tick_before"]

_TICK = timedelta(microseconds=1)


def _local(moment: datetime, tz: ZoneInfo) -> datetime:
    return moment.astimezone(tz).replace(tzinfo=None)


def _place(naive: datetime, tz: ZoneInfo) -> datetime:
    return naive.replace(tzinfo=tz).astimezone(UTC)


def previous_tick(expression: str, timezone: str, moment: datetime) -> datetime:
    """The last tick of ``expression`` at or before ``moment`` (UTC)."""
    tz = ZoneInfo(timezone)
    found = croniter(expression, _local(moment, tz) + _TICK).get_prev(datetime)
    return _place(found, tz)


def next_tick(expression: str, timezone: str, moment: datetime) -> datetime:
    """The first tick of ``expression`` at or after ``moment`` (UTC)."""
    tz = ZoneInfo(timezone)
    found = croniter(expression, _local(moment, tz) - _TICK).get_next(datetime)
    return _place(found, tz)


def tick_before(expression: str, timezone: str, tick: datetime) -> datetime:
    """The tick strictly before ``tick`` (UTC)."""
    tz = ZoneInfo(timezone)
    found = croniter(expression, _local(tick, tz)).get_prev(datetime)
    return _place(found, tz)


def due_at(policy: Freshness, definition: TimePartitions, index: int) -> datetime:
    """When partition ``index`` of ``definition`` is due under ``policy`` (UTC)."""
    candidates: list[datetime] = []
    lag = policy.max_lag_delta
    if lag is not None:
        candidates.append(definition.period_start(index).astimezone(UTC) + lag)
    if policy.deadline is not None:
        end = definition.period_start(index + 1)
        candidates.append(next_tick(policy.deadline, policy.timezone, end))
    return min(candidates)


def last_due_index(policy: Freshness, definition: TimePartitions, now: datetime) -> int:
    """The newest partition index due at ``now`` (may be past the existing ones, or < 0)."""
    indices: list[int] = []
    lag = policy.max_lag_delta
    if lag is not None:
        indices.append(definition.index_at(now - lag))
    if policy.deadline is not None:
        tick = previous_tick(policy.deadline, policy.timezone, now)
        indices.append(definition.index_at(tick) - 1)
    return max(indices)
