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

from partita.cli import app
from partita.cli.app import cli
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
        app.stderr.print("aborted")
        sys.exit(130)
    except PartitaError as exc:
        if debug:
            raise
        _print_error("error: ", exc.message, exc.hint)
        sys.exit(exc.exit_code)
    except OSError as exc:
        if debug:
            raise
        if exc.errno not in (errno.ENOSPC, errno.EDQUOT):
            _internal_error(exc)
        where = f" holding {exc.filename}" if exc.filename else ""
        _print_error(
            "error: ",
            f"the disk{where} is full: {exc}",
            "free some space on that disk and run the command again",
        )
        sys.exit(1)
    except Exception as exc:
        if debug:
            raise
        _internal_error(exc)
    sys.exit(result if isinstance(result, int) else 0)


def _internal_error(exc: Exception) -> NoReturn:
    """Report an error Partita did not expect: a bug to report."""
    _print_error(
        "internal error: ",
        f"{type(exc).__name__}: {exc}",
        "rerun with --debug for the traceback, and report it",
    )
    sys.exit(1)


def _print_error(label: str, message: str, hint: str | None) -> None:
    """``label`` in bold red, then ``message``; then ``  hint: ...`` when there is one."""
    from rich.text import Text  # noqa: PLC0415  (rich only when there is something to print)

    app.stderr.print(Text.assemble((label, "bold red"), message))
    if hint:
        app.stderr.print(Text(f"  hint: {hint}"))
