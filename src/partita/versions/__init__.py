"""Code and data versions: short, deterministic content hashes (pure).

* :func:`data_version` / :class:`DataVersionHasher` hash Arrow data: the same
  rows and schema give the same version whatever the chunking, buffer layout,
  string width, dictionary encoding or metadata (:mod:`partita.versions.data`).
* :func:`code_version` / :class:`CodeVersion` hash an asset function's
  normalized source together with the project-local code it references:
  helpers, classes and module constants, transitively within the project's
  own files (:mod:`partita.versions.code`, :mod:`partita.versions.references`).
  Comments, docstrings, formatting and the function's decorators do not count.
* :func:`sql_version` hashes SQL normalized by sqlglot: whitespace, keyword
  case, unquoted identifier case and comments do not count.

Every version is a 16-character lowercase hex string (64 bits of SHA-256),
stable across processes, machines and Python versions of the same code (never
Python's randomized ``hash()``).
"""

from __future__ import annotations

from partita.versions.code import (
    BODY,
    PARTITION_COLUMNS,
    CodeVersion,
    code_version,
    describe_code_changes,
    sql_version,
)
from partita.versions.data import DataVersionHasher, data_version
from partita.versions.digest import VERSION_LENGTH

__all__ = [
    "BODY",
    "PARTITION_COLUMNS",
    "VERSION_LENGTH",
    "CodeVersion",
    "DataVersionHasher",
    "code_version",
    "data_version",
    "describe_code_changes",
    "sql_version",
]
