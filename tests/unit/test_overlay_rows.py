"""The page overlay of the general catch-up: documents handed out to change, and undo."""

from __future__ import annotations

from collections.abc import Iterator

import orjson

from rotation_domain.consumers import Doc
from rotation_domain.runners import OverlayRows


class Committed:
    """Committed rows that hand out a new document at each read, as `CachedRows` does."""

    def __init__(self, docs: dict[str, Doc]) -> None:
        self.texts = {key: orjson.dumps(doc) for key, doc in docs.items()}

    def get(self, key: str) -> Doc | None:
        text = self.texts.get(key)
        return None if text is None else dict(orjson.loads(text))

    def scan(self, prefix: str = "") -> Iterator[tuple[str, Doc]]:
        for key in sorted(self.texts):
            if key.startswith(prefix):
                yield key, dict(orjson.loads(self.texts[key]))


def test_a_committed_document_is_handed_out_as_the_new_copy_read() -> None:
    rows = OverlayRows(Committed({"a": {"n": 1}}))
    rows.begin()
    doc = rows.edit("a")
    doc["n"] = 2
    assert rows.get("a") == {"n": 1}  # not put yet: the committed row is unchanged
    rows.put("a", doc)
    assert rows.get("a") == {"n": 2}
    assert rows.edit("missing") == {}


def test_a_document_put_by_this_event_is_changed_where_it_lies() -> None:
    rows = OverlayRows(Committed({}))
    rows.begin()
    doc = rows.edit("a")
    doc["n"] = 1
    rows.put("a", doc)
    assert rows.edit("a") is doc
    rows.undo()
    assert rows.get("a") is None


def test_a_document_of_an_earlier_event_is_copied_so_undo_gives_it_back() -> None:
    rows = OverlayRows(Committed({}))
    rows.begin()
    first = rows.edit("a")
    first["n"] = 1
    rows.put("a", first)
    rows.begin()  # the next event
    doc = rows.edit("a")
    assert doc is not first
    doc["n"] = 2
    rows.put("a", doc)
    assert rows.edit("a") is doc  # now this event's own
    rows.undo()  # the event failed
    assert rows.get("a") == {"n": 1}
    assert first == {"n": 1}


def test_a_shared_document_put_back_unchanged_is_still_copied() -> None:
    rows = OverlayRows(Committed({}))
    rows.begin()
    rows.put("a", {"n": 1})
    rows.begin()
    shared = rows.get("a")
    assert shared is not None
    rows.put("a", shared)  # put back as read: the journal holds the same object
    doc = rows.edit("a")
    assert doc is not shared
    doc["n"] = 2
    rows.put("a", doc)
    rows.undo()
    assert rows.get("a") == {"n": 1}


def test_a_deleted_document_is_edited_as_a_new_one() -> None:
    rows = OverlayRows(Committed({"a": {"n": 1}}))
    rows.begin()
    rows.delete("a")
    assert rows.edit("a") == {}
    rows.undo()
    assert rows.get("a") == {"n": 1}
