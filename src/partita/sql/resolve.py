"""Resolving SQL models among a project's assets: upstream keys, schemas, lineage.

:func:`resolve_models` runs when :class:`~partita.definitions.Definitions` is
made, so it sees every asset: each table a model reads is matched to an asset
key (an unknown one is an error at its place in the query, with close names),
and the models are analysed in dependency order, so a model's output columns
are the schema its downstream models are checked against. An upstream Python
asset's columns are those of its ``schema({...})`` check, if it has one;
otherwise they are unknown, and what depends on them is marked unresolved.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from partita.assets import AssetDep, AssetSpec
from partita.checks import declared_columns
from partita.keys import AssetKey
from partita.sql.cache import SqlCache
from partita.sql.errors import SqlModelError, close_names
from partita.sql.model import ColumnLineage, ColumnSource, SqlModel, TableRef
from partita.sql.run import SqlRunner

if TYPE_CHECKING:
    from sqlglot import exp

__all__ = ["resolve_models"]


def _where(model: SqlModel, key: AssetKey) -> str:
    return model.path or f"sql asset {key}"


class _Keys:
    """Matching written table names to asset keys, as the asset graph matches names."""

    def __init__(self, specs: Sequence[AssetSpec]) -> None:
        self.keys = {spec.key for spec in specs}
        self.by_name: dict[str, list[AssetKey]] = {}
        for key in self.keys:
            self.by_name.setdefault(key.name, []).append(key)

    def resolve(self, table: TableRef, spec: AssetSpec, where: str) -> AssetKey:
        try:
            key = AssetKey(table.key)
        except Exception:
            key = None
        if key is not None and key in self.keys:
            return key
        if "/" not in table.key:
            found = self.by_name.get(table.key, [])
            if len(found) == 1:
                return found[0]
            same = [k for k in found if k.prefix == spec.key.prefix]
            if len(same) == 1:
                return same[0]
            if found:
                raise SqlModelError(
                    where,
                    table.line,
                    table.column,
                    f"table {table.name!r} matches several assets: "
                    + ", ".join(sorted(str(k) for k in found)),
                    hint="write the table with its prefix (sales.orders for sales/orders)",
                )
        names = [str(k).replace("/", ".") for k in self.keys]
        raise SqlModelError(
            where,
            table.line,
            table.column,
            f"unknown table {table.name!r}: no asset or source has that key",
            suggestions=close_names(table.name, names + list(self.by_name)),
            hint="declare it as an asset or as an external source "
            "(source('raw/orders', store=...)), or fix the name",
        )


def _order(models: dict[AssetKey, list[AssetKey]]) -> list[AssetKey]:
    """SQL models with their SQL upstreams first (a cycle is left to the asset graph)."""
    done: dict[AssetKey, None] = {}
    visiting: set[AssetKey] = set()

    def visit(key: AssetKey) -> None:
        if key in done or key in visiting:
            return
        visiting.add(key)
        for up in models.get(key, []):
            if up in models:
                visit(up)
        visiting.discard(key)
        done[key] = None

    for key in models:
        visit(key)
    return list(done)


def _analysis_key(model: SqlModel, schemas: Mapping[str, Sequence[str] | None]) -> str:
    text = json.dumps(
        [model.dialect, model.source_text or model.query, sorted(schemas.items())],
        separators=(",", ":"),
        default=list,
    )
    return "analysis:" + hashlib.sha256(text.encode()).hexdigest()


def _analysed(
    model: SqlModel,
    schemas: Mapping[str, Sequence[str] | None],
    where: str,
    cache: SqlCache | None,
    parsed: exp.Query | None,
) -> SqlModel:
    key = _analysis_key(model, schemas)
    found = None if cache is None else cache.get(key)
    if found is not None:
        done = SqlModel.from_json(found)
        return model.with_analysis(done.columns, done.column_lineage, done.used_columns)
    from partita.sql.analysis import analyse  # noqa: PLC0415 - sqlglot's optimizer: on a miss
    from partita.sql.parse import parse_query  # noqa: PLC0415

    if parsed is None:
        parsed = parse_query(
            model.source_text or model.query, model.dialect, where=where
        ).expression
    result = analyse(parsed, model, schemas, where=where)
    if cache is not None:
        cache.put(key, result.to_json())
    return result


def _with_keys(model: SqlModel, keys: Mapping[str, str]) -> SqlModel:
    """``model`` with its tables and lineage naming the resolved asset keys."""
    renamed = {written: key for written, key in keys.items() if written != key}
    if not renamed:
        return model
    lineage = tuple(
        ColumnLineage(
            item.column,
            tuple(ColumnSource(renamed.get(s.asset, s.asset), s.column) for s in item.sources),
            item.resolved,
        )
        for item in model.column_lineage
    )
    tables = tuple(replace(t, key=renamed.get(t.key, t.key)) for t in model.tables)
    return replace(model, column_lineage=lineage, tables=tables)


def resolve_models(
    specs: Sequence[AssetSpec],
    cache: SqlCache | None = None,
    parsed: Mapping[AssetKey, exp.Query] | None = None,
) -> tuple[AssetSpec, ...]:
    """``specs`` with each SQL model's upstream keys resolved and its lineage filled in.

    ``cache`` keeps analyses by content; ``parsed`` holds expressions already
    parsed (by key), so a model is not parsed twice.

    Raises:
        SqlModelError: a table that names no asset (with close names), a column
            that no upstream has.
    """
    keys = _Keys(specs)
    by_key = {spec.key: spec for spec in specs}
    resolved: dict[AssetKey, list[AssetKey]] = {}
    for spec in specs:
        if spec.sql_model is None:
            continue
        where = _where(spec.sql_model, spec.key)
        resolved[spec.key] = [keys.resolve(t, spec, where) for t in spec.sql_model.tables]
    done: dict[AssetKey, AssetSpec] = {}
    for key in _order(resolved):
        spec = by_key[key]
        model = spec.sql_model
        assert model is not None
        schemas: dict[str, Sequence[str] | None] = {}
        for table, upstream in zip(model.tables, resolved[key], strict=True):
            up = done.get(upstream, by_key[upstream])
            if up.sql_model is not None:
                schemas[table.view] = up.sql_model.columns
            else:
                schemas[table.view] = declared_columns(up.checks)
        expression = None if parsed is None else parsed.get(key)
        model = _analysed(model, schemas, _where(model, key), cache, expression)
        model = _with_keys(
            model, {t.key: str(k) for t, k in zip(model.tables, resolved[key], strict=True)}
        )
        deps = (
            tuple(
                AssetDep(d.param, upstream, d.mapping, d.partition_columns)
                if d.param == table.view
                else d
                for d, table, upstream in zip(spec.deps, model.tables, resolved[key], strict=False)
            )
            + spec.deps[len(model.tables) :]
        )
        done[key] = replace(spec, sql_model=model, deps=deps, fn=SqlRunner(model, str(key)))
    return tuple(done.get(spec.key, spec) for spec in specs)
