"""``In(mapping=AllPartitions(allow_missing=True))``: a reader of every upstream partition
that reads what exists instead of waiting for all of them (issue 12 item 11)."""

from __future__ import annotations

import pandas as pd
import pytest

from partita.assets import In, asset
from partita.definitions import Definitions
from partita.errors import DefinitionError
from partita.graph import AssetGraph
from partita.mappings import AllPartitions, LastPartition
from partita.partitions import DailyPartitions
from partita.planner import PlanRequest, plan
from tests.planner_support import NOW, FakeCatalog

DAILY = DailyPartitions(start="2025-01-01", end="2025-01-11")  # 10 days
DAYS = list(DAILY.keys(NOW))


def graph_of(allow_missing: bool) -> AssetGraph:
    @asset(partitions=DAILY, code_version="1")
    def roi() -> None: ...

    @asset(partitions=DAILY, code_version="1")
    def spend() -> None: ...

    @asset(
        code_version="1",
        ins={"roi": In(mapping=AllPartitions(allow_missing=allow_missing))},
    )
    def dashboard(roi: pd.DataFrame) -> None: ...

    @asset(code_version="1", ins={"dashboard": In(mapping=AllPartitions(allow_missing=True))})
    def report(dashboard: pd.DataFrame) -> None: ...

    return AssetGraph(Definitions(assets=[roi, spend, dashboard, report]))


def reasons(result, name: str) -> dict[str, list[str]]:  # type: ignore[no-untyped-def]
    step = result.step(name)
    assert step is not None, f"{name} not planned"
    return {r.reason.value: list(r.partitions) for r in step.reasons}


def test_waiting_for_every_partition_stays_the_default() -> None:
    graph = graph_of(allow_missing=False)
    catalog = FakeCatalog(graph)
    for day in DAYS[:3]:
        catalog.build("roi", day)
    result = plan(graph, catalog.state(), PlanRequest(selection="dashboard"), NOW)
    assert result.step("dashboard") is None
    (blocked,) = result.blocked
    assert blocked.describe().endswith("2025-01-04..2025-01-10 (7), which is missing")


def test_allow_missing_plans_the_reader_once_one_upstream_partition_exists() -> None:
    graph = graph_of(allow_missing=True)
    catalog = FakeCatalog(graph)
    nothing = plan(graph, catalog.state(), PlanRequest(selection="dashboard"), NOW)
    assert nothing.step("dashboard") is None
    (blocked,) = nothing.blocked
    assert str(blocked.upstream) == "roi" and len(blocked.upstream_partitions) == 10

    for day in DAYS[:3]:
        catalog.build("roi", day)
    result = plan(graph, catalog.state(), PlanRequest(selection="dashboard"), NOW)
    assert reasons(result, "dashboard") == {"missing": [""]}
    assert not result.blocked


def test_a_new_upstream_partition_makes_the_reader_stale() -> None:
    graph = graph_of(allow_missing=True)
    catalog = FakeCatalog(graph)
    for day in DAYS[:3]:
        catalog.build("roi", day)
    catalog.build("dashboard")  # read the 3 days that exist
    catalog.build("report")
    assert plan(graph, catalog.state(), PlanRequest(selection="dashboard"), NOW).is_empty
    catalog.build("roi", DAYS[5])
    result = plan(graph, catalog.state(), PlanRequest(selection="dashboard+"), NOW)
    assert reasons(result, "dashboard") == {"upstream_changed": [""]}
    why = result.step("dashboard").reasons[0]  # type: ignore[union-attr]
    assert list(why.upstream_partitions or []) == [DAYS[5]]
    assert reasons(result, "report") == {"upstream_stale": [""]}


def test_planned_upstream_partitions_are_waited_for_in_the_same_run() -> None:
    graph = graph_of(allow_missing=True)
    catalog = FakeCatalog(graph)
    catalog.build("roi", DAYS[0])
    result = plan(graph, catalog.state(), PlanRequest(), NOW)
    assert len(result.step("roi").partitions) == 9  # type: ignore[union-attr]
    assert reasons(result, "dashboard") == {"missing": [""], "upstream_stale": [""]}


def test_a_strict_edge_from_the_same_upstream_still_waits() -> None:
    @asset(partitions=DAILY, code_version="1")
    def roi() -> None: ...

    @asset(
        code_version="1",
        ins={
            "everything": In(roi, mapping=AllPartitions(allow_missing=True)),
            "latest": In(roi, mapping=LastPartition()),
        },
    )
    def mixed(everything: pd.DataFrame, latest: pd.DataFrame) -> None: ...

    graph = AssetGraph(Definitions(assets=[roi, mixed]))
    catalog = FakeCatalog(graph)
    catalog.build("roi", DAYS[0])
    result = plan(graph, catalog.state(), PlanRequest(selection="mixed"), NOW)
    assert result.step("mixed") is None
    (blocked,) = result.blocked
    assert DAYS[-1] in blocked.upstream_partitions
    catalog.build("roi", DAYS[-1])  # the last day arrives: the strict edge is satisfied
    result = plan(graph, catalog.state(), PlanRequest(selection="mixed"), NOW)
    assert reasons(result, "mixed") == {"missing": [""]} and not result.blocked


def test_allow_missing_is_a_bool_and_is_described() -> None:
    assert AllPartitions(allow_missing=True).describe() == "AllPartitions(allow_missing=True)"
    assert AllPartitions().describe() == "AllPartitions()"
    assert AllPartitions(allow_missing=True) != AllPartitions()
    with pytest.raises(DefinitionError, match="True or False"):
        AllPartitions(allow_missing="yes")  # type: ignore[arg-type]
