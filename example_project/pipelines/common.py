"""What the example pipelines share: where their data lives and how teams are told.

Everything stays inside ``example_project/data/`` (embedded defaults: no server to
install). The DuckDB warehouse is one file; stores compare equal by path, so
pipelines that each name ``WAREHOUSE`` merge into one project without conflict.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from partita import DuckDBStore, ParquetStore
from partita.alert_targets import Alert

EXAMPLE = Path(__file__).resolve().parents[1]
"""The example project's folder."""

DATA = EXAMPLE / "data"
"""Everything the pipelines read and write, created on first use."""

WAREHOUSE = DuckDBStore(DATA / "warehouse.duckdb")
"""The analytics warehouse: one DuckDB table per asset, partitions overwritten in place."""

LAKE = ParquetStore(DATA / "lake")
"""The raw zone: Parquet files per partition, for loads kept as they arrived (one file per
day, or per day and region); the marts built from them live in the warehouse. Writing a
partition is one file renamed into place, much cheaper than a warehouse transaction."""

HOME = str(EXAMPLE / ".partita")
"""The project home (catalog) of every pipeline, run alone (``-f pipelines/x.py``) or merged:
one catalog for the one warehouse."""

NOTIFICATIONS = DATA / "notifications"
"""One JSON-lines file per team: what a chat channel or mailbox would receive."""


@dataclass(frozen=True)
class Notify:
    """An alert target (a callable) that appends each alert to ``data/notifications/<team>.jsonl``.

    A real deployment would use ``webhook(url=env("SLACK_WEBHOOK"))`` or ``email(...)``
    (see docs/alerts_and_pools.md); a file keeps the demo free of servers.
    """

    team: str

    def __call__(self, alert: Alert) -> None:
        """Record ``alert`` for the team."""
        write_notification(self.team, alert.to_json())


def write_notification(team: str, message: dict[str, object]) -> Path:
    """Append ``message`` to the team's notification file; returns the file."""
    NOTIFICATIONS.mkdir(parents=True, exist_ok=True)
    path = NOTIFICATIONS / f"{team}.jsonl"
    with path.open("a", encoding="utf-8") as out:
        out.write(json.dumps(message, sort_keys=True, default=str) + "\n")
    return path


@dataclass(frozen=True)
class PipelineAlerts:
    """A project-wide alert target (``Definitions(on_failure=...)``) for one pipeline.

    It passes on the alerts of the assets whose key starts with ``prefix`` (the
    pipeline's, ``"sales/"``) and ignores the others, so it stays the pipeline's
    own once ``Definitions.merge`` makes it project-wide. It also covers the
    pipeline's SQL models, whose ``MODEL (...)`` header has no ``on_failure``.
    """

    prefix: str
    target: Notify

    def __call__(self, alert: Alert) -> None:
        """Pass ``alert`` on when it is about one of the pipeline's assets."""
        if alert.asset.startswith(self.prefix):
            self.target(alert)
