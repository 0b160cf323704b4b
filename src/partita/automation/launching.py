"""``launch_run``: the one function through which the daemon starts a run.

Every run a schedule, a sensor or an eager selection asks for goes through
:func:`launch_run`, so whatever should hang on every automated run (alert
subscribers, a display) is added in one place: pass it in ``subscribers``.
Runs go through :func:`partita.api.materialize` in this process (user code
runs in the executor's processes, as for ``partita materialize``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from partita.alert_targets import AlertTarget
from partita.alerts import AlertSender
from partita.api import CancelToken, Project, RunOutcome, RunResult, materialize
from partita.events import Subscriber
from partita.records import TickKind, TickStatus
from partita.sensors import RunRequest

__all__ = ["LaunchSettings", "RunOrigin", "failure_text", "launch_run", "tick_status"]


@dataclass(frozen=True)
class RunOrigin:
    """What asked for a run: a schedule, a sensor or an eager selection, by name."""

    kind: TickKind
    name: str


@dataclass(frozen=True)
class LaunchSettings:
    """How the daemon's runs execute (``partita daemon --executor --max-workers``)."""

    executor: str | None = None
    max_workers: int | None = None


def launch_run(
    project: Project,
    request: RunRequest,
    *,
    origin: RunOrigin,
    now: datetime,
    cancel: CancelToken,
    settings: LaunchSettings | None = None,
    subscribers: Sequence[Subscriber] = (),
    on_failure: Sequence[AlertTarget] = (),
    alert_sender: AlertSender | None = None,
) -> RunResult:
    """Plan ``request`` as of ``now`` and run what is stale; return the run's result.

    Args:
        project: the daemon's project.
        request: the selection and partitions to build.
        origin: the schedule, sensor or eager selection asking (for subscribers
            that care, such as a schedule's alerts).
        now: the planning time (a schedule's tick time: partitions complete at it).
        cancel: the daemon's token: SIGTERM cancels the run as it does ``materialize``.
        settings: executor and workers.
        subscribers: extra event subscribers for this run.
        on_failure: alert targets for this run's failed steps (a schedule's),
            besides the assets' and the project's.
        alert_sender: the daemon's one sender (a dead target is logged once).
    """
    del origin  # recorded by the caller with the tick; subscribers may be made from it
    settings = settings or LaunchSettings()
    return materialize(
        project,
        request.selection,
        partition_key=request.partition_key,
        partition_range=request.partition_range,
        force=request.force,
        executor=settings.executor,
        max_workers=settings.max_workers,
        now=now,
        subscribers=subscribers,
        on_failure=on_failure,
        alert_sender=alert_sender,
        cancel=cancel,
        handle_signals=False,
    )


def tick_status(result: RunResult) -> TickStatus:
    """The record status of an evaluation that launched ``result``."""
    if result.status is RunOutcome.NOTHING_TO_DO:
        return TickStatus.NOTHING_TO_DO
    if result.status is RunOutcome.SUCCEEDED:
        return TickStatus.SUCCEEDED
    return TickStatus.FAILED


def failure_text(result: RunResult) -> str:
    """What failed in ``result``, in one line (empty when nothing did)."""
    failed = result.failed
    if not failed:
        return ""
    first = failed[0]
    error = (first.error or str(first.status)).splitlines()[0]
    more = f" and {len(failed) - 1} more" if len(failed) > 1 else ""
    return f"failed {first.label}: {error}{more}"
