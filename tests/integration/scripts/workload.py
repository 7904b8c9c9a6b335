"""A workload for consumer tests: many commands through the public API, every kind of event.

`record_company` registers two IT departments, host departments with mentors and many
IT employees under a generous policy (so every plan succeeds), then `record_rotations`
takes each employee through a rotation: planned, mentored, started, observed, an
improvement proposed and decided, completed and concluded; some are cancelled or
rescheduled instead, so the views see cancellations, moves and rejections too.

Used by the tests (loaded from this directory) and by the scripts beside it.
"""

from __future__ import annotations

from datetime import date, timedelta

from rotation_domain import RotationProgram, SessionKind

CIO = "cio@example.com"
HOSTS = ("FIN", "OPS", "HR", "LEGAL")
MENTORS_PER_HOST = 3


def staff_codes(staff: int) -> list[str]:
    """The codes of the IT employees `record_company` registers."""
    return [f"P{n:04d}" for n in range(staff)]


def mentor_of(host: str, n: int) -> str:
    """The code of a host department's ``n``-th mentor."""
    return f"M-{host}-{n % MENTORS_PER_HOST}"


def record_company(program: RotationProgram, *, staff: int) -> list[str]:
    """Departments, mentors, ``staff`` IT employees and a generous policy; their codes."""
    codes = staff_codes(staff)
    with program.acting_as(CIO):
        program.register_department("IT", name="Information Technology", is_it=True)
        program.register_department("ITOPS", name="IT Operations", is_it=True)
        for host in HOSTS:
            program.register_department(host, name=f"Department {host}")
            for n in range(MENTORS_PER_HOST):
                code = mentor_of(host, n)
                program.register_employee(
                    code,
                    name=f"Mentor {code}",
                    email=f"{code.lower()}@example.com",
                    department=host,
                )
        for n, code in enumerate(codes):
            program.register_employee(
                code,
                name=f"Engineer {code}",
                email=f"{code.lower()}@example.com",
                department="IT" if n % 2 else "ITOPS",
            )
        program.set_policy(
            max_length_days=31,
            max_concurrent=1_000_000,
            max_guests_per_department=1_000_000,
            max_mentees_per_mentor=1_000_000,
        )
        program.open_review_cycle("2027", start=date(2027, 1, 1), end=date(2027, 12, 31))
    return codes


def record_rotations(program: RotationProgram, codes: list[str], *, round_: int = 0) -> None:
    """Take each employee through one rotation of three weeks across two months of 2027.

    Employee ``n`` starts on the 15th of month ``1 + (n + round_) % 11`` of 2027, so the
    month rosters stay small and each rotation books two of them; the rotations of one
    employee in different rounds (up to eleven) never overlap, so rounds can be
    recorded one after another.
    """
    for n, code in enumerate(codes):
        start = date(2027, 1 + (n + round_) % 11, 15)
        end = start + timedelta(days=20)
        host = HOSTS[(n + round_) % len(HOSTS)]
        mentor = mentor_of(host, n)
        with program.acting_as(CIO):
            rotation = program.plan_rotation(code, host_department=host, start=start, end=end)
            if n % 7 == 3:
                program.cancel_rotation(rotation, reason="Release week", on=start)
                continue
            if n % 5 == 1:
                program.reschedule_rotation(
                    rotation, start=start + timedelta(days=1), end=end + timedelta(days=1)
                )
            mentorship = program.nominate_mentor(rotation, mentor=mentor)
        program.accept_mentorship(mentorship, actor=mentor)
        with program.acting_as(CIO):
            program.brief_mentor(mentorship, on=start - timedelta(days=2))
            program.start_rotation(rotation, on=start + timedelta(days=1))
        program.hold_mentor_session(
            mentorship,
            kind=SessionKind.HANDS_ON,
            on=start + timedelta(days=3),
            topic="Ledger",
            actor=mentor,
        )
        with program.acting_as(code):
            program.record_observation(rotation, "Forms are re-keyed by hand")
            improvement = program.propose_improvement(
                rotation, title="Automate the forms", on=start + timedelta(days=5)
            )
        if n % 3 == 2:
            program.reject_improvement(
                improvement, reason="Not this year", on=start + timedelta(days=9), actor=mentor
            )
            continue
        program.adopt_improvement(improvement, on=start + timedelta(days=9), actor=mentor)
        program.complete_rotation(rotation, on=end, actor=CIO)
        program.conclude_mentorship(mentorship, feedback="Useful.", actor=mentor)
