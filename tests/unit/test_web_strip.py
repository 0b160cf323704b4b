"""The partition health strip: runs of neighbours in one state for the same reasons."""

from __future__ import annotations

import time

from partita.partitions import DailyPartitions, StaticPartitions
from partita.web.strip import HealthState, Segment, segments

DAYS = DailyPartitions(start="2016-01-01", end="2025-12-29")  # 3,650 days


def test_one_stale_week_in_ten_years_is_three_segments() -> None:
    keys = [DAYS.key_at(i) for i in range(3650)]
    week = DAYS.key_range("2021-06-15", "2021-06-21")
    found = segments(keys, stale=week, reasons=[("upstream_changed: orders", week)])
    assert found == [
        Segment("2016-01-01", "2021-06-14", 1992, HealthState.FRESH),
        Segment("2021-06-15", "2021-06-21", 7, HealthState.STALE, ("upstream_changed: orders",)),
        Segment("2021-06-22", "2025-12-28", 1651, HealthState.FRESH),
    ]
    assert sum(s.count for s in found) == 3650


def test_states_rank_failed_then_running_then_stale_then_missing() -> None:
    keys = [DAYS.key_at(i) for i in range(6)]
    everything = DAYS.key_range(keys[0], keys[5])
    found = segments(
        keys,
        failed=DAYS.subset([keys[0]]),
        stale=everything,
        missing=DAYS.subset([keys[4], keys[5]]),
        running=frozenset({keys[1]}),
    )
    assert [(s.first, s.state.value) for s in found] == [
        (keys[0], "failed"),
        (keys[1], "running"),
        (keys[2], "stale"),
    ]
    assert found[-1].last == keys[5] and found[-1].count == 4  # stale wins over missing


def test_reasons_split_runs_of_one_state() -> None:
    keys = [DAYS.key_at(i) for i in range(4)]
    all_four = DAYS.key_range(keys[0], keys[3])
    code = DAYS.subset(keys[:2])
    found = segments(keys, stale=all_four, reasons=[("code_changed", code), ("upstream", all_four)])
    assert [(s.count, s.reasons) for s in found] == [
        (2, ("code_changed", "upstream")),
        (2, ("upstream",)),
    ]


def test_unpartitioned_and_static_keys() -> None:
    regions = StaticPartitions(["eu", "us", "apac"])
    found = segments(["eu", "us", "apac"], missing=regions.subset(["apac"]))
    assert [(s.first, s.last, s.state.value) for s in found] == [
        ("eu", "us", "fresh"),
        ("apac", "apac", "missing"),
    ]
    assert segments([""]) == [Segment("", "", 1, HealthState.FRESH)]
    assert segments([]) == []


def test_ten_years_of_alternating_states_stays_fast() -> None:
    keys = [DAYS.key_at(i) for i in range(3650)]
    every_other = DAYS.subset(keys[::2])
    started = time.perf_counter()
    found = segments(keys, stale=every_other, reasons=[("upstream_changed", every_other)])
    assert time.perf_counter() - started < 1.0
    assert len(found) == 3650
