"""The package's version, in a module of its own.

The same as ``project.version`` in pyproject.toml (a test keeps them equal). A
literal, not ``importlib.metadata.version()``: importing ``importlib.metadata``
would double the time of ``partita --version``. Modules below the api layer
(the OpenLineage sender names Partita as each event's producer) import it from
here, not from ``partita``, whose lazy names reach the api.
"""

from __future__ import annotations

__all__ = ["__version__"]

__version__ = "0.1.0"
