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
parsing. An event is sent again (through urllib3, with the client's default
retries: 5, backoff 0.3 s) only where that is safe and useful: when it could not
connect (other than refused), when the connection broke before any status line
(a kept-alive connection the receiver had closed), or when the status is one the
client retries (500, 502, 503, 504). Once a status line is read the status
stands: a body delimited by the connection's close (an HTTP/1.0 receiver) is
read to the close, one it cannot read only closes the connection. Any other
status of 400 or more is an error, as the client's transport raises it; a
refused connection and no answer within the timeout are errors at once.
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


class _NotSentError(Exception):
    """The event did not reach the receiver (no connection, or the connection broke
    before any status line): sending it again through urllib3 is safe."""


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
        """Post one event; an HTTP error status raises (``urllib3.exceptions.HTTPError``),
        and so does a refused connection (``ConnectionRefusedError``) or no answer in time
        (``TimeoutError``)."""
        body = json.dumps(event, sort_keys=True).encode("utf-8")
        try:
            status = self._post(body)
        except _NotSentError:
            self._close_socket()  # the next event connects again
            self._post_retried(body)
            return
        except BaseException:
            self._close_socket()
            raise
        if status < 400:
            return
        if status not in _RETRIED:
            self._raise(status)
        self._post_retried(body)  # the receiver said it failed: the client sends it again

    def _connect(self) -> socket.socket:
        try:
            sock = socket.create_connection(self._address, timeout=self.target.timeout)
        except ConnectionRefusedError:
            # nothing listens there: said at once, rather than after the retries' back-off
            raise ConnectionRefusedError(
                f"the connection to {self.target.url} was refused"
            ) from None
        except OSError as exc:
            raise _NotSentError(f"could not connect: {exc}") from exc
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock

    def _post(self, body: bytes) -> int:
        """Send ``body`` and return the answer's status; raise :class:`_NotSentError`
        only when sending it again is safe (see :meth:`_answer`)."""
        if self._sock is None:
            self._sock = self._connect()
        sock = self._sock
        try:
            sock.sendall(self._head + str(len(body)).encode() + b"\r\n\r\n" + body)
        except TimeoutError:
            raise TimeoutError(
                f"{self.target.url} took no request within {self.target.timeout:g} s"
            ) from None
        except OSError as exc:  # a kept-alive connection the receiver had closed
            raise _NotSentError(f"the connection broke: {exc}") from exc
        buffer = bytearray()
        while True:
            status, keep = self._answer(sock, buffer)
            if status >= 200:
                break
        if not keep or buffer:
            self._close_socket()
        return status

    def _answer(self, sock: socket.socket, buffer: bytearray) -> tuple[int, bool]:
        """Read one answer from ``buffer`` and ``sock``: its status and whether the
        connection stays open.

        Before a status line, a connection that breaks raises :class:`_NotSentError`
        and a timeout ``TimeoutError`` (the receiver may have the event: not sent
        again). Once a status line is read the status stands: a body that cannot be
        read (a broken connection, a timeout, chunks) only closes the connection. A
        body without ``Content-Length`` is read until the receiver closes (RFC 9112
        6.3)."""
        while b"\r\n" not in buffer:
            if not self._receive(sock, buffer, before_status=True):
                raise _NotSentError("the connection closed before any status line")
            if len(buffer) > 65536:
                raise ConnectionError(f"{self.target.url} answered no HTTP status line")
        line, _, _ = bytes(buffer).partition(b"\r\n")
        version, _, tail = line.decode("latin-1").partition(" ")
        code = tail[:3]
        if not version.startswith("HTTP/1.") or not code.isdigit():
            raise ConnectionError(f"{self.target.url} answered {line[:80]!r}, not HTTP")
        status = int(code)
        self._reason = tail[4:].strip()
        while b"\r\n\r\n" not in buffer:
            if len(buffer) > 65536 or not self._receive(sock, buffer, before_status=False):
                return status, False  # the status stands; the headers are lost
        head, _, rest = bytes(buffer).partition(b"\r\n\r\n")
        buffer[:] = rest
        headers: dict[str, str] = {}
        for header in head.decode("latin-1").split("\r\n")[1:]:
            name, _, value = header.partition(":")
            headers[name.strip().lower()] = value.strip()
        keep = version == "HTTP/1.1" and headers.get("connection", "").lower() != "close"
        if status < 200 or status in (204, 304):
            return status, keep
        length = headers.get("content-length", "")
        if "transfer-encoding" in headers or (length and not length.isdigit()):
            return status, False  # the body is not read: the connection is closed
        if not length:  # delimited by the close
            while self._receive(sock, buffer, before_status=False):
                buffer.clear()
            buffer.clear()
            return status, False
        while len(buffer) < int(length):
            if not self._receive(sock, buffer, before_status=False):
                return status, False
        del buffer[: int(length)]
        return status, keep

    def _receive(self, sock: socket.socket, buffer: bytearray, *, before_status: bool) -> bool:
        """Append what ``sock`` has to ``buffer``; ``False`` when the connection ended."""
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            if before_status:
                raise TimeoutError(
                    f"{self.target.url} did not answer within {self.target.timeout:g} s"
                ) from None
            return False
        except OSError as exc:
            if before_status:
                raise _NotSentError(f"the connection broke: {exc}") from exc
            return False
        buffer += chunk
        return bool(chunk)

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
            preload_content=False,  # as requests: a body that fails to read is not retried
        )
        _discard_body(response)
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


def _discard_body(response: Any) -> None:
    """Read and drop a urllib3 answer's body; its status stands even if that fails."""
    import urllib3  # noqa: PLC0415 - loaded already by the caller

    try:
        response.read()
    except (OSError, urllib3.exceptions.HTTPError):
        pass
    finally:
        response.release_conn()
