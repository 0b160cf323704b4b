"""``partita runs`` as a user runs it: partitions counted once, retries apart, the run's kind."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.conftest import run_cli, write_project

PROJECT = """
import time
import pandas as pd
from pathlib import Path
from partita.assets import asset
from partita.checks import check, row_count
from partita.definitions import Definitions
from partita.partitions import DailyPartitions
from partita.policies import RetryPolicy

HERE = Path(__file__).parent
FLAKY = {"2026-11-23", "2026-11-25"}


@check(asset="clean_sales")
def slow_but_fine(sales: pd.DataFrame) -> bool:
    time.sleep(0.05)
    return True


@asset(
    partitions=DailyPartitions(start="2026-11-20", end="2026-11-27"),
    retry=RetryPolicy(max_attempts=3, delay=0, jitter=False),
    checks=[row_count(min=1)],
)
def clean_sales(context) -> pd.DataFrame:
    marker = HERE / f"tried-{context.partition_key}"
    if context.partition_key in FLAKY and not marker.exists():
        marker.write_text("1")
        raise ConnectionError("simulated transient failure")
    return pd.DataFrame({"amount": [1.0]})


defs = Definitions(assets=[clean_sales], checks=[slow_but_fine])
"""


def test_runs_counts_partitions_shows_retries_and_the_kind(tmp_path: Path) -> None:
    folder = write_project(tmp_path / "p", PROJECT)
    built = run_cli(["materialize"], folder, check=True)
    assert "built 7 partitions" in built.stdout
    run_cli(["check", "clean_sales", "--partition", "2026-11-20"], folder, check=True)

    table = run_cli(["runs"], folder, check=True).stdout.splitlines()
    assert table[0].split() == ["run", "kind", "status", "started", "duration", "outcome"]
    check, materialize = table[1], table[2]
    assert re.search(r" check +succeeded .* 2 checks: 2 passed$", check.rstrip()), check
    # a real duration: milliseconds, or seconds on a loaded machine (the check run
    # imports DuckDB when its built-in check runs)
    assert re.search(r" (\d+ms|\d+\.\ds) ", check) and " 0ms " not in check
    assert re.search(r" materialize +succeeded .* 7 succeeded \(2 retries\)$", materialize)
    assert "failed" not in materialize  # the retried attempts are not partitions that failed

    check_run, build_run = json.loads(run_cli(["runs", "--json"], folder, check=True).stdout)[
        "runs"
    ]
    assert (build_run["kind"], build_run["status"]) == ("materialize", "succeeded")
    assert build_run["partition_counts"] == {"succeeded": 7}
    assert build_run["retries"] == 2
    assert build_run["steps"] == {"failed": 2, "succeeded": 7}  # every attempt, as before
    assert build_run["checks"] == {"passed": 14}
    assert (check_run["kind"], check_run["partition_counts"], check_run["retries"]) == (
        "check",
        {},
        0,
    )
    assert check_run["checks"] == {"passed": 2}
    assert check_run["duration_s"] >= 0.05  # the custom check sleeps that long
