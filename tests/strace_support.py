"""Reading an ``strace -f -tt -y -s N`` log into ordered syscall events (for the
durability-order test).

Each event keeps the line where the call was entered and the line where it
returned (the same line unless strace split it into ``<unfinished ...>`` and
``<... resumed>``), so "A returned before B was entered" is a comparison of
line numbers: strace writes a process tree's lines in the order things happen.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Syscall", "parse_strace"]

_LINE = re.compile(r"^(?:\[pid\s+)?(\d+)\]?\s+\d\d:\d\d:\d\d\.\d+\s+(.*)$")
_UNFINISHED = re.compile(r"^(\w+)\((.*) <unfinished \.\.\.>$")
_RESUMED = re.compile(r"^<\.\.\. (\w+) resumed>(.*)$")
_CALL = re.compile(r"^(\w+)\((.*)$")
_RESULT = re.compile(r"\)\s+=\s+(-?\d+|\?)(?:\s.*)?$")
_FD = r"(?:AT_FDCWD|-?\d+)(?:<([^>]*)>)?"
_STRING = r'"((?:[^"\\]|\\.)*)"'


@dataclass(frozen=True)
class Syscall:
    """One traced call: its name, its argument text, the log lines where it was
    entered and returned, and its return value (``None`` when it never returned)."""

    name: str
    args: str
    entered: int
    returned: int
    result: int | None

    @property
    def ok(self) -> bool:
        """Whether it returned a non-negative value."""
        return self.result is not None and self.result >= 0

    def fd_path(self) -> str | None:
        """The path of the first argument, a descriptor shown by ``-y``."""
        found = re.match(_FD, self.args)
        return None if found is None else found.group(1)

    def paths(self) -> list[str]:
        """Path arguments: strings, with a directory descriptor's path joined in front of
        a relative one (``renameat``, ``mkdirat``)."""
        if self.name in ("rename", "mkdir"):
            return re.findall(_STRING, self.args)
        if self.name in ("renameat", "renameat2", "mkdirat"):
            pairs = re.findall(_FD + r",\s*" + _STRING, self.args)
            return [p if p.startswith("/") or not d else str(Path(d) / p) for d, p in pairs]
        return []


def _result(text: str) -> int | None:
    found = _RESULT.search(text)
    if found is None or found.group(1) == "?":
        return None
    return int(found.group(1))


def parse_strace(log: str) -> list[Syscall]:
    """The calls of a log, in the order they were entered."""
    calls: list[Syscall] = []
    pending: dict[tuple[str, str], tuple[str, int]] = {}
    for number, line in enumerate(log.splitlines()):
        found = _LINE.match(line)
        if found is None:
            continue
        pid, rest = found.groups()
        unfinished = _UNFINISHED.match(rest)
        if unfinished is not None:
            pending[(pid, unfinished.group(1))] = (unfinished.group(2), number)
            continue
        resumed = _RESUMED.match(rest)
        if resumed is not None:
            name = resumed.group(1)
            args, entered = pending.pop((pid, name), ("", number))
            text = args + resumed.group(2)
            calls.append(Syscall(name, text, entered, number, _result(text)))
            continue
        call = _CALL.match(rest)
        if call is not None:
            calls.append(Syscall(call.group(1), call.group(2), number, number, _result(rest)))
    calls.sort(key=lambda c: c.entered)
    return calls
