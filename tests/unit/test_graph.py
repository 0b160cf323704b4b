from __future__ import annotations

import pandas as pd
import pytest

from partita.assets import In, asset
from partita.definitions import Definitions
from partita.errors import CycleError, DefinitionError, UnknownAssetError
from partita.graph import AssetGraph
from partita.keys import AssetKey
from partita.mappings import AllPartitions, Identity, TimeWindow
from partita.partitions import DailyPartitions, StaticPartitions
from partita.sources import source
from partita.versions import PARTITION_COLUMNS, describe_code_changes

DAILY = DailyPartitions(start="2025-01-01", end="2025-01-31")


def test_diamond_edges_and_order(diamond: AssetGraph) -> None:
    keys = [str(k) for k in diamond.keys]
    assert keys.index("a") < keys.index("b") < keys.index("d")
    assert keys.index("c") < keys.index("d")
    assert [str(e.upstream) for e in diamond.upstream_edges(AssetKey("d"))] == ["b", "c"]
    assert {str(e.downstream) for e in diamond.downstream_edges(AssetKey("a"))} == {"b", "c"}
    assert diamond.generations() == [
        [AssetKey("a")],
        [AssetKey("b"), AssetKey("c")],
        [AssetKey("d")],
    ]
    assert diamond.ancestors(AssetKey("d")) == {AssetKey("a"), AssetKey("b"), AssetKey("c")}
    assert all(isinstance(e.mapping, Identity) for e in diamond.edges)


def test_fan_in_order_only_deps(fan_out_fan_in: AssetGraph) -> None:
    edges = fan_out_fan_in.upstream_edges(AssetKey("total"))
    assert len(edges) == 5 and all(e.param is None for e in edges)
    assert len(fan_out_fan_in.generations()) == 3


def test_cycle_prints_its_path() -> None:
    @asset
    def a(c: pd.DataFrame) -> None: ...

    @asset
    def b(a: pd.DataFrame) -> None: ...

    @asset
    def c(b: pd.DataFrame) -> None: ...

    with pytest.raises(CycleError) as info:
        AssetGraph(Definitions(assets=[a, b, c]))
    message = str(info.value)
    assert "cycle" in message
    path = info.value.cycle
    assert path[0] == path[-1] and set(path) == {"a", "b", "c"} and len(path) == 4
    assert " -> ".join(path) in message


def test_self_dependency_is_a_cycle() -> None:
    @asset
    def loop(loop: pd.DataFrame) -> None: ...

    with pytest.raises(CycleError, match="loop -> loop"):
        AssetGraph(Definitions(assets=[loop]))


def test_unknown_dependency_suggests_close_names() -> None:
    @asset
    def raw_orders() -> None: ...

    @asset(deps=["raw_order"])
    def clean() -> None: ...

    with pytest.raises(UnknownAssetError) as info:
        AssetGraph(Definitions(assets=[raw_orders, clean]))
    assert "'raw_order'" in str(info.value)
    assert "did you mean 'raw_orders'" in str(info.value)
    assert info.value.suggestions == ["raw_orders"]


def test_parameter_matching_no_asset() -> None:
    @asset
    def customers() -> None: ...

    @asset
    def report(customer: pd.DataFrame) -> None: ...

    with pytest.raises(UnknownAssetError) as info:
        AssetGraph(Definitions(assets=[customers, report]))
    text = str(info.value)
    assert "parameter 'customer' of report matches no asset" in text
    assert "did you mean 'customers'" in text


def test_parameter_resolves_by_name_and_prefix() -> None:
    @asset(key_prefix="sales")
    def orders() -> None: ...

    @asset(key_prefix="finance")
    def ledger(orders: pd.DataFrame) -> None: ...

    graph = AssetGraph(Definitions(assets=[orders, ledger]))
    assert graph.upstream_edges(AssetKey("finance/ledger"))[0].upstream == AssetKey("sales/orders")


def test_ambiguous_parameter() -> None:
    def make(prefix: str) -> object:
        @asset(key_prefix=prefix)
        def orders() -> None: ...

        return orders

    @asset
    def report(orders: pd.DataFrame) -> None: ...

    with pytest.raises(DefinitionError, match="matches several assets: eu/orders, us/orders"):
        AssetGraph(Definitions(assets=[make("eu"), make("us"), report]))  # type: ignore[list-item]


def test_duplicate_keys() -> None:
    @asset
    def orders() -> None: ...

    @asset(key="orders")
    def other() -> None: ...

    with pytest.raises(DefinitionError, match="duplicate asset key orders"):
        AssetGraph(Definitions(assets=[orders, other]))


def test_incompatible_partitions_name_the_mapping_to_use() -> None:
    @asset(partitions=StaticPartitions(["eu", "us"]))
    def regions() -> None: ...

    @asset(partitions=DAILY)
    def daily(regions: pd.DataFrame) -> None: ...

    with pytest.raises(DefinitionError) as info:
        AssetGraph(Definitions(assets=[regions, daily]))
    text = str(info.value)
    assert "daily reads regions" in text
    assert "mapping" in text.lower()


def test_explicit_mapping_and_unpartitioned_default() -> None:
    @asset(partitions=DAILY)
    def day() -> None: ...

    @asset(partitions=DAILY, ins={"day": In(mapping=TimeWindow(start_offset=-6))})
    def week(day: pd.DataFrame) -> None: ...

    @asset
    def everything(day: pd.DataFrame) -> None: ...

    graph = AssetGraph(Definitions(assets=[day, week, everything]))
    assert graph.upstream_edges(AssetKey("week"))[0].mapping == TimeWindow(start_offset=-6)
    assert isinstance(graph.upstream_edges(AssetKey("everything"))[0].mapping, AllPartitions)


def test_source_read_without_store() -> None:
    landing = source("landing", partitions=DAILY)

    @asset(partitions=DAILY)
    def parsed(landing: pd.DataFrame) -> None: ...

    @asset(partitions=DAILY, deps=["landing"])
    def ok() -> None: ...

    with pytest.raises(DefinitionError, match="has no store") as info:
        AssetGraph(Definitions(assets=[parsed], sources=[landing]))
    assert "deps=['landing']" in str(info.value)
    graph = AssetGraph(Definitions(assets=[ok], sources=[landing]))
    assert graph.spec("landing").is_source


def test_resolve_and_code_versions() -> None:
    @asset(key_prefix="sales", code_version="7")
    def orders() -> None: ...

    @asset
    def report(orders: pd.DataFrame) -> int:
        return len(orders)

    graph = AssetGraph(Definitions(assets=[orders, report]))
    assert graph.resolve("orders") == AssetKey("sales/orders")
    assert graph.code_version(AssetKey("sales/orders")) == "7"
    assert len(graph.code_version(AssetKey("report"))) >= 8
    with pytest.raises(UnknownAssetError, match="did you mean 'report'"):
        graph.resolve("reprot")


def test_asking_for_partition_columns_is_part_of_the_code_version() -> None:
    @asset(partitions=DAILY)
    def orders() -> None: ...

    def report(orders: pd.DataFrame) -> int:
        return len(orders)

    plain = asset(ins={"orders": In(mapping=AllPartitions())})(report)
    asked = asset(ins={"orders": In(mapping=AllPartitions(), partition_columns=True)})(report)
    versions = [
        AssetGraph(Definitions(assets=[orders, spec])).code_components(AssetKey("report"))
        for spec in (plain, asked)
    ]
    assert versions[0].version != versions[1].version
    assert (PARTITION_COLUMNS, "orders") in versions[1].components
    assert describe_code_changes(dict(versions[0].components), dict(versions[1].components)) == [
        "`In(partition_columns=True)` is now used"
    ]
    assert dict(versions[0].components).keys() < dict(versions[1].components).keys()
