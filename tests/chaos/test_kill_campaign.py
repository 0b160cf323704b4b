"""The kill campaign: backfills SIGKILLed at random moments, rerun, invariants checked.

Run it with ``make chaos`` (``N=`` trials, ``SEED=`` the first seed); it is not
part of the default ``pytest`` run. See docs/running.md, "The kill campaign".
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.chaos.trials import TrialSpec, run_trial

pytestmark = pytest.mark.chaos


def test_a_killed_backfill_loses_nothing_and_leaves_nothing_behind(
    chaos_trial: TrialSpec, tmp_path: Path
) -> None:
    """Kill the coordinator or a worker mid-backfill, rerun: every invariant holds."""
    kill, violations = run_trial(chaos_trial, tmp_path / "project")
    print(f"{chaos_trial.describe()}\n{kill.describe()}")  # shown by make chaos (-rA)
    if violations:
        listed = "\n".join(f"  - {v}" for v in violations)
        pytest.fail(
            f"{chaos_trial.describe()}\n{kill.describe()}\n"
            f"{len(violations)} invariant(s) broken:\n{listed}",
            pytrace=False,
        )
