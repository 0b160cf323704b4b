"""Generate docs/reference/cli.md and docs/reference/api.md from the code itself.

    python scripts/gen_reference.py            # (re)write both pages
    python scripts/gen_reference.py --check    # exit 1 when a page is not up to date

The CLI page walks the click command tree of ``partita`` (usage, help text,
options, subcommands); the API page reads the signature and docstring of every
name in the ``__all__`` of the public modules (:data:`API_MODULES`) with
:mod:`inspect`. Both are plain functions of the code, so ``tests/test_reference.py``
fails when a committed page differs from a fresh generation, and when a public
name has no docstring.
"""

from __future__ import annotations

import argparse
import ast
import enum
import importlib
import inspect
import itertools
import re
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import click

ROOT = Path(__file__).resolve().parents[1]
CLI_PAGE = ROOT / "docs" / "reference" / "cli.md"
API_PAGE = ROOT / "docs" / "reference" / "api.md"

API_MODULES = (
    "partita",
    "partita.partitions",
    "partita.mappings",
    "partita.checks",
    "partita.io",
    "partita.schedules",
    "partita.sensors",
    "partita.errors",
    "partita.api",
)
"""The modules users import, in the order of the page; a name is documented in the
first module that exports it, and listed with a link in the others."""

ADDRESS = re.compile(r" at 0x[0-9a-f]+")
REGENERATE = "python scripts/gen_reference.py"


# --- the command line -------------------------------------------------------


def _walk(
    ctx: click.Context, path: tuple[str, ...]
) -> Iterator[tuple[tuple[str, ...], click.Context]]:
    """Every command under ``ctx``'s, depth first, with a context as click would make it."""
    yield path, ctx
    command = ctx.command
    if isinstance(command, click.Group):
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            if sub is not None and not sub.hidden:
                yield from _walk(click.Context(sub, info_name=name, parent=ctx), (*path, name))


def _option_row(param: click.Parameter, ctx: click.Context) -> tuple[str, str] | None:
    record = param.get_help_record(ctx)
    if record is None:
        return None
    names, text = record
    return names, text


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _command_section(path: tuple[str, ...], ctx: click.Context) -> list[str]:
    command = ctx.command
    name = " ".join(path)
    lines = [f"## `{name}`", ""]
    usage = " ".join(command.collect_usage_pieces(ctx))
    lines += ["```text", f"{name} {usage}".rstrip(), "```", ""]
    if command.help:
        lines += [inspect.cleandoc(command.help).replace("\b\n", ""), ""]
    arguments = [p for p in command.params if isinstance(p, click.Argument)]
    if arguments:
        lines += ["| argument | |", "|---|---|"]
        for argument in arguments:
            required = "required" if argument.required else "optional"
            many = ", one or more" if argument.nargs == -1 else ""
            lines.append(f"| `{argument.human_readable_name}` | {required}{many} |")
        lines.append("")
    rows = [
        row
        for param in command.get_params(ctx)
        if not isinstance(param, click.Argument)
        for row in [_option_row(param, ctx)]
        if row is not None
    ]
    if rows:
        lines += ["| option | meaning |", "|---|---|"]
        lines += [f"| `{_cell(names)}` | {_cell(text)} |" for names, text in rows]
        lines.append("")
    if isinstance(command, click.Group):
        subs = [
            f"[`{name} {sub}`](#{_anchor(f'{name} {sub}')})" for sub in command.list_commands(ctx)
        ]
        lines += ["Commands: " + ", ".join(subs) + ".", ""]
    return lines


def _anchor(title: str) -> str:
    return re.sub(r"[^a-z0-9 _-]", "", title.lower()).replace(" ", "-")


def _exit_statuses() -> list[str]:
    from partita import errors  # noqa: PLC0415

    lines = [
        "## Exit statuses",
        "",
        "Every command exits 0 on success. An error prints one line `error: ...` and,",
        "when there is something to do about it, a `hint:` (no traceback unless",
        "`--debug` or `PARTITA_DEBUG=1`) and exits with the status of its error class;",
        "usage errors (an unknown option, a bad value) exit 2, an internal error 1, a",
        "command interrupted at a prompt 130. Ctrl-C or SIGTERM during a run cancels it",
        "cleanly: `materialize` then exits 1 (the run is `cancelled`), `daemon` 0.",
        "Commands that report a result (`materialize`, `freshness`, `verify`...) say in",
        "their help above when they exit 1.",
        "",
        "| error | exit status | meaning |",
        "|---|---|---|",
    ]
    for name in sorted(errors.__all__):
        error = getattr(errors, name)
        summary = (inspect.getdoc(error) or "").split("\n\n")[0]
        lines.append(f"| `{name}` | {error.exit_status} | {_cell(summary)} |")
    return [*lines, ""]


def cli_reference() -> str:
    """The text of docs/reference/cli.md."""
    from partita.cli.app import cli  # noqa: PLC0415

    lines = [
        "# Command-line reference",
        "",
        f"Generated from the `partita` command itself by `{REGENERATE}`; do not edit",
        "by hand. The narrative guide with examples is [../cli.md](../cli.md).",
        "",
    ]
    root = click.Context(cli, info_name="partita", **cli.context_settings)
    for path, ctx in _walk(root, ("partita",)):
        lines += _command_section(path, ctx)
    lines += _exit_statuses()
    return "\n".join(lines).rstrip() + "\n"


# --- the Python API ---------------------------------------------------------


class _Source(str):
    """An annotation kept as its source text (``from __future__ import annotations``)."""

    def __repr__(self) -> str:
        return str(self)


def _unquoted(annotation: Any) -> Any:
    return _Source(annotation) if isinstance(annotation, str) else annotation


def _signature(name: str, obj: Any) -> str:
    try:
        signature = inspect.signature(obj)
    except (TypeError, ValueError):
        return name
    signature = signature.replace(
        parameters=[
            p.replace(annotation=_unquoted(p.annotation)) for p in signature.parameters.values()
        ],
        return_annotation=_unquoted(signature.return_annotation),
    )
    return ADDRESS.sub("", f"{name}{signature}")


def _is_alias(obj: Any) -> bool:
    """A type alias such as ``Severity = Literal["error", "warn"]``."""
    return type(obj).__module__ in ("typing", "collections.abc", "types") and not inspect.isclass(
        obj
    )


def _kind(obj: Any) -> str:
    if _is_alias(obj):
        return "type alias"
    if inspect.isclass(obj):
        if issubclass(obj, BaseException):
            return "exception"
        if issubclass(obj, enum.Enum):
            return "enum"
        return "class"
    if inspect.isfunction(obj) or inspect.isbuiltin(obj):
        return "function"
    return "object"


def _attribute_docs() -> dict[str, str]:
    """The docstrings of module-level assignments (``NAME = ...`` then a string) in src/partita."""
    docs: dict[str, str] = {}
    for path in sorted((ROOT / "src" / "partita").rglob("*.py")):
        body = ast.parse(path.read_text(encoding="utf-8")).body
        for node, following in itertools.pairwise(body):
            targets = (
                [node.target] if isinstance(node, ast.AnnAssign) else getattr(node, "targets", [])
            )
            if (
                len(targets) == 1
                and isinstance(targets[0], ast.Name)
                and isinstance(following, ast.Expr)
                and isinstance(following.value, ast.Constant)
                and isinstance(following.value.value, str)
            ):
                docs.setdefault(targets[0].id, inspect.cleandoc(following.value.value))
    return docs


def _members(cls: type) -> Iterator[tuple[str, Any]]:
    """Public methods and properties defined by the class itself, in source order."""
    for name, value in vars(cls).items():
        if name.startswith("_"):
            continue
        if isinstance(value, classmethod):
            yield name, getattr(cls, name)  # bound: its signature leaves ``cls`` out
        elif isinstance(value, staticmethod):
            yield name, value.__func__
        elif inspect.isfunction(value) or isinstance(value, property):
            yield name, value


def _docstring(obj: Any) -> str | None:
    doc = inspect.getdoc(obj)
    return doc.strip() if doc else None


def _object_section(module: str, name: str, obj: Any, attribute_docs: dict[str, str]) -> list[str]:
    kind = _kind(obj)
    lines = [f"### `{module}.{name}`", "", f"*{kind}*", ""]
    if kind == "object" and isinstance(obj, (str, int, float, tuple, frozenset)):
        value = ADDRESS.sub("", repr(obj))
        doc = attribute_docs.get(name)
        return [*lines, "```text", f"{name} = {value}", "```", "", *([doc, ""] if doc else [])]
    if kind == "type alias":
        alias = ADDRESS.sub("", repr(obj)).replace("typing.", "").replace("collections.abc.", "")
        return [
            *lines,
            "```text",
            f"{name} = {alias}",
            "```",
            "",
            attribute_docs.get(name, "(no docstring)"),
            "",
        ]
    if kind in ("class", "function", "exception"):
        lines += ["```text", _signature(name, obj), "```", ""]
    elif kind == "enum":
        lines += [", ".join(f"`{member.name}`" for member in obj), ""]
    lines += [_docstring(obj) or "(no docstring)", ""]
    if kind in ("class", "exception"):
        for member, value in _members(obj):
            doc = _docstring(value)
            if doc is None:
                continue
            if isinstance(value, property):
                lines += [f"- `{member}` (property): {doc.splitlines()[0]}"]
            else:
                lines += [f"- `{_signature(member, value)}`: {doc.splitlines()[0]}"]
        if lines[-1] != "":
            lines.append("")
    return lines


def public_objects() -> Iterator[tuple[str, str, Any]]:
    """``(module, name, object)`` for every name in the ``__all__`` of :data:`API_MODULES`."""
    for module_name in API_MODULES:
        module = importlib.import_module(module_name)
        for name in sorted(module.__all__):
            yield module_name, name, getattr(module, name)


def undocumented() -> list[str]:
    """The public names whose object has no docstring of its own."""
    missing = []
    attribute_docs = _attribute_docs()
    for module, name, obj in public_objects():
        if _is_alias(obj):
            if name not in attribute_docs:
                missing.append(f"{module}.{name}")
            continue
        if not (inspect.isclass(obj) or callable(obj) or inspect.ismodule(obj)):
            continue  # constants and instances: documented in their module
        if obj.__doc__ is None or not obj.__doc__.strip():
            missing.append(f"{module}.{name}")
    return missing


def api_reference() -> str:
    """The text of docs/reference/api.md."""
    lines = [
        "# Python API reference",
        "",
        f"Generated from the docstrings by `{REGENERATE}`; do not edit by hand.",
        "Only these names are public API: the `__all__` of each module below.",
        "",
    ]
    seen: dict[int, str] = {}
    attribute_docs = _attribute_docs()
    by_module: dict[str, list[tuple[str, Any]]] = {}
    for module, name, obj in public_objects():
        by_module.setdefault(module, []).append((name, obj))
    lines += ["Modules: " + ", ".join(f"[`{m}`](#{_anchor(m)})" for m in API_MODULES) + ".", ""]
    for module_name in API_MODULES:
        module = importlib.import_module(module_name)
        summary = (_docstring(module) or "").split("\n\n")[0]
        lines += [f"## `{module_name}`", "", summary, ""]
        elsewhere: list[str] = []
        for name, obj in by_module[module_name]:
            documented = seen.get(id(obj)) if _kind(obj) != "object" else None
            if documented is not None:
                elsewhere.append(f"[`{name}`](#{_anchor(documented)})")
                continue
            seen[id(obj)] = f"{module_name}.{name}"
            lines += _object_section(module_name, name, obj, attribute_docs)
        if elsewhere:
            lines += ["Also exported here, documented above: " + ", ".join(elsewhere) + ".", ""]
    return "\n".join(lines).rstrip() + "\n"


PAGES: dict[Path, Callable[[], str]] = {CLI_PAGE: cli_reference, API_PAGE: api_reference}


def main(argv: list[str] | None = None) -> int:
    """Write the pages, or with ``--check`` report those that are not up to date."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only compare, exit 1 on a difference")
    args = parser.parse_args(argv)
    stale = []
    for page, generate in PAGES.items():
        text = generate()
        current = page.read_text(encoding="utf-8") if page.exists() else None
        if current == text:
            continue
        stale.append(page.relative_to(ROOT))
        if not args.check:
            page.parent.mkdir(parents=True, exist_ok=True)
            page.write_text(text, encoding="utf-8")
    if args.check and stale:
        print(f"not up to date: {', '.join(map(str, stale))}; run `{REGENERATE}`", file=sys.stderr)
        return 1
    for page in stale:
        print(f"wrote {page}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
