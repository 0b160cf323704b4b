"""The ``partita`` command: parsing and rendering over :mod:`partita.api`."""

from partita.cli.main import cli, main

__all__ = ["cli", "main"]
