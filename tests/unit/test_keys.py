from __future__ import annotations

import pytest

from partita.errors import DefinitionError, PartitaError
from partita.keys import AssetKey, AssetPartition


def test_string_and_list_forms_are_equal() -> None:
    assert AssetKey("sales/orders") == AssetKey(["sales", "orders"])
    assert AssetKey("sales/orders").path == ("sales", "orders")
    assert str(AssetKey(["sales", "orders"])) == "sales/orders"
    assert AssetKey("sales/orders").name == "orders"
    assert AssetKey("sales/orders").prefix == ("sales",)


def test_keys_are_hashable_ordered_values() -> None:
    keys = {AssetKey("b"), AssetKey("a"), AssetKey(["a"])}
    assert sorted(keys) == [AssetKey("a"), AssetKey("b")]
    assert AssetKey.parse(AssetKey("x")) == AssetKey("x")


@pytest.mark.parametrize(
    ("text", "bad"),
    [
        ("sales/1orders", "'1orders'"),
        ("sales//orders", "''"),
        ("sales/or-ders", "'or-ders'"),
        ("../etc", "'..'"),
        ("a b", "'a b'"),
        ("", "''"),
    ],
)
def test_invalid_segment_is_shown(text: str, bad: str) -> None:
    with pytest.raises(DefinitionError) as info:
        AssetKey(text)
    assert bad in str(info.value)
    assert isinstance(info.value, PartitaError)


def test_list_with_bad_segment() -> None:
    with pytest.raises(DefinitionError, match=r"segment 'x\.y'"):
        AssetKey(["sales", "x.y"])
    with pytest.raises(DefinitionError, match="no segments"):
        AssetKey([])


def test_with_prefix_and_asset_partition() -> None:
    key = AssetKey("orders").with_prefix("sales/eu")
    assert key == AssetKey("sales/eu/orders")
    assert str(AssetPartition(key, "2025-01-01")) == "sales/eu/orders:2025-01-01"
    assert str(AssetPartition(key)) == "sales/eu/orders"
