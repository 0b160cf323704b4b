"""Is a change of a SQL model breaking? (``sqlglot.diff`` of the recorded and the current query)

A change is **non-breaking** when it only adds output columns: every edit
``sqlglot.diff`` finds is an insertion inside a new projection of a SELECT
that is not ``DISTINCT`` (the rows and the existing columns stay what they
were, so what reads the model keeps its meaning). Anything else (a column
removed or changed, a filter, a join, a grouping) is **breaking**: what
reads the model must be rebuilt.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from sqlglot import exp

__all__ = ["SqlChange", "classify_change"]

ChangeKind = Literal["breaking", "non-breaking"]


@dataclass(frozen=True, slots=True)
class SqlChange:
    """How a model's query changed: ``kind`` and a one-line summary."""

    kind: ChangeKind
    summary: str

    @property
    def breaking(self) -> bool:
        """Whether downstream assets must be rebuilt."""
        return self.kind == "breaking"


def _projection_of(node: exp.Expr) -> exp.Expr | None:
    """The projection of the nearest SELECT that ``node`` is (or is inside of)."""
    from sqlglot import exp  # noqa: PLC0415 - sqlglot loads only to compare queries

    current: exp.Expr | None = node
    while current is not None:
        parent = current.parent
        if isinstance(parent, exp.Select) and current.arg_key == "expressions":
            return None if parent.args.get("distinct") else current
        if isinstance(current, exp.Query | exp.Subquery) and current is not node:
            return None
        current = parent
    return None


def _top_columns(node: exp.Expr) -> list[str]:
    from sqlglot import exp  # noqa: PLC0415

    return list(node.named_selects) if isinstance(node, exp.Query) else []


def classify_change(old_query: str, new_query: str, dialect: str) -> SqlChange:
    """Classify the change from ``old_query`` to ``new_query`` (see the module)."""
    import sqlglot  # noqa: PLC0415
    from sqlglot import exp  # noqa: PLC0415
    from sqlglot.diff import Insert, diff  # noqa: PLC0415
    from sqlglot.errors import ParseError  # noqa: PLC0415

    try:
        old = sqlglot.parse_one(old_query, read=dialect)
        new = sqlglot.parse_one(new_query, read=dialect)
    except ParseError:
        return SqlChange("breaking", "the recorded query cannot be compared")
    edits = diff(old, new, delta_only=True)
    if not edits:
        return SqlChange("non-breaking", "the same query")
    for edit in edits:
        if not isinstance(edit, Insert) or _projection_of(edit.expression) is None:
            what = type(edit).__name__.lower()
            node = getattr(edit, "expression", None) or getattr(edit, "source", None)
            text = node.sql(dialect=dialect) if isinstance(node, exp.Expr) else ""
            if len(text) > 50:
                text = text[:47] + "..."
            return SqlChange("breaking", f"{what} `{text}`" if text else what)
    added = [c for c in _top_columns(new) if c not in set(_top_columns(old))]
    if not added:
        return SqlChange("non-breaking", "columns added to a CTE or subquery only")
    return SqlChange("non-breaking", "adds column " + ", ".join(added))
