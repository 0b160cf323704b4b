"""Alerts from the api: the failure-alert subscriber of every run, and freshness alerts.

- :func:`run_alert_subscribers`: what :func:`~partita.api.materialize` adds to a
  run's subscribers, so every run (``partita materialize``, a schedule's, one
  from Python) alerts on a failed step; a run may add targets (a schedule's).
- :func:`evaluate_freshness_alerts`: judge freshness now and alert on each
  asset whose policy became violated or recovered since the last evaluation
  (the state is in the catalog). ``partita freshness --alert`` calls it, and
  the daemon calls it on a cadence.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from partita.alert_targets import AlertTarget
from partita.alerts import AlertSender, FreshnessAlerts, failure_alerts, freshness_alert_transitions
from partita.api.freshness import freshness_report
from partita.api.project import Project
from partita.events import Subscriber
from partita.freshness import FreshnessReport

__all__ = ["FreshnessAlerts", "evaluate_freshness_alerts", "run_alert_subscribers"]


def run_alert_subscribers(
    project: Project,
    on_failure: Iterable[AlertTarget] = (),
    sender: AlertSender | None = None,
) -> tuple[Subscriber, ...]:
    """The subscribers that alert on a run's failed steps (none when nobody is to be told).

    Args:
        project: the project (its assets' and its own ``on_failure``).
        on_failure: more targets for this run.
        sender: share one across runs so a dead target is logged once.
    """
    found = failure_alerts(project.loaded.definitions, on_failure, sender)
    return () if found is None else (found,)


def evaluate_freshness_alerts(
    project: Project,
    selection: str | None = None,
    *,
    now: datetime | None = None,
    report: FreshnessReport | None = None,
    sender: AlertSender | None = None,
) -> FreshnessAlerts:
    """Alert on every watched asset whose freshness policy became violated or recovered.

    An asset is watched when it has a freshness policy and targets
    (``@asset(on_freshness_violation=...)`` or
    ``Definitions(on_freshness_violation=...)``). One alert per violation
    until it recovers, then one "recovered" alert; an evaluation that finds
    nothing changed sends nothing. Delivery failures are logged once and
    returned, never raised.

    Args:
        project: the project.
        selection: judge only these assets (default: every asset).
        now: the time to judge at (default: now). Unlike ``partita freshness
            --at``, the catalog is read as it is (an injected clock in tests
            and the daemon is "now", not a look into the past).
        report: a report already judged at ``now`` (``partita freshness --alert``
            prints it too), instead of judging again.
        sender: share one across evaluations so a dead target is logged once.
    """
    moment = report.now if report is not None else now or datetime.now(UTC)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    definitions = project.loaded.definitions
    watched = definitions.on_freshness_violation or any(
        s.on_freshness_violation for s in definitions.all_specs
    )
    if not watched:
        return FreshnessAlerts()
    judged = report if report is not None else freshness_report(project, selection, now=moment)
    with project.open_catalog() as catalog:
        return freshness_alert_transitions(definitions, judged, catalog, now=moment, sender=sender)
