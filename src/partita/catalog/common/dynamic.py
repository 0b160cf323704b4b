"""Dynamic partition keys in the catalog file, so every process sees the same keys."""

from __future__ import annotations

from collections.abc import Iterable

from partita.catalog.common.db import Database
from partita.partitions import check_dynamic_key

__all__ = ["SqlDynamicPartitions"]


class SqlDynamicPartitions:
    """The :class:`~partita.partitions.DynamicPartitionsStore` kept in the catalog."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def get(self, name: str) -> list[str]:
        """The keys of ``name`` in the order they were added (empty if none)."""
        with self._db.read() as conn:
            rows = conn.execute(
                "SELECT partition_key FROM dynamic_partitions WHERE name = ? ORDER BY id", (name,)
            ).fetchall()
        return [str(key) for (key,) in rows]

    def add(self, name: str, keys: Iterable[str]) -> list[str]:
        """Add ``keys`` to ``name`` in one transaction; return those not there before.

        Raises :class:`~partita.errors.PartitionKeyError` (adding nothing) when
        ``DynamicPartitions(name)`` rejects a key (the same rule as everywhere).
        """
        wanted = [check_dynamic_key(name, key) for key in dict.fromkeys(keys)]
        added: list[str] = []
        with self._db.write() as conn:
            for key in wanted:
                inserted = conn.execute(
                    "INSERT INTO dynamic_partitions (name, partition_key) VALUES (?, ?) "
                    "ON CONFLICT (name, partition_key) DO NOTHING",
                    (name, key),
                ).rowcount
                if inserted:
                    added.append(key)
        return added

    def delete(self, name: str, keys: Iterable[str]) -> None:
        """Remove ``keys`` from ``name`` in one transaction; absent keys are ignored.

        Keys are not checked: a stored key is always deletable, even one that
        an earlier version stored without checking it.
        """
        with self._db.write() as conn:
            conn.executemany(
                "DELETE FROM dynamic_partitions WHERE name = ? AND partition_key = ?",
                [(name, key) for key in keys],
            )
