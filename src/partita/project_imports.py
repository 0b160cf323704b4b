"""A project's own Python modules, imported under names of their own.

One process may load several projects (a daemon, a web page, a test suite),
and two of them may both have a ``helpers.py``. Each project folder therefore
becomes a package of its own, named after the folder's resolved path
(``_partita_project_<folder>_<hash>``): the definitions file ``defs.py`` is
imported as ``<package>.defs``, the ``helpers.py`` beside it as
``<package>.helpers``, a package ``pipeline/`` beside it as
``<package>.pipeline``.

Inside the project's modules, ``import helpers`` and ``from helpers import x``
(at module level or inside a function, whenever it runs) resolve to the
project's own module, as they would for ``python defs.py``; relative imports
(``from . import helpers``) work too. Imports of anything else, and imports
by code outside the project, are untouched, and ``sys.path`` is never changed.
This works through each project module's ``__builtins__``: a copy of the
builtins, taken when the project is loaded, whose ``__import__`` knows the
project folder.

Names depend only on the folder, so a worker process that loads the same
project gets the same module names, and functions pickle by reference between
them. Loading a project again drops its modules first, so edits take effect;
its modules are compiled from source every time (no ``.pyc`` can hide an edit).
"""

from __future__ import annotations

import builtins
import hashlib
import importlib
import importlib.abc
import importlib.util
import linecache
import re
import sys
import threading
from collections.abc import Mapping, Sequence
from importlib.machinery import FrozenImporter, ModuleSpec, PathFinder, SourceFileLoader
from pathlib import Path
from types import CodeType, ModuleType
from typing import Any

__all__ = [
    "PACKAGE_PREFIX",
    "ProjectModules",
    "import_project_file",
    "import_project_module",
    "project_package",
]

PACKAGE_PREFIX = "_partita_project_"

_lock = threading.RLock()
_projects: dict[str, ProjectModules] = {}


def project_package(root: Path) -> str:
    """The package name of the project folder ``root`` (the same in every process)."""
    resolved = root.resolve()
    slug = re.sub(r"[^A-Za-z0-9_]", "_", resolved.name)[:32] or "root"
    digest = hashlib.sha256(str(resolved).encode()).hexdigest()[:12]
    return f"{PACKAGE_PREFIX}{slug}_{digest}"


def _in_folder(top: str, root: Path) -> bool:
    """Whether ``top`` names a module or package in ``root`` that an import there finds.

    A folder without ``__init__.py`` (a namespace package) counts only when no
    installed module of that name exists, as on ``sys.path``.
    """
    if top in sys.builtin_module_names or FrozenImporter.find_spec(top) is not None:
        return False
    spec = PathFinder.find_spec(top, [str(root)])
    if spec is None:
        return False
    if spec.origin is None:  # a namespace package: the lowest priority
        other = PathFinder.find_spec(top)
        return other is None or other.origin is None
    return True


class _PackageLoader(importlib.abc.Loader):
    """Creates a project's package: an empty module whose ``__path__`` is the folder."""

    def create_module(self, spec: ModuleSpec) -> ModuleType | None:
        return None

    def exec_module(self, module: ModuleType) -> None:
        return None


class _ProjectSourceLoader(SourceFileLoader):
    """Loads a project module with the project's builtins, always from its source."""

    def __init__(self, fullname: str, path: str, project_builtins: Mapping[str, Any]) -> None:
        super().__init__(fullname, path)
        self.project_builtins = project_builtins

    def exec_module(self, module: ModuleType) -> None:
        module.__dict__["__builtins__"] = self.project_builtins
        super().exec_module(module)

    def get_code(self, fullname: str) -> CodeType:
        data = self.get_data(self.path)
        # What the module runs is this text: tracebacks, and the code versions hashed
        # from its functions' source, must read it, not a later edit of the file. An
        # entry without a modification time is one linecache never re-reads.
        text = importlib.util.decode_source(data)
        linecache.cache[self.path] = (len(text), None, text.splitlines(keepends=True), self.path)
        return self.source_to_code(data, self.path)


class ProjectModules:
    """The modules of one project folder: their package name and import rule.

    Args:
        root: the project folder (the definitions file's folder, or where the
            ``-m`` package was found).
    """

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.package = project_package(self.root)
        self.files: dict[str, Path] = {}  # full module name -> a definitions file named explicitly
        self._own: dict[str, bool] = {}
        self.builtins: dict[str, Any] = dict(vars(builtins))
        self.builtins["__import__"] = self._import

    def owns(self, top: str) -> bool:
        """Whether the top-level module name ``top`` is one of the project's files or packages."""
        known = self._own.get(top)
        if known is None:
            known = self._own[top] = _in_folder(top, self.root)
        return known

    def _import(
        self,
        name: str,
        globals: Mapping[str, Any] | None = None,
        locals: Mapping[str, Any] | None = None,
        fromlist: Sequence[str] | None = (),
        level: int = 0,
    ) -> ModuleType:
        if level == 0 and name:
            top = name.partition(".")[0]
            if self.owns(top):
                full = f"{self.package}.{name}"
                module = builtins.__import__(full, globals, locals, fromlist or (), 0)
                return module if fromlist else sys.modules[f"{self.package}.{top}"]
        return builtins.__import__(name, globals, locals, fromlist or (), level)

    def find_spec(self, fullname: str, path: Sequence[str] | None) -> ModuleSpec | None:
        """The spec of the package itself or of one of its modules."""
        if fullname == self.package:
            package = ModuleSpec(fullname, _PackageLoader(), is_package=True)
            package.submodule_search_locations = [str(self.root)]
            return package
        file = self.files.get(fullname)
        if file is not None:
            loader = _ProjectSourceLoader(fullname, str(file), self.builtins)
            return importlib.util.spec_from_file_location(fullname, file, loader=loader)
        spec = PathFinder.find_spec(fullname, path)
        if spec is not None and type(spec.loader) is SourceFileLoader and spec.origin:
            spec.loader = _ProjectSourceLoader(fullname, spec.origin, self.builtins)
        return spec


class _ProjectFinder(importlib.abc.MetaPathFinder):
    """Finds the modules of loaded projects (one instance, first on ``sys.meta_path``)."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        project = _projects.get(fullname.partition(".")[0])
        return None if project is None else project.find_spec(fullname, path)


def _activate(project: ProjectModules) -> None:
    """Make ``project`` the one of its folder, dropping the modules of an earlier load."""
    with _lock:
        prefix = project.package + "."
        for name in [n for n in list(sys.modules) if n == project.package or n.startswith(prefix)]:
            del sys.modules[name]
        _projects[project.package] = project
        if not any(isinstance(finder, _ProjectFinder) for finder in sys.meta_path):
            sys.meta_path.insert(0, _ProjectFinder())
        importlib.invalidate_caches()


def import_project_file(path: Path) -> ModuleType:
    """Import the file ``path`` as ``<package of its folder>.<file stem>``.

    Loading a file of a folder loaded before drops that folder's modules first.
    """
    project = ProjectModules(path.parent)
    name = f"{project.package}.{path.stem.replace('.', '_')}"
    project.files[name] = path
    with _lock:
        _activate(project)
        return importlib.import_module(name)


def import_project_module(name: str, root: Path) -> ModuleType:
    """Import the module ``name`` (``package.module``) of the folder ``root``.

    When ``root`` holds its top-level package, the module is the project's
    (``<package of root>.package.module``, loaded afresh); otherwise it is the
    installed module of that name, imported as usual.

    Raises:
        ModuleNotFoundError: no such module (``name`` on the error is the user's name).
    """
    project = ProjectModules(root)
    if not project.owns(name.partition(".")[0]):
        return importlib.import_module(name)
    full = f"{project.package}.{name}"
    with _lock:
        _activate(project)
        try:
            return importlib.import_module(full)
        except ModuleNotFoundError as exc:
            if exc.name and full.startswith(exc.name) and exc.name != project.package:
                missing = exc.name.removeprefix(project.package + ".")
                raise ModuleNotFoundError(f"No module named {missing!r}", name=missing) from exc
            raise
