"""Partition mappings: both directions, grain changes, range edges, exact inverse."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from partita.errors import DefinitionError
from partita.mappings import (
    AllPartitions,
    Dimension,
    Identity,
    LastPartition,
    PartitionMapping,
    StaticMap,
    TimeWindow,
    default_mapping,
)
from partita.partitions import (
    UNPARTITIONED,
    DailyPartitions,
    DynamicPartitions,
    HourlyPartitions,
    InMemoryDynamicPartitionsStore,
    IntervalSubset,
    MonthlyPartitions,
    MultiPartitions,
    PartitionsDefinition,
    PartitionSubset,
    StaticPartitions,
    WeeklyPartitions,
)

NOW = datetime(2025, 4, 3, 12, tzinfo=UTC)
DAILY = DailyPartitions("2025-03-01", timezone="Europe/Berlin")
DAILY_UTC = DailyPartitions("2025-03-10")
HOURLY = HourlyPartitions("2025-03-28T00:00", timezone="Europe/Berlin")
WEEKLY = WeeklyPartitions("2025-03-03", timezone="Europe/Berlin")
MONTHLY = MonthlyPartitions("2025-01", timezone="Europe/Berlin")
REGIONS = StaticPartitions(["eu", "us", "apac"])
AREAS = StaticPartitions(["emea", "amer", "asia"])
MULTI = MultiPartitions({"date": DAILY, "region": REGIONS})
FILES = DynamicPartitions("files")
STORE = InMemoryDynamicPartitionsStore({"files": ["a", "b", "c", "d"]})

Case = tuple[PartitionMapping, PartitionsDefinition | None, PartitionsDefinition | None]
CASES: list[Case] = [
    (TimeWindow(-6, 0), DAILY, DAILY),
    (TimeWindow(-2, 1), DAILY, HOURLY),
    (TimeWindow(), HOURLY, DAILY),
    (TimeWindow(-3, -1), HOURLY, DAILY),
    (TimeWindow(), MONTHLY, DAILY),
    (TimeWindow(), WEEKLY, DAILY),
    (TimeWindow(-1, 0), DAILY, WEEKLY),
    (TimeWindow(), WEEKLY, MONTHLY),
    (TimeWindow(-1, -1), DAILY_UTC, DAILY),
    (Identity(), DAILY_UTC, DailyPartitions("2025-03-05")),
    (AllPartitions(), DAILY, REGIONS),
    (AllPartitions(), None, DAILY),
    (AllPartitions(), DAILY, None),
    (LastPartition(), DAILY, MONTHLY),
    (LastPartition(), REGIONS, FILES),
    (StaticMap({"emea": ["eu"], "amer": ["us", "eu"]}), AREAS, REGIONS),
    (Identity(), FILES, FILES),
    (Identity(), MULTI, MULTI),
    (Dimension("date", TimeWindow(-1, 0)), MULTI, MULTI),
    (Dimension("date", TimeWindow()), MULTI, HOURLY),
    (default_mapping(MULTI, DAILY), MULTI, DAILY),
    (default_mapping(DAILY, MULTI), DAILY, MULTI),
    (Dimension("date", TimeWindow(-1, 0)), WEEKLY, MULTI),
    (
        Dimension("region", StaticMap({"emea": ["eu"], "amer": ["us"]})),
        MultiPartitions({"date": DAILY, "region": AREAS}),
        MULTI,
    ),
]


def _def(definition: PartitionsDefinition | None) -> PartitionsDefinition:
    return UNPARTITIONED if definition is None else definition


@cache
def _single_images(index: int) -> dict[str, frozenset[str]]:
    mapping, down, up = CASES[index]
    return {
        key: frozenset(mapping.upstream(_def(down).subset([key]), down, up, NOW, dynamic=STORE))
        for key in _def(down).keys(NOW, dynamic=STORE)
    }


@st.composite
def case_and_subsets(draw: st.DrawFn) -> tuple[int, set[str], set[str]]:
    index = draw(st.integers(min_value=0, max_value=len(CASES) - 1))
    _, down, up = CASES[index]
    down_keys = list(_def(down).keys(NOW, dynamic=STORE))
    up_keys = list(_def(up).keys(NOW, dynamic=STORE))
    picked_down = draw(st.sets(st.sampled_from(down_keys), max_size=12))
    picked_up = draw(st.sets(st.sampled_from(up_keys), max_size=12))
    if draw(st.booleans()):  # also contiguous runs, the common shape
        lo = draw(st.integers(0, len(up_keys) - 1))
        picked_up |= set(up_keys[lo : lo + draw(st.integers(1, 40))])
    return index, picked_down, picked_up


@settings(max_examples=300, deadline=None)
@given(case_and_subsets())
def test_downstream_is_the_exact_inverse_of_upstream(case: tuple[int, set[str], set[str]]) -> None:
    index, down_keys, up_keys = case
    mapping, down, up = CASES[index]
    images = _single_images(index)
    # upstream of a set is the union of the upstream of each partition
    got_up = mapping.upstream(_def(down).subset(down_keys), down, up, NOW, dynamic=STORE)
    assert set(got_up) == set().union(*(images[k] for k in down_keys))
    assert set(got_up) <= set(_def(up).keys(NOW, dynamic=STORE))
    # downstream is exactly the partitions whose image meets the upstream set
    got_down = mapping.downstream(_def(up).subset(up_keys), up, down, NOW, dynamic=STORE)
    assert set(got_down) == {k for k, image in images.items() if image & up_keys}


def test_daily_over_hourly_reads_23_24_25_hours() -> None:
    daily = DailyPartitions("2025-01-01", timezone="Europe/Berlin")
    hourly = HourlyPartitions("2025-01-01T00:00", timezone="Europe/Berlin")
    mapping = default_mapping(daily, hourly)
    assert mapping == TimeWindow()
    now = datetime(2026, 1, 1, tzinfo=UTC)
    for day, hours in (("2025-03-30", 23), ("2025-06-01", 24), ("2025-10-26", 25)):
        read = mapping.upstream(daily.subset([day]), daily, hourly, now)
        assert len(read) == hours
        assert next(iter(read)) == f"{day}T00:00"
    hour = hourly.subset(["2025-10-26T02:00+01:00"])
    assert list(default_mapping(hourly, daily).upstream(hour, hourly, daily, now)) == ["2025-10-26"]
    assert list(mapping.downstream(hour, hourly, daily, now)) == ["2025-10-26"]


def test_rolling_window_clips_at_upstream_bounds_and_now() -> None:
    daily = DailyPartitions("2025-01-01")
    now = datetime(2025, 1, 20, tzinfo=UTC)
    rolling = TimeWindow(start_offset=-6)
    assert rolling.upstream(daily.subset(["2025-01-03"]), daily, daily, now).to_text() == (
        "2025-01-01..2025-01-03 (3)"
    )
    # one changed upstream day feeds the next 7 days, clipped at the last complete day
    changed = daily.subset(["2025-01-15"])
    assert rolling.downstream(changed, daily, daily, now).to_text() == "2025-01-15..2025-01-19 (5)"
    late = TimeWindow(0, 1).upstream(daily.subset(["2025-01-19"]), daily, daily, now)
    assert late.to_text() == "2025-01-19 (1)"


def test_compact_mapping_of_a_long_range() -> None:
    daily = DailyPartitions("2022-01-01")
    now = datetime(2025, 1, 2, tzinfo=UTC)
    everything = daily.all_subset(now)
    assert len(everything) == 1097
    hourly = HourlyPartitions("2022-01-01T00:00")
    read = TimeWindow(-6, 0).upstream(everything, daily, hourly, now)
    assert isinstance(read, IntervalSubset) and read.intervals == ((0, 1097 * 24),)


def test_monthly_rollup_fan_in_is_exact() -> None:
    daily = DailyPartitions("2025-01-01")
    monthly = MonthlyPartitions("2025-01")
    now = datetime(2026, 1, 1, tzinfo=UTC)
    mapping = default_mapping(monthly, daily)
    assert len(mapping.upstream(monthly.subset(["2025-02"]), monthly, daily, now)) == 28
    changed = daily.subset(["2025-07-31"])
    assert list(mapping.downstream(changed, daily, monthly, now)) == ["2025-07"]
    whole_year = mapping.upstream(monthly.all_subset(now), monthly, daily, now)
    assert len(whole_year) == 365


def test_multi_dimension_mapping_keeps_regions() -> None:
    now = datetime(2025, 3, 10, tzinfo=UTC)
    read = Dimension("date", TimeWindow(-1, 0)).upstream(
        MULTI.subset(["2025-03-05|us"]), MULTI, MULTI, now
    )
    assert list(read) == ["2025-03-04|us", "2025-03-05|us"]
    every_region = default_mapping(DAILY, MULTI).upstream(
        DAILY.subset(["2025-03-05"]), DAILY, MULTI, now
    )
    assert set(every_region) == {"2025-03-05|eu", "2025-03-05|us", "2025-03-05|apac"}


def test_unpartitioned_sides() -> None:
    assert default_mapping(None, DAILY) == AllPartitions()
    assert default_mapping(DAILY, None) == AllPartitions()
    assert default_mapping(None, None) == Identity()
    one = UNPARTITIONED.all_subset(NOW)
    assert len(one) == 1 and list(one) == [""]
    read = AllPartitions().upstream(DAILY.subset(["2025-03-02"]), DAILY, None, NOW)
    assert read == one
    readers = AllPartitions().downstream(one, None, DAILY, NOW)
    assert readers == DAILY.all_subset(NOW)


def test_default_mapping_errors_say_what_to_use() -> None:
    with pytest.raises(DefinitionError) as info:
        default_mapping(DAILY, REGIONS)
    message = str(info.value)
    assert "daily asset reads static partitions" in message
    assert "AllPartitions()" in message and "StaticMap" in message
    with pytest.raises(DefinitionError, match="Dimension"):
        default_mapping(MULTI, MultiPartitions({"day": MONTHLY, "zone": AREAS}))
    assert default_mapping(DAILY, DailyPartitions("2024-01-01", timezone="Europe/Berlin")) == (
        Identity()
    )
    assert default_mapping(MONTHLY, DAILY) == TimeWindow()


def test_check_rejects_mappings_that_cannot_connect() -> None:
    with pytest.raises(DefinitionError, match="time partitions"):
        TimeWindow().check(REGIONS, DAILY)
    with pytest.raises(DefinitionError, match="TimeWindow"):
        Identity().check(DAILY, HOURLY)
    with pytest.raises(DefinitionError, match="Dimension\\('date', LastPartition\\(\\)\\)"):
        LastPartition().check(DAILY, MULTI)
    with pytest.raises(DefinitionError, match="no dimension 'day'"):
        Dimension("day").check(MULTI, MULTI)
    with pytest.raises(DefinitionError, match="StaticMap does not fit"):
        StaticMap({"emea": ["mars"]}).check(AREAS, REGIONS)
    with pytest.raises(DefinitionError, match="start_offset must not be after"):
        TimeWindow(1, 0)
    assert TimeWindow(-6) == TimeWindow(start_offset=-6, end_offset=0)
    assert hash(StaticMap({"a": "b"})) == hash(StaticMap({"a": ["b"]}))


def test_subset_of_the_wrong_definition_is_rejected() -> None:
    other: PartitionSubset = DAILY_UTC.subset(["2025-03-10"])
    with pytest.raises(Exception, match="belongs to"):
        Identity().upstream(other, DAILY, DAILY, NOW)
