"""The planner's edge fast paths equal the mappings they stand for.

:func:`partita.planner.edges.edge_rows` answers "which upstream partitions does
each downstream partition read?" without asking the mapping when it can:
all partitions (``AllPartitions`` or an unpartitioned upstream), offset
ranges (``Identity``/``TimeWindow`` between time definitions of one grain and
zone), and positions (``Identity`` between equal definitions). Each property
below draws random definitions (hourly, daily, weekly and monthly in zones
with DST, static, dynamic, multi, unpartitioned), a random ``now`` and a
mapping that takes that fast path, and compares every row with what
``mapping.upstream`` says for that one partition; the inverse relation the
planner derives from the rows (``downstream_of``) is compared with
``mapping.downstream``, and ``merge_rows`` with the union of two mappings.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta

import numpy as np
import numpy.typing as npt
from hypothesis import assume, given, settings
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
)
from partita.partitions import (
    UNPARTITIONED,
    DailyPartitions,
    DynamicPartitions,
    DynamicPartitionsStore,
    HourlyPartitions,
    InMemoryDynamicPartitionsStore,
    MonthlyPartitions,
    MultiPartitions,
    PartitionsDefinition,
    StaticPartitions,
    TimePartitions,
    WeeklyPartitions,
)
from partita.planner.edges import EdgeRows, edge_rows, merge_rows
from partita.planner.space import AssetSpace
from partita.records import partition_hash
from partita.spaces import KeyIndex

SETTINGS = settings(max_examples=300, deadline=None, derandomize=True, database=None)

ZONES = ("UTC", "Europe/Berlin", "America/New_York", "Australia/Sydney", "Asia/Kolkata")
#: Around the 2025 DST changes (Europe: Mar 30, Oct 26; US: Mar 9, Nov 2; Sydney: Apr 6, Oct 5).
ANCHORS = (date(2025, 3, 5), date(2025, 3, 26), date(2025, 10, 1), date(2025, 10, 23))
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
GRAINS = ("hourly", "daily", "weekly", "monthly")
LETTERS = ("a", "b", "c", "d", "e")


@st.composite
def time_definitions(
    draw: st.DrawFn, grain: str, zone: str, week_start: str, anchor: date
) -> TimePartitions:
    """A time definition of ``grain`` in ``zone`` near ``anchor`` (start, end, end_offset drawn)."""
    end_offset = draw(st.sampled_from((-1, 0, 0, 1)))
    closed = draw(st.booleans())
    try:
        if grain == "hourly":
            first = datetime.combine(anchor, datetime.min.time()) + timedelta(
                hours=draw(st.integers(0, 24 * 8))
            )
            end = first + timedelta(hours=draw(st.integers(1, 24 * 4)))
            return HourlyPartitions(
                start=first.strftime("%Y-%m-%dT%H:%M"),
                end=end.strftime("%Y-%m-%dT%H:%M") if closed else None,
                timezone=zone,
                end_offset=end_offset,
            )
        if grain == "daily":
            day = anchor + timedelta(days=draw(st.integers(0, 12)))
            last = day + timedelta(days=draw(st.integers(1, 15)))
            return DailyPartitions(
                start=day.isoformat(),
                end=last.isoformat() if closed else None,
                timezone=zone,
                end_offset=end_offset,
            )
        if grain == "weekly":
            day = anchor + timedelta(days=draw(st.integers(0, 12)))
            day += timedelta(days=(WEEKDAYS.index(week_start) - day.weekday()) % 7)
            last = day + timedelta(weeks=draw(st.integers(1, 5)))
            return WeeklyPartitions(
                start=day.isoformat(),
                end=last.isoformat() if closed else None,
                timezone=zone,
                end_offset=end_offset,
                week_start=week_start,
            )
        month = anchor.month + draw(st.integers(-2, 1))
        months = draw(st.integers(1, 4))
        return MonthlyPartitions(
            start=f"2025-{month:02d}",
            end=f"{2025 + (month + months - 1) // 12}-{(month + months - 1) % 12 + 1:02d}"
            if closed
            else None,
            timezone=zone,
            end_offset=end_offset,
        )
    except DefinitionError:  # an hourly bound inside a DST gap
        assume(False)
        raise


@st.composite
def times(
    draw: st.DrawFn, same_grain: bool = True
) -> tuple[TimePartitions, TimePartitions, datetime]:
    """Two time definitions and a ``now``; of one grain, zone and week start unless
    ``same_grain`` is False (then each of those may differ)."""
    grain = draw(st.sampled_from(GRAINS))
    zone = draw(st.sampled_from(ZONES))
    week_start = draw(st.sampled_from(WEEKDAYS))
    anchor = draw(st.sampled_from(ANCHORS))
    down = draw(time_definitions(grain, zone, week_start, anchor))
    if not same_grain:
        if draw(st.booleans()):
            grain = draw(st.sampled_from(GRAINS))
        if draw(st.booleans()):
            zone = draw(st.sampled_from(ZONES))
        if draw(st.booleans()):
            week_start = draw(st.sampled_from(WEEKDAYS))
    up = draw(time_definitions(grain, zone, week_start, anchor))
    return down, up, draw(nows(anchor, min(down.grain, up.grain, key=GRAINS.index)))


def nows(anchor: date, grain: str) -> st.SearchStrategy[datetime]:
    """A ``now`` after ``anchor``: within two weeks for hourly, four months otherwise."""
    hours = 24 * 14 if grain == "hourly" else 24 * 120
    start = datetime.combine(anchor, datetime.min.time(), tzinfo=UTC)
    return st.integers(0, hours).map(lambda h: start + timedelta(hours=h, minutes=17))


KINDS = ("time", "static", "dynamic", "multi", "none")


@st.composite
def any_definitions(
    draw: st.DrawFn, anchor: date, grain: str, kind: str | None = None
) -> PartitionsDefinition:
    """A definition of ``kind`` (drawn when None): time, static, dynamic, multi or none."""
    kind = kind or draw(st.sampled_from(KINDS))
    if kind == "time":
        zone = draw(st.sampled_from(ZONES))
        return draw(time_definitions(grain, zone, draw(st.sampled_from(WEEKDAYS)), anchor))
    if kind == "static":
        return StaticPartitions(draw(st.permutations(LETTERS))[: draw(st.integers(1, 5))])
    if kind == "dynamic":
        return DynamicPartitions(draw(st.sampled_from(("files", "users"))))
    if kind == "multi":
        other = draw(st.sampled_from(("static", "dynamic")))
        second: PartitionsDefinition = (
            StaticPartitions(["x", "y", "z"][: draw(st.integers(1, 3))])
            if other == "static"
            else DynamicPartitions("files")
        )
        date_part = draw(time_definitions("daily", "UTC", "monday", anchor))
        return MultiPartitions({"date": date_part, "region": second})
    return UNPARTITIONED


def dynamic_stores() -> st.SearchStrategy[DynamicPartitionsStore]:
    """A store with random keys for ``files`` and ``users`` (maybe none)."""
    keys = st.lists(st.sampled_from(("k1", "k2", "k3", "k4", "k5")), unique=True, max_size=5)
    return st.builds(
        lambda files, users: InMemoryDynamicPartitionsStore({"files": files, "users": users}),
        keys,
        keys,
    )


def space(
    definition: PartitionsDefinition, now: datetime, dynamic: DynamicPartitionsStore
) -> AssetSpace:
    return AssetSpace.over(KeyIndex.of(definition, now, dynamic))


def listed_rows(rows: EdgeRows) -> list[list[int]]:
    """Each downstream partition's upstream indices, as listed (duplicates kept)."""
    return [
        sorted(int(i) for i in rows.indices[rows.indptr[d] : rows.indptr[d + 1]])
        for d in range(len(rows.indptr) - 1)
    ]


def mapped_rows(
    mapping: PartitionMapping,
    down: AssetSpace,
    up: AssetSpace,
    now: datetime,
    dynamic: DynamicPartitionsStore,
) -> list[list[int]]:
    """What ``mapping.upstream`` says for each downstream partition, as upstream indices."""
    rows: list[list[int]] = []
    for key in down.keys:
        mapped = mapping.upstream(
            down.definition.subset([key]), down.definition, up.definition, now, dynamic=dynamic
        )
        positions = [up.position(k) for k in mapped]
        assert None not in positions, f"{mapping} maps {key} outside {up.definition!r}"
        rows.append(sorted(p for p in positions if p is not None))
    return rows


def assert_same_as_mapping(
    mapping: PartitionMapping,
    down_def: PartitionsDefinition,
    up_def: PartitionsDefinition,
    now: datetime,
    dynamic: DynamicPartitionsStore,
    upstream_picks: Sequence[int],
) -> None:
    """The fast path's rows, and the inverse the planner derives, equal the mapping's."""
    down, up = space(down_def, now, dynamic), space(up_def, now, dynamic)
    rows = edge_rows(mapping, down, up, now, dynamic)
    context = f"{mapping} from {down_def!r} onto {up_def!r} at {now}"
    assert listed_rows(rows) == mapped_rows(mapping, down, up, now, dynamic), context
    if not up.size:
        return
    picked = sorted({p % up.size for p in upstream_picks})
    mask = up.index.mask_of(up_def.subset([up.keys[p] for p in picked]))
    readers = mapping.downstream(
        up_def.subset([up.keys[p] for p in picked]), up_def, down_def, now, dynamic=dynamic
    )
    assert rows.downstream_of(mask).tolist() == down.index.mask_of(readers).tolist(), context
    assert_shortcuts_equal_csr(rows, up.size, mask, upstream_picks, context)


def assert_shortcuts_equal_csr(
    rows: EdgeRows, n_up: int, mask: npt.NDArray[np.bool_], picks: Sequence[int], context: str
) -> None:
    """Rows with bounds or ``identity`` answer every question as their plain CSR does."""
    plain = EdgeRows(indptr=rows.indptr, indices=rows.indices)
    n_down = len(rows.indptr) - 1
    down_mask = np.zeros(n_down, dtype=np.bool_)
    if n_down:
        down_mask[[p % n_down for p in picks]] = True
    values = np.asarray(
        [partition_hash("a", str(i), str(picks)) for i in range(n_up)], dtype=np.int64
    ).view(np.uint64)
    for name, fast, slow in (
        ("counts", rows.counts(), plain.counts()),
        ("row_count", rows.row_count(mask), plain.row_count(mask)),
        ("row_sum_u64", rows.row_sum_u64(values), plain.row_sum_u64(values)),
        ("downstream_of", rows.downstream_of(mask), plain.downstream_of(mask)),
        ("lacking", rows.lacking(mask), plain.lacking(mask)),
        ("upstream_of", rows.upstream_of(down_mask, n_up), plain.upstream_of(down_mask, n_up)),
        ("pairs/down", rows.pairs()[0], plain.pairs()[0]),
        ("pairs/up", rows.pairs()[1], plain.pairs()[1]),
    ):
        assert fast.tolist() == slow.tolist(), f"{name}: {context}"
    expected = np.zeros(n_up, dtype=np.bool_)
    for d in np.flatnonzero(down_mask).tolist():
        expected[rows.indices[rows.indptr[d] : rows.indptr[d + 1]]] = True
    assert rows.upstream_of(down_mask, n_up).tolist() == expected.tolist(), context


picks = st.lists(st.integers(0, 10_000), max_size=6)


@SETTINGS
@given(
    times(same_grain=True),
    st.sampled_from(("identity", "window")),
    st.integers(-4, 2),
    st.integers(0, 3),
    picks,
)
def test_time_offset_fast_path_equals_mapping_upstream(
    definitions: tuple[TimePartitions, TimePartitions, datetime],
    kind: str,
    start_offset: int,
    width: int,
    upstream_picks: list[int],
) -> None:
    """Identity / TimeWindow between time definitions of one grain and zone: offset ranges."""
    down, up, now = definitions
    mapping: PartitionMapping = (
        Identity() if kind == "identity" else TimeWindow(start_offset, start_offset + width)
    )
    store = InMemoryDynamicPartitionsStore()
    assert_same_as_mapping(mapping, down, up, now, store, upstream_picks)


ALL_FAST_PATH_MAPPINGS: tuple[PartitionMapping, ...] = (
    AllPartitions(),
    AllPartitions(allow_missing=True),
    LastPartition(),
    Identity(),
    TimeWindow(),
    StaticMap({}),
    Dimension("date"),
)


@SETTINGS
@given(st.data(), st.sampled_from(ANCHORS), st.sampled_from(GRAINS), dynamic_stores(), picks)
def test_all_partitions_fast_path_equals_mapping_upstream(
    data: st.DataObject,
    anchor: date,
    grain: str,
    store: DynamicPartitionsStore,
    upstream_picks: list[int],
) -> None:
    """AllPartitions between any definitions, and any mapping onto an unpartitioned asset."""
    down = data.draw(any_definitions(anchor, grain), "down")
    unpartitioned_up = data.draw(st.booleans(), "unpartitioned upstream")
    up = UNPARTITIONED if unpartitioned_up else data.draw(any_definitions(anchor, grain), "up")
    mapping = (
        data.draw(st.sampled_from(ALL_FAST_PATH_MAPPINGS), "mapping")
        if unpartitioned_up
        else data.draw(st.sampled_from(ALL_FAST_PATH_MAPPINGS[:2]), "mapping")
    )
    try:
        mapping.check(down, up)
    except DefinitionError:
        assume(False)
    now = data.draw(nows(anchor, grain), "now")
    assert_same_as_mapping(mapping, down, up, now, store, upstream_picks)


@SETTINGS
@given(st.data(), st.sampled_from(ANCHORS), st.sampled_from(GRAINS), dynamic_stores(), picks)
def test_identity_between_equal_definitions_fast_path_equals_mapping_upstream(
    data: st.DataObject,
    anchor: date,
    grain: str,
    store: DynamicPartitionsStore,
    upstream_picks: list[int],
) -> None:
    """Identity between equal definitions of any kind: each partition reads its own key."""
    definition = data.draw(any_definitions(anchor, grain), "definition")
    now = data.draw(nows(anchor, grain), "now")
    assert_same_as_mapping(Identity(), definition, definition, now, store, upstream_picks)
    same = space(definition, now, store)
    assert edge_rows(Identity(), same, same, now, store).identity, "the identity shortcut"


@SETTINGS
@given(times(same_grain=False), st.integers(-3, 0), st.integers(-3, 0))
def test_merged_rows_are_the_union_of_the_mappings(
    definitions: tuple[TimePartitions, TimePartitions, datetime], first: int, second: int
) -> None:
    """Two inputs from one upstream asset: the merged rows are the union, without repeats."""
    down_def, up_def, now = definitions
    store = InMemoryDynamicPartitionsStore()
    down, up = space(down_def, now, store), space(up_def, now, store)
    mappings = [TimeWindow(first, 0), TimeWindow(second, second), LastPartition()]
    merged = merge_rows([edge_rows(m, down, up, now, store) for m in mappings], up.size)
    each = [mapped_rows(m, down, up, now, store) for m in mappings]
    union = [sorted(set().union(*rows)) for rows in zip(*each, strict=True)]
    assert listed_rows(merged) == union


MENU: tuple[PartitionMapping, ...] = (
    AllPartitions(),
    AllPartitions(allow_missing=True),
    LastPartition(),
    Identity(),
    TimeWindow(),
    TimeWindow(-2, 0),
    TimeWindow(-1, -1),
    StaticMap({"a": ["b", "c"], "c": ["c"], "e": ["a", "k2"]}),
    StaticMap({"k1": ["a"], "k3": ["k3", "k4"]}),
    Dimension("date"),
    Dimension("date", TimeWindow(-1, 0)),
    Dimension("region"),
    Dimension("region", AllPartitions()),
)


@SETTINGS
@given(st.data(), st.sampled_from(ANCHORS), dynamic_stores(), picks)
def test_edge_rows_equal_mapping_upstream_for_any_checked_mapping(
    data: st.DataObject,
    anchor: date,
    store: DynamicPartitionsStore,
    upstream_picks: list[int],
) -> None:
    """Whichever path ``edge_rows`` takes (fast or generic), for any pair of definitions
    (grains, zones and week starts may differ) and any mapping that connects them."""
    down: PartitionsDefinition
    up: PartitionsDefinition
    if data.draw(st.booleans(), "two time definitions"):
        down, up, now = data.draw(times(same_grain=False), "time definitions")
    else:
        kind = data.draw(st.sampled_from(KINDS), "kind")
        down = data.draw(any_definitions(anchor, data.draw(st.sampled_from(GRAINS)), kind))
        if data.draw(st.booleans(), "same kind upstream"):
            up = data.draw(any_definitions(anchor, data.draw(st.sampled_from(GRAINS)), kind))
        else:
            up = data.draw(any_definitions(anchor, data.draw(st.sampled_from(GRAINS))), "up")
        now = data.draw(nows(anchor, "hourly"), "now")
    mapping = data.draw(st.sampled_from(MENU), "mapping")
    try:
        mapping.check(down, up)
    except DefinitionError:
        assume(False)
    assert_same_as_mapping(mapping, down, up, now, store, upstream_picks)
