"""Partition definitions: keys, bounds, time zones and DST, validation messages."""

from __future__ import annotations

import time as timer
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from partita.errors import DefinitionError, PartitaError, PartitionKeyError
from partita.partitions import (
    DailyPartitions,
    DynamicPartitions,
    HourlyPartitions,
    InMemoryDynamicPartitionsStore,
    MonthlyPartitions,
    MultiPartitions,
    PartitionsDefinition,
    StaticPartitions,
    TimeWindowRange,
    WeeklyPartitions,
)

BERLIN = ZoneInfo("Europe/Berlin")
FAR = datetime(2100, 1, 1, tzinfo=UTC)


def test_daily_keys_end_at_last_complete_day() -> None:
    daily = DailyPartitions(start="2025-01-01")
    now = datetime(2025, 1, 10, 15, 0, tzinfo=UTC)
    assert list(daily.keys(now)) == [f"2025-01-{d:02d}" for d in range(1, 10)]
    assert daily.size(now) == 9
    assert DailyPartitions("2025-01-01", end_offset=1).size(now) == 10
    assert DailyPartitions("2025-01-01", end_offset=-2).size(now) == 7
    assert daily.size(datetime(2024, 6, 1, tzinfo=UTC)) == 0


def test_end_is_exclusive_and_now_still_limits() -> None:
    daily = DailyPartitions("2025-01-01", end="2025-02-01")
    assert daily.size(FAR) == 31
    assert daily.keys(FAR)[-1] == "2025-01-31"
    assert daily.size(datetime(2025, 1, 5, tzinfo=UTC)) == 4
    with pytest.raises(PartitionKeyError, match="after the last partition 2025-01-31"):
        daily.validate("2025-02-01")
    with pytest.raises(DefinitionError, match="no complete period"):
        DailyPartitions("2025-01-01", end="2025-01-01")


def test_naive_now_is_rejected() -> None:
    with pytest.raises(PartitaError, match="timezone-aware"):
        DailyPartitions("2025-01-01").keys(datetime(2025, 2, 1))


def test_daily_windows_are_local_midnights_on_dst_days() -> None:
    daily = DailyPartitions("2025-01-01", timezone="Europe/Berlin")
    spring = daily.time_window("2025-03-30")
    assert spring.start == datetime(2025, 3, 30, tzinfo=BERLIN)
    assert spring.end == datetime(2025, 3, 31, tzinfo=BERLIN)
    assert spring.duration == timedelta(hours=23)
    fall = daily.time_window("2025-10-26")
    assert fall.duration == timedelta(hours=25)
    assert fall.start.utcoffset() == timedelta(hours=2)
    assert fall.end.utcoffset() == timedelta(hours=1)
    # the day in progress in Berlin is not complete yet at 23:30 UTC on the 29th
    now = datetime(2025, 3, 29, 23, 30, tzinfo=UTC)  # 00:30 on the 30th in Berlin
    assert daily.keys(now)[-1] == "2025-03-29"


def test_hourly_berlin_has_23_and_25_hours_on_dst_days() -> None:
    spring = HourlyPartitions("2025-03-30T00:00", end="2025-03-31", timezone="Europe/Berlin")
    keys = list(spring.keys(FAR))
    assert len(keys) == 23
    assert "2025-03-30T02:00" not in keys
    assert keys[1:3] == ["2025-03-30T01:00", "2025-03-30T03:00"]
    fall = HourlyPartitions("2025-10-26", end="2025-10-27", timezone="Europe/Berlin")
    keys = list(fall.keys(FAR))
    assert len(keys) == 25
    assert keys[2:4] == ["2025-10-26T02:00+02:00", "2025-10-26T02:00+01:00"]
    assert len(set(keys)) == 25
    first, second = (fall.time_window(k) for k in keys[2:4])
    assert first.end == second.start
    assert second.start.astimezone(UTC) == datetime(2025, 10, 26, 1, tzinfo=UTC)


def test_hourly_key_validation_on_dst_edges() -> None:
    hourly = HourlyPartitions("2025-01-01T00:00", timezone="Europe/Berlin")
    with pytest.raises(PartitionKeyError, match=r"occurs twice.*02:00\+02:00"):
        hourly.validate("2025-10-26T02:00")
    with pytest.raises(PartitionKeyError, match="does not exist"):
        hourly.validate("2025-03-30T02:00")
    with pytest.raises(PartitionKeyError, match="offset is not valid"):
        hourly.validate("2025-10-26T02:00+03:00")
    assert hourly.validate("2025-07-01T10:00+02:00") == "2025-07-01T10:00"
    assert hourly.validate("2025-10-26T02:00+01:00") == "2025-10-26T02:00+01:00"
    with pytest.raises(PartitionKeyError, match="on the hour"):
        hourly.validate("2025-07-01T10:30")


def test_hourly_in_utc_and_half_hour_zone() -> None:
    utc = HourlyPartitions("2025-01-01T00:00")
    assert utc.size(datetime(2025, 1, 2, 0, 30, tzinfo=UTC)) == 24
    india = HourlyPartitions("2025-01-01T00:00", timezone="Asia/Kolkata")
    window = india.time_window("2025-01-01T05:00")
    assert window.start.astimezone(UTC) == datetime(2024, 12, 31, 23, 30, tzinfo=UTC)


def test_weekly_and_monthly() -> None:
    weekly = WeeklyPartitions("2025-01-06")
    assert list(weekly.keys(datetime(2025, 1, 27, tzinfo=UTC))) == [
        "2025-01-06",
        "2025-01-13",
        "2025-01-20",
    ]
    assert weekly.time_window("2025-01-13") == TimeWindowRange(
        datetime(2025, 1, 13, tzinfo=UTC), datetime(2025, 1, 20, tzinfo=UTC)
    )
    with pytest.raises(PartitionKeyError, match="starts on a monday"):
        weekly.validate("2025-01-07")
    with pytest.raises(DefinitionError, match="hint: use start='2025-01-05'"):
        WeeklyPartitions("2025-01-06", week_start="sunday")
    sunday = WeeklyPartitions("2025-01-05", week_start="Sunday")
    assert sunday.validate("2025-01-12") == "2025-01-12"
    monthly = MonthlyPartitions("2025-01")
    assert MonthlyPartitions("2025-01-01") == monthly
    assert list(monthly.keys(datetime(2025, 4, 2, tzinfo=UTC))) == ["2025-01", "2025-02", "2025-03"]
    assert monthly.time_window("2025-02").end == datetime(2025, 3, 1, tzinfo=UTC)
    with pytest.raises(PartitionKeyError, match=r"month must be 01\.\.12"):
        monthly.validate("2025-13")


BAD_TIME_KEYS = [
    "",
    "2025-1-01",
    "2025-01-01/..",
    "../2025-01-01",
    "2025-01-01\\x",
    "2025-01-01\x00",
    "'2025-01-01'",
    '"2025-01-01"',
    "date=2025-01-01",
    "2025-01-32",
    " 2025-01-01",
    "\uff12\uff10\uff12\uff15-01-01",  # full-width digits
    "2025-01-01T00:00",
]


@pytest.mark.parametrize("key", BAD_TIME_KEYS)
def test_invalid_daily_keys_name_the_definition_and_an_example(key: str) -> None:
    daily = DailyPartitions("2025-01-01", timezone="UTC")
    with pytest.raises(PartitionKeyError) as info:
        daily.validate(key)
    message = str(info.value)
    assert "DailyPartitions(start=2025-01-01, timezone=UTC)" in message
    assert "'2025-01-01'" in message


def test_static_keys_are_checked_at_declaration() -> None:
    for bad in ["a/b", "..", ".hidden", "a..b", "x|y", "a=b", "it's", "a b", "", "é"]:
        with pytest.raises(DefinitionError):
            StaticPartitions(["ok", bad])
    with pytest.raises(DefinitionError, match="duplicate"):
        StaticPartitions(["eu", "eu"])
    with pytest.raises(DefinitionError, match="list of keys"):
        StaticPartitions("eu")  # type: ignore[arg-type]
    regions = StaticPartitions(["eu", "us", "apac-1.b:c+d"], dimension="region")
    assert regions.dimension == "region"
    assert regions.dimensions == ("region",)
    assert regions.split("us") == {"region": "us"}
    with pytest.raises(PartitionKeyError, match="not one of eu, us"):
        regions.validate("asia")
    with pytest.raises(PartitionKeyError, match="no time dimension"):
        regions.time_window("eu")


def test_dynamic_keys_live_in_a_store() -> None:
    files = DynamicPartitions("files")
    store = InMemoryDynamicPartitionsStore()
    with pytest.raises(DefinitionError, match="pass dynamic="):
        files.keys(FAR)
    assert files.add(store, ["b.csv", "a.csv"]) == ["b.csv", "a.csv"]
    assert files.add(store, ["a.csv", "c.csv"]) == ["c.csv"]
    assert list(files.keys(FAR, dynamic=store)) == ["a.csv", "b.csv", "c.csv"]
    files.delete(store, ["b.csv"])
    assert files.size(FAR, dynamic=store) == 2
    for bad in ["../x", "a/b", ".x", "a|b", "x=y", "a\x00"]:
        with pytest.raises(PartitionKeyError, match="DynamicPartitions\\(files\\)"):
            files.add(store, [bad])
    assert files == DynamicPartitions("files")


def test_a_dynamic_store_adds_all_keys_of_a_batch_or_none() -> None:
    store = InMemoryDynamicPartitionsStore({"files": ["a.csv"]})
    named = r"invalid partition key .* for DynamicPartitions\(files\)"
    with pytest.raises(PartitionKeyError, match=named):
        store.add("files", ["b.csv", "../etc", "c.csv"])
    assert store.get("files") == ["a.csv"]
    assert store.add("files", ["b.csv", "a.csv", "b.csv"]) == ["b.csv"]


def test_multi_keys_split_join_and_window() -> None:
    multi = MultiPartitions(
        {"date": DailyPartitions("2025-01-01"), "region": StaticPartitions(["eu", "us"])}
    )
    assert multi.dimensions == ("date", "region")
    assert multi.time_dimension == "date"
    now = datetime(2025, 1, 3, tzinfo=UTC)
    assert list(multi.keys(now)) == [
        "2025-01-01|eu",
        "2025-01-01|us",
        "2025-01-02|eu",
        "2025-01-02|us",
    ]
    assert multi.keys(now)[3] == "2025-01-02|us"
    assert multi.size(now) == 4
    assert multi.split("2025-01-02|us") == {"date": "2025-01-02", "region": "us"}
    assert multi.join({"region": "eu", "date": "2025-01-02"}) == "2025-01-02|eu"
    assert multi.time_window("2025-01-02|eu").start == datetime(2025, 1, 2, tzinfo=UTC)
    with pytest.raises(PartitionKeyError, match="2025-01-01\\|eu"):
        multi.validate("2025-01-02")
    with pytest.raises(PartitionKeyError, match="dimension 'region'"):
        multi.validate("2025-01-02|asia")
    with pytest.raises(DefinitionError, match="more than one time dimension"):
        MultiPartitions({"a": DailyPartitions("2025-01-01"), "b": MonthlyPartitions("2025-01")})
    with pytest.raises(DefinitionError, match="at least two"):
        MultiPartitions({"a": DailyPartitions("2025-01-01")})


def test_a_key_of_the_time_dimension_alone_names_every_region() -> None:
    multi = MultiPartitions(
        {"date": DailyPartitions("2025-01-01"), "region": StaticPartitions(["eu", "us"])}
    )
    assert list(multi.subset(["2025-01-02"])) == ["2025-01-02|eu", "2025-01-02|us"]
    spread = multi.key_range("2025-01-02", "2025-01-03")
    assert sorted(spread) == [
        "2025-01-02|eu",
        "2025-01-02|us",
        "2025-01-03|eu",
        "2025-01-03|us",
    ]
    # one region still works, and mixing the two forms is refused
    assert sorted(multi.key_range("2025-01-02|us", "2025-01-03|us")) == [
        "2025-01-02|us",
        "2025-01-03|us",
    ]
    with pytest.raises(PartitionKeyError, match="joined by"):
        multi.key_range("2025-01-02|eu", "2025-01-03")
    with pytest.raises(PartitionKeyError, match="DailyPartitions"):  # the definition rejecting it
        multi.subset(["2025-02-30"])
    # a dynamic dimension's keys come from its store; without it, every dimension is named
    tenants = DynamicPartitions("tenants")
    with_tenants = MultiPartitions({"date": DailyPartitions("2025-01-01"), "tenant": tenants})
    with pytest.raises(PartitionKeyError, match="name every dimension"):
        with_tenants.subset(["2025-01-02"])
    store = InMemoryDynamicPartitionsStore()
    tenants.add(store, ["acme", "globex"])
    assert sorted(with_tenants.key_range("2025-01-02", "2025-01-02", dynamic=store)) == [
        "2025-01-02|acme",
        "2025-01-02|globex",
    ]


def test_definitions_are_frozen_values() -> None:
    a = DailyPartitions("2025-01-01", timezone="Europe/Berlin")
    b = DailyPartitions(date(2025, 1, 1), timezone="Europe/Berlin")
    assert a == b and hash(a) == hash(b)
    assert a != DailyPartitions("2025-01-01")
    assert len({StaticPartitions(["a"]), StaticPartitions(["a"])}) == 1
    with pytest.raises(AttributeError):
        a.start = "2025-02-01"  # type: ignore[misc]
    assert isinstance(a, PartitionsDefinition)
    assert a.describe() == "daily from 2025-01-01 (Europe/Berlin)"
    with pytest.raises(DefinitionError, match="unknown time zone"):
        DailyPartitions("2025-01-01", timezone="Mars/Olympus")


TIME_DEFINITIONS = [
    DailyPartitions("2020-01-01", timezone="Europe/Berlin"),
    HourlyPartitions("2024-10-01T00:00", timezone="Europe/Berlin"),
    HourlyPartitions("2024-01-01T00:00", timezone="America/New_York"),
    WeeklyPartitions("2020-01-05", week_start="sunday", timezone="Australia/Sydney"),
    MonthlyPartitions("2020-01", timezone="America/Sao_Paulo"),
]


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(TIME_DEFINITIONS), st.integers(min_value=0, max_value=20_000))
@example(TIME_DEFINITIONS[1], 626)  # Berlin's fall-back hour, 2024-10-27T02:00+02:00
def test_key_window_key_round_trip(definition: PartitionsDefinition, index: int) -> None:
    keys = definition.keys(FAR)
    index %= len(keys) - 1
    key = keys[index]
    assert definition.validate(key) == key
    window = definition.time_window(key)
    assert window.start.tzinfo is not None
    # instants compare in UTC: Python compares two times of one zone by wall clock, so the
    # fall-back hour 02:00+02:00 .. 02:00+01:00 would look empty
    start, end = window.start.astimezone(UTC), window.end.astimezone(UTC)
    assert start < end
    # the instant at the window start, and the last microsecond in it, both fall in `key`
    index_at = definition.index_at  # type: ignore[attr-defined]
    assert index_at(start) == index
    assert index_at(end - timedelta(microseconds=1)) == index
    assert definition.time_window(keys[index + 1]).start.astimezone(UTC) == end


def test_enumerate_100k_daily_keys_speed(capsys: pytest.CaptureFixture[str]) -> None:
    daily = DailyPartitions("1800-01-01")
    keys = daily.keys(FAR)
    start = timer.perf_counter()
    listed = list(keys[:100_000])
    elapsed = timer.perf_counter() - start
    assert len(listed) == 100_000 and listed[-1] == "2073-10-15"
    with capsys.disabled():
        print(f"\n[partitions] enumerating 100,000 daily keys: {elapsed * 1000:.1f} ms")
