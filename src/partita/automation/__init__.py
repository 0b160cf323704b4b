"""Automation: ``partita daemon`` runs schedules, sensors and eager selections.

The declarations (:class:`~partita.schedules.Schedule`, the sensors and
:class:`~partita.sensors.Eager`) are plain values held by ``Definitions``;
this package evaluates them:

* :mod:`.scheduling`: which ticks are due, catch-up bounded by ``max_catchup``;
* :mod:`.sensing`: file, source-observation and custom sensors;
* :mod:`.launching`: :func:`launch_run`, the one way the daemon starts a run;
* :mod:`.lock`: one daemon per project (a lock in the catalog);
* :mod:`.daemon`: the loop, with clock and sleep injected;
* :mod:`.listing`: what ``partita schedules`` and ``partita ticks`` show.

It sits between the CLI and the api: it calls the api to plan and run.
"""

from __future__ import annotations

from partita.automation.daemon import Daemon, PeriodicJob
from partita.automation.launching import LaunchSettings, RunOrigin, launch_run
from partita.automation.listing import ScheduleInfo, list_ticks, schedule_infos
from partita.automation.lock import DaemonLock, DaemonRunningError

__all__ = [
    "Daemon",
    "DaemonLock",
    "DaemonRunningError",
    "LaunchSettings",
    "PeriodicJob",
    "RunOrigin",
    "ScheduleInfo",
    "launch_run",
    "list_ticks",
    "schedule_infos",
]
