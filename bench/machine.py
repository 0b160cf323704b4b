"""What machine and which code produced a figure.

Every benchmark record carries a :class:`Machine` (CPU model, cores, memory,
operating system, Python and library versions) and the Partita commit, so a
figure can always be traced back to where and on what it was measured.
"""

from __future__ import annotations

import os
import platform
import subprocess
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path

__all__ = ["LIBRARIES", "Machine", "partita_commit"]

LIBRARIES: tuple[str, ...] = (
    "partita",
    "pandas",
    "pyarrow",
    "duckdb",
    "sqlglot",
    "pydantic",
    "networkx",
)
"""Distributions whose installed version is recorded with every figure."""


def _cpu_model(cpuinfo: Path) -> str:
    try:
        text = cpuinfo.read_text(encoding="utf-8", errors="replace")
    except OSError:
        text = ""
    for line in text.splitlines():
        name, sep, value = line.partition(":")
        if sep and name.strip() in ("model name", "Model", "cpu model"):
            return value.strip()
    return platform.processor() or platform.machine() or "unknown"


def _memory_gib(meminfo: Path) -> float | None:
    try:
        text = meminfo.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith("MemTotal:"):
            fields = line.split()
            # "MemTotal:  16318412 kB"
            return round(int(fields[1]) * 1024 / 2**30, 1)
    return None


def _version(distribution: str) -> str | None:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


@dataclass(frozen=True, slots=True)
class Machine:
    """The machine and software a benchmark ran on.

    Attributes:
        cpu_model: the CPU's model name (``/proc/cpuinfo``), or the best
            answer :mod:`platform` gives elsewhere.
        cores: logical CPUs (``os.cpu_count()``).
        memory_gib: total memory in GiB (``/proc/meminfo``), ``None`` if unknown.
        os: ``platform.platform()``.
        python: implementation and version, e.g. ``CPython 3.11.9``.
        versions: installed version of each of :data:`LIBRARIES` (``None`` when
            not installed).
    """

    cpu_model: str
    cores: int | None
    memory_gib: float | None
    os: str
    python: str
    versions: dict[str, str | None]

    @classmethod
    def detect(
        cls,
        *,
        cpuinfo: Path = Path("/proc/cpuinfo"),
        meminfo: Path = Path("/proc/meminfo"),
    ) -> Machine:
        """Describe the machine this process runs on."""
        return cls(
            cpu_model=_cpu_model(cpuinfo),
            cores=os.cpu_count(),
            memory_gib=_memory_gib(meminfo),
            os=platform.platform(),
            python=f"{platform.python_implementation()} {platform.python_version()}",
            versions={name: _version(name) for name in LIBRARIES},
        )

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready dictionary of every field."""
        return asdict(self)


def _git(repo: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", *args],
            cwd=repo,
            capture_output=True,
            text=True,
            check=False,
            timeout=30,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout if done.returncode == 0 else None


def partita_commit(repo: Path) -> str:
    """The short commit of ``repo``, with ``-dirty`` when the work tree has changes.

    Untracked files count as changes (a new module changes what runs), except
    benchmark output under ``bench/results`` and ``bench/.work``. Returns
    ``"unknown"`` when ``repo`` is not a git work tree or git is missing.
    """
    sha = _git(repo, "rev-parse", "--short", "HEAD")
    if sha is None:
        return "unknown"
    status = _git(repo, "status", "--porcelain", "--", ".", ":!bench/results", ":!bench/.work")
    dirty = status is None or bool(status.strip())
    return sha.strip() + ("-dirty" if dirty else "")
