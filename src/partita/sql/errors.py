"""The one error of a SQL model that is written wrongly, with its place."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from partita.errors import DefinitionError

__all__ = ["SqlModelError", "close_names"]


class SqlModelError(DefinitionError):
    """A SQL model cannot be used: a syntax error, an unknown table or column, a
    construct DuckDB cannot run. The message starts ``file:line:column:`` (or the
    asset's name for a query given in Python).

    Attributes:
        where: the file (or ``sql asset <key>``).
        line, column: 1-based place in it (0 when unknown).
        suggestions: close names, best first.
    """

    def __init__(
        self,
        where: str,
        line: int,
        column: int,
        message: str,
        *,
        suggestions: Iterable[str] = (),
        hint: str | None = None,
    ) -> None:
        self.where = where
        self.line = line
        self.column = column
        self.suggestions = list(suggestions)
        place = where if line <= 0 else f"{where}:{line}:{max(column, 1)}"
        text = f"{place}: {message}"
        if self.suggestions:
            text += "; did you mean " + " or ".join(repr(s) for s in self.suggestions) + "?"
        super().__init__(text, hint=hint)


def close_names(name: str, candidates: Iterable[str], n: int = 3) -> list[str]:
    """Names among ``candidates`` close to ``name`` (case-insensitive), best first."""
    options = list(dict.fromkeys(candidates))
    lowered = {c.lower(): c for c in options}
    found = difflib.get_close_matches(name.lower(), list(lowered), n=n, cutoff=0.6)
    return [lowered[f] for f in found]
