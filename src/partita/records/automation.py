"""What the daemon records: tick and sensor evaluations, cursors, the daemon lock.

:class:`AutomationRecords` is the part of a catalog the daemon
(:mod:`partita.automation`) uses; every catalog offers one as
``catalog.automation``. Its writes are each one transaction, so a daemon
killed at any point leaves an evaluation either recorded with its cursor (and
the files it handled) or not at all; an unrecorded evaluation is made again on
restart and plans nothing that is already built.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

__all__ = ["AutomationRecords", "DaemonHolder", "TickKind", "TickRecord", "TickStatus"]


class TickKind(StrEnum):
    """What was evaluated."""

    SCHEDULE = "schedule"
    SENSOR = "sensor"
    EAGER = "eager"
    JOB = "job"


class TickStatus(StrEnum):
    """How an evaluation ended.

    ``succeeded`` / ``failed``: it launched a run that succeeded / failed;
    ``nothing_to_do``: nothing was stale (or the sensor found nothing new);
    ``skipped``: a missed tick beyond ``max_catchup``; ``error``: the
    evaluation itself raised (a sensor's function, a bad selection).
    """

    SUCCEEDED = "succeeded"
    FAILED = "failed"
    NOTHING_TO_DO = "nothing_to_do"
    SKIPPED = "skipped"
    ERROR = "error"


@dataclass(frozen=True)
class TickRecord:
    """One evaluation of a schedule tick, a sensor, an eager selection or a job.

    ``tick_at`` is the scheduled time of a schedule's (newest) tick, else the
    evaluation's time; ``covered`` lists what it covered (the missed tick times
    it caught up, or the files a sensor handled); ``run_ids`` the runs it launched.
    """

    kind: TickKind
    name: str
    tick_at: datetime
    evaluated_at: datetime
    status: TickStatus
    run_ids: tuple[str, ...] = ()
    covered: tuple[str, ...] = ()
    detail: str = ""
    id: int | None = None

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (``partita ticks --json``)."""
        return {
            "id": self.id,
            "kind": self.kind.value,
            "name": self.name,
            "tick_at": self.tick_at.isoformat(),
            "evaluated_at": self.evaluated_at.isoformat(),
            "status": self.status.value,
            "run_ids": list(self.run_ids),
            "covered": list(self.covered),
            "detail": self.detail,
        }


@dataclass(frozen=True)
class DaemonHolder:
    """Who holds a project's daemon lock: host, pid, since when, last heartbeat."""

    token: str
    host: str
    pid: int
    since: datetime
    heartbeat_at: datetime

    def describe(self) -> str:
        """``pid 123 on host, since 2025-03-02 02:00 UTC``."""
        return f"pid {self.pid} on {self.host}, since {self.since:%Y-%m-%d %H:%M:%S} UTC"


class AutomationRecords(Protocol):
    """The daemon's records in a catalog (``catalog.automation``)."""

    def acquire_daemon_lock(
        self, holder: DaemonHolder, *, now: datetime, ttl_s: float
    ) -> DaemonHolder | None:
        """Take the project's daemon lock for ``holder``; return ``None`` when taken,
        else the live holder. A holder whose process is gone (same host) or whose
        heartbeat is older than ``ttl_s`` is taken over."""
        ...

    def renew_daemon_lock(self, token: str, *, now: datetime) -> bool:
        """Record a heartbeat of the lock ``token`` holds; ``False``: it lost the lock."""
        ...

    def release_daemon_lock(self, token: str) -> None:
        """Give the lock up (only if ``token`` holds it)."""
        ...

    def daemon_holder(self) -> DaemonHolder | None:
        """Who holds the lock (alive or not), or ``None``."""
        ...

    def cursor(self, kind: TickKind, name: str) -> str | None:
        """The stored cursor of a schedule or sensor (``None``: never evaluated)."""
        ...

    def record_tick(
        self, tick: TickRecord, *, cursor: str | None = None, files: Sequence[str] = ()
    ) -> int:
        """Record an evaluation, its new cursor (``None``: unchanged) and the files it
        handled, in one transaction; return the record's id."""
        ...

    def handled_files(self, sensor: str, paths: Sequence[str]) -> set[str]:
        """Which of ``paths`` sensor ``sensor`` has handled."""
        ...

    def ticks(
        self, *, kind: TickKind | None = None, name: str | None = None, limit: int = 50
    ) -> list[TickRecord]:
        """The latest evaluations, newest first."""
        ...

    def prune_ticks(self, *, before: datetime, batch: int = 5000) -> int:
        """Delete the evaluations that launched nothing (``nothing_to_do``, ``skipped``)
        made before ``before``, except the newest of each schedule, sensor, eager
        selection and job and those a file sensor's handled files refer to; return how
        many were deleted. Deletes ``batch`` rows per transaction."""
        ...

    def change_marker(self) -> tuple[int, ...]:
        """A value that changes whenever a materialization, observation, step attempt,
        wipe or dynamic partition key is recorded or deleted (cheap: so that eager
        selections and quiet schedules plan only after a change)."""
        ...
