"""Compact partition subsets: algebra against Python sets, ranges, text and JSON."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from partita.errors import PartitaError, PartitionKeyError
from partita.partitions import (
    DailyPartitions,
    DynamicPartitions,
    HourlyPartitions,
    InMemoryDynamicPartitionsStore,
    IntervalSubset,
    MultiPartitions,
    MultiSubset,
    PartitionsDefinition,
    PartitionSubset,
    StaticPartitions,
)

NOW = datetime(2025, 3, 1, tzinfo=UTC)
DAILY = DailyPartitions("2025-01-01")
HOURLY = HourlyPartitions("2025-02-27T00:00", timezone="Europe/Berlin")
REGIONS = StaticPartitions(["eu", "us", "apac"], dimension="region")
MULTI = MultiPartitions({"date": DAILY, "region": REGIONS})
FILES = DynamicPartitions("files")
STORE = InMemoryDynamicPartitionsStore({"files": [f"f{i}.csv" for i in range(12)]})


def test_a_long_range_is_held_as_one_interval() -> None:
    big = DailyPartitions("1800-01-01")
    subset = big.key_range("1800-01-01", big.key_at(99_999))
    assert isinstance(subset, IntervalSubset)
    assert subset.intervals == ((0, 100_000),)
    assert len(subset) == 100_000
    assert "1900-06-01" in subset and "2100-01-01" not in subset and "junk" not in subset
    assert subset.to_text() == "1800-01-01..2073-10-15 (100000)"


def test_all_regions_of_a_year_stay_compact() -> None:
    year = MULTI.all_subset(datetime(2026, 1, 1, tzinfo=UTC))
    assert isinstance(year, MultiSubset)
    assert len(year) == 365 * 3
    assert len(year.groups) == 3
    assert all(isinstance(s, IntervalSubset) and len(s.intervals) == 1 for _, s in year.groups)
    assert year.ranges()[0] == ("2025-01-01|eu", "2025-12-31|eu")
    keys = list(year)
    assert keys[:4] == ["2025-01-01|eu", "2025-01-01|us", "2025-01-01|apac", "2025-01-02|eu"]
    assert keys == list(MULTI.keys(datetime(2026, 1, 1, tzinfo=UTC)))


def test_ranges_text_and_parse_range() -> None:
    subset = DAILY.parse_range("2025-01-01..2025-01-07") | DAILY.subset(["2025-01-10"])
    assert subset.ranges() == [("2025-01-01", "2025-01-07"), ("2025-01-10", "2025-01-10")]
    assert subset.to_text() == "2025-01-01..2025-01-07, 2025-01-10 (8)"
    assert DAILY.parse_range("2025-01-05").to_text() == "2025-01-05 (1)"
    assert DAILY.empty_subset().to_text() == "(none)"
    assert DAILY.empty_subset().is_empty and not DAILY.empty_subset()
    with pytest.raises(PartitionKeyError, match="ends before it starts"):
        DAILY.parse_range("2025-01-07..2025-01-01")
    with pytest.raises(PartitionKeyError, match=r"first\.\.last"):
        DAILY.parse_range("2025-01-01..")
    assert REGIONS.parse_range("eu..us").to_text() == "eu..us (2)"
    multi = MULTI.parse_range("2025-01-01|us..2025-01-03|us")
    assert list(multi) == ["2025-01-01|us", "2025-01-02|us", "2025-01-03|us"]
    with pytest.raises(PartitionKeyError, match="other values must be equal"):
        MULTI.parse_range("2025-01-01|us..2025-01-03|eu")


def test_operands_must_share_a_definition() -> None:
    with pytest.raises(PartitaError, match="different definitions"):
        _ = DAILY.subset(["2025-01-01"]) | DailyPartitions("2024-01-01").subset(["2025-01-01"])


def test_hourly_subset_across_fall_back() -> None:
    hourly = HourlyPartitions("2025-10-26T00:00", timezone="Europe/Berlin")
    subset = hourly.key_range("2025-10-26T01:00", "2025-10-26T03:00")
    assert list(subset) == [
        "2025-10-26T01:00",
        "2025-10-26T02:00+02:00",
        "2025-10-26T02:00+01:00",
        "2025-10-26T03:00",
    ]


def _definitions() -> list[PartitionsDefinition]:
    return [DAILY, HOURLY, REGIONS, MULTI, FILES]


@st.composite
def two_key_sets(draw: st.DrawFn) -> tuple[PartitionsDefinition, set[str], set[str]]:
    definition = draw(st.sampled_from(_definitions()))
    universe = list(definition.keys(NOW, dynamic=STORE))
    keys = st.sets(st.sampled_from(universe), max_size=40)
    return definition, draw(keys), draw(keys)


@settings(max_examples=150, deadline=None)
@given(two_key_sets())
def test_algebra_matches_python_sets(case: tuple[PartitionsDefinition, set[str], set[str]]) -> None:
    definition, left, right = case
    a, b = definition.subset(left), definition.subset(right)
    universe = list(definition.keys(NOW, dynamic=STORE))
    for subset, expected in ((a | b, left | right), (a & b, left & right), (a - b, left - right)):
        assert set(subset) == expected
        assert len(subset) == len(expected)
        order = [k for k in universe if k in expected]
        if definition is not FILES:
            assert list(subset) == order  # iteration follows key order
        assert all(k in subset for k in expected)
        assert not any(k in subset for k in set(universe) - expected)
        again = PartitionSubset.from_json(definition, json.loads(json.dumps(subset.to_json())))
        assert again == subset
        assert sum(1 for _ in subset.ranges()) <= max(len(expected), 0) or not expected
    assert (a | b) == (b | a)
    assert ((a - b) | (a & b)) == a


def test_from_json_validates_keys() -> None:
    with pytest.raises(PartitionKeyError):
        PartitionSubset.from_json(DAILY, {"ranges": [["2025-01-01", "../etc"]]})
    with pytest.raises(PartitionKeyError, match="no 'ranges'"):
        PartitionSubset.from_json(DAILY, {})
