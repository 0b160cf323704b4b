"""Catalog records and the catalog protocols.

The catalog is the system of record of Partita (DESIGN.md section 5). This
package holds what it records as frozen values (:mod:`~partita.records.values`:
runs, step attempts, materializations with their exact inputs, check results,
observations of source assets, and the partition hashes), the bulk
:class:`PlannerState` handed to the pure planner and freshness
(:mod:`~partita.records.state`), the :class:`LineageGraph` of a
materialization (:mod:`~partita.records.lineage`), and the protocols every
catalog implements (:mod:`~partita.records.protocols`):
:class:`CatalogReader`, :class:`CatalogWriter` and :class:`Catalog` (both), and
the :class:`LeaseReader` a worker's publish fence asks.
"""

from __future__ import annotations

from partita.records.automation import (
    AutomationRecords,
    DaemonHolder,
    TickKind,
    TickRecord,
    TickStatus,
)
from partita.records.lineage import (
    Direction,
    EdgeStatus,
    LineageEdge,
    LineageGraph,
    LineageNode,
)
from partita.records.protocols import (
    Catalog,
    CatalogReader,
    CatalogWriter,
    LeaseItem,
    LeaseReader,
)
from partita.records.state import (
    EDGES_SCHEMA,
    FAILED_SCHEMA,
    INPUTS_SCHEMA,
    LATEST_SCHEMA,
    OBSERVATIONS_SCHEMA,
    PlannerState,
)
from partita.records.values import (
    DRIFT_ERROR_PREFIX,
    FAILED_STEP_STATUSES,
    FINISHED_STEP_STATUSES,
    UNPARTITIONED,
    CheckRecord,
    Input,
    Materialization,
    Observation,
    Run,
    RunStatus,
    RunSummary,
    StepAttempt,
    StepRecord,
    StepStatus,
    combine_hashes,
    partition_column,
    partition_hash,
    partition_value,
)

__all__ = [
    "AutomationRecords",
    "DaemonHolder",
    "TickKind",
    "TickRecord",
    "TickStatus",
    "DRIFT_ERROR_PREFIX",
    "EDGES_SCHEMA",
    "FAILED_SCHEMA",
    "FAILED_STEP_STATUSES",
    "FINISHED_STEP_STATUSES",
    "INPUTS_SCHEMA",
    "LATEST_SCHEMA",
    "OBSERVATIONS_SCHEMA",
    "UNPARTITIONED",
    "Catalog",
    "CatalogReader",
    "CatalogWriter",
    "CheckRecord",
    "Direction",
    "EdgeStatus",
    "Input",
    "LeaseItem",
    "LeaseReader",
    "LineageEdge",
    "LineageGraph",
    "LineageNode",
    "Materialization",
    "Observation",
    "PlannerState",
    "Run",
    "RunStatus",
    "RunSummary",
    "StepAttempt",
    "StepRecord",
    "StepStatus",
    "combine_hashes",
    "partition_column",
    "partition_hash",
    "partition_value",
]
