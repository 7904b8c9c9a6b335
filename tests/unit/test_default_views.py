"""The five standard read models of ``rotation_domain.default_views``.

Each test drives a real in-memory program through the public API, then builds the views
itself: it reads the whole log, maps each notification to an `Envelope` and folds it into
an in-memory `Rows` (a dict that stores JSON copies, so a document that is not JSON-able,
or one changed without ``put``, is caught). The program's own wiring of the views
(``program.views``) is not used here.
"""

from __future__ import annotations

import json
import random
from collections import defaultdict
from collections.abc import Iterator, Sequence
from datetime import date
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import InfrastructureFactory, StoredEvent
from eventsourcing.utils import Environment, get_topic
from tests.conftest import seed_company

from adapters.mapper import CattrsMapper
from rotation_domain import (
    Department,
    Employee,
    Improvement,
    Mentorship,
    MonthRoster,
    Policy,
    Program,
    Rotation,
    RotationProgram,
    SessionKind,
    open_program,
    runners,
)
from rotation_domain.consumers import Envelope, View
from rotation_domain.default_views import rotation_views
from rotation_domain.default_views._base import HandlerView
from rotation_domain.default_views.capacity import AwayRow, CapacityView, CapCount
from rotation_domain.default_views.department_bridges import BridgeRow, DepartmentBridgesView
from rotation_domain.default_views.improvement_pipeline import (
    DepartmentPipelineRow,
    ImprovementPipelineView,
)
from rotation_domain.default_views.mentor_engagement import MentorEngagementView, MentorRow
from rotation_domain.default_views.participation import (
    ParticipationRow,
    ParticipationStatus,
    ParticipationView,
)
from rotation_domain.plugin_manager import load_plugins
from rotation_domain.runners import envelope_of

Doc = dict[str, Any]
CIO = "cio@example.com"
GOLDEN = Path(__file__).parents[1] / "golden" / "events-v1.jsonl"
AGGREGATES = (Program, Department, Employee, MonthRoster, Rotation, Mentorship, Improvement)
VIEWS = (
    ParticipationView(),
    CapacityView(),
    MentorEngagementView(),
    ImprovementPipelineView(),
    DepartmentBridgesView(),
)


# An in-memory Rows, and replaying a log into it.


def json_copy(doc: Doc) -> Doc:
    copied: Doc = json.loads(json.dumps(doc, allow_nan=False))
    return copied


class MemoryRows:
    """Rows in a dict. Documents go in and come out as JSON copies."""

    def __init__(self) -> None:
        self.docs: dict[str, Doc] = {}

    def get(self, key: str) -> Doc | None:
        doc = self.docs.get(key)
        return None if doc is None else json_copy(doc)

    def scan(self, prefix: str = "") -> Iterator[tuple[str, Doc]]:
        found = sorted((k, v) for k, v in self.docs.items() if k.startswith(prefix))
        return iter([(k, json_copy(v)) for k, v in found])

    def put(self, key: str, doc: Doc) -> None:
        stored = json_copy(doc)
        assert stored == doc, f"{key}: {doc!r} does not survive JSON unchanged"
        self.docs[key] = stored

    def delete(self, key: str) -> None:
        self.docs.pop(key, None)


class PageRows(MemoryRows):
    """One page's changes over committed rows, as a view runner keeps them."""

    def __init__(self, below: MemoryRows) -> None:
        super().__init__()
        self.below = below
        self.changes: dict[str, Doc | None] = {}

    def get(self, key: str) -> Doc | None:
        if key in self.changes:
            doc = self.changes[key]
            return None if doc is None else json_copy(doc)
        return self.below.get(key)

    def scan(self, prefix: str = "") -> Iterator[tuple[str, Doc]]:
        merged = dict(self.below.scan(prefix))
        for key, doc in self.changes.items():
            if key.startswith(prefix):
                if doc is None:
                    merged.pop(key, None)
                else:
                    merged[key] = json_copy(doc)
        return iter(sorted(merged.items()))

    def put(self, key: str, doc: Doc) -> None:
        self.changes[key] = json_copy(doc)

    def delete(self, key: str) -> None:
        self.changes[key] = None

    def commit(self) -> None:
        for key, doc in self.changes.items():
            if doc is None:
                self.below.delete(key)
            else:
                self.below.put(key, doc)


def log_of(program: RotationProgram) -> list[Envelope]:
    """Every event of the program's log, as envelopes, read in pages of 500."""
    envelopes: list[Envelope] = []
    start = 1
    while True:
        page = program.app.notification_log.select(start=start, limit=500)
        envelopes += [envelope_of(program.app, notification) for notification in page]
        if len(page) < 500:
            return envelopes
        start = page[-1].id + 1


def replay(view: View, envelopes: Sequence[Envelope], page_size: int | None = None) -> MemoryRows:
    """Fold the events of the view's topics into fresh rows, a page per commit."""
    rows = MemoryRows()
    wanted = [e for e in envelopes if not view.topics or e.topic in view.topics]
    size = page_size or max(1, len(wanted))
    for first in range(0, len(wanted), size):
        page = PageRows(rows)
        for envelope in wanted[first : first + size]:
            view.apply(envelope, page)
        page.commit()
    return rows


# The story: the seeded company (IT: E1-E4, ITOPS: E5-E6; FIN: M1, M2; OPS: M3; HR: M4).


def d(month: int, day: int) -> date:
    return date(2027, month, day)


def story(program: RotationProgram) -> dict[str, UUID]:
    """A half-year of the program; returns the ids the tests refer to."""
    ids: dict[str, UUID] = {}
    with program.acting_as(CIO):
        program.open_review_cycle("2027-H1", start=d(1, 1), end=d(6, 30))
        program.grant_exemption("E4", "2027-H1", reason="Parental leave")

    # E1 in Finance with M1, from start to feedback.
    with program.acting_as(CIO):
        ids["E1"] = r = program.plan_rotation(
            "E1", host_department="FIN", start=d(1, 4), end=d(1, 29)
        )
        ids["M1"] = m = program.nominate_mentor(r, mentor="M1")
    program.accept_mentorship(m, actor="M1")
    with program.acting_as(CIO):
        program.brief_mentor(m, on=d(1, 2))
        program.start_rotation(r, on=d(1, 4))
    with program.acting_as("M1"):
        for kind, day in (("discussion", 6), ("reading", 8), ("hands-on", 12), ("discussion", 13)):
            program.hold_mentor_session(m, kind=SessionKind(kind), on=d(1, day), topic="Close")
    with program.acting_as("E1"):
        program.record_observation(r, "Invoices are re-keyed by hand", on=d(1, 7))
        program.record_observation(r, "Approvals wait in inboxes")
        ids["route"] = program.propose_improvement(r, title="Route invoices", on=d(1, 20))
        ids["calendar"] = program.propose_improvement(r, title="Close calendar", on=d(1, 22))
    program.adopt_improvement(ids["route"], on=d(2, 15), actor="M1")
    program.reject_improvement(ids["calendar"], reason="We have one", on=d(1, 30), actor="M1")
    program.complete_rotation(r, on=d(1, 29), actor=CIO)
    program.conclude_mentorship(m, feedback="Asked the right questions.", actor="M1")

    # E5 (IT Operations) in Finance with M2 in February.
    with program.acting_as(CIO):
        ids["E5"] = r = program.plan_rotation(
            "E5", host_department="FIN", start=d(2, 1), end=d(2, 19)
        )
        m = program.nominate_mentor(r, mentor="M2")
        program.accept_mentorship(m, actor="M2")
        program.start_rotation(r, on=d(2, 1))
        ids["archive"] = program.propose_improvement(r, title="Archive receipts", on=d(2, 5))
        program.adopt_improvement(ids["archive"], on=d(2, 16))
        program.complete_rotation(r, on=d(2, 19))

    # E2 in Operations: M3 declines, the rotation moves to March, M3 then agrees.
    with program.acting_as(CIO):
        ids["E2"] = r = program.plan_rotation(
            "E2", host_department="OPS", start=d(2, 1), end=d(2, 26)
        )
        m = program.nominate_mentor(r, mentor="M3")
    program.decline_mentorship(m, reason="Quarter-end", actor="M3")
    with program.acting_as(CIO):
        program.reschedule_rotation(r, start=d(3, 1), end=d(3, 26))
        m = program.nominate_mentor(r, mentor="M3")
        program.accept_mentorship(m, actor="M3")
        program.start_rotation(r, on=d(3, 1))
        program.hold_mentor_session(
            m, kind=SessionKind.HANDS_ON, on=d(3, 3), topic="Depot", actor="M3"
        )
    with program.acting_as("E2"):
        program.record_observation(r, "Stock counts are kept on paper")
        ids["scan"] = program.propose_improvement(r, title="Scan stock", on=d(3, 10))
        ids["buy"] = program.propose_improvement(r, title="Buy scanners", on=d(3, 11))
        program.withdraw_improvement(ids["buy"])
        ids["label"] = program.propose_improvement(r, title="Label shelves", on=d(3, 12))
    program.adopt_improvement(ids["scan"], on=d(3, 20), actor="M3")

    # E3 planned into HR with M4 nominated; E4 (exempted) into Finance with M1 for 4 days.
    with program.acting_as(CIO):
        ids["E3"] = r = program.plan_rotation(
            "E3", host_department="HR", start=d(3, 8), end=d(3, 26)
        )
        program.nominate_mentor(r, mentor="M4")
        ids["E4"] = r = program.plan_rotation(
            "E4", host_department="FIN", start=d(3, 9), end=d(3, 12)
        )
        program.nominate_mentor(r, mentor="M1")

    # E1 into Operations in May with M3: called off. E1 into Finance again in June.
    with program.acting_as(CIO):
        ids["E1-may"] = r = program.plan_rotation(
            "E1", host_department="OPS", start=d(5, 3), end=d(5, 28)
        )
        program.nominate_mentor(r, mentor="M3")
        program.cancel_rotation(r, reason="Release week", on=d(4, 20))
        ids["E1-june"] = program.plan_rotation(
            "E1", host_department="FIN", start=d(6, 1), end=d(6, 18)
        )

    # E6 planned into HR late in June, then moved to July (the next cycle).
    with program.acting_as(CIO):
        ids["E6"] = r = program.plan_rotation(
            "E6", host_department="HR", start=d(6, 21), end=d(7, 9)
        )
        program.reschedule_rotation(r, start=d(7, 5), end=d(7, 23))
    return ids


@pytest.fixture
def told(company: RotationProgram) -> tuple[RotationProgram, dict[str, UUID]]:
    return company, story(company)


def built(program: RotationProgram, view: View) -> MemoryRows:
    return replay(view, log_of(program))


def participation(program: RotationProgram, cycle: str) -> dict[str, tuple[str, str, Any]]:
    view = ParticipationView()
    rows = view.query(built(program, view), cycle)
    return {row.employee: (row.department, row.status, row.rotation_id) for row in rows}


# The plugin.


def test_the_plugin_gives_one_instance_of_each_standard_view() -> None:
    views = rotation_views(settings={})

    assert [view.name for view in views] == [
        "participation",
        "capacity",
        "mentor_engagement",
        "improvement_pipeline",
        "department_bridges",
    ]
    assert all(isinstance(view, View) and view.version >= 1 for view in views)


def test_the_default_plugin_loads_through_the_plugin_manager() -> None:
    plugins = load_plugins(environ={"ROTATION_PLUGINS": "default_views"})

    [info] = [info for info in plugins.infos if info.name == "default_views"]
    assert (info.source, info.status, info.hooks) == ("default", "active", ("rotation_views",))
    [views] = plugins.hook.rotation_views(settings={})
    assert len(views) == 5


def test_each_view_asks_only_for_topics_of_the_library_it_handles() -> None:
    library = {
        get_topic(value)
        for aggregate in AGGREGATES
        for name, value in vars(aggregate).items()
        if isinstance(value, type) and issubclass(value, Aggregate.Event) and name != "Event"
    }
    for view in VIEWS:
        assert view.topics, view.name
        assert view.topics <= library, view.name
        assert set(view.handlers) == view.topics, view.name
    capacity = CapacityView()
    assert {t.split(":")[1] for t in capacity.topics} == {
        "RotationBooked", "BookingReleased", "ProgramLaunched", "ProgramPolicySet",
    }  # fmt: skip


# Participation (R3).


def test_participation_lists_every_it_employee_with_the_status_of_their_objective(
    told: tuple[RotationProgram, dict[str, UUID]],
) -> None:
    program, ids = told

    assert participation(program, "2027-H1") == {
        "E1": ("IT", "met", str(ids["E1"])),
        "E2": ("IT", "in-progress", str(ids["E2"])),
        "E3": ("IT", "planned", str(ids["E3"])),
        "E4": ("IT", "exempted", str(ids["E4"])),
        "E5": ("ITOPS", "met", str(ids["E5"])),
        "E6": ("ITOPS", "none-planned", None),
    }
    view = ParticipationView()
    first = view.query(built(program, view), "2027-H1")[0]
    assert first == ParticipationRow(
        "E1", "Engineer 1", "IT", "2027-H1", ParticipationStatus.MET, str(ids["E1"])
    )
    assert first.status == "met"


def test_a_closed_cycle_marks_unmet_objectives_missed_until_they_are_met(
    told: tuple[RotationProgram, dict[str, UUID]],
) -> None:
    program, ids = told
    with program.acting_as(CIO):
        program.open_review_cycle("2027-H2", start=d(7, 1), end=d(12, 31))
        program.close_review_cycle("2027-H1", on=d(7, 1))

    closed = participation(program, "2027-H1")
    assert {code: status for code, (_, status, _) in closed.items()} == {
        "E1": "met", "E2": "missed", "E3": "missed", "E4": "exempted", "E5": "met", "E6": "missed",
    }  # fmt: skip
    assert participation(program, "2027-H2")["E6"] == ("ITOPS", "planned", str(ids["E6"]))

    with program.acting_as(CIO):
        program.complete_rotation(ids["E2"], on=d(3, 26))
    assert participation(program, "2027-H1")["E2"] == ("IT", "met", str(ids["E2"]))


def test_participation_follows_departures_and_moves_in_and_out_of_it(
    company: RotationProgram,
) -> None:
    with company.acting_as(CIO):
        company.open_review_cycle("2027-H1", start=d(1, 1), end=d(6, 30))
        company.open_review_cycle("2027-H2", start=d(7, 1), end=d(12, 31))
        company.transfer_employee("E3", to_department="ITOPS", on=d(3, 1))
        company.depart_employee("E5", on=d(6, 15))
        company.transfer_employee("E6", to_department="FIN", on=d(8, 1))
        company.transfer_employee("M2", to_department="IT", on=d(9, 1))
        company.depart_employee("E4", on=d(1, 1))

    first, second = participation(company, "2027-H1"), participation(company, "2027-H2")

    assert sorted(first) == ["E1", "E2", "E3", "E4", "E5", "E6"]
    assert first["E3"] == ("ITOPS", "none-planned", None)
    assert first["E5"] == ("ITOPS", "none-planned", None)
    assert sorted(second) == ["E1", "E2", "E3", "E6", "M2"]
    assert second["E6"] == ("ITOPS", "none-planned", None)
    assert second["M2"] == ("IT", "none-planned", None)
    assert participation(company, "2026") == {}


# Capacity (R9).


def test_capacity_shows_everyone_away_on_a_day_against_each_cap(
    told: tuple[RotationProgram, dict[str, UUID]],
) -> None:
    program, ids = told
    view = CapacityView()

    report = view.query(built(program, view), d(3, 10))

    assert report.away == (
        AwayRow(str(ids["E2"]), "E2", "OPS", "M3", d(3, 1), d(3, 26)),
        AwayRow(str(ids["E3"]), "E3", "HR", "M4", d(3, 8), d(3, 26)),
        AwayRow(str(ids["E4"]), "E4", "FIN", "M1", d(3, 9), d(3, 12)),
    )
    assert report.program == CapCount("program", 3, 3)
    assert report.departments == (
        CapCount("FIN", 1, 1), CapCount("HR", 1, 1), CapCount("OPS", 1, 1),
    )  # fmt: skip
    assert report.mentors == (CapCount("M1", 1, 1), CapCount("M3", 1, 1), CapCount("M4", 1, 1))
    assert report.policy == Policy(31, 3, 1, 1, False)
    assert not report.program.over
    assert report.program.free == 0


def test_capacity_counts_bookings_not_cancelled_or_moved_rotations(
    told: tuple[RotationProgram, dict[str, UUID]],
) -> None:
    program, _ = told
    view = CapacityView()
    rows = built(program, view)

    def away(day: date) -> list[str]:
        return [a.participant for a in view.query(rows, day).away]

    assert away(d(1, 4)) == ["E1"]
    assert away(d(2, 10)) == ["E5"]  # E2's first window moved to March
    assert away(d(5, 10)) == []  # E1's May rotation was cancelled
    assert away(d(6, 25)) == []  # E6 moved to July
    assert away(d(7, 23)) == ["E6"]
    reports = view.query_range(rows, d(3, 7), d(3, 9))
    assert [(r.day, r.program.count) for r in reports] == [(d(3, 7), 1), (d(3, 8), 2), (d(3, 9), 3)]
    assert view.query_range(rows, d(3, 9), d(3, 8)) == ()


def test_capacity_gives_the_caps_in_force_now_and_flags_counts_above_them(
    told: tuple[RotationProgram, dict[str, UUID]],
) -> None:
    program, _ = told
    program.set_policy(max_concurrent=2, max_mentees_per_mentor=2, actor=CIO)
    view = CapacityView()

    report = view.query(built(program, view), d(3, 10))

    assert report.program == CapCount("program", 3, 2)
    assert report.program.over
    assert report.mentors[0] == CapCount("M1", 1, 2)
    assert report.policy.max_concurrent == 2


def test_capacity_before_anything_is_booked_uses_the_default_policy(
    program: RotationProgram,
) -> None:
    view = CapacityView()

    report = view.query(built(program, view), d(1, 1))

    assert report.away == ()
    assert report.program == CapCount("program", 0, Policy().max_concurrent)


# Mentor engagement (R4-R6).


def test_mentor_engagement_counts_nominations_agreements_briefings_and_sessions(
    told: tuple[RotationProgram, dict[str, UUID]],
) -> None:
    program, _ = told
    view = MentorEngagementView()

    rows = view.query(built(program, view))

    assert rows == (
        MentorRow("M1", 2, 1, 0, 1, 1, 2, 1, 1, ("E4",)),
        MentorRow("M2", 1, 1, 0, 0, 0, 0, 0, 0, ()),
        MentorRow("M3", 3, 1, 1, 0, 0, 0, 0, 1, ("E2",)),
        MentorRow("M4", 1, 0, 0, 0, 0, 0, 0, 0, ("E3",)),
    )
    assert rows[0].sessions == 4


def test_a_mentee_stops_being_current_when_the_rotation_completes(
    told: tuple[RotationProgram, dict[str, UUID]],
) -> None:
    program, ids = told
    program.complete_rotation(ids["E2"], on=d(3, 26), actor=CIO)
    view = MentorEngagementView()

    m3 = view.query(built(program, view))[2]

    assert (m3.mentor, m3.agreed, m3.current_mentees) == ("M3", 1, ())


# Improvement pipeline (R8).


def test_the_pipeline_lists_every_improvement_with_its_status_and_days_to_adoption(
    told: tuple[RotationProgram, dict[str, UUID]],
) -> None:
    program, ids = told
    view = ImprovementPipelineView()

    report = view.query(built(program, view))

    assert [
        (r.title, r.host_department, r.participant, r.status, r.proposed_on, r.decided_on,
         r.days_to_adoption)
        for r in report.improvements
    ] == [
        ("Route invoices", "FIN", "E1", "adopted", d(1, 20), d(2, 15), 26),
        ("Close calendar", "FIN", "E1", "rejected", d(1, 22), d(1, 30), None),
        ("Archive receipts", "FIN", "E5", "adopted", d(2, 5), d(2, 16), 11),
        ("Scan stock", "OPS", "E2", "adopted", d(3, 10), d(3, 20), 10),
        ("Buy scanners", "OPS", "E2", "withdrawn", d(3, 11), None, None),
        ("Label shelves", "OPS", "E2", "proposed", d(3, 12), None, None),
    ]  # fmt: skip
    first = report.improvements[0]
    assert (first.improvement_id, first.rotation_id) == (str(ids["route"]), str(ids["E1"]))


def test_the_pipeline_gives_each_host_its_adoption_rate_and_median_days(
    told: tuple[RotationProgram, dict[str, UUID]],
) -> None:
    program, _ = told
    view = ImprovementPipelineView()

    report = view.query(built(program, view))

    assert report.departments == (
        DepartmentPipelineRow("FIN", 3, 0, 2, 1, 0, 2 / 3, 18.5),
        DepartmentPipelineRow("OPS", 3, 1, 1, 0, 1, 1.0, 10.0),
    )


def test_an_improvement_proposed_without_a_date_is_dated_the_day_it_was_recorded(
    told: tuple[RotationProgram, dict[str, UUID]],
) -> None:
    program, ids = told
    program.propose_improvement(ids["E2"], title="Count cycles", actor="E2")
    proposed = [e for e in log_of(program) if e.name == "ImprovementProposed"][-1]
    view = ImprovementPipelineView()

    [undated] = [
        row for row in view.query(built(program, view)).improvements if row.title == "Count cycles"
    ]

    assert proposed.event.on is None
    assert undated.proposed_on == proposed.timestamp.date()


# Department bridges.


def test_department_bridges_sum_up_what_each_host_department_got(
    told: tuple[RotationProgram, dict[str, UUID]],
) -> None:
    program, _ = told
    view = DepartmentBridgesView()

    assert view.query(built(program, view)) == (
        BridgeRow("FIN", "Finance", 4, 2, 2, 3, 2, 3),
        BridgeRow("HR", "Human Resources", 2, 0, 0, 0, 0, 2),
        BridgeRow("OPS", "Operations", 1, 0, 1, 3, 1, 1),
    )


# Replay: page boundaries, order, the golden file.


@pytest.mark.parametrize("page_size", [1, 2, 7, 50])
def test_replaying_in_pages_gives_the_same_rows(
    told: tuple[RotationProgram, dict[str, UUID]], page_size: int
) -> None:
    program, _ = told
    envelopes = log_of(program)
    for view in rotation_views(settings={}):
        assert replay(view, envelopes, page_size).docs == replay(view, envelopes).docs, view.name


def test_replaying_pages_of_random_sizes_gives_the_same_rows(
    told: tuple[RotationProgram, dict[str, UUID]],
) -> None:
    program, _ = told
    envelopes = log_of(program)
    chance = random.Random(7)
    for view in rotation_views(settings={}):
        whole = replay(view, envelopes).docs
        rows, at = MemoryRows(), 0
        while at < len(envelopes):
            size = chance.randint(1, 40)
            page = PageRows(rows)
            for envelope in envelopes[at : at + size]:
                view.apply(envelope, page)
            page.commit()
            at += size
        assert rows.docs == whole, view.name


@pytest.mark.parametrize("limit", [3, 40])
def test_a_rebuild_whose_row_cache_overflows_gives_the_same_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, limit: int
) -> None:
    with open_program(f"sqlite:///{tmp_path / 'rotation.db'}", today=lambda: d(1, 1)) as program:
        seed_company(program)
        story(program)
        names = list(program.consumers.views)
        program.consumers.commit_views()
        before = {n: list(program.consumers.store.reader(n).scan()) for n in names}
        monkeypatch.setattr(runners, "ROW_CACHE_LIMIT", limit)
        monkeypatch.setattr(HandlerView, "rebuilds_in_place", False)  # the general way's cache

        program.rebuild()

        assert {n: list(program.consumers.store.reader(n).scan()) for n in names} == before


def interleaved(envelopes: Sequence[Envelope], seed: int) -> list[Envelope]:
    """The events in a random order that keeps each aggregate's own order."""
    queues: dict[UUID, list[Envelope]] = defaultdict(list)
    for envelope in envelopes:
        queues[envelope.originator_id].append(envelope)
    chance, order = random.Random(seed), []
    while queues:
        originator = chance.choice(sorted(queues))
        order.append(queues[originator].pop(0))
        if not queues[originator]:
            del queues[originator]
    return order


def answers(rows: MemoryRows) -> tuple[Any, ...]:
    return (
        ParticipationView().query(rows, "2027-H1"),
        [CapacityView().query(rows, d(3, day)) for day in (1, 9, 10, 27)],
        MentorEngagementView().query(rows),
        ImprovementPipelineView().query(rows),
        DepartmentBridgesView().query(rows),
    )


@pytest.mark.parametrize("seed", range(5))
def test_the_views_do_not_depend_on_how_aggregates_interleave(
    told: tuple[RotationProgram, dict[str, UUID]], seed: int
) -> None:
    program, _ = told
    envelopes = log_of(program)
    for view in rotation_views(settings={}):
        ordered = replay(view, envelopes)
        shuffled = replay(view, interleaved(envelopes, seed))
        assert answers(shuffled) == answers(ordered), view.name


def golden_envelopes() -> list[Envelope]:
    factory = InfrastructureFactory.construct(
        Environment("RotationProgram", {"MAPPER_TOPIC": "adapters.mapper:CattrsMapper"})
    )
    mapper = factory.mapper()
    assert type(mapper) is CattrsMapper
    envelopes = []
    try:
        for position, line in enumerate(GOLDEN.read_text(encoding="utf-8").splitlines(), 1):
            record = json.loads(line)
            stored = StoredEvent(
                originator_id=UUID(record["originator_id"]),
                originator_version=record["originator_version"],
                topic=record["topic"],
                state=record["state"].encode("utf-8"),
            )
            event = mapper.to_domain_event(stored)
            envelopes.append(
                Envelope(
                    position, stored.topic, event.originator_id, event.originator_version, event
                )
            )
    finally:
        factory.close()
    return envelopes


def test_the_log_gives_the_envelopes_their_constructor_makes() -> None:
    envelopes = golden_envelopes()  # made with Envelope(...)
    program = open_program("memory:")
    try:
        seed_company(program)
        for logged in log_of(program):  # made by envelope_of, without Envelope's own call
            made = Envelope(
                logged.position,
                logged.topic,
                logged.originator_id,
                logged.originator_version,
                logged.event,
            )
            assert logged == made
            assert type(logged) is Envelope
            assert (logged.originator_key, logged.name) == (
                str(logged.originator_id),
                logged.topic.rsplit(":", 1)[-1],
            )
    finally:
        program.close()
    assert all(e.originator_key == str(e.originator_id) for e in envelopes)


def test_every_view_folds_every_golden_event_without_raising() -> None:
    envelopes = golden_envelopes()
    assert len(envelopes) == 123
    for view in rotation_views(settings={}):
        rows = MemoryRows()
        for envelope in envelopes:  # every event, not only the view's topics
            view.apply(envelope, rows)
        assert rows.docs == replay(view, envelopes).docs, view.name


def test_the_golden_story_gives_the_expected_rows() -> None:
    envelopes = golden_envelopes()

    def rows_of(view: View) -> MemoryRows:
        return replay(view, envelopes)

    assert [
        (row.employee, row.department, row.status)
        for row in ParticipationView().query(rows_of(ParticipationView()), "2027-H1")
    ] == [
        ("E1", "IT", "met"), ("E2", "IT", "met"), ("E3", "IT", "missed"),
        ("E4", "IT", "met"), ("E5", "ITOPS", "missed"), ("E6", "ITOPS", "exempted"),
    ]  # fmt: skip
    capacity = CapacityView()
    january = capacity.query(rows_of(capacity), d(1, 10))
    assert [(a.participant, a.host_department, a.mentor) for a in january.away] == [
        ("E1", "FIN", "M1")
    ]
    assert january.policy == Policy(31, 4, 1, 1, True)
    assert capacity.query(rows_of(capacity), d(6, 10)).away == ()
    engagement = MentorEngagementView()
    assert engagement.query(rows_of(engagement)) == (
        MentorRow("M1", 1, 1, 0, 1, 1, 1, 1, 1, ()),
        MentorRow("M3", 3, 2, 1, 1, 0, 0, 0, 1, ()),
        MentorRow("M4", 1, 0, 0, 0, 0, 0, 0, 0, ()),
        MentorRow("M5", 1, 1, 0, 1, 0, 0, 0, 0, ()),
        MentorRow("M6", 1, 1, 0, 1, 0, 1, 0, 0, ()),
    )
    pipeline = ImprovementPipelineView()
    assert pipeline.query(rows_of(pipeline)).departments == (
        DepartmentPipelineRow("FIN", 1, 0, 1, 0, 0, 1.0, 26.0),
        DepartmentPipelineRow("LEGAL", 1, 1, 0, 0, 0, None, None),
        DepartmentPipelineRow("OPS", 2, 0, 0, 1, 1, 0.0, None),
    )
    bridges = DepartmentBridgesView()
    assert bridges.query(rows_of(bridges)) == (
        BridgeRow("FIN", "Finance", 1, 1, 1, 1, 1, 1),
        BridgeRow("HR", "Human Resources", 0, 0, 0, 0, 0, 0),
        BridgeRow("LEGAL", "Legal", 1, 1, 0, 1, 0, 1),
        BridgeRow("OPS", "Operations", 1, 1, 1, 2, 0, 1),
    )


def test_a_view_of_an_empty_log_answers_with_empty_rows(program: RotationProgram) -> None:
    rows = MemoryRows()

    assert ParticipationView().query(rows, "2027-H1") == ()
    assert MentorEngagementView().query(rows) == ()
    assert ImprovementPipelineView().query(rows).improvements == ()
    assert DepartmentBridgesView().query(rows) == ()
    assert log_of(program) == []
