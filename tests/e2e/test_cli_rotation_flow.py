"""One rotation from plan to payback through the ``rotation`` command, then the read models.

Every command family of domain.md runs as a user runs it: the installed console script
in a subprocess on a SQLite file, ``--as`` naming who acts, ids passed from one command's
output to the next.
"""

from __future__ import annotations

from uuid import UUID

import pytest
from e2e_cli import Cli

from rotation_domain import open_program


def recorded(store: str) -> list[tuple[str, str]]:
    """Every event in the store, oldest first, as (event name, actor)."""
    found = []
    with open_program(store, inline=False) as program:
        start = 1
        while page := program.app.notification_log.select(start=start, limit=500):
            for notification in page:
                event = program.app.mapper.to_domain_event(notification)
                found.append((notification.topic.rsplit(":", 1)[-1], getattr(event, "actor", "")))
            start = page[-1].id + 1
    return found


@pytest.fixture
def started(company: Cli) -> tuple[Cli, str, str]:
    """E1's rotation into FIN in February 2027, mentored by M1, started."""
    rotation = company.ok(
        "plan", "E1", "--host", "FIN", "--start", "2027-02-01", "--end", "2027-02-26", actor="cio"
    )
    mentorship = company.ok("nominate", rotation, "--mentor", "M1", actor="cio")
    company.ok("accept", mentorship, actor="M1")
    company.ok("brief", mentorship, "--on", "2027-01-28", actor="cio")
    company.ok("start", rotation, "--on", "2027-02-01", actor="cio")
    return company, rotation, mentorship


def test_a_rotation_runs_from_plan_to_payback_and_every_view_shows_it(
    started: tuple[Cli, str, str],
) -> None:
    cli, rotation, mentorship = started
    assert UUID(rotation)
    assert UUID(mentorship)
    for kind, day in (("discussion", "03"), ("reading", "05"), ("hands-on", "10")):
        cli.ok(
            "session",
            mentorship,
            "--kind",
            kind,
            "--on",
            f"2027-02-{day}",
            "--topic",
            "Close",
            actor="M1",
        )
    cli.ok("observe", rotation, "Invoices are keyed twice", "--on", "2027-02-04", actor="E1")
    improvement = cli.ok(
        "propose", rotation, "--title", "Scan invoices", "--on", "2027-02-20", actor="E1"
    )
    cli.ok("complete", rotation, "--on", "2027-02-26", actor="cio")
    cli.ok("adopt", improvement, "--on", "2027-03-10", actor="M1")
    cli.ok("conclude", mentorship, "--feedback", "A fine month", actor="M1")

    participation = cli.json("participation", "2027")
    assert [(r["employee"], r["status"], r["rotation_id"]) for r in participation] == [
        ("E1", "met", rotation),
        ("E2", "none-planned", None),
    ]
    [mentor] = cli.json("mentor-engagement")
    assert mentor == {
        "mentor": "M1",
        "nominated": 1,
        "agreed": 1,
        "declined": 0,
        "briefed": 1,
        "concluded": 1,
        "discussion_sessions": 1,
        "reading_sessions": 1,
        "hands_on_sessions": 1,
        "current_mentees": [],
    }
    pipeline = cli.json("improvement-pipeline")
    [row] = pipeline["improvements"]
    assert (row["improvement_id"], row["status"], row["proposed_on"], row["decided_on"]) == (
        improvement,
        "adopted",
        "2027-02-20",
        "2027-03-10",
    )
    assert row["days_to_adoption"] == 18
    assert pipeline["departments"][0]["adoption_rate"] == 1.0
    bridges = {r["department"]: r for r in cli.json("department-bridges")}
    assert bridges["FIN"]["rotations_completed"] == 1
    assert bridges["FIN"]["observations"] == 1
    assert bridges["FIN"]["improvements_adopted"] == 1
    assert bridges["OPS"]["rotations_hosted"] == 0
    capacity = cli.json("capacity", "--on", "2027-02-10")
    assert capacity["day"] == "2027-02-10"
    assert capacity["program"] == {"subject": "program", "count": 1, "cap": 2}
    assert [a["participant"] for a in capacity["away"]] == ["E1"]
    shown = cli.json("show", rotation)
    assert (shown["kind"], shown["status"], shown["mentor"]) == ("rotation", "completed", "M1")
    assert shown["observations"] == [{"text": "Invoices are keyed twice", "on": "2027-02-04"}]
    listed = cli.json("rotations")
    assert [(r["id"], r["start"], r["end"]) for r in listed] == [
        (rotation, "2027-02-01", "2027-02-26")
    ]

    table = cli.ok("participation")
    assert "met" in table
    assert "E1" in table


def test_as_names_the_actor_recorded_on_each_event(started: tuple[Cli, str, str]) -> None:
    cli, rotation, mentorship = started
    cli.ok("observe", rotation, "Paper forms", actor="E1")
    cli.ok(
        "session",
        mentorship,
        "--kind",
        "reading",
        "--on",
        "2027-02-02",
        "--topic",
        "AP",
        env={"ROTATION_ACTOR": "M1"},
    )

    actors = dict(recorded(cli.store or ""))

    assert actors["RotationPlanned"] == "cio"
    assert actors["MentorAgreed"] == "M1"
    assert actors["ObservationRecorded"] == "E1"
    assert actors["MentorSessionHeld"] == "M1"


def test_a_rotation_longer_than_the_policy_allows_is_refused_with_exit_4_and_records_nothing(
    company: Cli,
) -> None:
    before = recorded(company.store or "")

    line = company.refused(
        4,
        "plan",
        "E1",
        "--host",
        "FIN",
        "--start",
        "2027-02-01",
        "--end",
        "2027-03-12",
        actor="cio",
    )

    assert line == (
        "rotation plan: refused [R2]: RotationTooLong: a rotation from 2027-02-01 to "
        "2027-03-12 lasts 40 days; the program allows at most 31 (R2: at most a month away)"
    )
    assert recorded(company.store or "") == before


def test_debug_shows_the_traceback_of_a_refusal(company: Cli) -> None:
    done = company(
        "--debug",
        "plan",
        "E1",
        "--host",
        "IT",
        "--start",
        "2027-02-01",
        "--end",
        "2027-02-10",
        actor="cio",
    )

    assert done.returncode == 4
    assert "Traceback" in done.stderr
    assert "HostDepartmentNotEligible" in done.stderr.strip().splitlines()[-1]


def test_the_caps_refuse_a_second_guest_and_a_busy_mentor(started: tuple[Cli, str, str]) -> None:
    cli, _, _ = started
    line = cli.refused(
        4,
        "plan",
        "E2",
        "--host",
        "FIN",
        "--start",
        "2027-02-15",
        "--end",
        "2027-03-05",
        actor="cio",
    )
    assert "HostDepartmentFull" in line
    assert "[R9]" in line

    other = cli.ok(
        "plan", "E2", "--host", "OPS", "--start", "2027-02-15", "--end", "2027-03-05", actor="cio"
    )
    assert "MentorNotInHostDepartment" in cli.refused(
        4, "nominate", other, "--mentor", "M1", actor="cio"
    )
    assert "OverlappingRotation" in cli.refused(
        4,
        "plan",
        "E1",
        "--host",
        "OPS",
        "--start",
        "2027-02-20",
        "--end",
        "2027-03-01",
        actor="cio",
    )


def test_starting_without_an_agreed_mentor_and_completing_without_payback_are_refused(
    company: Cli,
) -> None:
    rotation = company.ok(
        "plan", "E2", "--host", "OPS", "--start", "2027-04-05", "--end", "2027-04-30", actor="cio"
    )
    assert "MentorNotAgreed" in company.refused(
        4, "start", rotation, "--on", "2027-04-05", actor="cio"
    )

    mentorship = company.ok("nominate", rotation, "--mentor", "M2", actor="cio")
    company.ok("accept", mentorship, actor="M2")
    company.ok("start", rotation, "--on", "2027-04-05", actor="cio")
    assert "ImprovementRequired" in company.refused(
        4, "complete", rotation, "--on", "2027-04-30", actor="cio"
    )
    assert "OutsideRotationWindow" in company.refused(
        4,
        "session",
        mentorship,
        "--kind",
        "discussion",
        "--on",
        "2027-05-10",
        "--topic",
        "x",
        actor="M2",
    )


def test_unknown_things_are_not_found_with_exit_3(company: Cli) -> None:
    assert "UnknownEmployee" in company.refused(
        3,
        "plan",
        "E9",
        "--host",
        "FIN",
        "--start",
        "2027-02-01",
        "--end",
        "2027-02-10",
        actor="cio",
    )
    assert "UnknownDepartment" in company.refused(
        3,
        "plan",
        "E1",
        "--host",
        "XX",
        "--start",
        "2027-02-01",
        "--end",
        "2027-02-10",
        actor="cio",
    )
    missing = "00000000-0000-0000-0000-000000000001"
    assert "UnknownId" in company.refused(3, "start", missing, "--on", "2027-02-01", actor="cio")
    assert "UnknownId" in company.refused(3, "show", missing)
    assert "InvalidInput" in company.refused(2, "show", "not-an-id")


def test_decline_reschedule_reject_withdraw_and_cancel(company: Cli) -> None:
    rotation = company.ok(
        "plan", "E2", "--host", "OPS", "--start", "2027-05-03", "--end", "2027-05-28", actor="cio"
    )
    mentorship = company.ok("nominate", rotation, "--mentor", "M2", actor="cio")
    company.ok("decline", mentorship, "--reason", "on leave", actor="M2")
    assert company.json("show", mentorship)["status"] == "declined"

    company.ok("reschedule", rotation, "--start", "2027-05-10", "--end", "2027-05-28", actor="cio")
    shown = company.json("show", rotation)
    assert (shown["start"], shown["end"]) == ("2027-05-10", "2027-05-28")

    again = company.ok("nominate", rotation, "--mentor", "M2", actor="cio")
    company.ok("accept", again, actor="M2")
    company.ok("start", rotation, "--on", "2027-05-10", actor="cio")
    first = company.ok("propose", rotation, "--title", "Shift planner", actor="E2")
    second = company.ok("propose", rotation, "--title", "Stock scanner", actor="E2")
    company.ok("withdraw", second, "--reason", "merged", actor="E2")
    company.ok("reject", first, "--reason", "no budget", "--on", "2027-05-20", actor="M2")
    line = company.refused(6, "adopt", first, "--on", "2027-05-21", actor="M2")
    assert line.startswith("rotation adopt: refused: InvalidTransition:")
    assert "already rejected" in line

    statuses = {
        i["improvement_id"]: i["status"]
        for i in company.json("improvement-pipeline")["improvements"]
    }
    assert statuses == {first: "rejected", second: "withdrawn"}

    company.ok("cancel", rotation, "--reason", "incident at home", actor="cio")
    assert company.json("show", rotation)["status"] == "cancelled"
    assert company.json("rotations") == []
    assert "InvalidTransition" in company.refused(
        6, "start", rotation, "--on", "2027-05-10", actor="cio"
    )


def test_rebuild_replays_the_log_with_a_progress_bar_and_the_views_answer_the_same(
    started: tuple[Cli, str, str],
) -> None:
    cli, _, _ = started
    before = cli.json("participation", "2027"), cli.json("mentor-engagement")

    done = cli("rebuild")
    assert done.returncode == 0, done.stderr
    assert "rebuilt" in done.stderr
    assert "rebuilding" in done.stderr
    single = cli("rebuild", "participation")
    assert single.returncode == 0, single.stderr
    assert (cli.json("participation", "2027"), cli.json("mentor-engagement")) == before
    shared = cli("rebuild", "--workers", "3")
    assert shared.returncode == 0, shared.stderr

    assert (cli.json("participation", "2027"), cli.json("mentor-engagement")) == before
    assert "NotFound" in cli.refused(3, "rebuild", "nonsense")
    zero = cli("rebuild", "--workers", "0")
    assert zero.returncode == 2
    assert "--workers" in zero.stderr
