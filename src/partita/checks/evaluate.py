"""Evaluating an asset's checks on one partition's data, built-in and custom, in order.

Write-audit-publish (DESIGN.md section 4): the runner stages a partition,
reads the staged data through its store, and calls :func:`run_checks`; it
publishes only when no ``error``-severity outcome failed
(:func:`partita.checks.outcome.blocking_failures`). The same function checks
published data (``partita check``, the checks of sources).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from partita.checks.custom import CheckDefinition
from partita.checks.custom_eval import run_custom
from partita.checks.data import CheckData
from partita.checks.declarations import AnyCheck, CheckSpec
from partita.checks.outcome import CheckOutcome
from partita.context import AssetContext

if TYPE_CHECKING:
    from partita.checks.builtin_eval import Related

__all__ = ["run_checks"]


def run_checks(
    checks: Sequence[AnyCheck],
    data: CheckData,
    *,
    partition: str | None,
    context: AssetContext | None = None,
    related: Related | None = None,
) -> list[CheckOutcome]:
    """Run built-in checks (one DuckDB statement) and custom ones on ``data``, in order.

    A table is shared by every check; a Parquet path is read where it lies
    (built-ins scan it out of core; each custom check loads it as its
    parameter's annotation asks). ``related(asset)`` gives a ``relationship``
    check the other asset's data.
    """
    builtins = [c for c in checks if isinstance(c, CheckSpec)]
    found: Iterator[CheckOutcome] = iter([])
    if builtins:
        # DuckDB and sqlglot (~0.2 s of imports) only for a worker that runs built-in checks
        from partita.checks.builtin_eval import evaluate  # noqa: PLC0415

        found = iter(evaluate(builtins, data, partition=partition, related=related))
    outcomes: list[CheckOutcome] = []
    for item in checks:
        if isinstance(item, CheckDefinition):
            outcomes.append(run_custom(item, data, context, partition=partition))
        else:
            outcomes.append(next(found))
    return outcomes
