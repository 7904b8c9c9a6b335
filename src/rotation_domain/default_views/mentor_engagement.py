"""The mentor engagement view (R4-R6): what each mentor agreed to, was briefed on and drove.

One document per mentorship, and one summary row of counters per mentor that always
equals the sum of that mentor's mentorships (see `_base.revise`), so a query reads one
row per mentor however long the program has run.
"""

from __future__ import annotations

import functools
from types import MappingProxyType
from urllib.parse import unquote

import attrs

from rotation_domain.consumers import Doc, Envelope, Rows, RowsReader, id_text
from rotation_domain.default_views._base import (
    Contribution,
    HandlerView,
    bump,
    counts_of,
    editable,
    key,
    revise,
    settles_by_page,
    tagged,
    topic,
)

__all__ = ["MentorEngagementView", "MentorRow"]

_FLAGS = {
    "MentorAgreed": ("agreed",),
    "MentorDeclined": ("declined", "ended"),
    "MentorBriefed": ("briefed",),
    "MentorshipConcluded": ("concluded", "ended"),
    "MentorshipReleased": ("ended",),
}
_COUNTED = ("agreed", "declined", "briefed", "concluded")


@attrs.frozen
class MentorRow:
    """One mentor's engagement over the whole program.

    Attributes:
        mentor: The mentor's employee code.
        nominated: Mentorships the mentor was nominated for.
        agreed: Of those, how many the mentor agreed to.
        declined: How many the mentor declined.
        briefed: How many the CIO's office briefed the mentor for (R5).
        concluded: How many the mentor concluded with feedback.
        discussion_sessions: Discussion sessions held (R6).
        reading_sessions: Reading sessions assigned (R6).
        hands_on_sessions: Hands-on sessions held (R6).
        current_mentees: The participants of the mentor's open mentorships (nominated
            or agreed, for a rotation neither completed nor cancelled), by code.
    """

    mentor: str
    nominated: int
    agreed: int
    declined: int
    briefed: int
    concluded: int
    discussion_sessions: int
    reading_sessions: int
    hands_on_sessions: int
    current_mentees: tuple[str, ...]

    @property
    def sessions(self) -> int:
        """Sessions of every kind."""
        return self.discussion_sessions + self.reading_sessions + self.hands_on_sessions


def _contribution(mentorship: Doc) -> Contribution:
    """What one mentorship adds to its mentor's counters."""
    mentor = mentorship.get("mentor")
    if mentor is None:
        return {}
    counts = {"nominated": 1}
    for flag in _COUNTED:
        if mentorship.get(flag):
            counts[flag] = 1
    sessions = mentorship.get("sessions")
    if sessions:
        for kind, n in sessions.items():
            counts[_session_counter(kind)] = n
    if not mentorship.get("ended") and not mentorship.get("rotation_finished"):
        counts[f"mentee:{mentorship.get('participant', '')}"] = 1
    return {key("mentor", mentor): counts}


@functools.lru_cache(maxsize=64)
def _session_counter(kind: str) -> str:
    return f"session:{kind}"


def _mentorship(rows: Rows, ident: str, change: dict[str, object]) -> None:
    revise(rows, key("mentorship", ident), lambda doc: doc.update(change), _contribution)


def _nominated(envelope: Envelope, rows: Rows) -> None:
    event, ident = envelope.event, envelope.originator_key
    rotation_key = key("rotation", id_text(event.rotation_id))
    rotation = editable(rows, rotation_key)
    rotation["mentorships"] = sorted({*rotation.get("mentorships", []), ident})
    rows.put(rotation_key, rotation)
    change = {
        "mentor": event.mentor,
        "participant": event.participant,
        "rotation_id": id_text(event.rotation_id),
        "rotation_finished": bool(rotation.get("finished")),
    }
    _mentorship(rows, ident, change)


def _flagged(envelope: Envelope, rows: Rows) -> None:
    _mentorship(rows, envelope.originator_key, dict.fromkeys(_FLAGS[envelope.name], True))


def _session(envelope: Envelope, rows: Rows) -> None:
    """A session held: one more of its kind for the mentorship and for its mentor.

    Only that counter of the mentorship's contribution moves, so the mentor's row is
    bumped directly (what `revise` would find, without computing both contributions),
    except over rows that settle contributions once a page.
    """
    kind = str(envelope.event.kind)
    doc_key = key("mentorship", envelope.originator_key)
    if settles_by_page(rows):
        revise(rows, doc_key, functools.partial(_one_more, kind), _contribution)
        return
    doc = editable(rows, doc_key)
    _one_more(kind, doc)
    rows.put(doc_key, doc)
    mentor = doc.get("mentor")
    if mentor is not None:
        bump(rows, key("mentor", mentor), _session_counter(kind), 1)


def _one_more(kind: str, mentorship: Doc) -> None:
    sessions = mentorship.setdefault("sessions", {})
    sessions[kind] = sessions.get(kind, 0) + 1


def _rotation_finished(envelope: Envelope, rows: Rows) -> None:
    """A completed or cancelled rotation's mentorships no longer give current mentees."""
    rotation_key = key("rotation", envelope.originator_key)
    rotation = editable(rows, rotation_key)
    rotation["finished"] = True
    rows.put(rotation_key, rotation)
    for ident in rotation.get("mentorships", []):
        _mentorship(rows, ident, {"rotation_finished": True})


_HANDLERS = {
    topic("MentorNominated"): _nominated,
    topic("MentorAgreed"): _flagged,
    topic("MentorDeclined"): _flagged,
    topic("MentorBriefed"): _flagged,
    topic("MentorSessionHeld"): _session,
    topic("MentorshipConcluded"): _flagged,
    topic("MentorshipReleased"): _flagged,
    topic("RotationCompleted"): _rotation_finished,
    topic("RotationCancelled"): _rotation_finished,
}


def _row(row_key: str, doc: Doc) -> MentorRow:
    counts = counts_of(doc)
    sessions = tagged(counts, "session")
    return MentorRow(
        mentor=unquote(row_key.split("/", 1)[1]),
        nominated=counts.get("nominated", 0),
        agreed=counts.get("agreed", 0),
        declined=counts.get("declined", 0),
        briefed=counts.get("briefed", 0),
        concluded=counts.get("concluded", 0),
        discussion_sessions=sessions.get("discussion", 0),
        reading_sessions=sessions.get("reading", 0),
        hands_on_sessions=sessions.get("hands-on", 0),
        current_mentees=tuple(sorted(tagged(counts, "mentee"))),
    )


class MentorEngagementView(HandlerView):
    """R4-R6: per mentor, nominations, agreements, briefings, sessions and mentees."""

    name = "mentor_engagement"
    version = 1
    handlers = MappingProxyType(_HANDLERS)
    topics = frozenset(_HANDLERS)

    def query(self, reader: RowsReader) -> tuple[MentorRow, ...]:
        """Every mentor ever nominated, by code.

        Args:
            reader: The view's rows.

        Returns:
            One row per mentor.
        """
        rows = (_row(row_key, doc) for row_key, doc in reader.scan("mentor/"))
        return tuple(sorted(rows, key=lambda row: row.mentor))
