"""Translating the catalog's shared SQL (see :mod:`partita.catalog.common`) for PostgreSQL.

The shared modules write SQL once, in the dialect SQLite runs as it is. The
differences PostgreSQL needs are few and mechanical, and all of them are here:

* ``?`` and numbered ``?1`` placeholders become psycopg's ``%s`` (a numbered
  one is repeated: its value is passed once per use), and a literal ``%``
  becomes ``%%``;
* ``x IN (SELECT value FROM json_each(?))`` (a list passed as one JSON
  parameter) becomes ``x = ANY(%s)`` with the list as an array (an empty one
  as ``x = ANY('{}')``, typed by ``x``);
* SQLite's null-safe ``a IS b`` and ``a IS NOT b`` (``b`` not ``NULL``)
  become ``IS NOT DISTINCT FROM`` and ``IS DISTINCT FROM``;
* Python integers are sent as ``bigint`` (psycopg would pick the smallest
  type, which a recursive query's column cannot change to later): see
  :func:`configure`.

Everything else the shared SQL uses (``ON CONFLICT ... DO UPDATE``,
``RETURNING``, recursive CTEs, ``COALESCE``) is the same in both.
:func:`translate` parses each statement once (cached) and binds per call.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.types.numeric import Int8Dumper

__all__ = ["configure", "translate"]

_JSON_LIST = re.compile(
    r"\bIN\s*\(\s*SELECT\s+value\s+FROM\s+json_each\(\s*\?(\d*)\s*\)\s*\)", re.IGNORECASE
)
_IS_NOT = re.compile(r"\bIS\s+NOT\s+(?!NULL\b|DISTINCT\b|TRUE\b|FALSE\b)", re.IGNORECASE)
_IS = re.compile(r"\bIS\s+(?!NOT\b|NULL\b|DISTINCT\b|TRUE\b|FALSE\b)", re.IGNORECASE)


def _null_safe(text: str) -> str:
    return _IS.sub("IS NOT DISTINCT FROM ", _IS_NOT.sub("IS DISTINCT FROM ", text))


_TOKEN = re.compile(r"'(?:[^']|'')*'|" + _JSON_LIST.pattern + r"|\?(\d*)|%", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class _Slot:
    """One placeholder: the 0-based parameter it takes, and whether it is a JSON list."""

    index: int
    json_list: bool


@functools.lru_cache(maxsize=1024)
def _parse(sql: str) -> tuple[tuple[str, ...], tuple[_Slot, ...]]:
    """The text between placeholders, and the placeholders, of one statement."""
    texts: list[str] = []
    slots: list[_Slot] = []
    position = 0
    next_index = 0
    chunk: list[str] = []
    for match in _TOKEN.finditer(sql):
        chunk.append(_null_safe(sql[position : match.start()]))
        position = match.end()
        token = match.group(0)
        if token.startswith("'"):
            chunk.append(token.replace("%", "%%"))
            continue
        if token == "%":
            chunk.append("%%")
            continue
        number = match.group(1) if match.group(1) is not None else match.group(2)
        if number:
            index = int(number) - 1
        else:
            index = next_index
            next_index += 1
        texts.append("".join(chunk))
        chunk = []
        slots.append(_Slot(index, json_list=match.group(1) is not None))
    chunk.append(_null_safe(sql[position:]))
    texts.append("".join(chunk))
    return tuple(texts), tuple(slots)


def configure(conn: psycopg.Connection[Any]) -> None:
    """Make ``conn`` send Python integers as ``bigint`` (every integer column is one)."""
    conn.adapters.register_dumper(int, Int8Dumper)


def translate(sql: str, parameters: Sequence[Any] = ()) -> tuple[str, list[Any]]:
    """PostgreSQL's SQL and parameters for one statement of the shared dialect."""
    texts, slots = _parse(sql)
    if not slots:
        return texts[0], []
    parts = [texts[0]]
    bound: list[Any] = []
    for slot, text in zip(slots, texts[1:], strict=True):
        value = parameters[slot.index]
        if slot.json_list:
            values = json.loads(value) if isinstance(value, str | bytes) else list(value)
            if values:
                parts.append("= ANY(%s)")
                bound.append(values)
            else:
                parts.append("= ANY('{}')")
        else:
            parts.append("%s")
            bound.append(value)
        parts.append(text)
    return "".join(parts), bound
