"""Entry point of ``partita`` and its error boundary.

Bad input ends with exit status 2 (usage) or 1 (error), a one-line message and
a hint, never a traceback unless ``--debug`` (or ``PARTITA_DEBUG=1``).
"""

from __future__ import annotations

import errno
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

import click
from rich.text import Text

from partita.cli.app import cli, stderr
from partita.errors import PartitaError

__all__ = ["cli", "main"]


def _debug_requested(argv: Sequence[str]) -> bool:
    return "--debug" in argv or os.environ.get("PARTITA_DEBUG", "") not in ("", "0")


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the ``partita`` console script."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = _debug_requested(args)
    try:
        result = cli.main(args=args, prog_name="partita", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        stderr.print("aborted")
        sys.exit(130)
    except PartitaError as exc:
        if debug:
            raise
        stderr.print(Text.assemble(("error: ", "bold red"), exc.message))
        if exc.hint:
            stderr.print(Text(f"  hint: {exc.hint}"))
        sys.exit(1)
    except OSError as exc:
        if debug:
            raise
        if exc.errno not in (errno.ENOSPC, errno.EDQUOT):
            _internal_error(exc)
        where = f" holding {exc.filename}" if exc.filename else ""
        stderr.print(Text.assemble(("error: ", "bold red"), f"the disk{where} is full: {exc}"))
        stderr.print(Text("  hint: free some space on that disk and run the command again"))
        sys.exit(1)
    except Exception as exc:
        if debug:
            raise
        _internal_error(exc)
    sys.exit(result if isinstance(result, int) else 0)


def _internal_error(exc: Exception) -> NoReturn:
    """Report an error Partita did not expect: a bug to report."""
    stderr.print(Text.assemble(("internal error: ", "bold red"), f"{type(exc).__name__}: {exc}"))
    stderr.print(Text("  hint: rerun with --debug for the traceback, and report it"))
    sys.exit(1)
