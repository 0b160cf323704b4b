"""The catalog's schema: versioned forward migrations in portable SQL.

Each migration is a list of statements applied in one transaction, after
which ``schema_version`` holds its number. A catalog file created by any
earlier version of Partita is upgraded when opened; a file written by a newer
version is refused (it may hold tables this version does not know how to keep
consistent).

The SQL avoids SQLite-only features where a portable form exists (UPSERT with
``ON CONFLICT``, recursive CTEs and partial indexes all exist in PostgreSQL);
``WITHOUT ROWID`` is the one SQLite storage hint and is dropped for other
databases. Migrations that fill hash columns from existing rows call
``partita_partition_hash`` and the aggregate ``partita_combine_hashes``,
which :func:`register_functions` defines on the connection (the Python
definitions of :mod:`partita.records`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass

from partita.errors import CatalogError
from partita.records import combine_hashes, partition_hash

__all__ = [
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "Migration",
    "migrate",
    "register_functions",
    "schema_version",
]


@dataclass(frozen=True, slots=True)
class Migration:
    """One forward step of the schema: the version it creates and its statements."""

    version: int
    description: str
    statements: tuple[str, ...]


_V1 = Migration(
    1,
    "runs, step attempts, materializations, inputs, checks, observations, dynamic partitions",
    (
        """CREATE TABLE runs (
            run_id TEXT PRIMARY KEY,
            status TEXT NOT NULL,
            started_at REAL NOT NULL,
            finished_at REAL,
            heartbeat_at REAL,
            selection TEXT NOT NULL DEFAULT '[]',
            partitions TEXT NOT NULL DEFAULT '[]',
            config TEXT NOT NULL DEFAULT '{}',
            host TEXT NOT NULL DEFAULT '',
            pid INTEGER NOT NULL DEFAULT 0,
            partita_version TEXT NOT NULL DEFAULT '',
            error TEXT
        )""",
        "CREATE INDEX runs_by_start ON runs (started_at)",
        "CREATE INDEX runs_by_status ON runs (status)",
        """CREATE TABLE step_attempts (
            id INTEGER PRIMARY KEY,
            run_id TEXT NOT NULL REFERENCES runs (run_id),
            asset TEXT NOT NULL,
            partition TEXT NOT NULL,
            attempt INTEGER NOT NULL,
            status TEXT NOT NULL,
            started_at REAL NOT NULL,
            finished_at REAL,
            error TEXT,
            logs TEXT NOT NULL DEFAULT '',
            UNIQUE (run_id, asset, partition, attempt)
        )""",
        "CREATE INDEX step_attempts_by_partition ON step_attempts (asset, partition, id)",
        """CREATE TABLE materializations (
            id INTEGER PRIMARY KEY,
            asset TEXT NOT NULL,
            partition TEXT NOT NULL,
            run_id TEXT NOT NULL REFERENCES runs (run_id),
            code_version TEXT NOT NULL,
            config_hash TEXT NOT NULL,
            data_version TEXT NOT NULL,
            input_fingerprint TEXT NOT NULL,
            rows INTEGER,
            bytes INTEGER,
            schema TEXT,
            location TEXT,
            created_at REAL NOT NULL
        )""",
        "CREATE INDEX materializations_by_partition ON materializations (asset, partition, id)",
        "CREATE INDEX materializations_by_run ON materializations (run_id)",
        """CREATE TABLE inputs (
            materialization_id INTEGER NOT NULL REFERENCES materializations (id),
            upstream_asset TEXT NOT NULL,
            upstream_partition TEXT NOT NULL,
            upstream_materialization_id INTEGER REFERENCES materializations (id),
            upstream_data_version TEXT NOT NULL,
            PRIMARY KEY (materialization_id, upstream_asset, upstream_partition)
        ) WITHOUT ROWID""",
        "CREATE INDEX inputs_by_upstream ON inputs (upstream_materialization_id)",
        """CREATE TABLE check_results (
            id INTEGER PRIMARY KEY,
            run_id TEXT REFERENCES runs (run_id),
            materialization_id INTEGER REFERENCES materializations (id),
            asset TEXT NOT NULL,
            partition TEXT NOT NULL,
            check_name TEXT NOT NULL,
            passed INTEGER NOT NULL,
            severity TEXT NOT NULL,
            message TEXT NOT NULL,
            created_at REAL NOT NULL
        )""",
        "CREATE INDEX check_results_by_partition ON check_results (asset, partition, id)",
        "CREATE INDEX check_results_by_materialization ON check_results (materialization_id)",
        """CREATE TABLE observations (
            id INTEGER PRIMARY KEY,
            asset TEXT NOT NULL,
            partition TEXT NOT NULL,
            data_version TEXT NOT NULL,
            observed_at REAL NOT NULL,
            run_id TEXT
        )""",
        "CREATE INDEX observations_by_partition ON observations (asset, partition, id)",
        """CREATE TABLE dynamic_partitions (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL,
            partition_key TEXT NOT NULL,
            UNIQUE (name, partition_key)
        )""",
    ),
)

_V2 = Migration(
    2,
    "latest-materialization pointer per partition (derived, kept in the insert's "
    "transaction) and an index of failed attempts, for the planner's bulk state",
    (
        """CREATE TABLE latest_materialization (
            asset TEXT NOT NULL,
            partition TEXT NOT NULL,
            materialization_id INTEGER NOT NULL REFERENCES materializations (id),
            data_version TEXT NOT NULL,
            code_version TEXT NOT NULL,
            config_hash TEXT NOT NULL,
            input_fingerprint TEXT NOT NULL,
            run_id TEXT NOT NULL,
            created_at REAL NOT NULL,
            PRIMARY KEY (asset, partition)
        ) WITHOUT ROWID""",
        """INSERT INTO latest_materialization
            SELECT m.asset, m.partition, m.id, m.data_version, m.code_version, m.config_hash,
                   m.input_fingerprint, m.run_id, m.created_at
            FROM materializations m
            JOIN (SELECT MAX(id) AS id FROM materializations GROUP BY asset, partition) newest
              ON newest.id = m.id""",
        """CREATE INDEX step_attempts_failed ON step_attempts (asset, partition, id)
            WHERE status IN ('failed', 'timed_out')""",
    ),
)

_V3 = Migration(
    3,
    "integer hashes for vectorized staleness: output_hash of every materialization and "
    "observation, one input edge per (materialization, upstream asset) with a combined "
    "fingerprint, the catalog's identity and generation for state snapshots, partition leases",
    (
        "ALTER TABLE materializations ADD COLUMN output_hash INTEGER NOT NULL DEFAULT 0",
        "UPDATE materializations "
        "SET output_hash = partita_partition_hash(asset, partition, data_version)",
        "ALTER TABLE materializations DROP COLUMN input_fingerprint",
        "ALTER TABLE observations ADD COLUMN output_hash INTEGER NOT NULL DEFAULT 0",
        "UPDATE observations "
        "SET output_hash = partita_partition_hash(asset, partition, data_version)",
        "DROP TABLE latest_materialization",
        """CREATE TABLE latest_materialization (
            asset TEXT NOT NULL,
            partition TEXT NOT NULL,
            materialization_id INTEGER NOT NULL REFERENCES materializations (id),
            data_version TEXT NOT NULL,
            code_version TEXT NOT NULL,
            config_hash TEXT NOT NULL,
            output_hash INTEGER NOT NULL,
            run_id TEXT NOT NULL,
            created_at REAL NOT NULL,
            PRIMARY KEY (asset, partition)
        ) WITHOUT ROWID""",
        """INSERT INTO latest_materialization
            SELECT m.asset, m.partition, m.id, m.data_version, m.code_version, m.config_hash,
                   m.output_hash, m.run_id, m.created_at
            FROM materializations m
            JOIN (SELECT MAX(id) AS id FROM materializations GROUP BY asset, partition) newest
              ON newest.id = m.id""",
        "CREATE INDEX latest_materialization_by_id ON latest_materialization (materialization_id)",
        """CREATE TABLE input_edges (
            materialization_id INTEGER NOT NULL REFERENCES materializations (id),
            upstream_asset TEXT NOT NULL,
            n_inputs INTEGER NOT NULL,
            fingerprint INTEGER NOT NULL,
            PRIMARY KEY (materialization_id, upstream_asset)
        ) WITHOUT ROWID""",
        """INSERT INTO input_edges
            SELECT materialization_id, upstream_asset, COUNT(*),
                   partita_combine_hashes(partita_partition_hash(
                       upstream_asset, upstream_partition, upstream_data_version))
            FROM inputs GROUP BY materialization_id, upstream_asset""",
        """CREATE TABLE catalog_meta (
            key TEXT PRIMARY KEY,
            value TEXT NOT NULL
        )""",
        "INSERT INTO catalog_meta (key, value) VALUES ('catalog_id', lower(hex(randomblob(16))))",
        "INSERT INTO catalog_meta (key, value) VALUES ('generation', '1')",
        """CREATE TABLE partition_leases (
            asset TEXT NOT NULL,
            partition TEXT NOT NULL,
            run_id TEXT NOT NULL REFERENCES runs (run_id),
            acquired_at REAL NOT NULL,
            expires_at REAL NOT NULL,
            PRIMARY KEY (asset, partition)
        ) WITHOUT ROWID""",
        "CREATE INDEX partition_leases_by_run ON partition_leases (run_id)",
    ),
)

_V4 = Migration(
    4,
    "check results in full (kind, attempt, failing / total rows, failing fraction, up to 5 "
    "sample rows and metadata as JSON) indexed for the latest result per check and "
    "partition; the kind of a run (materialize, or check: checks of published data)",
    (
        "ALTER TABLE check_results ADD COLUMN kind TEXT NOT NULL DEFAULT ''",
        "ALTER TABLE check_results ADD COLUMN attempt INTEGER",
        "ALTER TABLE check_results ADD COLUMN failing_rows INTEGER",
        "ALTER TABLE check_results ADD COLUMN total_rows INTEGER",
        "ALTER TABLE check_results ADD COLUMN failing_fraction REAL",
        "ALTER TABLE check_results ADD COLUMN sample TEXT NOT NULL DEFAULT '[]'",
        "ALTER TABLE check_results ADD COLUMN metadata TEXT NOT NULL DEFAULT '{}'",
        "CREATE INDEX check_results_by_check ON check_results (asset, check_name, partition, id)",
        "CREATE INDEX check_results_by_run ON check_results (run_id)",
        "ALTER TABLE runs ADD COLUMN kind TEXT NOT NULL DEFAULT 'materialize'",
    ),
)

_V5 = Migration(
    5,
    "the components of each computed code version (the function body, and the project "
    "helpers, classes and constants it references, with their digests) as a JSON object, "
    "so a changed code version can be explained",
    (
        """CREATE TABLE code_components (
            code_version TEXT PRIMARY KEY,
            components TEXT NOT NULL
        ) WITHOUT ROWID""",
    ),
)

_V6 = Migration(
    6,
    "wipes: each partition whose stored data `partita wipe` deleted, with the "
    "materialization it cleared (partition NULL: the whole asset); a wipe removes the "
    "partition's latest_materialization row, so the planner sees it as missing",
    (
        """CREATE TABLE wipes (
            id INTEGER PRIMARY KEY,
            asset TEXT NOT NULL,
            partition TEXT,
            materialization_id INTEGER REFERENCES materializations (id),
            wiped_at REAL NOT NULL
        )""",
        "CREATE INDEX wipes_by_partition ON wipes (asset, partition, wiped_at)",
    ),
)

_V7 = Migration(
    7,
    "state blocks: per asset, its latest rows and their edges as Arrow IPC streams "
    "with their checksum, "
    "valid for the materializations up to catalog_meta's state_max_id in its "
    "state_generation (a derived cache, written when a state load read many rows; "
    "an empty table is always correct)",
    (
        """CREATE TABLE state_blocks (
            asset TEXT PRIMARY KEY,
            latest BLOB NOT NULL,
            edges BLOB NOT NULL,
            checksum INTEGER NOT NULL
        )""",
    ),
)

_V8 = Migration(
    8,
    "SQL models: each distinct (dialect, normalized query, column lineage) a SQL asset was "
    "built with, content-addressed, and the model of each materialization of a SQL asset",
    (
        """CREATE TABLE IF NOT EXISTS sql_models (
            digest TEXT PRIMARY KEY,
            dialect TEXT NOT NULL,
            query TEXT NOT NULL,
            column_lineage TEXT NOT NULL
        ) WITHOUT ROWID""",
        """CREATE TABLE IF NOT EXISTS materialization_sql_models (
            materialization_id INTEGER PRIMARY KEY REFERENCES materializations (id),
            digest TEXT NOT NULL REFERENCES sql_models (digest)
        )""",
    ),
)

_V9 = Migration(
    9,
    "concurrency pool slots (one row per running step of a pooled asset, live while its "
    "run is and until expires_at, renewed with the run's leases) and the freshness-alert "
    "state of each asset (violated or not, so an alert is sent once per violation and "
    "once on recovery, across restarts)",
    (
        """CREATE TABLE pool_slots (
            run_id TEXT NOT NULL REFERENCES runs (run_id),
            asset TEXT NOT NULL,
            partition TEXT NOT NULL,
            pool TEXT NOT NULL,
            acquired_at REAL NOT NULL,
            expires_at REAL NOT NULL,
            PRIMARY KEY (run_id, asset, partition)
        )""",
        "CREATE INDEX pool_slots_by_pool ON pool_slots (pool)",
        """CREATE TABLE freshness_alert_states (
            asset TEXT PRIMARY KEY,
            violated INTEGER NOT NULL,
            status TEXT NOT NULL,
            changed_at REAL NOT NULL
        )""",
    ),
)

_V10 = Migration(
    10,
    "the daemon's records: every tick and sensor evaluation (automation_ticks), the "
    "cursor of each schedule and sensor, the files each file sensor handled, and the "
    "project's daemon lock (one row per project: holder, pid, since, heartbeat)",
    (
        """CREATE TABLE automation_ticks (
            id INTEGER PRIMARY KEY,
            kind TEXT NOT NULL,
            name TEXT NOT NULL,
            tick_at REAL NOT NULL,
            evaluated_at REAL NOT NULL,
            status TEXT NOT NULL,
            run_ids TEXT NOT NULL DEFAULT '[]',
            covered TEXT NOT NULL DEFAULT '[]',
            detail TEXT NOT NULL DEFAULT ''
        )""",
        "CREATE INDEX automation_ticks_by_name ON automation_ticks (kind, name, id)",
        """CREATE TABLE automation_cursors (
            kind TEXT NOT NULL,
            name TEXT NOT NULL,
            cursor TEXT NOT NULL,
            updated_at REAL NOT NULL,
            PRIMARY KEY (kind, name)
        )""",
        """CREATE TABLE sensor_files (
            sensor TEXT NOT NULL,
            path TEXT NOT NULL,
            tick_id INTEGER NOT NULL REFERENCES automation_ticks (id),
            PRIMARY KEY (sensor, path)
        )""",
        """CREATE TABLE daemon_lock (
            name TEXT PRIMARY KEY,
            token TEXT NOT NULL,
            host TEXT NOT NULL,
            pid INTEGER NOT NULL,
            since REAL NOT NULL,
            heartbeat_at REAL NOT NULL
        )""",
    ),
)

_V11 = Migration(
    11,
    "state_blocks with the checksum before the blobs: reading a column stored after a "
    "blob walks the blob's overflow pages, so listing the checksums read every block "
    "once more (0.13 s for 500 MB of blocks); the blocks are copied, still valid",
    (
        """CREATE TABLE state_blocks_v11 (
            asset TEXT PRIMARY KEY,
            checksum INTEGER NOT NULL,
            latest BLOB NOT NULL,
            edges BLOB NOT NULL
        )""",
        """INSERT INTO state_blocks_v11 (asset, checksum, latest, edges)
            SELECT asset, checksum, latest, edges FROM state_blocks""",
        "DROP TABLE state_blocks",
        "ALTER TABLE state_blocks_v11 RENAME TO state_blocks",
    ),
)

MIGRATIONS: tuple[Migration, ...] = (_V1, _V2, _V3, _V4, _V5, _V6, _V7, _V8, _V9, _V10, _V11)
"""Every schema version in order; ``MIGRATIONS[i].version == i + 1``."""

SCHEMA_VERSION = MIGRATIONS[-1].version
"""The schema version this code writes."""


def schema_version(conn: sqlite3.Connection) -> int:
    """The schema version of an open catalog (0 for an empty file)."""
    exists = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'"
    ).fetchone()
    if exists is None:
        return 0
    row = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()
    return int(row[0]) if row and row[0] is not None else 0


class _CombineHashes:
    """The SQL aggregate ``partita_combine_hashes``: :func:`combine_hashes` of a group."""

    def __init__(self) -> None:
        self.values: list[int] = []

    def step(self, value: int) -> None:
        self.values.append(value)

    def finalize(self) -> int:
        return combine_hashes(self.values)


def register_functions(conn: sqlite3.Connection) -> None:
    """Define the SQL functions the migrations use on ``conn``."""
    conn.create_function(
        "partita_partition_hash",
        3,
        lambda asset, partition, version: partition_hash(str(asset), str(partition), str(version)),
        deterministic=True,
    )
    conn.create_aggregate("partita_combine_hashes", 1, _CombineHashes)


def migrate(
    conn: sqlite3.Connection,
    *,
    target: int = SCHEMA_VERSION,
    migrations: Sequence[Migration] = MIGRATIONS,
) -> int:
    """Bring the catalog to schema version ``target``; return the version it had.

    Each migration the file lacks runs in its own ``BEGIN IMMEDIATE`` transaction
    and the version is re-read inside it, so several processes opening an old
    file at once upgrade it exactly once; opening an up-to-date catalog takes no
    write lock. ``conn`` must be in autocommit mode
    (``isolation_level=None``).
    """
    found = schema_version(conn)
    if found > SCHEMA_VERSION:
        raise CatalogError(
            f"the catalog has schema version {found}, newer than this Partita "
            f"understands ({SCHEMA_VERSION})",
            hint="upgrade Partita, or point it at another catalog file",
        )
    register_functions(conn)
    for migration in migrations:
        if migration.version > target:
            break
        if migration.version <= found:  # versions only grow: no write lock to take
            continue
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            current = schema_version(conn)
            if current < migration.version:
                for statement in migration.statements:
                    conn.execute(statement)
                conn.execute(
                    "INSERT INTO schema_version (version) VALUES (?)", (migration.version,)
                )
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:  # SQLite itself rolls back after some errors (a full disk)
                conn.execute("ROLLBACK")
            raise
    return found
