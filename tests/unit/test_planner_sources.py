"""Which source partitions a request reads, and planning around failed observations."""

from __future__ import annotations

import json
from collections.abc import Mapping

import pandas as pd
import pytest

from partita.assets import In, asset
from partita.definitions import Definitions
from partita.errors import DefinitionError, PartitionKeyError
from partita.graph import AssetGraph
from partita.keys import AssetKey
from partita.mappings import AllPartitions, TimeWindow
from partita.partitions import DailyPartitions, HourlyPartitions, PartitionSubset
from partita.planner import (
    FailedObservation,
    PartitionRequest,
    PlanRequest,
    plan,
    source_partitions,
)
from partita.policies import RetryPolicy
from partita.sources import source
from tests.planner_support import NOW, FakeCatalog

DAILY = DailyPartitions(start="2025-01-01", end="2025-01-11")  # 10 days


def graph_with_sources() -> AssetGraph:
    @source(partitions=DAILY, store=object())
    def feed(context) -> str | None:  # type: ignore[no-untyped-def]
        return "v"

    @source(store=object())
    def rates() -> str:
        return "r"

    unobserved = source("landing", partitions=DAILY, store=object())

    @asset(partitions=DAILY, code_version="1", ins={"feed": In(mapping=TimeWindow(-2, 0))})
    def rolling(feed: pd.DataFrame, rates: pd.DataFrame, landing: pd.DataFrame) -> None: ...

    @asset(partitions=DAILY, code_version="1")
    def daily(rolling: pd.DataFrame) -> None: ...

    return AssetGraph(Definitions(assets=[rolling, daily], sources=[feed, rates, unobserved]))


def keys(found: Mapping[AssetKey, PartitionSubset], name: str) -> list[str]:
    return list(found[AssetKey(name)])


def test_source_partitions_map_the_requested_partitions_through_the_edges() -> None:
    graph = graph_with_sources()
    one_day = source_partitions(
        graph, PlanRequest(partitions=PartitionRequest.parse("2025-01-05")), NOW
    )
    assert [str(k) for k in one_day] == ["feed", "rates"]  # landing has no observe function
    assert keys(one_day, "feed") == ["2025-01-03", "2025-01-04", "2025-01-05"]
    assert keys(one_day, "rates") == [""]
    everything = source_partitions(graph, PlanRequest(), NOW)
    assert keys(everything, "feed") == list(DAILY.keys(NOW))
    ranged = source_partitions(
        graph, PlanRequest(partitions=PartitionRequest.parse("2025-01-09..2025-01-10")), NOW
    )
    assert keys(ranged, "feed") == ["2025-01-07", "2025-01-08", "2025-01-09", "2025-01-10"]
    # a selection that reads no source observes nothing
    assert source_partitions(graph, PlanRequest(selection="daily"), NOW) == {}
    with pytest.raises(PartitionKeyError):
        source_partitions(graph, PlanRequest(partitions=PartitionRequest.parse("2025-13-01")), NOW)


def test_source_partitions_of_another_grain_and_of_all_partitions() -> None:
    hours = HourlyPartitions(start="2025-01-01T00:00", end="2025-01-11T00:00")

    @source(partitions=hours, store=object())
    def sensor(context) -> str:  # type: ignore[no-untyped-def]
        return "v"

    @asset(partitions=DAILY)
    def per_day(sensor: pd.DataFrame) -> None: ...

    @asset(ins={"sensor": In(mapping=AllPartitions())})
    def summary(sensor: pd.DataFrame) -> None: ...

    graph = AssetGraph(Definitions(assets=[per_day, summary], sources=[sensor]))
    day = source_partitions(
        graph, PlanRequest("per_day", partitions=PartitionRequest.parse("2025-01-02")), NOW
    )
    assert len(keys(day, "sensor")) == 24 and keys(day, "sensor")[0] == "2025-01-02T00:00"
    whole = source_partitions(graph, PlanRequest("summary"), NOW)
    assert len(keys(whole, "sensor")) == 240


def test_a_failed_observation_blocks_only_its_readers() -> None:
    graph = graph_with_sources()
    catalog = FakeCatalog(graph)
    for day in DAILY.keys(NOW):
        catalog.observe("feed", day, "v1")
    catalog.observe("rates", "", "r1")
    failure = FailedObservation(AssetKey("feed"), "2025-01-04", "ConnectionError: down", 3)
    result = plan(graph, catalog.state(), PlanRequest(), NOW, failed_observations=[failure])
    rolling = result.step("rolling")
    assert rolling is not None
    # rolling reads feed over three days: the three days that read 2025-01-04 are blocked
    blocked_days = ["2025-01-04", "2025-01-05", "2025-01-06"]
    assert [k for k in DAILY.keys(NOW) if k not in rolling.partitions] == blocked_days
    by_asset = {str(b.asset): b for b in result.blocked}
    assert list(by_asset["rolling"].partitions) == blocked_days
    assert list(by_asset["rolling"].upstream_partitions) == ["2025-01-04"]
    assert by_asset["rolling"].detail == "whose observation failed: ConnectionError: down"
    assert "whose observation failed: ConnectionError: down" in by_asset["rolling"].describe()
    assert list(by_asset["daily"].partitions) == blocked_days  # their readers stay blocked
    assert by_asset["daily"].detail == ""
    data = json.loads(json.dumps(result.to_json()))
    assert data["failed_observations"] == [
        {
            "asset": "feed",
            "partition": "2025-01-04",
            "error": "ConnectionError: down",
            "attempts": 3,
        }
    ]


def test_a_failed_unpartitioned_source_blocks_every_reader_partition() -> None:
    graph = graph_with_sources()
    catalog = FakeCatalog(graph)
    for day in DAILY.keys(NOW):
        catalog.observe("feed", day, "v1")
    failure = FailedObservation(AssetKey("rates"), "", "OSError: no route to host")
    result = plan(graph, catalog.state(), PlanRequest(), NOW, failed_observations=[failure])
    assert result.is_empty
    (rolling, daily) = result.blocked
    assert str(rolling.upstream) == "rates" and len(rolling.partitions) == 10
    assert rolling.describe().endswith("whose observation failed: OSError: no route to host")
    assert str(daily.upstream) == "rolling" and len(daily.partitions) == 10
    assert result.to_json()["failed_observations"][0]["partition"] is None


def test_a_failed_observation_of_a_current_input_blocks_nothing() -> None:
    """A reader that is up to date stays as it is: only partitions that would be
    built are blocked by an input whose version is unknown."""
    graph = graph_with_sources()
    catalog = FakeCatalog(graph)
    for day in DAILY.keys(NOW):
        catalog.observe("feed", day, "v1")
    catalog.observe("rates", "", "r1")
    catalog.build_all("rolling")
    catalog.build_all("daily")
    failure = FailedObservation(AssetKey("feed"), "2025-01-04", "ConnectionError: down")
    result = plan(graph, catalog.state(), PlanRequest(), NOW, failed_observations=[failure])
    assert result.is_empty and not result.blocked
    assert result.failed_observations == (failure,)


def test_batch_and_retry_need_an_observe_function() -> None:
    with pytest.raises(DefinitionError, match="batch=True needs partitions="):

        @source(batch=True)
        def unpartitioned(context) -> dict[str, str]:  # type: ignore[no-untyped-def]
            return {}

    with pytest.raises(DefinitionError, match="batch=True needs partitions="):

        @source(partitions=DAILY, batch=True)
        def no_context() -> dict[str, str]:
            return {}

    with pytest.raises(DefinitionError, match="apply to an observe function"):
        source("landing", partitions=DAILY, retry=RetryPolicy())

    @source(partitions=DAILY, batch=True, retry=RetryPolicy(max_attempts=2))
    def many(context) -> dict[str, str]:  # type: ignore[no-untyped-def]
        return {}

    assert many.batch and many.retry == RetryPolicy(max_attempts=2)
