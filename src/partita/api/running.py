"""Materializing from Python and for ``partita materialize``: plan, then run.

:func:`materialize` plans the selection (observing sources, validating the
run-time config, see :mod:`partita.api.planning`), then hands the plan to the
runner with the project's catalog and stores. Nothing stale: nothing runs and
no run is recorded (``RunResult.status == "nothing_to_do"``).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from partita.api.planning import CatalogDynamicKeys, plan_project
from partita.api.project import Project
from partita.events import Subscriber
from partita.runner import (
    AuditHook,
    CancelToken,
    ProjectRef,
    RunOptions,
    RunResult,
    asset_checks,
    run_plan,
)

__all__ = [
    "CancelToken",
    "RunResult",
    "materialize",
    "project_ref",
]


def project_ref(project: Project) -> ProjectRef:
    """How worker processes load ``project`` (its definitions' origin and folders)."""
    return ProjectRef(
        origin=project.loaded.origin,
        root=str(project.loaded.root),
        data_path=str(project.data_path),
        sys_path=tuple(sys.path),
    )


def materialize(
    project: Project,
    selection: str | None = None,
    partitions: str | None = None,
    *,
    force: bool = False,
    config: Mapping[str, Any] | None = None,
    executor: str = "process",
    max_workers: int | None = None,
    now: datetime | None = None,
    subscribers: Sequence[Subscriber] = (),
    cancel: CancelToken | None = None,
    audit: AuditHook | None = asset_checks,
    lease_wait_s: float = 300.0,
    handle_signals: bool = True,
) -> RunResult:
    """Build the stale partitions of ``selection`` and record them in the catalog.

    Args:
        project: a loaded project (:func:`partita.api.load_project`).
        selection: an asset selection (``None``: every asset).
        partitions: a key or an inclusive range ``A..B`` (a backfill).
        force: rebuild the selected partitions even when they are up to date.
        config: run-time config values (shared fields, or a table per asset).
        executor: ``process`` (default), ``thread`` or ``inprocess``.
        max_workers: tasks at once (default: the number of CPUs).
        now: the planning time (default: now, UTC).
        subscribers: who gets the run's events (:mod:`partita.events`), e.g. a
            display; each on its own thread, never slowing or failing the run.
        cancel: a token another thread may set to stop the run.
        audit: checks run on staged data (default: every check of each asset).
        lease_wait_s: how long to wait for a partition another run is building.
        handle_signals: Ctrl-C / SIGTERM cancel the run (main thread only).

    Returns:
        The run's result: ``exit_code`` is 1 when anything failed.
    """
    with project.open_catalog() as catalog:
        planned = plan_project(
            project, selection, partitions, force=force, config=config, now=now, catalog=catalog
        )
        options = RunOptions(
            executor=executor,
            max_workers=max_workers,
            audit=audit,
            lease_wait_s=lease_wait_s,
            handle_signals=handle_signals,
            selection=() if selection is None else (selection,),
            partitions=() if partitions is None else (partitions,),
            config_text=json.dumps(dict(config or {}), sort_keys=True, default=str),
            configs={name: model.model_dump_json() for name, model in planned.configs.items()},
        )
        return run_plan(
            planned.plan,
            project.graph,
            catalog,
            data_path=project.data_path,
            project=project_ref(project),
            options=options,
            subscribers=subscribers,
            cancel=cancel,
            dynamic=CatalogDynamicKeys(catalog),
        )
