"""`partita ui` judges the project as its files are now (an edit is seen at the next
request), and says a taken port before it says anything else."""

from __future__ import annotations

import socket
from pathlib import Path

from tests.conftest import run_cli, write_project
from tests.integration.web_support import serve

DEFS = """
import pandas as pd
from partita import Definitions, StaticPartitions, asset

@asset(partitions=StaticPartitions(["a", "b"]))
def numbers() -> pd.DataFrame:
    return pd.DataFrame({"x": [1, 2, 3]})

defs = Definitions(assets=[numbers])
"""


def test_the_page_sees_an_edit_of_the_definitions(tmp_path: Path) -> None:
    folder = write_project(tmp_path / "project", DEFS)
    assert run_cli(["materialize"], folder).returncode == 0
    with serve(folder) as server:
        assert server.json("/api/asset?key=numbers")["status"]["stale"] == 0
        defs = folder / "defs.py"
        defs.write_text(DEFS.replace("[1, 2, 3]", "[1, 2, 3, 4]"), encoding="utf-8")
        data = server.json("/api/asset?key=numbers")
        assert data["status"]["stale"] == 2
        (step,) = data["plan"]["steps"]
        assert step["reasons"][0]["reason"] == "code_changed"

        # a file that no longer loads: the page goes on with what it had
        defs.write_text(DEFS.replace("def numbers()", "def numbers("), encoding="utf-8")
        assert server.json("/api/asset?key=numbers")["status"]["stale"] == 2


def test_a_port_in_use_is_said_before_anything_else(tmp_path: Path) -> None:
    folder = write_project(tmp_path / "project", DEFS)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        refused = run_cli(["ui", "--port", str(port)], folder)
    assert refused.returncode == 2, refused.stderr
    assert f"cannot listen on 127.0.0.1:{port}" in refused.stderr
    assert "--port" in refused.stderr and "Traceback" not in refused.stderr
    assert "Partita UI on" not in refused.stdout
