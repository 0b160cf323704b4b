"""Every code block in docs/ and README.md runs, so the docs cannot rot.

The ```python and ```console blocks of one page run in the order they appear,
in one fresh temporary folder: blocks marked ``file=PATH`` are written there,
python blocks in one namespace, console blocks
as terminal sessions whose shown output must appear (see tests/docs_blocks.py).
A console block that cannot run on its own says so (```console no-run: REASON)
and is listed in NOT_RUN below, so the list stays short and deliberate.
"""

from __future__ import annotations

import linecache
from pathlib import Path

import pytest

from tests.docs_blocks import (
    Block,
    Command,
    output_matches,
    page_blocks,
    parse_session,
    run_session,
    write_file,
)

ROOT = Path(__file__).resolve().parents[1]
PAGES = sorted([ROOT / "README.md", *(ROOT / "docs").rglob("*.md")])
PARSE_ERRORS: dict[str, str] = {}


def _blocks(path: Path) -> list[Block]:
    try:
        return page_blocks(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        PARSE_ERRORS[str(path.relative_to(ROOT))] = str(exc)
        return []


BLOCKS = {path: _blocks(path) for path in PAGES}
RUNNABLE = [path for path in PAGES if any(block.no_run is None for block in BLOCKS[path])]
"""The pages with a block to run (a page of prose only has nothing to run)."""

NOT_RUN = {
    "README.md": 1,
    "docs/catalog.md": 2,
    "docs/crash_safety.md": 1,
    "docs/dask.md": 2,
    "docs/example_project.md": 1,
    "docs/openlineage.md": 1,
    "docs/operations.md": 1,
    "docs/performance.md": 1,
    "docs/planning.md": 4,
    "docs/sql.md": 2,
    "docs/ui.md": 1,
}
"""Console blocks marked ``no-run`` per page: each says why in its fence."""


def _name(path: Path) -> str:
    return str(path.relative_to(ROOT))


def _run_python(block: Block, namespace: dict[str, object], filename: str) -> None:
    code = block.body
    # as IPython does for notebook cells: inspect.getsource (code versions) finds the text
    linecache.cache[filename] = (len(code), None, code.splitlines(keepends=True), filename)
    try:
        exec(compile(code, filename, "exec", dont_inherit=True), namespace)
    except Exception as exc:
        raise AssertionError(f"{filename} (line {block.line}) failed: {exc!r}\n{code}") from exc


@pytest.mark.parametrize("path", RUNNABLE, ids=[_name(p) for p in RUNNABLE])
def test_page_blocks_run(path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"__name__": f"docs_{path.stem}"}
    for number, block in enumerate(BLOCKS[path], start=1):
        where = f"{_name(path)}[block {number}]"
        if block.lang == "file":
            write_file(block, tmp_path)
        elif block.lang == "python":
            _run_python(block, namespace, where)
        elif block.no_run is None:
            run_session(block, tmp_path, where)


def test_blocks_not_run_are_the_listed_ones() -> None:
    found: dict[str, int] = {}
    for path, blocks in BLOCKS.items():
        count = sum(1 for block in blocks if block.no_run is not None)
        if count:
            found[_name(path)] = count
    assert found == NOT_RUN, "a console block became no-run (or runs now): update NOT_RUN"


def test_pages_parse() -> None:
    assert not PARSE_ERRORS, (
        f"console blocks that are not sessions (```text for listings): {PARSE_ERRORS}"
    )


def test_every_console_block_has_a_command() -> None:
    empty = [
        f"{_name(path)}:{block.line}"
        for path, blocks in BLOCKS.items()
        for block in blocks
        if block.lang == "console" and not block.commands
    ]
    assert not empty, f"console blocks without a `$ ` command (use ```text for listings): {empty}"


def test_output_matching() -> None:
    output = (
        "asset   partitions   why\n"
        "orders  2025-03-05 (1)   missing\n"
        "5 partitions of 3 assets to build\n"
    )
    assert output_matches(("asset partitions why", "orders 2025-03-05 (1) missing"), output) is None
    assert output_matches(("...", "5 partitions of ... to build"), output) is None
    assert (
        output_matches(("orders ... missing", "asset partitions why"), output)
        == "asset partitions why"
    )
    assert output_matches(("orders 2025-03-06 (1) missing",), output) is not None


def test_session_parsing() -> None:
    commands = parse_session("$ partita plan \\\n    --json\n{}\n$ echo $?\n0\n", 1)
    assert commands == [
        Command(1, "partita plan \\\n    --json", ("{}",)),
        Command(4, "echo $?", ("0",)),
    ]
