"""Minimality as a property: what runs is exactly what really changed, no more, no less.

For a random DAG of 2-8 assets (daily, shifted daily, static and unpartitioned
definitions; identity, window, all, last and static-map mappings) and a random
sequence of changes (source data, code with or without an effect on the
output, injected failures and their healing, forced rebuilds, partial
selections), every ``materialize`` executes user code for exactly the
(asset, partition) pairs an independent oracle says must run
(:mod:`tests.minimality_support`). Real ``defs.py`` files, a real SQLite
catalog and Parquet store in a temporary folder, the in-process executor.
"""

from __future__ import annotations

import json
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from hypothesis import HealthCheck, given, settings

from partita.api import load_project, materialize
from partita.catalog.sqlite import SQLiteCatalog
from tests.minimality_support import Oracle, Scenario, defs_source, executions, scenarios

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


def check_scenario(scenario: Scenario, folder: Path) -> None:
    """Run the initial build and every step; compare each run with the oracle."""
    code = {a.name: (0, 0) for a in scenario.assets}
    oracle = Oracle(scenario, dict(code))
    steps = [(("none",), ("all",)), *((s.change, s.request) for s in scenario.steps)]
    written_code: dict[str, tuple[int, int]] | None = None
    log_seen = 0
    for number, (change, request) in enumerate(steps):
        oracle.apply(change)
        if oracle.code != written_code:
            (folder / "defs.py").write_text(defs_source(scenario, oracle.code))
            written_code = dict(oracle.code)
        (folder / "control.json").write_text(json.dumps(oracle.control()))
        project = load_project(file=folder / "defs.py")
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


@settings(
    max_examples=30,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(scenario=scenarios())
def test_what_runs_is_exactly_what_changed(scenario: Scenario) -> None:
    """Property: after every change, executed partitions == the oracle's set."""
    with tempfile.TemporaryDirectory(prefix="partita-minimality-") as tmp:
        check_scenario(scenario, Path(tmp))
