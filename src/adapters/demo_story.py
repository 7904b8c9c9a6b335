"""The demo's story: one review cycle of a company's rotation program, day by day.

`plan_story` turns a `Company` and a seed into a list of dated `Step`s: the directory
and the policy, exemptions, rotations planned against the caps (R9) and the mentors
nominated, agreeing or declining (R4), briefed (R5) and holding sessions of each kind
(R6), observations (R7), improvements proposed, adopted, rejected and withdrawn (R8),
a departure and a cancellation (R10), and a few commands the rules refuse. `run_story`
replays the steps, in date order, through the public API. The same seed gives the
same steps, so the same events (only the recorded timestamps and the ids the library
gives new rotations, mentorships and improvements differ).
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any
from uuid import UUID

import attrs

from adapters.demo_company import CIO, PROGRAM_OFFICE, Company, Person
from rotation_domain import NotAuthorized, RotationDomainError, RotationProgram, SessionKind

__all__ = [
    "CYCLE",
    "Placement",
    "Refusal",
    "Step",
    "StoryLog",
    "office_authorizer",
    "plan_story",
    "run_story",
]

CYCLE = "FY2027"
"""The review cycle the story runs through."""
CYCLE_START, CYCLE_END = date(2027, 1, 1), date(2027, 12, 31)
HRIS = "hris-sync@northwind.example"
FIRST_SLOT = date(2027, 1, 18)  # a Monday; slots start every second Monday
SLOTS = 23  # the last starts on 2027-11-29 and ends before Christmas
STARTS_PER_SLOT = 3
PLANNING_DAY = date(2027, 1, 11)

OFFICE_ACTIONS = frozenset(
    {
        "set_policy",
        "open_review_cycle",
        "close_review_cycle",
        "grant_exemption",
        "plan_rotation",
        "reschedule_rotation",
        "cancel_rotation",
        "nominate_mentor",
        "brief_mentor",
        "start_rotation",
        "complete_rotation",
    }
)


def office_authorizer(actor: str, action: str, context: dict[str, Any]) -> None:
    """The demo company's rule: only the CIO and the CIO's office run the program.

    Passed to `open_program(authorize=...)`; refuses the program office's commands
    (planning, nominating, briefing, starting, completing...) to anyone else.

    Raises:
        NotAuthorized: someone else tried one of those commands.
    """
    if action in OFFICE_ACTIONS and actor not in (CIO, PROGRAM_OFFICE):
        raise NotAuthorized(
            f"{actor} asked to {action.replace('_', ' ')}, which at Northwind only the CIO's "
            "office may do",
            actor=actor,
            action=action,
        )


@attrs.frozen
class Refusal:
    """A command the program refused, as the demo shows it.

    Attributes:
        day: The story's day.
        label: What was tried, in words.
        error: The error's class name.
        rule: The rule it names (``R2``), if any.
        message: The error's message.
    """

    day: date
    label: str
    error: str
    rule: str | None
    message: str


@attrs.define
class StoryLog:
    """What happened when the story ran.

    Attributes:
        done: How many commands of each kind were recorded.
        refusals: The refused commands the story meant to show.
        surprises: Commands refused that the story did not expect (should be empty).
    """

    done: Counter[str] = attrs.field(factory=Counter)
    refusals: list[Refusal] = attrs.field(factory=list)
    surprises: list[str] = attrs.field(factory=list)


@attrs.define
class Placement:
    """One IT employee's rotation in the plan, and the ids the program gave it.

    Attributes:
        person: The participant.
        host: The host department's code.
        slot: The index of the start slot (every second Monday).
        start: The first day.
        end: The last day as finally agreed.
        planned_end: The last day as first planned (a reschedule moves it to ``end``).
        mentors: The mentors nominated in turn; all but the last decline.
        rotation_id: Set when planned.
        mentorship_id: The current mentorship, set when nominated.
        improvements: The improvements proposed, by title, once proposed.
        stopped: Set when the rotation was cancelled (its later steps are skipped).
    """

    person: Person
    host: str
    slot: int
    start: date
    end: date
    planned_end: date
    mentors: list[Person]
    rotation_id: UUID | None = None
    mentorship_id: UUID | None = None
    improvements: dict[str, UUID] = attrs.field(factory=dict)
    stopped: bool = False


Action = Callable[..., object]
"""A step's command: called with the program."""


@attrs.frozen
class Step:
    """One command of the story, on its day.

    Attributes:
        day: The business day it happens.
        order: Its place among the day's steps (planning before starting...).
        seq: Its place among steps of the same day and order.
        kind: The command (``plan``, ``session``...), or ``refused`` for a refusal.
        label: What happens, in words.
        actor: Who does it.
        action: Runs it on the program.
        placement: The rotation it belongs to, if any (skipped once it is stopped).
        expect: For a refusal, the error class name expected.
    """

    day: date
    order: int
    seq: int
    kind: str
    label: str
    actor: str
    action: Action
    placement: Placement | None = None
    expect: str | None = None


def _slot_start(slot: int) -> date:
    return FIRST_SLOT + timedelta(days=14 * slot)


def _weekdays(first: date, last: date) -> list[date]:
    days = []
    day = first
    while day <= last:
        if day.weekday() < 5:
            days.append(day)
        day += timedelta(days=1)
    return days


class _Planner:
    """Builds the steps; keeps the plan within the caps so only intended refusals happen."""

    def __init__(self, company: Company, seed: int) -> None:
        self.company = company
        self.rng = random.Random(seed * 7919 + 17)
        self.steps: list[Step] = []
        self.placements: list[Placement] = []
        self.by_slot: dict[int, list[Placement]] = {}
        self.mentor_slots: dict[str, set[int]] = {}
        self.host_load: Counter[str] = Counter()

    # -- building blocks ------------------------------------------------------------

    def add(
        self,
        day: date,
        order: int,
        kind: str,
        label: str,
        actor: str,
        action: Action,
        placement: Placement | None = None,
        expect: str | None = None,
    ) -> None:
        self.steps.append(
            Step(day, order, len(self.steps), kind, label, actor, action, placement, expect)
        )

    def free_mentors(self, host: str, slot: int) -> list[Person]:
        return [
            m
            for m in self.company.mentors[host]
            if not self.mentor_slots.get(m.code, set()) & {slot - 1, slot, slot + 1}
        ]

    def guests(self, host: str, slot: int) -> int:
        return sum(1 for s in (slot - 1, slot) for p in self.by_slot.get(s, []) if p.host == host)

    def place(self, person: Person, slot: int, *, weeks: int) -> Placement | None:
        hosts = [d.code for d in self.company.hosts]
        self.rng.shuffle(hosts)
        hosts.sort(key=lambda code: self.host_load[code])
        for host in hosts:
            if self.guests(host, slot) >= 2:
                continue
            free = self.free_mentors(host, slot)
            if not free:
                continue
            self.rng.shuffle(free)
            chosen = (
                free[:2] if len(free) >= 2 and self.rng.random() < 0.2 and slot > 1 else [free[0]]
            )
            start = _slot_start(slot)
            end = start + timedelta(days=7 * weeks - 3)
            placement = Placement(person, host, slot, start, end, end, chosen)
            self.by_slot.setdefault(slot, []).append(placement)
            for mentor in chosen:
                self.mentor_slots.setdefault(mentor.code, set()).add(slot)
            self.host_load[host] += 1
            self.placements.append(placement)
            return placement
        return None

    # -- the story ------------------------------------------------------------------

    def setup(self) -> None:
        day = date(2027, 1, 4)
        company = self.company
        for department in company.departments:
            self.add(
                day,
                0,
                "register",
                f"register {department.code}",
                HRIS,
                lambda p, d=department: p.register_department(d.code, name=d.name, is_it=d.is_it),
            )
        for person in (*company.it_staff, *company.business_staff):
            self.add(
                day,
                1,
                "register",
                f"register {person.code}",
                HRIS,
                lambda p, who=person: p.register_employee(
                    who.code,
                    name=who.name,
                    email=who.email,
                    department=who.department,
                    manager=who.manager,
                ),
            )
        self.add(
            day,
            2,
            "policy",
            "set the policy",
            CIO,
            lambda p: p.set_policy(
                max_length_days=31,
                max_concurrent=2 * STARTS_PER_SLOT,
                max_guests_per_department=2,
                max_mentees_per_mentor=1,
                require_briefing=True,
            ),
        )
        self.add(
            day,
            3,
            "cycle",
            f"open the review cycle {CYCLE}",
            CIO,
            lambda p: p.open_review_cycle(CYCLE, start=CYCLE_START, end=CYCLE_END),
        )

    def schedule(self) -> tuple[list[Person], list[Person]]:
        """Choose who is exempted, who misses, and place everyone else in a slot."""
        staff = list(self.company.it_staff)
        self.rng.shuffle(staff)
        exempted, missed, rest = staff[:3], staff[3:5], staff[5:]
        reasons = (
            "parental leave from March to December",
            "long-term sick leave",
            "joined in November; takes part next cycle",
        )
        for person, reason in zip(exempted, reasons, strict=True):
            self.add(
                date(2027, 1, 6),
                5,
                "exempt",
                f"exempt {person.code}",
                CIO,
                lambda p, who=person.code, why=reason: p.grant_exemption(who, CYCLE, reason=why),
            )
        full = set(self.rng.sample(range(SLOTS), len(rest) - 2 * SLOTS))
        queue = list(rest)
        for slot in range(SLOTS):
            for _ in range(STARTS_PER_SLOT if slot in full else 2):
                if queue:
                    weeks = 3 if self.rng.random() < 0.25 else 4
                    self.place(queue.pop(0), slot, weeks=weeks)
        return missed, queue

    def rotation_steps(self, placement: Placement) -> None:
        rng, person = self.rng, placement.person
        start, end = placement.start, placement.end
        plan_day = max(PLANNING_DAY, start - timedelta(days=42))
        self.add(
            plan_day,
            10,
            "plan",
            f"plan {person.code} into {placement.host} {start}..{placement.planned_end}",
            PROGRAM_OFFICE,
            lambda p, pl=placement: setattr(
                pl,
                "rotation_id",
                p.plan_rotation(
                    pl.person.code, host_department=pl.host, start=pl.start, end=pl.planned_end
                ),
            ),
            placement,
        )
        day = plan_day + timedelta(days=1)
        for index, mentor in enumerate(placement.mentors):
            self.add(
                day,
                20,
                "nominate",
                f"nominate {mentor.code} for {person.code}",
                PROGRAM_OFFICE,
                lambda p, pl=placement, m=mentor: setattr(
                    pl, "mentorship_id", p.nominate_mentor(_id(pl.rotation_id), mentor=m.code)
                ),
                placement,
            )
            if index < len(placement.mentors) - 1:
                day += timedelta(days=2)
                reason = rng.choice(
                    (
                        "quarter-end close keeps me fully booked",
                        "I am on leave for half of that window",
                        "already committed to an audit that month",
                    )
                )
                self.add(
                    day,
                    30,
                    "decline",
                    f"{mentor.code} declines",
                    mentor.email,
                    lambda p, pl=placement, why=reason: p.decline_mentorship(
                        _id(pl.mentorship_id), reason=why
                    ),
                    placement,
                )
                day += timedelta(days=1)
        mentor = placement.mentors[-1]
        accept_day = day + timedelta(days=1)
        self.add(
            accept_day,
            40,
            "accept",
            f"{mentor.code} agrees",
            mentor.email,
            lambda p, pl=placement: p.accept_mentorship(_id(pl.mentorship_id)),
            placement,
        )
        brief_day = max(accept_day + timedelta(days=1), start - timedelta(days=3))
        self.add(
            brief_day,
            50,
            "brief",
            f"brief {mentor.code}",
            PROGRAM_OFFICE,
            lambda p, pl=placement, d=brief_day: p.brief_mentor(_id(pl.mentorship_id), on=d),
            placement,
        )
        if placement.end != placement.planned_end:
            self.add(
                plan_day + timedelta(days=7),
                15,
                "reschedule",
                f"shorten {person.code}'s rotation to end {end}",
                PROGRAM_OFFICE,
                lambda p, pl=placement: p.reschedule_rotation(
                    _id(pl.rotation_id), start=pl.start, end=pl.end
                ),
                placement,
            )
        self.add(
            start,
            60,
            "start",
            f"{person.code} starts in {placement.host}",
            PROGRAM_OFFICE,
            lambda p, pl=placement: p.start_rotation(_id(pl.rotation_id), on=pl.start),
            placement,
        )
        window = _weekdays(start, end)
        host = self.company.department(placement.host)
        kinds = [SessionKind.DISCUSSION, *rng.choices(list(SessionKind), k=rng.randint(2, 5))]
        for kind, day in zip(kinds, sorted(rng.sample(window, len(kinds))), strict=True):
            topic = rng.choice(host.topics[kind.value])
            self.add(
                day,
                70,
                "session",
                f"{mentor.code}: {kind.value} session",
                mentor.email,
                lambda p, pl=placement, k=kind, d=day, t=topic: p.hold_mentor_session(
                    _id(pl.mentorship_id), kind=k, on=d, topic=t
                ),
                placement,
            )
        notes = rng.sample(host.observations, rng.randint(1, min(3, len(host.observations))))
        for note, day in zip(notes, sorted(rng.sample(window[2:], len(notes))), strict=True):
            self.add(
                day,
                80,
                "observe",
                f"{person.code} observes",
                person.email,
                lambda p, pl=placement, n=note, d=day: p.record_observation(
                    _id(pl.rotation_id), n, on=d
                ),
                placement,
            )
        ideas = rng.sample(host.improvements, 2 if rng.random() < 0.2 else 1)
        late = window[len(window) // 2 : -1]
        for (title, description), day in zip(
            ideas, sorted(rng.sample(late, len(ideas))), strict=True
        ):
            self.add(
                day,
                90,
                "propose",
                f"{person.code} proposes {title!r}",
                person.email,
                lambda p, pl=placement, t=title, why=description, d=day: (
                    pl.improvements.__setitem__(
                        t,
                        p.propose_improvement(_id(pl.rotation_id), title=t, description=why, on=d),
                    )
                ),
                placement,
            )
        kept = list(ideas)
        if len(ideas) == 2 and rng.random() < 0.5:
            dropped = ideas[0][0]
            kept = ideas[1:]
            self.add(
                end,
                95,
                "withdraw",
                f"{person.code} withdraws {dropped!r}",
                person.email,
                lambda p, pl=placement, t=dropped: p.withdraw_improvement(
                    pl.improvements[t], reason="merged into the other proposal"
                ),
                placement,
            )
        self.add(
            end,
            100,
            "complete",
            f"{person.code} completes",
            PROGRAM_OFFICE,
            lambda p, pl=placement: p.complete_rotation(_id(pl.rotation_id), on=pl.end),
            placement,
        )
        feedback = rng.choice(
            (
                "Asked the right questions and left us a working prototype.",
                "Learned our month quickly; the team wants more rotations like this.",
                "Good listener; the proposal shows it.",
                "Brought a fresh view of our tools; we will keep in touch.",
            )
        )
        self.add(
            end + timedelta(days=2),
            110,
            "conclude",
            f"{mentor.code} concludes",
            mentor.email,
            lambda p, pl=placement, f=feedback: p.conclude_mentorship(
                _id(pl.mentorship_id), feedback=f
            ),
            placement,
        )
        head = self.company.mentors[placement.host][0]
        head_person = (
            next(b for b in self.company.business_staff if b.code == head.manager)
            if head.manager
            else head
        )
        for title, _ in kept:
            decided = end + timedelta(days=rng.randint(5, 50))
            if decided > CYCLE_END:
                continue  # still pending when the story ends
            if rng.random() < 0.68:
                self.add(
                    decided,
                    120,
                    "adopt",
                    f"{placement.host} adopts {title!r}",
                    head_person.email,
                    lambda p, pl=placement, t=title, d=decided: p.adopt_improvement(
                        pl.improvements[t], on=d
                    ),
                    placement,
                )
            else:
                reason = rng.choice(
                    (
                        "the budget for it is committed elsewhere this year",
                        "the vendor's next release covers it",
                        "too much change during the audit season",
                    )
                )
                self.add(
                    decided,
                    120,
                    "reject",
                    f"{placement.host} rejects {title!r}",
                    head_person.email,
                    lambda p, pl=placement, t=title, d=decided, why=reason: p.reject_improvement(
                        pl.improvements[t], reason=why, on=d
                    ),
                    placement,
                )

    def refuse(
        self, day: date, order: int, label: str, actor: str, expect: str, action: Action
    ) -> None:
        self.add(day, order, "refused", label, actor, action, None, expect)

    def disruptions(self, missed: list[Person]) -> None:
        """A departure, an incident cancellation and re-plan, two shortened rotations."""
        later = [p for p in self.placements if 8 <= p.slot <= 16 and len(p.mentors) == 1]
        leaver, incident, *rest = self.rng.sample(later, 4)
        self.add(
            leaver.start - timedelta(days=10),
            15,
            "depart",
            f"{leaver.person.code} leaves the company",
            HRIS,
            lambda p, pl=leaver: _depart(p, pl),
        )
        self.add(
            incident.start - timedelta(days=5),
            16,
            "cancel",
            f"cancel {incident.person.code}'s rotation",
            PROGRAM_OFFICE,
            lambda p, pl=incident: _cancel(p, pl),
        )
        for slot in range(incident.slot + 3, SLOTS):
            if len(self.by_slot.get(slot, [])) < STARTS_PER_SLOT:
                again = self.place(incident.person, slot, weeks=4)
                if again is not None:
                    self.rotation_steps(again)
                    break
        for placement in rest:
            placement.end = placement.end - timedelta(days=7)

    def refusals(self, missed: list[Person]) -> None:
        """The commands the story tries so that the program refuses them, with their rule."""
        first = self.placements[6]
        who = first.person.code
        it_team = first.person.department
        self.refuse(
            PLANNING_DAY,
            9,
            f"plan {who} into {first.host} for 40 days",
            PROGRAM_OFFICE,
            "RotationTooLong",
            lambda p: p.plan_rotation(
                who,
                host_department=first.host,
                start=first.start,
                end=first.start + timedelta(days=39),
            ),
        )
        other_team = next(d.code for d in self.company.departments if d.is_it and d.code != it_team)
        self.refuse(
            PLANNING_DAY,
            9,
            f"plan {who} into the IT team {other_team}",
            PROGRAM_OFFICE,
            "HostDepartmentNotEligible",
            lambda p: p.plan_rotation(
                who, host_department=other_team, start=first.start, end=first.end
            ),
        )
        self.refuse(
            PLANNING_DAY,
            9,
            "plan a rotation for E9999, who is not in the directory",
            PROGRAM_OFFICE,
            "UnknownEmployee",
            lambda p: p.plan_rotation(
                "E9999", host_department=first.host, start=first.start, end=first.end
            ),
        )
        self.refuse(
            PLANNING_DAY,
            9,
            f"{first.person.code} plans their own rotation",
            first.person.email,
            "NotAuthorized",
            lambda p: p.plan_rotation(
                who, host_department=first.host, start=first.start, end=first.end
            ),
        )
        # The program-wide cap: a slot and the one before it both full (6 away).
        full = [s for s in range(1, SLOTS) if self._started(s) + self._started(s - 1) == 6]
        if full and missed:
            slot = full[0]
            crowd = self.by_slot[slot] + self.by_slot[slot - 1]
            day = max(max(PLANNING_DAY, p.start - timedelta(days=42)) for p in crowd)
            host = next(d.code for d in self.company.hosts if self.guests(d.code, slot) < 2)
            start = _slot_start(slot)
            self.refuse(
                day + timedelta(days=1),
                9,
                f"plan {missed[0].code} into {host} from {start}, when six are away",
                PROGRAM_OFFICE,
                "CapacityExceeded",
                lambda p: p.plan_rotation(
                    missed[0].code,
                    host_department=host,
                    start=start,
                    end=start + timedelta(days=18),
                ),
            )
        if len(missed) > 1:
            self._host_full(missed[1])
        second = self.placements[9]
        self.refuse(
            max(PLANNING_DAY, second.start - timedelta(days=42)),
            11,
            f"plan a second rotation for {second.person.code} during their first",
            PROGRAM_OFFICE,
            "OverlappingRotation",
            lambda p: p.plan_rotation(
                second.person.code,
                host_department=next(d.code for d in self.company.hosts if d.code != second.host),
                start=second.start + timedelta(days=7),
                end=second.end + timedelta(days=7),
            ),
        )
        outsider = next(
            m for code, ms in self.company.mentors.items() if code != first.host for m in ms
        )
        nominate_day = max(PLANNING_DAY, first.start - timedelta(days=42)) + timedelta(days=1)
        self.refuse(
            nominate_day,
            19,
            f"nominate {outsider.code} ({outsider.department}) to mentor in {first.host}",
            PROGRAM_OFFICE,
            "MentorNotInHostDepartment",
            lambda p: p.nominate_mentor(_id(first.rotation_id), mentor=outsider.code),
        )
        self.refuse(
            nominate_day,
            21,
            f"start {who}'s rotation before the mentor agreed",
            PROGRAM_OFFICE,
            "MentorNotAgreed",
            lambda p: p.start_rotation(_id(first.rotation_id), on=first.start),
        )
        self._mentor_unavailable()
        late = self.placements[12]
        self.refuse(
            late.start + timedelta(days=2),
            65,
            f"complete {late.person.code}'s rotation before any improvement",
            PROGRAM_OFFICE,
            "ImprovementRequired",
            lambda p: p.complete_rotation(_id(late.rotation_id), on=late.start + timedelta(days=2)),
        )
        self.refuse(
            late.end + timedelta(days=1),
            105,
            f"log a session for {late.person.code} after the rotation ended",
            late.mentors[-1].email,
            "OutsideRotationWindow",
            lambda p: p.hold_mentor_session(
                _id(late.mentorship_id),
                kind=SessionKind.DISCUSSION,
                on=late.end + timedelta(days=3),
                topic="A last coffee",
            ),
        )

    def _host_full(self, person: Person) -> None:
        """Plan into a host that already has two guests on a day, below the program cap."""

        def plan_day(p: Placement) -> date:
            return max(PLANNING_DAY, p.start - timedelta(days=42))

        def away(day: date) -> int:
            return sum(1 for p in self.placements if p.start <= day <= max(p.end, p.planned_end))

        for a in self.placements:
            for b in self.placements:
                if a is b or a.host != b.host or a.stopped or b.stopped or a.start > b.start:
                    continue
                day = b.start
                if day > min(a.end, a.planned_end) or away(day) >= 2 * STARTS_PER_SLOT:
                    continue
                host, asked = a.host, day
                self.refuse(
                    max(plan_day(a), plan_day(b)) + timedelta(days=1),
                    11,
                    f"plan {person.code} into {host} from {asked}, when it has two guests",
                    PROGRAM_OFFICE,
                    "HostDepartmentFull",
                    lambda p, h=host, d=asked: p.plan_rotation(
                        person.code, host_department=h, start=d, end=d + timedelta(days=4)
                    ),
                )
                return

    def _started(self, slot: int) -> int:
        return len(self.by_slot.get(slot, []))

    def _mentor_unavailable(self) -> None:
        """Nominate a mentor who already mentors an overlapping rotation (R9)."""
        for placement in self.placements:
            for other in self.placements:
                if (
                    other is placement
                    or other.host != placement.host
                    or other.slot not in (placement.slot - 1, placement.slot)
                    or other.stopped
                    or len(other.mentors) != 1
                    or other.mentors[0] in placement.mentors
                    or placement.slot < 2
                ):
                    continue
                busy = other.mentors[0]
                if max(PLANNING_DAY, other.start - timedelta(days=42)) >= max(
                    PLANNING_DAY, placement.start - timedelta(days=42)
                ):
                    continue
                day = max(PLANNING_DAY, placement.start - timedelta(days=42)) + timedelta(days=1)
                self.refuse(
                    day,
                    19,
                    f"nominate {busy.code}, already mentoring {other.person.code}, "
                    f"for {placement.person.code}",
                    PROGRAM_OFFICE,
                    "MentorUnavailable",
                    lambda p, pl=placement, m=busy: p.nominate_mentor(
                        _id(pl.rotation_id), mentor=m.code
                    ),
                )
                return

    def rejected_refusal(self) -> None:
        """Adopt an improvement the host already rejected (a state conflict)."""
        rejections = sorted(
            (s for s in self.steps if s.kind == "reject"), key=lambda s: (s.day, s.seq)
        )
        if not rejections:
            return
        step = rejections[0]
        placement = step.placement
        assert placement is not None
        title = step.label.split(" rejects ", 1)[1].strip("'\"")
        self.refuse(
            step.day + timedelta(days=3),
            125,
            f"adopt {title!r} in {placement.host} after it was rejected",
            step.actor,
            "InvalidTransition",
            lambda p, pl=placement, t=title: p.adopt_improvement(
                pl.improvements[t], on=step.day + timedelta(days=3)
            ),
        )

    def close(self) -> None:
        self.add(
            CYCLE_END,
            200,
            "cycle",
            f"close the review cycle {CYCLE}",
            CIO,
            lambda p: p.close_review_cycle(CYCLE, on=CYCLE_END),
        )


def _depart(program: RotationProgram, placement: Placement) -> None:
    """The participant resigns before their rotation; R10 cancels it."""
    program.depart_employee(
        placement.person.code,
        on=placement.start - timedelta(days=10),
        reason="resigned to join a start-up",
    )
    placement.stopped = True


def _cancel(program: RotationProgram, placement: Placement) -> None:
    """An incident at home: the rotation is called off (and re-planned later)."""
    program.cancel_rotation(
        _id(placement.rotation_id),
        reason="a production incident needs them at home; re-planned later",
        on=placement.start - timedelta(days=5),
    )
    placement.stopped = True


def _id(value: UUID | None) -> UUID:
    if value is None:  # pragma: no cover - steps run in date order, after the planning
        raise RuntimeError("the story ran a step before the one that creates its subject")
    return value


def plan_story(company: Company, seed: int) -> tuple[list[Step], list[Placement]]:
    """The story's steps, in the order they run, and the rotations it plans.

    Args:
        company: The company (from `make_company`).
        seed: The story's seed; the same seed gives the same steps.
    """
    planner = _Planner(company, seed)
    planner.setup()
    missed, _unplaced = planner.schedule()
    planner.disruptions(missed)
    for placement in list(planner.placements):
        if placement.rotation_id is None and not any(
            s.placement is placement for s in planner.steps
        ):
            planner.rotation_steps(placement)
    planner.refusals(missed)
    planner.rejected_refusal()
    planner.close()
    steps = sorted(planner.steps, key=lambda s: (s.day, s.order, s.seq))
    return steps, planner.placements


def run_story(
    program: RotationProgram,
    steps: list[Step],
    progress: Callable[[Step], None] | None = None,
) -> StoryLog:
    """Run the steps through the program's public API, in order.

    A step of a cancelled rotation is skipped. A refusal step is expected to raise; a
    command step is expected to succeed: anything else is noted in ``surprises``.

    Args:
        program: An open program on an empty store.
        steps: The steps from `plan_story`.
        progress: Called after each step.
    """
    log = StoryLog()
    for step in steps:
        if step.placement is not None and step.placement.stopped:
            log.done["skipped"] += 1
        else:
            _run_step(program, step, log)
        if progress is not None:
            progress(step)
    return log


def _run_step(program: RotationProgram, step: Step, log: StoryLog) -> None:
    try:
        with program.acting_as(step.actor):
            step.action(program)
    except RotationDomainError as error:
        name = type(error).__name__
        if step.expect is not None and name == step.expect:
            log.refusals.append(Refusal(step.day, step.label, name, error.rule, str(error)))
        else:
            log.surprises.append(f"{step.day} {step.label}: {name}: {error}")
        return
    if step.expect is not None:
        log.surprises.append(f"{step.day} {step.label}: accepted, expected {step.expect}")
    else:
        log.done[step.kind] += 1
