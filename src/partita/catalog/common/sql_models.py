"""The SQL model each materialization of a SQL asset was built with (schema version 8).

A model is recorded once (``sql_models``, keyed by a digest of its content: the
dialect, the normalized query and the column lineage as JSON), and each
materialization points at its model (``materialization_sql_models``). Written in
the same transaction as the materializations (:func:`insert_sql_models`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable

from partita.catalog.common.db import SqlConnection

__all__ = ["insert_sql_models", "sql_model_of"]

_INSERT_MODEL = """
INSERT INTO sql_models (digest, dialect, query, column_lineage) VALUES (?, ?, ?, ?)
ON CONFLICT (digest) DO NOTHING
"""

_INSERT_LINK = """
INSERT INTO materialization_sql_models (materialization_id, digest) VALUES (?, ?)
ON CONFLICT (materialization_id) DO UPDATE SET digest = excluded.digest
"""


def _row(text: str) -> tuple[str, str, str, str]:
    data = json.loads(text)
    lineage = json.dumps(data.get("column_lineage", []), separators=(",", ":"))
    dialect, query = str(data["dialect"]), str(data["query"])
    digest = hashlib.sha256(f"{dialect}\0{query}\0{lineage}".encode()).hexdigest()[:32]
    return digest, dialect, query, lineage


def insert_sql_models(conn: SqlConnection, items: Iterable[tuple[int, str]]) -> None:
    """Record ``(materialization id, model JSON)`` pairs; the JSON holds ``dialect``,
    ``query`` and ``column_lineage`` (see :meth:`partita.sql.SqlModel.record_json`)."""
    models: dict[str, tuple[str, str, str, str]] = {}
    links: list[tuple[int, str]] = []
    for mid, text in items:
        row = _row(text)
        models.setdefault(row[0], row)
        links.append((mid, row[0]))
    if links:
        conn.executemany(_INSERT_MODEL, models.values())
        conn.executemany(_INSERT_LINK, links)


def sql_model_of(conn: SqlConnection, materialization_id: int) -> dict[str, object] | None:
    """The model a materialization was built with: ``{"dialect", "query",
    "column_lineage"}`` (the lineage as a list), or ``None`` (not a SQL asset's build)."""
    row = conn.execute(
        """SELECT m.dialect, m.query, m.column_lineage FROM materialization_sql_models AS l
        JOIN sql_models AS m ON m.digest = l.digest WHERE l.materialization_id = ?""",
        (materialization_id,),
    ).fetchone()
    if row is None:
        return None
    return {"dialect": row[0], "query": row[1], "column_lineage": json.loads(row[2])}
