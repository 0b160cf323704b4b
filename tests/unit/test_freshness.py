"""Freshness policies and partition status, judged on an in-memory catalog state (exact)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pyarrow as pa
import pytest

from partita.api.freshness import planned_partitions
from partita.assets import asset
from partita.definitions import Definitions
from partita.errors import DefinitionError
from partita.freshness import FreshnessStatus, evaluate, next_tick, previous_tick, status
from partita.graph import AssetGraph
from partita.partitions import DailyPartitions, MultiPartitions, StaticPartitions
from partita.planner import PlanRequest, plan
from partita.policies import Freshness
from partita.records import PlannerState
from partita.sources import source
from tests.planner_support import FakeCatalog

DAILY = DailyPartitions(start="2025-01-01")
BERLIN = DailyPartitions(start="2025-03-01", timezone="Europe/Berlin")


def _utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def _judge(fake: FakeCatalog, now: datetime, state: PlannerState | None = None) -> dict[str, str]:
    state = state or fake.state()
    made = plan(fake.graph, state, PlanRequest(), now)
    report = evaluate(fake.graph, state, planned_partitions(made), now)
    return {str(a.asset): a.status.value for a in report.assets}


def _with_created_at(state: PlannerState, when: dict[str, datetime]) -> PlannerState:
    """The state with ``created_at`` of every row of the named assets replaced."""
    latest = state.latest
    times = [
        when.get(a, t)
        for a, t in zip(latest["asset"].to_pylist(), latest["created_at"].to_pylist(), strict=True)
    ]
    column = pa.array(times, type=pa.timestamp("us", tz="UTC"))
    index = latest.schema.get_field_index("created_at")
    return PlannerState(
        latest=latest.set_column(index, "created_at", column),
        edges=state.edges,
        failed=state.failed,
        observations=state.observations,
    )


def _daily_graph(policy: Freshness | None, partitions: DailyPartitions = DAILY) -> AssetGraph:
    @asset(partitions=partitions)
    def raw() -> None: ...

    @asset(partitions=partitions, freshness=policy)
    def clean(raw: object) -> None: ...

    return AssetGraph(Definitions(assets=[raw, clean]))


def _built(graph: AssetGraph, now: datetime, skip: tuple[str, ...] = ()) -> FakeCatalog:
    fake = FakeCatalog(graph, now=now)
    for name in ("raw", "clean"):
        for key in graph.spec(name).partitions.keys(now):  # type: ignore[union-attr]
            if not (name == "clean" and key in skip):
                fake.build(name, key)
    return fake


def test_max_lag_judges_the_newest_due_partition() -> None:
    graph = _daily_graph(Freshness(max_lag="26h", warn_lag="20h"))
    now = _utc(2025, 1, 10, 1)  # newest partition 2025-01-09, due at 2025-01-10 02:00
    fake = _built(graph, now)
    assert _judge(fake, now)["clean"] == "fresh"
    assert _judge(fake, now)["raw"] == "no_policy"
    missing = _built(graph, now, skip=("2025-01-09",))
    state = missing.state()
    assert _judge(missing, now, state)["clean"] == "warn"  # 25h behind, not due yet
    later = _utc(2025, 1, 10, 2)
    report = evaluate(
        graph, state, planned_partitions(plan(graph, state, PlanRequest(), later)), later
    )
    item = report.assets[-1]
    assert item.status is FreshnessStatus.MISSING and item.judged_partition == "2025-01-09"
    assert item.newest_partition == "2025-01-09"
    assert item.lag == timedelta(hours=26)  # from the end of 2025-01-08
    assert "2025-01-09: never materialized" in item.reason
    assert item.next_deadline == _utc(2025, 1, 11, 2)
    assert report.violated


def test_backfilling_an_old_partition_does_not_make_it_fresh() -> None:
    graph = _daily_graph(Freshness(max_lag="26h"))
    now = _utc(2025, 1, 20, 12)
    fake = _built(graph, now, skip=("2025-01-18", "2025-01-19"))
    fake.build("clean", "2025-01-02", "backfilled")  # rebuilt just now
    state = _with_created_at(fake.state(), {"clean": now})
    assert _judge(fake, now, state)["clean"] == "missing"


def test_failed_and_stale_newest_partition() -> None:
    graph = _daily_graph(Freshness(max_lag="26h"))
    now = _utc(2025, 1, 10, 3)
    fake = _built(graph, now)
    fake.fail("clean", "2025-01-09", "division by zero")
    assert _judge(fake, now)["clean"] == "failed"
    fake = _built(graph, now)
    fake.build("raw", "2025-01-09", "raw changed")
    state = fake.state()
    made = plan(graph, state, PlanRequest(), now)
    report = evaluate(graph, state, planned_partitions(made), now)
    item = report.assets[-1]
    assert item.status is FreshnessStatus.STALE
    assert "upstream_changed: raw" in item.reason
    # an older stale partition does not matter for freshness, only for status
    fake = _built(graph, now)
    fake.build("raw", "2025-01-03", "raw changed")
    assert _judge(fake, now)["clean"] == "fresh"


def test_late_when_no_newer_partition_can_exist() -> None:
    closed = DailyPartitions(start="2025-01-01", end="2025-01-11")
    graph = _daily_graph(Freshness(max_lag="2d"), closed)
    fake = _built(graph, _utc(2025, 1, 11))
    assert _judge(fake, _utc(2025, 1, 12, 23))["clean"] == "fresh"
    assert _judge(fake, _utc(2025, 1, 13, 1))["clean"] == "late"


def test_a_closed_range_has_no_next_deadline_after_its_last_partition() -> None:
    closed = DailyPartitions(start="2025-01-01", end="2025-01-11")
    for policy, expected in (
        (Freshness(deadline="0 9 * * *"), "fresh"),
        (Freshness(max_lag="2d"), "late"),
    ):
        graph = _daily_graph(policy, closed)
        fake = _built(graph, _utc(2025, 1, 11))
        now = _utc(2026, 6, 1)
        state = fake.state()
        made = plan(fake.graph, state, PlanRequest(), now)
        report = evaluate(fake.graph, state, planned_partitions(made), now)
        [clean] = [a for a in report.assets if str(a.asset) == "clean"]
        assert clean.status.value == expected
        assert clean.judged_partition == "2025-01-10"
        assert clean.next_deadline is None  # 2025-01-11 does not exist: nothing is due
        assert "it is the last of the range" in clean.reason
    # while the range runs, the next partition's deadline is given
    open_graph = _daily_graph(Freshness(deadline="0 9 * * *"), closed)
    fake = _built(open_graph, _utc(2025, 1, 5))
    state = fake.state()
    now = _utc(2025, 1, 5, 10)
    report = evaluate(
        fake.graph, state, planned_partitions(plan(fake.graph, state, PlanRequest(), now)), now
    )
    [clean] = [a for a in report.assets if str(a.asset) == "clean"]
    assert clean.next_deadline == _utc(2025, 1, 6, 9)


@pytest.mark.parametrize(
    ("now", "judged"),
    [
        # 2025-03-30 has 23 hours; its partition is due 2025-03-31 09:00 CEST = 07:00 UTC
        (_utc(2025, 3, 31, 6, 59), "2025-03-29"),
        (_utc(2025, 3, 31, 7, 0), "2025-03-30"),
        # 2025-03-28 is due 2025-03-29 09:00 CET = 08:00 UTC
        (_utc(2025, 3, 29, 7, 59), "2025-03-27"),
        (_utc(2025, 3, 29, 8, 0), "2025-03-28"),
        # 2025-10-26 has 25 hours; due 2025-10-27 09:00 CET = 08:00 UTC
        (_utc(2025, 10, 27, 7, 59), "2025-10-25"),
        (_utc(2025, 10, 27, 8, 0), "2025-10-26"),
    ],
)
def test_deadline_in_berlin_across_dst(now: datetime, judged: str) -> None:
    graph = _daily_graph(Freshness(deadline="0 9 * * *", timezone="Europe/Berlin"), BERLIN)
    fake = _built(graph, now)
    state = fake.state()
    report = evaluate(graph, state, planned_partitions(plan(graph, state, PlanRequest(), now)), now)
    item = report.assets[-1]
    assert item.status is FreshnessStatus.FRESH and item.judged_partition == judged
    # without the judged partition it is missing; with only newer ones missing, still fresh
    hole = _built(graph, now, skip=(judged,))
    assert _judge(hole, now)["clean"] == "missing"
    newest = BERLIN.keys(now)[-1]
    assert item.newest_partition == newest
    assert item.lag == now - BERLIN.time_window(newest).end


def test_cron_ticks_are_local_wall_times() -> None:
    assert next_tick("0 9 * * *", "Europe/Berlin", _utc(2025, 3, 30, 7, 1)) == _utc(2025, 3, 31, 7)
    assert next_tick("0 9 * * *", "Europe/Berlin", _utc(2025, 3, 29, 8)) == _utc(2025, 3, 29, 8)
    assert previous_tick("0 9 * * *", "Europe/Berlin", _utc(2025, 3, 30, 6, 59)) == _utc(
        2025, 3, 29, 8
    )


def _single(policy: Freshness) -> AssetGraph:
    @asset(freshness=policy)
    def report() -> None: ...

    return AssetGraph(Definitions(assets=[report]))


def test_unpartitioned_max_lag_and_warn() -> None:
    graph = _single(Freshness(max_lag="2h", warn_lag="1h"))
    fake = FakeCatalog(graph)
    built = _utc(2025, 2, 1, 10)
    assert _judge(fake, built)["report"] == "missing"
    fake.build("report")
    state = _with_created_at(fake.state(), {"report": built})
    assert _judge(fake, built + timedelta(minutes=59), state)["report"] == "fresh"
    assert _judge(fake, built + timedelta(minutes=61), state)["report"] == "warn"
    late = _judge(fake, built + timedelta(hours=2, seconds=1), state)
    assert late["report"] == "late"


def test_unpartitioned_deadline_needs_one_refresh_per_period() -> None:
    graph = _single(Freshness(deadline="0 9 * * *"))
    fake = FakeCatalog(graph)
    fake.build("report")
    state = _with_created_at(fake.state(), {"report": _utc(2025, 2, 1, 8)})
    # period 2025-01-31 09:00 .. 2025-02-01 09:00: refreshed at 08:00, in time
    assert _judge(fake, _utc(2025, 2, 2, 8, 59), state)["report"] == "fresh"
    # period 2025-02-01 09:00 .. 2025-02-02 09:00 has no refresh
    assert _judge(fake, _utc(2025, 2, 2, 9), state)["report"] == "late"


def test_sources_from_observations_and_loaded_at() -> None:
    def landing(context: object) -> str | None:
        return None

    def api_dump(context: object) -> str | None:
        return None

    specs = [
        source(landing, partitions=DAILY, freshness=Freshness(max_lag="30h")),
        source(api_dump, freshness=Freshness(max_lag="2h", loaded_at="loaded_at")),
    ]
    graph = AssetGraph(Definitions(assets=specs))
    now = _utc(2025, 1, 5, 3)
    fake = FakeCatalog(graph, now=now)
    for day in ("2025-01-01", "2025-01-02", "2025-01-03"):
        fake.observe("landing", day, f"v-{day}")
    state = fake.state()
    report = evaluate(graph, state, {}, now, loaded_at={})
    found = {str(a.asset): a for a in report.assets}
    assert found["landing"].status is FreshnessStatus.FRESH
    assert found["landing"].lag == timedelta(hours=27)  # from the end of 2025-01-03
    assert found["api_dump"].status is FreshnessStatus.MISSING
    loaded = {graph.resolve("api_dump"): now - timedelta(hours=3)}
    report = evaluate(graph, state, {}, now + timedelta(hours=4), loaded_at=loaded)
    found = {str(a.asset): a for a in report.assets}
    assert found["landing"].status is FreshnessStatus.MISSING  # 2025-01-04 is due now
    assert found["api_dump"].status is FreshnessStatus.LATE
    assert found["api_dump"].last_materialization == now - timedelta(hours=3)


def test_multi_partitions_judge_every_region_of_the_due_day() -> None:
    multi = MultiPartitions(
        {"date": DailyPartitions(start="2025-01-01"), "region": StaticPartitions(["eu", "us"])}
    )

    @asset(partitions=multi, freshness=Freshness(max_lag="26h"))
    def sales() -> None: ...

    graph = AssetGraph(Definitions(assets=[sales]))
    now = _utc(2025, 1, 4, 3)
    fake = FakeCatalog(graph, now=now)
    for key in multi.keys(now):
        if key != "2025-01-03|us":
            fake.build("sales", key)
    assert _judge(fake, now)["sales"] == "missing"
    fake.build("sales", "2025-01-03|us")
    assert _judge(fake, now)["sales"] == "fresh"


def test_status_counts_and_ranges() -> None:
    graph = _daily_graph(None)
    now = _utc(2025, 1, 11)
    fake = _built(graph, now, skip=("2025-01-09", "2025-01-10"))
    fake.build("raw", "2025-01-03", "changed")
    fake.fail("clean", "2025-01-05")
    state = fake.state()
    made = plan(graph, state, PlanRequest(), now)
    report = status(graph, state, planned_partitions(made), now)
    raw, clean = report.assets
    assert (raw.partitions, raw.fresh, len(raw.stale), len(raw.missing)) == (10, 10, 0, 0)
    assert clean.partitions == 10 and clean.fresh == 6
    assert clean.stale.ranges() == [("2025-01-03", "2025-01-03")]
    assert clean.missing.ranges() == [("2025-01-09", "2025-01-10")]
    assert clean.failed.ranges() == [("2025-01-05", "2025-01-05")]
    # the same partitions the plan builds: stale + missing + failed
    step = made.step("clean")
    assert step is not None
    assert len(step.partitions) == len(clean.stale) + len(clean.missing) + len(clean.failed)
    data = report.to_json()
    assert data["totals"] == {
        "assets": 2,
        "partitions": 20,
        "fresh": 16,
        "stale": 1,
        "missing": 2,
        "failed": 1,
    }
    assert data["assets"][1]["missing_partitions"] == {
        "text": "2025-01-09..2025-01-10 (2)",
        "ranges": [["2025-01-09", "2025-01-10"]],
    }


def test_freshness_json_shape() -> None:
    graph = _daily_graph(Freshness(max_lag="26h"))
    now = _utc(2025, 1, 10, 1)
    fake = _built(graph, now)
    state = fake.state()
    report = evaluate(graph, state, {}, now, selection="clean")
    data = report.to_json()
    assert set(data) == {"now", "assets", "totals", "violated"}
    assert data["now"] == "2025-01-10T01:00:00+00:00" and data["violated"] is False
    (item,) = data["assets"]
    assert item == {
        "asset": "clean",
        "kind": "asset",
        "status": "fresh",
        "level": "ok",
        "policy": "max lag 26h",
        "newest_partition": "2025-01-09",
        "judged_partition": "2025-01-08",
        "last_materialization": now.isoformat(),
        "lag_seconds": 3600.0,
        "lag": "1h 0m",
        "next_deadline": "2025-01-10T02:00:00+00:00",
        "reason": item["reason"],
        "config_note": None,
    }
    assert data["totals"]["fresh"] == 1 and data["totals"]["missing"] == 0


def test_loaded_at_must_be_a_column_name() -> None:
    with pytest.raises(DefinitionError, match="not a column name"):
        Freshness(max_lag="1h", loaded_at="max(x)")
    assert "from column loaded_at" in Freshness(max_lag="1h", loaded_at="loaded_at").describe()
