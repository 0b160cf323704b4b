"""Declaring checks: @check functions on assets and in Definitions, validated by the graph."""

from __future__ import annotations

import pandas as pd
import pytest

from partita.assets import asset
from partita.checks import CheckResult, check, not_null, relationship, schema
from partita.definitions import Definitions
from partita.errors import DefinitionError, UnknownAssetError
from partita.graph import AssetGraph
from partita.mappings import AllPartitions, Identity
from partita.partitions import DailyPartitions


@check(asset="orders")
def positive(orders: pd.DataFrame) -> CheckResult:
    return CheckResult(passed=bool((orders.amount > 0).all()))


def test_custom_checks_from_the_asset_and_from_definitions_in_order() -> None:
    @check(asset="orders", severity="warn")
    def small(orders: pd.DataFrame) -> bool:
        return len(orders) < 10

    @asset(checks=[not_null("id"), positive])
    def orders() -> pd.DataFrame:
        return pd.DataFrame({"id": [1], "amount": [1.0]})

    graph = AssetGraph(Definitions(assets=[orders], checks=[small, positive]))
    assert [c.name for c in graph.checks_of("orders")] == ["not_null_id", "positive", "small"]


def test_a_check_on_another_asset_or_an_unknown_asset_is_rejected() -> None:
    @asset(key="orders")
    def build_orders() -> pd.DataFrame:
        return pd.DataFrame({"id": [1]})

    @check(asset="ordrs")
    def misspelt(orders: pd.DataFrame) -> bool:
        return True

    with pytest.raises(UnknownAssetError, match="did you mean 'orders'"):
        AssetGraph(Definitions(assets=[build_orders], checks=[misspelt]))
    with pytest.raises(DefinitionError, match="declared on ordrs"):

        @asset(key="orders", checks=[misspelt])
        def again() -> pd.DataFrame:
            return pd.DataFrame()

    with pytest.raises(DefinitionError, match="takes @check functions"):
        Definitions(assets=[build_orders], checks=[not_null("id")])  # type: ignore[list-item]


def test_relationship_target_and_declared_schema_columns_are_validated() -> None:
    @asset(checks=[relationship("customer_id", to="custmers.id")])
    def orders() -> pd.DataFrame:
        return pd.DataFrame()

    @asset
    def customers() -> pd.DataFrame:
        return pd.DataFrame()

    with pytest.raises(UnknownAssetError, match="did you mean 'customers'"):
        AssetGraph(Definitions(assets=[orders, customers]))

    @asset(checks=[schema({"id": "int64", "amount": "double"}), not_null("ammount")])
    def typed() -> pd.DataFrame:
        return pd.DataFrame()

    with pytest.raises(DefinitionError, match=r"'ammount'.*columns: id, amount"):
        AssetGraph(Definitions(assets=[typed]))


def test_a_relationship_is_an_order_only_edge_with_the_default_or_given_mapping() -> None:
    days = DailyPartitions(start="2025-01-01", end="2025-01-10")

    @asset(partitions=days)
    def customers() -> pd.DataFrame:
        return pd.DataFrame({"id": [1]})

    @asset(partitions=days, checks=[relationship("cid", to="customers.id")])
    def orders() -> pd.DataFrame:
        return pd.DataFrame({"cid": [1]})

    @asset(
        partitions=days,
        checks=[relationship("cid", to="customers.id", mapping=AllPartitions())],
    )
    def refunds() -> pd.DataFrame:
        return pd.DataFrame({"cid": [1]})

    @asset(checks=[relationship("manager", to="staff.id")])
    def staff() -> pd.DataFrame:
        return pd.DataFrame({"id": [1], "manager": [1]})

    graph = AssetGraph(Definitions(assets=[customers, orders, refunds, staff]))
    [edge] = graph.upstream_edges(graph.resolve("orders"))
    assert (str(edge.upstream), edge.param, edge.mapping) == ("customers", None, Identity())
    assert graph.relationship_edge("orders", "relationship_cid") == edge
    [edge] = graph.upstream_edges(graph.resolve("refunds"))
    assert edge.mapping == AllPartitions()
    # a relationship to the asset itself reads its own staged rows: no edge
    assert graph.upstream_edges(graph.resolve("staff")) == ()
    assert graph.relationship_edge("staff", "relationship_manager") is None


def test_a_cycle_through_a_relationship_check_says_which_check() -> None:
    @asset(checks=[relationship("x", to="b.id")])
    def a() -> pd.DataFrame:
        return pd.DataFrame({"x": [1]})

    @asset
    def b(a: pd.DataFrame) -> pd.DataFrame:
        return a

    with pytest.raises(DefinitionError, match="cycle") as info:
        AssetGraph(Definitions(assets=[a, b]))
    assert "check 'relationship_x' of a reads b" in (info.value.hint or "")
