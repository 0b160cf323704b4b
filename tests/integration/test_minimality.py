"""Minimality as a property: what runs is exactly what really changed, no more, no less.

For a random DAG of 2-8 assets (daily, shifted daily, hourly, weekly, static,
dynamic, multi-dimensional and unpartitioned definitions; identity, windows,
cross-grain time windows, all (waiting for every partition, or reading the ones
that exist), last, static-map and ``Dimension`` mappings)
and a random sequence of changes (source data, code with or without an
effect on the output, injected failures and their healing, dynamic partition
keys added and deleted, forced rebuilds, partial selections), every
``materialize`` executes user code for exactly the (asset, partition) pairs
an independent oracle says must run (:mod:`tests.minimality_oracle`; the
projects come from :mod:`tests.minimality_support`). Real ``defs.py`` files,
a real SQLite catalog and Parquet store in a temporary folder, the
in-process executor.
"""

from __future__ import annotations

import json
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from hypothesis import HealthCheck, event, given, settings

from partita import partitions
from partita.api import (
    Project,
    add_dynamic_partitions,
    delete_dynamic_partitions,
    load_project,
    materialize,
)
from partita.catalog.sqlite import SQLiteCatalog
from partita.partitions import InMemoryDynamicPartitionsStore
from tests.minimality_oracle import Oracle
from tests.minimality_support import (
    DEFINITIONS,
    INITIAL_DYNAMIC_KEYS,
    PARTS,
    AssetDraw,
    Edge,
    Scenario,
    Step,
    defs_source,
    executions,
    scenarios,
)

NOW = datetime(2025, 2, 1, tzinfo=UTC)


def _request_args(request: tuple[object, ...]) -> tuple[str | None, str | None, bool]:
    """(selection, partitions, force) for :func:`partita.api.materialize`."""
    kind = request[0]
    if kind == "all":
        return None, None, False
    if kind == "upstream":
        return f"+{request[1]}", None, False
    key = request[2]
    return str(request[1]), None if key is None else str(key), kind == "force"


def _executed_attempts(catalog_path: Path, run_id: str | None) -> list[tuple[str, str]]:
    """The (asset, partition) attempts of a run that executed user code."""
    if run_id is None:
        return []
    with SQLiteCatalog(catalog_path) as catalog:
        attempts = catalog.attempts(run_id)
    return sorted(
        (a.asset, a.partition or "") for a in attempts if str(a.status) in ("succeeded", "failed")
    )


def _change_dynamic_keys(project: Project, change: tuple[object, ...]) -> None:
    """Apply an ``add_key`` / ``delete_key`` change to the catalog, as a user would."""
    if change[0] == "add_key":
        add_dynamic_partitions(project, "files", [str(change[1])])
    elif change[0] == "delete_key":
        delete_dynamic_partitions(project, "files", [str(change[1])])


def check_scenario(scenario: Scenario, folder: Path) -> None:
    """Run the initial build and every step; compare each run with the oracle."""
    code = {a.name: (0, 0) for a in scenario.assets}
    oracle = Oracle(scenario, dict(code))
    steps = [(("none",), scenario.first_request), *((s.change, s.request) for s in scenario.steps)]
    written_code: dict[str, tuple[int, int]] | None = None
    log_seen = 0
    for number, (change, request) in enumerate(steps):
        oracle.apply(change)
        if oracle.code != written_code:
            (folder / "defs.py").write_text(defs_source(scenario, oracle.code))
            written_code = dict(oracle.code)
        (folder / "control.json").write_text(json.dumps(oracle.control()))
        project = load_project(file=folder / "defs.py")
        if number == 0 and scenario.dynamic:
            add_dynamic_partitions(project, "files", list(INITIAL_DYNAMIC_KEYS))
        _change_dynamic_keys(project, change)
        selection, partitions, force = _request_args(request)
        result = materialize(
            project,
            selection,
            partition_key=partitions,
            force=force,
            executor="inprocess",
            now=NOW,
            handle_signals=False,
        )
        expected = oracle.run(request)
        calls = executions(folder)
        ran = calls[log_seen:]
        log_seen = len(calls)
        recorded = _executed_attempts(project.catalog_path, result.run_id)
        context = (
            f"\n{scenario.describe()}\nat step {number}: change={change} request={request}\n"
            f"summary: {result.summary_lines()}"
        )
        assert len(ran) == len(set(ran)), f"a partition ran twice: {sorted(ran)}{context}"
        more = sorted(set(ran) - expected)
        fewer = sorted(expected - set(ran))
        assert not more and not fewer, (
            f"ran but should not have: {more}\nshould have run but did not: {fewer}{context}"
        )
        assert recorded == sorted(ran), f"catalog attempts {recorded} != calls {ran}{context}"


PROPERTY = settings(
    max_examples=30,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def _record_events(scenario: Scenario) -> None:
    """What the example exercises (``--hypothesis-show-statistics`` lists it)."""
    for drawn in scenario.assets:
        event(f"definition {drawn.definition}")
        for edge in drawn.edges:
            event(f"mapping {edge.mapping}")
    for step in scenario.steps:
        event(f"change {step.change[0]}")


def _check(scenario: Scenario) -> None:
    _record_events(scenario)
    with tempfile.TemporaryDirectory(prefix="partita-minimality-") as tmp:
        check_scenario(scenario, Path(tmp))


@PROPERTY
@given(scenario=scenarios())
def test_what_runs_is_exactly_what_changed(scenario: Scenario) -> None:
    """Property: after every change, executed partitions == the oracle's set."""
    _check(scenario)


@PROPERTY
@given(scenario=scenarios(menu=("days", "days_late", "hours", "weeks", "multi")))
def test_what_runs_is_exactly_what_changed_across_grains(scenario: Scenario) -> None:
    """The same over hourly, daily, weekly and ``date|region`` assets only (time windows
    across grains, ``Dimension`` over dates)."""
    _check(scenario)


@PROPERTY
@given(scenario=scenarios(menu=("files", "abc", "multi", "none")))
def test_what_runs_is_exactly_what_changed_with_dynamic_keys(scenario: Scenario) -> None:
    """The same over dynamic, static, ``date|region`` and unpartitioned assets, with
    dynamic keys added and deleted between runs (``Dimension`` over regions)."""
    _check(scenario)


@settings(PROPERTY, max_examples=60)
@given(scenario=scenarios(partial_start=True))
def test_what_runs_is_exactly_what_changed_after_a_partial_first_run(scenario: Scenario) -> None:
    """The same when the first run builds only part of the project, so later runs meet
    upstream partitions that were never built: readers that wait for every partition
    are blocked, readers through ``AllPartitions(allow_missing=True)`` read what exists."""
    _check(scenario)


def test_a_reader_of_what_exists_runs_on_a_partial_history_and_again_when_it_grows(
    tmp_path: Path,
) -> None:
    """The case the property above is there for, spelled out: one day built, the reader
    through ``AllPartitions(allow_missing=True)`` runs on it (the one that waits for
    every day is blocked), and runs again when another day is built."""
    scenario = Scenario(
        assets=(
            AssetDraw("a0", "days", ()),
            AssetDraw("a1", "none", (Edge("a0", "all_existing"),)),
            AssetDraw("a2", "none", (Edge("a0", "all"),)),
        ),
        steps=(
            Step(("none",), ("only", "a1", None)),
            Step(("none",), ("only", "a2", None)),
            Step(("none",), ("only", "a0", "2025-01-05")),
            Step(("none",), ("only", "a1", None)),
            Step(("data", "a0", "2025-01-03", 1), ("all",)),
        ),
        first_request=("only", "a0", "2025-01-03"),
    )
    check_scenario(scenario, tmp_path)


def test_the_menu_describes_its_definitions() -> None:
    """The oracle's hand-written keys are the keys the definitions have at ``NOW``."""
    namespace = vars(partitions)
    for name, kind in [*DEFINITIONS.items(), *PARTS.items()]:
        definition = eval(kind.expression, namespace)  # the menu's own source
        if definition is None:
            assert kind.fixed == ("",)
            continue
        store = InMemoryDynamicPartitionsStore({"files": ["k2", "a"]})
        assert tuple(definition.keys(NOW, dynamic=store)) == kind.keys(["k2", "a"]), name
