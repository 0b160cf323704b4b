"""The planner on small graphs, with the state built as a runner would record it."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from partita.assets import In, asset
from partita.definitions import Definitions
from partita.errors import PartitionKeyError
from partita.graph import AssetGraph
from partita.mappings import TimeWindow
from partita.partitions import DailyPartitions, HourlyPartitions, MonthlyPartitions
from partita.planner import PartitionRequest, PlanRequest, Reason, plan
from partita.sources import source
from tests.planner_support import NOW, FakeCatalog

DAILY = DailyPartitions(start="2025-01-01", end="2025-01-11")  # 10 days


def chain() -> AssetGraph:
    @asset(partitions=DAILY, code_version="1")
    def raw() -> None: ...

    @asset(partitions=DAILY, code_version="1")
    def clean(raw: pd.DataFrame) -> None: ...

    @asset(partitions=DAILY, code_version="1", ins={"clean": In(mapping=TimeWindow(-2, 0))})
    def rolling(clean: pd.DataFrame) -> None: ...

    @asset(code_version="1")
    def total(clean: pd.DataFrame) -> None: ...

    return AssetGraph(Definitions(assets=[raw, clean, rolling, total]))


def built(graph: AssetGraph) -> FakeCatalog:
    catalog = FakeCatalog(graph)
    for name in ("raw", "clean", "rolling"):
        catalog.build_all(name)
    catalog.build("total")
    return catalog


def reasons(result, asset_name: str) -> dict[str, list[str]]:  # type: ignore[no-untyped-def]
    step = result.step(asset_name)
    assert step is not None, f"{asset_name} not planned"
    return {r.reason.value: list(r.partitions) for r in step.reasons}


def test_everything_missing() -> None:
    graph = chain()
    result = plan(graph, FakeCatalog(graph).state(), PlanRequest(), NOW)
    assert [str(s.asset) for s in result.steps] == ["raw", "clean", "rolling", "total"]
    assert len(result.step("raw").partitions) == 10  # type: ignore[union-attr]
    assert reasons(result, "clean")["missing"] == list(DAILY.keys(NOW))
    assert reasons(result, "clean")["upstream_stale"] == list(DAILY.keys(NOW))
    assert result.partition_count == 31
    assert not result.blocked


def test_nothing_to_do_after_everything_is_built() -> None:
    graph = chain()
    result = plan(graph, built(graph).state(), PlanRequest(), NOW)
    assert result.is_empty and result.partition_count == 0


def test_one_upstream_partition_changed() -> None:
    graph = chain()
    catalog = built(graph)
    catalog.build("raw", "2025-01-05", "raw:new")
    result = plan(graph, catalog.state(), PlanRequest(), NOW)
    assert [str(s.asset) for s in result.steps] == ["clean", "rolling", "total"]
    clean = result.step("clean")
    assert clean is not None and list(clean.partitions) == ["2025-01-05"]
    (why,) = clean.reasons
    assert why.reason is Reason.UPSTREAM_CHANGED and str(why.upstream) == "raw"
    assert list(why.upstream_partitions or []) == ["2025-01-05"]
    assert why.describe() == "upstream_changed: raw 2025-01-05 (1)"
    rolling = result.step("rolling")
    assert rolling is not None
    assert list(rolling.partitions) == ["2025-01-05", "2025-01-06", "2025-01-07"]
    assert rolling.only_upstream_stale("2025-01-06")
    assert reasons(result, "total") == {"upstream_stale": [""]}


def test_rebuilt_with_same_data_is_not_a_change() -> None:
    graph = chain()
    catalog = built(graph)
    catalog.build("raw", "2025-01-05", "raw:2025-01-05:v1")  # same version, new materialization
    assert plan(graph, catalog.state(), PlanRequest(), NOW).is_empty


def test_unpartitioned_reader_sees_a_gained_partition() -> None:
    graph = chain()
    catalog = FakeCatalog(graph)
    catalog.build_all("raw")
    for day in list(DAILY.keys(NOW))[:9]:
        catalog.build("clean", day)
    catalog.build("total")  # read 9 days
    catalog.build("clean", "2025-01-10")  # the 10th day arrives
    result = plan(graph, catalog.state(), PlanRequest(selection="total"), NOW)
    assert reasons(result, "total") == {"upstream_changed": [""]}
    why = result.step("total").reasons[0]  # type: ignore[union-attr]
    assert list(why.upstream_partitions or []) == ["2025-01-10"]


def test_code_change_config_change_failure_and_force() -> None:
    graph = chain()
    catalog = built(graph)
    catalog.fail("clean", "2025-01-03", "ValueError: bad row")
    result = plan(graph, catalog.state(), PlanRequest(selection="clean"), NOW)
    assert reasons(result, "clean") == {"failed": ["2025-01-03"]}

    forced = plan(graph, catalog.state(), PlanRequest(selection="raw", force=True), NOW)
    assert reasons(forced, "raw") == {"forced": list(DAILY.keys(NOW))}

    configured = plan(
        graph, catalog.state(), PlanRequest(selection="total", config_hashes={"total": "abc"}), NOW
    )
    assert reasons(configured, "total") == {"config_changed": [""]}
    not_compared = plan(
        graph,
        catalog.state(),
        PlanRequest(
            selection="clean,total",
            config_hashes={"clean": "abc", "total": "abc"},
            config_not_compared=frozenset({"total"}),
        ),
        NOW,
    )
    assert reasons(not_compared, "total") == {"upstream_stale": [""]}
    assert "config_changed" in reasons(not_compared, "clean")

    @asset(partitions=DAILY, code_version="2")
    def raw() -> None: ...

    changed_graph = AssetGraph(
        Definitions(assets=[raw, *[graph.spec(k) for k in ("clean", "rolling", "total")]])
    )
    changed = plan(
        changed_graph, catalog.state(), PlanRequest(selection="raw+"), changed_graph_now()
    )
    raw_step = changed.step("raw")
    assert raw_step is not None and raw_step.reasons[0].reason is Reason.CODE_CHANGED
    assert "1 -> 2" in raw_step.reasons[0].detail
    assert len(changed.step("clean").partitions) == 10  # type: ignore[union-attr]


def changed_graph_now():  # type: ignore[no-untyped-def]
    return NOW


def test_blocked_when_inputs_are_missing_and_not_selected() -> None:
    graph = chain()
    catalog = FakeCatalog(graph)
    catalog.build("raw", "2025-01-01")
    result = plan(graph, catalog.state(), PlanRequest(selection="clean"), NOW)
    assert list(result.step("clean").partitions) == ["2025-01-01"]  # type: ignore[union-attr]
    (blocked,) = result.blocked
    assert len(blocked.partitions) == 9 and str(blocked.upstream) == "raw"
    assert "which is missing" in blocked.describe()


def test_partition_range_requests() -> None:
    graph = chain()
    state = FakeCatalog(graph).state()
    one = plan(
        graph,
        state,
        PlanRequest(selection="raw", partitions=PartitionRequest.parse("2025-01-03")),
        NOW,
    )
    assert list(one.step("raw").partitions) == ["2025-01-03"]  # type: ignore[union-attr]
    several = plan(
        graph,
        state,
        PlanRequest(
            selection="+clean", partitions=PartitionRequest.parse("2025-01-03..2025-01-05")
        ),
        NOW,
    )
    assert len(several.step("clean").partitions) == 3  # type: ignore[union-attr]
    with pytest.raises(PartitionKeyError, match="DailyPartitions") as info:
        plan(
            graph,
            state,
            PlanRequest(selection="raw", partitions=PartitionRequest.parse("2025-13-01")),
            NOW,
        )
    assert "2025-01-01" in str(info.value)  # a valid example


def test_large_fan_in_monthly_rollup() -> None:
    days = DailyPartitions(start="2024-01-01", end="2025-01-01")

    @asset(partitions=days)
    def day() -> None: ...

    @asset(partitions=MonthlyPartitions(start="2024-01", end="2025-01"))
    def month(day: pd.DataFrame) -> None: ...

    @asset
    def year(day: pd.DataFrame) -> None: ...

    graph = AssetGraph(Definitions(assets=[day, month, year]))
    catalog = FakeCatalog(graph)
    catalog.build_all("day")
    catalog.build_all("month")
    catalog.build("year")
    assert plan(graph, catalog.state(), PlanRequest(), NOW).is_empty
    catalog.build("day", "2024-07-14", "changed")
    result = plan(graph, catalog.state(), PlanRequest(), NOW)
    assert reasons(result, "month") == {"upstream_changed": ["2024-07"]}
    assert reasons(result, "year") == {"upstream_changed": [""]}


def test_hourly_asset_with_a_day_key() -> None:
    @asset(partitions=DAILY)
    def daily_in() -> None: ...

    @asset(partitions=HourlyPartitions(start="2025-01-01T00:00", end="2025-01-11T00:00"))
    def hourly(daily_in: pd.DataFrame) -> None: ...

    graph = AssetGraph(Definitions(assets=[daily_in, hourly]))
    result = plan(
        graph,
        FakeCatalog(graph).state(),
        PlanRequest(partitions=PartitionRequest.parse("2025-01-02")),
        NOW,
    )
    assert len(result.step("hourly").partitions) == 24  # type: ignore[union-attr]


def test_sources_observations_drive_staleness() -> None:
    landing = source("landing", partitions=DAILY, store=object())

    @source(partitions=DAILY)
    def feed(context) -> str | None:  # type: ignore[no-untyped-def]
        return None

    @asset(partitions=DAILY)
    def parsed(landing: pd.DataFrame) -> None: ...

    @asset(partitions=DAILY, deps=[feed])
    def fed() -> None: ...

    graph = AssetGraph(Definitions(assets=[parsed, fed], sources=[landing, feed]))
    catalog = FakeCatalog(graph)
    first = plan(graph, catalog.state(), PlanRequest(), NOW)
    assert [str(s.asset) for s in first.steps] == ["parsed"]  # feed never observed: blocked
    assert {str(b.asset) for b in first.blocked} == {"fed"}
    for day in DAILY.keys(NOW):
        catalog.observe("feed", day, "v1")
    catalog.build_all("parsed")
    catalog.build_all("fed")
    assert plan(graph, catalog.state(), PlanRequest(), NOW).is_empty
    catalog.observe("feed", "2025-01-04", "v2")
    again = plan(graph, catalog.state(), PlanRequest(), NOW)
    assert reasons(again, "fed") == {"upstream_changed": ["2025-01-04"]}


def test_plan_is_json_serializable() -> None:
    graph = chain()
    catalog = built(graph)
    catalog.build("raw", "2025-01-05", "raw:new")
    data = plan(graph, catalog.state(), PlanRequest(), NOW).to_json()
    text = json.dumps(data)
    assert json.loads(text)["total_partitions"] == 5
    assert data["steps"][0]["reasons"][0]["upstream_partitions"]["ranges"] == [
        ["2025-01-05", "2025-01-05"]
    ]


def test_rechecked_when_planned_only_for_inputs_one_of_which_is_planned() -> None:
    """Early cutoff applies to upstream_changed + upstream_stale (found by test_minimality):
    the changed input may be rebuilt to the very version the partition last read."""
    graph = chain()
    catalog = built(graph)
    catalog.build("clean", "2025-01-05", "clean:other")  # clean changed, rolling not rebuilt
    catalog.fail("raw", "2025-01-05")  # raw is planned again: clean is also upstream_stale
    result = plan(graph, catalog.state(), PlanRequest(), NOW)
    rolling = result.step("rolling")
    assert rolling is not None
    assert {r.reason for r in rolling.reasons_for("2025-01-05")} == {
        Reason.UPSTREAM_CHANGED,
        Reason.UPSTREAM_STALE,
    }
    assert rolling.rechecked("2025-01-05") and not rolling.only_upstream_stale("2025-01-05")
    clean = result.step("clean")
    assert clean is not None and clean.rechecked("2025-01-05")  # only upstream_stale
    # a reason of its own (code, failure, missing, force) is never cut off
    forced = plan(graph, catalog.state(), PlanRequest(force=True), NOW).step("rolling")
    assert forced is not None and not forced.rechecked("2025-01-05")
    raw = result.step("raw")
    assert raw is not None and not raw.rechecked("2025-01-05")  # failed last time


def test_each_partition_is_explained_by_its_own_inputs_after_a_window_change() -> None:
    """The window grows from 3 to 4 days: every window's inputs changed. A window with an
    input rebuilt since names that input; the others name all they read now (not the
    rebuilt input of another window)."""
    graph = chain()
    catalog = built(graph)
    catalog.build("clean", "2025-01-02", "clean:2025-01-02:v1")  # rebuilt, same data

    @asset(partitions=DAILY, code_version="1", ins={"clean": In(mapping=TimeWindow(-3, 0))})
    def rolling(clean: pd.DataFrame) -> None: ...

    specs = [s for s in graph.definitions.assets if str(s.key) != "rolling"]
    wider = AssetGraph(Definitions(assets=[*specs, rolling]))
    result = plan(wider, catalog.state(), PlanRequest(selection="rolling"), NOW)
    step = result.step("rolling")
    assert step is not None and len(step.partitions) == 7  # 4 to 10 January
    (why,) = step.reasons
    assert why.reason is Reason.UPSTREAM_CHANGED
    named = list(why.upstream_partitions or [])
    assert "2025-01-02" in named  # in the window of 5 January, rebuilt since
    assert "2025-01-08" in named  # the window of 9 January: all it reads now
