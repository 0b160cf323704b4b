"""Sending alerts: webhooks over HTTP, email over SMTP, callables called; never raising.

:class:`AlertSender` sends one :class:`~partita.alert_targets.Alert` to its
targets, one after the other, each within its own timeout (a webhook's POST,
an SMTP conversation; the timeout bounds each network operation). A target
that fails (a closed port, a hanging server, an error status, a missing
environment variable, a callable that raises) is logged once per sender as a
warning on the ``partita.alerts`` logger, later failures of it are only
counted, and the next target is tried: an alert is never retried and never
raises.

Secrets: the values of the :func:`~partita.alert_targets.env` variables a
target names are read here, when sending, and are scrubbed (replaced by
:data:`~partita.config_secrets.MASK`) from the alert's text, the log lines and
the recorded problems, so a webhook URL with its token never shows anywhere.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Iterable
from dataclasses import dataclass, replace

from partita.alert_targets import Alert, AlertTarget, Email, EnvVar, TextOrEnv, Webhook
from partita.alerts.messages import webhook_payload
from partita.config_secrets import scrub

__all__ = ["AlertSender", "DeliveryProblem", "target_name"]

logger = logging.getLogger("partita.alerts")


class _UnsetError(Exception):
    """An environment variable a target names is not set."""


@dataclass(frozen=True, slots=True)
class DeliveryProblem:
    """One alert a target did not take.

    Attributes:
        target: the target, as its (secret-free) ``repr``.
        error: why, with secrets masked.
    """

    target: str
    error: str


def target_name(target: AlertTarget) -> str:
    """A target in words without secrets: ``webhook(url=env('X'), ...)``, a function's name."""
    if isinstance(target, Webhook | Email):
        return repr(target)
    name = getattr(target, "__qualname__", None) or type(target).__qualname__
    return f"{getattr(target, '__module__', '?')}.{name}"


def _value(value: TextOrEnv) -> str:
    if isinstance(value, EnvVar):
        found = os.environ.get(value.name)
        if not found:
            raise _UnsetError(f"environment variable {value.name} is not set")
        return found
    return value


def _secrets(targets: Iterable[AlertTarget]) -> set[str]:
    """The values of every environment variable the targets name (set ones only)."""
    found: set[str] = set()
    for target in targets:
        if isinstance(target, Webhook):
            refs: tuple[object, ...] = (target.url,)
        elif isinstance(target, Email):
            refs = (target.smtp, target.username, target.password)
        else:
            continue
        for ref in refs:
            if isinstance(ref, EnvVar) and os.environ.get(ref.name):
                found.add(os.environ[ref.name])
    return found


def _post(target: Webhook, alert: Alert) -> None:
    import urllib.request  # noqa: PLC0415  (http and ssl only for a run that alerts)

    body = json.dumps(webhook_payload(alert, target.format)).encode()
    request = urllib.request.Request(
        _value(target.url),
        data=body,
        headers={"Content-Type": "application/json", "User-Agent": "partita-alerts"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=target.timeout_s) as response:
        response.read(65536)


def _mail(target: Email, alert: Alert) -> None:
    import smtplib  # noqa: PLC0415  (smtp and ssl only for a run that alerts)
    from email.message import EmailMessage  # noqa: PLC0415

    host, _, port = _value(target.smtp).rpartition(":")
    if not host or not port.isdigit():
        host, port = _value(target.smtp), "25"
    message = EmailMessage()
    message["Subject"] = alert.title
    message["From"] = target.sender
    message["To"] = ", ".join(target.to)
    message.set_content(alert.text + ("\n\n" + alert.error if alert.error else "") + "\n")
    with smtplib.SMTP(host, int(port), timeout=target.timeout_s) as server:
        if target.starttls:
            server.starttls()
        if target.username is not None:
            password = "" if target.password is None else _value(target.password)
            server.login(_value(target.username), password)
        server.send_message(message)


def _describe(exc: BaseException) -> str:
    import urllib.error  # noqa: PLC0415

    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code} {exc.reason}"
    if isinstance(exc, urllib.error.URLError):
        return f"cannot connect: {exc.reason}"
    if isinstance(exc, TimeoutError):
        return "timed out"
    if isinstance(exc, _UnsetError):  # our own words: no class name to show
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


class AlertSender:
    """Sends alerts to targets, logging each failing target once (thread-safe).

    Attributes:
        sent: alerts taken, per target name.
        problems: every failed delivery, oldest first (secrets masked).
    """

    def __init__(self) -> None:
        self.sent: dict[str, int] = {}
        self.problems: list[DeliveryProblem] = []
        self._logged: set[object] = set()
        self._lock = threading.Lock()

    def send(self, alert: Alert, targets: Iterable[AlertTarget]) -> list[DeliveryProblem]:
        """Send ``alert`` to each target in turn; return the problems (never raises)."""
        chosen: list[AlertTarget] = []  # a target listed twice gets one alert
        for target in targets:
            if not any(target is c or target == c for c in chosen):
                chosen.append(target)
        secrets = _secrets(chosen)
        clean = _scrubbed(alert, secrets)
        problems: list[DeliveryProblem] = []
        for target in chosen:
            name = target_name(target)
            try:
                if isinstance(target, Webhook):
                    _post(target, clean)
                elif isinstance(target, Email):
                    _mail(target, clean)
                else:
                    target(clean)
            except Exception as exc:
                problem = DeliveryProblem(name, scrub(_describe(exc), secrets))
                problems.append(problem)
                key = target if isinstance(target, Webhook | Email) else id(target)
                self._failed(key, problem, clean)
            else:
                with self._lock:
                    self.sent[name] = self.sent.get(name, 0) + 1
        return problems

    def _failed(self, key: object, problem: DeliveryProblem, alert: Alert) -> None:
        with self._lock:
            self.problems.append(problem)
            first = key not in self._logged
            self._logged.add(key)
        if first:
            logger.warning(
                "alert %r not delivered to %s: %s (later failures of this target are "
                "only counted; the run goes on)",
                alert.title,
                problem.target,
                problem.error,
            )


def _scrubbed(alert: Alert, secrets: set[str]) -> Alert:
    if not secrets:
        return alert
    return replace(
        alert,
        title=scrub(alert.title, secrets),
        text=scrub(alert.text, secrets),
        error=None if alert.error is None else scrub(alert.error, secrets),
    )
