"""`make demo` keeps working: the example project's tour runs end to end.

The script runs as `make demo` runs it (bash, the installed `partita`), on a
copy of example_project/ in a temporary folder, so the repository is untouched.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "example_project"


@pytest.mark.slow
def test_the_demo_tour_runs_end_to_end(tmp_path: Path) -> None:
    folder = tmp_path / "example_project"
    shutil.copytree(EXAMPLE, folder, ignore=shutil.ignore_patterns(".partita", "data"))
    partita = Path(sys.executable).with_name("partita")
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
    result = subprocess.run(
        ["bash", str(folder / "run_demo.sh"), str(partita)],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    out = result.stdout
    # the correction makes exactly that day and the rolling windows reading it stale
    assert "rolling_revenue" in out and "2025-01-07" in out
    assert "155 fresh, 0 stale, 0 missing, 0 failed" in out
    assert "1 late" in out  # freshness: the policy is violated today, exit 1 as designed
