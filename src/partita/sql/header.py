"""The ``MODEL (...)`` header block of a ``.sql`` file: the asset's settings.

A file starts with the block, then the query (see ``docs/sql.md``)::

    MODEL (
      name sales.daily_revenue,
      dialect snowflake,
      partitions DailyPartitions(start='2025-01-01'),
      mappings {clean_orders: TimeWindow(start_offset=-6)},
      checks (not_null(date), unique(date)),
      group sales,
      owners ('ana@example.com',),
      tags {tier: 'gold'},
      description 'Revenue per day',
    );
    SELECT date, sum(amount) AS revenue FROM sales.clean_orders GROUP BY date

Each setting is ``key value``, settings are separated by commas. A value is
written like a Python literal: a quoted string, a number, a bare or dotted
name (read as text), a tuple ``(a, b)``, a mapping ``{key: value}``, or a call
of one of the partitions, mappings or checks Partita offers. Nothing is
evaluated: unknown keys and calls are errors with a close-name suggestion.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from partita import checks as checks_module
from partita import mappings as mappings_module
from partita import partitions as partitions_module
from partita.sql.errors import SqlModelError, close_names

__all__ = ["HEADER_KEYS", "Header", "split_header"]

HEADER_KEYS = (
    "name",
    "dialect",
    "partitions",
    "mappings",
    "checks",
    "group",
    "owners",
    "tags",
    "description",
    "store",
)
"""The settings a header may hold."""

_CALLS: dict[str, Callable[..., Any]] = {
    **{
        name: getattr(partitions_module, name)
        for name in (
            "DailyPartitions",
            "HourlyPartitions",
            "WeeklyPartitions",
            "MonthlyPartitions",
            "StaticPartitions",
        )
    },
    **{
        name: getattr(mappings_module, name)
        for name in ("TimeWindow", "AllPartitions", "LastPartition", "Identity")
    },
    **{
        name: getattr(checks_module, name)
        for name in (
            "not_null",
            "unique",
            "accepted_values",
            "row_count",
            "in_range",
            "expression",
            "relationship",
        )
    },
}


_SIMPLE = re.compile(r"([A-Za-z_][\w.]*)|'([^'\\]*)'")
"""A value that is a bare or dotted name, or a plain single-quoted string."""


@dataclass(frozen=True)
class Header:
    """The settings of a model's header (all optional)."""

    values: Mapping[str, Any] = field(default_factory=dict)

    def get(self, key: str, default: Any = None) -> Any:
        """One setting, or ``default``."""
        return self.values.get(key, default)


def _blank(text: str) -> str:
    """``text`` with every character but newlines replaced by a space (keeps offsets)."""
    return "".join(c if c == "\n" else " " for c in text)


def _skip_space_and_comments(text: str, index: int) -> int:
    while index < len(text):
        if text[index].isspace():
            index += 1
        elif text.startswith("--", index):
            end = text.find("\n", index)
            index = len(text) if end < 0 else end
        elif text.startswith("/*", index):
            end = text.find("*/", index + 2)
            index = len(text) if end < 0 else end + 2
        else:
            break
    return index


def _position(text: str, offset: int) -> tuple[int, int]:
    return text.count("\n", 0, offset) + 1, offset - (text.rfind("\n", 0, offset) + 1) + 1


def _entries(text: str, start: int, end: int) -> list[tuple[int, str]]:
    """The comma-separated settings between ``start`` and ``end``, with their offsets;
    comments are blanked."""
    entries: list[tuple[int, str]] = []
    depth = 0
    quote: str | None = None
    current: list[str] = []
    entry_start = start
    index = start
    while index < end:
        char = text[index]
        if quote is not None:
            current.append(char)
            if char == quote:
                quote = None
        elif char in "'\"":
            quote = char
            current.append(char)
        elif text.startswith("--", index):
            stop = text.find("\n", index)
            stop = end if stop < 0 or stop > end else stop
            current.append(" " * (stop - index))
            index = stop
            continue
        elif char in "([{":
            depth += 1
            current.append(char)
        elif char in ")]}":
            depth -= 1
            current.append(char)
        elif char == "," and depth == 0:
            entries.append((entry_start, "".join(current)))
            current = []
            entry_start = index + 1
        else:
            current.append(char)
        index += 1
    if "".join(current).strip():
        entries.append((entry_start, "".join(current)))
    return [(offset, body) for offset, body in entries if body.strip()]


def _closing(text: str, open_at: int, where: str) -> int:
    depth = 0
    quote: str | None = None
    index = open_at
    while index < len(text):
        char = text[index]
        if quote is not None:
            if char == quote:
                quote = None
        elif char in "'\"":
            quote = char
        elif text.startswith("--", index):
            stop = text.find("\n", index)
            index = len(text) if stop < 0 else stop
            continue
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return index
        index += 1
    line, column = _position(text, open_at)
    raise SqlModelError(where, line, column, "the MODEL ( block is not closed", hint="add `);`")


class _Reader:
    """Turns one setting's value (a Python-like literal) into a value, or an error."""

    def __init__(self, text: str, where: str, offset: int) -> None:
        self.text = text
        self.where = where
        self.offset = offset

    def error(self, node: ast.AST | None, message: str, **kwargs: Any) -> SqlModelError:
        line, column = _position(self.text, self.offset)
        lineno, col_offset = getattr(node, "lineno", None), getattr(node, "col_offset", 0)
        if isinstance(lineno, int):
            line += lineno - 1
            column = (column if lineno == 1 else 1) + int(col_offset)
        return SqlModelError(self.where, line, column, message, **kwargs)

    def value(self, node: ast.AST) -> Any:
        if isinstance(node, ast.Constant) and isinstance(node.value, str | int | float | bool):
            return node.value
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            inner = self.value(node.operand)
            if isinstance(inner, int | float):
                return -inner
        if isinstance(node, ast.Name):
            return node.id
        if isinstance(node, ast.Attribute):
            return f"{self.value(node.value)}.{node.attr}"
        if isinstance(node, ast.Tuple | ast.List):
            return tuple(self.value(item) for item in node.elts)
        if isinstance(node, ast.Dict):
            return {
                str(self.value(k)): self.value(v)
                for k, v in zip(node.keys, node.values, strict=True)
                if k is not None
            }
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            return self.call(node, node.func.id)
        raise self.error(
            node,
            "cannot read this value",
            hint="write a string, name, tuple, "
            "{key: value} mapping or a call such as DailyPartitions(start='...')",
        )

    def call(self, node: ast.Call, name: str) -> Any:
        function = _CALLS.get(name)
        if function is None:
            raise self.error(
                node,
                f"unknown call {name}(...)",
                suggestions=close_names(name, _CALLS),
                hint="calls may be partitions, mappings or checks: " + ", ".join(_CALLS),
            )
        args = [self.value(a) for a in node.args]
        kwargs = {k.arg: self.value(k.value) for k in node.keywords if k.arg is not None}
        try:
            return function(*args, **kwargs)
        except (TypeError, ValueError) as exc:
            raise self.error(node, f"{name}(...): {exc}") from None
        except SqlModelError:
            raise
        except Exception as exc:  # a DefinitionError of the called declaration
            raise self.error(node, f"{name}(...): {getattr(exc, 'message', exc)}") from None


def split_header(text: str, where: str) -> tuple[Header, str]:
    """The header of a ``.sql`` file and the file's text with the header blanked (so
    the query's lines and columns stay those of the file).

    A file without a ``MODEL (`` block has an empty header.

    Raises:
        SqlModelError: a malformed block, an unknown setting, a value that cannot be read.
    """
    start = _skip_space_and_comments(text, 0)
    if text[start : start + 5].upper() != "MODEL":
        return Header(), text
    open_at = _skip_space_and_comments(text, start + 5)
    if open_at >= len(text) or text[open_at] != "(":
        line, column = _position(text, open_at)
        raise SqlModelError(where, line, column, "expected `(` after MODEL")
    close_at = _closing(text, open_at, where)
    end = close_at + 1
    after = _skip_space_and_comments(text, end)
    if after < len(text) and text[after] == ";":
        end = after + 1
    values: dict[str, Any] = {}
    for offset, body in _entries(text, open_at + 1, close_at):
        lead = len(body) - len(body.lstrip())
        stripped = body.strip()
        key, _, rest = stripped.partition(" ")
        key_offset = offset + lead
        if key not in HEADER_KEYS:
            line, column = _position(text, key_offset)
            raise SqlModelError(
                where,
                line,
                column,
                f"unknown MODEL setting {key!r}",
                suggestions=close_names(key, HEADER_KEYS),
                hint="settings: " + ", ".join(HEADER_KEYS),
            )
        value_offset = key_offset + len(key) + (len(rest) - len(rest.lstrip())) + 1
        reader = _Reader(text, where, value_offset)
        simple = _SIMPLE.fullmatch(rest.strip())
        if simple is not None:  # a name or a quoted string: no need to parse
            values[key] = simple.group(1) if simple.group(1) is not None else simple.group(2)
            continue
        try:
            tree = ast.parse(rest.strip(), mode="eval")
        except SyntaxError as exc:
            raise reader.error(None, f"cannot read the value of {key}: {exc.msg}") from None
        values[key] = reader.value(tree.body)
    return Header(values), _blank(text[:end]) + text[end:]
