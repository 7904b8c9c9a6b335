"""Every hook of ``rotation_domain.hookspecs``, exercised through the public API.

Tests of a hook are named ``test_<hook>_...``: tests/test_docs_plugins.py fails when a
hook has none. The plugins are registered for one test with the ``register_plugin``
fixture of `rotation_domain.testing`, which blocks installed entry-point plugins.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from rotation_domain import WITHHELD, NotAuthorized, PolicyViolation, RotationProgram
from rotation_domain.consumers import Envelope, Integration, Rows, RowsReader, View
from rotation_domain.errors import CommandVetoed
from rotation_domain.hookspecs import hookimpl
from rotation_domain.plugin_manager import load_plugins
from rotation_domain.testing import (
    TEST_SETTINGS,
    Command,
    RecordingIntegration,
    RegisterPlugin,
    command,
    expect_side_effects,
    expect_view,
    failures_of,
    given,
    plan,
    rotation_in_progress,
    small_company,
)

pytest_plugins = ["rotation_domain.testing"]

NO_BACKOFF = {"ROTATION_RETRY_BACKOFF_SECONDS": "0"}


class EventCounts:
    """A view counting the events of each name."""

    name = "event_counts"
    version = 1
    topics: frozenset[str] = frozenset()

    def apply(self, envelope: Envelope, rows: Rows) -> None:
        doc = rows.get(envelope.name) or {"count": 0}
        rows.put(envelope.name, {"count": doc["count"] + 1})

    def query(self, reader: RowsReader) -> dict[str, int]:
        return {key: doc["count"] for key, doc in reader.scan()}

    def query_total(self, reader: RowsReader) -> int:
        return sum(doc["count"] for _, doc in reader.scan())


class Broken:
    """A view that raises on every event."""

    name = "broken"
    version = 1
    topics: frozenset[str] = frozenset()

    def apply(self, envelope: Envelope, rows: Rows) -> None:
        raise ValueError(f"cannot fold {envelope.name}")

    def query(self, reader: RowsReader) -> list[str]:
        return [key for key, _ in reader.scan()]


class ViewsPlugin:
    """A plugin providing the views it is given."""

    def __init__(self, *views: View, name: str = "views_plugin") -> None:
        self.views = views
        self.name = name
        self.settings_seen: list[Mapping[str, str]] = []

    @hookimpl
    def rotation_views(self, settings: Mapping[str, str]) -> Sequence[View]:
        self.settings_seen.append(settings)
        return self.views


def events_recorded(program: RotationProgram) -> int:
    return program.app.recorder.max_notification_id() or 0


def status_of(program: RotationProgram, consumer: str) -> Any:
    return next(status for status in program.consumer_status() if status.name == consumer)


def info_of(program: RotationProgram, plugin: str) -> Any:
    return next(info for info in program.plugins() if info.name == plugin)


# ---------------------------------------------------------------- rotation_views


def test_rotation_views_a_plugin_view_is_queried_by_its_name_on_program_views(
    register_plugin: RegisterPlugin,
) -> None:
    program = register_plugin(ViewsPlugin(EventCounts()))
    given(program, small_company, plan("E1", "FIN"))

    assert "event_counts" in program.views.names()
    counts = program.views.event_counts()
    assert counts["DepartmentRegistered"] == 3
    assert counts["RotationPlanned"] == 1
    assert program.views.event_counts.total() == events_recorded(program)
    assert expect_view(program, "event_counts.total") == events_recorded(program)
    assert info_of(program, "views_plugin").hooks == ("rotation_views",)
    assert status_of(program, "event_counts").plugin == "views_plugin"


def test_rotation_views_is_called_once_with_the_program_settings(
    register_plugin: RegisterPlugin,
) -> None:
    plugin = ViewsPlugin(EventCounts())
    register_plugin(plugin, settings={"EXAMPLE_SETTING": "on"})

    assert len(plugin.settings_seen) == 1
    assert plugin.settings_seen[0]["EXAMPLE_SETTING"] == "on"
    assert plugin.settings_seen[0]["PERSISTENCE_MODULE"] == "eventsourcing.popo"


def test_rotation_views_a_plugin_that_raises_is_reported_failed_and_the_program_still_opens(
    register_plugin: RegisterPlugin,
) -> None:
    class Exploding:
        name = "exploding"

        @hookimpl
        def rotation_views(self, settings: Mapping[str, str]) -> Sequence[View]:
            raise RuntimeError("no database for my view")

    program = register_plugin(Exploding())

    info = info_of(program, "exploding")
    assert info.status == "failed"
    assert "rotation_views raised RuntimeError('no database for my view')" in (info.error or "")
    assert info_of(program, "default_views").status == "active"
    given(program, small_company)
    assert program.views.participation("none") == ()


def test_rotation_views_a_view_that_raises_on_every_event_is_parked_while_the_rest_carry_on(
    register_plugin: RegisterPlugin,
) -> None:
    program = register_plugin(ViewsPlugin(Broken(), EventCounts()))

    (_, rotation) = given(program, small_company, rotation_in_progress("E1", "FIN", "M1"))
    given(program, command("record_observation", rotation, "Invoices are re-keyed by hand"))

    head = events_recorded(program)
    broken = status_of(program, "broken")
    assert (broken.position, broken.parked, broken.lag) == (head, head, 0)
    assert all(f.status == "parked" and f.attempts == 1 for f in failures_of(program, "broken"))
    assert "ValueError: cannot fold" in failures_of(program, "broken")[0].last_error
    assert program.views.broken() == []
    assert expect_view(program, "event_counts.total") == head
    assert status_of(program, "participation").parked == 0
    with pytest.raises(AssertionError, match="view 'broken' failed on events"):
        expect_view(program, "broken")


def test_rotation_views_a_new_version_rebuilds_the_view_from_zero(
    register_plugin: RegisterPlugin,
) -> None:
    view = EventCounts()
    program = register_plugin(ViewsPlugin(view))
    given(program, small_company)
    before = expect_view(program, "event_counts")

    view.version = 2
    program.catch_up()

    assert program.consumers.store.view_version("event_counts") == 2
    assert expect_view(program, "event_counts") == before


def test_rotation_views_rebuild_replays_the_log_into_one_view_or_every_view(
    register_plugin: RegisterPlugin,
) -> None:
    program = register_plugin(ViewsPlugin(EventCounts()))
    given(program, small_company, plan("E1", "FIN"))
    before = expect_view(program, "event_counts")
    progress: list[tuple[int, int]] = []

    program.rebuild("event_counts", progress=lambda done, total: progress.append((done, total)))
    assert expect_view(program, "event_counts") == before
    assert progress[-1] == (events_recorded(program), events_recorded(program))

    program.rebuild()
    assert expect_view(program, "event_counts") == before
    with pytest.raises(KeyError, match="no view is named 'nope'"):
        program.rebuild("nope")


class PersonalNotes:
    """A view keeping the text of each observation and the topic of each session."""

    version = 1
    topics = frozenset({"rotation_domain:ObservationRecorded", "rotation_domain:MentorSessionHeld"})

    def __init__(self, name: str, personal_fields: object = None) -> None:
        self.name = name
        if personal_fields is not None:
            self.personal_fields = personal_fields

    def apply(self, envelope: Envelope, rows: Rows) -> None:
        event = envelope.event
        note = event.text if envelope.name == "ObservationRecorded" else event.topic
        rows.put(f"{envelope.position:08d}", {"note": note})

    def query(self, reader: RowsReader) -> list[str]:
        return [doc["note"] for _, doc in reader.scan()]


def _notes_recorded(program: RotationProgram) -> None:
    rotation = given(program, small_company, rotation_in_progress("E1", "FIN", "M1"))[-1]
    mentorship = program.get(rotation).mentorship_id
    with program.acting_as("M1"):
        program.hold_mentor_session(
            mentorship, kind="discussion", on="2027-01-05", topic="How the close works"
        )
    program.record_observation(rotation, "Invoices are re-keyed by hand", actor="E1")


@pytest.mark.parametrize(
    ("declared", "notes", "decrypted"),
    [
        (frozenset(), [WITHHELD, WITHHELD], []),
        ({"text"}, [WITHHELD, "Invoices are re-keyed by hand"], [b"text"]),
        ({"text", "topic"}, ["How the close works", "Invoices are re-keyed by hand"], None),
    ],
)
def test_rotation_views_a_view_gets_only_the_personal_fields_it_declares(
    register_plugin: RegisterPlugin,
    monkeypatch: pytest.MonkeyPatch,
    declared: set[str],
    notes: list[str],
    decrypted: list[bytes] | None,
) -> None:
    program = register_plugin(ViewsPlugin(PersonalNotes("notes", declared)))
    opened: list[bytes] = []
    mapper: Any = program.app.mapper
    open_envelope = mapper._open
    monkeypatch.setattr(
        mapper, "_open", lambda sealed, aad: opened.append(aad) or open_envelope(sealed, aad)
    )
    _notes_recorded(program)

    assert program.views.notes() == notes
    fields = [aad.rsplit(b":", 1)[-1] for aad in opened]
    if decrypted is not None:  # the default views decrypt names; the notes only if asked
        assert [field for field in fields if field in (b"text", b"topic")] == decrypted
    program.rebuild()
    assert program.views.notes() == notes


def test_rotation_views_a_view_that_does_not_declare_its_personal_fields_gets_them_all(
    register_plugin: RegisterPlugin,
) -> None:
    program = register_plugin(
        ViewsPlugin(PersonalNotes("everything"), PersonalNotes("blind", frozenset()))
    )
    _notes_recorded(program)

    expected = ["How the close works", "Invoices are re-keyed by hand"]
    assert program.views.everything() == expected
    assert program.views.blind() == expected  # they share the event the other needs opened


@pytest.mark.parametrize("declared", ["text", ["text"], frozenset({1})])
def test_rotation_views_personal_fields_that_are_not_a_set_of_names_fail_the_plugin(
    register_plugin: RegisterPlugin, declared: object
) -> None:
    program = register_plugin(ViewsPlugin(PersonalNotes("notes", declared)))

    info = info_of(program, "views_plugin")
    assert info.status == "failed"
    assert "personal_fields" in info.error
    assert "notes" not in program.views.names()


# ---------------------------------------------------------------- rotation_integrations


def test_rotation_integrations_deliver_each_event_once_with_its_own_idempotency_key(
    register_plugin: RegisterPlugin,
) -> None:
    integration = RecordingIntegration("audit", topics=["RotationPlanned", "RotationStarted"])
    program = register_plugin(integration)

    given(program, small_company, plan("E1", "FIN"), plan("E2", "OPS"))

    keys = expect_side_effects(integration, ["RotationPlanned", "RotationPlanned"])
    assert len(set(keys)) == 2
    assert all(key.startswith("audit:") for key in keys)
    assert info_of(program, "audit").hooks == ("rotation_integrations",)
    assert status_of(program, "audit").kind == "integration"


def test_rotation_integrations_a_failing_delivery_is_retried_with_the_same_key(
    register_plugin: RegisterPlugin,
) -> None:
    integration = RecordingIntegration(topics=["DepartmentRegistered"], fail_times=2)
    program = register_plugin(integration, settings=NO_BACKOFF)

    given(program, ("register_department", "FIN", {"name": "Finance"}))
    [failure] = failures_of(program, "recording")
    assert (failure.status, failure.attempts) == ("retrying", 1)
    assert "DeliveryFailed" in failure.last_error
    assert status_of(program, "recording").retrying == 1

    program.catch_up()
    program.catch_up()

    assert failures_of(program, "recording") == []
    assert len({key for _, key in integration.attempts}) == 1
    assert len(integration.attempts) == 3
    expect_side_effects(integration, ["DepartmentRegistered"])


def test_rotation_integrations_a_retry_waits_out_a_backoff_that_doubles(
    register_plugin: RegisterPlugin,
) -> None:
    integration = RecordingIntegration(
        topics=["DepartmentRegistered"], fail_times=2, max_attempts=5
    )
    program = register_plugin(integration, settings={"ROTATION_RETRY_BACKOFF_SECONDS": "60"})
    clock = [datetime(2027, 1, 4, 9, 0, tzinfo=UTC)]
    program.consumers.integrations["recording"].now = lambda: clock[0]

    given(program, ("register_department", "FIN", {"name": "Finance"}))
    [failure] = failures_of(program, "recording")
    assert failure.next_attempt_at == clock[0] + timedelta(seconds=60)

    clock[0] += timedelta(seconds=59)
    program.catch_up()
    assert len(integration.attempts) == 1, "the retry is not due yet"
    given(program, ("register_department", "OPS", {"name": "Operations"}))
    assert len(integration.attempts) == 1, "later events wait behind the failing one"

    clock[0] += timedelta(seconds=1)
    program.catch_up()
    [failure] = failures_of(program, "recording")
    assert (failure.attempts, failure.next_attempt_at) == (2, clock[0] + timedelta(seconds=120))

    clock[0] += timedelta(seconds=120)
    program.catch_up()
    expect_side_effects(integration, ["DepartmentRegistered", "DepartmentRegistered"])
    assert failures_of(program, "recording") == []


def test_rotation_integrations_an_event_is_parked_after_max_attempts_and_the_next_go_on(
    register_plugin: RegisterPlugin,
) -> None:
    integration = RecordingIntegration(
        topics=["DepartmentRegistered"], fail_times=2, max_attempts=2
    )
    program = register_plugin(integration, settings=NO_BACKOFF)

    given(program, ("register_department", "FIN", {"name": "Finance"}))
    program.catch_up()
    given(program, ("register_department", "OPS", {"name": "Operations"}))

    [parked] = failures_of(program, "recording")
    assert (parked.status, parked.attempts, parked.position) == ("parked", 2, 1)
    status = status_of(program, "recording")
    assert (status.parked, status.retrying, status.position) == (1, 0, events_recorded(program))
    expect_side_effects(integration, ["DepartmentRegistered"])
    assert integration.received[0][1] != integration.attempts[0][1]


def test_rotation_integrations_a_parked_event_is_retried_or_skipped_by_hand(
    register_plugin: RegisterPlugin,
) -> None:
    integration = RecordingIntegration(
        topics=["DepartmentRegistered"], fail_times=2, max_attempts=1
    )
    program = register_plugin(integration, settings=NO_BACKOFF)
    runner = program.consumers.integrations["recording"]
    given(
        program,
        ("register_department", "FIN", {"name": "Finance"}),
        ("register_department", "OPS", {"name": "Operations"}),
    )
    first, second = (f.position for f in failures_of(program, "recording"))
    assert status_of(program, "recording").parked == 2

    assert runner.retry_parked(first) is True
    assert [f.position for f in failures_of(program, "recording")] == [second]
    assert integration.received == [("DepartmentRegistered", integration.attempts[0][1])]

    runner.skip_parked(second)
    assert failures_of(program, "recording") == []
    assert status_of(program, "recording").parked == 0
    expect_side_effects(integration, ["DepartmentRegistered"])


def test_rotation_integrations_a_retried_parked_event_that_fails_again_stays_parked(
    register_plugin: RegisterPlugin,
) -> None:
    integration = RecordingIntegration(
        topics=["DepartmentRegistered"], fail_times=2, max_attempts=1
    )
    program = register_plugin(integration, settings=NO_BACKOFF)
    given(program, ("register_department", "FIN", {"name": "Finance"}))
    [parked] = failures_of(program, "recording")

    assert program.consumers.integrations["recording"].retry_parked(parked.position) is False

    [still] = failures_of(program, "recording")
    assert (still.status, still.attempts) == ("parked", 2)
    expect_side_effects(integration, [])


def test_rotation_integrations_are_never_refired_by_a_rebuild(
    register_plugin: RegisterPlugin,
) -> None:
    integration = RecordingIntegration()
    program = register_plugin(integration, ViewsPlugin(EventCounts()))
    given(program, small_company, plan("E1", "FIN"))
    delivered = list(integration.attempts)
    assert len(delivered) == events_recorded(program)

    program.rebuild()
    program.rebuild("event_counts")
    program.catch_up()

    assert integration.attempts == delivered
    assert expect_view(program, "event_counts.total") == events_recorded(program)


def test_rotation_integrations_only_receive_the_topics_they_ask_for(
    register_plugin: RegisterPlugin,
) -> None:
    planned = RecordingIntegration("planned", topics=["rotation_domain:RotationPlanned"])
    everything = RecordingIntegration("everything")
    program = register_plugin(planned, everything)

    given(program, small_company, plan("E1", "FIN"))

    expect_side_effects(planned, ["RotationPlanned"])
    assert len(everything.side_effects) == events_recorded(program)


# ---------------------------------------------------------------- rotation_validate_command


class ClosedDepartments:
    """Vetoes rotations into closed departments and remembers every call."""

    name = "closed_departments"

    def __init__(self, *closed: str) -> None:
        self.closed = set(closed)
        self.calls: list[tuple[str, str, dict[str, Any]]] = []

    @hookimpl
    def rotation_validate_command(
        self, action: str, actor: str, context: Mapping[str, Any]
    ) -> str | None:
        self.calls.append((action, actor, dict(context)))
        if action == "plan_rotation" and context["host"] in self.closed:
            return f"{context['host']} takes no guests this quarter"
        return None


def test_rotation_validate_command_a_veto_raises_command_vetoed_and_records_nothing(
    register_plugin: RegisterPlugin,
) -> None:
    program = register_plugin(ClosedDepartments("FIN"))
    given(program, small_company)
    before = events_recorded(program)

    with pytest.raises(CommandVetoed) as refused:
        given(program, plan("E1", "FIN"))

    assert isinstance(refused.value, PolicyViolation)
    assert refused.value.rule == "company"
    assert refused.value.details == {
        "action": "plan_rotation",
        "reason": "FIN takes no guests this quarter",
    }
    assert "plan rotation refused by a company rule: FIN takes no guests" in str(refused.value)
    assert events_recorded(program) == before
    assert {
        row.department: row.rotations_hosted for row in expect_view(program, "department_bridges")
    } == {
        "FIN": 0,
        "OPS": 0,
    }


def test_rotation_validate_command_none_lets_the_command_through(
    register_plugin: RegisterPlugin,
) -> None:
    program = register_plugin(ClosedDepartments("FIN"))

    (rotation,) = given(program, small_company, plan("E1", "OPS"))[-1:]

    assert program.get(rotation).host_department == "OPS"


def test_rotation_validate_command_sees_the_action_the_actor_and_the_context(
    register_plugin: RegisterPlugin,
) -> None:
    veto = ClosedDepartments()
    program = register_plugin(veto)
    given(program, small_company)
    veto.calls.clear()

    (rotation,) = given(program, plan("E1", "FIN", actor="planner@example.com"))
    (mentorship,) = given(program, command("nominate_mentor", rotation, mentor="M1"))
    given(program, command("accept_mentorship", mentorship, actor="M1"))
    given(program, command("start_rotation", rotation, on="2027-01-06"))

    assert [(action, actor) for action, actor, _ in veto.calls] == [
        ("plan_rotation", "planner@example.com"),
        ("nominate_mentor", "cio@example.com"),
        ("accept_mentorship", "M1"),
        ("start_rotation", "cio@example.com"),
    ]
    assert veto.calls[0][2] == {"employee": "E1", "host": "FIN"}
    assert veto.calls[1][2]["mentor"] == "M1"
    assert veto.calls[2][2]["mentorship"].id == mentorship
    started = veto.calls[3][2]["rotation"]
    assert started.id == rotation
    assert started.started_on == date(2027, 1, 6), "the veto sees the command's changes"


def test_rotation_validate_command_any_plugin_can_veto(register_plugin: RegisterPlugin) -> None:
    class Quiet:
        @hookimpl
        def rotation_validate_command(
            self, action: str, actor: str, context: Mapping[str, Any]
        ) -> str | None:
            return None

    program = register_plugin(ClosedDepartments("OPS"), Quiet())
    given(program, small_company)

    with pytest.raises(CommandVetoed, match="OPS takes no guests"):
        given(program, plan("E1", "OPS"))


# ---------------------------------------------------------------- rotation_authorize


class Answer:
    """Answers ``rotation_authorize`` for one action with a fixed value."""

    def __init__(self, name: str, action: str, answer: bool | None) -> None:
        self.name = name
        self.action = action
        self.answer = answer
        self.asked = 0

    @hookimpl
    def rotation_authorize(
        self, action: str, actor: str, context: Mapping[str, Any]
    ) -> bool | None:
        if action != self.action:
            return None
        self.asked += 1
        return self.answer


def test_rotation_authorize_false_raises_not_authorized_naming_actor_and_action(
    register_plugin: RegisterPlugin,
) -> None:
    program = register_plugin(Answer("no_planning", "plan_rotation", False))
    given(program, small_company)
    before = events_recorded(program)

    with pytest.raises(NotAuthorized) as refused:
        given(program, plan("E1", "FIN", actor="intern@example.com"))

    assert refused.value.details == {"actor": "intern@example.com", "action": "plan_rotation"}
    assert "intern@example.com may not plan rotation" in str(refused.value)
    assert events_recorded(program) == before


def test_rotation_authorize_none_from_every_plugin_allows_the_command(
    register_plugin: RegisterPlugin,
) -> None:
    undecided = Answer("undecided", "plan_rotation", None)
    program = register_plugin(undecided)

    given(program, small_company, plan("E1", "FIN"))

    assert undecided.asked == 1
    hosted = {
        row.department: row.rotations_hosted for row in expect_view(program, "department_bridges")
    }
    assert hosted == {"FIN": 1, "OPS": 0}


def test_rotation_authorize_the_first_answer_wins(register_plugin: RegisterPlugin) -> None:
    refuse = Answer("refuse", "plan_rotation", False)
    grant = Answer("grant", "plan_rotation", True)
    undecided = Answer("undecided", "plan_rotation", None)
    # pluggy asks the plugin registered last first: undecided, then grant, then refuse.
    granted = register_plugin(refuse, grant, undecided)
    given(granted, small_company, plan("E1", "FIN"))
    assert (undecided.asked, grant.asked, refuse.asked) == (1, 1, 0)

    refused = register_plugin(grant, refuse)
    given(refused, small_company)
    with pytest.raises(NotAuthorized):
        given(refused, plan("E1", "FIN"))


def test_rotation_authorize_is_asked_before_the_command_changes_anything(
    register_plugin: RegisterPlugin,
) -> None:
    seen: list[str] = []

    class Watcher:
        @hookimpl
        def rotation_authorize(
            self, action: str, actor: str, context: Mapping[str, Any]
        ) -> bool | None:
            if action == "start_rotation":
                seen.append(context["rotation"].status)
            return None

    program = register_plugin(Watcher())
    (rotation,) = given(program, small_company, plan("E1", "FIN"))[-1:]
    (mentorship,) = given(program, command("nominate_mentor", rotation, mentor="M1"))
    given(program, command("accept_mentorship", mentorship, actor="M1"))
    given(program, command("start_rotation", rotation, on="2027-01-04"))

    assert seen == ["planned"]


# ---------------------------------------------------------------- rotation_directory_sources


class HrCsv:
    """A directory source stand-in."""

    name = "hr_csv"

    def __init__(self, path: str) -> None:
        self.path = path

    def read(self) -> dict[str, list[dict[str, str]]]:
        return {"departments": [{"code": "FIN", "name": "Finance"}], "employees": []}


def test_rotation_directory_sources_are_collected_from_every_plugin_and_callable(
    register_plugin: RegisterPlugin,
) -> None:
    class HrPlugin:
        name = "hr"

        @hookimpl
        def rotation_directory_sources(self, settings: Mapping[str, str]) -> Sequence[Any]:
            return [HrCsv(settings["HR_CSV"])]

    class Nothing:
        @hookimpl
        def rotation_directory_sources(self, settings: Mapping[str, str]) -> None:
            return None

    program = register_plugin(HrPlugin(), Nothing())

    results = program.plugin_manager.hook.rotation_directory_sources(
        settings={"HR_CSV": "/srv/hr.csv"}
    )

    sources = [source for given_sources in results for source in given_sources]
    assert [(source.name, source.path) for source in sources] == [("hr_csv", "/srv/hr.csv")]
    assert sources[0].read()["departments"][0]["code"] == "FIN"
    assert info_of(program, "hr").hooks == ("rotation_directory_sources",)


def test_rotation_periodic_tasks_run_when_due_and_a_failing_one_never_stops_the_others(
    register_plugin: RegisterPlugin,
) -> None:
    ran: list[str] = []

    class Digest:
        name = "weekly-digest"
        interval_seconds = 3600.0

        def run(self, program: Any, now: datetime) -> int:
            ran.append(now.isoformat())
            return len(program.consumer_status())

    class Broken:
        name = "broken"
        interval_seconds = 0.0

        def run(self, program: Any, now: datetime) -> None:
            raise RuntimeError("the mail merge is down")

    class TasksPlugin:
        name = "digests"

        @hookimpl
        def rotation_periodic_tasks(self, settings: Mapping[str, str]) -> Sequence[Any]:
            return [Digest(), Broken()]

    program = register_plugin(TasksPlugin())
    noon = datetime(2027, 1, 4, 12, tzinfo=UTC)

    first = program.run_due_tasks(noon)
    again = program.run_due_tasks(noon)

    assert [(run.name, run.plugin, run.error) for run in first] == [
        ("broken", "digests", "RuntimeError: the mail merge is down"),
        ("weekly-digest", "digests", None),
    ]
    assert first[1].result == len(program.consumer_status())
    assert [run.name for run in again] == ["broken"]  # the digest is not due for an hour
    assert ran == [noon.isoformat()]
    assert info_of(program, "digests").hooks == ("rotation_periodic_tasks",)


def test_rotation_periodic_tasks_with_a_taken_name_fail_their_plugin(
    register_plugin: RegisterPlugin,
) -> None:
    class Task:
        name = "digest"
        interval_seconds = 60.0

        def run(self, program: Any, now: datetime) -> None:
            return None

    class First:
        name = "first"

        @hookimpl
        def rotation_periodic_tasks(self, settings: Mapping[str, str]) -> Sequence[Any]:
            return [Task()]

    class Second(First):
        name = "second"

    program = register_plugin(First(), Second())

    assert list(program.tasks.tasks) == ["digest"]
    assert info_of(program, "second").status == "failed"
    assert "task names must be unique" in (info_of(program, "second").error or "")


# ---------------------------------------------------------------- loading


def test_the_default_views_are_a_default_plugin(register_plugin: RegisterPlugin) -> None:
    program = register_plugin(ViewsPlugin())

    info = info_of(program, "default_views")
    assert (info.source, info.status, info.hooks) == ("default", "active", ("rotation_views",))
    assert {"participation", "capacity", "department_bridges"} <= set(program.views.names())


def test_a_plugin_left_out_of_the_rotation_plugins_allow_list_is_blocked(
    register_plugin: RegisterPlugin, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ROTATION_PLUGINS", "default_views, other")

    program = register_plugin(ViewsPlugin(EventCounts(), name="counting"))

    assert info_of(program, "counting").status == "blocked"
    assert info_of(program, "default_views").status == "active"
    assert "event_counts" not in program.views.names()


def test_a_plugin_named_in_rotation_disable_plugins_is_blocked(
    register_plugin: RegisterPlugin, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ROTATION_DISABLE_PLUGINS", "counting,default_views")

    program = register_plugin(ViewsPlugin(EventCounts(), name="counting"), RecordingIntegration())

    assert info_of(program, "counting").status == "blocked"
    assert info_of(program, "default_views").status == "blocked"
    assert info_of(program, "recording").status == "active"
    assert program.views.names() == []
    assert [status.name for status in program.consumer_status()] == ["recording"]


def test_a_plugin_that_fails_to_import_is_reported_and_skipped() -> None:
    plugins = load_plugins(
        environ={}, defaults=["rotation_domain.default_views", "rotation_domain.no_such_plugin"]
    )

    failed = next(info for info in plugins.infos if info.name == "no_such_plugin")
    assert failed.status == "failed"
    assert "ModuleNotFoundError" in (failed.error or "")
    assert next(i for i in plugins.infos if i.name == "default_views").status == "active"


def test_a_plugin_whose_hooks_do_not_match_the_specs_is_reported_and_skipped(
    register_plugin: RegisterPlugin,
) -> None:
    class WrongArguments:
        name = "wrong_arguments"

        @hookimpl
        def rotation_views(self, settings: Mapping[str, str], user: str) -> Sequence[View]:
            return [EventCounts()]

    program = register_plugin(WrongArguments())

    info = info_of(program, "wrong_arguments")
    assert info.status == "failed"
    assert "user" in (info.error or "")
    assert "event_counts" not in program.views.names()


def test_rotation_views_a_hook_that_takes_no_settings_is_called_without_them(
    register_plugin: RegisterPlugin,
) -> None:
    class NoSettings:
        name = "no_settings"

        @hookimpl
        def rotation_views(self) -> Sequence[View]:
            return [EventCounts()]

    program = register_plugin(NoSettings())

    assert info_of(program, "no_settings").status == "active"
    assert "event_counts" in program.views.names()


def test_rotation_views_a_plugin_whose_view_name_is_taken_is_reported_and_left_out(
    register_plugin: RegisterPlugin,
) -> None:
    class Clashing:
        name = "clashing"

        @hookimpl
        def rotation_views(self, settings: Mapping[str, str]) -> Sequence[View]:
            view = EventCounts()
            view.name = "participation"
            return [view]

    program = register_plugin(Clashing())

    info = info_of(program, "clashing")
    assert info.status == "failed"
    assert "'participation'" in (info.error or "")
    assert "'default_views'" in (info.error or "")
    given(program, small_company)
    assert program.views.participation("none") == ()


def test_rotation_validate_command_of_a_failed_plugin_no_longer_runs(
    register_plugin: RegisterPlugin,
) -> None:
    class HalfBroken:
        name = "half_broken"

        @hookimpl
        def rotation_views(self, settings: Mapping[str, str]) -> Sequence[View]:
            raise RuntimeError("broken")

        @hookimpl
        def rotation_validate_command(
            self, action: str, actor: str, context: Mapping[str, Any]
        ) -> str | None:
            return "everything is refused"

    program = register_plugin(HalfBroken())

    assert info_of(program, "half_broken").status == "failed"
    given(program, small_company)  # no veto: the failed plugin's hooks are gone


def test_a_plugin_with_a_misspelled_hook_is_reported_failed(
    register_plugin: RegisterPlugin,
) -> None:
    class Misspelled:
        name = "misspelled"

        @hookimpl
        def rotation_view(self, settings: Mapping[str, str]) -> Sequence[View]:
            return [EventCounts()]

    program = register_plugin(Misspelled())

    info = info_of(program, "misspelled")
    assert info.status == "failed"
    assert "rotation_view" in (info.error or "")


def test_rotation_authorize_plugins_still_decide_when_the_host_gives_an_authorize_callable() -> (
    None
):
    from rotation_domain import open_program

    asked: list[str] = []

    with open_program(
        "memory:",
        plugins=[Answer("no_planning", "plan_rotation", False)],
        authorize=lambda actor, action, context: asked.append(action),
    ) as program:
        given(program, small_company)
        with pytest.raises(NotAuthorized):
            given(program, plan("E1", "FIN"))
    assert "plan_rotation" in asked


class FailsOnce:
    """A view that fails the first time it sees each event, then folds it."""

    name = "fails_once"
    version = 1
    max_attempts = 2
    topics: frozenset[str] = frozenset({"rotation_domain:DepartmentRegistered"})

    def __init__(self) -> None:
        self.seen: set[int] = set()

    def apply(self, envelope: Envelope, rows: Rows) -> None:
        if envelope.position not in self.seen:
            self.seen.add(envelope.position)
            raise RuntimeError("not yet")
        rows.put(envelope.event.code, {})

    def query(self, reader: RowsReader) -> list[str]:
        return [key for key, _ in reader.scan()]


def test_rotation_views_a_failure_that_passes_on_retry_leaves_no_failure_record(
    register_plugin: RegisterPlugin,
) -> None:
    program = register_plugin(ViewsPlugin(FailsOnce()))
    with program.acting_as("cio@example.com"):
        program.register_department("FIN", name="Finance")
        assert status_of(program, "fails_once").retrying == 1
        program.register_department("OPS", name="Operations")
    program.catch_up()

    assert program.views.fails_once() == ["FIN", "OPS"]
    status = status_of(program, "fails_once")
    assert (status.retrying, status.parked, status.lag) == (0, 0, 0)


def test_rotation_views_a_view_of_a_few_topics_shows_no_lag_once_up_to_date(
    register_plugin: RegisterPlugin,
) -> None:
    program = register_plugin(ViewsPlugin(EventCounts()))
    given(program, small_company)

    assert {status.name: status.lag for status in program.consumer_status()} == {
        status.name: 0 for status in program.consumer_status()
    }


def test_rotation_integrations_only_parked_events_can_be_retried_or_skipped(
    register_plugin: RegisterPlugin,
) -> None:
    integration = RecordingIntegration()
    program = register_plugin(integration)
    given(program, small_company)
    runner = program.consumers.integrations[integration.name]

    with pytest.raises(LookupError, match="no parked event at position 1"):
        runner.retry_parked(1)
    with pytest.raises(LookupError, match="no parked event"):
        runner.skip_parked(1)


# ---------------------------------------------------------------- the toolkit itself


def test_the_toolkit_steps_accept_functions_commands_and_tuples(
    rotation_program: RotationProgram,
) -> None:
    results = given(
        rotation_program,
        small_company,
        command("register_department", "HR", name="Human Resources"),
        (
            "register_employee",
            "M3",
            {"name": "Mentor 3", "email": "m3@example.com", "department": "HR"},
        ),
        lambda program: program.policy().max_length_days,
    )

    assert results == [None, "HR", "M3", 31]
    with pytest.raises(ValueError, match="no command named 'plan'"):
        Command("plan")
    with pytest.raises(TypeError, match="starts with the command's name"):
        given(rotation_program, (1, 2))


def test_the_toolkit_programs_start_from_the_test_settings(
    register_plugin: RegisterPlugin,
) -> None:
    plugin = ViewsPlugin()
    register_plugin(plugin)

    assert {**plugin.settings_seen[0], **TEST_SETTINGS} == plugin.settings_seen[0]


def test_a_recording_integration_satisfies_the_integration_protocol() -> None:
    integration: Integration = RecordingIntegration()

    assert isinstance(integration, Integration)
    assert isinstance(EventCounts(), View)


def test_rotation_views_can_catch_up_on_read_instead_of_after_each_command(
    register_plugin: RegisterPlugin,
) -> None:
    program = register_plugin(
        ViewsPlugin(EventCounts()), settings={"ROTATION_VIEWS_CATCH_UP": "on-read"}
    )
    with program.acting_as("cio@example.com"):
        program.register_department("FIN", name="Finance")

    assert program.consumers.store.position("event_counts") == 0  # commands did not pay
    assert program.views.event_counts() == {"DepartmentRegistered": 1}  # the read caught up
    assert program.consumers.store.position("event_counts") == events_recorded(program)
