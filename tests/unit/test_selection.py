from __future__ import annotations

import pandas as pd
import pytest

from partita.assets import asset
from partita.definitions import Definitions
from partita.errors import SelectionError, UnknownAssetError
from partita.graph import AssetGraph
from partita.selection import select


def names(graph: AssetGraph, expr: str | None) -> list[str]:
    return [str(k) for k in select(graph, expr)]


def test_plain_up_down(diamond: AssetGraph) -> None:
    assert names(diamond, "b") == ["b"]
    assert names(diamond, "+b") == ["a", "b"]
    assert names(diamond, "b+") == ["b", "d"]
    assert names(diamond, "+b+") == ["a", "b", "d"]
    assert names(diamond, "+d") == ["a", "b", "c", "d"]
    assert names(diamond, "*") == ["a", "b", "c", "d"]
    assert names(diamond, None) == ["a", "b", "c", "d"]
    assert names(diamond, "c, b") == ["b", "c"]


@pytest.fixture
def grouped() -> AssetGraph:
    @asset(key_prefix="sales", group="sales", tags={"tier": "gold"})
    def orders() -> None: ...

    @asset(key_prefix="sales", group="sales", tags={"tier": "silver", "pii": "yes"})
    def customers() -> None: ...

    @asset(group="reporting")
    def revenue(orders: pd.DataFrame) -> None: ...

    return AssetGraph(Definitions(assets=[orders, customers, revenue]))


def test_group_tag_and_wildcards(grouped: AssetGraph) -> None:
    assert names(grouped, "group:sales") == ["sales/customers", "sales/orders"]
    assert names(grouped, "tag:tier=gold") == ["sales/orders"]
    assert names(grouped, "tag:pii") == ["sales/customers"]
    assert names(grouped, "sales/*") == ["sales/customers", "sales/orders"]
    assert names(grouped, "orders+") == ["sales/orders", "revenue"]
    assert names(grouped, "group:reporting,tag:pii") == ["sales/customers", "revenue"]


@pytest.mark.parametrize(
    ("expr", "error", "text"),
    [
        ("group:finance", SelectionError, "groups: reporting, sales"),
        ("tag:tier=bronze", SelectionError, "no asset has tag"),
        ("ordres", UnknownAssetError, "did you mean 'sales/orders'"),
        ("orders,,revenue", SelectionError, "empty term"),
        ("+", SelectionError, "empty asset name"),
        ("finance/*", SelectionError, "no asset key matches"),
        ("", SelectionError, "empty"),
    ],
)
def test_selection_errors(grouped: AssetGraph, expr: str, error: type, text: str) -> None:
    with pytest.raises(error, match=text):
        select(grouped, expr)
