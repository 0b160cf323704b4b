"""The planner: which partitions are stale, and why (pure; DESIGN §2).

``plan(graph, state, request, now) -> Plan``: the catalog hands in a state
snapshot, the planner does no IO, and the Plan is a frozen value that can be
printed, serialized and tested without running anything.
"""

from partita.planner.core import plan
from partita.planner.explain import Why, explain, split_target
from partita.planner.plan import (
    Blocked,
    FailedObservation,
    NonBreakingChange,
    PartitionRequest,
    Plan,
    PlanRequest,
    PlanStep,
    Reason,
    StepReason,
)
from partita.planner.requested import assets_needed, source_partitions, targets

__all__ = [
    "Blocked",
    "FailedObservation",
    "NonBreakingChange",
    "PartitionRequest",
    "Plan",
    "PlanRequest",
    "PlanStep",
    "Reason",
    "StepReason",
    "Why",
    "assets_needed",
    "explain",
    "plan",
    "source_partitions",
    "split_target",
    "targets",
]
