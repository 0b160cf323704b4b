"""Observing sources through ``partita.api``: concurrency, batch results, retries, records."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

from partita.api import load_project, plan_project
from partita.api.observing import observe_sources
from partita.keys import AssetKey
from partita.partitions import DailyPartitions
from tests.conftest import write_project

NOW = datetime(2025, 2, 1, tzinfo=UTC)

SLOW = """
import time
from partita import Definitions, asset, source

sources = []
for i in range({n}):
    def observe() -> str:
        time.sleep({delay})
        return "v1"
    sources.append(source(observe, key=f"slow_{{i}}"))

@asset(deps=[s.key for s in sources])
def joined() -> None: ...

defs = Definitions(assets=[joined], sources=sources)
"""


def test_observations_of_many_sources_run_concurrently(tmp_path: Path) -> None:
    n, delay = 6, 0.3
    folder = write_project(tmp_path / "p", SLOW.format(n=n, delay=delay))
    project = load_project(cwd=folder)
    plan_project(project, now=NOW, observe=False)  # creates the catalog: not what is timed
    started = time.perf_counter()
    planned = plan_project(project, now=NOW)
    elapsed = time.perf_counter() - started
    assert planned.observe_calls == n and planned.observed == n
    assert elapsed < n * delay / 2, f"{n} observations of {delay}s took {elapsed:.2f}s"
    assert [str(s.asset) for s in planned.plan.steps] == ["joined"]
    # recorded once: the same versions again record nothing
    assert plan_project(project, now=NOW).observed == 0


BATCH = """
from partita import DailyPartitions, Definitions, RetryPolicy, asset, source

DAYS = DailyPartitions(start="2025-01-01", end="2025-01-11")
attempts = []

@source(partitions=DAYS, batch=True)
def good(context) -> dict[str, str | None]:
    # one key left out and one None: neither is there yet
    return {{k: "v1" for k in context.partition_keys[2:]}} | {{context.partition_keys[0]: None}}

@source(partitions=DAYS, batch=True)
def strays(context) -> dict[str, str]:
    return {{"2024-12-31": "v1", "yesterday": "v1"}}

@source(partitions=DAYS, retry=RetryPolicy(max_attempts=3, delay=5.0, jitter=False))
def flaky(context) -> str:
    attempts.append(context.partition_key)
    if attempts.count(context.partition_key) < 3:
        raise TimeoutError("slow replica")
    return "v1"

@asset(partitions=DAYS, deps=[good, strays, flaky])
def reader() -> None: ...

defs = Definitions(assets=[reader], sources=[good, strays, flaky])
"""


def test_batch_results_and_retries(tmp_path: Path) -> None:
    folder = write_project(tmp_path / "p", BATCH.format())
    project = load_project(cwd=folder)
    days = DailyPartitions(start="2025-01-01", end="2025-01-11")
    wanted = days.parse_range("2025-01-03..2025-01-06")
    waits: list[float] = []
    found = observe_sources(
        project,
        {AssetKey("good"): wanted, AssetKey("strays"): wanted, AssetKey("flaky"): wanted},
        sleep=waits.append,
    )
    assert found.calls == 1 + 1 + 4 * 3  # one call per batch, three attempts per flaky day
    # exponential backoff between the attempts; days are observed concurrently,
    # so the waits of different days interleave in any order
    assert sorted(waits) == [5.0] * 4 + [10.0] * 4
    assert {k: v for k, v in found.versions.items() if k[0] == "good"} == {
        ("good", "2025-01-05"): "v1",
        ("good", "2025-01-06"): "v1",
    }
    assert {k for k in found.versions if k[0] == "flaky"} == {
        ("flaky", d) for d in ("2025-01-03", "2025-01-04", "2025-01-05", "2025-01-06")
    }
    assert [(str(f.asset), f.partition) for f in found.failures] == [
        ("strays", d) for d in ("2025-01-03", "2025-01-04", "2025-01-05", "2025-01-06")
    ]
    error = found.failures[0].error
    assert error.startswith("ValueError: returned versions for partitions it was not asked for")
    assert "2024-12-31, yesterday" in error
