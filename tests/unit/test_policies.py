from __future__ import annotations

import random
from datetime import timedelta

import pytest

from partita.errors import DefinitionError
from partita.policies import Freshness, RetryPolicy, parse_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("26h", 93600), ("90m", 5400), ("1h30m", 5400), ("2d", 172800), ("45s", 45), (30, 30)],
)
def test_parse_duration(text: str | int, seconds: int) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "26", "h", "1x", "-5m", "0s", "1h 30"])
def test_parse_duration_rejects(text: str) -> None:
    with pytest.raises(DefinitionError):
        parse_duration(text)


def test_freshness_validates() -> None:
    policy = Freshness(max_lag="26h", warn_lag="20h")
    assert policy.max_lag_delta == timedelta(hours=26)
    assert "max lag 26h" in policy.describe()
    Freshness(deadline="0 9 * * *", timezone="Europe/Berlin")
    with pytest.raises(DefinitionError, match="max_lag= or deadline="):
        Freshness()
    with pytest.raises(DefinitionError, match="cron"):
        Freshness(deadline="every morning")
    with pytest.raises(DefinitionError, match="unknown"):
        Freshness(max_lag="1h", timezone="Mars/Olympus")
    with pytest.raises(DefinitionError, match="shorter"):
        Freshness(max_lag="1h", warn_lag="2h")


def test_retry_delays() -> None:
    policy = RetryPolicy(max_attempts=4, delay=2, jitter=False)
    assert [policy.delay_before(n) for n in (1, 2, 3, 4)] == [0.0, 2.0, 4.0, 8.0]
    linear = RetryPolicy(delay=1, backoff="linear", jitter=False, max_delay=1.5)
    assert [linear.delay_before(n) for n in (2, 3)] == [1.0, 1.5]
    jittered = RetryPolicy(delay=10)
    value = jittered.delay_before(2, random.Random(1))
    assert 5.0 <= value <= 10.0
    with pytest.raises(DefinitionError):
        RetryPolicy(max_attempts=0)
    with pytest.raises(DefinitionError, match="backoff"):
        RetryPolicy(backoff="random")  # type: ignore[arg-type]
