"""Every ```python block in docs/ and README.md runs, so the docs cannot rot.

Blocks of one file run in order in one namespace, in a fresh temporary folder.
"""

from __future__ import annotations

import linecache
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BLOCK = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)
DOCS = sorted(
    path
    for path in [ROOT / "README.md", *(ROOT / "docs").rglob("*.md")]
    if BLOCK.search(path.read_text(encoding="utf-8"))
)
"""The pages that have python blocks (a page without one has nothing to run)."""


@pytest.mark.parametrize("path", DOCS, ids=[str(p.relative_to(ROOT)) for p in DOCS])
def test_python_blocks_run(path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocks = BLOCK.findall(path.read_text(encoding="utf-8"))
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"__name__": f"docs_{path.stem}"}
    for number, code in enumerate(blocks, start=1):
        filename = f"{path.name}[block {number}]"
        # as IPython does for notebook cells: inspect.getsource (code versions) finds the text
        linecache.cache[filename] = (len(code), None, code.splitlines(keepends=True), filename)
        try:
            exec(compile(code, filename, "exec", dont_inherit=True), namespace)
        except Exception as exc:
            raise AssertionError(
                f"{path.relative_to(ROOT)} block {number} failed: {exc!r}\n{code}"
            ) from exc
