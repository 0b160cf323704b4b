"""Whether and where to send OpenLineage events.

OpenLineage is off unless something configures it, so no run ever makes a
network call nobody asked for. It is configured:

- the client's own way: an ``openlineage.yml`` (``$OPENLINEAGE_CONFIG``, the
  current folder, ``~/.openlineage/``), ``OPENLINEAGE__TRANSPORT__...``
  variables, or ``OPENLINEAGE_URL``;
- or in the project's ``pyproject.toml``::

      [tool.partita.openlineage]
      namespace = "shop"          # the jobs' namespace (default: the project's name)
      transport = { type = "http", url = "http://localhost:5000" }

  ``transport`` is the client's transport configuration (what ``openlineage.yml``
  holds under ``transport``); ``enabled = false`` turns emission off.

``OPENLINEAGE_DISABLED=true`` turns it off whatever is configured. The
``--openlineage-file`` option of ``partita materialize`` (:func:`file_client`)
writes the events as JSON lines, in addition to a configured transport.
"""

from __future__ import annotations

import difflib
import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from partita.errors import DefinitionError

if TYPE_CHECKING:
    from openlineage.client import OpenLineageClient
    from openlineage.client.event_v2 import RunEvent

__all__ = [
    "JsonLinesFile",
    "OpenLineageSettings",
    "client_configured",
    "configured_client",
    "emission_configured",
    "file_client",
    "read_settings",
]

_KEYS = ("namespace", "transport", "enabled")


@dataclass(frozen=True)
class OpenLineageSettings:
    """``[tool.partita.openlineage]`` of a project.

    Attributes:
        namespace: the jobs' namespace (``None``: the project's name).
        transport: the client's transport configuration (``None``: the client's own
            configuration, if any).
        enabled: ``False`` turns emission off for the project.
        project_name: ``[project] name`` of the same ``pyproject.toml``, else its folder's name.
    """

    namespace: str | None = None
    transport: Mapping[str, Any] | None = field(default=None)
    enabled: bool = True
    project_name: str | None = None


def _pyproject(start: Path) -> Path | None:
    for folder in (start, *start.parents):
        candidate = folder / "pyproject.toml"
        if candidate.is_file():
            return candidate
    return None


def read_settings(root: Path | None) -> OpenLineageSettings:
    """The settings in the ``pyproject.toml`` at or above ``root`` (defaults when there
    is none, or for definitions built in memory: ``root`` ``None``).

    Raises:
        DefinitionError: an unknown key (with close names) or a value of the wrong type.
    """
    path = None if root is None else _pyproject(root)
    if path is None:
        return OpenLineageSettings(project_name=None if root is None else root.name)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise DefinitionError(f"{path}: invalid TOML: {exc}") from exc
    name = data.get("project", {}).get("name") or path.parent.name
    table = data.get("tool", {}).get("partita", {}).get("openlineage", {})
    where = f"{path}: [tool.partita.openlineage]"
    if not isinstance(table, dict):
        raise DefinitionError(f"{where} must be a table")
    for key in table:
        if key not in _KEYS:
            close = difflib.get_close_matches(key, _KEYS, n=2, cutoff=0.5)
            raise DefinitionError(
                f"{where} has no setting {key!r}"
                + ("; did you mean " + " or ".join(repr(c) for c in close) + "?" if close else ""),
                hint="its settings are " + ", ".join(_KEYS),
            )
    namespace = table.get("namespace")
    transport = table.get("transport")
    enabled = table.get("enabled", True)
    if namespace is not None and (not isinstance(namespace, str) or not namespace):
        raise DefinitionError(f"{where}: namespace must be a non-empty string")
    if transport is not None and (not isinstance(transport, dict) or "type" not in transport):
        raise DefinitionError(
            f"{where}: transport must be a table with a type",
            hint='transport = { type = "http", url = "http://localhost:5000" }',
        )
    if not isinstance(enabled, bool):
        raise DefinitionError(f"{where}: enabled must be true or false")
    return OpenLineageSettings(
        namespace=namespace, transport=transport, enabled=enabled, project_name=str(name)
    )


def client_configured(env: Mapping[str, str] | None = None, cwd: Path | None = None) -> bool:
    """Whether the client's own configuration exists (a config file, or its variables)."""
    env = os.environ if env is None else env
    # OPENLINEAGE__TRANSPORT__TYPE, not any OPENLINEAGE__ variable: the client itself
    # writes OPENLINEAGE__TRANSPORT__TRANSPORTS__... aliases of OPENLINEAGE_URL
    if env.get("OPENLINEAGE_URL") or env.get("OPENLINEAGE__TRANSPORT__TYPE"):
        return True
    candidates = [
        env.get("OPENLINEAGE_CONFIG"),
        str((cwd or Path.cwd()) / "openlineage.yml"),
        str(Path("~/.openlineage/openlineage.yml").expanduser()),
    ]
    return any(c and Path(c).is_file() for c in candidates)


def _disabled(env: Mapping[str, str]) -> bool:
    return env.get("OPENLINEAGE_DISABLED", "").strip().lower() == "true"


def emission_configured(
    settings: OpenLineageSettings,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> bool:
    """Whether :func:`configured_client` would make a client (decided without importing it)."""
    env = os.environ if env is None else env
    if _disabled(env) or not settings.enabled:
        return False
    return settings.transport is not None or client_configured(env, cwd)


def configured_client(
    settings: OpenLineageSettings,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> OpenLineageClient | None:
    """A client as the project or the client's own configuration says, or ``None``
    when nothing configures one (or it is disabled; ``env`` and ``cwd`` default to
    the process's)."""
    from openlineage.client import OpenLineageClient  # noqa: PLC0415 - only when it is on

    from partita.openlineage.http_transport import pooled  # noqa: PLC0415 - as above

    env = os.environ if env is None else env
    if _disabled(env) or not settings.enabled:
        return None
    if settings.transport is not None:
        # the client merges its own file and variables under this
        return pooled(OpenLineageClient(config={"transport": dict(settings.transport)}))
    if client_configured(env, cwd):
        return pooled(OpenLineageClient())
    return None


class JsonLinesFile:
    """Appends each event to a file as one JSON line, the text the client's ``Serde``
    makes (what its file transport writes; :class:`~partita.openlineage.serialize.EventJson`),
    through one open handle.

    The client's ``FileTransport`` opens and closes the file for each event and
    its ``emit`` adds facets nobody configured for a local file; this keeps
    ``--openlineage-file`` well under a millisecond a step. Each line is
    flushed as it is written, so a killed run leaves whole lines only.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path).absolute()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file: TextIO | None = None
        self._json: Callable[[object], str] | None = None

    def emit(self, event: RunEvent) -> None:
        """Append one event."""
        if self._json is None:
            from partita.openlineage.serialize import EventJson  # noqa: PLC0415 - when it is on

            self._json = EventJson()
        if self._file is None:
            self._file = self.path.open("a", encoding="utf-8")
        self._file.write(self._json(event) + "\n")
        self._file.flush()

    def close(self, timeout: float = -1.0) -> bool:
        """Close the file (a later event opens it again)."""
        if self._file is not None:
            self._file.close()
            self._file = None
        return True


def file_client(path: str | os.PathLike[str]) -> JsonLinesFile:
    """Where ``--openlineage-file`` events go: ``path``, one JSON line each (appended)."""
    return JsonLinesFile(path)
