"""The check engine: evaluating data-quality checks on a staged partition.

Write-audit-publish (DESIGN.md section 4): the runner stages a partition,
calls :func:`evaluate` (built-in checks, as DuckDB SQL over the staged
Parquet file or Arrow table) and :func:`run_custom` (``@check`` functions),
and publishes only when :func:`blocking_failures` is empty. The engine takes
data, never a store, so it sits beside :mod:`partita.io` in the layers.
"""

from partita.audit.custom import run_custom
from partita.audit.data import CheckData
from partita.audit.engine import Related, evaluate, judge
from partita.audit.outcome import CheckOutcome, blocking_failures, json_safe, summarize
from partita.audit.plans import validate_columns
from partita.audit.schemas import compare_schema

__all__ = [
    "CheckData",
    "CheckOutcome",
    "Related",
    "blocking_failures",
    "compare_schema",
    "evaluate",
    "json_safe",
    "judge",
    "run_custom",
    "summarize",
    "validate_columns",
]
