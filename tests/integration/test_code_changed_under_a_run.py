"""A worker process that imports other code than its run was planned with refuses the step.

A daemon or a web page keeps the project it loaded; the process executor's
workers import the definitions from disk. When the file changed in between,
the step must not run: the catalog would record the planned code version for
data built by other code.
"""

from __future__ import annotations

from pathlib import Path

from partita.api import RunOutcome, history, load_project, materialize
from tests.conftest import write_project

DEFS = """
import pandas as pd
from partita import Definitions, StaticPartitions, asset

@asset(partitions=StaticPartitions(["a", "b"]))
def numbers() -> pd.DataFrame:
    return pd.DataFrame({"x": [1, 2, 3]})

defs = Definitions(assets=[numbers])
"""


def test_a_worker_with_changed_code_refuses_the_step_and_nothing_is_recorded(
    tmp_path: Path,
) -> None:
    folder = write_project(tmp_path / "project", DEFS)
    defs = folder / "defs.py"
    stale = load_project(file=defs)  # loaded before the edit, as a daemon would be
    defs.write_text(DEFS.replace("[1, 2, 3]", "[1, 2, 3, 4]"), encoding="utf-8")

    result = materialize(stale, executor="process", max_workers=1, handle_signals=False)
    assert result.status is RunOutcome.FAILED
    errors = {o.error for o in result.outcomes}
    assert len(errors) == 1
    (error,) = errors
    assert error is not None and "changed on disk after this run was planned" in error
    assert [o.attempts for o in result.outcomes] == [1, 1]  # not retried: it cannot pass
    assert history(stale, "numbers", "a") == ()

    # in process, the code the project loaded runs, and its version is that code's:
    # hashed from the text that was imported, not from the file as it is now
    assert materialize(stale, executor="inprocess", handle_signals=False).success
    (old,) = history(stale, "numbers", "a")
    assert old.rows == 3
    assert old.code_version == stale.graph.code_version(stale.graph.resolve("numbers"))

    current = load_project(file=defs)
    assert materialize(current, executor="process", handle_signals=False).success
    built = history(current, "numbers", "a")[0]
    assert built.code_version == current.graph.code_version(current.graph.resolve("numbers"))
    assert built.code_version != old.code_version
    assert built.rows == 4
