"""Who may use the page: the bind rule, the access token and the CSRF token.

- The page binds to 127.0.0.1 by default. Another address (``0.0.0.0``, a LAN
  address) is refused unless a ``--token`` is given: then every request must
  carry it (``?token=`` once, which sets a cookie, or ``Authorization: Bearer``).
- On a loopback address, requests must name a loopback host in their ``Host``
  header, so a web site cannot reach the page by DNS rebinding.
- Requests that change anything (POST) carry the page's CSRF token, a random
  value made at start-up and embedded in its forms, and, when the browser sends
  an ``Origin``, come from the page's own origin.

Tokens are compared in constant time and never printed or logged.
"""

from __future__ import annotations

import ipaddress
import secrets
from collections.abc import Awaitable, Callable
from urllib.parse import urlencode, urlsplit

from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response

from partita.errors import PartitaError

__all__ = [
    "LOOPBACK_NAMES",
    "TOKEN_COOKIE",
    "check_bind",
    "csrf_ok",
    "is_loopback",
    "new_csrf_token",
    "token_middleware",
]

TOKEN_COOKIE = "partita_ui_token"
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1", "[::1]"})


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a name or an address) is this machine only."""
    if host.strip("[]") in LOOPBACK_NAMES or host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(host: str, token: str | None) -> None:
    """Refuse to serve on a non-loopback ``host`` without a token.

    Raises:
        PartitaError: ``host`` is reachable from other machines and no token is set.
    """
    if not is_loopback(host) and not token:
        raise PartitaError(
            f"refusing to serve on {host} without --token: anyone who can reach it "
            "could read the project and its data",
            hint="keep the default --host 127.0.0.1, or give --token (or PARTITA_UI_TOKEN)",
        )
    if token is not None and len(token) < 16:
        raise PartitaError(
            "the --token is too short to protect the page",
            hint="use 16 characters or more, e.g. from `python -c 'import secrets; "
            "print(secrets.token_urlsafe())'`",
        )


def new_csrf_token() -> str:
    """A random CSRF token for one server's lifetime."""
    return secrets.token_urlsafe(32)


def _same(given: str | None, expected: str) -> bool:
    return given is not None and secrets.compare_digest(given.encode(), expected.encode())


def csrf_ok(request: Request, form_token: str | None, expected: str) -> bool:
    """Whether a POST carries the page's CSRF token and, if it says, comes from the page."""
    if not _same(form_token, expected):
        return False
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return origin is None
    return urlsplit(origin).netloc == request.headers.get("host", "")


Handler = Callable[[Request], Awaitable[Response]]


def token_middleware(
    token: str | None, loopback: bool
) -> Callable[[Request, Handler], Awaitable[Response]]:
    """An HTTP middleware enforcing the access token (if any) and, on a loopback
    bind, a loopback ``Host`` header."""

    async def check(request: Request, call_next: Handler) -> Response:
        if loopback:
            name = (request.url.hostname or "").lower()
            if name not in LOOPBACK_NAMES:
                return PlainTextResponse("unknown host", status_code=400)
        if token is None:
            return await call_next(request)
        given = request.query_params.get("token")
        if _same(given, token):
            # once: keep it in a cookie and drop it from the address bar and history
            query = [(k, v) for k, v in request.query_params.multi_items() if k != "token"]
            target = request.url.path + ("?" + urlencode(query) if query else "")
            response: Response = RedirectResponse(target, status_code=303)
            response.set_cookie(TOKEN_COOKIE, token, httponly=True, samesite="strict")
            return response
        bearer = request.headers.get("authorization", "")
        if _same(request.cookies.get(TOKEN_COOKIE), token) or (
            bearer.startswith("Bearer ") and _same(bearer[7:], token)
        ):
            return await call_next(request)
        return PlainTextResponse(
            "this page needs its token: open it with ?token=... once", status_code=401
        )

    return check
