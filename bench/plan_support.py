"""Pieces W4 and W8 (planning a wide graph) share: filling the catalog, changing one
partition with the exact cone the next plan must hold, and the peak memory."""

from __future__ import annotations

import resource
from collections.abc import Callable, Iterator
from datetime import datetime

from partita.catalog.sqlite import SQLiteCatalog
from partita.graph import AssetGraph
from partita.keys import AssetKey
from partita.planner import Plan
from partita.records import Input, Materialization

__all__ = ["change_one", "fill", "rss_mb"]


def rss_mb() -> float:
    """This process's peak resident memory so far, in MiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def fill(
    graph: AssetGraph, days: list[str], run_id: str, now: datetime
) -> Iterator[tuple[Materialization, list[Input]]]:
    """Every partition of every asset, built from its inputs of the same day."""
    for key in graph.keys:
        ups = [str(e.upstream) for e in graph.upstream_edges(key)]
        for day in days:
            yield (
                Materialization(str(key), day, run_id, f"{key}@{day}", now, code_version="1"),
                [Input(up, day, f"{up}@{day}") for up in ups],
            )


def change_one(
    catalog: SQLiteCatalog, graph: AssetGraph, changed: AssetKey, day: str, now: datetime
) -> tuple[set[AssetKey], Callable[[Plan], None]]:
    """Record new data for ``changed`` on ``day``; its downstream cone, and the check
    that a plan holds exactly that cone, on that day only."""
    catalog.record_materializations_bulk(
        [(Materialization(str(changed), day, "fill", "changed", now, code_version="1"), [])],
        upstream_assets={str(changed): []},
    )
    cone = graph.descendants(changed)

    def exact_cone(result: Plan) -> None:
        planned = {s.asset for s in result.steps}
        assert planned == cone, f"planned {len(planned)} assets, the cone has {len(cone)}"
        for step in result.steps:
            assert list(step.partitions) == [day], (step.asset, step.partitions.to_text())

    return cone, exact_cone
