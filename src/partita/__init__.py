"""Partita: asset-centric, data-aware orchestration.

Everything a project declares with is importable from here::

    from partita import asset, Definitions, DailyPartitions, In, TimeWindow

Only the names in ``__all__`` are public API.
"""

from importlib.metadata import PackageNotFoundError, version

from partita.assets import AssetSpec, In, asset, source
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
    UserCodeError,
)
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

try:
    __version__ = version("partita")
except PackageNotFoundError:  # running from a source tree without installing
    __version__ = "0+unknown"

__all__ = [
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
    "DefinitionError",
    "Definitions",
    "Dimension",
    "DuckDBStore",
    "DynamicPartitions",
    "Freshness",
    "HourlyPartitions",
    "Identity",
    "In",
    "LastPartition",
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
    "SelectionError",
    "StaticMap",
    "StaticPartitions",
    "StorageError",
    "TimeWindow",
    "TimeWindowRange",
    "UnknownAssetError",
    "UserCodeError",
    "WeeklyPartitions",
    "__version__",
    "accepted_values",
    "asset",
    "check",
    "expression",
    "in_range",
    "not_null",
    "relationship",
    "row_count",
    "schema",
    "source",
    "unique",
]
