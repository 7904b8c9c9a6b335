"""Calendar invitations: a rotation window keeps its UID, raises SEQUENCE, and is cancelled."""

from __future__ import annotations

from datetime import date

from rotation_domain.testing import given

import rotation_email


def test_a_rotation_window_is_offered_moved_and_withdrawn_under_one_uid(
    register_plugin, smtp_server, company_step
):
    program = register_plugin(rotation_email, settings=smtp_server.settings())
    given(program, company_step)
    with program.acting_as("cio@example.com"):
        rotation = program.plan_rotation(
            "E1", host_department="FIN", start="2027-01-04", end="2027-01-29"
        )
        program.nominate_mentor(rotation, mentor="M1")
        program.reschedule_rotation(rotation, start="2027-02-01", end="2027-02-26")
        program.cancel_rotation(rotation, reason="Needed back in IT for the migration")

    mailbox = smtp_server.mailbox
    planned = mailbox.one("rotation_planned")
    moved = mailbox.one("rotation_rescheduled")
    cancelled = mailbox.one("rotation_cancelled")
    assert planned.rcpt_tos == ["e1@example.com"]  # no mentor yet
    assert moved.rcpt_tos == cancelled.rcpt_tos == ["e1@example.com", "m1@example.com"]
    assert moved.message["Subject"] == (
        "Rotation in Finance moved: now Mon 1 Feb 2027 to Fri 26 Feb 2027"
    )
    assert "cancelled: Needed back in IT for the migration" in cancelled.text()

    [first], [second], [third] = (m.calendars() for m in (planned, moved, cancelled))
    events = [calendar.walk("VEVENT")[0] for calendar in (first, second, third)]
    assert {str(event["UID"]) for event in events} == {f"rotation-{rotation}@example.com"}
    sequences = [int(event["SEQUENCE"]) for event in events]
    assert sequences[0] == 0
    assert sequences[0] < sequences[1] < sequences[2]
    assert [str(calendar["METHOD"]) for calendar in (first, second, third)] == [
        "REQUEST",
        "REQUEST",
        "CANCEL",
    ]
    assert str(events[2]["STATUS"]) == "CANCELLED"
    assert events[0].decoded("DTSTART") == date(2027, 1, 4)
    assert events[0].decoded("DTEND") == date(2027, 1, 30)  # exclusive: the 29th is included
    assert events[1].decoded("DTSTART") == date(2027, 2, 1)
    assert sorted(str(a) for a in events[1].get("ATTENDEE")) == [
        "mailto:e1@example.com",
        "mailto:m1@example.com",
    ]
    assert str(events[0]["ORGANIZER"]) == "mailto:rotation@example.com"
    attachment = next(p for p in cancelled.message.walk() if p.get_filename() == "invite.ics")
    assert attachment.get_param("method") == "CANCEL"


def test_a_mentor_session_is_sent_as_a_calendar_entry_to_both(
    register_plugin, smtp_server, company_step
):
    program = register_plugin(rotation_email, settings=smtp_server.settings())
    given(program, company_step)
    with program.acting_as("cio@example.com"):
        rotation = program.plan_rotation(
            "E1", host_department="FIN", start="2027-01-04", end="2027-01-29"
        )
        mentorship = program.nominate_mentor(rotation, mentor="M1")
        program.accept_mentorship(mentorship, actor="M1")
        program.start_rotation(rotation, on="2027-01-04")
    for day in ("2027-01-06", "2027-01-13"):
        program.hold_mentor_session(
            mentorship, kind="discussion", on=day, topic="Month-end close", actor="M1"
        )

    first, second = smtp_server.mailbox.of_kind("mentor_session")
    assert first.rcpt_tos == ["e1@example.com", "m1@example.com"]
    assert first.message["Subject"] == (
        "Mentor session (discussion) on Wed 6 Jan 2027: Month-end close"
    )
    [one], [two] = first.calendars(), second.calendars()
    event_one, event_two = one.walk("VEVENT")[0], two.walk("VEVENT")[0]
    assert event_one.decoded("DTSTART") == date(2027, 1, 6)
    assert str(event_one["UID"]) != str(event_two["UID"])  # two sessions, two entries
    assert str(event_one["SUMMARY"]) == "Mentor session (discussion): Month-end close"
