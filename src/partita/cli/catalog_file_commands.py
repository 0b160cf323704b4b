"""``partita catalog init``: start a new catalog where the one there cannot be used."""

from __future__ import annotations

import click
from rich.text import Text

from partita.api import Project, catalog_copy_json, catalog_init_json, copy_catalog, init_catalog
from partita.cli.app import pass_project, print_json, stdout

__all__ = ["catalog_group"]


@click.group("catalog")
def catalog_group() -> None:
    """Look after the project's catalog (.partita/catalog.db, or a PostgreSQL database)."""


@catalog_group.command("init")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_project
def catalog_init(project: Project, as_json: bool) -> None:
    """Make sure the project has a usable catalog.

    Creates it when missing and keeps a healthy one with its history. A file
    that cannot be used (empty, not SQLite, truncated, another program's
    database, failing SQLite's integrity check) is moved aside to
    catalog.db.broken-<time> (an empty file is removed) and replaced by a new
    empty catalog: it has no history, so the next materialize rebuilds
    everything. A PostgreSQL catalog gets its tables when it has none; nothing
    in it is moved or dropped.
    """
    result = init_catalog(project)
    if as_json:
        print_json(catalog_init_json(result))
        return
    if result.refused is not None:
        where = (
            f"moved it to {result.moved_aside}" if result.moved_aside else "removed the empty file"
        )
        stdout.print(
            Text(f"the catalog {result.path} could not be used ({result.refused}); {where}")
        )
        stdout.print(Text(f"started a new empty catalog at {result.path}"))
    elif result.created:
        stdout.print(Text(f"created a new empty catalog at {result.path}"))
    else:
        stdout.print(Text(f"the catalog {result.path} is healthy; kept it with its history"))


@catalog_group.command("copy")
@click.option(
    "--to",
    "target",
    required=True,
    metavar="URL",
    help="The PostgreSQL database: postgresql://user@host:5432/database "
    "(the password from PGPASSWORD or ~/.pgpass, or in the URL).",
)
@click.option(
    "--replace", is_flag=True, help="Empty a target that already holds catalog history first."
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_project
def catalog_copy(project: Project, target: str, replace: bool, as_json: bool) -> None:
    """Copy the project's SQLite catalog into PostgreSQL with all its history.

    Every run, attempt, materialization, input, check result, observation,
    wipe and daemon record keeps its id, in one transaction: a failed copy
    leaves the database as it was. A database that already holds catalog
    history is refused unless --replace. Afterwards, point the project at it:
    [tool.partita] catalog = "postgresql://..." or PARTITA_CATALOG_URL.
    """
    result = copy_catalog(project, target, replace=replace)
    if as_json:
        print_json(catalog_copy_json(result))
        return
    total = sum(result.rows.values())
    stdout.print(Text(f"copied {total} rows from {result.source} to {result.target}"))
    for table, count in result.rows.items():
        if count:
            stdout.print(Text(f"  {table}: {count}"))
