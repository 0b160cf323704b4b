"""Projects loaded in one process are isolated: each sees its own helper modules.

Two projects both have a ``helpers.py`` (or a package ``pipeline``); loaded in
one process, in worker processes, and through the CLI, each uses its own.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

from partita.api import Project, load_project, materialize
from partita.io import ParquetStore
from tests.conftest import run_cli

HELPERS = """
from pathlib import Path

NAME = "{name}"

def audit(request):
    # staged-data checks defined in the project, sent to workers by reference
    Path(__file__).with_name("audited").write_text(NAME)
    return []
"""

DEFS = """
import pandas as pd
import helpers
from helpers import NAME
from partita import Definitions, asset, not_null

@asset(description=f"from {NAME}", checks=[not_null("name")])
def report() -> pd.DataFrame:
    import helpers as late  # imported when the function runs, in the worker
    return pd.DataFrame({"name": [helpers.NAME], "late": [late.NAME]})

defs = Definitions(assets=[report])
"""


def _project(folder: Path, name: str, *, package: str | None = None) -> Path:
    """A project in ``folder``: defs and helpers at the top, or inside ``package``."""
    code = folder / package if package else folder
    code.mkdir(parents=True)
    if package:
        (code / "__init__.py").write_text("")
    (code / "helpers.py").write_text(HELPERS.format(name=name))
    defs = DEFS
    if package:  # the package's modules import each other through the package
        defs = defs.replace("import helpers\n", f"from {package} import helpers\n")
        defs = defs.replace("import helpers as late", f"from {package} import helpers as late")
        defs = defs.replace("from helpers import", f"from {package}.helpers import")
    (code / "defs.py").write_text(defs)
    return folder


def _description(project: Project) -> str:
    return project.graph.spec("report").description


def _built(project: Project) -> dict[str, str]:
    frame = ParquetStore(project.data_path).read("report", [()])
    assert isinstance(frame, pd.DataFrame)
    return {"name": frame["name"][0], "late": frame["late"][0]}


def test_two_projects_in_one_process_each_import_their_own_helpers(tmp_path: Path) -> None:
    path_before = list(sys.path)
    a = load_project(file=_project(tmp_path / "a", "alpha") / "defs.py")
    b = load_project(file=_project(tmp_path / "b", "beta") / "defs.py")
    assert (_description(a), _description(b)) == ("from alpha", "from beta")
    assert sys.path == path_before  # loading never grows sys.path
    assert "helpers" not in sys.modules and "defs" not in sys.modules
    module_a = a.graph.spec("report").fn.__module__
    module_b = b.graph.spec("report").fn.__module__
    assert module_a != module_b and module_a.endswith(".defs") and module_b.endswith(".defs")
    assert sys.modules[module_a.replace(".defs", ".helpers")].NAME == "alpha"
    # the same folder always gets the same names (workers rely on it)
    again = load_project(file=tmp_path / "a" / "defs.py")
    assert again.graph.spec("report").fn.__module__ == module_a


def test_two_projects_with_one_package_name_loaded_by_module(tmp_path: Path) -> None:
    a = load_project(
        module="pipeline.defs", cwd=_project(tmp_path / "a", "alpha", package="pipeline")
    )
    b = load_project(
        module="pipeline.defs", cwd=_project(tmp_path / "b", "beta", package="pipeline")
    )
    assert (_description(a), _description(b)) == ("from alpha", "from beta")
    assert a.loaded.origin == b.loaded.origin == "pipeline.defs"
    assert "pipeline" not in sys.modules


def test_loading_again_picks_up_edits_and_drops_the_old_modules(tmp_path: Path) -> None:
    folder = _project(tmp_path / "a", "one")
    first = load_project(file=folder / "defs.py")
    helpers_name = first.graph.spec("report").fn.__module__.replace(".defs", ".helpers")
    old_helpers = sys.modules[helpers_name]
    (folder / "helpers.py").write_text(HELPERS.format(name="two"))  # same size, same second
    (folder / "extra.py").write_text("WORD = 'added'\n")
    (folder / "defs.py").write_text(DEFS.replace("import helpers\n", "import helpers, extra\n"))
    second = load_project(file=folder / "defs.py")
    assert _description(second) == "from two"
    assert sys.modules[helpers_name] is not old_helpers
    assert sys.modules[helpers_name.replace(".helpers", ".extra")].WORD == "added"
    assert _description(first) == "from one"  # a project loaded earlier keeps its objects


def test_worker_processes_of_two_projects_each_import_their_own_helpers(tmp_path: Path) -> None:
    a = load_project(file=_project(tmp_path / "a", "alpha") / "defs.py")
    b = load_project(file=_project(tmp_path / "b", "beta") / "defs.py")
    function = b.graph.spec("report").fn
    assert function is not None
    hook = function.__globals__["helpers"].audit
    for project, checks in ((a, None), (b, hook)):
        result = materialize(project, executor="process", max_workers=1, staged_checks=checks)
        assert result.exit_code == 0, result.summary_lines()
    assert _built(a) == {"name": "alpha", "late": "alpha"}
    assert _built(b) == {"name": "beta", "late": "beta"}
    # the hook, pickled by reference, ran in b's worker against b's modules
    assert (tmp_path / "b" / "audited").read_text() == "beta"
    assert not (tmp_path / "a" / "audited").exists()


def test_cli_runs_a_module_project_in_worker_processes(tmp_path: Path) -> None:
    folder = _project(tmp_path / "a", "alpha", package="pipeline")
    run_cli(["materialize", "-m", "pipeline.defs", "--executor", "process"], folder, check=True)
    project = load_project(module="pipeline.defs", cwd=folder)
    assert _built(project) == {"name": "alpha", "late": "alpha"}
    (folder / "pyproject.toml").write_text('[tool.partita]\ndefinitions = "pipeline.defs"\n')
    forced = run_cli(["materialize", "--force", "--executor", "process"], folder, check=True)
    assert "succeeded" in forced.stdout
