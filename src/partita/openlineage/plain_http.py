"""Plain HTTP to a lineage server, without the OpenLineage client.

When a run's events go to a plain ``http://`` URL configured in the simplest
way (``OPENLINEAGE_URL``, with ``OPENLINEAGE_ENDPOINT`` and
``OPENLINEAGE_API_KEY`` if set; or ``transport = { type = "http", url = ...,
endpoint = ..., timeout = ..., auth = { type = "api_key", apiKey = ... } }``
in ``[tool.partita.openlineage]``) and nothing else configures the client, the
client would only post each event's JSON text. :func:`plain_http_target`
recognises that case, and the sender process then builds the events as plain
dicts (:class:`~partita.openlineage.plain.PlainEventBuilder`) and posts them
with :class:`PlainHttp`, never importing the client. Anything more (an
``openlineage.yml``, an ``OPENLINEAGE__...`` variable, other transport
settings, ``https``, or a proxy of the environment) goes through the client, as
before. A git repository makes no difference: the client's
``sourceCodeLocation`` facet is off unless configured (client 1.54).

:class:`PlainHttp` posts each event on one kept-alive connection, the request
written with one system call and the answer's status read with a few lines of
parsing. A connection error, an answer it cannot read, or a status the client
retries (500, 502, 503, 504) sends the event again through urllib3 with the
client's default retries (5, backoff 0.3 s); any other status of 400 or more
is an error, as the client's transport raises it.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

from partita.openlineage.config import OpenLineageSettings, client_configured

__all__ = ["PlainHttp", "PlainTarget", "plain_http_target"]

_RETRIED = frozenset({500, 502, 503, 504})
_RETRY: dict[str, Any] = {
    "total": 5,
    "read": 5,
    "connect": 5,
    "backoff_factor": 0.3,
    "status_forcelist": sorted(_RETRIED),
    "allowed_methods": ["HEAD", "POST"],
}
"""The client's default retry settings (``openlineage.client.transport.http_common``)."""

_TRANSPORT_KEYS = frozenset({"type", "url", "endpoint", "timeout", "auth"})


@dataclass(frozen=True)
class PlainTarget:
    """Where :class:`PlainHttp` posts: ``url`` (the endpoint joined), the timeout in
    seconds, and the API key sent as a bearer token (if any)."""

    url: str
    timeout: float = 5.0
    api_key: str | None = None


def _through_proxy(url: str, env: Mapping[str, str]) -> bool:
    """Whether ``requests`` would send to ``url`` through a proxy of the environment."""
    if not any(key.lower().endswith("_proxy") for key in env):
        return False  # urllib.request (a slow import) reads only these variables here
    import urllib.request  # noqa: PLC0415 - only to decide

    proxies = urllib.request.getproxies()
    parts = urlsplit(url)
    return bool(proxies.get(parts.scheme) or proxies.get("all")) and not (
        urllib.request.proxy_bypass(parts.hostname or "")
    )


def _api_key(auth: object) -> tuple[bool, str | None]:
    """``(understood, key)`` of a transport's ``auth`` table."""
    if auth is None:
        return True, None
    if not isinstance(auth, Mapping) or set(auth) - {"type", "apiKey", "apikey", "api_key"}:
        return False, None
    if auth.get("type") != "api_key":
        return False, None
    key = auth.get("apiKey") or auth.get("apikey") or auth.get("api_key")
    return (True, str(key)) if key else (False, None)


def plain_http_target(
    settings: OpenLineageSettings, env: Mapping[str, str], cwd: Path
) -> PlainTarget | None:
    """Where to post, when the client would do nothing but post the events' JSON text
    to a plain ``http://`` URL (see the module's text); else ``None``."""
    if any(key.startswith("OPENLINEAGE__") for key in env) or env.get("OPENLINEAGE_CONFIG"):
        return None
    if client_configured({}, cwd):  # an openlineage.yml here or in ~/.openlineage
        return None
    if settings.transport is None:
        url = env.get("OPENLINEAGE_URL")
        if not url:
            return None
        endpoint = env.get("OPENLINEAGE_ENDPOINT", "api/v1/lineage")
        timeout: Any = 5.0
        key = env.get("OPENLINEAGE_API_KEY") or None
    else:
        transport = dict(settings.transport)
        if env.get("OPENLINEAGE_URL") or set(transport) - _TRANSPORT_KEYS:
            return None
        understood, key = _api_key(transport.get("auth"))
        if transport.get("type") != "http" or not understood:
            return None
        url, endpoint = transport.get("url"), transport.get("endpoint", "api/v1/lineage")
        timeout = transport.get("timeout", 5.0)
        if not isinstance(url, str) or not isinstance(endpoint, str):
            return None
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
        return None
    target = urljoin(url.strip(), endpoint)
    parts = urlsplit(target)
    if parts.scheme != "http" or not parts.hostname or parts.username or parts.password:
        return None
    if _through_proxy(target, os.environ):
        return None
    return PlainTarget(url=target, timeout=float(timeout), api_key=key)


class _UnreadableError(Exception):
    """An answer this module does not parse (urllib3 sends the event again)."""


class PlainHttp:
    """Posts events (plain dicts) as JSON to a :class:`PlainTarget` (an emitter for
    :class:`~partita.openlineage.sink.OpenLineageSink`; see the module's text)."""

    def __init__(self, target: PlainTarget) -> None:
        self.target = target
        parts = urlsplit(target.url)
        self._address = (parts.hostname or "", parts.port or 80)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        host = parts.netloc
        auth = f"Authorization: Bearer {target.api_key}\r\n" if target.api_key else ""
        self._head = (
            f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
            f"{auth}Content-Length: "
        ).encode("latin-1")
        self._sock: socket.socket | None = None
        self._pool: Any = None
        self._reason = ""

    def emit(self, event: Mapping[str, Any]) -> None:
        """Post one event; an HTTP error status raises (``urllib3.exceptions.HTTPError``)."""
        body = json.dumps(event, sort_keys=True).encode("utf-8")
        try:
            status = self._post(body)
        except (OSError, _UnreadableError):
            self._close_socket()  # the next event connects again
        else:
            if status < 400:
                return
            if status not in _RETRIED:
                self._raise(status)
        self._post_retried(body)

    def _post(self, body: bytes) -> int:
        sock = self._sock
        if sock is None:
            sock = socket.create_connection(self._address, timeout=self.target.timeout)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._sock = sock
        sock.sendall(self._head + str(len(body)).encode() + b"\r\n\r\n" + body)
        while True:
            status, keep = self._answer(sock)
            if status >= 200:
                break
        if not keep:
            self._close_socket()
        return status

    def _answer(self, sock: socket.socket) -> tuple[int, bool]:
        """Read one answer: its status and whether the connection stays open."""
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                raise _UnreadableError("the connection closed")
            data += chunk
            if len(data) > 65536:
                raise _UnreadableError("headers too long")
        head, _, rest = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        version, _, tail = lines[0].partition(" ")
        code = tail[:3]
        if not version.startswith("HTTP/1.") or not code.isdigit():
            raise _UnreadableError(lines[0])
        status = int(code)
        self._reason = tail[4:].strip()
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        keep = version == "HTTP/1.1" and headers.get("connection", "").lower() != "close"
        if status < 200 or status in (204, 304):
            if rest:
                raise _UnreadableError("bytes after a bodiless answer")
            return status, keep
        if "transfer-encoding" in headers or "content-length" not in headers:
            raise _UnreadableError("no Content-Length")  # urllib3 reads it
        length = int(headers["content-length"])
        while len(rest) < length:
            chunk = sock.recv(65536)
            if not chunk:
                raise _UnreadableError("the connection closed")
            rest += chunk
        if len(rest) != length:
            raise _UnreadableError("bytes after the answer")
        return status, keep

    def _post_retried(self, body: bytes) -> None:
        import urllib3  # noqa: PLC0415 - only when the plain post failed

        if self._pool is None:
            self._pool = urllib3.PoolManager(maxsize=2)
        headers = {"Content-Type": "application/json"}
        if self.target.api_key:
            headers["Authorization"] = f"Bearer {self.target.api_key}"
        response = self._pool.request(
            "POST",
            self.target.url,
            body=body,
            headers=headers,
            timeout=urllib3.Timeout(total=self.target.timeout),
            retries=urllib3.util.Retry(**_RETRY),
            redirect=False,
        )
        if response.status >= 400:
            self._reason = str(response.reason or "")
            self._raise(response.status)

    def _raise(self, status: int) -> None:
        import urllib3  # noqa: PLC0415 - only for an error

        raise urllib3.exceptions.HTTPError(f"{status} {self._reason} from {self.target.url}")

    def _close_socket(self) -> None:
        if self._sock is not None:
            try:
                self._sock.close()
            finally:
                self._sock = None

    def close(self, timeout: float = -1.0) -> bool:
        """Close the connections."""
        self._close_socket()
        if self._pool is not None:
            self._pool.clear()
        return True
