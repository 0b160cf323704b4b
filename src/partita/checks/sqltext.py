"""SQL fragments with bound parameters, and safe identifiers.

Column names are never pasted into SQL as written: :func:`quote` makes a
quoted identifier (doubling embedded quotes) and callers first check that the
name exists in the data's schema. Values travel as bound parameters.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import pyarrow as pa

from partita.errors import DefinitionError

__all__ = ["Sql", "column_error", "join", "quote", "require_columns"]


def quote(name: str) -> str:
    """``name`` as a DuckDB quoted identifier (``a"b`` -> ``"a""b"``)."""
    return '"' + name.replace('"', '""') + '"'


@dataclass(frozen=True, slots=True)
class Sql:
    """SQL text with ``?`` placeholders and their values, in order of appearance."""

    text: str
    params: tuple[object, ...] = ()

    def __add__(self, other: Sql | str) -> Sql:
        if isinstance(other, str):
            return Sql(self.text + other, self.params)
        return Sql(self.text + other.text, self.params + other.params)

    def __radd__(self, other: str) -> Sql:
        return Sql(other + self.text, self.params)


def join(separator: str, parts: Iterable[Sql]) -> Sql:
    """The fragments joined by ``separator`` (parameters kept in order)."""
    items = list(parts)
    return Sql(separator.join(p.text for p in items), tuple(v for p in items for v in p.params))


def column_error(check: str, missing: Iterable[str], schema: pa.Schema, what: str = "") -> str:
    """The message for columns that do not exist: names them and the columns that do."""
    names = ", ".join(repr(c) for c in missing)
    existing = ", ".join(repr(n) for n in schema.names) or "(none)"
    where = f" in {what}" if what else ""
    plural = "s" if "," in names else ""
    return f"check {check!r}: column{plural} {names} not found{where}; columns: {existing}"


def require_columns(check: str, columns: Iterable[str], schema: pa.Schema, what: str = "") -> None:
    """Raise when any of ``columns`` is not in ``schema``.

    Raises:
        DefinitionError: naming the missing columns and the columns that exist.
    """
    missing = [c for c in columns if c not in schema.names]
    if missing:
        raise DefinitionError(
            column_error(check, missing, schema, what),
            hint="fix the column name in the check, or the asset that produces it",
        )
