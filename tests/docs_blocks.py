"""Reading and running the code blocks of a documentation page.

A page is a sequence of fenced blocks, run in the order they appear, in one
temporary folder:

- ```` ```python ```` blocks run in one namespace per page;
- ```` ```console ```` blocks are terminal sessions: a line starting with ``$ ``
  is a command (a trailing ``\\`` continues it on the next line), run with
  ``bash`` in the page's folder; the lines after it, up to the next command, are
  its expected output (see :func:`output_matches`);
- a block of any language with ``file=PATH`` in its info string (```` ```python
  file=defs.py ````, ```` ```toml file=pyproject.toml ````) is a file the
  reader writes: its text is saved to PATH in the page's folder, not run;
- ```` ```console no-run: REASON ```` is a session that cannot run on its own (it
  needs a server, another machine, a long run): it is listed, never run, and
  the reason is required.

A command must exit 0 unless what the page shows says otherwise: an
``error: ...`` line in its output, a following ``$ echo $?`` (which then shows
the status), or a comment ``# exit status N`` at the end of the command.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

FENCE = re.compile(r"^```(?P<lang>[a-z]+)(?P<info>[^\n]*)\n(?P<body>.*?)^```[ \t]*$", re.M | re.S)
"""A fenced block: its language, the rest of its info string, its text."""

FILE = re.compile(r"^file=(?P<path>[\w./-]+)$")
NO_RUN = re.compile(r"^\s*no-run:\s*(?P<reason>\S.*)$")
EXIT_COMMENT = re.compile(r"#\s*exit status (?P<status>\d+)\s*$")
ELISION = "..."
COMMAND_TIMEOUT = 180
"""Seconds one command may take before the test fails (a hung command)."""


@dataclass(frozen=True)
class Command:
    """One ``$ `` command of a console block and the output the page shows for it."""

    line: int
    text: str
    expected: tuple[str, ...]


@dataclass(frozen=True)
class Block:
    """One fenced block of a page."""

    lang: str
    line: int
    body: str
    no_run: str | None = None
    path: str | None = None
    commands: tuple[Command, ...] = field(default=())


def page_blocks(text: str) -> list[Block]:
    """The python and console blocks of a page, in order (other languages are prose)."""
    blocks: list[Block] = []
    for match in FENCE.finditer(text):
        lang, info, body = match["lang"], match["info"].strip(), match["body"]
        line = text.count("\n", 0, match.start()) + 1
        file = FILE.match(info)
        if file is not None:
            if file["path"].startswith("/") or ".." in file["path"].split("/"):
                raise ValueError(f"line {line}: file={file['path']} leaves the page's folder")
            blocks.append(Block("file", line, body, path=file["path"]))
        elif lang == "python":
            if info:
                raise ValueError(
                    f"line {line}: python block info {info!r}: expected nothing or 'file=PATH' "
                    "(a block that is not to run is ```text)"
                )
            blocks.append(Block("python", line, body))
        elif lang == "console":
            no_run = NO_RUN.match(info)
            if info and no_run is None:
                raise ValueError(
                    f"line {line}: console block info {info!r}: expected nothing "
                    "or 'no-run: REASON'"
                )
            blocks.append(
                Block(
                    "console",
                    line,
                    body,
                    no_run=no_run["reason"] if no_run else None,
                    commands=tuple(parse_session(body, line + 1)),
                )
            )
    return blocks


def parse_session(body: str, first_line: int) -> list[Command]:
    """The commands of a console block with the output shown after each."""
    commands: list[Command] = []
    text: list[str] = []
    expected: list[str] = []
    start = 0
    continued = False
    for number, raw in enumerate(body.splitlines(), start=first_line):
        if continued:
            text.append(raw)
            continued = raw.endswith("\\")
        elif raw.startswith("$ "):
            if text:
                commands.append(Command(start, "\n".join(text), tuple(expected)))
            text, expected, start = [raw[2:]], [], number
            continued = raw.endswith("\\")
        elif text:
            expected.append(raw)
        elif raw.strip():
            raise ValueError(f"line {number}: output before any `$ ` command: {raw!r}")
    if text:
        commands.append(Command(start, "\n".join(text), tuple(expected)))
    return commands


def _normalize(line: str) -> str:
    return " ".join(line.split())


def _pattern(expected: str) -> re.Pattern[str]:
    parts = [re.escape(part) for part in _normalize(expected).split(ELISION)]
    return re.compile(".*".join(parts))


def output_matches(expected: tuple[str, ...], output: str) -> str | None:
    """None when every shown line appears in ``output``, in order; else the first missing.

    Lines are compared with runs of blanks collapsed (tables widen with their
    content); ``...`` inside a line stands for any text, and a line of only
    ``...`` for any lines (other lines may appear between shown lines anyway).
    """
    actual = [_normalize(line) for line in output.splitlines()]
    position = 0
    for line in expected:
        if not line.strip() or line.strip() == ELISION:
            continue
        pattern = _pattern(line)
        while position < len(actual) and not pattern.fullmatch(actual[position]):
            position += 1
        if position == len(actual):
            return line
        position += 1
    return None


def allowed_status(command: Command, following: Command | None) -> int | None:
    """The exit status the page shows for ``command`` (None: any non-zero one)."""
    comment = EXIT_COMMENT.search(command.text)
    if comment:
        return int(comment["status"])
    if following is not None and following.text.strip() == "echo $?":
        return None
    if any(line.startswith(("error:", "internal error:")) for line in command.expected):
        return None
    return 0


def command_env() -> dict[str, str]:
    """The environment of a page's commands: ``partita`` of this venv first on PATH.

    Variables that would point a command at a shared catalog or an OpenLineage
    endpoint are dropped, so a page only ever touches its own folder.
    """
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("PARTITA_", "OPENLINEAGE"))
    }
    venv_bin = str(Path(sys.executable).parent)
    env["PATH"] = os.pathsep.join([venv_bin, env.get("PATH", "/usr/bin:/bin")])
    env["TZ"] = "UTC"
    return env


def write_file(block: Block, folder: Path) -> None:
    """Save a ``file=PATH`` block's text to PATH under ``folder``."""
    assert block.path is not None
    target = folder / block.path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(block.body, encoding="utf-8")


def run_session(block: Block, folder: Path, where: str) -> None:
    """Run a console block's commands in ``folder``; AssertionError on the first mismatch."""
    env = command_env()
    status = 0
    for index, command in enumerate(block.commands):
        following = block.commands[index + 1] if index + 1 < len(block.commands) else None
        # `(exit N);` first: `$ echo $?` shows the status of the previous command
        result = subprocess.run(
            ["bash", "-c", f"(exit {status}); {command.text}"],
            cwd=folder,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=COMMAND_TIMEOUT,
            check=False,
        )
        status = result.returncode
        context = f"{where}, line {command.line}: $ {command.text}\n--- output ---\n{result.stdout}"
        wanted = allowed_status(command, following)
        if wanted is None:
            assert status != 0, f"expected a non-zero exit status, got 0\n{context}"
        else:
            assert status == wanted, f"exit status {status}, expected {wanted}\n{context}"
        missing = output_matches(command.expected, result.stdout)
        assert missing is None, f"this shown line is not in the output: {missing!r}\n{context}"
