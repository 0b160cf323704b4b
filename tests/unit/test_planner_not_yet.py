"""A requested partition that does not exist yet is refused, saying when it will
(issue 12 item 6: it used to be planned as nothing and reported up to date)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

from partita.assets import asset
from partita.definitions import Definitions
from partita.errors import PartitionKeyError, PartitionNotYetError
from partita.graph import AssetGraph
from partita.partitions import (
    DailyPartitions,
    HourlyPartitions,
    MultiPartitions,
    PartitionsDefinition,
    StaticPartitions,
)
from partita.planner import PartitionRequest, PlanRequest, plan
from tests.planner_support import NOW, FakeCatalog

OPEN_DAILY = DailyPartitions(start="2025-01-01")  # NOW is 2025-02-01 00:00 UTC


def one_asset(partitions: PartitionsDefinition) -> AssetGraph:
    @asset(partitions=partitions)
    def orders() -> None: ...

    return AssetGraph(Definitions(assets=[orders]))


def planned(graph: AssetGraph, text: str, now: datetime = NOW) -> list[str]:
    request = PlanRequest(partitions=PartitionRequest.parse(text))
    step = plan(graph, FakeCatalog(graph).state(), request, now).step("orders")
    return [] if step is None else list(step.partitions)


def refusal(graph: AssetGraph, text: str, now: datetime = NOW) -> PartitionNotYetError:
    request = PlanRequest(partitions=PartitionRequest.parse(text))
    with pytest.raises(PartitionNotYetError) as caught:
        plan(graph, FakeCatalog(graph).state(), request, now)
    return caught.value


def test_a_partition_in_the_future_is_refused_with_when_it_will_exist() -> None:
    error = refusal(one_asset(OPEN_DAILY), "2030-01-01")
    assert isinstance(error, PartitionKeyError)
    assert error.exists_from == datetime(2030, 1, 2, tzinfo=ZoneInfo("UTC"))
    assert error.message == (
        "partition 2030-01-01 of orders (daily from 2025-01-01 (UTC)) does not exist yet: "
        "a time partition exists once its window is complete; it exists from "
        "2030-01-02 00:00 UTC"
    )
    assert error.hint == "the newest partition now is 2025-01-31"


def test_the_partition_in_progress_is_not_complete_yet() -> None:
    graph = one_asset(OPEN_DAILY)
    assert planned(graph, "2025-01-31") == ["2025-01-31"]
    noon = datetime(2025, 2, 1, 12, tzinfo=UTC)
    assert refusal(graph, "2025-02-01", noon).exists_from == datetime(2025, 2, 2, tzinfo=UTC)
    assert planned(graph, "2025-02-01", datetime(2025, 2, 2, tzinfo=UTC)) == ["2025-02-01"]


def test_end_offset_moves_when_a_partition_exists() -> None:
    ahead = one_asset(DailyPartitions(start="2025-01-01", end_offset=1))
    assert planned(ahead, "2025-02-01") == ["2025-02-01"]  # the day in progress exists
    error = refusal(ahead, "2025-02-02")
    assert error.exists_from == datetime(2025, 2, 2, tzinfo=UTC)  # when its window starts
    assert "(shifted by end_offset=1)" in error.message
    behind = one_asset(DailyPartitions(start="2025-01-01", end_offset=-1))
    assert refusal(behind, "2025-01-31").exists_from == datetime(2025, 2, 2, tzinfo=UTC)


def test_a_range_reaching_into_the_future_is_refused() -> None:
    error = refusal(one_asset(OPEN_DAILY), "2025-01-30..2025-02-04")
    assert error.message.startswith(
        "4 partitions 2025-02-01..2025-02-04 of orders (daily from 2025-01-01 (UTC)) "
        "do not exist yet"
    )
    assert "the first of them exists from 2025-02-02 00:00 UTC" in error.message
    assert error.hint == "the newest partition now is 2025-01-31"


def test_when_is_told_in_the_definitions_time_zone() -> None:
    hours = HourlyPartitions(start="2025-01-01T00:00", timezone="Europe/Berlin")
    error = refusal(one_asset(hours), "2025-02-01T05:00")
    assert error.exists_from == datetime(2025, 2, 1, 6, tzinfo=ZoneInfo("Europe/Berlin"))
    assert "it exists from 2025-02-01 06:00 Europe/Berlin" in error.message


def test_a_multi_partition_with_a_future_day_is_refused() -> None:
    regions = MultiPartitions({"date": OPEN_DAILY, "region": StaticPartitions(["eu", "us"])})
    graph = one_asset(regions)
    assert planned(graph, "2025-01-31|eu") == ["2025-01-31|eu"]
    error = refusal(graph, "2030-01-01|eu")
    assert error.exists_from == datetime(2030, 1, 2, tzinfo=UTC)
    assert "partition 2030-01-01|eu of orders" in error.message


def test_static_partitions_always_exist() -> None:
    graph = one_asset(StaticPartitions(["eu", "us"]))
    assert planned(graph, "eu") == ["eu"]


def test_a_day_key_for_an_hourly_reader_of_a_future_day_is_refused() -> None:
    @asset(partitions=OPEN_DAILY)
    def days() -> None: ...

    @asset(partitions=HourlyPartitions(start="2025-01-01T00:00"))
    def hours(days: pd.DataFrame) -> None: ...

    graph = AssetGraph(Definitions(assets=[days, hours]))
    request = PlanRequest(partitions=PartitionRequest.parse("2025-02-01"))
    with pytest.raises(PartitionNotYetError, match="partition 2025-02-01 of days"):
        plan(graph, FakeCatalog(graph).state(), request, NOW)
