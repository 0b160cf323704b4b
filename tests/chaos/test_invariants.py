"""The campaign's invariants catch what they claim to (so a green campaign means something)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from partita.io import write_partition
from tests.chaos import pipeline
from tests.chaos.invariants import (
    catalog_integrity,
    catalog_matches_store,
    every_partition_published,
    no_live_processes,
    nothing_planned,
    published_data_is_clean,
)
from tests.chaos.processes import kill_marked, marked_processes
from tests.chaos.project import ChaosProject, StoreKind

pytestmark = pytest.mark.chaos


@pytest.mark.parametrize("store_kind", ["parquet", "duckdb"])
def test_a_clean_build_passes_and_tampering_is_caught(
    store_kind: StoreKind, tmp_path: Path
) -> None:
    project = ChaosProject.create(tmp_path / "project", store_kind)
    assert project.run(["materialize", "--executor", "inprocess"], marker="build") == 0
    store = project.store()
    clean = {1: pipeline.expected_frames(1), 2: pipeline.expected_frames(2)}
    assert published_data_is_clean(store, clean, 1) == []
    assert every_partition_published(store) == []
    assert catalog_matches_store(project, store) == []
    assert catalog_integrity(project) == []
    assert nothing_planned(project, "plan-clean") == []

    day = "2025-01-05"
    write_partition(store, "clean", (("date", day),), clean[2]["clean"][day])
    store.delete("rolling", (("date", "2025-01-07"),))
    found = [str(v) for v in published_data_is_clean(store, clean, 1)]
    assert found == [
        "[published data is clean] clean[2025-01-05] holds the output of code variant 2, "
        f"not variant 1's ({len(clean[2]['clean'][day])} rows)"
    ]
    missing = [str(v) for v in every_partition_published(store)]
    assert missing == ["[complete after rerun] rolling: 1 missing: ['2025-01-07']"]
    disagreement = [str(v) for v in catalog_matches_store(project, store)]
    assert disagreement == [
        "[catalog matches store] recorded but not stored: 1: rolling[2025-01-07]"
    ]


def test_a_live_marked_process_is_an_orphan(tmp_path: Path) -> None:
    project = ChaosProject.create(tmp_path / "project", "parquet")
    env = project.environment("marked-sleeper", step_s=0)
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], env=env)
    try:
        deadline = time.monotonic() + 10
        while not marked_processes("marked-sleeper") and time.monotonic() < deadline:
            time.sleep(0.05)
        found = no_live_processes("marked-sleeper", 5.0)
        assert len(found) == 1
        assert f"pid {sleeper.pid}" in found[0].detail
        assert no_live_processes("another-marker", 5.0) == []
    finally:
        assert [p.pid for p in kill_marked("marked-sleeper")] == [sleeper.pid]
        sleeper.wait()
    assert no_live_processes("marked-sleeper", 5.0) == []
