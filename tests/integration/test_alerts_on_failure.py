"""Failure alerts from real runs: a loopback webhook, a local SMTP server, dead endpoints."""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

import pandas as pd
import pytest

import partita
from partita import Alert, Definitions, RetryPolicy, asset, email, env, webhook
from tests.conftest import run_cli, write_project
from tests.integration.alert_receivers import (
    closed_port_url,
    hanging_endpoint,
    smtp_receiver,
    webhook_receiver,
)

FAST_RETRY = RetryPolicy(max_attempts=3, delay=0.01, jitter=False)


def _failing_defs(*targets: object, project_targets: tuple[object, ...] = ()) -> Definitions:
    @asset(retry=FAST_RETRY, on_failure=list(targets))
    def orders() -> pd.DataFrame:
        raise ConnectionError("shop API refused the connection")

    @asset
    def fine() -> pd.DataFrame:
        return pd.DataFrame({"x": [1]})

    return Definitions(assets=[orders, fine], on_failure=list(project_targets))


def test_one_webhook_and_one_email_per_failed_step_after_its_last_retry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    got: list[Alert] = []
    with webhook_receiver() as hook, smtp_receiver() as mail:
        monkeypatch.setenv("PARTITA_TEST_HOOK", hook.url)
        defs = _failing_defs(
            webhook(url=env("PARTITA_TEST_HOOK")),
            email(to="oncall@example.com", smtp=mail.address, sender="partita@example.com"),
            project_targets=(got.append,),
        )
        result = partita.materialize(defs, home=tmp_path)
        assert result.status == "failed"
        assert [o.attempts for o in result.outcomes if o.asset == "orders"] == [3]

        assert len(hook.posts) == 1
        path, body = hook.posts[0]
        assert path == "/hooks/T000/B000/s3cr3tToken"
        assert body["text"] == "partita: orders failed"
        assert body["blocks"][0]["type"] == "header"
        assert "shop API refused the connection" in body["blocks"][1]["text"]["text"]
        assert "attempt 3" in body["blocks"][1]["text"]["text"]

        assert len(mail.inbox.messages) == 1
        recipients, message = mail.inbox.messages[0]
        assert recipients == ["oncall@example.com"]
        assert message["Subject"] == "partita: orders failed"
        assert "shop API refused the connection" in message.get_payload()

    assert [(a.asset, a.attempt, a.kind.value) for a in got] == [("orders", 3, "step_failed")]


def test_teams_and_json_webhooks_get_their_own_payloads(tmp_path: Path) -> None:
    with webhook_receiver() as teams, webhook_receiver() as plain:
        defs = _failing_defs(
            webhook(url=teams.url, format="teams"), webhook(plain.url, format="json")
        )
        partita.materialize(defs, "orders", home=tmp_path)
    message = teams.posts[0][1]
    card = message["attachments"][0]["content"]
    assert card["type"] == "AdaptiveCard" and card["body"][0]["text"] == "partita: orders failed"
    assert {"title": "asset", "value": "orders"} in card["body"][2]["facts"]
    assert plain.posts[0][1]["kind"] == "step_failed" and plain.posts[0][1]["attempt"] == 3


def test_a_dead_webhook_is_logged_once_and_the_run_goes_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A closed port and a server that never answers: the run ends within the webhook
    timeouts, the other targets still get the alert, one warning per dead target."""
    got: list[Alert] = []

    @asset(retry=FAST_RETRY)
    def first() -> pd.DataFrame:
        raise ValueError("first broke")

    @asset(retry=FAST_RETRY)
    def second() -> pd.DataFrame:
        raise ValueError("second broke")

    with hanging_endpoint() as hanging, caplog.at_level(logging.WARNING, "partita.alerts"):
        defs = Definitions(
            assets=[first, second],
            on_failure=[
                webhook(url=closed_port_url(), timeout_s=0.5),
                webhook(url=hanging, timeout_s=0.5),
                got.append,
            ],
        )
        started = time.monotonic()
        result = partita.materialize(defs, home=tmp_path)
        took = time.monotonic() - started
    assert result.status == "failed"
    assert sorted(a.asset for a in got) == ["first", "second"]
    # two alerts x (a refused connection + a 0.5 s timeout): bounded, far below a stall
    assert took < 4.5, took
    warnings = [r.getMessage() for r in caplog.records if r.name == "partita.alerts"]
    assert len(warnings) == 2, warnings
    assert any("cannot connect" in w for w in warnings)
    assert any("timed out" in w for w in warnings)


def test_a_callable_that_raises_does_not_fail_the_run(tmp_path: Path) -> None:
    def broken_pager(alert: Alert) -> None:
        raise RuntimeError("pager down")

    result = partita.materialize(_failing_defs(broken_pager), "fine", home=tmp_path)
    assert result.success
    result = partita.materialize(_failing_defs(broken_pager), "orders", home=tmp_path)
    assert result.status == "failed" and result.event_warnings == ()


CLI_PROJECT = """
import pandas as pd
from partita import Definitions, RetryPolicy, asset, env, webhook

@asset(retry=RetryPolicy(max_attempts=2, delay=0.01, jitter=False))
def orders() -> pd.DataFrame:
    raise ConnectionError("upstream down")

defs = Definitions(assets=[orders], on_failure=[webhook(url=env("SLACK_WEBHOOK"))])
"""


def test_partita_materialize_alerts_and_the_secret_url_shows_nowhere(tmp_path: Path) -> None:
    project = write_project(tmp_path / "p", CLI_PROJECT)
    with webhook_receiver() as hook:
        os.environ["SLACK_WEBHOOK"] = hook.url
        try:
            result = run_cli(["materialize", "--executor", "process"], project)
        finally:
            del os.environ["SLACK_WEBHOOK"]
    assert result.returncode == 1, result.stderr
    assert len(hook.posts) == 1 and hook.posts[0][1]["text"] == "partita: orders failed"
    secret = "s3cr3tToken"
    assert secret not in result.stdout and secret not in result.stderr
    for path in (project / ".partita").rglob("*"):
        if path.is_file():
            assert secret.encode() not in path.read_bytes(), path


def test_an_unset_variable_is_named_without_failing_the_run(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PARTITA_TEST_UNSET", raising=False)
    with caplog.at_level(logging.WARNING, "partita.alerts"):
        result = partita.materialize(
            _failing_defs(webhook(url=env("PARTITA_TEST_UNSET"))), "orders", home=tmp_path
        )
    assert result.status == "failed"
    assert "environment variable PARTITA_TEST_UNSET is not set" in caplog.text


def test_an_error_answer_is_logged_without_the_secret_url(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    with webhook_receiver(status=500) as hook, caplog.at_level(logging.DEBUG):
        monkeypatch.setenv("PARTITA_TEST_HOOK", hook.url)
        defs = _failing_defs(webhook(url=env("PARTITA_TEST_HOOK")))
        result = partita.materialize(defs, "orders", home=tmp_path)
    assert result.status == "failed" and len(hook.posts) == 1
    assert "HTTP 500" in caplog.text
    assert "s3cr3tToken" not in caplog.text
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert b"s3cr3tToken" not in path.read_bytes(), path
