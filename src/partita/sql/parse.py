"""Parsing a model's query with sqlglot: tables, parameters, transpiling, normalizing.

:func:`parse_query` turns the text of one query into a :class:`ParsedQuery`:
the sqlglot expression (its tables renamed to the views the inputs are read
under), the :class:`~partita.sql.model.SqlModel` without lineage, and where
things are written, for errors. Every problem is one :class:`SqlModelError`
naming the file, line and column.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import ErrorLevel, ParseError, TokenError, UnsupportedError

from partita.errors import DefinitionError
from partita.sql.errors import SqlModelError, close_names
from partita.sql.model import PARTITION_PARAMETERS, SqlModel, TableRef

__all__ = ["DIALECTS", "ParsedQuery", "dialect_of", "parse_query", "place_of"]

DIALECTS = ("duckdb", "snowflake", "bigquery", "postgres", "redshift", "trino", "spark", "mysql")
"""Dialects a model may be written in (any dialect sqlglot reads works; these are tested
or common)."""


@dataclass(frozen=True)
class ParsedQuery:
    """A parsed query: its expression with tables renamed to views, and its model."""

    expression: exp.Query
    model: SqlModel


def place_of(node: exp.Expr, text: str) -> tuple[int, int]:
    """``(line, column)`` in ``text`` where ``node`` starts (its first token with a
    position; ``(0, 0)`` when none has one). Computed from the character offset."""
    starts = [
        int(meta["start"])
        for item in node.walk()
        if "start" in (meta := getattr(item, "_meta", None) or {})
    ]
    if not starts:
        return 0, 0
    return _offset_place(text, min(starts))


def _offset_place(text: str, offset: int) -> tuple[int, int]:
    return text.count("\n", 0, offset) + 1, offset - (text.rfind("\n", 0, offset) + 1) + 1


def _error_place(text: str, error: dict[str, object]) -> tuple[int, int]:
    """Where a parse error is: found from the text around it (sqlglot's own line
    numbers can be off after some tokens), else as sqlglot reports it."""
    before, highlight = str(error.get("start_context") or ""), str(error.get("highlight") or "")
    found = text.find(before + highlight) if before or highlight else -1
    if found >= 0:
        return _offset_place(text, found + len(before))
    return int(str(error.get("line") or 0)), int(str(error.get("col") or 0))


@functools.cache
def dialect_of(name: str) -> Dialect:
    """sqlglot's dialect of ``name`` (one instance per name: sqlglot makes one per call
    when given the name).

    Raises:
        DefinitionError: sqlglot knows no such dialect.
    """
    try:
        return Dialect.get_or_raise(name)
    except ValueError as exc:
        raise DefinitionError(f"unknown SQL dialect {name!r}: {exc}") from None


_MISSING_PART = re.compile(r"Required keyword: '(\w+)' missing for <class '[\w.]*?(\w+)'>")


def _described(first: Mapping[str, Any], error: ParseError) -> str:
    """sqlglot's description of a parse error in SQL words: ``Required keyword: 'this'
    missing for <class 'sqlglot.expressions.query.Having'>`` says a ``HAVING`` clause is
    incomplete (with the text it stopped at)."""
    description = str(first.get("description") or error)
    found = _MISSING_PART.fullmatch(description)
    if found is None:
        return description
    clause = found.group(2).upper()
    near = str(first.get("highlight") or "").strip()
    at = f" near {near!r}" if near and near.upper() != clause else ""
    return f"incomplete {clause} clause{at}"


def _parse(text: str, dialect: str, where: str) -> exp.Expr:
    try:
        read = dialect_of(dialect)
    except DefinitionError as exc:
        raise SqlModelError(where, 0, 0, exc.message, hint="see docs/sql.md#dialects") from None
    try:
        statements = [s for s in read.parse(text) if s is not None]
    except ParseError as error:
        first = error.errors[0] if error.errors else {}
        line, column = _error_place(text, first)
        raise SqlModelError(
            where,
            line,
            column,
            f"syntax error: {_described(first, error)}",
            hint=f"fix the query (it is read as {dialect} SQL)",
        ) from None
    except TokenError as error:
        raise SqlModelError(where, 0, 0, f"syntax error: {error}") from None
    if len(statements) != 1:
        raise SqlModelError(
            where,
            0,
            0,
            f"a model is one query; found {len(statements)} statements",
            hint="keep one SELECT (with CTEs if needed) per model",
        )
    return statements[0]


def _placeholders(node: exp.Expr) -> Iterator[tuple[exp.Expr, str]]:
    """The parameters written ``$name``, ``:name`` or ``@name`` (as each dialect parses them)."""
    for item in node.walk():
        if (isinstance(item, exp.Placeholder) and item.name) or isinstance(item, exp.Parameter):
            yield item, item.name
        elif isinstance(item, exp.Column) and item.name.startswith("$") and not item.table:
            yield item, item.name[1:]


def _bind_parameters(node: exp.Expr, text: str, where: str) -> tuple[str, ...]:
    used: dict[str, None] = {}
    for item, name in list(_placeholders(node)):
        if name not in PARTITION_PARAMETERS:
            line, column = place_of(item, text)
            written = re.search(rf"[$:@]{re.escape(name)}\b", text)
            if line == 0 and written is not None:
                line, column = _offset_place(text, written.start())
            raise SqlModelError(
                where,
                line,
                column,
                f"unknown parameter ${name}",
                suggestions=close_names(name, PARTITION_PARAMETERS),
                hint="a model can use $partition_start, $partition_end and $partition_key",
            )
        used[name] = None
        item.replace(exp.Placeholder(this=name))
    return tuple(used)


def _cte_names(node: exp.Expr) -> set[str]:
    return {cte.alias_or_name for cte in node.find_all(exp.CTE)}


def _view_name(parts: list[str]) -> str:
    return "__".join(parts)


def _rename_tables(node: exp.Expr, text: str) -> tuple[TableRef, ...]:
    """Point each table reference at its view (``sales.orders`` -> ``sales__orders AS
    orders``) and return the references, in order of first use."""
    ctes = _cte_names(node)
    found: dict[str, TableRef] = {}
    for table in list(node.find_all(exp.Table)):
        if not isinstance(table.this, exp.Identifier):
            continue  # a table function such as read_parquet(...)
        parts = [p for p in (table.catalog, table.db, table.name) if p]
        if len(parts) == 1 and parts[0] in ctes:
            continue
        view = _view_name(parts)
        line, column = place_of(table, text)
        known = found.get(view)
        if known is None or (line > 0 and (line, column) < (known.line, known.column)):
            found[view] = TableRef(".".join(parts), "/".join(parts), view, line, column)
        alias = table.alias or table.name
        table.set("this", exp.to_identifier(view))
        table.set("db", None)
        table.set("catalog", None)
        table.set("alias", exp.TableAlias(this=exp.to_identifier(alias)))
    for reference in node.find_all(exp.Column):
        if reference.args.get("db") is not None:  # sales.orders.amount -> orders.amount
            reference.set("db", None)
            reference.set("catalog", None)
    return tuple(found.values())


def _unsupported_node(node: exp.Expr) -> exp.Expr:
    """The deepest part of ``node`` that DuckDB's generator refuses."""
    for child in node.iter_expressions():
        try:
            child.sql(dialect=dialect_of("duckdb"), unsupported_level=ErrorLevel.RAISE)
        except UnsupportedError:
            return _unsupported_node(child)
    return node


def _transpile(node: exp.Expr, dialect: str, text: str, where: str) -> str:
    try:
        return node.sql(
            dialect=dialect_of("duckdb"), unsupported_level=ErrorLevel.RAISE, copy=False
        )
    except UnsupportedError as error:
        culprit = _unsupported_node(node)
        line, column = place_of(culprit, text)
        snippet = culprit.sql(dialect=dialect_of(dialect))
        if len(snippet) > 60:
            snippet = snippet[:57] + "..."
        raise SqlModelError(
            where,
            line,
            column,
            f"cannot run {dialect} SQL on DuckDB: {error} (in `{snippet}`)",
            hint="rewrite that construct in SQL both dialects support",
        ) from None


def parse_query(text: str, dialect: str = "duckdb", *, where: str, path: str = "") -> ParsedQuery:
    """Parse one model's query (see the module docstring).

    ``where`` names the query in errors (a file, or ``sql asset <key>``).

    Raises:
        SqlModelError: a syntax error, not a query, an unknown parameter, or a
            construct that cannot be transpiled to DuckDB.
    """
    node = _parse(text, dialect, where)
    if not isinstance(node, exp.Query):
        line, column = place_of(node, text)
        raise SqlModelError(
            where,
            line,
            column,
            f"a model is a SELECT query, got {node.key.upper()}",
            hint="write the SELECT whose rows the asset holds; Partita stores them",
        )
    parameters = _bind_parameters(node, text, where)
    # the DuckDB generator's own rewrites may stay in the tree (it is transpiled to DuckDB next)
    query = node.sql(dialect=dialect_of(dialect), comments=False, copy=dialect != "duckdb")
    tables = _rename_tables(node, text)
    duckdb_query = _transpile(node, dialect, text, where)
    model = SqlModel(
        query=query,
        dialect=dialect,
        duckdb_query=duckdb_query,
        tables=tables,
        parameters=parameters,
        path=path,
        source_text=text,
    )
    return ParsedQuery(node, model)
