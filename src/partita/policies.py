"""Per-asset policies declared with an asset: retries and freshness.

These are frozen declarations; the runner applies :class:`RetryPolicy` and
``freshness.py`` judges :class:`Freshness`. Durations are written the way
people say them: ``"26h"``, ``"90m"``, ``"1h30m"``, ``"2d"`` or a number of
seconds.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from partita.errors import DefinitionError

__all__ = ["Freshness", "RetryPolicy", "parse_duration"]

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)([smhdw])")
_COLUMN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(value: str | float | int | timedelta, *, what: str = "duration") -> timedelta:
    """Parse ``"26h"``, ``"1h30m"``, ``"2d"``, seconds or a timedelta into a timedelta.

    Raises:
        DefinitionError: the text is not a positive duration.
    """
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, bool):
        raise DefinitionError(f"invalid {what}: {value!r}")
    elif isinstance(value, int | float):
        seconds = float(value)
    else:
        text = value.strip().lower().replace(" ", "")
        parts = _DURATION_PART.findall(text)
        if not text or "".join(n + u for n, u in parts) != text:
            raise DefinitionError(
                f"invalid {what} {value!r}",
                hint='write a number with a unit: "90s", "30m", "26h", "2d", "1w" or "1h30m"',
            )
        seconds = sum(float(n) * _UNIT_SECONDS[u] for n, u in parts)
    if seconds <= 0:
        raise DefinitionError(f"invalid {what} {value!r}: it must be positive")
    return timedelta(seconds=seconds)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how patiently a failed step is tried again.

    Args:
        max_attempts: attempts in all, the first included (``1`` = no retry).
        delay: seconds before the first retry.
        backoff: ``"exponential"`` (delay doubles), ``"linear"`` or ``"constant"``.
        jitter: spread each delay randomly over [50 %, 100 %] of its value so
            many failing partitions do not retry in lockstep.
        max_delay: upper bound of one delay, in seconds.
    """

    max_attempts: int = 3
    delay: float = 1.0
    backoff: Literal["exponential", "linear", "constant"] = "exponential"
    jitter: bool = True
    max_delay: float = 300.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise DefinitionError(f"RetryPolicy(max_attempts={self.max_attempts}) must be >= 1")
        if self.delay < 0 or self.max_delay < 0:
            raise DefinitionError("RetryPolicy delays must be >= 0 seconds")
        if self.backoff not in ("exponential", "linear", "constant"):
            raise DefinitionError(
                f"RetryPolicy(backoff={self.backoff!r}) is not one of "
                "'exponential', 'linear', 'constant'"
            )

    def delay_before(self, attempt: int, rng: random.Random | None = None) -> float:
        """Seconds to wait before ``attempt`` (2 for the first retry)."""
        if attempt <= 1:
            return 0.0
        retry = attempt - 1
        if self.backoff == "exponential":
            base = self.delay * 2.0 ** (retry - 1)
        elif self.backoff == "linear":
            base = self.delay * retry
        else:
            base = self.delay
        base = min(base, self.max_delay)
        if self.jitter and base > 0:
            draw = rng.random() if rng is not None else random.random()
            base *= 0.5 + 0.5 * draw
        return base


@dataclass(frozen=True, slots=True)
class Freshness:
    """A freshness policy: how recent an asset's data must be.

    Give ``max_lag`` (time since the newest successful materialization or, for
    time partitions, since the end of the newest partition's window) and/or a
    cron ``deadline`` (each period's partition must be published by then, in
    ``timezone``). ``warn_lag`` is an earlier level that only warns.
    ``loaded_at`` names a timestamp column of the data (for sources, like dbt's
    source freshness): the newest value in it is the time of the last refresh.

    Example: ``Freshness(max_lag="26h")``;
    ``Freshness(deadline="0 9 * * *", timezone="Europe/Berlin")``;
    ``Freshness(max_lag="2h", loaded_at="loaded_at")``.
    """

    max_lag: str | None = None
    deadline: str | None = None
    timezone: str = "UTC"
    warn_lag: str | None = None
    loaded_at: str | None = None

    def __post_init__(self) -> None:
        if self.max_lag is None and self.deadline is None:
            raise DefinitionError(
                "Freshness needs max_lag= or deadline=",
                hint='e.g. Freshness(max_lag="26h") or Freshness(deadline="0 9 * * *")',
            )
        if self.max_lag is not None:
            parse_duration(self.max_lag, what="max_lag")
        if self.warn_lag is not None:
            warn = parse_duration(self.warn_lag, what="warn_lag")
            if self.max_lag is not None and warn >= parse_duration(self.max_lag):
                raise DefinitionError(
                    f"Freshness(warn_lag={self.warn_lag!r}) must be shorter than "
                    f"max_lag={self.max_lag!r}"
                )
        if self.deadline is not None and not _valid_cron(self.deadline):
            raise DefinitionError(
                f"Freshness(deadline={self.deadline!r}) is not a valid cron expression",
                hint='five fields: minute hour day month weekday, e.g. "0 9 * * *"',
            )
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise DefinitionError(f"Freshness(timezone={self.timezone!r}) is unknown") from exc
        if self.loaded_at is not None and not _COLUMN.fullmatch(str(self.loaded_at)):
            raise DefinitionError(
                f"Freshness(loaded_at={self.loaded_at!r}) is not a column name",
                hint="a column name is an identifier: [A-Za-z_][A-Za-z0-9_]*",
            )

    @property
    def max_lag_delta(self) -> timedelta | None:
        """``max_lag`` as a timedelta."""
        return None if self.max_lag is None else parse_duration(self.max_lag)

    @property
    def warn_lag_delta(self) -> timedelta | None:
        """``warn_lag`` as a timedelta."""
        return None if self.warn_lag is None else parse_duration(self.warn_lag)

    def describe(self) -> str:
        """Short text, e.g. ``max lag 26h`` or ``by 0 9 * * * Europe/Berlin``."""
        parts = []
        if self.max_lag is not None:
            parts.append(f"max lag {self.max_lag}")
        if self.deadline is not None:
            parts.append(f"by '{self.deadline}' {self.timezone}")
        if self.warn_lag is not None:
            parts.append(f"warn after {self.warn_lag}")
        if self.loaded_at is not None:
            parts.append(f"from column {self.loaded_at}")
        return ", ".join(parts)


def _valid_cron(expression: str) -> bool:
    """Whether ``expression`` is a cron expression (croniter, ~20 ms to import, only here)."""
    from croniter import croniter  # noqa: PLC0415

    return bool(croniter.is_valid(expression))
