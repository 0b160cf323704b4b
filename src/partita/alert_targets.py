"""Where alerts go: :func:`webhook`, :func:`email`, a callable, and :func:`env` for secrets.

These are plain frozen values that ``@asset(on_failure=[...])`` and
``Definitions(on_failure=..., on_freshness_violation=...)`` hold; nothing is
sent from here (delivery is :mod:`partita.alerts`)::

    on_failure=[
        webhook(url=env("SLACK_WEBHOOK")),
        email(to="data-team@example.com", smtp="mail.example.com:587",
              username=env("SMTP_USER"), password=env("SMTP_PASSWORD"), starttls=True),
        page_someone,          # any callable taking an Alert
    ]

:func:`env` names an environment variable read when an alert is sent, never
when the project is loaded: its value never appears in a ``repr``, a log
line, an error message, an alert's text or the catalog.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal, Protocol, runtime_checkable
from urllib.parse import urlsplit

from partita.errors import DefinitionError

__all__ = [
    "Alert",
    "AlertCallable",
    "AlertKind",
    "AlertTarget",
    "Email",
    "EnvVar",
    "Webhook",
    "WebhookFormat",
    "email",
    "env",
    "targets_of",
    "webhook",
]

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True, slots=True)
class EnvVar:
    """A reference to an environment variable, read only when an alert is sent.

    Attributes:
        name: the variable's name.
    """

    name: str

    def __repr__(self) -> str:
        return f"env({self.name!r})"


def env(name: str) -> EnvVar:
    """A value read from the environment variable ``name`` when an alert is sent.

    Raises:
        DefinitionError: ``name`` is not a valid variable name.
    """
    if not isinstance(name, str) or not _ENV_NAME.match(name):
        raise DefinitionError(
            f"env({name!r}): not an environment variable name",
            hint="write the variable's name, e.g. env('SLACK_WEBHOOK'), not its value",
        )
    return EnvVar(name)


TextOrEnv = str | EnvVar
"""A literal value, or :func:`env` naming the variable that holds it."""


class AlertKind(StrEnum):
    """What an alert tells."""

    STEP_FAILED = "step_failed"
    FRESHNESS_VIOLATED = "freshness_violated"
    FRESHNESS_RECOVERED = "freshness_recovered"


@dataclass(frozen=True, slots=True, kw_only=True)
class Alert:
    """One alert, as every target receives it (a callable gets this value).

    Attributes:
        kind: what happened.
        title: one line (``partita: sales/orders[2025-03-01] failed``).
        text: a few lines for people: what, where, the error or the reason.
        asset: the asset key.
        at: when it happened (UTC).
        partition: the task's partition (``first..last`` for a batch), if any.
        run_id: the run, for a failed step.
        attempt: the last attempt's number, for a failed step.
        status: ``failed`` / ``timed_out`` for a step; the freshness status otherwise.
        error: the step's error (its first line first).
    """

    kind: AlertKind
    title: str
    text: str
    asset: str
    at: datetime
    partition: str | None = None
    run_id: str | None = None
    attempt: int | None = None
    status: str = ""
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (what a ``format="json"`` webhook posts)."""
        return {
            "kind": self.kind.value,
            "title": self.title,
            "text": self.text,
            "asset": self.asset,
            "partition": self.partition,
            "at": self.at.isoformat(),
            "run_id": self.run_id,
            "attempt": self.attempt,
            "status": self.status,
            "error": self.error,
        }


@runtime_checkable
class AlertCallable(Protocol):
    """A function called with each :class:`Alert` (on a delivery thread; it may raise)."""

    def __call__(self, alert: Alert, /) -> None:
        """Take one alert."""
        ...


WebhookFormat = Literal["slack", "teams", "json"]


def _shown_url(url: TextOrEnv) -> str:
    if isinstance(url, EnvVar):
        return repr(url)
    parts = urlsplit(url)  # a literal webhook URL carries its token in the path: hide it
    port = f":{parts.port}" if parts.port else ""
    return f"'{parts.scheme}://{parts.hostname or ''}{port}/...'"


@dataclass(frozen=True, slots=True)
class Webhook:
    """POST the alert as JSON to ``url`` (see :func:`webhook`)."""

    url: TextOrEnv
    format: WebhookFormat = "slack"
    timeout_s: float = 5.0

    def __repr__(self) -> str:
        return f"webhook(url={_shown_url(self.url)}, format={self.format!r})"


@dataclass(frozen=True, slots=True)
class Email:
    """Send the alert by email through an SMTP server (see :func:`email`)."""

    to: tuple[str, ...]
    smtp: TextOrEnv
    sender: str = "partita@localhost"
    username: TextOrEnv | None = None
    password: EnvVar | None = field(default=None, repr=False)
    starttls: bool = False
    timeout_s: float = 10.0

    def __repr__(self) -> str:
        return f"email(to={list(self.to)!r}, smtp={self.smtp!r})"


AlertTarget = Webhook | Email | Callable[[Alert], None]
"""Where an alert goes: a :func:`webhook`, an :func:`email`, or a callable."""


def _check_text(value: object, what: str) -> TextOrEnv:
    if isinstance(value, EnvVar):
        return value
    if not isinstance(value, str) or not value:
        raise DefinitionError(f"{what} must be a non-empty string or env('NAME'), got {value!r}")
    return value


def _check_timeout(value: object, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise DefinitionError(f"{what}: timeout_s must be a positive number, got {value!r}")
    return float(value)


def webhook(url: TextOrEnv, *, format: WebhookFormat = "slack", timeout_s: float = 5.0) -> Webhook:
    """An incoming webhook: Slack (``format="slack"``, the default), Microsoft Teams
    (``"teams"``, an Adaptive Card message) or any receiver of the alert as plain JSON
    (``"json"``).

    Args:
        url: the webhook URL; pass ``env("NAME")`` so the secret URL stays out of the code.
        format: the JSON the receiver expects.
        timeout_s: how long one POST may take (connecting and answering).
    """
    if isinstance(url, str) and not url.startswith(("http://", "https://")):
        raise DefinitionError(
            "webhook(url=...) must be an http(s) URL or env('NAME')",
            hint="keep the secret URL in the environment: webhook(url=env('SLACK_WEBHOOK'))",
        )
    checked = _check_text(url, "webhook(url=...)")
    if format not in ("slack", "teams", "json"):
        raise DefinitionError(
            f"webhook(format={format!r}): unknown format",
            hint="use 'slack', 'teams' or 'json'",
        )
    return Webhook(checked, format, _check_timeout(timeout_s, "webhook"))


def email(
    to: str | Iterable[str],
    *,
    smtp: TextOrEnv,
    sender: str = "partita@localhost",
    username: TextOrEnv | None = None,
    password: EnvVar | None = None,
    starttls: bool = False,
    timeout_s: float = 10.0,
) -> Email:
    """An email to ``to`` sent through the SMTP server ``smtp`` (``host`` or ``host:port``).

    Args:
        to: one address or several.
        smtp: the server, ``host:port`` (port 25 when left out), or ``env("NAME")``.
        sender: the ``From`` address.
        username, password: log in first (the password only as ``env("NAME")``).
        starttls: switch to TLS before logging in.
        timeout_s: how long talking to the server may take.
    """
    addresses = (to,) if isinstance(to, str) else tuple(to)
    if not addresses or not all(isinstance(a, str) and "@" in a for a in addresses):
        raise DefinitionError(f"email(to={to!r}): give one or more email addresses")
    if password is not None and not isinstance(password, EnvVar):
        raise DefinitionError(
            "email(password=...) takes env('NAME'), never the password itself",
            hint="export SMTP_PASSWORD=... and write password=env('SMTP_PASSWORD')",
        )
    return Email(
        to=addresses,
        smtp=_check_text(smtp, "email(smtp=...)"),
        sender=sender,
        username=None if username is None else _check_text(username, "email(username=...)"),
        password=password,
        starttls=bool(starttls),
        timeout_s=_check_timeout(timeout_s, "email"),
    )


def targets_of(value: object, where: str) -> tuple[AlertTarget, ...]:
    """``value`` (one target or a list of them) as a tuple of targets.

    Raises:
        DefinitionError: an item is no target (a bare URL string is named as such).
    """
    if value is None:
        return ()
    items: tuple[Any, ...]
    if isinstance(value, Webhook | Email | str | bytes | Mapping) or callable(value):
        items = (value,)
    elif isinstance(value, Iterable):
        items = tuple(value)
    else:
        items = (value,)
    for item in items:
        if isinstance(item, str):
            raise DefinitionError(
                f"{where}: got a string where an alert target belongs",
                hint="wrap a URL in webhook(url=...) (better: webhook(url=env('NAME'))), "
                "an address in email(to=..., smtp=...)",
            )
        if not isinstance(item, Webhook | Email) and not callable(item):
            raise DefinitionError(
                f"{where}: {item!r} is not an alert target",
                hint="use webhook(...), email(...) or a function taking an Alert",
            )
    return items
