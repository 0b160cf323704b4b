"""Delivering alerts: failed steps (an event subscriber) and freshness violations.

- :mod:`partita.alerts.messages`: alerts as values; Slack and Teams webhook JSON.
- :mod:`partita.alerts.delivery`: :class:`AlertSender` sends to webhooks, email
  and callables with bounded timeouts, logs a failing target once, never raises.
- :mod:`partita.alerts.failures`: :class:`FailureAlerts`, the subscriber that
  alerts once per step that failed for good (after its last retry).
- :mod:`partita.alerts.freshness`: :func:`freshness_alert_transitions`, one
  alert per violation and one on recovery, the state kept in the catalog.

The targets themselves (``webhook()``, ``email()``, ``env()``) are declared in
:mod:`partita.alert_targets`.
"""

from partita.alerts.delivery import AlertSender, DeliveryProblem, target_name
from partita.alerts.failures import FailureAlerts, failure_alerts
from partita.alerts.freshness import FreshnessAlerts, freshness_alert_transitions
from partita.alerts.messages import failure_alert, freshness_alert, webhook_payload

__all__ = [
    "AlertSender",
    "DeliveryProblem",
    "FailureAlerts",
    "FreshnessAlerts",
    "failure_alert",
    "failure_alerts",
    "freshness_alert",
    "freshness_alert_transitions",
    "target_name",
    "webhook_payload",
]
