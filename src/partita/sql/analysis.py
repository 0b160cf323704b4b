"""Checking a model's columns and tracing column-level lineage (sqlglot's optimizer).

Given the upstream schemas (per view, the column names, or ``None`` when an
upstream's columns are unknown), :func:`analyse` qualifies the query
(``sqlglot.optimizer.qualify``: ``*`` expanded, every column tied to its
table), rejects a column that no upstream has (when the upstreams' columns are
known), and traces each output column to the upstream columns it derives from
(``sqlglot.lineage``: through CTEs, joins, subqueries, window functions and
UNIONs). What cannot be traced is marked unresolved, never dropped.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from sqlglot import exp
from sqlglot.errors import OptimizeError, SqlglotError
from sqlglot.lineage import Node, lineage
from sqlglot.optimizer.qualify import qualify
from sqlglot.optimizer.scope import Scope, build_scope

from partita.sql.errors import SqlModelError, close_names
from partita.sql.model import ColumnLineage, ColumnSource, SqlModel
from partita.sql.parse import dialect_of, place_of

__all__ = ["Schemas", "analyse"]

Schemas = Mapping[str, Sequence[str] | None]
"""Per view name, the upstream's column names (``None``: unknown)."""


def _sqlglot_schema(schemas: Schemas) -> dict[str, object]:
    return {
        view: dict.fromkeys(columns, "UNKNOWN")
        for view, columns in schemas.items()
        if columns is not None
    }


def _unknown_column(
    where: str, text: str, node: exp.Expr, name: str, candidates: Sequence[str]
) -> SqlModelError:
    line, column = place_of(node, text)
    return SqlModelError(
        where,
        line,
        column,
        f"unknown column {name!r}",
        suggestions=close_names(name, candidates),
        hint="the upstream assets have these columns: "
        + (", ".join(sorted(set(candidates))[:12]) or "(none known)"),
    )


def _source_columns(source: object, schemas: Schemas) -> list[str] | None:
    """The columns a scope's source offers, ``None`` when not known."""
    if isinstance(source, exp.Table):
        known = schemas.get(source.name)
        return None if known is None else list(known)
    if isinstance(source, Scope):
        if not isinstance(source.expression, exp.Query):
            return None
        names = list(source.expression.named_selects)
        return None if "*" in names or not names else names
    return None


def _offered(scope: Scope, schemas: Schemas) -> dict[str, list[str] | None]:
    return {name: _source_columns(source, schemas) for name, source in scope.sources.items()}


def _check_columns(scopes: list[Scope], schemas: Schemas, text: str, where: str) -> None:
    for scope in scopes:
        offered = _offered(scope, schemas)
        everything = [c for cols in offered.values() if cols is not None for c in cols]
        all_known = all(cols is not None for cols in offered.values())
        outer = scope.parent
        while outer is not None and all_known:  # a subquery may read its enclosing query
            enclosing = _offered(outer, schemas)
            all_known = all(cols is not None for cols in enclosing.values())
            everything += [c for cols in enclosing.values() if cols is not None for c in cols]
            outer = outer.parent
        aliases = (
            set(scope.expression.named_selects)
            if isinstance(scope.expression, exp.Query)
            else set()
        )
        for column in scope.columns:
            if column.name == "*" or isinstance(column.this, exp.Star):
                continue
            if column.table:
                cols = offered.get(column.table)
                if cols is not None and column.name not in cols:
                    raise _unknown_column(where, text, column, column.name, cols)
            elif (
                all_known
                and offered
                and column.name not in everything
                and not (column.name in aliases and column.find_ancestor(exp.Order))
            ):
                raise _unknown_column(where, text, column, column.name, everything)


def _qualified(parsed: exp.Query, schemas: Schemas, text: str, where: str) -> exp.Expr:
    schema = _sqlglot_schema(schemas)
    try:
        return qualify(
            parsed,  # in place: the parsed expression is not used after the analysis
            dialect=dialect_of("duckdb"),
            schema=schema,
            validate_qualify_columns=False,
            identify=False,
            quote_identifiers=False,
        )
    except OptimizeError as error:
        found = re.search(r"Unknown column: (\S+)", str(error))
        everything = [c for cols in schemas.values() if cols for c in cols]
        if found is not None:
            name = found.group(1).strip("'\"")
            for node in parsed.find_all(exp.Column):
                if node.name == name:
                    raise _unknown_column(where, text, node, name, everything) from None
        raise SqlModelError(where, 0, 0, f"cannot resolve the query's columns: {error}") from None


def _sources_of(node: Node, views: Mapping[str, str]) -> tuple[tuple[ColumnSource, ...], bool]:
    found: dict[ColumnSource, None] = {}
    resolved = True
    for item in node.walk():
        if item.downstream:
            continue
        if isinstance(item.source, exp.Table) and item.source.name in views:
            column = item.name.rsplit(".", 1)[-1]
            if column == "*":
                resolved = False
                continue
            found[ColumnSource(views[item.source.name], column)] = None
        elif isinstance(item.expression, exp.Placeholder | exp.Star) or (
            isinstance(item.expression, exp.Column) and not item.expression.table
        ):
            resolved = False
    return tuple(sorted(found, key=lambda s: (s.asset, s.column))), resolved


def analyse(parsed: exp.Query, model: SqlModel, schemas: Schemas, *, where: str) -> SqlModel:
    """``model`` with its output columns, column lineage and used columns (see the module).

    Raises:
        SqlModelError: a column that no upstream has (only checked where the
            upstreams' columns are known).
    """
    root = _qualified(parsed, schemas, model.source_text, where)
    top = build_scope(root)
    scopes = list(top.traverse()) if top is not None else []
    _check_columns(scopes, schemas, model.source_text, where)
    names = list(root.named_selects) if isinstance(root, exp.Query) else []
    columns = None if not names or "*" in names else tuple(names)
    views = {t.view: t.key for t in model.tables}
    items: list[ColumnLineage] = []
    try:
        if top is None:
            raise SqlglotError("not a query")
        nodes = lineage(
            None,
            root,
            _sqlglot_schema(schemas),
            dialect=dialect_of("duckdb"),
            scope=top,
            trim_selects=False,
            copy=False,
        )
    except SqlglotError:
        nodes = {}
    for name in names:
        node = nodes.get(name)
        if node is None:
            items.append(ColumnLineage(name, (), resolved=False))
            continue
        sources, resolved = _sources_of(node, views)
        items.append(ColumnLineage(name, sources, resolved))
    used: dict[str, dict[str, None] | None] = {t.view: {} for t in model.tables}
    for scope_item in scopes:
        for column in scope_item.columns:
            source = scope_item.sources.get(column.table)
            if not isinstance(source, exp.Table) or source.name not in used:
                continue
            bucket = used[source.name]
            if bucket is None:
                continue
            if column.name == "*" or isinstance(column.this, exp.Star):
                used[source.name] = None
            else:
                bucket[column.name] = None
        if isinstance(scope_item.expression, exp.Select) and any(
            isinstance(s, exp.Star) for s in scope_item.expression.selects
        ):  # an unexpanded * (unknown columns): its sources are read whole
            for source in scope_item.sources.values():
                if isinstance(source, exp.Table) and source.name in used:
                    used[source.name] = None
    used_columns = tuple(
        (view, None if cols is None else tuple(cols)) for view, cols in used.items()
    )
    return model.with_analysis(columns, tuple(items), used_columns)
