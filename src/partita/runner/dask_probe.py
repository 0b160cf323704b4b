"""Is an address a Dask scheduler? Asked before a Dask client is made, within a deadline.

``distributed.Client(address, timeout=...)`` bounds the TCP connection and the
requests after Dask's handshake, not the handshake itself:
``distributed.comm.core.connect`` writes its handshake and then reads the peer's
with no deadline. A server that accepts the connection and never answers in
Dask's protocol (an HTTP server waiting for a request line, a port forwarder with
nothing behind it) would hold the client, and the run, forever.

:func:`check_scheduler` asks first, each step under the connect timeout:

1. for ``tcp://`` and ``tls://`` addresses, does anything accept a TCP
   connection? A refused connection fails at once, naming the address;
2. Dask's own connect (its handshake) and an ``identity`` request, in one
   coroutine under :func:`asyncio.wait_for`: a peer that stays silent, closes
   the connection, answers in another protocol, or is a Dask server of another
   kind (a worker, a nanny) is named as "not a Dask scheduler".

The client made afterwards uses the same :class:`~distributed.security.Security`
(:func:`client_security`), so the probe and the client speak alike (``tls://``).
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import dask.config
from distributed.comm.core import connect
from distributed.core import send_recv
from distributed.security import Security
from distributed.utils import import_term

from partita.errors import PartitaError, UnreachableError

__all__ = ["check_scheduler", "client_security", "unreachable"]

_PROBED_SCHEMES = ("tcp", "tls")
"""Schemes whose address is ``host:port``: probed with a plain TCP connection first."""

_NOT_A_SCHEDULER_HINT = (
    "give the address `dask scheduler` prints (`Scheduler at: tcp://host:port`, default "
    "port 8786), not a worker's, a dashboard's or another service's; or drop --dask-address "
    "to run on a local cluster"
)


def client_security(address: str) -> Security:
    """The security settings a Dask client of ``address`` uses: those of the configured
    ``distributed.client.security-loader`` when it gives some, else Dask's configuration
    (``distributed.comm.tls.*``), as ``distributed.Client`` chooses them.

    Raises:
        PartitaError: the configured security loader cannot be imported.
    """
    term = dask.config.get("distributed.client.security-loader", None)
    if term:
        try:
            loader = import_term(term)
        except Exception as exc:
            raise PartitaError(
                f"cannot import Dask's security loader {term!r}: {type(exc).__name__}: {exc}",
                hint="check `distributed.client.security-loader` in Dask's configuration",
            ) from None
        loaded = loader({"address": address})
        if isinstance(loaded, Security):
            return loaded
    return Security()


def check_scheduler(address: str, timeout: float, security: Security) -> None:
    """Check that a Dask scheduler answers at ``address`` within ``timeout`` seconds.

    Raises:
        UnreachableError: nothing accepts a connection there; or what accepts it is
            not a Dask scheduler (silent, closing, another protocol, or another kind
            of Dask server); or the address is malformed.
    """
    accepted = _check_reachable(address, timeout)
    connection_args = security.get_connection_args("client")
    outcome: list[Mapping[str, Any] | BaseException] = []

    def ask() -> None:
        try:
            outcome.append(asyncio.run(_identity(address, timeout, connection_args)))
        except BaseException as exc:
            outcome.append(exc)

    # A thread of its own: the caller may be running an event loop of its own.
    asker = threading.Thread(target=ask, name="partita-dask-probe", daemon=True)
    asker.start()
    asker.join(timeout + 5.0)  # wait_for ends the coroutine at the deadline; a margin
    if not outcome:
        outcome.append(TimeoutError())
    _judge(address, timeout, accepted, outcome[0])


async def _identity(
    address: str, timeout: float, connection_args: Mapping[str, Any]
) -> Mapping[str, Any]:
    """Dask's connect (its handshake) and an ``identity`` request, under one deadline."""

    async def ask() -> Mapping[str, Any]:
        comm = await connect(address, timeout=timeout, deserialize=False, **connection_args)
        try:
            reply = await send_recv(comm, op="identity", close=True)
        finally:
            comm.abort()
        if not isinstance(reply, Mapping):
            raise TypeError(f"the identity reply is a {type(reply).__name__}")
        return reply

    return await asyncio.wait_for(ask(), timeout)


def _judge(
    address: str, timeout: float, accepted: bool, outcome: Mapping[str, Any] | BaseException
) -> None:
    """Raise the error ``outcome`` means; return when it is a scheduler's identity."""
    if isinstance(outcome, Mapping):
        kind = outcome.get("type")
        if kind == "Scheduler" or "workers" in outcome:  # a subclass of Scheduler too
            return
        raise UnreachableError(
            f"{address} is not a Dask scheduler: it is a Dask {str(kind or 'server').lower()}",
            hint=_NOT_A_SCHEDULER_HINT,
        )
    if isinstance(outcome, KeyboardInterrupt | SystemExit):
        raise outcome
    if isinstance(outcome, ValueError) and not accepted:  # an unknown scheme, a bad address
        raise UnreachableError(
            f"{address!r} is not a Dask scheduler address: {outcome}",
            hint="write it as tcp://host:port, e.g. tcp://127.0.0.1:8786",
        )
    if not accepted and isinstance(outcome, OSError | TimeoutError):
        raise unreachable(address, timeout, outcome)
    if isinstance(outcome, TimeoutError):
        what = f"accepted the connection but did not answer in Dask's protocol within {timeout:g} s"
    elif isinstance(outcome, OSError):
        what = "accepted the connection, then closed it without answering in Dask's protocol"
    else:
        what = f"answered, but not in Dask's protocol ({type(outcome).__name__})"
    raise UnreachableError(
        f"{address} is not a Dask scheduler: it {what}", hint=_NOT_A_SCHEDULER_HINT
    )


def _check_reachable(address: str, timeout: float) -> bool:
    """Whether something accepts a TCP connection at a ``tcp://`` or ``tls://`` address
    (``False``: another scheme, not probed); fail at once, naming the address, when
    nothing does."""
    parts = urlsplit(address if "://" in address else f"tcp://{address}")
    if parts.scheme not in _PROBED_SCHEMES:
        return False
    try:
        port = parts.port
    except ValueError:
        port = None
    if not parts.hostname or port is None:
        raise UnreachableError(
            f"{address!r} is not a Dask scheduler address",
            hint="write it as tcp://host:port, e.g. tcp://127.0.0.1:8786",
        )
    try:
        with socket.create_connection((parts.hostname, port), timeout=timeout):
            pass
    except OSError as exc:
        raise unreachable(address, timeout, exc) from None
    return True


def unreachable(address: str, timeout: float, exc: BaseException) -> UnreachableError:
    """The error for a scheduler address nothing answers at (``exc`` says why)."""
    reason = str(exc) or type(exc).__name__
    return UnreachableError(
        f"cannot reach the Dask scheduler at {address}: {reason}",
        hint=f"check that `dask scheduler` runs there, that host and port are right and that "
        f"no firewall blocks the port (waited up to {timeout:g} s); or drop --dask-address "
        "to run on a local cluster",
    )
