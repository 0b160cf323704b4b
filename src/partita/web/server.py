"""Serving the page with uvicorn (``partita ui``)."""

from __future__ import annotations

import uvicorn

from partita.api import Project
from partita.web.app import UiSettings, create_app
from partita.web.security import check_bind

__all__ = ["serve", "url_of"]


def url_of(settings: UiSettings) -> str:
    """The page's address (without the token)."""
    host = f"[{settings.host}]" if ":" in settings.host else settings.host
    return f"http://{host}:{settings.port}/"


def serve(project: Project, settings: UiSettings) -> None:
    """Serve ``project`` until interrupted (Ctrl-C or SIGTERM).

    Raises:
        PartitaError: the host is reachable from other machines and no token is set.
    """
    check_bind(settings.host, settings.token)
    config = uvicorn.Config(
        create_app(project, settings),
        host=settings.host,
        port=settings.port,
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=2,
    )
    uvicorn.Server(config).run()
