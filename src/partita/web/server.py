"""Serving the page with uvicorn (``partita ui``)."""

from __future__ import annotations

import socket

import uvicorn

from partita.api import Project
from partita.errors import PartitaError
from partita.web.app import UiSettings, create_app
from partita.web.security import check_bind

__all__ = ["listen", "serve", "url_of"]


def url_of(settings: UiSettings) -> str:
    """The page's address (without the token)."""
    host = f"[{settings.host}]" if ":" in settings.host else settings.host
    return f"http://{host}:{settings.port}/"


def listen(settings: UiSettings) -> socket.socket:
    """A socket bound to the page's address, so a taken port is known before anything
    is printed.

    Raises:
        PartitaError: the address cannot be listened on (a port in use, an address
            this machine does not have).
    """
    family = socket.AF_INET6 if ":" in settings.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((settings.host, settings.port))
    except OSError as exc:
        sock.close()
        raise PartitaError(
            f"cannot listen on {settings.host}:{settings.port}: {exc.strerror or exc}",
            hint="pick another port with --port, or stop the program that uses this one",
        ) from None
    sock.set_inheritable(True)
    return sock


def serve(project: Project, settings: UiSettings, sock: socket.socket | None = None) -> None:
    """Serve ``project`` until interrupted (Ctrl-C or SIGTERM), on ``sock`` when given
    (see :func:`listen`), else on the settings' address.

    Raises:
        PartitaError: the host is reachable from other machines and no token is set;
            the address cannot be listened on.
    """
    check_bind(settings.host, settings.token)
    if sock is None:
        sock = listen(settings)
    config = uvicorn.Config(
        create_app(project, settings),
        host=settings.host,
        port=settings.port,
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=2,
    )
    uvicorn.Server(config).run(sockets=[sock])
