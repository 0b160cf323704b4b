"""The event bus: order per subscriber, isolation from slow and failing subscribers."""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime

import pytest

from partita.events import Event, EventBus, StepSkipped

AT = datetime(2025, 3, 1, tzinfo=UTC)


def _events(n: int) -> list[StepSkipped]:
    return [
        StepSkipped(run_id="r", at=AT, asset="a", partition=str(i), attempt=1, reason="x")
        for i in range(n)
    ]


def test_each_subscriber_gets_every_event_in_order() -> None:
    first: list[Event] = []
    second: list[Event] = []
    bus = EventBus([first.append, second.append])
    events = _events(500)
    for event in events:
        bus.publish(event)
    report = bus.close()
    assert first == events and second == events
    assert report.warnings == ()
    assert [s.delivered for s in report.subscribers] == [500, 500]


def test_publishing_never_waits_for_a_slow_subscriber() -> None:
    taken: list[Event] = []

    def slow(event: Event) -> None:
        time.sleep(1)
        taken.append(event)

    bus = EventBus([slow], flush_timeout_s=0.2)
    started = time.monotonic()
    for event in _events(100):
        bus.publish(event)
    published_s = time.monotonic() - started
    report = bus.close()
    closed_s = time.monotonic() - started
    assert published_s < 0.5  # 100 s if publishing waited for the subscriber
    assert closed_s < 1.5  # the flush is bounded
    (slow_report,) = report.subscribers
    assert slow_report.delivered <= 2
    assert slow_report.abandoned >= 97
    assert "undelivered at run end" in report.warnings[0]


def test_a_full_queue_drops_new_events_and_counts_them() -> None:
    entered = threading.Event()
    gate = threading.Event()
    blocked: list[Event] = []

    def stuck(event: Event) -> None:
        entered.set()
        assert gate.wait(10)
        blocked.append(event)

    bus = EventBus([stuck], queue_size=2)
    events = _events(10)
    bus.publish(events[0])
    assert entered.wait(10)  # the first event is being handled: the queue is empty
    for event in events[1:]:
        bus.publish(event)  # two fit, seven are dropped
    gate.set()
    report = bus.close()
    assert blocked == events[:3]
    (stuck_report,) = report.subscribers
    assert (stuck_report.delivered, stuck_report.dropped) == (3, 7)
    assert "dropped 7 events (queue full)" in stuck_report.describe()


def test_a_raising_subscriber_is_logged_once_and_keeps_receiving(
    caplog: pytest.LogCaptureFixture,
) -> None:
    seen: list[Event] = []

    def explode(event: Event) -> None:
        seen.append(event)
        raise RuntimeError(f"boom on {event.run_id}")

    others: list[Event] = []
    bus = EventBus([explode, others.append])
    events = _events(5)
    with caplog.at_level(logging.WARNING, logger="partita.events"):
        for event in events:
            bus.publish(event)
        report = bus.close()
    assert seen == events and others == events
    failing = report.subscribers[0]
    assert (failing.failures, failing.first_error) == (5, "RuntimeError: boom on r")
    assert report.warnings == (
        "event subscriber test_a_raising_subscriber_is_logged_once_and_keeps_receiving."
        "<locals>.explode: raised on 5 events (first: RuntimeError: boom on r)",
    )
    tracebacks = [r for r in caplog.records if r.exc_info]
    assert len(tracebacks) == 1 and "StepSkipped" in tracebacks[0].getMessage()
    assert tracebacks[0].exc_info is not None
    assert isinstance(tracebacks[0].exc_info[1], RuntimeError)


def test_close_twice_gives_the_same_report_and_later_events_go_nowhere() -> None:
    got: list[Event] = []
    bus = EventBus([got.append])
    bus.publish(_events(1)[0])
    report = bus.close()
    bus.publish(_events(2)[1])
    assert bus.close() is report
    assert len(got) == 1
