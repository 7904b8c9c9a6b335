"""Each message kind arrives at a real SMTP server with the right recipients and content."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from rotation_domain.testing import given

import rotation_email


def planned_and_nominated(program):
    rotation = program.plan_rotation(
        "E1", host_department="FIN", start="2027-01-04", end="2027-01-29"
    )
    mentorship = program.nominate_mentor(rotation, mentor="M1")
    return rotation, mentorship


def test_a_nominated_mentor_is_asked_to_agree(register_plugin, smtp_server, company_step):
    program = register_plugin(rotation_email, settings=smtp_server.settings())
    given(program, company_step, planned_and_nominated)

    asked = smtp_server.mailbox.one("mentor_nominated")
    assert asked.rcpt_tos == ["m1@example.com"]
    assert asked.mail_from == "rotation@example.com"
    assert asked.message["Subject"] == "Will you mentor Ada Lovelace in Finance?"
    assert str(asked.message["To"]) == "Grace Hopper <m1@example.com>"
    assert "Dear Grace Hopper," in asked.text()
    assert "Mon 4 Jan 2027 to Fri 29 Jan 2027" in asked.text()
    assert "nominated by cio@example.com" in asked.text()
    assert asked.html() is None


def test_the_participant_and_their_manager_are_told_the_mentor_agreed(
    register_plugin, smtp_server, company_step
):
    program = register_plugin(rotation_email, settings=smtp_server.settings())
    _, (_, mentorship) = given(program, company_step, planned_and_nominated)

    program.accept_mentorship(mentorship, actor="M1")

    agreed = smtp_server.mailbox.one("mentor_agreed")
    assert agreed.rcpt_tos == ["b1@example.com", "e1@example.com"]
    assert str(agreed.message["To"]) == "Ada Lovelace <e1@example.com>"
    assert str(agreed.message["Cc"]) == "Barbara Liskov <b1@example.com>"
    assert agreed.message["Subject"] == "Grace Hopper will mentor Ada Lovelace in Finance"
    assert "copied to your manager, Barbara Liskov" in agreed.text()


def test_the_mentor_is_invited_to_the_briefing(register_plugin, smtp_server, company_step):
    program = register_plugin(rotation_email, settings=smtp_server.settings())
    _, (_, mentorship) = given(program, company_step, planned_and_nominated)

    program.brief_mentor(mentorship, on="2027-01-02", actor="cio@example.com")

    invitation = smtp_server.mailbox.one("mentor_briefing")
    assert invitation.rcpt_tos == ["m1@example.com"]
    assert invitation.message["Subject"] == "Mentor briefing on Sat 2 Jan 2027"
    [calendar] = invitation.calendars()
    assert calendar["METHOD"] == "REQUEST"
    [event] = calendar.walk("VEVENT")
    assert event.decoded("DTSTART") == date(2027, 1, 2)
    assert str(event["UID"]) == f"briefing-{mentorship}@example.com"


def test_an_adopted_improvement_is_answered_with_thanks(register_plugin, smtp_server, company_step):
    program = register_plugin(rotation_email, settings=smtp_server.settings())
    _, (rotation, mentorship) = given(program, company_step, planned_and_nominated)
    program.accept_mentorship(mentorship, actor="M1")
    program.start_rotation(rotation, on="2027-01-04", actor="cio@example.com")
    improvement = program.propose_improvement(
        rotation, title="Route invoices automatically", actor="E1"
    )

    program.adopt_improvement(improvement, on="2027-02-15", actor="M1")

    thanks = smtp_server.mailbox.one("improvement_adopted")
    assert thanks.rcpt_tos == ["b1@example.com", "e1@example.com"]
    assert thanks.message["Subject"] == (
        'Thank you: "Route invoices automatically" was adopted by Finance'
    )
    assert "on Mon 15 Feb 2027 (decided by\nM1)" in thanks.text()


def test_a_review_cycle_calls_on_the_it_staff_with_no_rotation_planned(
    register_plugin, smtp_server, company_step
):
    program = register_plugin(rotation_email, settings=smtp_server.settings())
    given(program, company_step, planned_and_nominated)
    program.plan_rotation(
        "E2", host_department="OPS", start="2026-03-01", end="2026-03-20", actor="cio@example.com"
    )  # outside the cycle: E2 still owes one

    program.open_review_cycle("2027", start="2027-01-01", end="2027-12-31", actor="cio@example.com")

    called = smtp_server.mailbox.of_kind("cycle_opened")
    assert [each.rcpt_tos for each in called] == [
        ["b1@example.com"],  # B1 is IT staff too, with no manager on record
        ["b1@example.com", "e2@example.com"],
        ["b1@example.com", "e3@example.com"],
    ]
    assert called[1].message["Subject"] == "Review cycle 2027: plan your rotation"
    assert "Please agree one with your manager, Barbara Liskov." in called[1].text()
    assert "not on record" in called[0].text()
    assert len({each.message_id for each in called}) == 3


def test_a_company_template_overrides_the_shipped_one_and_adds_html(
    register_plugin, smtp_server, company_step, tmp_path: Path
):
    (tmp_path / "mentor_nominated.txt").write_text(
        "Subject: [ACME] Mentor request for $participant_name\n\n"
        "Hello $mentor_name, ACME needs you from $start.\n",
        encoding="utf-8",
    )
    (tmp_path / "mentor_nominated.html").write_text(
        "<p>Hello <b>$mentor_name</b>, please guide $participant_name.</p>", encoding="utf-8"
    )
    settings = smtp_server.settings(ROTATION_SMTP_TEMPLATES=str(tmp_path))
    program = register_plugin(rotation_email, settings=settings)
    given(program, company_step)
    program.register_employee(
        "E9", name="Bob <script>", email="e9@example.com", department="IT", actor="hr"
    )
    rotation = program.plan_rotation(
        "E9", host_department="FIN", start="2027-01-04", end="2027-01-29", actor="cio"
    )

    program.nominate_mentor(rotation, mentor="M1", actor="cio")

    asked = smtp_server.mailbox.one("mentor_nominated")
    assert asked.message["Subject"] == "[ACME] Mentor request for Bob <script>"
    assert asked.text() == "Hello Grace Hopper, ACME needs you from Mon 4 Jan 2027.\n"
    assert asked.html() == ("<p>Hello <b>Grace Hopper</b>, please guide Bob &lt;script&gt;.</p>\n")
    # the kinds the company did not override keep the shipped templates
    program.open_review_cycle("2027", start="2027-01-01", end="2027-12-31", actor="cio")
    assert smtp_server.mailbox.of_kind("cycle_opened")[0].message["Subject"] == (
        "Review cycle 2027: plan your rotation"
    )


def test_a_template_with_an_unknown_placeholder_fails_the_plugin_when_the_program_opens(
    register_plugin, smtp_server, tmp_path: Path
):
    (tmp_path / "mentor_agreed.txt").write_text(
        "Subject: Agreed\n\nDear $participant_name, $salary\n", encoding="utf-8"
    )
    program = register_plugin(
        rotation_email, settings=smtp_server.settings(ROTATION_SMTP_TEMPLATES=str(tmp_path))
    )

    [info] = [info for info in program.plugins() if info.name == "rotation_email"]
    assert info.status == "failed"
    assert "uses unknown placeholders salary" in info.error
    assert "email" not in {status.name for status in program.consumer_status()}


def test_without_an_smtp_host_the_plugin_sends_nothing_and_adds_no_integration(register_plugin):
    program = register_plugin(rotation_email)

    assert [s.name for s in program.consumer_status() if s.kind == "integration"] == []


def test_message_ids_are_derived_from_the_idempotency_key(
    register_plugin, smtp_server, company_step
):
    first = register_plugin(rotation_email, settings=smtp_server.settings())
    given(first, company_step, planned_and_nominated)
    second = register_plugin(rotation_email, settings=smtp_server.settings())
    given(second, company_step, planned_and_nominated)

    one, two = smtp_server.mailbox.of_kind("mentor_nominated")
    key = one.message["X-Rotation-Idempotency-Key"]
    assert key == two.message["X-Rotation-Idempotency-Key"]
    assert (
        one.message_id
        == two.message_id
        == rotation_email.message_id_for(key, "mentor", "example.com")
    )
    assert one.message_id.endswith("@example.com>")


def test_a_forgotten_manager_is_no_longer_written_to(register_plugin, smtp_server, company_step):
    program = register_plugin(rotation_email, settings=smtp_server.settings())
    given(program, company_step)
    program.forget_employee("B1", reason="erasure request 2027-1", actor="cio@example.com")
    [(_, mentorship)] = given(program, planned_and_nominated)

    program.accept_mentorship(mentorship, actor="M1")

    agreed = smtp_server.mailbox.one("mentor_agreed")
    assert agreed.rcpt_tos == ["e1@example.com"]  # no copy to the forgotten manager
    assert agreed.message["Cc"] is None
    assert "[forgotten]" not in agreed.text()
    assert [s.parked for s in program.consumer_status() if s.name == "email"] == [0]
