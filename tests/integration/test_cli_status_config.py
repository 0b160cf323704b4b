"""``partita status`` / ``freshness`` / the web page with run-time config, as a user runs them.

The project has ``pull``, whose config has a field without a default (``token``), and
``report``, whose config has a default region. One run built both with ``-c``. The
read-only questions never fail on the missing token: ``pull`` is judged without
comparing its config, and says so; ``report`` was built with another region than
the declared one, which ``plan`` rebuilds, so it is stale, and the note says which
config was judged and which run built it. ``-c`` / ``--config`` judge with a config.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_cli, write_project
from tests.integration.web_support import Served, serve

PROJECT = """
import pandas as pd
from pydantic import BaseModel, SecretStr
from partita import Definitions, Freshness, asset


class Region(BaseModel):
    region: str = "eu"


class Api(BaseModel):
    token: str
    password: SecretStr = SecretStr("default-secret")
    limit: int = 10


@asset(freshness=Freshness(max_lag="26h"))
def report(config: Region) -> pd.DataFrame:
    return pd.DataFrame({"region": [config.region]})


@asset(freshness=Freshness(max_lag="26h"))
def pull(config: Api) -> pd.DataFrame:
    return pd.DataFrame({"n": [config.limit]})


@asset
def summary(pull: pd.DataFrame, report: pd.DataFrame) -> pd.DataFrame:
    return pull


defs = Definitions(assets=[report, pull, summary], executor="inprocess")
"""

RUN_CONFIG = ("-c", "region=us", "-c", "pull.token=abc", "-c", "pull.password=hunter2")


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = write_project(tmp_path_factory.mktemp("status_config") / "shop", PROJECT)
    run_cli(["materialize", *RUN_CONFIG], folder, check=True)
    return folder


def _json(project: Path, *args: str, code: int = 0) -> dict[str, Any]:
    result = run_cli([*args, "--json"], project)
    assert result.returncode == code, result.stdout + result.stderr
    data = json.loads(result.stdout)
    assert isinstance(data, dict)
    return data


def _by_asset(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {a["asset"]: a for a in data["assets"]}


def test_status_judges_without_the_missing_value_and_says_so(project: Path) -> None:
    result = run_cli(["status"], project)
    assert result.returncode == 0, result.stderr
    assert "error" not in result.stderr
    lines = result.stdout.splitlines()
    assert (
        "pull: config not compared: token has no default and none was given "
        "(pass -c pull.token=VALUE or --config FILE)" in lines
    )
    (note,) = [line for line in lines if line.startswith("report: ")]
    assert 'judged with the declared defaults {"region": "eu"}' in note
    assert '"region": "us"' in note and "pass that config with -c/--config" in note
    assert "hunter2" not in result.stdout  # the run's secret is recorded masked
    assets = _by_asset(_json(project, "status"))
    assert assets["pull"]["fresh"] == 1 and assets["pull"]["config_note"].startswith(
        "config not compared: token"
    )
    assert assets["report"]["stale"] == 1 and "region" in assets["report"]["config_note"]
    assert assets["summary"]["stale"] == 1 and assets["summary"]["config_note"] is None


def test_freshness_judges_lateness_and_reports_the_config_change(project: Path) -> None:
    data = _json(project, "freshness", code=1)  # report: stale (config_changed), by design
    assets = _by_asset(data)
    assert assets["pull"]["status"] == "fresh"
    assert assets["pull"]["config_note"].startswith("config not compared")
    assert assets["report"]["status"] == "stale"
    assert "config_changed" in assets["report"]["reason"]
    assert "judged with the declared defaults" in assets["report"]["config_note"]


def test_status_and_freshness_take_the_config_a_run_was_given(
    project: Path, tmp_path: Path
) -> None:
    assets = _by_asset(_json(project, "status", *RUN_CONFIG))
    assert {name: item["fresh"] for name, item in assets.items()} == {
        "report": 1,
        "pull": 1,
        "summary": 1,
    }
    assert all(item["config_note"] is None for item in assets.values())
    config = tmp_path / "run.toml"
    config.write_text('region = "us"\n[pull]\ntoken = "abc"\n', encoding="utf-8")
    data = _json(project, "freshness", "--config", str(config))
    assert data["violated"] is False
    assert {a["status"] for a in data["assets"]} == {"fresh", "no_policy"}
    # another token than the run's: judged with it, pull is stale for its config
    other = _by_asset(_json(project, "status", "pull", "-c", "pull.token=other"))
    assert other["pull"]["stale"] == 1
    assert other["pull"]["config_note"].startswith('judged with the config given {"limit": 10')
    assert "**********" in other["pull"]["config_note"]
    assert "default-secret" not in other["pull"]["config_note"]


def test_bad_config_is_one_error_and_plan_still_requires_the_value(project: Path) -> None:
    wrong = run_cli(["status", "-c", "regon=us"], project)
    assert wrong.returncode != 0 and "Traceback" not in wrong.stderr
    assert "did you mean 'region'?" in wrong.stderr
    plan = run_cli(["plan"], project)  # plan and materialize build with it: unchanged
    assert plan.returncode != 0
    assert "config of pull (Api): token: Field required" in plan.stderr


def test_the_python_api_takes_config_too(project: Path) -> None:
    from partita.api import freshness_report, load_project, status_report  # noqa: PLC0415

    loaded = load_project(cwd=project)
    given = {"region": "us", "pull.token": "abc"}
    assert freshness_report(loaded, config=given).violated is False
    report = status_report(loaded, "report")
    (item,) = report.assets
    assert len(item.stale) == 1 and item.config_note is not None


@pytest.fixture(scope="module")
def server(project: Path) -> Iterator[Served]:
    with serve(project) as served:
        yield served


def test_the_web_page_judges_without_the_missing_value(server: Served) -> None:
    graph = server.json("/api/graph")
    assets = _by_asset(graph["status"])
    assert assets["pull"]["config_note"].startswith("config not compared")
    assert graph["health"] == {"pull": "fresh", "report": "stale", "summary": "stale"}
    pull = server.json("/api/asset?key=pull")
    assert pull["health"] == "fresh"
    assert pull["freshness"]["status"] == "fresh"
    assert pull["freshness"]["config_note"].startswith("config not compared")
    assert pull["status"]["config_note"] == pull["freshness"]["config_note"]
    report = server.json("/api/asset?key=report")
    assert report["plan"]["steps"][0]["reasons"][0]["reason"] == "config_changed"
    assert "declared defaults" in report["freshness"]["config_note"]
    why = server.json("/api/explain?asset=summary")
    assert why["asset"] == "summary" and why["status"] == "planned"
    status, page = server.get("/asset?key=pull")
    assert status == 200 and "config not compared" in page
