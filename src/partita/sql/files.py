"""Loading a folder of ``.sql`` models (``Definitions(sql=["models/"])``).

Every ``*.sql`` file under the folder (recursively, in sorted order) is one
asset. Its key is the header's ``name`` (``sales.daily_revenue`` ->
``sales/daily_revenue``), or else its path under the folder without ``.sql``
(``models/sales/daily_revenue.sql`` -> ``sales/daily_revenue``). The header
(:mod:`partita.sql.header`) holds its settings; parsing is cached by content
(:mod:`partita.sql.cache`).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from partita.assets import AssetSpec
from partita.errors import DefinitionError
from partita.keys import AssetKey
from partita.sql.cache import SqlCache
from partita.sql.declare import model_asset
from partita.sql.errors import SqlModelError
from partita.sql.header import Header, split_header
from partita.sql.model import SqlModel

if TYPE_CHECKING:
    from sqlglot import exp

__all__ = ["LoadedModels", "load_folders"]


@dataclass
class LoadedModels:
    """The assets of the loaded files, and the expressions parsed on the way (by key)."""

    specs: list[AssetSpec] = field(default_factory=list)
    parsed: dict[AssetKey, exp.Query] = field(default_factory=dict)


def _shown(path: Path) -> str:
    try:
        return os.path.relpath(path)
    except ValueError:
        return str(path)


def _key(header: Header, path: Path, folder: Path, where: str) -> AssetKey:
    name = header.get("name")
    try:
        if name is not None:
            return AssetKey(str(name).replace(".", "/"))
        return AssetKey(path.relative_to(folder).with_suffix("").as_posix())
    except DefinitionError as exc:
        raise SqlModelError(where, 1, 1, f"not a valid asset key: {exc.message}") from None


def _model(
    text: str, dialect: str, where: str, cache: SqlCache
) -> tuple[SqlModel, exp.Query | None]:
    """The model of a file's query (from the cache, or parsed: then with its expression)."""
    digest = hashlib.sha256(f"{dialect}\0{where}\0{text}".encode()).hexdigest()
    found = cache.get("parse:" + digest)
    if found is not None:
        return replace(SqlModel.from_json(found), source_text=text), None
    from partita.sql.parse import parse_query  # noqa: PLC0415 - sqlglot: on a miss only

    parsed = parse_query(text, dialect, where=where, path=where)
    cache.put("parse:" + digest, parsed.model.to_json())
    return parsed.model, parsed.expression


def _options(header: Header) -> dict[str, Any]:
    owners = header.get("owners", ())
    return {
        "partitions": header.get("partitions"),
        "mappings": header.get("mappings"),
        "checks": tuple(header.get("checks", ()) or ()),
        "group": str(header.get("group", "default")),
        "owners": (owners,) if isinstance(owners, str) else tuple(owners),
        "tags": {str(k): str(v) for k, v in dict(header.get("tags", {}) or {}).items()},
        "description": str(header.get("description", "")),
        "store": header.get("store"),
    }


def load_folders(folders: Iterable[Path], cache: SqlCache) -> LoadedModels:
    """The SQL assets of every ``.sql`` file under ``folders``.

    Raises:
        SqlModelError: a file's header or query is wrong (with file, line, column).
        DefinitionError: a folder does not exist.
    """
    out = LoadedModels()
    for folder in folders:
        if not folder.is_dir():
            raise DefinitionError(
                f"SQL model folder {_shown(folder)} does not exist",
                hint="Definitions(sql=[...]) takes folders relative to the definitions file",
            )
        for path in sorted(folder.rglob("*.sql")):
            where = _shown(path)
            text = path.read_text(encoding="utf-8")
            header, query = split_header(text, where)
            dialect = str(header.get("dialect", "duckdb")).lower()
            key = _key(header, path, folder, where)
            model, expression = _model(query, dialect, where, cache)
            if expression is not None:
                out.parsed[key] = expression
            try:
                spec = model_asset(model, key, where=where, **_options(header))
            except SqlModelError:
                raise
            except DefinitionError as exc:
                raise SqlModelError(where, 1, 1, exc.message, hint=exc.hint) from None
            out.specs.append(spec)
    return out
