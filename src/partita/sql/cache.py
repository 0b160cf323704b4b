"""The parse cache of SQL models, in the project home, keyed by content.

Parsing and analysing hundreds of models with sqlglot takes seconds; a project
loads often (every CLI command, every worker). :class:`SqlCache` keeps each
result under a hash of everything it depends on (the file's text, its
dialect, the upstream schemas, the sqlglot and cache format versions) in one
JSON file, ``<home>/cache/sql-models.json``. A changed file misses and is
parsed again; entries no load used are dropped when the file is rewritten.
The file is replaced atomically, so a kill leaves the old or the new one; a
damaged or unreadable file is ignored (everything is parsed again).
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

__all__ = ["CACHE_FILE", "SqlCache"]

CACHE_FILE = Path("cache") / "sql-models.json"
"""Where the cache lives, relative to the project home."""

_FORMAT = 1


def _sqlglot_version() -> str:
    from importlib.metadata import PackageNotFoundError, version  # noqa: PLC0415

    try:
        return version("sqlglot")
    except PackageNotFoundError:
        return "unknown"


class SqlCache:
    """Results by content hash, loaded from and saved to one file (see the module)."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.stamp = f"{_FORMAT}:{_sqlglot_version()}"
        self._entries: dict[str, Any] = {}
        self._used: set[str] = set()
        self._dirty = False
        if path is None:
            return
        with contextlib.suppress(OSError, ValueError):
            data = json.loads(path.read_text(encoding="utf-8"))
            if isinstance(data, dict) and data.get("stamp") == self.stamp:
                entries = data.get("entries")
                if isinstance(entries, dict):
                    self._entries = entries

    @classmethod
    def in_home(cls, home: Path) -> SqlCache:
        """The cache of the project whose home is ``home``."""
        return cls(home / CACHE_FILE)

    def get(self, key: str) -> Any:
        """The entry under ``key``, or ``None``."""
        found = self._entries.get(key)
        if found is not None:
            self._used.add(key)
        return found

    def put(self, key: str, value: Any) -> None:
        """Keep ``value`` under ``key`` (saved by :meth:`save`)."""
        self._entries[key] = value
        self._used.add(key)
        self._dirty = True

    def save(self) -> None:
        """Write the entries used by this load, if anything changed (atomically;
        a failure to write only costs the next load its speed)."""
        if self.path is None or not (self._dirty or set(self._entries) != self._used):
            return
        data = {"stamp": self.stamp, "entries": {k: self._entries[k] for k in self._used}}
        with contextlib.suppress(OSError):
            self.path.parent.mkdir(parents=True, exist_ok=True)
            handle, temp = tempfile.mkstemp(prefix=".sql-models-", dir=self.path.parent)
            try:
                with os.fdopen(handle, "w", encoding="utf-8") as out:
                    out.write(json.dumps(data, separators=(",", ":")))
                Path(temp).replace(self.path)
            except OSError:
                with contextlib.suppress(OSError):
                    Path(temp).unlink()
                raise
