"""Code versions: what an asset's function runs, hashed; SQL normalized and hashed.

An asset's code version combines the normalized source of its function (the
*body*) with the project-local code it references (helpers, classes and
module constants, transitively; see :mod:`partita.versions.references`).
Comments, docstrings and formatting never count. Each piece is a
*component* with its own digest, so a changed version can be explained
("helper ``normalize`` in transforms.py changed"). A function that
references no project code keeps the version of its body alone.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import types
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from partita.errors import DefinitionError
from partita.versions.digest import short_digest
from partita.versions.references import project_root, referenced_components
from partita.versions.source import function_source

__all__ = [
    "BODY",
    "PARTITION_COLUMNS",
    "CodeVersion",
    "code_version",
    "describe_code_changes",
    "sql_version",
]

BODY = "body"
"""The component name of the asset function's own source."""

PARTITION_COLUMNS = "partition-columns"
"""The component naming the parameters that ask ``In(partition_columns=True)`` (they
change what the function receives)."""

_KIND_LABELS = {"function": "helper", "class": "class", "constant": "constant"}


@dataclass(frozen=True, slots=True)
class CodeVersion:
    """An asset's code version and the component digests it combines.

    ``components`` are ``(name, digest)`` pairs sorted by name: :data:`BODY`
    for the function itself, ``<kind> <file>:<qualified name>`` for what it
    references (``function transforms.py:normalize_amount``). An explicit
    version has no components.
    """

    version: str
    components: tuple[tuple[str, str], ...] = ()

    @classmethod
    def explicit(cls, version: str) -> CodeVersion:
        """A version given by the user (``code_version="..."``): no components."""
        return cls(version)

    @classmethod
    def of(cls, fn: Callable[..., object]) -> CodeVersion:
        """The code version of an asset's function (see the module docstring).

        Raises:
            DefinitionError: the source of ``fn``, or of project code it
                references, cannot be read (builtins, code typed into a REPL);
                pass an explicit ``code_version`` instead.
        """
        target = inspect.unwrap(fn)
        if isinstance(target, types.MethodType):
            target = target.__func__
        if not isinstance(target, types.FunctionType):
            raise DefinitionError(
                f"cannot read the source of {getattr(fn, '__qualname__', fn)!r}: "
                "it is not a Python function",
                hint='pass an explicit code_version="..." for this asset',
            )
        components = {BODY: function_source(target, asset_function=True).digest}
        root = project_root(target)
        if root is not None:
            components.update((c.key, c.digest) for c in referenced_components(fn, root))
        return cls.combine(components)

    @classmethod
    def combine(cls, components: Mapping[str, str]) -> CodeVersion:
        """The version of these components (only a body: the body's digest)."""
        pairs = tuple(sorted(components.items()))
        if len(pairs) == 1 and pairs[0][0] == BODY:
            return cls(pairs[0][1], pairs)
        text = json.dumps(pairs, separators=(",", ":"))
        return cls(short_digest(hashlib.sha256(b"code\0" + text.encode()).digest()), pairs)

    def components_json(self) -> str:
        """The components as a JSON object (``""`` when there are none)."""
        return json.dumps(dict(self.components), sort_keys=True) if self.components else ""


def code_version(fn: Callable[..., object]) -> str:
    """The code version of an asset's function: :meth:`CodeVersion.of` ``(fn).version``.

    Comments, blank lines, formatting, docstrings and the function's own
    decorators do not change it; any change to the code (including the
    function's name, defaults and annotations), or to a project helper,
    class or module constant it uses, does.

    Raises:
        DefinitionError: the source cannot be read; pass an explicit ``code_version``.
    """
    return CodeVersion.of(fn).version


def _describe(name: str) -> str:
    if name == BODY:
        return "the function body"
    if name == PARTITION_COLUMNS:
        return "`In(partition_columns=True)`"
    kind, _, where = name.partition(" ")
    file, _, qualified = where.rpartition(":")
    return f"{_KIND_LABELS.get(kind, kind)} `{qualified}` in {file}"


def describe_code_changes(before: Mapping[str, str], after: Mapping[str, str]) -> list[str]:
    """What changed between two recorded sets of components, the body first.

    ``["helper `normalize_amount` in transforms.py changed", ...]``; a
    component only in ``after`` is "now used", one only in ``before`` "no
    longer used". Empty when the components are equal.
    """
    names = sorted(set(before) | set(after), key=lambda n: (n != BODY, n))
    lines: list[str] = []
    for name in names:
        old, new = before.get(name), after.get(name)
        if old == new:
            continue
        what = _describe(name)
        if old is None:
            lines.append(f"{what} is now used" if name != BODY else f"{what} changed")
        elif new is None:
            lines.append(f"{what} is no longer used" if name != BODY else f"{what} changed")
        else:
            lines.append(f"{what} changed")
    return lines


def sql_version(sql: str, dialect: str | None = None) -> str:
    """A hash of ``sql`` normalized by sqlglot in ``dialect``.

    Whitespace, keyword case, the case of unquoted identifiers (per the
    dialect's rules) and comments do not change the version; literals,
    quoted identifiers and any change of meaning do.

    Raises:
        DefinitionError: the SQL cannot be parsed.
    """
    import sqlglot  # noqa: PLC0415 - parsing is only needed for SQL assets
    from sqlglot.errors import ParseError  # noqa: PLC0415
    from sqlglot.optimizer.normalize_identifiers import (  # noqa: PLC0415
        normalize_identifiers,
    )

    try:
        expressions = sqlglot.parse(sql, read=dialect)
    except ParseError as exc:
        raise DefinitionError(f"cannot parse SQL: {exc}") from exc
    parts = []
    for expression in expressions:
        if expression is None:
            continue
        normalized = normalize_identifiers(expression, dialect=dialect)
        parts.append(normalized.sql(dialect=dialect, comments=False, pretty=False))
    text = ";\n".join(parts)
    return short_digest(hashlib.sha256(f"sql\0{dialect or ''}\0{text}".encode()).digest())
