"""What the default views share: dispatch by topic, row keys, dates, and two row patterns.

The two patterns keep every view's ``apply`` independent of the order in which events
of *different* aggregates arrive:

- `DatedDocs`: one document per thing, keyed by a date so that queries over a period
  scan only the months of that period, with a pointer per id to find it again.
- `revise` and `shift`: a document per thing plus summary rows of counters (per
  department, per mentor) that always equal the sum of the things' contributions:
  changing a thing moves its old contribution out and its new one in.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterator, Mapping
from datetime import date, timedelta
from types import MappingProxyType
from typing import Any
from urllib.parse import quote

import orjson

from rotation_domain.consumers import Doc, Envelope, Rows, RowsReader

Handler = Callable[[Envelope, Rows], None]
Counts = dict[str, int]
Contribution = dict[str, Counts]
"""Per summary row key, the counters one document adds to that row."""

TOPIC_PREFIX = "rotation_domain:"


def topic(event_name: str) -> str:
    """The stable topic of one of the library's events, such as ``RotationPlanned``."""
    return TOPIC_PREFIX + event_name


class HandlerView:
    """A view whose ``apply`` calls the handler registered for the event's topic.

    Subclasses set ``name``, ``handlers`` (topic -> pure function of the envelope and the
    rows) and ``topics = frozenset(handlers)``. Events of other topics are ignored.
    They read no personal field unless they name it in ``personal_fields``: the
    others reach them as `WITHHELD`, never decrypted.
    """

    name: str = ""
    version: int = 1
    rebuilds_in_place = True
    """Its handlers change documents only through `editable` and `put` them back, so a
    rebuild may hand them the documents themselves (`rotation_domain.rebuild`)."""
    topics: frozenset[str] = frozenset()
    personal_fields: frozenset[str] = frozenset()
    handlers: Mapping[str, Handler] = MappingProxyType({})

    def apply(self, envelope: Envelope, rows: Rows) -> None:
        """Fold one event into the view's rows (events of other topics are ignored)."""
        handler = self.handlers.get(envelope.topic)
        if handler is not None:
            handler(envelope, rows)


_NEEDS_QUOTING = re.compile(r"[^A-Za-z0-9_.~-]")


def _part(part: object) -> str:
    if not isinstance(part, str):
        return str(part)
    return quote(part, safe="") if _NEEDS_QUOTING.search(part) else part


@functools.lru_cache(maxsize=1 << 16)
def key(*parts: object) -> str:
    """A row key from parts joined by ``/``; text parts are escaped so they hold no ``/``.

    The parts must be hashable (texts, numbers, dates); the keys of the things an event
    touches are remembered, since the next events of the same things need them again.
    """
    return "/".join(map(_part, parts))


def iso(day: date | None) -> str | None:
    """A date as ``YYYY-MM-DD`` text, or None."""
    return None if day is None else day.isoformat()


def parse_day(text: Any) -> date | None:
    """The date a document holds as ISO text, or None."""
    return date.fromisoformat(text) if isinstance(text, str) else None


def event_day(envelope: Envelope, field: str = "on") -> date:
    """The event's business date ``field``, or the day it was recorded when it has none."""
    day = getattr(envelope.event, field, None)
    return day if isinstance(day, date) else envelope.timestamp.date()


def editable(rows: RowsReader, row_key: str) -> Doc:
    """The document under ``row_key`` (a new empty one when absent), to change and `put` back.

    Rows that hand out documents their caller owns say so with an ``edit`` method (a
    rebuild's `rotation_domain.rebuild.BatchRows`: nothing there is shared or undone,
    so the document is changed where it lies); from any other rows this is a copy.
    """
    edit: Callable[[str], Doc] | None = getattr(rows, "edit", None)
    if edit is not None:
        return edit(row_key)
    return copied(rows.get(row_key))


def copied(doc: Doc | None) -> Doc:
    """A deep copy of a document (or a new empty one), safe to change before `put`.

    Documents are JSON, so a round trip through orjson copies them, about ten times
    faster than `copy.deepcopy` (tuples come back as lists, as they do from the store).
    """
    if doc is None:
        return {}
    copy_: Doc = orjson.loads(orjson.dumps(doc))
    return copy_


def months(first: date, last: date) -> Iterator[str]:
    """Every month touched by the days from ``first`` to ``last``, as ``YYYY-MM``."""
    year, month = first.year, first.month
    while (year, month) <= (last.year, last.month):
        yield f"{year:04d}-{month:02d}"
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)


def days(first: date, last: date) -> Iterator[date]:
    """Every day from ``first`` to ``last``, both included."""
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)


class DatedDocs:
    """Documents of one kind, each keyed by its date (``<kind>/<YYYY-MM-DD>/<id>``).

    A pointer row per id (``<kind>@/<id>``) remembers where the document is, so that
    events naming only the id find it, and a change of date moves it. A document
    whose date is not known yet lives under ``<kind>/undated/<id>``.
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._at = f"{kind}@"

    def get(self, rows: RowsReader, ident: str) -> Doc | None:
        """The document of ``ident``, to change and `put` back (see `editable`), or None."""
        pointer = rows.get(key(self._at, ident))
        return None if pointer is None else editable(rows, pointer["key"])

    def put(self, rows: Rows, ident: str, day: str | None, doc: Doc) -> None:
        """Store the document of ``ident`` under ``day``, moving it if its day changed."""
        where = key(self.kind, day or "undated", ident)
        pointer_key = key(self._at, ident)
        pointer = rows.get(pointer_key)
        if pointer is None or pointer["key"] != where:
            if pointer is not None:
                rows.delete(pointer["key"])
            rows.put(pointer_key, {"key": where})
        rows.put(where, doc)

    def delete(self, rows: Rows, ident: str) -> None:
        """Forget the document of ``ident``."""
        pointer_key = key(self._at, ident)
        pointer = rows.get(pointer_key)
        if pointer is not None:
            rows.delete(pointer["key"])
            rows.delete(pointer_key)

    def between(self, rows: RowsReader, first: date, last: date) -> Iterator[Doc]:
        """The documents dated in the months from ``first`` to ``last`` (filter the days)."""
        for month in months(first, last):
            for _, doc in rows.scan(f"{self.kind}/{month}-"):
                yield doc


_NONE: Mapping[str, int] = MappingProxyType({})


def shift(rows: Rows, old: Contribution, new: Contribution) -> None:
    """Replace a thing's contribution ``old`` by ``new`` in the summary rows' ``counts``.

    Counters that reach zero are dropped, so a summary row equals the sum of the
    contributions of the things it summarises, whatever order they changed in.
    """
    for row_key, after in new.items():
        before = old.get(row_key, _NONE)
        if before != after:
            _move(rows, row_key, before, after)
    for row_key, before in old.items():
        if row_key not in new and before:
            _move(rows, row_key, before, _NONE)


def _move(rows: Rows, row_key: str, before: Mapping[str, int], after: Mapping[str, int]) -> None:
    """Take the counters ``before`` out of one summary row and put ``after`` in."""
    edit: Callable[[str], Doc] | None = getattr(rows, "edit", None)
    if edit is not None:  # owned: change the counters where they lie
        doc = edit(row_key)
        counts: Counts = doc.setdefault("counts", {})
    else:
        found = rows.get(row_key)
        doc = dict(found) if found is not None else {}  # only its counts change: copy them
        counts = dict(doc.get("counts", _NONE))
    for counter, value in after.items():
        change = value - before.get(counter, 0)
        if change:
            _add(counts, counter, change)
    for counter, value in before.items():
        if value and counter not in after:
            _add(counts, counter, -value)
    doc["counts"] = counts
    rows.put(row_key, doc)


def _add(counts: Counts, counter: str, change: int) -> None:
    value = counts.get(counter, 0) + change
    if value:
        counts[counter] = value
    else:
        counts.pop(counter, None)


def bump(rows: Rows, row_key: str, counter: str, change: int) -> None:
    """Add ``change`` to one counter of a summary row (what `shift` does for one counter).

    For a change known to move only that counter of a thing's contribution, without
    computing the contribution before and after.
    """
    _move(rows, row_key, _NONE, {counter: change})


def revise(
    rows: Rows,
    doc_key: str,
    change: Callable[[Doc], None],
    contribution: Callable[[Doc], Contribution],
) -> Doc:
    """Change the document under ``doc_key`` and move its contribution to the summaries.

    Over rows that settle a page at once (a rebuild's `rotation_domain.rebuild.BatchRows`
    has ``settling``), the contribution is moved once a page, from the document's state
    before the page's first change to its state when the page is taken.
    """
    settling: dict[str, Callable[[], None]] | None = getattr(rows, "settling", None)
    before = rows.get(doc_key)
    if settling is not None:
        if doc_key not in settling:
            old = contribution(before) if before is not None else {}
            settling[doc_key] = functools.partial(_settle, rows, doc_key, old, contribution)
        doc = {} if before is None else before  # such rows hand out documents to change
        change(doc)
        rows.put(doc_key, doc)
        return doc
    old = contribution(before) if before is not None else {}  # before the change, in place
    doc = editable(rows, doc_key)
    change(doc)
    rows.put(doc_key, doc)
    shift(rows, old, contribution(doc))
    return doc


def settles_by_page(rows: RowsReader) -> bool:
    """Whether `revise` moves contributions once a page over these rows.

    Then a document with a contribution must change only through `revise`: a counter
    moved directly as well (`bump`) would be counted twice.
    """
    return getattr(rows, "settling", None) is not None


def _settle(
    rows: Rows, doc_key: str, old: Contribution, contribution: Callable[[Doc], Contribution]
) -> None:
    """Move a document's contribution from ``old`` to what its current state gives."""
    doc = rows.get(doc_key)
    shift(rows, old, contribution(doc) if doc is not None else {})


def counts_of(doc: Doc | None) -> Counts:
    """The counters of a summary row."""
    return dict(doc.get("counts", {})) if doc is not None else {}


def tagged(counts: Counts, tag: str) -> dict[str, int]:
    """The counters named ``<tag>:<name>``, by name (for example participants hosted)."""
    prefix = f"{tag}:"
    return {name[len(prefix) :]: n for name, n in counts.items() if name.startswith(prefix)}
