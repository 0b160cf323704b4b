from __future__ import annotations

import sys
from pathlib import Path

import pytest

from partita.assets import asset
from partita.definitions import Definitions, load_project
from partita.errors import DefinitionError

PROJECT = """
from partita.assets import asset
from partita.definitions import Definitions

@asset
def numbers():
    return None

defs = Definitions(assets=[numbers])
"""


def test_definitions_split_sources_and_reject_junk() -> None:
    @asset
    def a() -> None: ...

    defs = Definitions(assets=[a])
    assert defs.assets == (a,) and defs.sources == ()
    with pytest.raises(DefinitionError, match="decorate the function"):
        Definitions(assets=[lambda: None])  # type: ignore[list-item]


def test_load_by_file_sets_home_beside_it(tmp_path: Path) -> None:
    (tmp_path / "proj").mkdir()
    (tmp_path / "proj" / "defs.py").write_text(PROJECT)
    loaded = load_project(file=tmp_path / "proj" / "defs.py")
    assert [str(a.key) for a in loaded.definitions.assets] == ["numbers"]
    assert loaded.home == (tmp_path / "proj" / ".partita").resolve()


def test_load_from_pyproject_upwards(tmp_path: Path) -> None:
    (tmp_path / "defs.py").write_text(PROJECT)
    (tmp_path / "pyproject.toml").write_text(
        '[tool.partita]\ndefinitions = "defs.py"\nhome = "state"\n'
    )
    nested = tmp_path / "a" / "b"
    nested.mkdir(parents=True)
    loaded = load_project(cwd=nested)
    assert loaded.home == (tmp_path / "state").resolve()


def test_load_by_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    package = tmp_path / "mypkg_for_partita_test"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "pipeline.py").write_text(PROJECT.replace("defs =", "project ="))
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        loaded = load_project(module="mypkg_for_partita_test.pipeline", cwd=tmp_path)
        assert loaded.origin == "mypkg_for_partita_test.pipeline"
        assert loaded.home == (package / ".partita").resolve()
    finally:
        for name in [m for m in sys.modules if m.startswith("mypkg_for_partita_test")]:
            del sys.modules[name]


def test_load_errors(tmp_path: Path) -> None:
    with pytest.raises(DefinitionError, match="no Partita project found"):
        load_project(cwd=tmp_path)
    with pytest.raises(DefinitionError, match="does not exist"):
        load_project(file=tmp_path / "missing.py")
    (tmp_path / "empty.py").write_text("x = 1\n")
    with pytest.raises(DefinitionError, match="defines no Definitions"):
        load_project(file=tmp_path / "empty.py")
    (tmp_path / "two.py").write_text(
        "from partita.definitions import Definitions\na = Definitions()\nb = Definitions()\n"
    )
    with pytest.raises(DefinitionError, match="2 Definitions objects"):
        load_project(file=tmp_path / "two.py")
    loaded = load_project(file=f"{tmp_path / 'two.py'}:b")
    assert loaded.definitions.assets == ()
    assert loaded.origin.endswith("two.py:b")  # workers reload exactly this object
    assert load_project(file=loaded.origin).origin == loaded.origin
