"""The project-local code a function references, found by following names.

Starting from an asset's function, every global name its code uses (its
``co_names``, including those of nested functions, lambdas and
comprehensions), its closure variables and its parameter annotations are
resolved, and followed when they are project code:

- a function defined in a project file: its normalized source, then what it
  references in turn (a decorated helper is followed through ``__wrapped__``
  and through the wrapper's closure);
- a class defined in a project file: its normalized source (methods, class
  attributes, decorators), its base classes, and what its body references;
- a project module (``transforms.normalize(...)``): the attributes of the
  module that the code names;
- any other global of a project module (a constant, a table, a client): the
  module-level statements that assign it, normalized (``RATE = 1.5``,
  ``PAUSE = float(os.environ["PAUSE"])``: the expression counts, not the
  value it had at import), following ``from module import NAME`` into
  project modules, then what those statements use; its class too, when that
  is project code;
- a closure variable holding a simple literal (numbers, strings, bytes,
  ``None``, booleans, enums, dates, times, decimals, paths (relative to the
  project root when inside it), compiled regular expressions, and tuples,
  lists, sets, frozensets and dicts of those): its value. The same holds for
  a module global that no module-level statement assigns (set through
  ``globals()`` or a loop header).

Not followed: the standard library, installed packages (site-packages),
Partita itself, builtins and module metadata (``__file__``). Project files
are the files under the project's root, outside the interpreter's own and
site-packages folders.
"""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import functools
import hashlib
import importlib.util
import inspect
import re
import site
import sys
import sysconfig
import types
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePath

from partita.project_imports import PACKAGE_PREFIX
from partita.versions.digest import short_digest
from partita.versions.source import (
    NormalizedSource,
    assignment_source,
    class_source,
    function_source,
    imported_name,
)

__all__ = ["Component", "project_root", "referenced_components"]

_MAX_LITERAL_DEPTH = 16
_MAX_IMPORT_HOPS = 8


@dataclass(frozen=True, slots=True)
class Component:
    """One piece of project code a function's version covers.

    ``kind`` is ``function``, ``class`` or ``constant``; ``file`` the path of
    its file relative to the project root (``/``-separated); ``name`` its
    qualified name (a closure variable is ``<function>.<variable>``).
    """

    kind: str
    file: str
    name: str
    digest: str

    @property
    def key(self) -> str:
        """``<kind> <file>:<name>``: the component's name in a recorded version."""
        return f"{self.kind} {self.file}:{self.name}"


def project_root(fn: types.FunctionType) -> Path | None:
    """The folder holding ``fn``'s top-level package (for a plain module, its folder).

    A project loaded by Partita is a package of its own named after its folder
    (:mod:`partita.project_imports`): its root is that folder.
    """
    module = sys.modules.get(fn.__module__)
    file = getattr(module, "__file__", None) or fn.__code__.co_filename
    return _package_root(fn.__module__, file)


@functools.cache
def _package_root(module_name: str, file: str) -> Path | None:
    if not file or file.startswith("<"):
        return None
    path = Path(file).resolve()
    levels = module_name.count(".") + (1 if path.name == "__init__.py" else 0)
    if module_name.startswith(PACKAGE_PREFIX):
        levels -= 1  # the project's own package stands for its folder
    root = path.parent
    for _ in range(levels):
        root = root.parent
    return root


@functools.cache
def _outside_project() -> tuple[Path, ...]:
    """Folders whose files never count as project code."""
    folders = {
        sysconfig.get_paths()[name] for name in ("stdlib", "platstdlib", "purelib", "platlib")
    }
    folders.update(getattr(site, "getsitepackages", list)())
    folders.add(site.getusersitepackages())
    partita = Path(__file__).resolve().parents[1]
    return (partita, *(Path(f).resolve() for f in folders if f))


@functools.cache
def _relative_file(root: Path, filename: str) -> str | None:
    if not filename or filename.startswith("<"):
        return None
    path = Path(filename).resolve()
    if not path.is_relative_to(root):
        return None
    if any(path.is_relative_to(folder) for folder in _outside_project()):
        return None
    return path.relative_to(root).as_posix()


_NAMES: weakref.WeakKeyDictionary[types.FunctionType, frozenset[str]]
_NAMES = weakref.WeakKeyDictionary()


def _code_names(fn: types.FunctionType) -> frozenset[str]:
    """The names ``fn``'s code uses as globals or attributes, nested code included."""
    found = _NAMES.get(fn)
    if found is None:
        names: set[str] = set()
        stack = [fn.__code__]
        while stack:
            code = stack.pop()
            names.update(code.co_names)
            stack.extend(c for c in code.co_consts if isinstance(c, types.CodeType))
        found = _NAMES[fn] = frozenset(names)
    return found


def _literal_text(value: object, root: Path, depth: int = 0) -> str | None:
    """A canonical text of a simple literal value, or ``None`` when it is not one.

    A path inside the project ``root`` counts relative to it, so moving the
    project folder does not change versions.
    """
    if depth > _MAX_LITERAL_DEPTH:
        return None
    if isinstance(value, enum.Enum):
        return f"{type(value).__qualname__}.{value.name}"
    if value is None or isinstance(value, bool | int | float | complex | str | bytes):
        return f"{type(value).__name__}:{value!r}"
    if isinstance(value, PurePath):
        if isinstance(value, Path) and value.is_absolute():
            resolved = value.resolve()
            if resolved.is_relative_to(root):
                return f"path:{resolved.relative_to(root).as_posix()}"
        return f"path:{value!r}"
    if isinstance(value, dt.date | dt.time | dt.timedelta | decimal.Decimal):
        return repr(value)
    if isinstance(value, re.Pattern):
        return f"re:{value.pattern!r}:{value.flags}"
    if isinstance(value, tuple | list):
        items = [_literal_text(v, root, depth + 1) for v in value]
        if any(i is None for i in items):
            return None
        return f"{type(value).__name__}[{', '.join(items)}]"  # type: ignore[arg-type]
    if isinstance(value, set | frozenset):
        members = [_literal_text(v, root, depth + 1) for v in value]
        if any(m is None for m in members):
            return None
        return f"{type(value).__name__}{{{', '.join(sorted(members))}}}"  # type: ignore[arg-type]
    if isinstance(value, dict):
        pairs = [
            (_literal_text(k, root, depth + 1), _literal_text(v, root, depth + 1))
            for k, v in value.items()
        ]
        if any(k is None or v is None for k, v in pairs):
            return None
        return f"dict{{{', '.join(sorted(f'{k}: {v}' for k, v in pairs))}}}"
    return None


def _functions_of_class(cls: type) -> Iterator[types.FunctionType]:
    for attribute in vars(cls).values():
        candidates: tuple[object, ...] = (attribute,)
        if isinstance(attribute, staticmethod | classmethod):
            candidates = (attribute.__func__,)
        elif isinstance(attribute, property):
            candidates = (attribute.fget, attribute.fset, attribute.fdel)
        yield from (f for f in candidates if isinstance(f, types.FunctionType))


@dataclass(frozen=True, slots=True)
class _Scope:
    """A project module as the walk sees it: its file (relative, and as its code
    names it) and its globals."""

    file: str
    filename: str
    names: dict[str, object]

    @property
    def package(self) -> str | None:
        package = self.names.get("__package__")
        return package if isinstance(package, str) else None


class _Walk:
    """One walk from one asset function: the components found so far."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.found: dict[str, Component] = {}
        self.visited: set[int] = set()
        self.visited_names: set[tuple[str, str]] = set()
        self.module_visits: set[tuple[int, frozenset[str]]] = set()

    def scope_of(self, filename: str | None, names: dict[str, object]) -> _Scope | None:
        file = _relative_file(self.root, filename or "")
        return None if file is None or filename is None else _Scope(file, filename, names)

    def module_scope(self, module: types.ModuleType) -> _Scope | None:
        return self.scope_of(getattr(module, "__file__", None), vars(module))

    def add(self, component: Component) -> None:
        self.found[component.key] = component

    def first_visit(self, value: object) -> bool:
        if id(value) in self.visited:
            return False
        self.visited.add(id(value))
        return True

    def names_in(self, scope: _Scope, names: frozenset[str]) -> None:
        """Follow each of ``names`` that ``scope`` defines (not module metadata: ``__file__``)."""
        for name in sorted(names):
            if name in scope.names and not (name.startswith("__") and name.endswith("__")):
                self.value(scope.names[name], name, names, scope)

    def references(self, fn: types.FunctionType, scope: _Scope, extra: frozenset[str]) -> None:
        """Follow what ``fn`` names: globals, closure variables, annotations."""
        names = _code_names(fn) | extra
        self.names_in(scope, names)
        cells = fn.__closure__ or ()
        for variable, cell in zip(fn.__code__.co_freevars, cells, strict=False):
            try:
                content = cell.cell_contents
            except ValueError:  # an empty cell: not assigned yet
                continue
            self.value(content, f"{fn.__code__.co_qualname}.{variable}", names, scope)
        for annotation in getattr(fn, "__annotations__", {}).values():
            if isinstance(annotation, type):
                self.value(annotation, "", names, scope)

    def function(self, fn: types.FunctionType) -> None:
        scope = self.scope_of(fn.__code__.co_filename, fn.__globals__)
        if scope is None or not self.first_visit(fn):
            return
        source = function_source(fn, asset_function=False)
        self.add(Component("function", scope.file, fn.__code__.co_qualname, source.digest))
        self.references(fn, scope, source.names)
        wrapped = getattr(fn, "__wrapped__", None)
        if wrapped is not None:
            self.value(wrapped, "", frozenset(), scope)

    def klass(self, cls: type) -> None:
        module = sys.modules.get(cls.__module__)
        scope = None if module is None else self.module_scope(module)
        if scope is None or not self.first_visit(cls):
            return
        source = class_source(cls)
        self.add(Component("class", scope.file, cls.__qualname__, source.digest))
        for base in cls.__bases__:
            self.value(base, "", frozenset(), scope)
        self.names_in(scope, source.names)
        for method in _functions_of_class(cls):
            method_scope = self.scope_of(method.__code__.co_filename, method.__globals__)
            if method_scope is not None and self.first_visit(method):
                self.references(method, method_scope, frozenset())

    def module(self, module: types.ModuleType, names: frozenset[str]) -> None:
        scope = self.module_scope(module)
        visit = (id(module), names)
        if scope is None or visit in self.module_visits:
            return
        self.module_visits.add(visit)
        self.names_in(scope, names)

    def definition(self, name: str, scope: _Scope) -> tuple[_Scope, str, NormalizedSource] | None:
        """The module-level statements assigning ``name`` as ``scope`` sees it, following
        ``from module import name`` into project modules."""
        for _ in range(_MAX_IMPORT_HOPS):
            source = assignment_source(scope.filename, name)
            if source is not None:
                return scope, name, source
            imported = imported_name(scope.filename, name)
            if imported is None:
                return None
            module_name, name, level = imported
            try:
                resolved = importlib.util.resolve_name("." * level + module_name, scope.package)
            except (ImportError, ValueError):
                return None
            module = sys.modules.get(resolved)
            found = None if module is None else self.module_scope(module)
            if found is None:
                return None
            scope = found
        return None

    def constant(self, value: object, name: str, scope: _Scope) -> None:
        """A value that is not code: the statement that assigns it, or a literal's value."""
        if not name or (scope.filename, name) in self.visited_names:
            return
        self.visited_names.add((scope.filename, name))
        defined = self.definition(name, scope)
        if defined is not None:
            where, original, source = defined
            self.add(Component("constant", where.file, original, source.digest))
            self.names_in(where, source.names)
            return
        text = _literal_text(value, self.root)
        if text is not None:
            digest = short_digest(hashlib.sha256(text.encode()).digest())
            self.add(Component("constant", scope.file, name, digest))

    def value(self, value: object, name: str, names: frozenset[str], scope: _Scope) -> None:
        """Follow one value named ``name`` in ``scope``."""
        if isinstance(value, types.MethodType):
            value = value.__func__
        if isinstance(value, types.FunctionType):
            self.function(value)
        elif isinstance(value, type):
            self.klass(value)
        elif isinstance(value, types.ModuleType):
            self.module(value, names)
        elif callable(value) and isinstance(
            getattr(value, "__wrapped__", None), types.FunctionType
        ):  # a helper behind a wrapper object, e.g. functools.lru_cache
            self.value(getattr(value, "__wrapped__"), name, names, scope)  # noqa: B009
        else:
            self.constant(value, name, scope)
            if not isinstance(value, types.BuiltinFunctionType):
                self.klass(type(value))


def referenced_components(fn: Callable[..., object], root: Path) -> list[Component]:
    """The project-local code ``fn`` references, transitively, sorted by key.

    ``fn`` is the function an asset was declared with; its own body is not a
    component (see :func:`partita.versions.code_version`). A decorator applied
    under ``@asset`` is followed through ``__wrapped__``.

    Raises:
        DefinitionError: the source of a referenced project function or class
            cannot be read.
    """
    target = inspect.unwrap(fn)
    walk = _Walk(root)
    if isinstance(target, types.FunctionType):
        walk.visited.add(id(target))
        scope = walk.scope_of(target.__code__.co_filename, target.__globals__)
        if scope is not None:
            walk.references(target, scope, frozenset())
    if fn is not target and isinstance(fn, types.FunctionType):
        walk.function(fn)
    return [walk.found[key] for key in sorted(walk.found)]
