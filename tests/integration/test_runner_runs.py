"""Runs of real projects: real worker processes, Parquet data, a SQLite catalog in tmp_path."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

from partita.api import Project, load_project, materialize, plan_project
from partita.catalog.sqlite import SQLiteCatalog
from partita.io import ParquetStore
from tests.conftest import write_project

NOW = datetime(2025, 1, 10, tzinfo=UTC)

DIAMOND = """
import pandas as pd
from pathlib import Path
from partita.assets import asset
from partita.definitions import Definitions
from partita.partitions import DailyPartitions

DAYS = DailyPartitions(start="2025-01-01", end="2025-01-04")
FAIL = Path(__file__).with_name("fail_b")

@asset(partitions=DAYS)
def a(context) -> pd.DataFrame:
    context.log.info("a for %s", context.partition_key)
    return pd.DataFrame({"x": [1, 2, 3], "day": context.partition_key})

@asset(partitions=DAYS)
def b(context, a: pd.DataFrame) -> pd.DataFrame:
    if FAIL.exists() and FAIL.read_text() == context.partition_key:
        raise ValueError(f"bad day {context.partition_key}")
    return a.assign(y=a.x * 2)

@asset(partitions=DAYS)
def c(a: pd.DataFrame) -> pd.DataFrame:
    return a.assign(z=a.x + 1)

@asset(partitions=DAYS)
def d(b: pd.DataFrame, c: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({"n": [len(b) + len(c)]})

@asset
def total(d: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({"n": [int(d.n.sum())]})

defs = Definitions(assets=[a, b, c, d, total])
"""


def _project(folder: Path, source: str) -> Project:
    write_project(folder, source)
    return load_project(cwd=folder)


def test_diamond_records_inputs_and_versions_then_nothing_to_do(tmp_path: Path) -> None:
    project = _project(tmp_path / "p", DIAMOND)
    result = materialize(project, executor="process", max_workers=2, now=NOW)
    assert result.status == "succeeded", result.summary_lines()
    assert result.counts == {"succeeded": 13}
    with SQLiteCatalog(project.catalog_path) as catalog:
        d_mat = catalog.latest_materialization("d", "2025-01-02")
        assert d_mat is not None and d_mat.run_id == result.run_id
        inputs = catalog.inputs_of([d_mat.materialization_id or 0]).to_pylist()
        got = {(i["upstream_asset"], i["upstream_partition"]) for i in inputs}
        assert got == {("b", "2025-01-02"), ("c", "2025-01-02")}
        for row in inputs:
            upstream = catalog.latest_materialization(
                row["upstream_asset"], row["upstream_partition"]
            )
            assert upstream is not None
            assert row["upstream_data_version"] == upstream.data_version
            assert row["upstream_materialization_id"] == upstream.materialization_id
        total = catalog.latest_materialization("total")
        assert total is not None
        total_inputs = catalog.inputs_of([total.materialization_id or 0]).to_pylist()
        assert sorted(i["upstream_partition"] for i in total_inputs) == [
            "2025-01-01",
            "2025-01-02",
            "2025-01-03",
        ]
        attempts = catalog.attempts(result.run_id or "", asset="a", partition="2025-01-01")
        logs = "".join(attempt.logs for attempt in attempts)
        assert "a for 2025-01-01" in logs
    store = ParquetStore(project.data_path)
    frame = store.read("total", [()])
    assert frame["n"].tolist() == [18]
    assert d_mat.data_version  # a content hash
    again = materialize(project, executor="process", now=NOW)
    assert again.status == "nothing_to_do" and again.run_id is None


def test_failure_stops_only_dependents_of_the_failed_partition(tmp_path: Path) -> None:
    project = _project(tmp_path / "p", DIAMOND)
    (tmp_path / "p" / "fail_b").write_text("2025-01-02")
    result = materialize(project, executor="process", max_workers=2, now=NOW)
    status = {(o.asset, o.partition): o for o in result.outcomes}
    assert result.status == "failed" and result.exit_code == 1
    assert status[("b", "2025-01-02")].status == "failed"
    assert "ValueError: bad day 2025-01-02" in (status[("b", "2025-01-02")].error or "")
    assert status[("d", "2025-01-02")].status == "skipped"
    assert status[("d", "2025-01-02")].reason == "upstream failed: b[2025-01-02]"
    assert status[("total", None)].status == "skipped"
    for day in ("2025-01-01", "2025-01-03"):
        assert status[("b", day)].status == "succeeded"
        assert status[("d", day)].status == "succeeded"
    assert all(status[("c", day)].status == "succeeded" for day in ("2025-01-01", "2025-01-02"))
    with SQLiteCatalog(project.catalog_path) as catalog:
        assert catalog.latest_materialization("d", "2025-01-02") is None
        attempts = catalog.attempts(result.run_id or "", asset="b", partition="2025-01-02")
        log = "".join(attempt.logs for attempt in attempts)
    assert "Traceback" in log and "bad day 2025-01-02" in log and 'defs.py"' in log
    text = "\n".join(result.summary_lines())
    assert f"partita logs {result.run_id} --asset b --partition 2025-01-02" in text
    # fixed: the rerun builds exactly what is missing
    (tmp_path / "p" / "fail_b").unlink()
    rerun = materialize(project, executor="process", now=NOW)
    built = sorted((o.asset, o.partition or "") for o in rerun.built)
    assert built == [("b", "2025-01-02"), ("d", "2025-01-02"), ("total", "")]


FLAKY = """
import pandas as pd
from pathlib import Path
from partita.assets import asset
from partita.definitions import Definitions
from partita.policies import RetryPolicy

COUNT = Path(__file__).with_name("count")

@asset(retry=RetryPolicy(max_attempts=3, delay=0.05))
def flaky() -> pd.DataFrame:
    seen = int(COUNT.read_text()) if COUNT.exists() else 0
    COUNT.write_text(str(seen + 1))
    if seen < 2:
        raise ConnectionError(f"flaky failure {seen + 1}")
    return pd.DataFrame({"ok": [True]})

@asset(timeout=1)
def sleepy() -> pd.DataFrame:
    import time
    time.sleep(60)
    return pd.DataFrame({"never": [1]})

defs = Definitions(assets=[flaky, sleepy])
"""


def test_retries_and_a_timeout_that_really_stops_the_step(tmp_path: Path) -> None:
    project = _project(tmp_path / "p", FLAKY)
    started = time.monotonic()
    result = materialize(project, executor="process", max_workers=2, now=NOW)
    elapsed = time.monotonic() - started
    assert elapsed < 15
    status = {o.asset: o for o in result.outcomes}
    assert status["flaky"].status == "succeeded" and status["flaky"].attempts == 3
    assert status["sleepy"].status == "timed_out"
    with SQLiteCatalog(project.catalog_path) as catalog:
        attempts = catalog.attempts(result.run_id or "", asset="flaky")
        assert [str(a.status) for a in attempts] == ["failed", "failed", "succeeded"]
        assert "flaky failure 1" in (attempts[0].error or "")
        sleepy = catalog.attempts(result.run_id or "", asset="sleepy")
        assert [str(a.status) for a in sleepy] == ["timed_out"]
        assert catalog.latest_materialization("sleepy") is None
    assert result.exit_code == 1


BATCH = """
import pandas as pd
from pathlib import Path
from partita.assets import asset
from partita.definitions import Definitions
from partita.partitions import DailyPartitions

DAYS = DailyPartitions(start="2025-01-01", end="2025-01-06")
CALLS = Path(__file__).with_name("calls")

@asset(partitions=DAYS, batch=True)
def events(context) -> pd.DataFrame:
    with CALLS.open("a") as out:
        out.write(",".join(context.partition_keys) + "\\n")
    keys = list(context.partition_keys)
    return pd.DataFrame({"date": keys, "n": range(len(keys))})

@asset(partitions=DAYS)
def daily(events: pd.DataFrame) -> pd.DataFrame:
    return events.assign(m=events.n * 10)

defs = Definitions(assets=[events, daily])
"""


def test_batch_asset_one_call_one_record_per_partition(tmp_path: Path) -> None:
    project = _project(tmp_path / "p", BATCH)
    result = materialize(project, executor="thread", now=NOW)
    assert result.status == "succeeded", result.summary_lines()
    calls = (tmp_path / "p" / "calls").read_text().splitlines()
    assert calls == ["2025-01-01,2025-01-02,2025-01-03,2025-01-04,2025-01-05"]
    with SQLiteCatalog(project.catalog_path) as catalog:
        history = catalog.history("events")
    assert sorted(m.partition or "" for m in history) == [
        "2025-01-01",
        "2025-01-02",
        "2025-01-03",
        "2025-01-04",
        "2025-01-05",
    ]
    assert len({m.data_version for m in history}) == 5
    frame = ParquetStore(project.data_path).read("daily", [(("date", "2025-01-03"),)])
    assert frame["m"].tolist() == [20]


CUTOFF = """
import pandas as pd
from pathlib import Path
from partita.assets import asset
from partita.definitions import Definitions

CALLS = Path(__file__).with_name("calls")

@asset
def up() -> pd.DataFrame:
    return pd.DataFrame({"x": [1, 2, VALUE]})

@asset
def down(up: pd.DataFrame) -> pd.DataFrame:
    with CALLS.open("a") as out:
        out.write("down\\n")
    return up.assign(y=up.x * 2)

defs = Definitions(assets=[up, down])
"""


def test_early_cutoff_skips_a_step_whose_inputs_came_back_identical(tmp_path: Path) -> None:
    folder = tmp_path / "p"
    project = _project(folder, "VALUE = 3\n" + CUTOFF)
    assert materialize(project, executor="inprocess", now=NOW).status == "succeeded"
    # new code, same data: up is rebuilt, down is cut off
    project = _project(folder, "VALUE = 3\n" + CUTOFF.replace("[1, 2, VALUE]", "[1, 2, VALUE + 0]"))
    result = materialize(project, executor="inprocess", now=NOW)
    status = {o.asset: o for o in result.outcomes}
    assert status["up"].status == "succeeded"
    assert status["down"].status == "skipped" and status["down"].reason == "inputs unchanged"
    assert (folder / "calls").read_text().splitlines() == ["down"]
    # new data: down runs
    project = _project(folder, "VALUE = 4\n" + CUTOFF.replace("[1, 2, VALUE]", "[1, 2, VALUE - 0]"))
    result = materialize(project, executor="inprocess", now=NOW)
    assert {o.asset: o.status for o in result.outcomes} == {"up": "succeeded", "down": "succeeded"}


@pytest.mark.parametrize("executor", ["inprocess", "thread", "process"])
def test_every_executor_builds_the_same_data(tmp_path: Path, executor: str) -> None:
    project = _project(tmp_path / "p", DIAMOND)
    result = materialize(project, "+d", executor=executor, max_workers=2, now=NOW)
    assert result.status == "succeeded", result.summary_lines()
    frame = ParquetStore(project.data_path).read("d", [(("date", "2025-01-01"),)])
    assert frame["n"].tolist() == [6]
    assert isinstance(frame, pd.DataFrame)


REVERT = """
import pandas as pd
from pathlib import Path
from partita.assets import In, asset
from partita.definitions import Definitions
from partita.mappings import StaticMap, TimeWindow
from partita.partitions import DailyPartitions, StaticPartitions

CALLS = Path(__file__).with_name("calls")
DAYS = DailyPartitions(start="2025-01-01", end="2025-01-03")

@asset(code_version=f"v{VALUE}")
def up() -> pd.DataFrame:
    return pd.DataFrame({"x": [VALUE]})

@asset
def down(up: pd.DataFrame) -> pd.DataFrame:
    with CALLS.open("a") as out:
        out.write("down\\n")
    return up.assign(y=up.x * 2)

@asset(partitions=DAYS)
def days() -> pd.DataFrame:
    return pd.DataFrame({"n": [1]})

@asset(partitions=DAYS, ins={"days": In(mapping=TimeWindow(start_offset=-1, end_offset=-1))})
def previous(days: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({"rows": [len(days)], "columns": [",".join(days.columns)]})

@asset(
    partitions=StaticPartitions(["a", "b"]),
    ins={"days": In(mapping=StaticMap({"a": ["2025-01-01"]}))},
)
def regions(days: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({"rows": [len(days)]})

defs = Definitions(assets=[up, down, days, previous, regions])
"""


def test_a_change_reverted_before_the_reader_ran_runs_nothing_downstream(
    tmp_path: Path,
) -> None:
    """Found by test_minimality: ``down`` is planned upstream_changed (``up`` holds v2 data)
    and upstream_stale (``up`` goes back to v1); ``up`` comes back with the data ``down``
    read, so ``down`` is cut off."""
    folder = tmp_path / "p"
    project = _project(folder, "VALUE = 1\n" + REVERT)
    assert materialize(project, executor="inprocess", now=NOW).status == "succeeded"
    project = _project(folder, "VALUE = 2\n" + REVERT)
    assert materialize(project, "up", executor="inprocess", now=NOW).counts == {"succeeded": 1}
    project = _project(folder, "VALUE = 1\n" + REVERT)
    result = materialize(project, executor="inprocess", now=NOW)
    status = {o.asset: o for o in result.outcomes}
    assert status["up"].status == "succeeded"
    assert status["down"].status == "skipped" and status["down"].reason == "inputs unchanged"
    assert (folder / "calls").read_text().splitlines() == ["down"]


def test_a_mapping_that_reads_no_partition_passes_an_empty_frame(tmp_path: Path) -> None:
    """Found by test_minimality: a window clipped at the first day, a StaticMap key without
    entries: the function runs with no rows, not an error. Like any input it has no
    partition column unless its In(partition_columns=True) asks."""
    project = _project(tmp_path / "p", "VALUE = 1\n" + REVERT)
    result = materialize(project, "days,previous,regions", executor="inprocess", now=NOW)
    assert result.status == "succeeded", result.summary_lines()
    store = ParquetStore(project.data_path)
    first = store.read("previous", [(("date", "2025-01-01"),)])
    second = store.read("previous", [(("date", "2025-01-02"),)])
    assert first[["rows", "columns"]].values.tolist() == [[0, ""]]
    assert second[["rows", "columns"]].values.tolist() == [[1, "n"]]
    regions = store.read("regions", [(("key", "b"),)])
    assert regions["rows"].tolist() == [0]


FAILING_BATCH = """
import os
import pandas as pd
from partita import DailyPartitions, Definitions, asset

DAYS = DailyPartitions(start="2025-01-01", end="2025-01-04")

@asset(partitions=DAYS, batch=True)
def batched(context) -> pd.DataFrame:
    if os.environ.get("PARTITA_TEST_FAIL_BATCH"):
        raise ValueError("boom")
    keys = list(context.partition_keys)
    return pd.DataFrame({"x": [1] * len(keys), "date": keys})

defs = Definitions(assets=[batched])
"""


def test_a_failed_batch_is_planned_as_failed_per_partition(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = _project(tmp_path / "p", FAILING_BATCH)
    assert materialize(project, executor="inprocess", now=NOW).status == "succeeded"
    monkeypatch.setenv("PARTITA_TEST_FAIL_BATCH", "1")
    failed = materialize(project, executor="inprocess", now=NOW, force=True)
    assert failed.status == "failed"
    step = plan_project(project, now=NOW, observe=False).plan.step("batched")
    assert step is not None
    assert [(r.reason.value, len(r.partitions)) for r in step.reasons] == [("failed", 3)]
