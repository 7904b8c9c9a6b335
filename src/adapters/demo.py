"""The main job for now: the source's story, end to end, on a SQLite file.

Run it with ``make demo`` or ``python -m adapters.demo --store sqlite:///demo.db --fresh``.
It plans a rotation, has a mentor nominated, agree, be briefed and hold a session of
each kind, records an observation, an improvement proposed and adopted, completes the
rotation, then shows a few refused commands with their messages and prints the log.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path

from rotation_domain import RotationDomainError, RotationProgram, SessionKind, open_program

__all__ = ["main", "run_story"]

CIO = "cio@example.com"


def _refused(label: str, attempt: Callable[[], object], out: list[str]) -> None:
    try:
        attempt()
    except RotationDomainError as error:
        out.append(f"  refused  {label}\n           {type(error).__name__}: {error}")
    else:  # pragma: no cover - the demo's refusals are chosen to fail
        out.append(f"  ACCEPTED {label} (expected a refusal)")


def run_story(program: RotationProgram) -> list[str]:
    """Drive the source's story through the public API; return what happened, as lines."""
    out: list[str] = []
    with program.acting_as(CIO):
        program.register_department("IT", name="Information Technology", is_it=True)
        program.register_department("FIN", name="Finance")
        program.register_department("OPS", name="Operations")
        program.register_employee("E1", name="Ada", email="ada@example.com", department="IT")
        program.register_employee("E2", name="Alan", email="alan@example.com", department="IT")
        program.register_employee("M1", name="Grace", email="grace@example.com", department="FIN")
        program.register_employee("M2", name="Edsger", email="edsger@example.com", department="OPS")
        program.set_policy(
            max_length_days=31,
            max_concurrent=3,
            max_guests_per_department=1,
            max_mentees_per_mentor=1,
            require_briefing=True,
        )
        program.open_review_cycle("2027", start=date(2027, 1, 1), end=date(2027, 12, 31))
        rotation = program.plan_rotation(
            "E1", host_department="FIN", start=date(2027, 1, 4), end=date(2027, 1, 29)
        )
        out.append(f"  planned  rotation {rotation}: E1 (IT) into FIN, 2027-01-04..2027-01-29")
        mentorship = program.nominate_mentor(rotation, mentor="M1")
        out.append("  nominated M1 (Finance) as mentor")
    with program.acting_as("M1"):
        program.accept_mentorship(mentorship)
        out.append("  M1 agreed to mentor E1")
    with program.acting_as(CIO):
        program.brief_mentor(mentorship, on=date(2027, 1, 2))
        out.append("  the CIO's office briefed M1 on 2027-01-02")
        program.start_rotation(rotation, on=date(2027, 1, 4))
        out.append("  rotation started on 2027-01-04")
    with program.acting_as("M1"):
        for day, kind, topic in (
            (6, SessionKind.DISCUSSION, "How month-end close works"),
            (8, SessionKind.READING, "The accounts-payable handbook"),
            (13, SessionKind.HANDS_ON, "Booking supplier invoices"),
        ):
            program.hold_mentor_session(mentorship, kind=kind, on=date(2027, 1, day), topic=topic)
            out.append(f"  M1 held a {kind.value} session on 2027-01-{day:02d}: {topic}")
    with program.acting_as("E1"):
        program.record_observation(
            rotation, "Invoices are re-keyed by hand from e-mail", on=date(2027, 1, 14)
        )
        out.append("  E1 observed: invoices are re-keyed by hand from e-mail")
        improvement = program.propose_improvement(
            rotation,
            title="Route invoices automatically",
            description="Parse the supplier e-mails and file the invoices in the ledger.",
            on=date(2027, 1, 20),
        )
        out.append("  E1 proposed: Route invoices automatically")
    with program.acting_as("M1"):
        program.adopt_improvement(improvement, on=date(2027, 2, 15))
        out.append("  FIN adopted the improvement on 2027-02-15")
    with program.acting_as(CIO):
        program.complete_rotation(rotation, on=date(2027, 1, 29))
        out.append("  rotation completed on 2027-01-29")

        out.append("")
        out.append("Refused commands (nothing is recorded for them):")
        _refused(
            "E2 into FIN for 40 days",
            lambda: program.plan_rotation(
                "E2", host_department="FIN", start=date(2027, 2, 1), end=date(2027, 3, 12)
            ),
            out,
        )
        _refused(
            "E2 into FIN while E1 is there",
            lambda: program.plan_rotation(
                "E2", host_department="FIN", start=date(2027, 1, 20), end=date(2027, 2, 5)
            ),
            out,
        )
        _refused(
            "M1 (Finance) as mentor for a rotation into Operations",
            lambda: program.nominate_mentor(
                program.plan_rotation(
                    "E2", host_department="OPS", start=date(2027, 3, 1), end=date(2027, 3, 26)
                ),
                mentor="M1",
            ),
            out,
        )
        _refused(
            "Ada (IT) hosting in IT",
            lambda: program.plan_rotation(
                "E1", host_department="IT", start=date(2027, 5, 3), end=date(2027, 5, 28)
            ),
            out,
        )
        second = program.plan_rotation(
            "E1", host_department="OPS", start=date(2027, 6, 1), end=date(2027, 6, 25)
        )
        _refused(
            "starting E1's June rotation without an agreed mentor",
            lambda: program.start_rotation(second, on=date(2027, 6, 1)),
            out,
        )
    return out


def _print_log(program: RotationProgram, write: Callable[[str], object]) -> None:
    write("\nThe log (the audit trail), oldest first:")
    start = 1
    while True:
        page = program.app.notification_log.select(start=start, limit=500)
        if not page:
            break
        for notification in page:
            event = program.app.mapper.to_domain_event(notification)
            name = notification.topic.rsplit(":", 1)[-1]
            actor = getattr(event, "actor", "?")
            write(f"  {notification.id:>4}  {name:<22} by {actor}")
        start = page[-1].id + 1


def main(argv: Sequence[str] | None = None) -> int:
    """Run the demo; return the process exit code."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--store", default="sqlite:///demo-rotation.db", help="store URL")
    parser.add_argument(
        "--fresh", action="store_true", help="delete the SQLite file first if it exists"
    )
    args = parser.parse_args(argv)
    if args.fresh and args.store.startswith("sqlite:///"):
        path = Path(args.store.removeprefix("sqlite:///"))
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    with open_program(args.store) as program:
        try:
            lines = run_story(program)
        except RotationDomainError as error:
            print(f"the demo was refused: {type(error).__name__}: {error}", file=sys.stderr)
            print("run it on an empty store (add --fresh)", file=sys.stderr)
            return 2
        print(f"The rotation program, on {args.store}:")
        print("\n".join(lines))
        _print_log(program, print)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
