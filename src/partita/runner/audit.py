"""The default write-audit-publish hook: the asset's built-in checks on staged data.

:func:`builtin_checks` runs ``AssetSpec.checks`` with :func:`partita.audit.evaluate`
over the staged Parquet file (before anything is published) and returns
catalog :class:`~partita.records.CheckRecord` values; a failed ``error`` check
blocks publication. ``relationship`` checks are given no related data here, so
they fail with a message saying so.
"""

from __future__ import annotations

from partita.assets import AssetSpec
from partita.audit import evaluate
from partita.io.protocol import StagedWrite, Store
from partita.records import CheckRecord

__all__ = ["builtin_checks"]


def builtin_checks(
    staged: StagedWrite, spec: AssetSpec, store: Store, partition: str | None
) -> list[CheckRecord]:
    """Evaluate the asset's checks on one staged partition (nothing when it has none)."""
    if not spec.checks:
        return []
    outcomes = evaluate(spec.checks, staged.path, partition=partition)
    return [
        CheckRecord(
            asset=str(spec.key),
            partition=partition,
            check_name=outcome.name,
            passed=outcome.passed,
            severity=str(outcome.severity),
            message=outcome.message,
        )
        for outcome in outcomes
    ]
