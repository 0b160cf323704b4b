"""Freshness alerts: one alert when an asset's freshness policy becomes violated, one when
it recovers, none in between.

:func:`freshness_alert_transitions` takes a freshness report (judged by
:mod:`partita.freshness`) and, for each asset that has targets
(``@asset(on_freshness_violation=...)`` or
``Definitions(on_freshness_violation=...)``) and a policy, records in the
catalog whether the policy is violated (an ``error``-level status: late,
stale, missing, failed). Only a change makes an alert: violated after not
violated (or never recorded) -> a violation alert; not violated after
violated -> a "recovered" alert. The state is in the catalog, so a restarted
daemon or the next cron run does not alert again, and the change is a
compare-and-set: of two evaluations at once, one alerts.

The state is recorded before the alert is sent: a process killed between the
two loses that alert rather than sending it twice.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from partita.alert_targets import Alert, AlertTarget
from partita.alerts.delivery import AlertSender, DeliveryProblem
from partita.alerts.messages import freshness_alert
from partita.definitions import Definitions
from partita.freshness import FreshnessReport, Level
from partita.records import CatalogWriter

__all__ = ["FreshnessAlerts", "freshness_alert_transitions"]


@dataclass(frozen=True)
class FreshnessAlerts:
    """What one freshness-alert evaluation did.

    Attributes:
        alerts: the alerts sent (violations and recoveries), in report order.
        problems: deliveries that failed (secrets masked).
        watched: how many assets have freshness-alert targets and a policy.
    """

    alerts: tuple[Alert, ...] = ()
    problems: tuple[DeliveryProblem, ...] = ()
    watched: int = 0

    def describe(self) -> str:
        """One line for people."""
        violated = sum(1 for a in self.alerts if a.kind.value == "freshness_violated")
        recovered = len(self.alerts) - violated
        line = (
            f"freshness alerts: {violated} violation{'s' * (violated != 1)}, "
            f"{recovered} recover{'ies' if recovered != 1 else 'y'} "
            f"({self.watched} asset{'s' * (self.watched != 1)} watched)"
        )
        if self.problems:
            line += f"; {len(self.problems)} not delivered"
        return line


def freshness_alert_transitions(
    definitions: Definitions,
    report: FreshnessReport,
    catalog: CatalogWriter,
    *,
    now: datetime,
    sender: AlertSender | None = None,
    extra: Iterable[AlertTarget] = (),
) -> FreshnessAlerts:
    """Record each watched asset's freshness-alert state; alert on every change.

    Args:
        definitions: the project (each asset's and its own ``on_freshness_violation``).
        report: the freshness report judged at ``now``.
        catalog: where the states live.
        now: when (recorded with a change, and the alerts' time).
        sender: who sends (share one across evaluations so a dead target is logged once).
        extra: more targets for every asset.
    """
    specs = {s.key: s for s in definitions.all_specs}
    everywhere = (*definitions.on_freshness_violation, *extra)
    send = sender or AlertSender()
    alerts: list[Alert] = []
    problems: list[DeliveryProblem] = []
    watched = 0
    for item in report.assets:
        spec = specs.get(item.asset)
        targets = (*(spec.on_freshness_violation if spec is not None else ()), *everywhere)
        if not targets or item.policy is None:
            continue
        watched += 1
        violated = item.level is Level.ERROR
        asset = str(item.asset)
        if catalog.change_freshness_alert_state(asset, violated, status=item.status.value, now=now):
            alert = freshness_alert(item, violated=violated, at=now)
            alerts.append(alert)
            problems.extend(send.send(alert, targets))
    return FreshnessAlerts(tuple(alerts), tuple(problems), watched)
