"""Keeping a long-lived process's project current with its files on disk.

A daemon (and the web page) loads the project once and runs for days. When
the definitions change on disk, what it plans must change too: a run planned
with the code it loaded at start, but whose worker processes import the
files as they are now, would record code versions that did not build the
data (the workers refuse such a step: :class:`~partita.errors.CodeChangedError`).
:class:`ProjectWatch` remembers the size and modification time of every file
the project was imported from (its own modules, see
:mod:`partita.project_imports`, and its ``pyproject.toml``) and says when
one changed; :func:`reload_project` loads the project again from its origin.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from partita.api.project import Project, checked_graph
from partita.definitions import load_origin
from partita.project_imports import project_package

__all__ = ["ProjectWatch", "reload_project"]

_Stat = tuple[int, int] | None


def _stat(path: Path) -> _Stat:
    try:
        found = path.stat()
    except OSError:
        return None
    return (found.st_mtime_ns, found.st_size)


def _project_files(project: Project) -> list[Path]:
    """The files ``project`` was imported from: its modules and its pyproject.toml."""
    loaded = project.loaded
    files: list[Path] = []
    if loaded.code_root is not None:
        package = project_package(loaded.code_root)
        for name, module in list(sys.modules.items()):
            if name == package or name.startswith(package + "."):
                found = getattr(module, "__file__", None)
                if found:
                    files.append(Path(found))
    pyproject = loaded.root / "pyproject.toml"
    if pyproject.is_file():
        files.append(pyproject)
    return sorted(set(files))


@dataclass(frozen=True)
class ProjectWatch:
    """The files a project was loaded from, as they were then (``None``: missing)."""

    files: dict[Path, _Stat]

    @classmethod
    def of(cls, project: Project) -> ProjectWatch | None:
        """The watch of a project loaded from files; ``None`` for definitions built in
        memory (there is nothing to reload them from)."""
        if project.in_memory:
            return None
        return cls({path: _stat(path) for path in _project_files(project)})

    def changed(self) -> list[Path]:
        """The files that changed (or appeared, or vanished) since, in path order."""
        return [path for path, seen in self.files.items() if _stat(path) != seen]

    def refreshed(self) -> ProjectWatch:
        """The same files as they are now (so one edit is reported once)."""
        return ProjectWatch({path: _stat(path) for path in self.files})


def reload_project(project: Project) -> Project:
    """``project`` loaded again from its origin: its files as they are now.

    Raises what :func:`~partita.api.load_project` raises (a syntax error in a
    half-saved file, a definition that no longer validates).
    """
    if project.in_memory:
        return project
    loaded = load_origin(project.loaded.origin, project.loaded.code_root or project.loaded.root)
    return Project(loaded=loaded, graph=checked_graph(loaded.definitions))
