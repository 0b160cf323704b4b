"""One asset at a glance: its partitions by state, why the stale ones are stale, and
its freshness, from one read-only plan (the ``partita ui`` asset page).

``partita status ASSET``, ``partita freshness ASSET`` and ``partita plan +ASSET``
each plan the asset with its upstream assets; :func:`asset_overview` plans once
and hands the same state and plan to :mod:`partita.freshness`, so the three
answers agree and an asset of ten years of daily partitions costs one plan.
Nothing is written and the catalog is never created (a project that never ran
reads as all missing). ``now`` is read here when the caller gives none. Config is
the declared defaults: an asset whose config needs a value is judged without
comparing its config, and says so (:mod:`partita.api.config_notes`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from partita.api.config_notes import config_notes
from partita.api.freshness import freshness_report, planned_partitions
from partita.api.planning import plan_project
from partita.api.project import Project
from partita.freshness import AssetFreshness, AssetStatus, PlannedPartitions, evaluate, status
from partita.keys import AssetKey
from partita.partitions import DynamicPartitionsStore
from partita.planner import Blocked, PlanStep

__all__ = ["AssetOverview", "asset_overview"]


@dataclass(frozen=True)
class AssetOverview:
    """One asset's state at ``now``.

    Attributes:
        asset: the asset (or source) key.
        now: when it was judged (UTC).
        status: its partitions as fresh / stale / missing / failed.
        freshness: its freshness policy's verdict.
        step: the partitions the plan builds, with the reasons per partition
            (``None``: nothing to build).
        blocked: the partitions the plan cannot build, and what they wait for.
        planned: the plan's partitions and reasons in words (the status's view).
        dynamic: the dynamic partition keys the plan saw.
    """

    asset: AssetKey
    now: datetime
    status: AssetStatus
    freshness: AssetFreshness
    step: PlanStep | None
    blocked: tuple[Blocked, ...]
    planned: PlannedPartitions | None
    dynamic: DynamicPartitionsStore


def asset_overview(
    project: Project, asset: str | AssetKey, *, now: datetime | None = None
) -> AssetOverview:
    """Plan ``+asset`` read-only once and judge the asset's status and freshness on it.

    Raises:
        UnknownAssetError: no such asset (with close names).
    """
    key = project.graph.resolve(asset)
    moment = (datetime.now(UTC) if now is None else now).astimezone(UTC)
    planned = plan_project(
        project, f"+{key}", now=moment, read_only=True, missing_config="not_compared"
    )
    by_asset = planned_partitions(planned.plan)
    selection = str(key)
    notes = config_notes(project, planned, [key], given=False, now=moment)
    statuses = status(
        project.graph,
        planned.state,
        by_asset,
        moment,
        selection,
        dynamic=planned.dynamic,
        config_notes=notes,
    )
    policy = project.graph.spec(key).freshness
    if policy is not None and policy.loaded_at is not None:
        # reading the loaded_at column goes through the asset's store: the api's job
        judged = freshness_report(project, selection, now=moment)
    else:
        judged = evaluate(
            project.graph,
            planned.state,
            by_asset,
            moment,
            selection,
            dynamic=planned.dynamic,
            config_notes=notes,
        )
    steps = [s for s in planned.plan.steps if s.asset == key]
    return AssetOverview(
        asset=key,
        now=moment,
        status=statuses.assets[0],
        freshness=judged.assets[0],
        step=steps[0] if steps else None,
        blocked=tuple(b for b in planned.plan.blocked if b.asset == key),
        planned=by_asset.get(key),
        dynamic=planned.dynamic,
    )
