"""A column's type changing between days (issue 12, item 3), through the Python API:
safe widening just works, an unsafe change fails once (no retries) naming
``partita wipe``, and ``partita.api.wipe`` clears the data so the rebuild works.
Real Parquet files and a real DuckDB file; the CLI is ``test_cli_wipe.py``."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pandas as pd
import pytest

import partita
from partita import api
from partita.assets import asset
from partita.catalog.sqlite import SQLiteCatalog
from partita.definitions import Definitions
from partita.errors import DefinitionError, PartitaError
from partita.io import DuckDBStore, ParquetStore, Store
from partita.partitions import DailyPartitions
from partita.planner import Reason
from partita.policies import RetryPolicy
from partita.processes import this_host
from partita.records import Run
from partita.sources import source

NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)
DAYS = DailyPartitions(start="2026-11-20", end="2026-11-24")
D1, D2, D3 = "2026-11-20", "2026-11-21", "2026-11-22"


def _definitions(store: Store, values: dict[str, list[object]]) -> Definitions:
    @asset(partitions=DAYS, store=store, retry=RetryPolicy(max_attempts=3, delay=0.01))
    def deals(context: partita.AssetContext) -> pd.DataFrame:
        return pd.DataFrame({"deals": values[str(context.partition_key)]})

    return Definitions(assets=[deals])


@pytest.fixture(params=["parquet", "duckdb"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    if request.param == "parquet":
        return ParquetStore(tmp_path / "data")
    return DuckDBStore(tmp_path / "analytics.duckdb")


def _reasons(definitions: Definitions, home: Path) -> dict[str, list[str]]:
    plan = partita.plan(definitions, home=home, now=NOW)
    return {
        key: [r.reason.value for r in step.reasons_for(key)]
        for step in plan.steps
        for key in step.partitions
    }


def test_an_int_column_that_was_float_widens_and_an_unsafe_change_is_tried_once(
    store: Store, tmp_path: Path
) -> None:
    # NaN from a left join makes day 1 float; day 2 is integers; day 3 became text
    values: dict[str, list[object]] = {D1: [1.0, float("nan")], D2: [3, 4], D3: ["many"]}
    definitions = _definitions(store, values)
    for day in (D1, D2):
        result = partita.materialize(definitions, partition_key=day, home=tmp_path, now=NOW)
        assert result.success, result.summary_lines()
    both = store.read("deals", [(("date", D1),), (("date", D2),)], pd.DataFrame)
    assert both.sort_values("date")["deals"].tolist()[2:] == [3.0, 4.0]
    assert str(both["deals"].dtype) == "float64"

    refused = partita.materialize(definitions, partition_key=D3, home=tmp_path, now=NOW)
    (outcome,) = refused.outcomes
    assert outcome.status == "failed"
    assert outcome.attempts == 1  # deterministic: the RetryPolicy(max_attempts=3) is not used
    assert "column 'deals' changes type from" in (outcome.error or "")
    with SQLiteCatalog(tmp_path / "catalog.db") as catalog:
        attempts = catalog.attempts(refused.run_id or "", asset="deals")
        assert [str(a.status) for a in attempts] == ["failed"]
        assert "partita wipe deals" in (attempts[0].error or "")
    assert Reason.FAILED.value in _reasons(definitions, tmp_path)[D3]


def test_a_refused_schema_change_is_attempted_once_despite_the_retry_policy(
    store: Store, tmp_path: Path
) -> None:
    definitions = _definitions(store, {D1: ["text"], D2: [2]})
    assert partita.materialize(definitions, partition_key=D1, home=tmp_path, now=NOW).success
    refused = partita.materialize(definitions, partition_key=D2, home=tmp_path, now=NOW)
    assert [(o.status, o.attempts) for o in refused.outcomes] == [("failed", 1)]


def test_a_user_error_is_still_retried_by_the_policy(store: Store, tmp_path: Path) -> None:
    calls: list[str] = []

    @asset(partitions=DAYS, store=store, retry=RetryPolicy(max_attempts=3, delay=0.01))
    def flaky(context: partita.AssetContext) -> pd.DataFrame:
        calls.append(str(context.partition_key))
        if len(calls) < 3:
            raise ConnectionError("the API blinked")
        return pd.DataFrame({"x": [1]})

    result = partita.materialize([flaky], partition_key=D1, home=tmp_path, now=NOW)
    assert result.success and result.outcomes[0].attempts == 3


def test_wiping_the_asset_lets_the_new_type_in_and_the_planner_sees_it_missing(
    store: Store, tmp_path: Path
) -> None:
    values: dict[str, list[object]] = {D1: [1.5], D2: [2.5], D3: [3.5]}
    definitions = _definitions(store, values)
    first = partita.materialize(definitions, partition_range=(D1, D3), home=tmp_path, now=NOW)
    assert first.success
    assert _reasons(definitions, tmp_path) == {"2026-11-23": ["missing"]}

    values.update({D1: ["a"], D2: ["b"], D3: ["c"]})  # the code now yields text
    assert not partita.materialize(definitions, partition_key=D1, home=tmp_path, now=NOW).success

    one = api.wipe(definitions, "deals", partition_key=D2, home=tmp_path)
    assert one.partitions == (D2,) and not one.whole_asset
    assert store.list_partitions("deals") == [(("date", D1),), (("date", D3),)]
    reasons = _reasons(definitions, tmp_path)
    assert reasons[D2] == ["missing"] and "failed" in reasons[D1]

    dry = api.wipe(definitions, "deals", home=tmp_path, dry_run=True)
    assert dry.partitions == (D1, D3) and dry.whole_asset and dry.dry_run
    assert store.list_partitions("deals") == [(("date", D1),), (("date", D3),)]

    everything = api.wipe(definitions, "deals", home=tmp_path)
    assert everything.partitions == (D1, D3) and everything.whole_asset
    assert store.list_partitions("deals") == []
    # a wipe newer than the failure makes the partition missing, not failed
    assert all(r == ["missing"] for r in _reasons(definitions, tmp_path).values())

    rebuilt = partita.materialize(definitions, partition_range=(D1, D3), home=tmp_path, now=NOW)
    assert rebuilt.success, rebuilt.summary_lines()
    read = store.read("deals", [(("date", d),) for d in (D1, D2, D3)], pd.DataFrame)
    assert sorted(read["deals"]) == ["a", "b", "c"]
    if isinstance(store, DuckDBStore):
        with duckdb.connect(str(store.path), read_only=True) as con:
            assert con.sql(
                "SELECT data_type FROM information_schema.columns "
                "WHERE table_name = 'deals' AND column_name = 'deals'"
            ).fetchall() == [("VARCHAR",)]
    # history is kept: the first three materializations are still listed
    with SQLiteCatalog(tmp_path / "catalog.db") as catalog:
        assert len(catalog.history("deals", D2, limit=10)) == 2


def test_a_source_cannot_be_wiped(tmp_path: Path) -> None:
    @source
    def vendor() -> str:
        return "v1"

    with pytest.raises(DefinitionError, match="vendor is a source"):
        api.wipe([vendor], "vendor", home=tmp_path)


def test_a_partition_another_run_is_building_is_not_wiped(store: Store, tmp_path: Path) -> None:
    definitions = _definitions(store, {D1: [1], D2: [2]})
    assert partita.materialize(definitions, partition_range=(D1, D2), home=tmp_path).success
    now = datetime.now(UTC)
    with SQLiteCatalog(tmp_path / "catalog.db") as catalog:
        catalog.start_run(Run(run_id="busy", started_at=now, host=this_host(), pid=os.getpid()))
        assert catalog.acquire_leases("busy", [("deals", D2)], now=now, ttl_s=600) == [
            ("deals", D2)
        ]
    with pytest.raises(PartitaError, match=r"deals \[2026-11-21\] is being built by run busy"):
        api.wipe(definitions, "deals", home=tmp_path)
    assert len(store.list_partitions("deals")) == 2  # nothing was deleted
    assert api.wipe(definitions, "deals", partition_key=D1, home=tmp_path).partitions == (D1,)


def test_a_store_naming_no_resource_is_refused_before_any_run(tmp_path: Path) -> None:
    # checked when the project loads: no run starts, no attempt is made
    @asset(store="nope", retry=RetryPolicy(max_attempts=3, delay=0.01))
    def orphan() -> pd.DataFrame:
        return pd.DataFrame({"x": [1]})

    with pytest.raises(DefinitionError, match="asset orphan: store='nope' names no resource"):
        partita.materialize([orphan], home=tmp_path, now=NOW)
    assert not (tmp_path / "catalog.db").exists()


def test_the_state_as_of_a_time_counts_a_wipe_made_by_then(tmp_path: Path) -> None:
    definitions = _definitions(ParquetStore(tmp_path / "data"), {D1: [1], D2: [2]})
    built = partita.materialize(definitions, partition_range=(D1, D2), home=tmp_path, now=NOW)
    assert built.success and built.finished_at is not None
    wiped_at = built.finished_at + timedelta(seconds=10)
    api.wipe(definitions, "deals", partition_key=D1, home=tmp_path, now=wiped_at)
    with SQLiteCatalog(tmp_path / "catalog.db") as catalog:
        before = catalog.planner_state(["deals"], as_of=wiped_at - timedelta(seconds=5))
        after = catalog.planner_state(["deals"], as_of=wiped_at + timedelta(seconds=5))
    assert sorted(before.latest["partition"].to_pylist()) == [D1, D2]
    assert after.latest["partition"].to_pylist() == [D2]
