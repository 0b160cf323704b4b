"""Data-quality checks: declaring them and evaluating them on a partition's data.

Declaring (imported with the definitions; nothing heavy is loaded):

- :mod:`partita.checks.declarations`: built-in checks (:func:`not_null`,
  :func:`unique`, :func:`relationship`, ...) as frozen :class:`CheckSpec` values.
- :mod:`partita.checks.custom`: the :func:`check` decorator for custom check
  functions, :class:`CheckDefinition` and :class:`CheckResult`.

Evaluating (loads DuckDB and pyarrow; the runner and ``partita check`` use it):

- :mod:`partita.checks.evaluate`: :func:`~partita.checks.evaluate.run_checks`,
  every check of an asset on one partition's data, in declaration order.
- :mod:`partita.checks.builtin_eval`: built-in checks as one DuckDB statement
  (SQL from :mod:`partita.checks.sql_plans` and :mod:`partita.checks.sqltext`;
  the ``schema`` check in :mod:`partita.checks.schemas`).
- :mod:`partita.checks.custom_eval`: calling a custom check function.
- :mod:`partita.checks.data`: the data a check reads (a Parquet file or Arrow data).
- :mod:`partita.checks.outcome`: :class:`~partita.checks.outcome.CheckOutcome`,
  the result of one check on one partition.

Checks take data, never a store: the runner reads staged or published data
through the store and hands it over (write-audit-publish, DESIGN.md section 4).
"""

from partita.checks.custom import CheckDefinition, CheckResult, Severity, check
from partita.checks.declarations import (
    AnyCheck,
    CheckSpec,
    accepted_values,
    declared_columns,
    expression,
    in_range,
    not_null,
    parse_expression,
    relationship,
    row_count,
    schema,
    undeclared_columns,
    unique,
)

__all__ = [
    "AnyCheck",
    "CheckDefinition",
    "CheckResult",
    "CheckSpec",
    "Severity",
    "accepted_values",
    "check",
    "declared_columns",
    "expression",
    "in_range",
    "not_null",
    "parse_expression",
    "relationship",
    "row_count",
    "schema",
    "undeclared_columns",
    "unique",
]
