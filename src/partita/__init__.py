"""Partita: asset-centric, data-aware orchestration.

Everything a project declares with is importable from here::

    from partita import asset, Definitions, DailyPartitions, In, TimeWindow

and so are the two calls that test a pipeline in memory (pytest, a notebook)::

    result = partita.materialize(defs, partition_key="2025-01-07", home=tmp_path)
    assert result.success
    plan = partita.plan(defs, home=tmp_path)

Only the names in ``__all__`` are public API. They are imported on first
use (PEP 562), so ``import partita`` and the CLI stay fast: the IO layer and
its pandas/pyarrow imports load only when a store is used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from partita.lazy import lazy_module

if TYPE_CHECKING:
    from partita.alert_targets import Alert, email, env, webhook
    from partita.api.planning import plan
    from partita.api.running import (
        ExecutorKind,
        MaterializeResult,
        RunOutcome,
        TaskState,
        materialize,
    )
    from partita.assets import AssetSpec, In, asset
    from partita.checks import (
        CheckDefinition,
        CheckResult,
        CheckSpec,
        accepted_values,
        check,
        expression,
        in_range,
        not_null,
        relationship,
        row_count,
        schema,
        unique,
    )
    from partita.context import AssetContext
    from partita.definitions import Definitions
    from partita.errors import (
        CatalogError,
        CheckFailed,
        ConfigError,
        CycleError,
        DefinitionError,
        PartitaError,
        PartitionKeyError,
        PlanError,
        SelectionError,
        StorageError,
        UnknownAssetError,
        UnreachableError,
        UserCodeError,
    )
    from partita.executor_config import DaskCluster
    from partita.graph import AssetGraph
    from partita.io import DuckDBStore, ParquetStore
    from partita.keys import AssetKey, AssetPartition
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
        DailyPartitions,
        DynamicPartitions,
        HourlyPartitions,
        MonthlyPartitions,
        MultiPartitions,
        PartitionsDefinition,
        PartitionSubset,
        StaticPartitions,
        TimeWindowRange,
        WeeklyPartitions,
    )
    from partita.policies import Freshness, RetryPolicy
    from partita.schedules import Schedule
    from partita.sensors import (
        Eager,
        FileSensor,
        RunRequest,
        SensorContext,
        SensorResult,
        SourceSensor,
        sensor,
    )
    from partita.sources import source
    from partita.sql import sql_asset

from partita.release import __version__

_LAZY: dict[str, str] = {
    "Alert": "partita.alert_targets",
    "AllPartitions": "partita.mappings",
    "AssetContext": "partita.context",
    "AssetGraph": "partita.graph",
    "AssetKey": "partita.keys",
    "AssetPartition": "partita.keys",
    "AssetSpec": "partita.assets",
    "CatalogError": "partita.errors",
    "CheckDefinition": "partita.checks",
    "CheckFailed": "partita.errors",
    "CheckResult": "partita.checks",
    "CheckSpec": "partita.checks",
    "ConfigError": "partita.errors",
    "CycleError": "partita.errors",
    "DailyPartitions": "partita.partitions",
    "DaskCluster": "partita.executor_config",
    "DefinitionError": "partita.errors",
    "Definitions": "partita.definitions",
    "Dimension": "partita.mappings",
    "DuckDBStore": "partita.io",
    "DynamicPartitions": "partita.partitions",
    "ExecutorKind": "partita.api.running",
    "Freshness": "partita.policies",
    "HourlyPartitions": "partita.partitions",
    "Identity": "partita.mappings",
    "In": "partita.assets",
    "LastPartition": "partita.mappings",
    "MaterializeResult": "partita.api.running",
    "MonthlyPartitions": "partita.partitions",
    "MultiPartitions": "partita.partitions",
    "ParquetStore": "partita.io",
    "PartitaError": "partita.errors",
    "PartitionKeyError": "partita.errors",
    "PartitionMapping": "partita.mappings",
    "PartitionSubset": "partita.partitions",
    "PartitionsDefinition": "partita.partitions",
    "PlanError": "partita.errors",
    "RetryPolicy": "partita.policies",
    "RunOutcome": "partita.api.running",
    "SelectionError": "partita.errors",
    "StaticMap": "partita.mappings",
    "StaticPartitions": "partita.partitions",
    "StorageError": "partita.errors",
    "TaskState": "partita.api.running",
    "TimeWindow": "partita.mappings",
    "TimeWindowRange": "partita.partitions",
    "UnknownAssetError": "partita.errors",
    "UnreachableError": "partita.errors",
    "UserCodeError": "partita.errors",
    "WeeklyPartitions": "partita.partitions",
    "accepted_values": "partita.checks",
    "asset": "partita.assets",
    "check": "partita.checks",
    "email": "partita.alert_targets",
    "env": "partita.alert_targets",
    "expression": "partita.checks",
    "in_range": "partita.checks",
    "materialize": "partita.api.running",
    "not_null": "partita.checks",
    "plan": "partita.api.planning",
    "relationship": "partita.checks",
    "row_count": "partita.checks",
    "schema": "partita.checks",
    "source": "partita.sources",
    "sql_asset": "partita.sql",
    "Schedule": "partita.schedules",
    "Eager": "partita.sensors",
    "FileSensor": "partita.sensors",
    "RunRequest": "partita.sensors",
    "SensorContext": "partita.sensors",
    "SensorResult": "partita.sensors",
    "SourceSensor": "partita.sensors",
    "sensor": "partita.sensors",
    "unique": "partita.checks",
    "webhook": "partita.alert_targets",
}


__getattr__, __dir__ = lazy_module("partita", _LAZY, globals())

__all__ = [
    "Alert",
    "AllPartitions",
    "AssetContext",
    "AssetGraph",
    "AssetKey",
    "AssetPartition",
    "AssetSpec",
    "CatalogError",
    "CheckDefinition",
    "CheckFailed",
    "CheckResult",
    "CheckSpec",
    "ConfigError",
    "CycleError",
    "DailyPartitions",
    "DaskCluster",
    "DefinitionError",
    "Definitions",
    "Dimension",
    "DuckDBStore",
    "DynamicPartitions",
    "ExecutorKind",
    "Freshness",
    "HourlyPartitions",
    "Identity",
    "In",
    "LastPartition",
    "MaterializeResult",
    "MonthlyPartitions",
    "MultiPartitions",
    "ParquetStore",
    "PartitaError",
    "PartitionKeyError",
    "PartitionMapping",
    "PartitionSubset",
    "PartitionsDefinition",
    "PlanError",
    "RetryPolicy",
    "RunOutcome",
    "SelectionError",
    "StaticMap",
    "StaticPartitions",
    "StorageError",
    "TaskState",
    "TimeWindow",
    "TimeWindowRange",
    "UnknownAssetError",
    "UnreachableError",
    "UserCodeError",
    "WeeklyPartitions",
    "__version__",
    "accepted_values",
    "asset",
    "check",
    "email",
    "env",
    "expression",
    "in_range",
    "materialize",
    "not_null",
    "plan",
    "relationship",
    "row_count",
    "schema",
    "source",
    "sql_asset",
    "Schedule",
    "Eager",
    "FileSensor",
    "RunRequest",
    "SensorContext",
    "SensorResult",
    "SourceSensor",
    "sensor",
    "unique",
    "webhook",
]
