"""Reading the log a page at a time, and the envelopes consumers receive for its events."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

from eventsourcing.application import Application
from eventsourcing.persistence import Notification

from rotation_domain.consumers import Envelope, event_name, id_text

__all__ = [
    "READ_PAGE_SIZE",
    "Progress",
    "envelope_maker",
    "envelope_of",
    "notifications_after",
    "pages_after",
]

READ_PAGE_SIZE = 1_000
"""Events read from the log per query, whatever the page of a transaction."""
Progress = Callable[[int, int], None]
"""Called as ``progress(done, total)`` while a view is rebuilt."""


def envelope_of(
    app: Application[Any], notification: Notification, opened: frozenset[str] | None = None
) -> Envelope:
    """Map a stored notification to the envelope consumers receive.

    With ``opened``, only those personal fields are decrypted and the others read as
    `WITHHELD`, when the mapper can withhold them (``to_domain_event_withholding``).
    """
    return envelope_maker(app)(notification, opened)


def envelope_maker(
    app: Application[Any],
) -> Callable[[Notification, frozenset[str] | None], Envelope]:
    """`envelope_of` for one application, its lookups done once (for a loop over events).

    Make one for each page of events rather than keeping it: it holds the mapper's
    methods as they are when it is made.
    """
    mapper = app.mapper
    decode = mapper.to_domain_event
    withholding = getattr(mapper, _WITHHOLDING, None)
    new_tuple = _new_tuple

    def make(notification: Notification, opened: frozenset[str] | None = None) -> Envelope:
        if opened is None or withholding is None:
            event = decode(notification)
        else:
            event = withholding(notification, opened)
        topic, originator_id = notification.topic, event.originator_id
        return new_tuple(
            Envelope,
            (
                notification.id,
                topic,
                originator_id,
                event.originator_version,
                event,
                id_text(originator_id),
                event_name(topic),
            ),
        )

    return make


_WITHHOLDING = "to_domain_event_withholding"
_new_tuple = tuple.__new__  # what `Envelope` does, without a call of its own per event


def notifications_after(
    app: Application[Any], start: int, limit: int, topics: list[str]
) -> Iterator[Notification]:
    """Up to ``limit`` notifications after ``start``, read `READ_PAGE_SIZE` at a time.

    A transaction of views may hold many events; reading them in small pages keeps only
    a page of notifications alive at once, which made reading the log about a third
    faster per event than one read of 50,000 (fewer objects for the garbage collector
    to walk while it runs).
    """
    for page in pages_after(app, start, limit, topics):
        yield from page


def pages_after(
    app: Application[Any], start: int, limit: int, topics: list[str]
) -> Iterator[Sequence[Notification]]:
    """What `notifications_after` yields, a page of up to `READ_PAGE_SIZE` at a time."""
    read = 0
    while read < limit:
        wanted = min(READ_PAGE_SIZE, limit - read)
        page = app.recorder.select_notifications(
            start=start, limit=wanted, topics=topics, inclusive_of_start=False
        )
        if page:
            yield page
        read += len(page)
        if len(page) < wanted:
            return
        start = page[-1].id
