"""Failure alerts: an event subscriber that alerts once per step that failed for good.

The runner publishes :class:`~partita.events.StepRetried` for an attempt that
will be tried again and :class:`~partita.events.StepFailed` only after the
last one, so :class:`FailureAlerts` sends exactly one alert per failed step,
never one per attempt. The targets of a step are the asset's ``on_failure``,
the project's ``Definitions(on_failure=...)`` and any extra targets of the
run (a schedule's), each target once.

As every subscriber it runs on a delivery thread of its own
(:class:`~partita.events.EventBus`): sending never slows the run, and what is
still being sent when the run ends is waited for at most the bus's flush
timeout (``RunOptions.events_flush_s``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from partita.alert_targets import AlertTarget
from partita.alerts.delivery import AlertSender
from partita.alerts.messages import failure_alert
from partita.definitions import Definitions
from partita.events import Event, StepFailed

__all__ = ["FailureAlerts", "failure_alerts"]


class FailureAlerts:
    """Sends an alert for each :class:`~partita.events.StepFailed` of a run.

    Args:
        by_asset: each asset's own targets (by key string).
        everywhere: targets of every failed step (the project's, the run's).
        sender: who sends (and logs failures once); a new one by default.
    """

    def __init__(
        self,
        by_asset: Mapping[str, tuple[AlertTarget, ...]],
        everywhere: Iterable[AlertTarget] = (),
        sender: AlertSender | None = None,
    ) -> None:
        self.by_asset = dict(by_asset)
        self.everywhere = tuple(everywhere)
        self.sender = sender or AlertSender()

    def targets(self, asset: str) -> tuple[AlertTarget, ...]:
        """Where an alert about ``asset`` goes."""
        return self.by_asset.get(asset, ()) + self.everywhere

    def __call__(self, event: Event, /) -> None:
        """Alert on a failed step; ignore every other event."""
        if isinstance(event, StepFailed):
            targets = self.targets(event.asset)
            if targets:
                self.sender.send(failure_alert(event), targets)


def failure_alerts(
    definitions: Definitions,
    extra: Iterable[AlertTarget] = (),
    sender: AlertSender | None = None,
) -> FailureAlerts | None:
    """The failure-alert subscriber of a project's runs (``None`` when nobody is to be told).

    Args:
        definitions: the project (its assets' and its own ``on_failure``).
        extra: more targets for this run (a schedule's ``on_failure``).
        sender: share one sender across runs (a daemon), so a dead target is logged once.
    """
    by_asset = {str(s.key): s.on_failure for s in definitions.assets if s.on_failure}
    everywhere = (*definitions.on_failure, *extra)
    if not by_asset and not everywhere:
        return None
    return FailureAlerts(by_asset, everywhere, sender)
