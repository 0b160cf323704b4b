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
from dataclasses import dataclass

from partita.errors import DefinitionError
from partita.versions.digest import short_digest

__all__ = ["NormalizedSource", "class_source", "function_source"]


@dataclass(frozen=True, slots=True)
class NormalizedSource:
    """The digest of an object's normalized source and the identifiers it mentions.

    ``names`` are the identifiers used by what the digest covers but the code
    objects do not reveal: the decorators of a function, the whole body of a
    class (class attributes, base classes and methods).
    """

    digest: str
    names: frozenset[str]


def _strip_docstrings(tree: ast.AST) -> None:
    """Drop the docstring of every function and class in ``tree`` (in place)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            body = node.body
            if (
                body
                and isinstance(body[0], ast.Expr)
                and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)
            ):
                node.body = body[1:] or [ast.Pass()]


def _identifiers(nodes: list[ast.expr] | ast.AST) -> frozenset[str]:
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
    """Where each function and class of one source file starts and ends (1-based lines)."""

    lines: list[str]
    functions: dict[int, int]
    classes: dict[str, list[tuple[int, int]]]


def _index(lines: list[str]) -> _FileIndex | None:
    try:
        tree = ast.parse("".join(lines))
    except (SyntaxError, ValueError):
        return None
    functions: dict[int, int] = {}
    classes: dict[str, list[tuple[int, int]]] = {}
    stack: list[tuple[ast.AST, str]] = [(node, "") for node in tree.body]
    while stack:
        node, prefix = stack.pop()
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            stack.extend((child, prefix) for child in ast.iter_child_nodes(node))
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
    return _FileIndex(lines, functions, classes)


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
