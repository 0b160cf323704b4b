"""The chaos campaign's pytest wiring: one test per trial seed, and out of the default run.

Tests marked ``chaos`` are deselected unless the run asks for them: by naming
this folder (``pytest tests/chaos``, what ``make chaos`` runs) or a marker
expression that mentions ``chaos`` (``pytest -m chaos``).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.chaos.trials import TrialSpec, campaign_seeds

HERE = Path(__file__).resolve().parent


def _asked_for(config: pytest.Config) -> bool:
    if "chaos" in (config.option.markexpr or ""):
        return True
    origin = config.invocation_params.dir
    for arg in config.args:
        path = (origin / arg.split("::", 1)[0]).resolve()
        if path == HERE or HERE in path.parents:
            return True
    return False


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Leave the chaos tests out of a run that did not ask for them."""
    if _asked_for(config):
        return
    chaos = [item for item in items if item.get_closest_marker("chaos") is not None]
    if chaos:
        config.hook.pytest_deselected(items=chaos)
        items[:] = [item for item in items if item.get_closest_marker("chaos") is None]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """One ``chaos_trial`` per seed of the campaign."""
    if "chaos_trial" in metafunc.fixturenames:
        specs = [TrialSpec.from_seed(seed) for seed in campaign_seeds()]
        metafunc.parametrize("chaos_trial", specs, ids=[spec.id for spec in specs])


def pytest_report_header(config: pytest.Config) -> str:
    """The campaign's seeds, so any run can be replayed."""
    seeds = campaign_seeds()
    return (
        f"chaos: {len(seeds)} trials, seeds {seeds[0]}..{seeds[-1]} "
        f"(replay: make chaos N={len(seeds)} SEED={seeds[0]})"
    )
