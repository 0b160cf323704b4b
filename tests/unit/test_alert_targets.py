"""Alert targets as declared, and the payloads and messages built from events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from partita import Definitions, asset
from partita.alert_targets import AlertKind, email, env, targets_of, webhook
from partita.alerts import failure_alert, freshness_alert, webhook_payload
from partita.errors import DefinitionError
from partita.events import StepFailed
from partita.freshness import AssetFreshness, FreshnessStatus
from partita.keys import AssetKey

AT = datetime(2025, 3, 1, 2, 0, tzinfo=UTC)


def _failed(error: str = "ValueError: <!channel> & co\nTraceback ...") -> StepFailed:
    return StepFailed(
        run_id="20250301T020000-abc123",
        at=AT,
        asset="sales/orders",
        partition="2025-02-28",
        attempt=3,
        status="failed",
        error=error,
        started_at=AT - timedelta(seconds=2),
        duration_s=1.5,
    )


def test_reprs_never_show_a_secret() -> None:
    assert repr(env("SLACK_WEBHOOK")) == "env('SLACK_WEBHOOK')"
    literal = webhook("https://hooks.slack.com/services/T0/B0/s3cr3t")
    assert "s3cr3t" not in repr(literal)
    assert repr(literal) == "webhook(url='https://hooks.slack.com/...', format='slack')"
    mail = email("a@example.com", smtp="mail:587", username=env("U"), password=env("P"))
    assert repr(mail) == "email(to=['a@example.com'], smtp='mail:587')"


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: env("https://x"), "not an environment variable name"),
        (lambda: webhook("hooks.slack.com/x"), "must be an http"),
        (lambda: webhook(env("X"), format="discord"), "unknown format"),  # type: ignore[arg-type]
        (lambda: webhook(env("X"), timeout_s=0), "timeout_s must be a positive number"),
        (lambda: email("nobody", smtp="mail"), "give one or more email addresses"),
        (lambda: email("a@b.c", smtp="m", password="hunter2"), "never the password itself"),  # type: ignore[arg-type]
        (lambda: targets_of("https://hooks/x", "on_failure"), "got a string"),
        (lambda: targets_of([42], "on_failure"), "42 is not an alert target"),
    ],
)
def test_bad_declarations_say_what_is_wrong(make: object, message: str) -> None:
    with pytest.raises(DefinitionError, match=message):
        make()  # type: ignore[operator]


def test_targets_on_assets_and_the_project() -> None:
    hook = webhook(env("HOOK"))

    @asset(on_failure=hook, on_freshness_violation=[hook, print])
    def orders() -> None: ...

    assert orders.on_failure == (hook,)
    assert orders.on_freshness_violation == (hook, print)
    defs = Definitions(assets=[orders], on_failure=[print], on_freshness_violation=hook)
    assert defs.on_failure == (print,) and defs.on_freshness_violation == (hook,)
    with pytest.raises(DefinitionError, match=r"Definitions\(on_failure=\.\.\.\)"):
        Definitions(assets=[orders], on_failure=["https://example.com"])


def test_a_failure_alert_and_its_slack_and_teams_payloads() -> None:
    alert = failure_alert(_failed())
    assert alert.kind is AlertKind.STEP_FAILED
    assert alert.title == "partita: sales/orders[2025-02-28] failed"
    assert alert.text.splitlines() == [
        "sales/orders[2025-02-28] failed in run 20250301T020000-abc123 (attempt 3, 1.5 s).",
        "ValueError: <!channel> & co",
    ]
    slack = webhook_payload(alert, "slack")
    assert slack["text"] == alert.title
    section = slack["blocks"][1]["text"]
    assert section["type"] == "mrkdwn"
    assert "&lt;!channel&gt; &amp; co" in section["text"] and "<!channel>" not in section["text"]
    teams = webhook_payload(alert, "teams")
    assert teams["type"] == "message"
    (attachment,) = teams["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert card["type"] == "AdaptiveCard" and card["version"] == "1.4"
    title, text, fact_set = card["body"]
    assert (title["text"], title["color"]) == (alert.title, "Attention")
    assert text["text"] == alert.text and fact_set["type"] == "FactSet"
    facts = {f["title"]: f["value"] for f in fact_set["facts"]}
    assert facts == {
        "asset": "sales/orders",
        "partition": "2025-02-28",
        "run": "20250301T020000-abc123",
        "at": "2025-03-01T02:00:00+00:00",
    }
    assert webhook_payload(alert, "json")["error"].startswith("ValueError")
    timed_out = failure_alert(replace_status(_failed(), "timed_out"))
    assert timed_out.title.endswith("timed out")


def replace_status(event: StepFailed, status: str) -> StepFailed:
    return StepFailed(
        run_id=event.run_id,
        at=event.at,
        asset=event.asset,
        partition=event.partition,
        attempt=event.attempt,
        status=status,
        error=event.error,
        started_at=event.started_at,
        duration_s=event.duration_s,
    )


def test_freshness_alerts_say_violated_or_recovered() -> None:
    item = AssetFreshness(
        asset=AssetKey("orders"),
        kind="asset",
        status=FreshnessStatus.LATE,
        policy="max lag 26h",
        newest_partition="2025-02-28",
        judged_partition="2025-02-28",
        last_materialization=AT - timedelta(days=2),
        lag=timedelta(days=2),
        next_deadline=None,
        reason="2 days old",
    )
    violated = freshness_alert(item, violated=True, at=AT)
    assert violated.kind is AlertKind.FRESHNESS_VIOLATED
    assert violated.title == "partita: orders is late"
    assert "violates its freshness policy [max lag 26h]: 2 days old" in violated.text
    recovered = freshness_alert(item, violated=False, at=AT)
    assert recovered.kind is AlertKind.FRESHNESS_RECOVERED
    card = webhook_payload(recovered, "teams")["attachments"][0]["content"]
    assert card["body"][0]["color"] == "Good"
