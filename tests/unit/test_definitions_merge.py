"""``Definitions.merge``: several pipelines' definitions as one project."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from partita import AssetGraph, DailyPartitions, Definitions, ParquetStore, asset, materialize
from partita.errors import DefinitionError
from partita.schedules import Schedule

DAYS = DailyPartitions(start="2025-01-01", end="2025-01-03")


@asset(partitions=DAYS)
def orders() -> pd.DataFrame:
    return pd.DataFrame({"amount": [1.0, 2.0]})


@asset(partitions=DAYS)
def revenue(orders: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({"revenue": [orders["amount"].sum()]})


@asset(partitions=DAYS)
def ad_spend() -> pd.DataFrame:
    return pd.DataFrame({"spend": [5.0]})


def alert(message: object) -> None:
    """An alert target (a callable)."""


def test_merge_puts_parts_together_once(tmp_path: Path) -> None:
    nightly = Schedule("0 2 * * *", selection="revenue", name="nightly")
    sales = Definitions(
        assets=[orders, revenue],
        pools={"api": 2},
        resources={"region": "eu"},
        schedules=[nightly],
        on_failure=alert,
    )
    # the marketing part lists the shared `orders` too: it counts once
    marketing = Definitions(assets=[orders, ad_spend], pools={"api": 2}, resources={"team": "m"})
    merged = Definitions.merge(sales, marketing)
    assert [str(a.key) for a in merged.assets] == ["orders", "revenue", "ad_spend"]
    assert merged.pools == {"api": 2}
    assert merged.resources == {"region": "eu", "team": "m"}
    assert merged.schedules == (nightly,)
    assert merged.on_failure == (alert,)
    assert {str(k) for k in AssetGraph(merged).keys} == {"orders", "revenue", "ad_spend"}
    result = materialize(
        Definitions.merge(merged, Definitions(store=ParquetStore(tmp_path / "data"))),
        home=tmp_path / "home",
        executor="inprocess",
    )
    assert result.success and len(result.built) == 6


def test_merge_rejects_what_parts_disagree_on(tmp_path: Path) -> None:
    with pytest.raises(DefinitionError, match="pool 'api' is 1 in one part and 2 in another"):
        Definitions.merge(
            Definitions(assets=[orders], pools={"api": 1}),
            Definitions(assets=[ad_spend], pools={"api": 2}),
        )
    with pytest.raises(DefinitionError, match="different stores") as caught:
        Definitions.merge(
            Definitions(store=ParquetStore(tmp_path / "a")),
            Definitions(store=ParquetStore(tmp_path / "b")),
        )
    assert "resources=" in (caught.value.hint or "")
    frame = pd.DataFrame({"x": [1]})
    with pytest.raises(DefinitionError, match="resource 'lookup'"):
        Definitions.merge(
            Definitions(resources={"lookup": frame}), Definitions(resources={"lookup": frame[:0]})
        )
    with pytest.raises(DefinitionError, match="takes Definitions"):
        Definitions.merge(Definitions(), [orders])  # type: ignore[arg-type]


def test_merge_two_declarations_of_one_key_is_a_graph_error() -> None:
    @asset(key="orders", partitions=DAYS)
    def other_orders() -> pd.DataFrame:
        return pd.DataFrame()

    merged = Definitions.merge(Definitions(assets=[orders]), Definitions(assets=[other_orders]))
    with pytest.raises(DefinitionError, match="duplicate asset key orders"):
        AssetGraph(merged)
