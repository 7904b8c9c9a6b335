"""The polling SQLite subscription, tested with eventsourcing's own recorder test cases."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import textwrap
import threading
from concurrent.futures import ThreadPoolExecutor
from itertools import islice
from pathlib import Path
from threading import Thread
from time import monotonic, sleep
from typing import TYPE_CHECKING, Any
from unittest import TestCase
from uuid import UUID, uuid4

import pytest
from eventsourcing.application import Application, ProcessingEvent
from eventsourcing.dispatch import singledispatchmethod
from eventsourcing.domain import Aggregate, event
from eventsourcing.persistence import InfrastructureFactory, StoredEvent, Tracking
from eventsourcing.projection import (
    EventSourcedProjection,
    EventSourcedProjectionRunner,
    Projection,
    ProjectionRunner,
)
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteDatastore, SQLiteTrackingRecorder

# eventsourcing's abstract test cases are reached through their module, so that
# pytest does not also collect them from this module's namespace.
from eventsourcing.tests import persistence as es_persistence_tests
from eventsourcing.utils import get_topic

from adapters.sqlite_subscription import (
    DEFAULT_POLL_INTERVAL,
    SELECT_LIMIT,
    PollingSQLiteApplicationRecorder,
    PollingSQLiteFactory,
    PollingSQLiteProcessRecorder,
    SQLitePollingSubscription,
)

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

    from eventsourcing.persistence import Notification

TIMEOUT = 10.0  # Seconds; generous so that a slow CI machine does not fail the tests.


# The library's own test cases, on a SQLite file.


class SQLiteFileTestCase(TestCase):
    """Gives each test a fresh SQLite file, and closes the datastores it opens."""

    db_name: str

    def setUp(self) -> None:
        super().setUp()
        tmpdir = tempfile.TemporaryDirectory(prefix="sqlite_subscription_")
        self.addCleanup(tmpdir.cleanup)
        self.db_name = str(Path(tmpdir.name) / "events.db")
        self._datastores: list[SQLiteDatastore] = []
        self._threads_before = set(threading.enumerate())
        # Cleanups run last-in first-out: this one runs before the file is removed.
        self.addCleanup(self._close_datastores)

    def new_datastore(self) -> SQLiteDatastore:
        # A large pool, as eventsourcing's own SQLite tests use for the concurrency tests.
        datastore = SQLiteDatastore(db_name=self.db_name, pool_size=100)
        self._datastores.append(datastore)
        return datastore

    def _close_datastores(self) -> None:
        # eventsourcing's test_concurrent_no_conflicts() tells its reader threads to
        # stop but does not join them. Closing a datastore closes the connections in
        # use too, and closing a sqlite3 connection while another thread executes on
        # it crashes the interpreter, so wait for the test's threads first.
        for thread in set(threading.enumerate()) - self._threads_before:
            thread.join(timeout=TIMEOUT)
            if thread.is_alive():
                self.fail(f"Thread {thread.name} started by the test is still running")
        for datastore in self._datastores:
            datastore.close()


class TestPollingSQLiteApplicationRecorder(
    SQLiteFileTestCase,
    es_persistence_tests.ApplicationRecorderTestCase[PollingSQLiteApplicationRecorder],
):
    recorder_class: type[PollingSQLiteApplicationRecorder] = PollingSQLiteApplicationRecorder

    def create_recorder(self) -> PollingSQLiteApplicationRecorder:
        recorder = self.recorder_class(self.new_datastore())
        recorder.create_table()
        return recorder

    def test_insert_subscribe(self) -> None:
        # eventsourcing names its subscription test "optional_..." so that only the
        # recorders that support subscriptions run it.
        self.optional_test_insert_subscribe()

    def test_subscribe_concurrent_reading_and_writing(self) -> None:
        recorder = self.create_recorder()
        self.check_reading_while_writing(reader=recorder, writer=recorder)

    def test_subscribe_concurrent_reading_and_writing_through_another_recorder(self) -> None:
        # The writer's recorder has its own datastore, as another process would:
        # the reader is not woken by it and sees its events by polling.
        reader = self.create_recorder()
        writer = self.create_recorder()
        self.check_reading_while_writing(reader=reader, writer=writer)

    def check_reading_while_writing(
        self,
        reader: PollingSQLiteApplicationRecorder,
        writer: PollingSQLiteApplicationRecorder,
    ) -> None:
        num_batches = 20
        batch_size = 100
        num_events = num_batches * batch_size

        def read(gt: int | None) -> list[int]:
            ids: list[int] = []
            with reader.subscribe(gt=gt) as subscription:
                for notification in subscription:
                    ids.append(notification.id)
                    if len(ids) == num_events:
                        break
            return ids

        def write() -> None:
            for _ in range(num_batches):
                writer.insert_events(
                    [
                        StoredEvent(
                            originator_id=uuid4(),
                            originator_version=self.INITIAL_VERSION,
                            topic="topic1",
                            state=b"state1",
                        )
                        for _ in range(batch_size)
                    ]
                )

        with ThreadPoolExecutor(max_workers=2) as executor:
            # Concurrently.
            gt = reader.max_notification_id()
            read_job = executor.submit(read, gt)
            executor.submit(write).result(timeout=TIMEOUT)
            ids = read_job.result(timeout=TIMEOUT)
            start = gt or 0
            assert ids == list(range(start + 1, start + num_events + 1))

            # Sequentially.
            gt = reader.max_notification_id()
            executor.submit(write).result(timeout=TIMEOUT)
            ids = executor.submit(read, gt).result(timeout=TIMEOUT)
            start = gt or 0
            assert ids == list(range(start + 1, start + num_events + 1))


class TestPollingSQLiteProcessRecorderAsApplicationRecorder(TestPollingSQLiteApplicationRecorder):
    """The process recorder's subscriptions, for following an EventSourcedProjection."""

    recorder_class = PollingSQLiteProcessRecorder


class TestPollingSQLiteProcessRecorder(
    SQLiteFileTestCase, es_persistence_tests.ProcessRecorderTestCase
):
    def create_recorder(self) -> PollingSQLiteProcessRecorder:
        recorder = PollingSQLiteProcessRecorder(self.new_datastore())
        recorder.create_table()
        return recorder


# The subscription's own behaviour.


@pytest.fixture
def db_name(tmp_path: Path) -> str:
    return str(tmp_path / "events.db")


@pytest.fixture
def open_datastores() -> Iterator[list[SQLiteDatastore]]:
    datastores: list[SQLiteDatastore] = []
    yield datastores
    for datastore in datastores:
        datastore.close()


def new_recorder(
    db_name: str,
    open_datastores: list[SQLiteDatastore],
    recorder_class: type[PollingSQLiteApplicationRecorder] = PollingSQLiteApplicationRecorder,
    poll_interval: float | None = None,
) -> PollingSQLiteApplicationRecorder:
    datastore = SQLiteDatastore(db_name=db_name)
    open_datastores.append(datastore)
    recorder = recorder_class(datastore, poll_interval=poll_interval)
    recorder.create_table()
    return recorder


def stored_events(count: int, topic: str = "topic") -> list[StoredEvent]:
    originator_id = uuid4()
    return [
        StoredEvent(originator_id=originator_id, originator_version=i, topic=topic, state=b"{}")
        for i in range(1, count + 1)
    ]


class Reader:
    """Iterates over a subscription in a thread, as a ProjectionRunner does."""

    def __init__(self, subscription: SQLitePollingSubscription, count: int) -> None:
        self.subscription = subscription
        self.count = count
        self.received: list[Notification] = []
        self.thread = Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        for notification in self.subscription:
            self.received.append(notification)
            if len(self.received) == self.count:
                break

    def join(self, timeout: float = TIMEOUT) -> list[Notification]:
        self.thread.join(timeout=timeout)
        if self.thread.is_alive():
            self.subscription.stop()
            self.thread.join(timeout=TIMEOUT)
            pytest.fail(f"Received {len(self.received)} of {self.count} notifications in time")
        return self.received


def test_a_subscription_selects_pages_of_500_after_the_last_notification_it_yielded(
    db_name: str, open_datastores: list[SQLiteDatastore]
) -> None:
    selects: list[tuple[int | None, int, tuple[str, ...], bool]] = []

    class SpyingRecorder(PollingSQLiteApplicationRecorder):
        def select_notifications(
            self,
            start: int | None,
            limit: int,
            stop: int | None = None,
            topics: Sequence[str] = (),
            *,
            inclusive_of_start: bool = True,
        ) -> Sequence[Notification]:
            selects.append((start, limit, tuple(topics), inclusive_of_start))
            return super().select_notifications(
                start, limit, stop, topics, inclusive_of_start=inclusive_of_start
            )

    recorder = new_recorder(db_name, open_datastores, SpyingRecorder)
    recorder.insert_events(stored_events(1100))

    with recorder.subscribe() as subscription:
        ids = [notification.id for notification in islice(subscription, 1100)]
    assert ids == list(range(1, 1101))
    assert SELECT_LIMIT == 500
    assert selects == [(None, 500, (), False), (500, 500, (), False), (1000, 500, (), False)]

    selects.clear()
    recorder.insert_events(stored_events(1, topic="wanted"))
    with recorder.subscribe(gt=100, topics=["wanted"]) as subscription:
        assert next(subscription).id == 1101
    assert selects == [(100, 500, ("wanted",), False)]


def test_a_waiting_subscription_is_woken_at_once_by_an_insert_through_the_same_recorder(
    db_name: str, open_datastores: list[SQLiteDatastore]
) -> None:
    # With a poll interval of a minute, only the wake-up can deliver the event in time.
    recorder = new_recorder(db_name, open_datastores, poll_interval=60)
    with recorder.subscribe() as subscription:
        reader = Reader(subscription, count=1)
        sleep(0.2)  # Let the reader find nothing and start waiting.
        started = monotonic()
        recorder.insert_events(stored_events(1))
        [notification] = reader.join(timeout=5)
    assert notification.id == 1
    assert monotonic() - started < 5


def test_a_subscription_sees_events_written_through_another_recorder_at_the_next_poll(
    db_name: str, open_datastores: list[SQLiteDatastore]
) -> None:
    reader_recorder = new_recorder(db_name, open_datastores, poll_interval=0.05)
    writer_recorder = new_recorder(db_name, open_datastores)
    with reader_recorder.subscribe() as subscription:
        reader = Reader(subscription, count=3)
        sleep(0.2)
        writer_recorder.insert_events(stored_events(3))
        received = reader.join()
    assert [n.id for n in received] == [1, 2, 3]


def test_a_subscription_sees_events_written_by_another_operating_system_process(
    db_name: str, open_datastores: list[SQLiteDatastore]
) -> None:
    recorder = new_recorder(db_name, open_datastores)
    writer_script = textwrap.dedent(
        """
        import sys
        from uuid import uuid4
        from eventsourcing.persistence import StoredEvent
        from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteDatastore

        datastore = SQLiteDatastore(db_name=sys.argv[1])
        recorder = SQLiteApplicationRecorder(datastore)
        recorder.insert_events(
            [StoredEvent(uuid4(), 1, "written-elsewhere", b"{}") for _ in range(2)]
        )
        datastore.close()
        """
    )
    with recorder.subscribe() as subscription:
        reader = Reader(subscription, count=2)
        sleep(0.2)
        subprocess.run([sys.executable, "-c", writer_script, db_name], check=True, timeout=60)
        received = reader.join()
    assert [(n.id, n.topic) for n in received] == [
        (1, "written-elsewhere"),
        (2, "written-elsewhere"),
    ]


def test_stop_ends_a_waiting_iteration_promptly(
    db_name: str, open_datastores: list[SQLiteDatastore]
) -> None:
    recorder = new_recorder(db_name, open_datastores, poll_interval=60)
    subscription = recorder.subscribe()
    reader = Reader(subscription, count=1)
    sleep(0.2)  # The reader is now waiting for up to a minute.
    started = monotonic()
    subscription.stop()
    reader.thread.join(timeout=5)
    assert not reader.thread.is_alive()
    assert monotonic() - started < 1
    assert reader.received == []


def test_a_stopped_subscription_is_no_longer_woken_by_its_recorder(
    db_name: str, open_datastores: list[SQLiteDatastore]
) -> None:
    recorder = new_recorder(db_name, open_datastores)
    with recorder.subscribe() as subscription:
        assert subscription in recorder._subscriptions
    assert subscription not in recorder._subscriptions


def test_the_poll_interval_defaults_to_a_twentieth_of_a_second(
    db_name: str, open_datastores: list[SQLiteDatastore], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SQLITE_POLL_INTERVAL", raising=False)
    recorder = new_recorder(db_name, open_datastores)
    assert recorder.poll_interval == DEFAULT_POLL_INTERVAL == 0.05
    with recorder.subscribe() as subscription:
        assert subscription.poll_interval == 0.05


def test_the_recorder_reads_the_poll_interval_from_os_environ(
    db_name: str, open_datastores: list[SQLiteDatastore], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SQLITE_POLL_INTERVAL", "0.25")
    assert new_recorder(db_name, open_datastores).poll_interval == 0.25
    # An explicit argument wins.
    assert new_recorder(db_name, open_datastores, poll_interval=2).poll_interval == 2


@pytest.mark.parametrize("value", ["soon", "0", "-1", "nan", "inf"])
def test_an_invalid_poll_interval_in_the_environment_is_rejected(
    value: str,
    db_name: str,
    open_datastores: list[SQLiteDatastore],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with pytest.raises(OSError, match="SQLITE_POLL_INTERVAL"):
        PollingSQLiteFactory({"SQLITE_DBNAME": db_name, "SQLITE_POLL_INTERVAL": value})
    monkeypatch.setenv("SQLITE_POLL_INTERVAL", value)
    with pytest.raises(OSError, match="SQLITE_POLL_INTERVAL"):
        new_recorder(db_name, open_datastores)


@pytest.mark.parametrize("value", [0, -0.5, float("nan")])
def test_an_invalid_poll_interval_argument_is_rejected(
    value: float, db_name: str, open_datastores: list[SQLiteDatastore]
) -> None:
    with pytest.raises(ValueError, match="poll interval"):
        new_recorder(db_name, open_datastores, poll_interval=value)


# Selection by configuration, and eventsourcing's projection runners.


class Thing(Aggregate):
    class Created(Aggregate.Created):
        name: str

    @event(Created)
    def __init__(self, name: str) -> None:
        self.name = name


class Things(Application[UUID]):
    pass


class NamesView(SQLiteTrackingRecorder):
    """A materialised view: names, in the order of their notifications."""

    def construct_create_table_statements(self) -> list[str]:
        statements = super().construct_create_table_statements()
        statements.append(
            "CREATE TABLE IF NOT EXISTS names (notification_id INTEGER PRIMARY KEY, name TEXT)"
        )
        return statements

    def add_name(self, name: str, tracking: Tracking) -> None:
        with self.datastore.transaction(commit=True) as cursor:
            cursor.execute("INSERT INTO names VALUES (?, ?)", (tracking.notification_id, name))
            self._insert_tracking(cursor, tracking)

    def names(self) -> list[str]:
        with self.datastore.transaction(commit=False) as cursor:
            cursor.execute("SELECT name FROM names ORDER BY notification_id")
            return [row["name"] for row in cursor.fetchall()]


class ThingNames(Projection[NamesView]):
    @singledispatchmethod
    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        self.view.insert_tracking(tracking)

    @process_event.register(Thing.Created)
    def _thing_created(self, domain_event: Thing.Created, tracking: Tracking) -> None:
        self.view.add_name(domain_event.name, tracking)


def polling_recorder_env(db_name: str) -> dict[str, str]:
    return {
        "PERSISTENCE_MODULE": "eventsourcing.sqlite",
        "SQLITE_DBNAME": db_name,
        "APPLICATION_RECORDER_TOPIC": get_topic(PollingSQLiteApplicationRecorder),
    }


def save_thing(app: Things, name: str) -> int:
    [recording] = app.save(Thing(name))
    return recording.notification.id


def test_the_recorder_topic_is_the_documented_one() -> None:
    assert (
        get_topic(PollingSQLiteApplicationRecorder)
        == "adapters.sqlite_subscription:PollingSQLiteApplicationRecorder"
    )
    assert (
        get_topic(PollingSQLiteProcessRecorder)
        == "adapters.sqlite_subscription:PollingSQLiteProcessRecorder"
    )


def test_a_projection_runner_on_sqlite_sees_events_written_before_and_after_it_started(
    db_name: str,
) -> None:
    env = polling_recorder_env(db_name)
    with Things(env) as writer, Things(env) as other_writer:
        assert isinstance(writer.recorder, PollingSQLiteApplicationRecorder)
        before = save_thing(writer, "written before the runner started")

        with ProjectionRunner(
            application_class=Things,
            projection_class=ThingNames,
            view_class=NamesView,
            env=env,
        ) as runner:
            runner.wait(before, timeout=TIMEOUT)

            # Through the runner's own application: its subscription is woken at once.
            in_process = save_thing(runner.app, "written through the runner's application")
            runner.wait(in_process, timeout=TIMEOUT)

            # Through other Application instances, each with its own connection pool,
            # as another process would be: seen at the next poll.
            after = save_thing(writer, "written after the runner started")
            runner.wait(after, timeout=TIMEOUT)
            elsewhere = save_thing(other_writer, "written by a second application")
            runner.wait(elsewhere, timeout=TIMEOUT)

            assert runner.view.names() == [
                "written before the runner started",
                "written through the runner's application",
                "written after the runner started",
                "written by a second application",
            ]
            assert runner.view.max_tracking_id("Things") == elsewhere
        runner.view.datastore.close()


def test_persistence_module_selects_the_polling_factory_with_the_poll_interval_from_the_env(
    db_name: str,
) -> None:
    env = {
        "PERSISTENCE_MODULE": "adapters.sqlite_subscription",
        "SQLITE_DBNAME": db_name,
        "THINGS_SQLITE_POLL_INTERVAL": "0.2",  # Prefixed with the application's name.
    }
    with Things(env) as app:
        assert type(app.factory) is PollingSQLiteFactory
        assert type(app.recorder) is PollingSQLiteApplicationRecorder
        assert app.recorder.poll_interval == 0.2
        process_recorder = app.factory.process_recorder()
        assert type(process_recorder) is PollingSQLiteProcessRecorder
        assert process_recorder.poll_interval == 0.2
        assert type(app.factory.tracking_recorder()) is SQLiteTrackingRecorder

    with InfrastructureFactory.construct(
        {"PERSISTENCE_MODULE": get_topic(PollingSQLiteFactory), "SQLITE_DBNAME": db_name}
    ) as factory:
        assert type(factory) is PollingSQLiteFactory
        assert factory.poll_interval == DEFAULT_POLL_INTERVAL
        factory.close()


def test_a_projection_runner_works_with_the_polling_factory(db_name: str) -> None:
    env = {"PERSISTENCE_MODULE": "adapters.sqlite_subscription", "SQLITE_DBNAME": db_name}
    with Things(env) as writer:
        before = save_thing(writer, "before")
        with ProjectionRunner(
            application_class=Things,
            projection_class=ThingNames,
            view_class=NamesView,
            env=env,
        ) as runner:
            runner.wait(before, timeout=TIMEOUT)
            after = save_thing(writer, "after")
            runner.wait(after, timeout=TIMEOUT)
            assert runner.view.names() == ["before", "after"]
        runner.view.datastore.close()


class IndexEntry(Aggregate):
    class Created(Aggregate.Created):
        name: str

    @event(Created)
    def __init__(self, name: str) -> None:
        self.name = name


class NameIndex(EventSourcedProjection[UUID]):
    """Records an IndexEntry, with tracking, for each Thing created."""

    @singledispatchmethod
    def policy(self, domain_event: Any, processing_event: ProcessingEvent[UUID]) -> None:
        """Other events are only tracked."""

    @policy.register(Thing.Created)
    def _thing_created(
        self, domain_event: Thing.Created, processing_event: ProcessingEvent[UUID]
    ) -> None:
        processing_event.collect_events(IndexEntry(f"index of {domain_event.name}"))


class IndexEntryNames(Projection[NamesView]):
    @singledispatchmethod
    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        self.view.insert_tracking(tracking)

    @process_event.register(IndexEntry.Created)
    def _index_entry_created(self, domain_event: IndexEntry.Created, tracking: Tracking) -> None:
        self.view.add_name(domain_event.name, tracking)


def test_a_projection_runner_can_follow_an_event_sourced_projection_on_sqlite(
    tmp_path: Path,
) -> None:
    # Things -> NameIndex (an EventSourcedProjection, recording with the process
    # recorder) -> IndexEntryNames (a Projection following NameIndex's events).
    env = {
        **polling_recorder_env(str(tmp_path / "things.db")),
        "PROCESS_RECORDER_TOPIC": get_topic(PollingSQLiteProcessRecorder),
        # NameIndex has its own stored events, so its own file.
        "NAMEINDEX_SQLITE_DBNAME": str(tmp_path / "name_index.db"),
        "INDEXENTRYNAMES_SQLITE_DBNAME": str(tmp_path / "index_entry_names.db"),
    }
    with Things(env) as things:
        first = save_thing(things, "first")
        with (
            EventSourcedProjectionRunner(
                application_class=Things, projection_class=NameIndex, env=env
            ) as indexing,
            ProjectionRunner(
                application_class=NameIndex,
                projection_class=IndexEntryNames,
                view_class=NamesView,
                env=env,
            ) as following,
        ):
            assert isinstance(indexing.projection.recorder, PollingSQLiteProcessRecorder)
            assert isinstance(following.app.recorder, PollingSQLiteProcessRecorder)
            indexing.wait(first, timeout=TIMEOUT)
            second = save_thing(things, "second")
            indexing.wait(second, timeout=TIMEOUT)
            following.wait(indexing.projection.recorder.max_notification_id(), timeout=TIMEOUT)
            assert following.view.names() == ["index of first", "index of second"]
        following.view.datastore.close()


def test_the_plain_sqlite_recorder_still_cannot_subscribe(
    db_name: str, open_datastores: list[SQLiteDatastore]
) -> None:
    # Why the adapter exists; if this fails, eventsourcing now subscribes on SQLite itself.
    datastore = SQLiteDatastore(db_name=db_name)
    open_datastores.append(datastore)
    with pytest.raises(NotImplementedError):
        SQLiteApplicationRecorder(datastore).subscribe()
