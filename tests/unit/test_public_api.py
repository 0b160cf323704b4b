from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import partita


def test_every_public_name_resolves() -> None:
    for name in partita.__all__:
        assert getattr(partita, name) is not None, name
    assert "asset" in dir(partita)


def test_import_is_lazy() -> None:
    """``import partita`` must not pull in the IO layer (pandas, pyarrow.dataset, duckdb)."""
    code = (
        "import sys, partita\n"
        "heavy = [m for m in ('pandas', 'duckdb', 'pyarrow.dataset', 'partita.io') "
        "if m in sys.modules]\n"
        "print(','.join(heavy))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == ""


def test_unknown_name() -> None:
    try:
        partita.no_such_thing  # type: ignore[attr-defined]  # noqa: B018
    except AttributeError as exc:
        assert "no_such_thing" in str(exc)
    else:
        raise AssertionError("expected AttributeError")


def test_version_is_the_one_in_pyproject() -> None:
    """``__version__`` is a literal (no importlib.metadata at start-up): it must not drift."""
    pyproject = Path(__file__).resolve().parents[2] / "pyproject.toml"
    declared = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["version"]
    assert partita.__version__ == declared
