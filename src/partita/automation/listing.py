"""What ``partita schedules`` and ``partita ticks`` show: schedules with their next
ticks in their own time zone, and the recorded evaluations."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from partita.api import Project
from partita.records import TickKind, TickRecord

__all__ = ["ScheduleInfo", "list_ticks", "schedule_infos"]


@dataclass(frozen=True)
class ScheduleInfo:
    """One schedule: its declaration, next ticks (in its zone) and last recorded tick."""

    name: str
    cron: str
    timezone: str
    selection: str | None
    max_catchup: int | None
    next_ticks: tuple[datetime, ...]
    last: TickRecord | None

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (``partita schedules --json``)."""
        return {
            "name": self.name,
            "cron": self.cron,
            "timezone": self.timezone,
            "selection": self.selection,
            "max_catchup": self.max_catchup,
            "next_ticks": [tick.isoformat() for tick in self.next_ticks],
            "last_tick": None if self.last is None else self.last.to_json(),
        }


def schedule_infos(project: Project, now: datetime, *, count: int = 3) -> list[ScheduleInfo]:
    """Every schedule of ``project`` with its next ``count`` ticks after ``now``."""
    infos: list[ScheduleInfo] = []
    with project.existing_catalog() as catalog:
        for schedule in project.loaded.definitions.schedules:
            ticks = schedule.ticks_after(now)
            upcoming = tuple(next(ticks).astimezone(schedule.zone) for _ in range(count))
            last = None
            if catalog is not None:
                found = catalog.automation.ticks(
                    kind=TickKind.SCHEDULE, name=schedule.name, limit=1
                )
                last = found[0] if found else None
            infos.append(
                ScheduleInfo(
                    name=schedule.name,
                    cron=schedule.cron,
                    timezone=schedule.timezone,
                    selection=schedule.selection,
                    max_catchup=schedule.max_catchup,
                    next_ticks=upcoming,
                    last=last,
                )
            )
    return infos


def list_ticks(
    project: Project,
    *,
    kind: TickKind | None = None,
    name: str | None = None,
    limit: int = 50,
) -> list[TickRecord]:
    """The latest recorded evaluations, newest first (empty for a project that never ran)."""
    with project.existing_catalog() as catalog:
        if catalog is None:
            return []
        return catalog.automation.ticks(kind=kind, name=name, limit=limit)
