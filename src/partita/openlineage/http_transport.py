"""The client's HTTP transport, sending through one urllib3 connection pool.

The OpenLineage client's :class:`~openlineage.client.transport.http.HttpTransport`
posts each event with ``requests``, which costs about 1.1 ms of CPU per event
here (its session merges environment settings, cookies and hooks on every
call); urllib3, which ``requests`` itself sends through, takes about 0.4 ms
for the same request on a kept-alive connection. A run sends two events per
partition, on the coordinator's process, so that difference is the whole
cost of OpenLineage over HTTP in a run of small steps.

:class:`PooledHttpTransport` is the client's transport with only the sending
replaced: the client still reads its configuration (``openlineage.yml``,
``OPENLINEAGE__TRANSPORT__...``, ``OPENLINEAGE_URL``), builds the request body
and headers (auth token, custom headers, gzip compression; the body is the text
``Serde.to_json`` makes, by :class:`~partita.openlineage.serialize.EventJson`) and runs its
``emit`` pipeline (filters, environment and tag facets); the post goes through
urllib3 with the transport's timeout, its retry settings and its TLS
verification. Where urllib3 alone would behave differently from ``requests``
(a client certificate, a session or adapter given in code, a proxy from the
environment), :func:`pooled` leaves the client's transport as it is.

To a plain ``http://`` URL, each event is first posted on one kept-alive
``http.client`` connection (about 0.1 ms of CPU an event, urllib3 about 0.3 ms):
a success, or an error status the retry settings do not retry, ends there; an
event that did not reach the receiver (no connection, or the connection broke
before any status line) or got a retried status is sent again through the
urllib3 pool, with the configured retries (so such an event is tried once more
than the retry settings say). Once a status line is read it stands; no answer
within the timeout is an error, not a reason to send the event again.
"""

from __future__ import annotations

import http.client
import socket
import urllib.request
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

import urllib3
from openlineage.client.transport.http import HttpConfig, HttpTransport

from partita.openlineage.serialize import EventJson

if TYPE_CHECKING:
    from openlineage.client import OpenLineageClient
    from openlineage.client.client import Event

__all__ = ["PooledHttpTransport", "pooled"]


class PooledHttpTransport(HttpTransport):
    """:class:`HttpTransport` posting through a urllib3 pool kept for the transport's life."""

    def __init__(self, config: HttpConfig) -> None:
        super().__init__(config)
        self._target = urljoin(self.url, self.endpoint)
        self._retries = urllib3.util.Retry(**self.config.retry)
        self._retried_statuses = frozenset(self._retries.status_forcelist or ())
        self._pool = _pool_manager(self.verify)
        self._json = EventJson()  # the text Serde.to_json makes, faster
        target = urlsplit(self._target)
        self._direct: http.client.HTTPConnection | None = None
        if target.scheme == "http" and target.hostname:
            self._direct = http.client.HTTPConnection(
                target.hostname, target.port or 80, timeout=self.timeout
            )
            self._path = target.path + (f"?{target.query}" if target.query else "") or "/"

    def emit(self, event: Event) -> None:  # type: ignore[override]
        """Post one event; an HTTP error status raises, as the client's transport does."""
        body, headers = self._prepare_request(self._json(event))
        data = body.encode("utf-8") if isinstance(body, str) else body
        if self._direct is not None and self._post_direct(data, headers):
            return
        response = self._pool.request(
            "POST",
            self._target,
            body=data,
            headers=headers,
            timeout=urllib3.Timeout(total=self.timeout),
            retries=self._retries,
            redirect=False,
            preload_content=False,  # as requests: a body that fails to read is not retried
        )
        try:
            response.read()
        except (OSError, urllib3.exceptions.HTTPError):
            pass  # the status stands
        finally:
            response.release_conn()
        if response.status >= 400:
            raise urllib3.exceptions.HTTPError(
                f"{response.status} {response.reason} from {self._target}"
            )

    def _post_direct(self, data: bytes, headers: dict[str, str]) -> bool:
        """Post on the kept-alive connection; ``False`` when the event must go through
        the pool: it did not reach the receiver (no connection, or the connection broke
        before any status line) or its status is a retried one. Once a status is read it
        stands (a body that fails to read only closes the connection); no answer within
        the timeout raises, as the receiver may have the event."""
        direct = self._direct
        assert direct is not None
        try:
            if direct.sock is None:
                direct.connect()  # as urllib3 does: no Nagle delay on the body
                connected: socket.socket = direct.sock  # type: ignore[assignment]
                connected.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            direct.close()  # nothing was sent
            return False
        try:
            direct.request("POST", self._path, body=data, headers=headers)
            answer = direct.getresponse()
        except TimeoutError:
            direct.close()
            raise TimeoutError(f"{self._target} did not answer within {self.timeout:g} s") from None
        except (ConnectionError, http.client.RemoteDisconnected):
            direct.close()  # broke before any status line (a kept-alive connection closed)
            return False
        except (OSError, http.client.HTTPException) as exc:
            direct.close()
            raise urllib3.exceptions.HTTPError(
                f"no HTTP answer from {self._target}: {exc}"
            ) from exc
        try:
            answer.read()
        except (OSError, http.client.HTTPException):
            direct.close()
        if answer.status < 400:
            return True
        if answer.status not in self._retried_statuses:
            raise urllib3.exceptions.HTTPError(
                f"{answer.status} {answer.reason} from {self._target}"
            )
        return False

    def close(self, timeout: float = -1) -> bool:
        """Close the connections."""
        if self._direct is not None:
            self._direct.close()
        self._pool.clear()
        return super().close(timeout)


def _pool_manager(verify: bool | str) -> urllib3.PoolManager:
    """A pool verifying TLS as ``requests`` would with ``verify``: certifi's bundle for
    ``True`` (what ``requests`` uses), the given bundle for a path, nothing for ``False``."""
    if verify is False:
        return urllib3.PoolManager(maxsize=2, cert_reqs="CERT_NONE")
    if verify is True:
        import certifi  # noqa: PLC0415 - a dependency of requests, needed only here

        return urllib3.PoolManager(maxsize=2, cert_reqs="CERT_REQUIRED", ca_certs=certifi.where())
    return urllib3.PoolManager(maxsize=2, cert_reqs="CERT_REQUIRED", ca_certs=verify)


def _through_proxy(url: str) -> bool:
    """Whether ``requests`` would send to ``url`` through a proxy of the environment."""
    proxies = urllib.request.getproxies()
    host = urlsplit(url).hostname or ""
    scheme = urlsplit(url).scheme
    return bool(proxies.get(scheme) or proxies.get("all")) and not urllib.request.proxy_bypass(host)


def pooled(client: OpenLineageClient) -> OpenLineageClient:
    """``client`` with its HTTP transport sending through urllib3, where that changes nothing
    but the cost (see the module's text); any other transport is left as it is."""
    transport: Any = client.transport
    if type(transport) is not HttpTransport:
        return client
    config: HttpConfig = transport.config
    if (
        config.session is not None
        or config.adapter is not None
        or transport.cert is not None
        or _through_proxy(transport.url)
    ):
        return client
    client.transport = PooledHttpTransport(config)
    return client
