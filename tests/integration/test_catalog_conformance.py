"""The catalog contract: every implementation of the protocols passes these tests.

The ``catalog`` fixture is parametrized over the implementations in
:data:`IMPLEMENTATIONS`: SQLite in ``tmp_path``, and PostgreSQL in a fresh
database of the test server this pytest worker started
(:mod:`tests.postgres_support`). A new backend adds one entry: a function
that, given the test's request, returns how to open connections to one new,
empty catalog. The tests use only the protocols of
:mod:`partita.records` (what SQLite does beyond them, such as migrations,
the state blocks, and dead runs found by pid, is tested beside it).
"""

from __future__ import annotations

import os
import pickle
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from partita.catalog import open_catalog
from partita.errors import CatalogError, PartitionKeyError
from partita.partitions import DynamicPartitionsStore
from partita.records import (
    INPUTS_SCHEMA,
    LATEST_SCHEMA,
    Catalog,
    CatalogReader,
    CatalogWriter,
    CheckRecord,
    Input,
    LeaseReader,
    Materialization,
    Observation,
    PlannerState,
    Run,
    RunStatus,
    StepAttempt,
    StepRecord,
    StepStatus,
    TickKind,
    TickRecord,
    TickStatus,
    combine_hashes,
    partition_hash,
)
from tests.postgres_support import PostgresServer

from .test_catalog_support import T0, at, build, start_run

Connect = Callable[[], Catalog]
"""Opens another connection to the same catalog (as another process would)."""


def _sqlite(request: pytest.FixtureRequest) -> Connect:
    tmp_path: Path = request.getfixturevalue("tmp_path")
    path = tmp_path / ".partita" / "catalog.db"
    return lambda: open_catalog(path)


def _postgres(request: pytest.FixtureRequest) -> Connect:
    server: PostgresServer = request.getfixturevalue("postgres_server")
    url = server.new_database()
    return lambda: open_catalog(url)


IMPLEMENTATIONS: dict[str, Callable[[pytest.FixtureRequest], Connect]] = {
    "sqlite": _sqlite,
    "postgres": _postgres,
}


@pytest.fixture(params=sorted(IMPLEMENTATIONS))
def connect(request: pytest.FixtureRequest) -> Connect:
    factory: Callable[[pytest.FixtureRequest], Connect] = IMPLEMENTATIONS[request.param]
    return factory(request)


@pytest.fixture
def catalog(connect: Connect) -> Iterator[Catalog]:
    with connect() as opened:
        yield opened


def _latest_rows(state: PlannerState) -> list[tuple[str, str, str]]:
    return sorted((r["asset"], r["partition"], r["data_version"]) for r in state.latest.to_pylist())


# ------------------------------------------------------------------------ protocols


def test_the_catalog_implements_every_protocol(catalog: Catalog) -> None:
    assert isinstance(catalog, CatalogReader)
    assert isinstance(catalog, CatalogWriter)
    assert isinstance(catalog, Catalog)
    assert isinstance(catalog.dynamic_partitions, DynamicPartitionsStore)
    assert catalog.planner_state(["anything"]).latest.schema.equals(LATEST_SCHEMA)
    assert catalog.get_run("nothing", now=T0) is None
    assert catalog.runs(now=T0) == []


# --------------------------------------------------------------------------- runs


def test_a_run_is_started_beaten_and_finished(catalog: Catalog) -> None:
    run = Run(
        run_id="r1",
        started_at=at(0),
        selection=("sales/*",),
        partitions=("2025-03-01..2025-03-07",),
        config='{"limit": 3}',
        host="",
        pid=os.getpid(),
        partita_version="1.2.3",
        kind="materialize",
    )
    catalog.start_run(run)
    with pytest.raises(CatalogError, match="already exists"):
        catalog.start_run(run)
    catalog.heartbeat("r1", now=at(30))
    got = catalog.get_run("r1", now=at(31))
    assert got is not None
    assert got.status is RunStatus.RUNNING and got.finished_at is None
    assert (got.selection, got.partitions, got.config) == (
        run.selection,
        run.partitions,
        '{"limit": 3}',
    )
    assert (got.pid, got.partita_version, got.kind) == (os.getpid(), "1.2.3", "materialize")
    assert got.started_at == at(0) and got.heartbeat_at == at(30)

    catalog.record_attempt_start(StepAttempt("r1", "a", "p1", 1, StepStatus.RUNNING, at(1)))
    catalog.record_attempt_start(StepAttempt("r1", "a", "p2", 1, StepStatus.PENDING, at(1)))
    build(catalog, "r1", "a", "p3", "v1", when=2)
    with pytest.raises(CatalogError):
        catalog.finish_run("r1", RunStatus.RUNNING, now=at(5))
    with pytest.raises(CatalogError, match="no run"):
        catalog.finish_run("ghost", RunStatus.SUCCEEDED, now=at(5))
    catalog.finish_run("r1", RunStatus.FAILED, now=at(5), error="one step failed")

    done = catalog.get_run("r1", now=at(6))
    assert done is not None and done.status is RunStatus.FAILED
    assert done.finished_at == at(5) and done.error == "one step failed"
    statuses = {(a.partition, a.status) for a in catalog.attempts("r1")}
    assert statuses == {
        ("p1", StepStatus.ABANDONED),  # unfinished attempts of a finished run
        ("p2", StepStatus.ABANDONED),
        ("p3", StepStatus.SUCCEEDED),
    }


def test_runs_are_listed_newest_first_with_durations_and_step_counts(catalog: Catalog) -> None:
    start_run(catalog, "old", when=0)
    build(catalog, "old", "a", "d1", "v1", when=1)
    build(catalog, "old", "a", "d1", "v2", when=2, attempt=2)
    catalog.record_attempt_start(StepAttempt("old", "a", "d2", 1, StepStatus.RUNNING, at(3)))
    catalog.finish_run("old", RunStatus.FAILED, now=at(5))
    start_run(catalog, "new", when=10)
    catalog.start_run(Run(run_id="check", started_at=at(20), kind="check"))

    summaries = catalog.runs(now=at(100))
    assert [s.run.run_id for s in summaries] == ["check", "new", "old"]
    assert [s.run.run_id for s in catalog.runs(now=at(100), limit=2)] == ["check", "new"]
    old = summaries[2]
    assert old.run.status is RunStatus.FAILED
    assert old.duration_s == pytest.approx(5.0)
    assert old.count(StepStatus.SUCCEEDED) == 2 and old.count(StepStatus.ABANDONED) == 1
    assert summaries[1].duration_s == pytest.approx(90.0)  # still running: so far
    assert summaries[0].run.kind == "check"


def test_run_summaries_count_partitions_by_their_last_attempt(catalog: Catalog) -> None:
    start_run(catalog, "r", when=0)

    def attempt(partition: str, number: int, status: StepStatus) -> StepAttempt:
        return StepAttempt("r", "a", partition, number, status, at(number), at(number + 0.5))

    # d1 fails twice then succeeds; d2 fails once then fails for good; d3 succeeds at once
    for number in (1, 2):
        catalog.record_step_outcome(attempt("d1", number, StepStatus.FAILED))
    build(catalog, "r", "a", "d1", "v1", when=3, attempt=3)
    for number in (1, 2):
        catalog.record_step_outcome(attempt("d2", number, StepStatus.FAILED))
    build(catalog, "r", "a", "d3", "v1", when=1)
    catalog.finish_run("r", RunStatus.FAILED, now=at(5))
    catalog.start_run(Run(run_id="c", started_at=at(10), kind="check"))
    catalog.record_checks(
        [
            CheckRecord("a", "d1", "ok", passed=True, run_id="c", created_at=at(10)),
            CheckRecord("a", "d2", "ok", passed=False, run_id="c", created_at=at(10)),
            CheckRecord("a", "d3", "soft", False, severity="warn", run_id="c", created_at=at(10)),
        ]
    )
    catalog.finish_run("c", RunStatus.FAILED, now=at(10.25))

    check, run = catalog.runs(now=at(100))
    assert run.step_counts == ((StepStatus.FAILED, 4), (StepStatus.SUCCEEDED, 2))
    assert run.partition_counts == ((StepStatus.FAILED, 1), (StepStatus.SUCCEEDED, 2))
    assert (run.partitions(StepStatus.SUCCEEDED), run.retries) == (2, 3)
    assert run.check_counts == ()
    assert check.run.kind == "check" and check.duration_s == pytest.approx(0.25)
    assert (check.partition_counts, check.retries) == ((), 0)
    assert check.check_counts == (("failed", 1), ("passed", 1), ("warned", 1))


def test_dead_runs_are_found_by_their_heartbeat(catalog: Catalog) -> None:
    # another host's runs: only the heartbeat can tell whether they are alive
    catalog.start_run(Run(run_id="silent", started_at=at(0), host="elsewhere", pid=1))
    catalog.record_attempt_start(StepAttempt("silent", "a", "p", 1, StepStatus.RUNNING, at(1)))
    catalog.start_run(Run(run_id="beating", started_at=at(0), host="elsewhere", pid=1))
    later = T0 + timedelta(days=1)
    catalog.heartbeat("beating", now=later - timedelta(seconds=1))

    assert catalog.mark_dead_runs(now=later) == ["silent"]
    assert catalog.mark_dead_runs(now=later) == []  # marked once
    run = catalog.get_run("silent", now=later)
    assert run is not None and run.status is RunStatus.CRASHED
    assert run.finished_at == later and run.error
    (attempt,) = catalog.attempts("silent")
    assert attempt.status is StepStatus.ABANDONED
    beating = catalog.get_run("beating", now=later)
    assert beating is not None and beating.status is RunStatus.RUNNING


def test_reading_runs_shows_a_dead_run_as_crashed(catalog: Catalog) -> None:
    catalog.start_run(Run(run_id="lost", started_at=at(0), host="elsewhere", pid=1))
    later = T0 + timedelta(days=1)
    (summary,) = catalog.runs(now=later)
    assert summary.run.status is RunStatus.CRASHED
    run = catalog.get_run("lost", now=later)
    assert run is not None and run.status is RunStatus.CRASHED


# --------------------------------------------------- attempts, materializations, inputs


def test_a_step_outcome_records_attempt_materializations_inputs_and_checks(
    catalog: Catalog,
) -> None:
    start_run(catalog, "r1")
    raw_d1 = build(catalog, "r1", "raw", "d1", "rv1")
    build(catalog, "r1", "raw", "d2", "rv2")
    catalog.record_attempt_start(
        StepAttempt("r1", "daily", None, 1, StepStatus.RUNNING, at(2), logs="reading\n")
    )
    mat = Materialization(
        "daily",
        None,
        "r1",
        "dv1",
        at(3),
        code_version="c9",
        config_hash="h",
        rows=3,
        bytes=100,
        schema='{"id": "int64"}',
        location="daily/data.parquet",
    )
    inputs = [Input("raw", "d1", "rv1"), Input("raw", "d2", "rv2")]
    checks = [CheckRecord("daily", None, "not_empty", True, message="3 rows")]
    done = StepAttempt("r1", "daily", None, 1, StepStatus.SUCCEEDED, at(2), at(3), logs="done\n")
    (mid,) = catalog.record_step_outcome(done, [mat], [inputs], checks)

    latest = catalog.latest_materialization("daily")
    assert latest is not None and latest.materialization_id == mid
    assert (latest.rows, latest.bytes, latest.schema, latest.location) == (
        3,
        100,
        '{"id": "int64"}',
        "daily/data.parquet",
    )
    assert (latest.code_version, latest.config_hash, latest.created_at) == ("c9", "h", at(3))
    assert latest.output_hash == partition_hash("daily", None, "dv1")
    (attempt,) = catalog.attempts("r1", asset="daily")
    assert attempt.status is StepStatus.SUCCEEDED and attempt.finished_at == at(3)
    assert attempt.logs == "reading\ndone\n"  # the outcome's logs are appended
    rows = catalog.inputs_of([mid])
    assert rows.schema.equals(INPUTS_SCHEMA)
    assert [(r["upstream_partition"], r["upstream_data_version"]) for r in rows.to_pylist()] == [
        ("d1", "rv1"),
        ("d2", "rv2"),
    ]
    # an input without an id links the upstream partition's latest materialization
    assert rows.to_pylist()[0]["upstream_materialization_id"] == raw_d1
    [check] = catalog.checks_of_materializations([mid])[mid]
    assert (check.check_name, check.passed, check.run_id, check.attempt) == (
        "not_empty",
        True,
        "r1",
        1,
    )


def test_a_step_outcome_is_all_or_nothing(catalog: Catalog) -> None:
    start_run(catalog, "r1")
    good = Materialization("a", "p1", "r1", "v1", at(1))
    bad = Materialization("a", "p2", "run-that-does-not-exist", "v1", at(1))
    attempt = StepAttempt("r1", "a", "p1..p2", 1, StepStatus.SUCCEEDED, at(0), at(1))
    with pytest.raises(CatalogError):
        catalog.record_step_outcome(attempt, [good, bad])
    assert catalog.history("a") == []
    assert catalog.attempts("r1") == []
    assert catalog.planner_state(["a"]).latest.num_rows == 0
    with pytest.raises(CatalogError):
        build(catalog, "no-such-run", "a", None, "v1")


def test_a_batch_records_starts_outcomes_and_lease_releases_in_one_transaction(
    catalog: Catalog,
) -> None:
    start_run(catalog, "r1")
    catalog.acquire_leases("r1", [("a", "d1"), ("b", "d1"), ("c", None)], now=at(0), ttl_s=60)
    a_start = StepAttempt("r1", "a", "d1", 1, StepStatus.RUNNING, at(1))
    a_mat = Materialization("a", "d1", "r1", "va", at(2), location="a/d1")
    b_mat = Materialization("b", "d1", "r1", "vb", at(2))
    failed = StepAttempt("r1", "c", None, 1, StepStatus.FAILED, at(1), at(2), error="boom")
    steps = [
        StepRecord(a_start, start=True),
        StepRecord(
            replace(a_start, status=StepStatus.SUCCEEDED, finished_at=at(2), logs="done\n"),
            materializations=(a_mat,),
            checks=(CheckRecord("a", "d1", "not_empty", True),),
        ),
        StepRecord(
            StepAttempt("r1", "b", "d1", 1, StepStatus.SUCCEEDED, at(1), at(2)),
            materializations=(b_mat,),
            inputs=((Input("a", "d1", "va"),),),
            upstream_assets=("a",),
        ),
        StepRecord(failed),
    ]
    ids = catalog.record_batch("r1", steps, release=[("a", "d1"), ("b", "d1")])
    assert ids[0] == () and ids[3] == ()
    (a_id,), (b_id,) = ids[1], ids[2]
    assert b_id > a_id
    # the input of b links a's materialization recorded earlier in the same batch
    assert catalog.inputs_of([b_id]).to_pylist()[0]["upstream_materialization_id"] == a_id
    [check] = catalog.checks_of_materializations([a_id])[a_id]
    assert check.check_name == "not_empty"
    statuses = {(x.asset, x.status) for x in catalog.attempts("r1")}
    assert statuses == {
        ("a", StepStatus.SUCCEEDED),
        ("b", StepStatus.SUCCEEDED),
        ("c", StepStatus.FAILED),
    }
    held = catalog.lease_holders([("a", "d1"), ("b", "d1"), ("c", None)], now=at(3))
    assert held == {("c", None): "r1"}


def test_a_batch_is_all_or_nothing(catalog: Catalog) -> None:
    start_run(catalog, "r1")
    catalog.acquire_leases("r1", [("a", "d1")], now=at(0), ttl_s=60)
    good = StepRecord(
        StepAttempt("r1", "a", "d1", 1, StepStatus.SUCCEEDED, at(0), at(1)),
        materializations=(Materialization("a", "d1", "r1", "v1", at(1)),),
    )
    bad = StepRecord(
        StepAttempt("r1", "a", "d2", 1, StepStatus.SUCCEEDED, at(0), at(1)),
        materializations=(Materialization("a", "d2", "no-such-run", "v1", at(1)),),
    )
    with pytest.raises(CatalogError):
        catalog.record_batch("r1", [good, bad], release=[("a", "d1")])
    assert catalog.history("a") == []
    assert catalog.attempts("r1") == []
    assert catalog.lease_holders([("a", "d1")], now=at(1)) == {("a", "d1"): "r1"}


def test_a_batched_step_gives_one_materialization_per_partition(catalog: Catalog) -> None:
    start_run(catalog, "r1")
    attempt = StepAttempt("r1", "a", "d1...d3", 1, StepStatus.SUCCEEDED, at(0), at(1))
    mats = [Materialization("a", f"d{i}", "r1", f"v{i}", at(1)) for i in (1, 2, 3)]
    ids = catalog.record_step_outcome(attempt, mats)
    assert len(set(ids)) == 3
    for i, mid in zip((1, 2, 3), ids, strict=True):
        latest = catalog.latest_materialization("a", f"d{i}")
        assert latest is not None and latest.materialization_id == mid
    (recorded,) = catalog.attempts("r1")
    assert recorded.partition == "d1...d3"


def test_explicit_upstream_ids_are_kept_and_repeated_inputs_count_once(catalog: Catalog) -> None:
    start_run(catalog, "r1")
    first = build(catalog, "r1", "raw", "d1", "v1")
    build(catalog, "r1", "raw", "d1", "v2", attempt=2)
    attempt = StepAttempt("r1", "top", "p", 1, StepStatus.SUCCEEDED, at(2), at(3))
    inputs = [Input("raw", "d1", "v1", first), Input("raw", "d1", "v1", first)]
    (mid,) = catalog.record_step_outcome(
        attempt, [Materialization("top", "p", "r1", "t1", at(3))], [inputs]
    )
    (row,) = catalog.inputs_of([mid]).to_pylist()
    assert (row["upstream_materialization_id"], row["upstream_data_version"]) == (first, "v1")
    assert catalog.inputs_of([]).num_rows == 0


def test_history_and_latest_materialization(catalog: Catalog) -> None:
    start_run(catalog, "r1")
    build(catalog, "r1", "a", "d1", "v1", when=1)
    build(catalog, "r1", "a", "d2", "w1", when=2)
    build(catalog, "r1", "a", "d1", "v2", when=3, attempt=2)
    build(catalog, "r1", "u", None, "u1", when=4)
    assert [m.data_version for m in catalog.history("a", "d1")] == ["v2", "v1"]
    assert [m.data_version for m in catalog.history("a")] == ["v2", "w1", "v1"]
    assert [m.data_version for m in catalog.history("a", limit=1)] == ["v2"]
    assert catalog.history("missing") == []
    latest = catalog.latest_materialization("a", "d1")
    assert latest is not None and latest.data_version == "v2" and latest.run_id == "r1"
    unpartitioned = catalog.latest_materialization("u")
    assert unpartitioned is not None and unpartitioned.partition is None
    assert catalog.latest_materialization("a", "d9") is None


# ------------------------------------------------------------------ planner state


def test_a_materialization_keeps_the_output_hash_it_inherits(catalog: Catalog) -> None:
    """A rebuild for a non-breaking SQL change records its true data version and the
    output hash of the build before it; readers' edges combine the hashes they read."""
    start_run(catalog, "r1")
    build(catalog, "r1", "model", "d1", "mv1")
    kept = partition_hash("model", "d1", "mv1")
    attempt = StepAttempt("r1", "model", "d1", 2, StepStatus.SUCCEEDED, at(2), at(3))
    (mid,) = catalog.record_step_outcome(
        attempt,
        [Materialization("model", "d1", "r1", "mv2", at(3), inherited_output_hash=kept)],
        [[]],
    )
    latest = catalog.latest_materialization("model", "d1")
    assert latest is not None and latest.materialization_id == mid
    assert (latest.data_version, latest.output_hash) == ("mv2", kept)
    assert [(m.data_version, m.output_hash) for m in catalog.history("model", "d1")] == [
        ("mv2", kept),
        ("mv1", kept),
    ]
    state = catalog.planner_state(["model", "reader"])
    assert state.latest.to_pylist()[0]["output_hash"] == kept
    assert state.latest.to_pylist()[0]["data_version"] == "mv2"
    reading = StepAttempt("r1", "reader", "d1", 1, StepStatus.SUCCEEDED, at(4), at(5))
    (reader,) = catalog.record_step_outcome(
        reading,
        [Materialization("reader", "d1", "r1", "rv1", at(5))],
        [[Input("model", "d1", "mv2", mid, upstream_output_hash=kept)]],
        upstream_assets=["model"],
    )
    state = catalog.planner_state(["model", "reader"])
    (edge,) = state.edges.to_pylist()
    assert (edge["materialization_id"], edge["fingerprint"]) == (reader, combine_hashes([kept]))
    inputs = catalog.inputs_of([reader]).to_pylist()
    assert [(i["upstream_materialization_id"], i["upstream_data_version"]) for i in inputs] == [
        (mid, "mv2")
    ]


def test_the_planner_state_has_latest_rows_edges_and_hashes(catalog: Catalog) -> None:
    start_run(catalog, "r1")
    build(catalog, "r1", "raw", "d1", "rv0")
    build(catalog, "r1", "raw", "d1", "rv1", attempt=2)
    build(catalog, "r1", "raw", "d2", "rv2")
    attempt = StepAttempt("r1", "top", None, 1, StepStatus.SUCCEEDED, at(2), at(3))
    inputs = [Input("raw", "d1", "rv1"), Input("raw", "d2", "rv2"), Input("raw", "d1", "rv1")]
    (mid,) = catalog.record_step_outcome(
        attempt,
        [Materialization("top", None, "r1", "t1", at(3))],
        [inputs],
        upstream_assets=["raw", "dim"],
    )
    state = catalog.planner_state(["top", "raw", "never"])
    assert state.latest.schema.equals(LATEST_SCHEMA)
    assert _latest_rows(state) == [("raw", "d1", "rv1"), ("raw", "d2", "rv2"), ("top", "", "t1")]
    hashes = {(r["asset"], r["partition"]): r["output_hash"] for r in state.latest.to_pylist()}
    assert hashes[("raw", "d1")] == partition_hash("raw", "d1", "rv1")
    assert hashes[("top", "")] == partition_hash("top", None, "t1")
    assert state.latest.schema.field("created_at").type.tz == "UTC"
    edges = {r["upstream_asset"]: r for r in state.edges.to_pylist()}
    assert edges["raw"] == {
        "materialization_id": mid,
        "upstream_asset": "raw",
        "n_inputs": 2,  # the repeated partition counts once
        "fingerprint": combine_hashes(
            [partition_hash("raw", "d1", "rv1"), partition_hash("raw", "d2", "rv2")]
        ),
    }
    # a declared upstream it read nothing from gets an empty edge
    assert (edges["dim"]["n_inputs"], edges["dim"]["fingerprint"]) == (0, 0)
    only_raw = catalog.planner_state(["raw"])
    assert only_raw.edges.num_rows == 0 and only_raw.latest.num_rows == 2
    assert catalog.planner_state([]).latest.num_rows == 0


@pytest.mark.parametrize(
    ("status", "failed"),
    [
        (StepStatus.FAILED, True),
        (StepStatus.TIMED_OUT, True),
        (StepStatus.CANCELLED, True),
        (StepStatus.ABANDONED, True),
        (StepStatus.SKIPPED, False),
    ],
)
def test_an_unsuccessful_last_attempt_after_a_success_is_failed(
    catalog: Catalog, status: StepStatus, failed: bool
) -> None:
    start_run(catalog, "r1")
    build(catalog, "r1", "a", "d1", "v1", when=1)
    start_run(catalog, "r2", when=10)
    catalog.record_step_outcome(
        StepAttempt("r2", "a", "d1", 1, status, at(10), at(11), error="ValueError: boom\ntrace")
    )
    rows = catalog.planner_state(["a"]).failed.to_pylist()
    expected = [
        {"asset": "a", "partition": "d1", "status": str(status), "error": "ValueError: boom"}
    ]
    assert rows == (expected if failed else [])


def test_a_success_after_a_failure_clears_it_and_failures_never_built_count(
    catalog: Catalog,
) -> None:
    start_run(catalog, "r1")
    catalog.record_step_outcome(StepAttempt("r1", "a", "d1", 1, StepStatus.FAILED, at(1), at(2)))
    catalog.record_step_outcome(StepAttempt("r1", "a", "d2", 1, StepStatus.TIMED_OUT, at(1), at(2)))
    build(catalog, "r1", "a", "d1", "v1", when=3, attempt=2)
    failed = catalog.planner_state(["a", "b"]).failed.to_pylist()
    assert failed == [{"asset": "a", "partition": "d2", "status": "timed_out", "error": ""}]
    assert catalog.planner_state(["b"]).failed.num_rows == 0


def test_a_wipe_makes_partitions_missing_and_ends_older_failures(catalog: Catalog) -> None:
    start_run(catalog, "r1")
    for day in ("d1", "d2", "d3"):
        build(catalog, "r1", "a", day, f"v-{day}", when=1)
    build(catalog, "r1", "b", None, "vb", when=1)
    catalog.record_step_outcome(StepAttempt("r1", "a", "d1", 2, StepStatus.FAILED, at(2), at(3)))
    catalog.record_step_outcome(StepAttempt("r1", "a", "d4", 1, StepStatus.FAILED, at(2), at(3)))
    assert catalog.planner_state(["a"]).failed.num_rows == 2

    assert catalog.record_wipe("a", ["d1", "d9"], now=at(5)) == ["d1"]
    state = catalog.planner_state(["a", "b"])
    assert [(r[0], r[1]) for r in _latest_rows(state)] == [("a", "d2"), ("a", "d3"), ("b", "")]
    assert state.failed["partition"].to_pylist() == ["d4"]  # d1's failure is older than the wipe
    assert catalog.latest_materialization("a", "d1") is None
    assert len(catalog.history("a", "d1")) == 1  # history stays

    assert catalog.record_wipe("b", [None], now=at(5)) == [None]
    assert catalog.latest_materialization("b", None) is None
    assert catalog.record_wipe("a", None, now=at(6)) == ["d2", "d3"]
    state = catalog.planner_state(["a"])
    assert state.latest.num_rows == 0 and state.failed.num_rows == 0  # never-built d4 too

    build(catalog, "r1", "a", "d2", "v-new", when=7)  # a rebuild is the latest again
    rebuilt = catalog.latest_materialization("a", "d2")
    assert rebuilt is not None and rebuilt.data_version == "v-new"
    catalog.record_step_outcome(StepAttempt("r1", "a", "d1", 3, StepStatus.FAILED, at(8), at(9)))
    assert catalog.planner_state(["a"]).failed["partition"].to_pylist() == ["d1"]


def test_observations_give_the_latest_version_per_source_partition(catalog: Catalog) -> None:
    catalog.record_observation(Observation("src", "d1", "o1", at(1)))
    catalog.record_observation(Observation("src", "d1", "o2", at(2)))
    catalog.record_observation(Observation("src", "d2", "x1", at(2)))
    catalog.record_observation(Observation("whole", None, "w1", at(3)))
    state = catalog.planner_state(["src", "whole"])
    rows = sorted(
        (r["asset"], r["partition"], r["data_version"], r["output_hash"], r["observed_at"])
        for r in state.observations.to_pylist()
    )
    assert rows == [
        ("src", "d1", "o2", partition_hash("src", "d1", "o2"), at(2)),
        ("src", "d2", "x1", partition_hash("src", "d2", "x1"), at(2)),
        ("whole", "", "w1", partition_hash("whole", None, "w1"), at(3)),
    ]
    assert catalog.planner_state(["other"]).observations.num_rows == 0


# ------------------------------------------------------------------------ lineage


def test_lineage_of_a_diamond_up_and_down_to_a_depth(catalog: Catalog) -> None:
    start_run(catalog, "r1")
    raw = build(catalog, "r1", "raw", None, "r-v1")
    left = build(catalog, "r1", "left", None, "l-v1", [("raw", None)])
    right = build(catalog, "r1", "right", None, "g-v1", [("raw", None)])
    top = build(catalog, "r1", "top", None, "t-v1", [("left", None), ("right", None)])

    up = catalog.lineage(top, direction="up", depth=5)
    assert (up.root, up.direction, up.depth) == (top, "up", 5)
    assert {(n.asset, n.depth) for n in up.nodes} == {
        ("top", 0),
        ("left", 1),
        ("right", 1),
        ("raw", 2),
    }
    assert {(e.downstream_id, e.upstream_id) for e in up.edges} == {
        (top, left),
        (top, right),
        (left, raw),
        (right, raw),
    }
    assert {e.status for e in up.edges} == {"current"}
    assert up.max_depth == 2
    node = up.node(raw)
    assert (node.data_version, node.code_version, node.run_id) == ("r-v1", "c1", "r1")

    down = catalog.lineage(raw, direction="down", depth=5)
    assert {n.materialization_id for n in down.nodes} == {raw, left, right, top}
    assert len(down.edges) == 4

    shallow = catalog.lineage(top, direction="up", depth=1)
    assert {n.asset for n in shallow.nodes} == {"top", "left", "right"}
    assert len(shallow.edges) == 2
    alone = catalog.lineage(raw, direction="up")
    assert [n.materialization_id for n in alone.nodes] == [raw] and alone.edges == ()


def test_lineage_marks_what_was_rebuilt_since_as_superseded(catalog: Catalog) -> None:
    start_run(catalog, "r1")
    days = [f"2025-03-0{i}" for i in range(1, 8)]
    old = {day: build(catalog, "r1", "raw", day, f"{day}-v1") for day in days}
    weekly = build(catalog, "r1", "weekly", "2025-03-07", "w-v1", [("raw", d) for d in days])

    up = catalog.lineage(weekly, direction="up", depth=1)
    assert {e.upstream_partition for e in up.edges} == set(days)
    assert all(e.status == "current" for e in up.edges)

    start_run(catalog, "r2", when=10)
    new_day3 = build(catalog, "r2", "raw", "2025-03-03", "2025-03-03-v2", when=11)

    up = catalog.lineage(weekly, direction="up", depth=1)
    status = {e.upstream_partition: e.status for e in up.edges}
    assert status.pop("2025-03-03") == "superseded"
    assert set(status.values()) == {"current"}
    # the edge still points at the version that was read, not at the rebuild
    (edge,) = [e for e in up.edges if e.upstream_partition == "2025-03-03"]
    assert edge.upstream_id == old["2025-03-03"] != new_day3
    assert edge.upstream_data_version == "2025-03-03-v1"

    # downstream of the old version: it fed weekly; the rebuild fed nothing yet
    fed = catalog.lineage(old["2025-03-03"], direction="down", depth=3)
    assert {n.materialization_id for n in fed.nodes} == {old["2025-03-03"], weekly}
    assert [e.status for e in fed.edges] == ["superseded"]
    assert catalog.lineage(new_day3, direction="down").edges == ()
    data = up.to_dict()
    assert data["direction"] == "up" and len(data["nodes"]) == 8  # type: ignore[arg-type]


def test_lineage_tells_a_rebuild_with_the_same_output_from_a_superseding_one(
    catalog: Catalog,
) -> None:
    """Rebuilt with the same data version, or keeping the output hash it had (a
    non-breaking SQL change): ``same_output``, since what read it is not stale."""
    start_run(catalog, "r1")
    days = ["2025-03-01", "2025-03-02", "2025-03-03"]
    old = {day: build(catalog, "r1", "raw", day, f"{day}-v1") for day in days}
    weekly = build(catalog, "r1", "weekly", "2025-03-03", "w-v1", [("raw", d) for d in days])
    start_run(catalog, "r2", when=10)
    build(catalog, "r2", "raw", "2025-03-01", "2025-03-01-v1", when=11)  # the same data
    build(catalog, "r2", "raw", "2025-03-02", "2025-03-02-v2", when=11)  # other data
    kept = partition_hash("raw", "2025-03-03", "2025-03-03-v1")
    step = StepAttempt("r2", "raw", "2025-03-03", 1, StepStatus.SUCCEEDED, at(12), at(12))
    mat = Materialization(
        "raw", "2025-03-03", "r2", "2025-03-03-v3", at(12), inherited_output_hash=kept
    )
    catalog.record_step_outcome(step, [mat], [[]])

    up = catalog.lineage(weekly, direction="up", depth=1)
    status = {e.upstream_partition: (e.status, e.upstream_id) for e in up.edges}
    assert status == {
        "2025-03-01": ("same_output", old["2025-03-01"]),
        "2025-03-02": ("superseded", old["2025-03-02"]),
        "2025-03-03": ("same_output", old["2025-03-03"]),
    }
    fed = catalog.lineage(old["2025-03-01"], direction="down")
    assert [e.status for e in fed.edges] == ["same_output"]


def test_lineage_of_a_ten_deep_chain_and_of_observed_sources(catalog: Catalog) -> None:
    start_run(catalog, "r1")
    catalog.record_observation(Observation("src", "p", "s1", at(0)))
    step = StepAttempt("r1", "a0", "p", 1, StepStatus.SUCCEEDED, at(1), at(1))
    (first,) = catalog.record_step_outcome(
        step, [Materialization("a0", "p", "r1", "v", at(1))], [[Input("src", "p", "s1")]]
    )
    for level in range(1, 12):
        last = build(catalog, "r1", f"a{level}", "p", "v", [(f"a{level - 1}", "p")])
    graph = catalog.lineage(last, direction="up", depth=10)
    assert graph.max_depth == 10
    assert len(graph.nodes) == 11 and len(graph.edges) == 10

    (source,) = catalog.lineage(first, direction="up").edges
    assert (source.upstream_asset, source.upstream_id, source.status) == ("src", None, "current")
    catalog.record_observation(Observation("src", "p", "s2", at(20)))
    (source,) = catalog.lineage(first, direction="up").edges
    assert source.status == "superseded"


# --------------------------------------------------------------------------- logs


def test_attempts_keep_their_logs_per_asset_and_partition(catalog: Catalog) -> None:
    start_run(catalog, "r1")
    for asset, partition, attempt in (
        ("a", "d1", 1),
        ("a", "d1", 2),
        ("a", "d2", 1),
        ("b", None, 1),
    ):
        catalog.record_attempt_start(
            StepAttempt(
                "r1", asset, partition, attempt, StepStatus.RUNNING, at(attempt), logs="in\n"
            )
        )
    catalog.record_step_outcome(
        StepAttempt(
            "r1", "a", "d1", 1, StepStatus.FAILED, at(1), at(2), error="boom", logs="Traceback\n"
        )
    )
    catalog.record_step_outcome(
        StepAttempt("r1", "b", None, 1, StepStatus.SUCCEEDED, at(1), at(2), logs="out\n")
    )
    every = catalog.attempts("r1")
    assert [(a.asset, a.partition, a.attempt) for a in every] == [
        ("a", "d1", 1),
        ("a", "d1", 2),
        ("a", "d2", 1),
        ("b", None, 1),
    ]
    first, second = catalog.attempts("r1", asset="a", partition="d1")
    assert (first.status, first.error, first.logs) == (StepStatus.FAILED, "boom", "in\nTraceback\n")
    assert (second.status, second.logs) == (StepStatus.RUNNING, "in\n")
    assert len(catalog.attempts("r1", asset="a")) == 3
    (unpartitioned,) = catalog.attempts("r1", asset="b")
    assert unpartitioned.logs == "in\nout\n"
    assert catalog.attempts("r1", asset="c") == [] and catalog.attempts("nothing") == []


# ------------------------------------------------------------------- check results


def test_check_results_latest_per_check_failed_only_and_by_materialization(
    catalog: Catalog,
) -> None:
    start_run(catalog, "r1")
    for attempt, passed in ((1, False), (2, True)):
        catalog.record_step_outcome(
            StepAttempt("r1", "a", "d1", attempt, StepStatus.FAILED, at(attempt), at(attempt)),
            checks=[
                CheckRecord(
                    "a",
                    "d1",
                    "unique_id",
                    passed,
                    failing_rows=0 if passed else 2,
                    total_rows=4,
                    failing_fraction=0.0 if passed else 0.5,
                    sample="[]" if passed else '[{"id": 1}, {"id": 1}]',
                    metadata='{"column": "id"}',
                    kind="unique",
                    severity="warn",
                )
            ],
        )
    every = catalog.check_results(latest_only=False)
    assert [(r.attempt, r.passed) for r in every] == [(2, True), (1, False)]
    assert every[1].sample == '[{"id": 1}, {"id": 1}]' and every[1].metadata == '{"column": "id"}'
    assert (every[1].failing_rows, every[1].total_rows, every[1].failing_fraction) == (2, 4, 0.5)
    assert (every[1].kind, every[1].severity, every[1].created_at) == ("unique", "warn", at(1))
    assert every[0].check_id is not None and every[0].materialization_id is None
    [latest] = catalog.check_results(assets=["a"], partition="d1")
    assert latest.attempt == 2 and latest.passed
    assert catalog.check_results(failed_only=True) == []
    assert catalog.check_results(assets=[]) == []
    assert catalog.check_results(partition="d2") == []

    # checks of published data: each record carries its run, time and materialization
    mid = build(catalog, "r1", "a", "d1", "v1", when=3, attempt=3)
    catalog.start_run(Run(run_id="c1", started_at=at(5), kind="check"))
    catalog.record_checks(
        [
            CheckRecord("a", "d1", "unique_id", False, run_id="c1", created_at=at(6)),
            CheckRecord(
                "a", "d1", "not_null", True, run_id="c1", created_at=at(6), materialization_id=mid
            ),
        ]
    )
    catalog.finish_run("c1", RunStatus.FAILED, now=at(7))
    [failed] = catalog.check_results(failed_only=True)
    assert (failed.run_id, failed.attempt, failed.created_at) == ("c1", None, at(6))
    assert len(catalog.check_results(limit=1)) == 1
    by_mid = catalog.checks_of_materializations([mid, 999])
    assert list(by_mid) == [mid] and [r.check_name for r in by_mid[mid]] == ["not_null"]


def _built_with_checks(
    catalog: Catalog, run_id: str, when: float, results: dict[str, bool], *, published: bool
) -> int | None:
    """One attempt at ``a`` [d1] with its check results; a materialization when ``published``."""
    status = StepStatus.SUCCEEDED if published else StepStatus.FAILED
    step = StepAttempt(run_id, "a", "d1", 1, status, at(when), at(when + 0.5))
    mats = [Materialization("a", "d1", run_id, f"v{when}", at(when + 0.5))] if published else []
    checks = [CheckRecord("a", "d1", name, passed) for name, passed in results.items()]
    ids = catalog.record_step_outcome(step, mats, checks=checks)
    return ids[0] if ids else None


def _recheck(catalog: Catalog, run_id: str, when: float, mid: int | None, **results: bool) -> None:
    """A run of kind ``check`` re-checking materialization ``mid`` of ``a`` [d1]."""
    catalog.start_run(Run(run_id=run_id, started_at=at(when), kind="check"))
    catalog.record_checks(
        [
            CheckRecord(
                "a", "d1", name, passed, run_id=run_id, created_at=at(when), materialization_id=mid
            )
            for name, passed in results.items()
        ]
    )
    catalog.finish_run(run_id, RunStatus.SUCCEEDED, now=at(when))


def _current(catalog: Catalog) -> list[tuple[str, str, bool, str | None]]:
    return sorted(
        (r.check_name, r.source, r.passed, r.run_id)
        for r in catalog.current_check_results(assets=["a"], partition="d1")
    )


def test_current_check_results_are_the_latest_attempts_and_rechecks_of_published_data(
    catalog: Catalog,
) -> None:
    for run_id in ("r1", "r2", "r3"):
        start_run(catalog, run_id)
    m1 = _built_with_checks(catalog, "r1", 1, {"c1": True, "c2": True}, published=True)
    _recheck(catalog, "k1", 2, m1, c1=True, c2=False)
    assert _current(catalog) == [
        ("c1", "build", True, "r1"),
        ("c1", "recheck", True, "k1"),
        ("c2", "build", True, "r1"),
        ("c2", "recheck", False, "k1"),
    ]
    # a newer attempt fails a check: its results are current, next to the re-checks of
    # the data still published
    _built_with_checks(catalog, "r2", 3, {"c1": True, "c2": False}, published=False)
    _recheck(catalog, "k2", 4, m1, c2=True)
    assert _current(catalog) == [
        ("c1", "build", True, "r2"),
        ("c1", "recheck", True, "k1"),
        ("c2", "build", False, "r2"),
        ("c2", "recheck", True, "k2"),
    ]
    newest = catalog.current_check_results()
    assert [r.check_id for r in newest] == sorted((r.check_id for r in newest), reverse=True)
    # a new materialization supersedes the older attempts and every re-check of m1
    m3 = _built_with_checks(catalog, "r3", 5, {"c1": True}, published=True)
    assert _current(catalog) == [("c1", "build", True, "r3")]
    [current] = catalog.current_check_results(assets=["a"])
    assert current.materialization_id == m3 and current.attempt == 1
    # checks of a source partition (no materializations) in a build run, then re-checked
    catalog.record_checks([CheckRecord("src", "d1", "c1", False, run_id="r3", created_at=at(6))])
    [source_check] = catalog.current_check_results(assets=["src"])
    assert (source_check.source, source_check.passed, source_check.attempt) == (
        "build",
        False,
        None,
    )
    catalog.start_run(Run(run_id="k3", started_at=at(7), kind="check"))
    catalog.record_checks([CheckRecord("src", "d1", "c1", True, run_id="k3", created_at=at(7))])
    assert [(r.source, r.passed) for r in catalog.current_check_results(assets=["src"])] == [
        ("recheck", True),
        ("build", False),
    ]
    assert catalog.current_check_results(assets=[]) == []
    assert catalog.current_check_results(partition="d2") == []
    # every result of m1 is still its own: the build's and the re-checks, each marked
    assert m1 is not None
    linked = catalog.checks_of_materializations([m1])[m1]
    assert [(r.check_name, r.source, r.run_id) for r in linked] == [
        ("c1", "build", "r1"),
        ("c2", "build", "r1"),
        ("c1", "recheck", "k1"),
        ("c2", "recheck", "k1"),
        ("c2", "recheck", "k2"),
    ]
    assert {r.source for r in catalog.check_results(latest_only=False)} == {"build", "recheck"}


# ------------------------------------------------------------------------- leases


def test_leases_are_acquired_renewed_released_and_expire(catalog: Catalog) -> None:
    start_run(catalog, "r1")
    start_run(catalog, "r2")
    now = at(0)
    items = [("a", "d1"), ("a", "d2"), ("dim", None), ("a", "d1")]
    assert catalog.acquire_leases("r1", items, now=now, ttl_s=60) == [
        ("a", "d1"),
        ("a", "d2"),
        ("dim", None),
    ]
    # r2 gets only what r1 does not hold; r1 asking again renews its own
    assert catalog.acquire_leases("r2", [("a", "d2"), ("a", "d3")], now=now, ttl_s=60) == [
        ("a", "d3")
    ]
    assert catalog.acquire_leases("r1", [("a", "d1")], now=now, ttl_s=60) == [("a", "d1")]
    assert catalog.lease_holders([("a", "d1"), ("a", "d3"), ("b", "x")], now=now) == {
        ("a", "d1"): "r1",
        ("a", "d3"): "r2",
    }
    # r1 renews; once r2's lease expires r1 may take its partition over
    later = at(90)
    assert catalog.renew_leases("r1", now=at(50), ttl_s=60) == 3
    assert catalog.lease_holders([("a", "d3")], now=later) == {}
    assert catalog.acquire_leases("r1", [("a", "d3")], now=later, ttl_s=60) == [("a", "d3")]
    assert catalog.release_leases("r1", [("a", "d3"), ("dim", None)]) == 2
    assert catalog.lease_holders([("dim", None)], now=later) == {}
    assert catalog.release_leases("r1") == 2
    assert catalog.release_leases("r1") == 0
    with pytest.raises(CatalogError, match="no run"):
        catalog.acquire_leases("ghost", [("a", "d1")], now=now, ttl_s=60)
    with pytest.raises(CatalogError):
        catalog.acquire_leases("r1", [("a", "d1")], now=now, ttl_s=0)


def test_leases_of_finished_or_dead_runs_are_free(catalog: Catalog) -> None:
    now = T0 + timedelta(days=1)
    catalog.start_run(Run(run_id="done", started_at=now, pid=os.getpid()))
    catalog.start_run(Run(run_id="silent", started_at=now, host="elsewhere", pid=1))
    catalog.start_run(Run(run_id="next", started_at=now, pid=os.getpid()))
    assert catalog.acquire_leases("done", [("a", "d1")], now=now, ttl_s=600) == [("a", "d1")]
    assert catalog.acquire_leases("silent", [("a", "d2")], now=now, ttl_s=600) == [("a", "d2")]
    catalog.finish_run("done", RunStatus.SUCCEEDED, now=now)
    catalog.mark_dead_runs(now=now + timedelta(days=1))  # silent for a day: crashed
    later = now + timedelta(days=1)
    assert catalog.lease_holders([("a", "d1"), ("a", "d2")], now=now) == {}
    got = catalog.acquire_leases("next", [("a", "d1"), ("a", "d2")], now=later, ttl_s=600)
    assert got == [("a", "d1"), ("a", "d2")]


def test_a_lease_reader_says_whether_a_run_still_holds_a_lease(catalog: Catalog) -> None:
    start_run(catalog, "r1")
    start_run(catalog, "r2")
    catalog.start_run(Run(run_id="dead", started_at=at(0), host="elsewhere", pid=1))
    # opened from a pickled factory, as a worker process does
    reader = pickle.loads(pickle.dumps(catalog.lease_reader_factory()))()
    assert isinstance(reader, LeaseReader)
    item = ("a", "d1")
    try:
        assert reader.lease_held("r1", item) is not None  # never leased
        catalog.acquire_leases("r1", [item, ("dim", None)], now=at(0), ttl_s=60)
        assert reader.lease_held("r1", item) is None
        assert reader.lease_held("r1", ("dim", None)) is None
        assert reader.lease_held("r2", item) == "run r1 holds its lease now"
        # expired, but nobody took it over: still r1's (no other run can be building it)
        catalog.renew_leases("r1", now=at(-120), ttl_s=60)
        assert reader.lease_held("r1", item) is None
        # r2 takes the expired lease over: r1 no longer holds it, r2 does
        assert catalog.acquire_leases("r2", [item], now=at(10), ttl_s=60) == [item]
        assert reader.lease_held("r1", item) == "run r2 holds its lease now"
        assert reader.lease_held("r2", item) is None
        catalog.finish_run("r2", RunStatus.FAILED, now=at(20))
        assert reader.lease_held("r2", item) == "run r2 is failed"
        catalog.release_leases("r2")
        assert "no run holds its lease" in (reader.lease_held("r2", item) or "")
        # a run whose coordinator fell silent (crashed) holds nothing
        assert catalog.acquire_leases("dead", [("b", "x")], now=at(30), ttl_s=60) == [("b", "x")]
        assert "dead" in catalog.mark_dead_runs(now=at(30) + timedelta(days=1))
        assert reader.lease_held("dead", ("b", "x")) == "run dead is crashed"
    finally:
        reader.close()


# ------------------------------------------------------------------ dynamic partitions


def test_dynamic_partitions_add_get_delete_and_persist(connect: Connect) -> None:
    with connect() as first:
        keys = first.dynamic_partitions
        assert keys.get("customers") == []
        assert keys.add("customers", ["acme", "globex", "acme"]) == ["acme", "globex"]
        assert keys.add("customers", ["acme", "initech"]) == ["initech"]
        assert keys.add("tenants", ["t1"]) == ["t1"]
    with connect() as second:
        keys = second.dynamic_partitions
        assert keys.get("customers") == ["acme", "globex", "initech"]  # in the order added
        keys.delete("customers", ["globex", "absent"])
        with pytest.raises(PartitionKeyError):
            keys.add("customers", ["fine", "../etc"])
    with connect() as third:
        assert third.dynamic_partitions.get("customers") == ["acme", "initech"]
        assert third.dynamic_partitions.get("tenants") == ["t1"]
        assert third.dynamic_partitions.get("other") == []


HOSTILE_KEYS = [
    "../../evil",
    "..",
    "/etc/passwd",
    "a/b",
    "a\\b",
    ".hidden",
    "",
    "a b",
    "a|b",
    "x" * 201,
    "caf\u00e9",
    "a\x00b",
    "k'; DROP TABLE runs; --",
]


@pytest.mark.parametrize("key", HOSTILE_KEYS)
def test_dynamic_partitions_refuse_a_hostile_key_naming_the_definition(
    catalog: Catalog, key: str
) -> None:
    keys = catalog.dynamic_partitions
    keys.add("files", ["ok.csv"])
    with pytest.raises(PartitionKeyError, match=r"for DynamicPartitions\(files\)") as refused:
        keys.add("files", ["fine.csv", key])
    assert repr(key) in str(refused.value)
    assert keys.get("files") == ["ok.csv"]  # the whole batch refused


# ------------------------------------------------------------- pools and alert states


def test_pool_slots_are_counted_per_pool_renewed_released_and_expire(catalog: Catalog) -> None:
    start_run(catalog, "r1")
    start_run(catalog, "r2")
    take = catalog.acquire_pool_slot
    assert take("r1", "api", 2, ("a", "d1"), now=at(0), ttl_s=60)
    assert take("r1", "api", 2, ("a", "d1"), now=at(0), ttl_s=60)  # held: kept, not doubled
    assert take("r2", "api", 2, ("b", None), now=at(0), ttl_s=60)
    assert not take("r1", "api", 2, ("a", "d2"), now=at(0), ttl_s=60)
    assert take("r1", "other", 1, ("c", None), now=at(0), ttl_s=60)  # pools are apart
    assert catalog.pool_holders("api", now=at(0)) == [("r1", "a", "d1"), ("r2", "b", "")]

    # r1's heartbeat renews its slots with its leases; r2's slot expires
    catalog.renew_leases("r1", now=at(50), ttl_s=60)
    assert catalog.pool_holders("api", now=at(90)) == [("r1", "a", "d1")]
    assert take("r1", "api", 2, ("a", "d2"), now=at(90), ttl_s=60)

    assert catalog.release_pool_slots("r1", [("a", "d1")]) == 1
    assert catalog.pool_holders("api", now=at(90)) == [("r1", "a", "d2")]
    assert catalog.release_pool_slots("r1") == 2
    assert catalog.pool_holders("api", now=at(90)) == []
    with pytest.raises(CatalogError):
        take("r1", "api", 0, ("a", "d1"), now=at(0), ttl_s=60)


def test_slots_of_finished_or_dead_runs_are_free(catalog: Catalog) -> None:
    now = T0 + timedelta(days=1)
    catalog.start_run(Run(run_id="done", started_at=now, pid=os.getpid()))
    catalog.start_run(Run(run_id="silent", started_at=now, host="elsewhere", pid=1))
    catalog.start_run(Run(run_id="next", started_at=now, pid=os.getpid()))
    assert catalog.acquire_pool_slot("done", "api", 2, ("a", "d1"), now=now, ttl_s=600)
    assert catalog.acquire_pool_slot("silent", "api", 2, ("a", "d2"), now=now, ttl_s=600)
    catalog.finish_run("done", RunStatus.SUCCEEDED, now=now)
    later = now + timedelta(days=1)
    catalog.mark_dead_runs(now=later)  # silent for a day: crashed
    assert catalog.pool_holders("api", now=now) == []
    assert catalog.acquire_pool_slot("next", "api", 1, ("b", None), now=later, ttl_s=600)


def test_freshness_alert_states_change_once_per_transition(connect: Connect) -> None:
    with connect() as first, connect() as second:
        change = first.change_freshness_alert_state
        assert not change("orders", False, status="fresh", now=at(0))  # never violated
        assert change("orders", True, status="late", now=at(1))
        assert not second.change_freshness_alert_state("orders", True, status="stale", now=at(2))
        assert second.freshness_alert_states() == {"orders": True}
        assert second.change_freshness_alert_state("orders", False, status="fresh", now=at(3))
        assert not change("orders", False, status="fresh", now=at(4))
        assert first.freshness_alert_states() == {"orders": False}


# ------------------------------------------------------------------ daemon records


def test_prune_ticks_deletes_only_old_quiet_evaluations(catalog: Catalog) -> None:
    records = catalog.automation

    def tick(name: str, hours: int, status: TickStatus, *, files: tuple[str, ...] = ()) -> int:
        moment = at(hours * 3600)
        record = TickRecord(
            kind=TickKind.SENSOR, name=name, tick_at=moment, evaluated_at=moment, status=status
        )
        return records.record_tick(record, files=files)

    quiet_old = [tick("poll", h, TickStatus.NOTHING_TO_DO) for h in range(5)]
    launched = tick("poll", 5, TickStatus.SUCCEEDED)
    failed = tick("poll", 6, TickStatus.ERROR)
    with_file = tick("files", 0, TickStatus.NOTHING_TO_DO, files=("a.csv",))
    newest_of_files = tick("files", 1, TickStatus.NOTHING_TO_DO)
    lone_newest = tick("rare", 0, TickStatus.NOTHING_TO_DO)
    recent = tick("poll", 20, TickStatus.NOTHING_TO_DO)

    assert records.prune_ticks(before=at(10 * 3600), batch=2) == len(quiet_old)
    kept = {t.id for t in records.ticks(limit=100)}
    assert kept == {launched, failed, with_file, newest_of_files, lone_newest, recent}
    assert records.handled_files("files", ["a.csv"]) == {"a.csv"}
    assert records.prune_ticks(before=at(10 * 3600)) == 0
