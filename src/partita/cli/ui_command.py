"""``partita ui``: serve the project's web page."""

from __future__ import annotations

import click

from partita.api import Project
from partita.cli.app import pass_project, stdout
from partita.errors import PartitaError

__all__ = ["ui_command"]


@click.command("ui")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(1, 65535), default=3000, show_default=True)
@click.option(
    "--token",
    envvar="PARTITA_UI_TOKEN",
    help="Access token, required to listen on an address other than loopback "
    "(also PARTITA_UI_TOKEN); open the page once with ?token=...",
)
@click.option(
    "--allow-runs", is_flag=True, help="Offer to materialize stale partitions from the page."
)
@click.option(
    "--executor",
    type=click.Choice(["process", "thread", "inprocess"]),
    help="Executor of runs started from the page (default: as partita materialize).",
)
@pass_project
def ui_command(
    project: Project,
    host: str,
    port: int,
    token: str | None,
    allow_runs: bool,
    executor: str | None,
) -> None:
    """Serve a web page of the asset graph, partition health, lineage and runs."""
    from partita.web import UiSettings, serve, url_of  # noqa: PLC0415  (starlette: only here)
    from partita.web.security import check_bind  # noqa: PLC0415
    from partita.web.server import listen  # noqa: PLC0415

    settings = UiSettings(
        host=host, port=port, token=token, allow_runs=allow_runs, executor=executor
    )
    try:
        check_bind(host, token)
    except PartitaError as exc:  # bad input: exit 2 with the message and its hint
        raise click.BadParameter(
            f"{exc.message} (hint: {exc.hint})", param_hint="--host/--token"
        ) from None
    try:
        sock = listen(settings)
    except PartitaError as exc:  # a port in use: bad input, said before anything else
        raise click.BadParameter(f"{exc.message} (hint: {exc.hint})", param_hint="--port") from None
    note = " (open it once with ?token=<your token>)" if token else ""
    stdout.print(f"Partita UI on {url_of(settings)}{note}; Ctrl-C stops it")
    serve(project, settings, sock)
