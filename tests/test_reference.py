"""docs/reference/cli.md and api.md are what scripts/gen_reference.py makes of the code."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

from partita.cli.app import SHORT_HELP

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "gen_reference", ROOT / "scripts" / "gen_reference.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("page", ["cli", "api"])
def test_committed_reference_is_current(generator: ModuleType, page: str) -> None:
    path = ROOT / "docs" / "reference" / f"{page}.md"
    fresh = {"cli": generator.cli_reference, "api": generator.api_reference}[page]()
    assert path.read_text(encoding="utf-8") == fresh, (
        f"{path.relative_to(ROOT)} is out of date: run `python scripts/gen_reference.py`"
    )


def test_every_public_name_has_a_docstring(generator: ModuleType) -> None:
    assert generator.undocumented() == [], "public names without a docstring"


def test_every_command_is_in_the_cli_reference(generator: ModuleType) -> None:
    text = generator.cli_reference()
    for name in SHORT_HELP:
        assert f"## `partita {name}`" in text


def test_check_mode_reports_a_stale_page(
    generator: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stale = tmp_path / "cli.md"
    stale.write_text("# old\n", encoding="utf-8")
    monkeypatch.setattr(generator, "ROOT", tmp_path)
    monkeypatch.setattr(generator, "PAGES", {stale: generator.cli_reference})
    assert generator.main(["--check"]) == 1
    assert stale.read_text(encoding="utf-8") == "# old\n"
    assert generator.main([]) == 0
    assert generator.main(["--check"]) == 0
