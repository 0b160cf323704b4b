"""The benchmark harness, run as a user runs it: ``python -m bench`` in a subprocess.

The smoke test runs every workload module that exists at ``--quick`` size so
the suite cannot rot; the other tests use tiny workload modules written to a
temporary folder to prove that a failing, broken or crashing workload makes the
run fail (exit status 1) and is never reported with figures.
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from types import ModuleType

import pytest
from bench import WORKLOAD_MODULES  # the repository root is on pytest's pythonpath

REPO = Path(__file__).resolve().parents[2]

RECORD_KEYS = {
    "workload",
    "module",
    "description",
    "quick",
    "repeat",
    "status",
    "figures",
    "peak_rss_mb",
    "peak_rss_children_mb",
    "wall_s",
    "load_avg",
    "machine",
    "partita_commit",
    "timestamp",
}
MACHINE_KEYS = {"cpu_model", "cores", "memory_gib", "os", "python", "versions"}
LIBRARIES = {"partita", "pandas", "pyarrow", "duckdb", "sqlglot", "pydantic", "networkx"}


def run_bench(*args: str, extra_path: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``python -m bench ARGS`` from the repository root."""
    env = dict(os.environ)
    if extra_path is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(extra_path), env.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, "-m", "bench", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )


def json_lines(text: str) -> list[dict[str, object]]:
    """Every stdout line parsed as JSON (so a stray print fails the test)."""
    records = [json.loads(line) for line in text.splitlines() if line.strip()]
    assert all(isinstance(r, dict) for r in records)
    return records


def check_record_shape(record: dict[str, object], *, quick: bool) -> None:
    """The documented JSON shape of one workload record."""
    expected = RECORD_KEYS | ({"error"} if record["status"] == "failed" else set())
    assert set(record) == expected
    assert record["status"] in ("ok", "failed")
    assert record["quick"] is quick
    load = record["load_avg"]  # Linux has a load average: at the start and at the end
    assert isinstance(load, list) and len(load) == 2 and all(x >= 0 for x in load)
    machine = record["machine"]
    assert isinstance(machine, dict) and set(machine) == MACHINE_KEYS
    assert isinstance(machine["cores"], int) and machine["cores"] >= 1
    assert set(machine["versions"]) == LIBRARIES
    assert machine["versions"]["pyarrow"]  # installed here, so known
    commit = record["partita_commit"]
    assert isinstance(commit, str) and commit
    stamp = datetime.fromisoformat(str(record["timestamp"]))
    assert stamp.utcoffset() == timedelta(0)
    figures = record["figures"]
    assert isinstance(figures, dict)
    for value in figures.values():
        if isinstance(value, dict):
            assert set(value) == {"median", "min", "max", "n", "samples"}
            samples = value["samples"]
            assert len(samples) == value["n"] >= 1
            assert value["min"] <= value["median"] <= value["max"]
            assert value["min"] == min(samples) and value["max"] == max(samples)
        else:
            assert value is None or isinstance(value, bool | int | float | str | list)
    if record["status"] == "ok":
        assert isinstance(record["peak_rss_mb"], float) and record["peak_rss_mb"] > 0


def existing_workloads() -> list[str]:
    """Module names of the standard workloads present in ``bench/``, in run order."""
    return [name for name in WORKLOAD_MODULES if (REPO / "bench" / f"{name}.py").exists()]


def test_every_listed_workload_exists() -> None:
    assert existing_workloads() == list(WORKLOAD_MODULES)


# One test per workload, so pytest-xdist spreads the slowest test of the suite
# over its workers; each still runs ``python -m bench`` as a user runs it.
@pytest.mark.slow
@pytest.mark.parametrize("name", existing_workloads())
def test_quick_run_of_every_existing_workload(name: str, tmp_path: Path) -> None:
    out = tmp_path / "results"
    done = run_bench("--quick", "-w", name, "--json-only", "--out", str(out), "--timeout", "600")
    assert done.returncode == 0, done.stderr[-4000:]
    records = json_lines(done.stdout)
    assert [r["module"] for r in records] == [f"bench.{name}"]
    for record in records:
        check_record_shape(record, quick=True)
        assert record["status"] == "ok"
        assert record["figures"], f"{record['workload']} reported no figures"
    (written,) = out.glob("*.jsonl")
    assert json_lines(written.read_text()) == records


FAKES = {
    "fake_ok": """
        NAME = "FAKE_OK"
        DESCRIPTION = "passes"

        def run(quick, workdir):
            (workdir / "scratch.txt").write_text("written in the work folder")
            print("noise on stdout must not reach the JSON stream")
            return {"write_s": [0.3, 0.1, 0.2], "rows": 1000, "ratio": 1.05, "same": True}
    """,
    "fake_wrong": """
        NAME = "FAKE_WRONG"
        DESCRIPTION = "fast but wrong"

        def run(quick, workdir):
            steps = 2
            assert steps == 0, f"plan must be empty, got {steps} steps"
            return {"plan_s": [0.001, 0.001, 0.001]}
    """,
    "fake_contract": """
        NAME = "FAKE_CONTRACT"
        DESCRIPTION = "returns a nested dict"

        def run(quick, workdir):
            return {"timing": {"a": 1}}
    """,
    "fake_crash": """
        import os

        NAME = "FAKE_CRASH"
        DESCRIPTION = "dies without a word"

        def run(quick, workdir):
            os._exit(3)
    """,
}


@pytest.fixture
def fakes(tmp_path: Path) -> Path:
    """A folder holding the fake workload modules."""
    folder = tmp_path / "fakes"
    folder.mkdir()
    for name, source in FAKES.items():
        (folder / f"{name}.py").write_text(textwrap.dedent(source))
    return folder


def test_failing_workloads_fail_the_run_and_report_no_figures(fakes: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    args = ["--quick", "--json-only", "--out", str(out)]
    for name in FAKES:
        args += ["--module", name]
    done = run_bench(*args, extra_path=fakes)
    assert done.returncode == 1, done.stderr
    records = {r["workload"]: r for r in json_lines(done.stdout)}
    assert set(records) == {"FAKE_OK", "FAKE_WRONG", "FAKE_CONTRACT", "FAKE_CRASH"}
    for record in records.values():
        check_record_shape(record, quick=True)

    ok = records["FAKE_OK"]
    assert ok["status"] == "ok"
    assert ok["figures"] == {
        "write_s": {"median": 0.2, "min": 0.1, "max": 0.3, "n": 3, "samples": [0.3, 0.1, 0.2]},
        "rows": 1000,
        "ratio": 1.05,
        "same": True,
    }
    wrong = records["FAKE_WRONG"]
    assert wrong["status"] == "failed" and wrong["figures"] == {}
    assert "AssertionError: plan must be empty, got 2 steps" in str(wrong["error"])
    contract = records["FAKE_CONTRACT"]
    assert contract["status"] == "failed" and contract["figures"] == {}
    assert "'timing'" in str(contract["error"])
    crash = records["FAKE_CRASH"]
    assert crash["status"] == "failed" and crash["figures"] == {}
    assert "exited with status 3" in str(crash["error"])

    # The results file holds the same lines, failures included, in quick/ only when asked.
    (written,) = out.glob("*.jsonl")
    assert written.name == f"{datetime.fromisoformat(str(ok['timestamp'])).date()}.jsonl"
    assert json_lines(written.read_text()) == json_lines(done.stdout)
    # Work folders are removed afterwards.
    assert not list((REPO / "bench" / ".work").glob("fake_*"))


def test_passing_workload_exits_0_and_repeat_pools_samples(fakes: Path, tmp_path: Path) -> None:
    done = run_bench(
        "--module", "fake_ok", "--repeat", "2", "--out", str(tmp_path), extra_path=fakes
    )
    assert done.returncode == 0, done.stderr
    (record,) = json_lines(done.stdout)  # the table goes to stderr when stdout is a pipe
    check_record_shape(record, quick=False)
    assert record["repeat"] == 2
    figures = record["figures"]
    assert isinstance(figures, dict) and figures["write_s"]["n"] == 6
    assert "FAKE_OK" in done.stderr and "write_s" in done.stderr


def _alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie waiting to be reaped counts as gone)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "\nState:\tZ" not in status


def test_timeout_fails_the_workload_and_stops_its_subprocesses(tmp_path: Path) -> None:
    fakes = tmp_path / "fakes"
    fakes.mkdir()
    pid_file = tmp_path / "grandchild.pid"
    (fakes / "fake_hang.py").write_text(
        textwrap.dedent(
            f"""
            import subprocess, time
            from pathlib import Path

            NAME = "FAKE_HANG"
            DESCRIPTION = "never finishes"

            def run(quick, workdir):
                child = subprocess.Popen(["sleep", "60"])
                Path({str(pid_file)!r}).write_text(str(child.pid))
                time.sleep(60)
                return {{}}
            """
        )
    )
    done = run_bench(
        "--module",
        "fake_hang",
        "--timeout",
        "1.5",
        "--json-only",
        "--out",
        str(tmp_path),
        extra_path=fakes,
    )
    assert done.returncode == 1, done.stderr
    (record,) = json_lines(done.stdout)
    assert record["workload"] == "FAKE_HANG"
    assert record["status"] == "failed" and record["error"] == "timed out after 1.5 s"
    grandchild = int(pid_file.read_text())
    deadline = time.monotonic() + 5
    while _alive(grandchild) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(grandchild)


def test_unknown_workload_is_a_usage_error() -> None:
    done = run_bench("--workload", "W99", "--json-only")
    assert done.returncode == 2
    assert "unknown workload 'W99'" in done.stderr
    assert "known workloads:" in done.stderr
    assert done.stdout == ""


@pytest.fixture
def harness() -> ModuleType:
    """``bench.harness`` imported from the repository root."""
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    return importlib.import_module("bench.harness")


def test_merge_runs_pools_samples_and_summarizes_varying_ratios(harness: ModuleType) -> None:
    merged = harness.merge_runs(
        [
            {"t": [1.0, 3.0], "ratio": 1.1, "rows": 5, "engine": "a"},
            {"t": [2.0], "ratio": 1.3, "rows": 5, "engine": "b"},
        ]
    )
    assert merged["t"] == harness.Summary(2.0, 1.0, 3.0, 3, (1.0, 3.0, 2.0))
    assert merged["ratio"].n == 2 and merged["ratio"].min == 1.1
    assert merged["rows"] == 5
    assert merged["engine"] == ("a", "b")


def test_results_file_is_named_by_utc_date(harness: ModuleType, tmp_path: Path) -> None:
    late_evening_west = datetime(2026, 3, 1, 22, 30, tzinfo=timezone(timedelta(hours=-5)))
    assert harness.results_path(tmp_path, late_evening_west).name == "2026-03-02.jsonl"
    assert harness.results_path(tmp_path, datetime(2026, 3, 1, tzinfo=UTC)).name == (
        "2026-03-01.jsonl"
    )
