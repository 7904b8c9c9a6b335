"""The Program aggregate: the policy, the review cycles and the exemptions (R2, R3, R5, R9).

There is one Program per store, created by the first command that changes it. Its
numeric rules are read by the rosters (`rotation_domain.roster`) when they admit a
booking.
"""

from __future__ import annotations

from datetime import date
from typing import ClassVar
from uuid import UUID

import attrs

from rotation_domain._aggregate import ProgramAggregate, stable_id
from rotation_domain.errors import InvalidTransition, UnknownReviewCycle
from rotation_domain.values import DateRange, Immutable, Policy, ReviewCycle

__all__ = ["PROGRAM_ID", "Exemption", "Program"]

PROGRAM_ID: UUID = stable_id("program", "program")


@attrs.frozen
class Exemption(Immutable):
    """R3: an employee excused from the participation objective of one cycle.

    The reason is personal data: it stays in the `ExemptionGranted` event, encrypted with
    the employee's key, and is not kept in the Program's state (whose snapshots are not
    any one person's), so forgetting the employee forgets it.
    """

    employee: str
    cycle: str


class Program(ProgramAggregate, created_event_name="ProgramLaunched"):
    """The program's policy, review cycles and exemptions."""

    TOPIC = "rotation_domain:Program"

    policy: Policy
    cycles: dict[str, ReviewCycle]
    exemptions: dict[str, Exemption]

    class Event(ProgramAggregate.Event):
        """Base of the Program's events."""

    class ProgramLaunched(Event, ProgramAggregate.Created):
        """The program began, with its first policy."""

        TOPIC = "rotation_domain:ProgramLaunched"
        policy: Policy

    Created = ProgramLaunched

    class ProgramPolicySet(Event):
        """The program's numeric rules changed."""

        TOPIC = "rotation_domain:ProgramPolicySet"
        policy: Policy

        def apply(self, aggregate: Program) -> None:
            """Evolve the aggregate's state by this event."""
            aggregate.policy = self.policy

    class ReviewCycleOpened(Event):
        """A review cycle opened: each active IT employee now owes a rotation in it (R3)."""

        TOPIC = "rotation_domain:ReviewCycleOpened"
        name: str
        start: date
        end: date

        def apply(self, aggregate: Program) -> None:
            """Evolve the aggregate's state by this event."""
            cycle = ReviewCycle(self.name, DateRange(self.start, self.end))
            aggregate.cycles = {**aggregate.cycles, self.name: cycle}

    class ReviewCycleClosed(Event):
        """A review cycle closed: objectives not met are now missed."""

        TOPIC = "rotation_domain:ReviewCycleClosed"
        name: str
        on: date

        def apply(self, aggregate: Program) -> None:
            """Evolve the aggregate's state by this event."""
            cycle = attrs.evolve(aggregate.cycles[self.name], closed=True)
            aggregate.cycles = {**aggregate.cycles, self.name: cycle}

    class ExemptionGranted(Event):
        """An employee was excused from one cycle's objective, with a reason (R3)."""

        TOPIC = "rotation_domain:ExemptionGranted"
        DATA_SUBJECT: ClassVar[str] = "employee"
        PERSONAL_FIELDS: ClassVar[tuple[str, ...]] = ("reason",)
        employee: str
        cycle: str
        reason: str

        def apply(self, aggregate: Program) -> None:
            """Evolve the aggregate's state by this event."""
            exemption = Exemption(self.employee, self.cycle)
            aggregate.exemptions = {
                **aggregate.exemptions,
                _exemption_key(self.employee, self.cycle): exemption,
            }

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self.cycles = {}
        self.exemptions = {}

    @classmethod
    def launch(cls, policy: Policy, *, actor: str) -> Program:
        """Begin the program with a policy."""
        return cls._create(cls.ProgramLaunched, id=PROGRAM_ID, actor=actor, policy=policy)

    def set_policy(self, policy: Policy, *, actor: str) -> None:
        """Replace the numeric rules; rotations already booked keep their places."""
        if policy != self.policy:
            self._trigger(self.ProgramPolicySet, actor=actor, policy=policy)

    def open_review_cycle(self, name: str, period: DateRange, *, actor: str) -> None:
        """Open a review cycle; names are unique and cycles do not overlap."""
        if name in self.cycles:
            raise InvalidTransition(f"a review cycle named {name!r} already exists", cycle=name)
        for other in self.cycles.values():
            if other.period.overlaps(period):
                raise InvalidTransition(
                    f"review cycle {name!r} ({period}) overlaps cycle {other.name!r} "
                    f"({other.period}); cycles must not overlap",
                    cycle=name,
                    other=other.name,
                )
        self._trigger(
            self.ReviewCycleOpened, actor=actor, name=name, start=period.start, end=period.end
        )

    def close_review_cycle(self, name: str, on: date, *, actor: str) -> None:
        """Close an open review cycle."""
        cycle = self.cycle(name)
        if cycle.closed:
            raise InvalidTransition(f"review cycle {name!r} is already closed", cycle=name)
        self._trigger(self.ReviewCycleClosed, actor=actor, name=name, on=on)

    def grant_exemption(self, employee: str, cycle: str, reason: str, *, actor: str) -> None:
        """Excuse an employee from one cycle's objective (R3); the reason is required."""
        self.check_exemption(employee, cycle)
        self._trigger(
            self.ExemptionGranted, actor=actor, employee=employee, cycle=cycle, reason=reason
        )

    def check_exemption(self, employee: str, cycle: str) -> None:
        """Refuse an exemption from an unknown or closed cycle, or a second one."""
        found = self.cycle(cycle)
        if found.closed:
            raise InvalidTransition(
                f"review cycle {cycle!r} is closed; exemptions are granted while it is open",
                cycle=cycle,
            )
        if _exemption_key(employee, cycle) in self.exemptions:
            raise InvalidTransition(
                f"{employee} is already exempted from cycle {cycle!r}",
                employee=employee,
                cycle=cycle,
            )

    def cycle(self, name: str) -> ReviewCycle:
        """The review cycle of that name, or `UnknownReviewCycle` naming the known ones."""
        try:
            return self.cycles[name]
        except KeyError:
            known = ", ".join(sorted(self.cycles)) or "none"
            raise UnknownReviewCycle(
                f"no review cycle is named {name!r} (known: {known})", cycle=name
            ) from None

    def is_exempted(self, employee: str, cycle: str) -> bool:
        """Whether the employee is excused from the cycle's objective."""
        return _exemption_key(employee, cycle) in self.exemptions


def _exemption_key(employee: str, cycle: str) -> str:
    return f"{cycle}\x1f{employee}"
