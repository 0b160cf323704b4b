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
- a module constant or closure variable holding a simple literal (numbers,
  strings, bytes, ``None``, booleans, enums, dates, times, decimals, paths
  (relative to the project root when inside it) and compiled regular
  expressions, and tuples, lists, sets, frozensets and dicts of those): its
  value;
- any other object whose class is project code: that class.

Everything else is not followed: the standard library, installed packages
(site-packages) and Partita itself, builtins, and the value of other objects
(a DataFrame, a connection, a ``functools.partial``) held in a global.
Project files are the files under the project's root, outside the
interpreter's own and site-packages folders.
"""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import functools
import hashlib
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

from partita.versions.digest import short_digest
from partita.versions.source import class_source, function_source

__all__ = ["Component", "project_root", "referenced_components"]

_MAX_LITERAL_DEPTH = 16


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
    """The folder holding ``fn``'s top-level package (for a plain module, its folder)."""
    module = sys.modules.get(fn.__module__)
    file = getattr(module, "__file__", None) or fn.__code__.co_filename
    return _package_root(fn.__module__, file)


@functools.cache
def _package_root(module_name: str, file: str) -> Path | None:
    if not file or file.startswith("<"):
        return None
    path = Path(file).resolve()
    levels = module_name.count(".") + (1 if path.name == "__init__.py" else 0)
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


class _Walk:
    """One walk from one asset function: the components found so far."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.found: dict[str, Component] = {}
        self.visited: set[int] = set()
        self.module_visits: set[tuple[int, frozenset[str]]] = set()

    def relative(self, filename: str | None) -> str | None:
        return _relative_file(self.root, filename or "")

    def add(self, component: Component) -> None:
        self.found[component.key] = component

    def first_visit(self, value: object) -> bool:
        if id(value) in self.visited:
            return False
        self.visited.add(id(value))
        return True

    def references(self, fn: types.FunctionType, file: str, extra: frozenset[str]) -> None:
        """Follow what ``fn`` names: globals, closure variables, annotations."""
        names = _code_names(fn) | extra
        scope = fn.__globals__
        for name in sorted(names):
            if name in scope:
                self.value(scope[name], name, names, file)
        cells = fn.__closure__ or ()
        for variable, cell in zip(fn.__code__.co_freevars, cells, strict=False):
            try:
                content = cell.cell_contents
            except ValueError:  # an empty cell: not assigned yet
                continue
            self.value(content, f"{fn.__code__.co_qualname}.{variable}", names, file)
        for annotation in getattr(fn, "__annotations__", {}).values():
            if isinstance(annotation, type):
                self.value(annotation, "", names, file)

    def function(self, fn: types.FunctionType) -> None:
        file = self.relative(fn.__code__.co_filename)
        if file is None or not self.first_visit(fn):
            return
        source = function_source(fn, asset_function=False)
        self.add(Component("function", file, fn.__code__.co_qualname, source.digest))
        self.references(fn, file, source.names)
        wrapped = getattr(fn, "__wrapped__", None)
        if wrapped is not None:
            self.value(wrapped, "", frozenset(), file)

    def klass(self, cls: type) -> None:
        module = sys.modules.get(cls.__module__)
        file = self.relative(getattr(module, "__file__", None))
        if module is None or file is None or not self.first_visit(cls):
            return
        source = class_source(cls)
        self.add(Component("class", file, cls.__qualname__, source.digest))
        for base in cls.__bases__:
            self.value(base, "", frozenset(), file)
        scope = vars(module)
        for name in sorted(source.names):
            if name in scope:
                self.value(scope[name], name, source.names, file)
        for method in _functions_of_class(cls):
            if self.relative(method.__code__.co_filename) is not None and self.first_visit(method):
                self.references(method, file, frozenset())

    def module(self, module: types.ModuleType, names: frozenset[str]) -> None:
        file = self.relative(getattr(module, "__file__", None))
        visit = (id(module), names)
        if file is None or visit in self.module_visits:
            return
        self.module_visits.add(visit)
        scope = vars(module)
        for name in sorted(names):
            if name in scope:
                self.value(scope[name], name, names, file)

    def value(self, value: object, name: str, names: frozenset[str], file: str) -> None:
        """Follow one value named ``name`` in ``file``'s scope."""
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
            self.value(getattr(value, "__wrapped__"), name, names, file)  # noqa: B009
        else:
            text = _literal_text(value, self.root)
            if text is not None:
                if name:
                    digest = short_digest(hashlib.sha256(text.encode()).digest())
                    self.add(Component("constant", file, name, digest))
                if isinstance(value, enum.Enum):
                    self.klass(type(value))
            elif not isinstance(value, types.BuiltinFunctionType):
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
        file = walk.relative(target.__code__.co_filename)
        if file is not None:
            walk.references(target, file, frozenset())
    if fn is not target and isinstance(fn, types.FunctionType):
        walk.function(fn)
    return [walk.found[key] for key in sorted(walk.found)]
