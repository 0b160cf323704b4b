"""Alerts as values, and the JSON that Slack and Microsoft Teams incoming webhooks accept.

- :func:`failure_alert`: the :class:`~partita.alert_targets.Alert` of a step
  that failed for good (:class:`~partita.events.StepFailed`).
- :func:`freshness_alert`: the alert of an asset whose freshness policy became
  violated, or recovered.
- :func:`webhook_payload`: what a webhook posts. Slack: ``text`` (the
  notification's fallback) and ``blocks`` (a header and a ``mrkdwn`` section),
  as Slack's incoming webhooks take them. Teams: a ``message`` whose one
  attachment is an Adaptive Card (a bold title coloured by kind, the text, a
  ``FactSet``), the one format both Teams Workflows webhooks (which take
  Adaptive Cards only) and the older Microsoft 365 connector webhooks accept.
  ``json``: the alert itself (:meth:`~partita.alert_targets.Alert.to_json`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from partita.alert_targets import Alert, AlertKind, WebhookFormat
from partita.events import StepFailed
from partita.freshness import AssetFreshness

__all__ = ["failure_alert", "freshness_alert", "webhook_payload"]

_SLACK_TEXT_LIMIT = 2900  # a section's text may hold 3000 characters
_COLOURS = {  # Adaptive Card text colours
    AlertKind.STEP_FAILED: "Attention",
    AlertKind.FRESHNESS_VIOLATED: "Warning",
    AlertKind.FRESHNESS_RECOVERED: "Good",
}


def failure_alert(event: StepFailed) -> Alert:
    """The alert of a step that failed for good (after its last retry)."""
    what = "timed out" if event.status == "timed_out" else "failed"
    error_lines = event.error.splitlines() or [""]
    text = (
        f"{event.label} {what} in run {event.run_id} (attempt {event.attempt}, "
        f"{event.duration_s:.1f} s).\n{error_lines[0]}"
    )
    return Alert(
        kind=AlertKind.STEP_FAILED,
        title=f"partita: {event.label} {what}",
        text=text,
        asset=event.asset,
        partition=event.partition,
        at=event.at,
        run_id=event.run_id,
        attempt=event.attempt,
        status=event.status,
        error=event.error,
    )


def freshness_alert(item: AssetFreshness, *, violated: bool, at: datetime) -> Alert:
    """The alert of an asset whose freshness policy became violated (or recovered)."""
    asset = str(item.asset)
    policy = f" [{item.policy}]" if item.policy else ""
    if violated:
        title = f"partita: {asset} is {item.status.value}"
        text = f"{asset} violates its freshness policy{policy}: {item.reason}"
        kind = AlertKind.FRESHNESS_VIOLATED
    else:
        title = f"partita: {asset} recovered ({item.status.value})"
        text = f"{asset} meets its freshness policy again{policy}: {item.reason}"
        kind = AlertKind.FRESHNESS_RECOVERED
    if item.newest_partition:
        text += f"\nnewest partition: {item.newest_partition}"
    return Alert(
        kind=kind,
        title=title,
        text=text,
        asset=asset,
        at=at,
        partition=item.judged_partition,
        status=item.status.value,
    )


def _escape_slack(text: str) -> str:
    """Slack reads ``&``, ``<`` and ``>`` as markup (``<!channel>`` pings everyone)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _facts(alert: Alert) -> list[tuple[str, str]]:
    facts = [("asset", alert.asset)]
    if alert.partition:
        facts.append(("partition", alert.partition))
    if alert.run_id:
        facts.append(("run", alert.run_id))
    facts.append(("at", alert.at.isoformat(timespec="seconds")))
    return facts


def webhook_payload(alert: Alert, format: WebhookFormat) -> dict[str, Any]:
    """The JSON body a webhook of ``format`` posts for ``alert``."""
    if format == "json":
        return alert.to_json()
    if format == "teams":
        card = {
            "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
            "type": "AdaptiveCard",
            "version": "1.4",
            "body": [
                {
                    "type": "TextBlock",
                    "text": alert.title,
                    "weight": "Bolder",
                    "size": "Medium",
                    "color": _COLOURS[alert.kind],
                    "wrap": True,
                },
                {"type": "TextBlock", "text": alert.text, "wrap": True},
                {"type": "FactSet", "facts": [{"title": k, "value": v} for k, v in _facts(alert)]},
            ],
        }
        return {
            "type": "message",
            "summary": alert.title,
            "attachments": [
                {
                    "contentType": "application/vnd.microsoft.card.adaptive",
                    "contentUrl": None,
                    "content": card,
                }
            ],
        }
    body = _escape_slack(alert.text)[:_SLACK_TEXT_LIMIT]
    facts = " · ".join(f"*{k}*: {_escape_slack(v)}" for k, v in _facts(alert))
    return {
        "text": _escape_slack(alert.title),
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": alert.title[:150]}},
            {"type": "section", "text": {"type": "mrkdwn", "text": body}},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": facts}]},
        ],
    }
