"""A fake clock for the daemon (sleep advances it) and reading back what was built."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from partita.api import Project, history
from partita.automation import Daemon, LaunchSettings, list_ticks
from partita.records import TickKind, TickRecord


class FakeClock:
    """Time that moves only when the daemon sleeps: days of ticks in seconds."""

    def __init__(self, start: datetime) -> None:
        self.moment = start

    def now(self) -> datetime:
        return self.moment

    def sleep(self, seconds: float) -> None:
        self.moment += timedelta(seconds=max(seconds, 0.001))


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


def run_daemon(project: Project, start: datetime, until: datetime) -> FakeClock:
    """Run the project's daemon in this process from ``start`` to ``until`` (fake time)."""
    clock = FakeClock(start)
    daemon = Daemon(
        project,
        clock=clock.now,
        sleep=clock.sleep,
        settings=LaunchSettings(executor="inprocess"),
    )
    daemon.run(until=until, handle_signals=False)
    return clock


def built(project: Project, asset: str) -> Counter[str]:
    """How many times each partition of ``asset`` was materialized."""
    return Counter(str(m.partition) for m in history(project, asset, limit=10_000))


def ticks(project: Project, kind: TickKind = TickKind.SCHEDULE) -> list[TickRecord]:
    """The recorded evaluations of one kind, oldest first."""
    return list(reversed(list_ticks(project, kind=kind, limit=10_000)))
