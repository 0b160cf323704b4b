"""Normalized source: the hash of a function's or class's AST, and the names it uses.

Comments, blank lines, formatting and docstrings never count; the decorators
of an asset's own function do not count either (they declare the asset), the
decorators of a helper do (they change what the helper does). Digests are
cached per function or class object (weakly, so a reloaded project does not
keep the old objects alive).
"""

from __future__ import annotations

import ast
import hashlib
import inspect
import linecache
import sys
import textwrap
import types
import weakref
from collections.abc import Iterator
from dataclasses import dataclass

from partita.errors import DefinitionError
from partita.versions.digest import short_digest

__all__ = [
    "NormalizedSource",
    "assignment_source",
    "class_source",
    "function_source",
    "imported_name",
]


@dataclass(frozen=True, slots=True)
class NormalizedSource:
    """The digest of an object's normalized source and the identifiers it mentions.

    ``names`` are the identifiers used by what the digest covers but the code
    objects do not reveal: the decorators of a function, the whole body of a
    class (class attributes, base classes and methods).
    """

    digest: str
    names: frozenset[str]


def _definitions(node: ast.AST) -> Iterator[ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef]:
    """Every function and class definition in ``node``, itself included.

    Only statements are searched (a definition is always a statement), never
    the expressions inside them: much cheaper than :func:`ast.walk`.
    """
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            yield current
        stack.extend(
            child
            for child in ast.iter_child_nodes(current)
            if isinstance(child, ast.stmt | ast.excepthandler | ast.match_case)
        )


def _strip_docstrings(tree: ast.AST) -> None:
    """Drop the docstring of every function and class in ``tree`` (in place)."""
    for node in _definitions(tree):
        body = node.body
        if (
            body
            and isinstance(body[0], ast.Expr)
            and isinstance(body[0].value, ast.Constant)
            and isinstance(body[0].value.value, str)
        ):
            node.body = body[1:] or [ast.Pass()]


def _identifiers(nodes: list[ast.expr] | ast.AST) -> frozenset[str]:
    """The names and attribute names used in ``nodes``."""
    found: set[str] = set()
    for root in nodes if isinstance(nodes, list) else [nodes]:
        for node in ast.walk(root):
            if isinstance(node, ast.Name):
                found.add(node.id)
            elif isinstance(node, ast.Attribute):
                found.add(node.attr)
    return frozenset(found)


@dataclass(frozen=True, slots=True)
class _FileIndex:
    """One source file: where each function and class starts and ends (1-based lines),
    the module-level statements assigning each name, and the names it imports from
    other modules (``name -> (module, original name, level)``)."""

    lines: list[str]
    functions: dict[int, int]
    classes: dict[str, list[tuple[int, int]]]
    assignments: dict[str, list[ast.stmt]]
    imports: dict[str, tuple[str, str, int]]


_MODULE_LEVEL_BLOCKS = (ast.If, ast.Try, ast.With, ast.For, ast.While)


def _assigned_names(target: ast.expr) -> list[str]:
    if isinstance(target, ast.Name):
        return [target.id]
    if isinstance(target, ast.Tuple | ast.List):
        return [n for item in target.elts for n in _assigned_names(item)]
    if isinstance(target, ast.Starred):
        return _assigned_names(target.value)
    return []


def _module_level(
    body: list[ast.stmt],
    assignments: dict[str, list[ast.stmt]],
    imports: dict[str, tuple[str, str, int]],
) -> None:
    """Collect the assignments and ``from ... import`` of module-level statements."""
    for statement in body:
        targets: list[ast.expr] = []
        if isinstance(statement, ast.Assign):
            targets = statement.targets
        elif isinstance(statement, ast.AnnAssign | ast.AugAssign) and (
            not isinstance(statement, ast.AnnAssign) or statement.value is not None
        ):
            targets = [statement.target]
        elif isinstance(statement, ast.ImportFrom):
            for alias in statement.names:
                imports[alias.asname or alias.name] = (
                    statement.module or "",
                    alias.name,
                    statement.level,
                )
        elif isinstance(statement, _MODULE_LEVEL_BLOCKS):
            for field in ("body", "orelse", "finalbody"):
                _module_level(getattr(statement, field, []), assignments, imports)
            for handler in getattr(statement, "handlers", []):
                _module_level(handler.body, assignments, imports)
        for target in targets:
            for name in _assigned_names(target):
                assignments.setdefault(name, []).append(statement)


def _index(lines: list[str]) -> _FileIndex | None:
    try:
        tree = ast.parse("".join(lines))
    except (SyntaxError, ValueError):
        return None
    assignments: dict[str, list[ast.stmt]] = {}
    imports: dict[str, tuple[str, str, int]] = {}
    _module_level(tree.body, assignments, imports)
    functions: dict[int, int] = {}
    classes: dict[str, list[tuple[int, int]]] = {}
    stack: list[tuple[ast.AST, str]] = [(node, "") for node in tree.body]
    while stack:
        node, prefix = stack.pop()
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            stack.extend(
                (child, prefix)
                for child in ast.iter_child_nodes(node)
                if isinstance(child, ast.stmt | ast.excepthandler | ast.match_case)
            )
            continue
        start = node.decorator_list[0].lineno if node.decorator_list else node.lineno
        end = node.end_lineno or node.lineno
        qualname = prefix + node.name
        if isinstance(node, ast.ClassDef):
            classes.setdefault(qualname, []).append((start, end))
            inner = qualname + "."
        else:
            functions[start] = end
            inner = qualname + ".<locals>."
        stack.extend((child, inner) for child in node.body)
    return _FileIndex(lines, functions, classes, assignments, imports)


_FILE_INDEXES: dict[str, _FileIndex | None] = {}


def _file_index(filename: str) -> _FileIndex | None:
    """The index of ``filename`` as linecache holds it now (re-read when the file changed)."""
    linecache.checkcache(filename)
    lines = linecache.getlines(filename)
    if not lines:
        return None
    found = _FILE_INDEXES.get(filename)
    if found is None or found.lines is not lines:
        found = _FILE_INDEXES[filename] = _index(lines)
    return found


def _span_text(index: _FileIndex, start: int, end: int) -> str:
    return textwrap.dedent("".join(index.lines[start - 1 : end]))


def _read(target: types.CodeType | type, label: str) -> str:
    """The source text of a code object's function or of a class."""
    filename = target.co_filename if isinstance(target, types.CodeType) else _class_file(target)
    index = _file_index(filename) if filename else None
    if index is not None:
        if isinstance(target, types.CodeType):
            end = index.functions.get(target.co_firstlineno)
            if end is not None:
                return _span_text(index, target.co_firstlineno, end)
        else:
            spans = index.classes.get(target.__qualname__, [])
            if len(spans) == 1:
                return _span_text(index, *spans[0])
    try:  # a lambda, or a class defined twice under one name: what inspect finds
        return textwrap.dedent(inspect.getsource(target))
    except (OSError, TypeError) as exc:
        raise DefinitionError(
            f"cannot read the source of {label}: {exc}",
            hint='pass an explicit code_version="..." for this asset',
        ) from exc


def _class_file(cls: type) -> str | None:
    module = sys.modules.get(cls.__module__)
    return getattr(module, "__file__", None)


def _normalize(source: str, *, keep_decorators: bool) -> NormalizedSource:
    try:
        tree: ast.AST = ast.parse(source)
    except SyntaxError:
        # A lambda inside a larger expression: getsource returns its whole line.
        text = " ".join(source.split())
        return NormalizedSource(
            short_digest(hashlib.sha256(b"src\0" + text.encode()).digest()), frozenset()
        )
    node: ast.AST = tree
    names: frozenset[str] = frozenset()
    if isinstance(tree, ast.Module) and len(tree.body) == 1:
        node = tree.body[0]
        if isinstance(node, ast.ClassDef):
            names = _identifiers(node)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            if keep_decorators:
                names |= _identifiers(node.decorator_list)
            else:
                node.decorator_list = []
    _strip_docstrings(node)
    dumped = ast.dump(node, annotate_fields=True, include_attributes=False)
    return NormalizedSource(
        short_digest(hashlib.sha256(b"ast\0" + dumped.encode()).digest()), names
    )


def assignment_source(filename: str, name: str) -> NormalizedSource | None:
    """The module-level statements of ``filename`` that assign ``name``, normalized.

    ``names`` are the identifiers their right-hand sides use. ``None`` when the
    file does not assign ``name`` at module level (an imported name, one set
    in a loop header or through ``globals()``).
    """
    index = _file_index(filename)
    statements = index.assignments.get(name) if index is not None else None
    if not statements:
        return None
    dumped = "\n".join(
        ast.dump(s, annotate_fields=True, include_attributes=False) for s in statements
    )
    values = [
        s.value for s in statements if isinstance(s, ast.Assign | ast.AnnAssign | ast.AugAssign)
    ]
    names = frozenset().union(*(_identifiers(v) for v in values if v is not None))
    return NormalizedSource(
        short_digest(hashlib.sha256(b"set\0" + dumped.encode()).digest()), names
    )


def imported_name(filename: str, name: str) -> tuple[str, str, int] | None:
    """Where ``from module import original as name`` in ``filename`` takes ``name`` from:
    ``(module, original, level)``, or ``None``."""
    index = _file_index(filename)
    return None if index is None else index.imports.get(name)


_FUNCTIONS: weakref.WeakKeyDictionary[types.FunctionType, dict[bool, NormalizedSource]]
_FUNCTIONS = weakref.WeakKeyDictionary()
_CLASSES: weakref.WeakKeyDictionary[type, NormalizedSource] = weakref.WeakKeyDictionary()


def function_source(fn: types.FunctionType, *, asset_function: bool) -> NormalizedSource:
    """The normalized source of ``fn`` itself (its code object: never what it wraps).

    ``asset_function``: the function an asset was declared with, whose
    decorators do not count.

    Raises:
        DefinitionError: the source cannot be read (code typed into a REPL).
    """
    cached = _FUNCTIONS.setdefault(fn, {})
    found = cached.get(asset_function)
    if found is None:
        source = _read(fn.__code__, repr(fn.__code__.co_qualname))
        found = cached[asset_function] = _normalize(source, keep_decorators=not asset_function)
    return found


def class_source(cls: type) -> NormalizedSource:
    """The normalized source of a class (its decorators, bases, attributes and methods).

    Raises:
        DefinitionError: the source cannot be read.
    """
    found = _CLASSES.get(cls)
    if found is None:
        found = _CLASSES[cls] = _normalize(_read(cls, repr(cls.__qualname__)), keep_decorators=True)
    return found
