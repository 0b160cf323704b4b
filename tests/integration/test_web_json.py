"""`partita ui`'s JSON endpoints, without a browser: a real server (a subprocess on a
free port) on the example project after a late correction; the shapes are the CLI's
``--json`` ones, compared with the CLI's own output."""

from __future__ import annotations

import json
import re
import signal
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.integration.web_support import NoRedirect, Served, corrected_example, serve

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return corrected_example(tmp_path_factory.mktemp("web_json") / "example")


@pytest.fixture(scope="module")
def server(project: Path) -> Iterator[Served]:
    with serve(project) as served:
        yield served


def cli_json(project: Path, *args: str) -> object:
    result = run_cli([*args, "--json"], project, check=True)
    return json.loads(result.stdout)


def test_graph_is_partita_graph_and_status_with_a_layout(project: Path, server: Served) -> None:
    data = server.json("/api/graph")
    assert data["graph"] == cli_json(project, "graph")
    status = cli_json(project, "status")
    assert isinstance(status, dict)
    assert [a for a in data["status"]["assets"]] == status["assets"]
    assert data["health"]["rolling_revenue"] == "stale"
    assert data["health"]["landing_orders"] == "fresh"
    positions = data["layout"]["positions"]
    # columns are dependency levels: each asset right of everything it reads
    for edge in data["graph"]["edges"]:
        assert positions[edge["upstream"]][0] < positions[edge["downstream"]][0]
    assert [g["name"] for g in data["layout"]["groups"]] == ["sales", "reporting"]
    selected = server.json("/api/graph?selection=group:sales")
    assert {n["key"] for n in selected["graph"]["nodes"]} == {
        "landing_orders",
        "raw_orders",
        "clean_orders",
    }


def test_asset_shows_the_stale_days_after_the_correction_with_reasons(server: Served) -> None:
    data = server.json("/api/asset?key=rolling_revenue")
    assert data["asset"]["key"] == "rolling_revenue"
    assert data["status"]["stale"] == 7
    assert data["status"]["stale_partitions"]["ranges"] == [["2025-01-07", "2025-01-13"]]
    strip = [(s["first"], s["last"], s["state"]) for s in data["strip"]]
    assert strip == [
        ("2025-01-01", "2025-01-06", "fresh"),
        ("2025-01-07", "2025-01-13", "stale"),
        ("2025-01-14", "2025-01-31", "fresh"),
    ]
    assert sum(s["count"] for s in data["strip"]) == 31
    assert any("daily_revenue" in r for r in data["strip"][1]["reasons"])
    (step,) = data["plan"]["steps"]
    assert step["count"] == 7 and step["reasons"][0]["reason"] == "upstream_stale"
    assert data["freshness"]["asset"] == "rolling_revenue"
    assert data["runs"] and data["runs"][0]["status"] == "succeeded"
    checks = server.json("/api/asset?key=clean_orders")["checks"]
    assert {c["check"] for c in checks} == {"accepted_values_status", "in_range_amount"}
    assert all(c["passed"] for c in checks)


def test_explain_gives_the_chain_of_causes(server: Served) -> None:
    why = server.json("/api/explain?asset=rolling_revenue&partition=2025-01-09")
    chain = []
    while why:
        chain.append((why["asset"], why["partition"]))
        why = why["causes"][0] if why["causes"] else None
    assert chain == [
        ("rolling_revenue", "2025-01-09"),
        ("daily_revenue", "2025-01-07"),
        ("clean_orders", "2025-01-07"),
        ("raw_orders", "2025-01-07"),
    ]


def test_partition_lineage_and_history_are_the_cli_ones(project: Path, server: Served) -> None:
    data = server.json("/api/partition?asset=daily_revenue&partition=2025-01-07")
    assert data["history"] == cli_json(
        project, "history", "daily_revenue", "--partition", "2025-01-07"
    )
    assert data["upstream"] == cli_json(
        project, "lineage", "daily_revenue", "--partition", "2025-01-07"
    )
    upstream = {n["asset"] for n in data["upstream"]["nodes"]}
    assert upstream == {"daily_revenue", "clean_orders", "raw_orders"}
    downstream = {(n["asset"], n["partition"]) for n in data["downstream"]["nodes"]}
    assert ("rolling_revenue", "2025-01-13") in downstream
    assert ("rolling_revenue", "2025-01-14") not in downstream
    (run_id,) = data["logs"]
    assert data["logs"][run_id][0]["status"] == "succeeded"


def test_runs_and_one_run_are_partita_runs_and_logs(project: Path, server: Served) -> None:
    runs = server.json("/api/runs")
    assert runs == cli_json(project, "runs")
    run_id = runs["runs"][0]["run_id"]
    assert server.json(f"/api/runs/{run_id}") == cli_json(project, "logs", run_id)
    status, body = server.get(f"/api/runs/{run_id}/events")
    assert status == 200
    kinds = re.findall(r"^event: (\w+)$", body, flags=re.MULTILINE)
    assert kinds == ["snapshot", "end"]  # a finished run: its state, then the end


def test_bad_input_is_one_clear_error(server: Served) -> None:
    status, body = server.get("/api/asset?key=rolling_revenu")
    assert status == 404
    answer = json.loads(body)
    assert "rolling_revenu" in answer["error"] and "rolling_revenue" in (
        answer["error"] + str(answer["hint"])
    )
    status, body = server.get("/api/partition?asset=daily_revenue&partition=2025-13-01")
    assert status == 400 and "2025-13-01" in json.loads(body)["error"]
    status, body = server.get("/api/partition?asset=daily_revenue")
    assert status == 400 and "say which partition" in json.loads(body)["error"]
    status, body = server.get("/asset?key=nope")
    assert status == 404 and "Traceback" not in body and "nope" in body
    status, _ = server.get("/api/runs/no-such-run")
    assert status == 404


def test_actions_are_off_without_allow_runs(server: Served) -> None:
    status, body = server.get("/actions/materialize?selection=rolling_revenue")
    assert status == 400 and "--allow-runs" in body
    status, body, _ = server.post("/actions/materialize", {"selection": "rolling_revenue"})
    assert status == 403


def test_the_page_refuses_foreign_host_headers(server: Served) -> None:
    status, _ = server.get("/api/runs", headers={"Host": "attacker.example:80"})
    assert status == 400  # DNS rebinding: a loopback page answers loopback names only


def test_post_needs_the_csrf_token(project: Path) -> None:
    with serve(project, "--allow-runs") as served:
        status, body = served.get("/actions/materialize?selection=%2Bslow_report")
        assert status == 200
        token = re.search(r'name="csrf" value="([^"]+)"', body)
        assert token is not None
        form = {"selection": "rolling_revenue"}
        assert served.post("/actions/materialize", form)[0] == 403
        assert served.post("/actions/materialize", {**form, "csrf": "forged"})[0] == 403
        foreign = {"Origin": "http://attacker.example"}
        status, _, _ = served.post(
            "/actions/materialize", {**form, "csrf": token.group(1)}, headers=foreign
        )
        assert status == 403


def test_another_host_needs_a_token(project: Path) -> None:
    refused = run_cli(["ui", "--host", "0.0.0.0", "--port", "1"], project)
    assert refused.returncode == 2
    assert "--token" in refused.stderr and "Traceback" not in refused.stderr
    token = "t" * 24
    with serve(project, "--token", token) as served:
        assert served.get("/api/runs")[0] == 401
        assert served.get("/api/runs", headers={"Authorization": f"Bearer {token}"})[0] == 200
        request = urllib.request.Request(f"{served.url}/runs?token={token}")
        with pytest.raises(urllib.error.HTTPError) as redirected:
            urllib.request.build_opener(NoRedirect).open(request, timeout=30)
        assert redirected.value.code == 303  # keeps it in a cookie, drops it from the address
        assert redirected.value.headers["Location"] == "/runs"
        assert f"partita_ui_token={token}" in redirected.value.headers["Set-Cookie"]
        assert served.process.stdout is not None
        assert token not in served.process.stdout.readline()  # never printed


def test_stopping_the_server_cancels_the_run_it_started(tmp_path: Path) -> None:
    folder = corrected_example(tmp_path / "example")
    with serve(folder, "--allow-runs", "--executor", "thread") as served:
        _, body = served.get("/actions/materialize?selection=%2Bslow_report")
        token = re.search(r'name="csrf" value="([^"]+)"', body)
        assert token is not None
        form = {"selection": "+slow_report", "csrf": token.group(1)}
        status, _, headers = served.post("/actions/materialize", form)
        assert status == 303
        run_id = headers["location"].rsplit("/", 1)[1]
        assert served.json(f"/api/runs/{run_id}")["run"]["status"] == "running"
        served.process.terminate()  # SIGTERM while slow_report waits for its gate
        # uvicorn shuts down gracefully (the page's runs cancelled), then re-raises SIGTERM
        assert served.process.wait(timeout=30) == -signal.SIGTERM
    runs = cli_json(folder, "runs")
    assert isinstance(runs, dict)
    (run,) = [r for r in runs["runs"] if r["run_id"] == run_id]
    assert run["status"] == "cancelled"
    assert not (folder / "gate").exists()
