"""Write ``events-v1.jsonl``: the stored events of one full story, as version 1 wrote them.

Run it from the project root with the project's virtualenv::

    .venv/bin/python tests/golden/make_golden.py --output /tmp/check.jsonl
    .venv/bin/python tests/golden/make_golden.py --force   # (re)writes events-v1.jsonl

The story runs on a fresh SQLite file through the public API: the source story of
docs/design/domain.md, plus a decline, a reschedule, a rejection, a withdrawal, a
cancellation, a mentor's transfer, a participant's departure, a review cycle with an
exemption. Every event topic of the library appears at least once; the script
refuses to write a file where one is missing.

Each line is one stored event, in the order of the notification log::

    {"originator_id": "...", "originator_version": 1, "topic": "...", "state": "{...}"}

``state`` is the stored state exactly as the mapper wrote it (orjson text).

The output is reproducible: the business clock says 2027-01-01, event timestamps come
from a fake clock that ticks one second per event from 2027-01-01T08:00:00Z, and the
ids of rotations, mentorships and improvements come from a seeded generator. Running
the script twice gives the same bytes.

DO NOT regenerate ``events-v1.jsonl`` once it is committed: it is the record of what
version 1 of the library stored, and tests/integration/test_golden_events.py checks
that the current code still reads it. A new stored format gets a NEW golden file
(``events-v2.jsonl``) next to this one; the old files stay and stay green.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import random
import sys
import tempfile
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from unittest import mock
from uuid import UUID

from eventsourcing.domain import Aggregate, CanCreateTimestamp
from eventsourcing.utils import get_topic

import rotation_domain
from rotation_domain import (
    Department,
    Employee,
    Improvement,
    Mentorship,
    MonthRoster,
    Program,
    Rotation,
    RotationProgram,
    SessionKind,
    open_program,
)

GOLDEN = Path(__file__).with_name("events-v1.jsonl")
TODAY = date(2027, 1, 1)
FIRST_TIMESTAMP = datetime(2027, 1, 1, 8, 0, tzinfo=UTC)
SEED = 20270101
CIO = "cio@example.com"
AGGREGATES = (Program, Department, Employee, MonthRoster, Rotation, Mentorship, Improvement)


def library_event_topics() -> set[str]:
    """The topic of every event class of the library's aggregates."""
    return {
        get_topic(value)
        for aggregate in AGGREGATES
        for name, value in vars(aggregate).items()
        if isinstance(value, type) and issubclass(value, Aggregate.Event) and name != "Event"
    }


@contextlib.contextmanager
def reproducible() -> Iterator[None]:
    """Fixed event timestamps and ids for the duration of the block."""
    ticks = iter(range(1_000_000))
    rng = random.Random(SEED)

    def timestamp() -> datetime:
        return FIRST_TIMESTAMP + timedelta(seconds=next(ticks))

    def new_id() -> UUID:
        return UUID(int=rng.getrandbits(128), version=4)

    with contextlib.ExitStack() as stack:
        stack.enter_context(
            mock.patch.object(CanCreateTimestamp, "create_timestamp", staticmethod(timestamp))
        )
        for module in (rotation_domain.rotation, rotation_domain.mentorship):
            stack.enter_context(mock.patch.object(module, "uuid4", new_id))
        stack.enter_context(mock.patch.object(rotation_domain.improvement, "uuid4", new_id))
        yield


def seed_company(program: RotationProgram) -> None:
    """Two IT departments, four host departments, IT staff E1-E6 and mentors M1-M6."""
    with program.acting_as(CIO):
        program.register_department("IT", name="Information Technology", is_it=True)
        program.register_department("ITOPS", name="IT Operations", is_it=True)
        for code, name in (
            ("FIN", "Finance"),
            ("OPS", "Operations"),
            ("HR", "Human Resources"),
            ("LEGAL", "Legal"),
        ):
            program.register_department(code, name=name)
        for n in range(1, 7):
            program.register_employee(
                f"E{n}",
                name=f"Engineer {n}",
                email=f"e{n}@example.com",
                department="IT" if n <= 4 else "ITOPS",
                manager="E0",
            )
        for code, department in (
            ("M1", "FIN"),
            ("M2", "FIN"),
            ("M3", "OPS"),
            ("M4", "HR"),
            ("M5", "LEGAL"),
            ("M6", "LEGAL"),
        ):
            program.register_employee(
                code,
                name=f"Mentor {code}",
                email=f"{code.lower()}@example.com",
                department=department,
            )
        program.set_policy(
            max_length_days=31,
            max_concurrent=4,
            max_guests_per_department=1,
            max_mentees_per_mentor=1,
            require_briefing=True,
        )
        program.open_review_cycle("2027-H1", start=date(2027, 1, 1), end=date(2027, 6, 30))


def source_story(program: RotationProgram) -> None:
    """E1 in Finance with M1: every step of the source, ending with the mentor's feedback."""
    with program.acting_as(CIO):
        rotation = program.plan_rotation(
            "E1", host_department="FIN", start=date(2027, 1, 4), end=date(2027, 1, 29)
        )
        mentorship = program.nominate_mentor(rotation, mentor="M1")
    program.accept_mentorship(mentorship, actor="M1")
    with program.acting_as(CIO):
        program.brief_mentor(mentorship, on=date(2027, 1, 2))
        program.start_rotation(rotation, on=date(2027, 1, 4))
    with program.acting_as("M1"):
        program.hold_mentor_session(
            mentorship,
            kind=SessionKind.DISCUSSION,
            on=date(2027, 1, 6),
            topic="How month-end close works",
        )
        program.hold_mentor_session(
            mentorship, kind=SessionKind.READING, on=date(2027, 1, 8), topic="The close checklist"
        )
        program.hold_mentor_session(
            mentorship,
            kind=SessionKind.HANDS_ON,
            on=date(2027, 1, 12),
            topic="Post the supplier invoices",
        )
    with program.acting_as("E1"):
        program.record_observation(
            rotation, "Invoices are re-keyed by hand from e-mail", on=date(2027, 1, 7)
        )
        improvement = program.propose_improvement(
            rotation,
            title="Route invoices automatically",
            description="Parse the supplier e-mails and post the invoices to the ledger.",
            on=date(2027, 1, 20),
        )
    program.adopt_improvement(improvement, on=date(2027, 2, 15), actor="M1")
    program.complete_rotation(rotation, on=date(2027, 1, 29), actor=CIO)
    program.conclude_mentorship(
        mentorship, feedback="E1 asked the right questions and fixed a real problem.", actor="M1"
    )


def declined_then_rescheduled(program: RotationProgram) -> None:
    """E2 in Operations: M3 declines, the rotation moves to March, a rejection, a withdrawal."""
    with program.acting_as(CIO):
        rotation = program.plan_rotation(
            "E2", host_department="OPS", start=date(2027, 2, 1), end=date(2027, 2, 26)
        )
        first = program.nominate_mentor(rotation, mentor="M3")
    program.decline_mentorship(first, reason="Quarter-end close in February", actor="M3")
    with program.acting_as(CIO):
        program.reschedule_rotation(rotation, start=date(2027, 3, 1), end=date(2027, 3, 26))
        second = program.nominate_mentor(rotation, mentor="M3")
    program.accept_mentorship(second, actor="M3")
    with program.acting_as(CIO):
        program.brief_mentor(second, on=date(2027, 2, 25))
        program.start_rotation(rotation, on=date(2027, 3, 1))
    program.hold_mentor_session(
        second,
        kind=SessionKind.HANDS_ON,
        on=date(2027, 3, 3),
        topic="A shift at the depot",
        actor="M3",
    )
    with program.acting_as("E2"):
        program.record_observation(rotation, "Stock counts are kept on paper")
        rejected = program.propose_improvement(
            rotation, title="Scan stock with phones", on=date(2027, 3, 10)
        )
    program.reject_improvement(
        rejected,
        reason="Needs a budget we do not have this year",
        on=date(2027, 3, 12),
        actor="M3",
    )
    with program.acting_as("E2"):
        withdrawn = program.propose_improvement(
            rotation, title="Buy barcode scanners", on=date(2027, 3, 15)
        )
        program.withdraw_improvement(withdrawn, reason="Superseded by the vendor's own tool")
    program.complete_rotation(rotation, on=date(2027, 3, 26), actor=CIO)


def cancelled(program: RotationProgram) -> None:
    """E3 in Human Resources, with M4 nominated: called off before it starts."""
    with program.acting_as(CIO):
        rotation = program.plan_rotation(
            "E3", host_department="HR", start=date(2027, 4, 5), end=date(2027, 4, 30)
        )
        program.nominate_mentor(rotation, mentor="M4")
        program.cancel_rotation(rotation, reason="The project deadline moved", on=date(2027, 3, 15))


def mentor_transferred(program: RotationProgram) -> None:
    """E4 in Legal: mentor M5 moves to HR mid-rotation, M6 takes over."""
    with program.acting_as(CIO):
        rotation = program.plan_rotation(
            "E4", host_department="LEGAL", start=date(2027, 5, 3), end=date(2027, 5, 28)
        )
        first = program.nominate_mentor(rotation, mentor="M5")
        program.accept_mentorship(first, actor="M5")
        program.brief_mentor(first, on=date(2027, 4, 28))
        program.start_rotation(rotation, on=date(2027, 5, 3))
        program.transfer_employee("M5", to_department="HR", on=date(2027, 5, 10))
        second = program.nominate_mentor(rotation, mentor="M6")
    program.accept_mentorship(second, actor="M6")
    program.brief_mentor(second, on=date(2027, 5, 11), actor=CIO)
    program.hold_mentor_session(
        second,
        kind=SessionKind.DISCUSSION,
        on=date(2027, 5, 12),
        topic="Contract review",
        actor="M6",
    )
    program.propose_improvement(
        rotation, title="A contract template library", on=date(2027, 5, 20), actor="E4"
    )
    program.complete_rotation(rotation, on=date(2027, 5, 28), actor=CIO)


def participant_departed(program: RotationProgram) -> None:
    """E5 (IT Operations) is planned into Operations with M3, then leaves the company."""
    with program.acting_as(CIO):
        rotation = program.plan_rotation(
            "E5", host_department="OPS", start=date(2027, 6, 7), end=date(2027, 6, 25)
        )
        mentorship = program.nominate_mentor(rotation, mentor="M3")
    program.accept_mentorship(mentorship, actor="M3")
    program.depart_employee(
        "E5", on=date(2027, 6, 1), reason="Moved to another company", actor="hris-sync"
    )


def review_cycle(program: RotationProgram) -> None:
    """E6 is exempted from the first half-year's objective; the cycle then closes."""
    with program.acting_as(CIO):
        program.grant_exemption("E6", "2027-H1", reason="Parental leave")
        program.close_review_cycle("2027-H1", on=date(2027, 7, 1))


STORY: tuple[Callable[[RotationProgram], None], ...] = (
    seed_company,
    source_story,
    declined_then_rescheduled,
    cancelled,
    mentor_transferred,
    participant_departed,
    review_cycle,
)


def golden_lines(program: RotationProgram) -> list[str]:
    """One JSON line per stored event of the program's log, in log order."""
    log = program.app.notification_log
    lines, start = [], 1
    while True:
        page = log.select(start=start, limit=log.section_size)
        for notification in page:
            record = {
                "originator_id": str(notification.originator_id),
                "originator_version": notification.originator_version,
                "topic": notification.topic,
                "state": notification.state.decode("utf-8"),
            }
            lines.append(json.dumps(record, ensure_ascii=False))
        if len(page) < log.section_size:
            return lines
        start = page[-1].id + 1


def main(argv: list[str] | None = None) -> int:
    """Run the story on a fresh SQLite file and write its stored events."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--output", type=Path, default=GOLDEN, help="where to write the file")
    parser.add_argument("--force", action="store_true", help="overwrite an existing file")
    args = parser.parse_args(argv)
    if args.output.exists() and not args.force:
        print(
            f"{args.output} exists; golden files are not regenerated (see the docstring). "
            "Pass --force to overwrite it anyway.",
            file=sys.stderr,
        )
        return 2
    with tempfile.TemporaryDirectory() as folder, reproducible():
        url = f"sqlite:///{Path(folder) / 'golden.db'}"
        with open_program(url, today=lambda: TODAY) as program:
            for chapter in STORY:
                chapter(program)
            lines = golden_lines(program)
    written = {json.loads(line)["topic"] for line in lines}
    missing = library_event_topics() - written
    if missing:
        print(f"the story records no event of: {', '.join(sorted(missing))}", file=sys.stderr)
        return 1
    args.output.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    print(f"wrote {len(lines)} events ({len(written)} topics) to {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
