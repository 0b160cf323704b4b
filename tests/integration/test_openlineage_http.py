"""The HTTP transport posting through urllib3: what the client's configuration says
still reaches the receiver (endpoint, auth, custom headers, gzip), errors still raise,
and the cases urllib3 alone would get wrong keep the client's own transport."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from openlineage.client import OpenLineageClient
from openlineage.client.event_v2 import Job, Run, RunEvent, RunState
from openlineage.client.transport.http import HttpTransport

from partita.openlineage.config import OpenLineageSettings, configured_client
from partita.openlineage.http_transport import PooledHttpTransport, pooled
from tests.openlineage_support import http10_receiver, receiver, scripted_receiver


def _event(name: str = "orders") -> RunEvent:
    return RunEvent(
        eventType=RunState.START,
        eventTime=datetime.now(UTC).isoformat(),
        run=Run(runId=str(uuid.uuid4())),
        job=Job(namespace="shop", name=name),
        producer="https://example.com/partita",
    )


def _client(transport: dict[str, Any]) -> OpenLineageClient:
    settings = OpenLineageSettings(namespace="shop", transport=transport, project_name="shop")
    client = configured_client(settings, env={}, cwd=None)
    assert client is not None
    return client


def test_a_configured_http_client_posts_through_the_pool_with_its_settings() -> None:
    with receiver() as got:
        client = _client(
            {
                "type": "http",
                "url": got.url,
                "endpoint": "api/v2/events",
                "auth": {"type": "api_key", "apiKey": "s3cret-token"},
                "custom_headers": {"X-Team": "data"},
                "compression": "gzip",
            }
        )
        assert type(client.transport) is PooledHttpTransport
        for name in ("orders", "revenue"):
            client.emit(_event(name))
        client.close()
    assert [e["job"]["name"] for e in got.events] == ["orders", "revenue"]
    headers = got.headers[0]
    assert headers["Authorization"] == "Bearer s3cret-token"
    assert headers["X-Team"] == "data"
    assert headers["Content-Encoding"] == "gzip"
    assert headers["Content-Type"] == "application/json"


def test_the_request_goes_to_the_configured_endpoint() -> None:
    seen: list[str] = []
    with receiver() as got:
        client = _client({"type": "http", "url": got.url, "endpoint": "custom/lineage"})
        transport = client.transport
        assert isinstance(transport, PooledHttpTransport)
        seen.append(transport._target)
        client.emit(_event())
    assert seen == [f"{got.url}/custom/lineage"]
    assert len(got.events) == 1


def test_an_error_status_raises_as_the_clients_transport_does() -> None:
    with receiver() as got:
        got.status = 400  # not retried: a client error
        client = _client({"type": "http", "url": got.url})
        with pytest.raises(Exception, match="400"):
            client.emit(_event())
    assert len(got.events) == 1


def test_an_http10_receiver_closing_its_answers_gets_each_event_once() -> None:
    names = [f"job{n}" for n in range(10)]
    with http10_receiver() as got:
        client = _client({"type": "http", "url": got.url})
        assert type(client.transport) is PooledHttpTransport
        for name in names:
            client.emit(_event(name))
        client.close()
    assert [e["job"]["name"] for e in got.events] == names


def test_an_event_answered_2xx_is_not_sent_again_when_its_body_is_cut_short() -> None:
    answer = b"HTTP/1.1 201 Created\r\nContent-Length: 10\r\n\r\n{}"
    with scripted_receiver(answer, close=True) as got:
        client = _client({"type": "http", "url": got.url})
        for name in ("orders", "revenue"):
            client.emit(_event(name))
        client.close()
    assert [e["job"]["name"] for e in got.events] == ["orders", "revenue"]


def test_no_answer_in_time_is_an_error_and_the_event_is_not_sent_again() -> None:
    with scripted_receiver(b"", close=False) as got:
        client = _client({"type": "http", "url": got.url, "timeout": 0.3})
        with pytest.raises(TimeoutError, match=r"did not answer within 0\.3 s"):
            client.emit(_event())
        client.close()
    assert len(got.events) == 1


def test_other_transports_and_proxied_urls_keep_the_clients_own_transport(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    console = _client({"type": "console"})
    assert type(console.transport) is not PooledHttpTransport
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.invalid:3128")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    proxied = OpenLineageClient(
        config={"transport": {"type": "http", "url": "http://lineage.example.com:5000"}}
    )
    assert type(pooled(proxied).transport) is HttpTransport
