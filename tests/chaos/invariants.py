"""The invariants a chaos trial checks, each returning the violations it found.

Every function returns a list of :class:`Violation` (empty when the invariant
holds) instead of asserting, so a trial reports every broken invariant at
once, with the trial's seed, store, executor, kill target and moment.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping
from contextlib import closing
from dataclasses import dataclass
from typing import Any

import pandas as pd

from partita.catalog import open_existing_catalog
from partita.io import PartitionPath, Store
from tests.chaos import pipeline
from tests.chaos.processes import marked_processes
from tests.chaos.project import ChaosProject

__all__ = [
    "Frames",
    "Violation",
    "catalog_integrity",
    "catalog_matches_store",
    "every_partition_published",
    "no_live_processes",
    "nothing_planned",
    "published_data_is_clean",
]

Frames = Mapping[str, Mapping[str, pd.DataFrame]]
"""What a clean build publishes: ``{asset: {day: rows}}``
(:func:`tests.chaos.pipeline.expected_frames`)."""


@dataclass(frozen=True)
class Violation:
    """One broken invariant.

    Attributes:
        invariant: which one (a short, stable name).
        detail: what was found.
    """

    invariant: str
    detail: str

    def __str__(self) -> str:
        return f"[{self.invariant}] {self.detail}"


def _day(partition: PartitionPath) -> str:
    return dict(partition).get("date", "?")


def catalog_integrity(project: ChaosProject) -> list[Violation]:
    """SQLite's ``PRAGMA integrity_check`` of the catalog says ``ok``."""
    if not project.catalog_path.exists():
        return []
    uri = f"file:{project.catalog_path}?mode=ro"
    try:
        with closing(sqlite3.connect(uri, uri=True)) as connection:
            rows = connection.execute("PRAGMA integrity_check").fetchall()
    except sqlite3.Error as exc:
        return [Violation("catalog integrity", f"integrity_check could not run: {exc}")]
    found = [str(row[0]) for row in rows]
    if found == ["ok"]:
        return []
    return [Violation("catalog integrity", "; ".join(found[:5]))]


def _rows(frame: pd.DataFrame, columns: list[str]) -> dict[str, list[Any]]:
    ordered = frame[columns].sort_values(columns[0], kind="stable").reset_index(drop=True)
    return {column: ordered[column].tolist() for column in columns}


def _matches(stored: pd.DataFrame, expected: pd.DataFrame) -> bool:
    columns = list(expected.columns)
    if not set(columns) <= set(stored.columns):
        return False
    return _rows(stored, columns) == _rows(expected, columns)


def published_data_is_clean(
    store: Store, variants: Mapping[int, Frames], current: int
) -> list[Violation]:
    """Every published partition is readable and equal to a clean build of ``current``.

    ``variants`` holds the clean builds of every code variant the project had,
    so a partition holding an older variant's output is named as such.
    """
    found: list[Violation] = []
    expected = variants[current]
    for asset in pipeline.ASSETS:
        try:
            partitions = store.list_partitions(asset)
        except Exception as exc:
            found.append(Violation("published data readable", f"{asset}: listing failed: {exc}"))
            continue
        for partition in partitions:
            day = _day(partition)
            label = f"{asset}[{day}]"
            try:
                stored = store.read(asset, [partition], pd.DataFrame)
            except Exception as exc:
                found.append(Violation("published data readable", f"{label}: {exc!r}"))
                continue
            if day not in expected[asset]:
                found.append(Violation("published data is clean", f"{label}: not a partition"))
            elif not _matches(stored, expected[asset][day]):
                like = [v for v, frames in variants.items() if _matches(stored, frames[asset][day])]
                what = f"the output of code variant {like[0]}" if like else "no clean build"
                found.append(
                    Violation(
                        "published data is clean",
                        f"{label} holds {what}, not variant {current}'s ({len(stored)} rows)",
                    )
                )
    return found


def every_partition_published(store: Store) -> list[Violation]:
    """After a complete run, every partition of every asset is published."""
    found: list[Violation] = []
    for asset in pipeline.ASSETS:
        stored = {_day(p) for p in store.list_partitions(asset)}
        missing = sorted(set(pipeline.all_days()) - stored)
        if missing:
            found.append(
                Violation("complete after rerun", f"{asset}: {len(missing)} missing: {missing[:5]}")
            )
    return found


def catalog_matches_store(project: ChaosProject, store: Store) -> list[Violation]:
    """Every current materialization the catalog records is stored, and every stored
    partition is recorded."""
    catalog = open_existing_catalog(project.catalog_path)
    if catalog is None:
        return [Violation("catalog matches store", "no catalog")]
    with catalog:
        latest = catalog.planner_state(list(pipeline.ASSETS)).latest.to_pylist()
    recorded = {(str(row["asset"]), str(row["partition"])) for row in latest if row["data_version"]}
    stored = {
        (asset, _day(partition))
        for asset in pipeline.ASSETS
        for partition in store.list_partitions(asset)
    }
    found: list[Violation] = []
    if unstored := sorted(recorded - stored):
        found.append(
            Violation("catalog matches store", f"recorded but not stored: {_labels(unstored)}")
        )
    if unrecorded := sorted(stored - recorded):
        found.append(
            Violation("catalog matches store", f"stored but not recorded: {_labels(unrecorded)}")
        )
    return found


def _labels(pairs: list[tuple[str, str]]) -> str:
    shown = ", ".join(f"{asset}[{day}]" for asset, day in pairs[:6])
    return f"{len(pairs)}: {shown}" + (" ..." if len(pairs) > 6 else "")


def nothing_planned(project: ChaosProject, marker: str) -> list[Violation]:
    """``partita plan --json`` has nothing to do."""
    status = project.run(["plan", "--json"], marker=marker)
    text = (project.folder / f"{marker}.out").read_text(encoding="utf-8")
    if status != 0:
        return [Violation("plan says up to date", f"exit {status}: {project.output(marker)}")]
    plan = json.loads(text)
    if plan["total_partitions"] == 0:
        return []
    steps = ", ".join(f"{s['asset']} x{s['count']}" for s in plan["steps"])
    return [Violation("plan says up to date", f"{plan['total_partitions']} planned: {steps}")]


def no_live_processes(marker: str, seconds_after_end: float) -> list[Violation]:
    """No process of the killed run (marked ``marker``) is alive any more,
    ``seconds_after_end`` after its coordinator ended (was killed, or exited)."""
    alive = marked_processes(marker)
    if not alive:
        return []
    listed = "; ".join(p.describe() for p in alive)
    return [
        Violation(
            "no orphan process",
            f"{len(alive)} alive {seconds_after_end:.1f}s after the killed run's "
            f"coordinator ended: {listed}",
        )
    ]
