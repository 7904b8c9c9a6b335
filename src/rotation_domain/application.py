"""The embedded API: `open_program()` and the `RotationProgram` it returns.

One eventsourcing `Application` holds every aggregate, so the whole program has one
ordered log: the audit trail. Infrastructure is chosen by configuration only; the
core names adapters by topic strings and never imports them.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime
from typing import Any, ClassVar, cast
from uuid import UUID

from eventsourcing.application import (
    AggregateNotFoundError,
    Application,
    ProcessingEvent,
    Repository,
    project_aggregate,
)
from eventsourcing.domain import Aggregate, DomainEventProtocol, MutableOrImmutableAggregate
from eventsourcing.persistence import EventStore, Recording
from eventsourcing.utils import resolve_topic, strtobool

from rotation_domain._commands_program import ProgramCommands
from rotation_domain._event_store import PrefetchingEventStore
from rotation_domain._inputs import an_id
from rotation_domain._repository import ProgramRepository
from rotation_domain._service import Authorizer, UnitOfWork
from rotation_domain.audit import AuditQueries
from rotation_domain.config import plugin_settings
from rotation_domain.consumers import ConsumerStore
from rotation_domain.employee import Employee
from rotation_domain.errors import CommandVetoed, InvalidInput, NotAuthorized, UnknownId
from rotation_domain.event_consumers import Consumers, ConsumerStatus
from rotation_domain.inline_views import DEFAULT_COMMIT_DELAY, MAX_COMMIT_DELAY
from rotation_domain.periodic import PeriodicTasks, TaskRun
from rotation_domain.personal_data import PersonalKeyStore, open_personal_keys
from rotation_domain.plugin_manager import PluginInfo, Plugins, load_plugins
from rotation_domain.program import PROGRAM_ID, Program
from rotation_domain.rebuild_processes import PARALLEL_MIN_EVENTS, Reopen, available_cpus
from rotation_domain.roster import MonthRoster
from rotation_domain.rotation import Rotation
from rotation_domain.runners import Progress
from rotation_domain.values import Policy
from rotation_domain.view_queries import ViewQueries
from rotation_domain.withholding import declaration_problem

__all__ = ["DEFAULT_STORE", "RotationApplication", "RotationProgram", "open_program"]

DEFAULT_STORE = "sqlite:///rotation.db"
SETTINGS_TOPIC = "adapters.store_urls:settings_for_url"
CONSUMER_STORE_TOPIC = "adapters.consumer_stores:consumer_store_for"
AT_REST_CIPHER_TOPIC = "eventsourcing.cryptography:AESCipher"
"""The cipher a ``CIPHER_KEY`` setting selects when no ``CIPHER_TOPIC`` is given."""


class RotationApplication(Application[UUID]):
    """The eventsourcing application that stores the program's events.

    Aggregates whose histories keep growing (the Program, the month rosters, the
    employees) are snapshotted every `SNAPSHOT_INTERVAL` events.
    """

    name = "RotationProgram"
    SNAPSHOT_INTERVAL = 50
    snapshotting_intervals: ClassVar[dict[type[Any], int]] = {
        Program: SNAPSHOT_INTERVAL,
        MonthRoster: SNAPSHOT_INTERVAL,
        Employee: SNAPSHOT_INTERVAL,
    }
    log_section_size = 500

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        super().__init__(env)
        keys = open_personal_keys(self.env, self.recorder)
        use_keys = getattr(self.mapper, "use_personal_keys", None)
        if keys is not None and use_keys is None:  # a mapper that cannot seal: keys are no use
            keys.close()
            keys = None
        if keys is not None and use_keys is not None:
            use_keys(keys)
            # A recorder that can read an aggregate's own key with its events saves the
            # key's round trip when an employee is loaded (adapters.aggregate_reads).
            read_keys_too = getattr(self.recorder, "use_personal_keys", None)
            if read_keys_too is not None:
                read_keys_too(keys)
        self.personal_keys: PersonalKeyStore | None = keys
        """The per-person data keys (``PERSONAL_KEY_STORE_TOPIC``), if the store keeps any."""

    def construct_repository(self) -> Repository[UUID]:
        """The repository: eventsourcing's, configured the same, projecting events faster."""
        cache_maxsize = self.env.get(self.AGGREGATE_CACHE_MAXSIZE)
        return ProgramRepository(
            event_store=self.events,
            snapshot_store=self.snapshots,
            cache_maxsize=int(cache_maxsize) if cache_maxsize else None,
            fastforward=strtobool(self.env.get(self.AGGREGATE_CACHE_FASTFORWARD, "y")),
            fastforward_skipping=strtobool(
                self.env.get(self.AGGREGATE_CACHE_FASTFORWARD_SKIPPING, "n")
            ),
            deepcopy_from_cache=strtobool(self.env.get(self.DEEPCOPY_FROM_AGGREGATE_CACHE, "y")),
        )

    def construct_event_store(self) -> EventStore[UUID]:
        """The event store: eventsourcing's, showing the mapper each batch first."""
        return PrefetchingEventStore(mapper=self.mapper, recorder=self.recorder)

    def construct_snapshot_store(self) -> EventStore[UUID]:
        """The snapshot store: eventsourcing's, showing the mapper each batch first."""
        recorder = self.factory.aggregate_recorder(purpose="snapshots")
        return PrefetchingEventStore(mapper=self.mapper, recorder=recorder)

    def close(self) -> None:
        """Release the store's connections, the key store's included."""
        if self.personal_keys is not None:
            self.personal_keys.close()
        close_writer = getattr(self.recorder, "close_writer", None)
        if close_writer is not None:  # a recorder with a connection of its own for inserts
            close_writer()
        super().close()

    def _take_snapshots(self, processing_event: ProcessingEvent[UUID]) -> None:
        """Snapshot the saved aggregates whose new version is a multiple of their interval.

        eventsourcing's `Application.take_snapshot` loads the aggregate again from the
        store at that version (the last snapshot and up to an interval of events, about
        2 ms for a roster); here the aggregate just saved is that version already, so the
        snapshot is taken from it. Only a version reached in the middle of one save's
        events (several events of one aggregate crossing a multiple) is loaded again, as
        eventsourcing does.
        """
        if not self.snapshots or not self.snapshotting_intervals:
            return
        for event in processing_event.events:
            aggregate = processing_event.aggregates.get(event.originator_id)
            if aggregate is None:
                continue
            interval = self.snapshotting_intervals.get(type(aggregate))
            version = event.originator_version
            if interval is None or version % interval:
                continue
            snapshot_class = getattr(type(aggregate), "Snapshot", type(self).snapshot_class)
            if version == aggregate.version and snapshot_class is not None:
                self.snapshots.put([snapshot_class.take(aggregate)])
            else:
                projector = self.snapshotting_projectors.get(type(aggregate), project_aggregate)
                self.take_snapshot(event.originator_id, version, projector)

    def save(
        self,
        *objs: MutableOrImmutableAggregate[UUID] | DomainEventProtocol[UUID] | None,
        **kwargs: Any,
    ) -> list[Recording[UUID]]:
        """Save aggregates' new events, as `Application.save` does, recognising them faster.

        eventsourcing's `ProcessingEvent.collect_events` tells aggregates from events by
        runtime-protocol `isinstance` checks, a noticeable share of each command; this
        program saves `Aggregate` objects, which a plain class check recognises.
        """
        processing_event: ProcessingEvent[UUID] = ProcessingEvent()
        for obj in objs:
            if isinstance(obj, Aggregate):
                processing_event.events.extend(obj.collect_events())
                processing_event.aggregates[obj.id] = obj
            else:
                processing_event.collect_events(obj)
        processing_event.saved_kwargs.update(kwargs)
        recordings = self._record(processing_event)
        self._take_snapshots(processing_event)
        self._notify(recordings)
        self.notify(processing_event.events)  # deprecated in eventsourcing, kept in step
        return recordings


class _UnitDirectory:
    """The people as the command being authorized reads them (its reads are checked)."""

    def __init__(self, unit: UnitOfWork | None) -> None:
        self._unit = unit

    def find_employee(self, code: str) -> Employee | None:
        """The employee with that code, or None."""
        if self._unit is None or not isinstance(code, str):
            return None
        return self._unit.find(Employee, Employee.id_for(code))

    def find_rotation(self, rotation_id: UUID) -> Rotation | None:
        """The rotation with that id, or None."""
        if self._unit is None or not isinstance(rotation_id, UUID):
            return None
        return self._unit.find(Rotation, rotation_id)


class RotationProgram(ProgramCommands, AuditQueries):
    """The rotation program: commands that record events, and reads of the current state.

    The audit queries (`history`, `timeline`, `state_at`, `as_of`, `export_audit`,
    `verify_audit_trail`, `seal_audit_trail`) come from `AuditQueries`.

    Build one with `open_program()`. Every command accepts ``actor=``; without it the
    actor of the enclosing `acting_as` block is used.
    """

    def __init__(
        self,
        app: RotationApplication,
        consumers: Consumers,
        plugins: Plugins,
        *,
        today: Callable[[], date] = date.today,
        authorize: Authorizer | None = None,
        inline: bool = True,
        views_on_read: bool = False,
        settings: Mapping[str, str] | None = None,
        tasks: PeriodicTasks | None = None,
        reopen: Reopen | None = None,
        rebuild_workers: int | None = None,
    ) -> None:
        after_command = (
            consumers.after_command_integrations if views_on_read else consumers.after_command
        )
        super().__init__(
            app,
            today=today,
            authorize=self._authorizer(authorize),
            veto=self._veto_by_plugins,
            after_commit=after_command if inline else None,
        )
        self.app = app
        self.settings: Mapping[str, str] = dict(settings or {})
        """The plugin settings (config file, ``ROTATION_*`` variables, ``settings=``)."""
        self.tasks = tasks or PeriodicTasks()
        """The plugins' periodic tasks (`rotation_periodic_tasks`)."""
        self.reopen = reopen
        """How another process opens this program (a rebuild's workers); None: it cannot."""
        self.rebuild_workers = rebuild_workers
        """Processes a rebuild shares its views among; None: chosen by the log's size."""
        self.consumers = consumers
        consumers.state.lock = self._commands
        self.plugin_manager = plugins
        read_first = consumers.catch_up_views if views_on_read else consumers.commit_views
        self.views = ViewQueries(consumers, catch_up=read_first if inline else None)
        if inline:
            consumers.catch_up()

    def _authorizer(self, given: Authorizer | None) -> Authorizer:
        """The host's ``authorize`` callable (if any), then the plugins' hook."""

        def authorize(actor: str, action: str, context: dict[str, Any]) -> None:
            if given is not None:
                given(actor, action, context)
            self._authorize_by_plugins(actor, action, context)

        return authorize

    def _authorize_by_plugins(self, actor: str, action: str, context: dict[str, Any]) -> None:
        hook = self.plugin_manager.hook.rotation_authorize
        if not hook.get_hookimpls():  # no plugin decides: nothing to ask
            return
        allowed = hook(
            action=action,
            actor=actor,
            context=context,
            settings=self.settings,
            directory=_UnitDirectory(self.checking),
        )
        if allowed is False:
            raise NotAuthorized(
                f"{actor} may not {action.replace('_', ' ')}: the authorization policy refused it",
                actor=actor,
                action=action,
            )

    def _veto_by_plugins(self, actor: str, action: str, context: dict[str, Any]) -> None:
        hook = self.plugin_manager.hook.rotation_validate_command
        if not hook.get_hookimpls():  # no plugin has a rule: nothing to ask
            return
        reasons = hook(action=action, actor=actor, context=context)
        for reason in reasons:
            if reason:
                raise CommandVetoed(
                    f"{action.replace('_', ' ')} refused by a company rule: {reason}",
                    action=action,
                    reason=reason,
                )

    def rebuild(
        self,
        view: str | None = None,
        progress: Progress | None = None,
        *,
        workers: int | None = None,
    ) -> int:
        """Drop a view's rows (every view's without a name) and replay the log into it.

        Integrations are never re-fired by a rebuild.

        Args:
            view: The view to rebuild; every view without it.
            progress: Called as ``progress(done, total)`` after each commit: every view
                rebuilt has folded the log up to position ``done`` of ``total``.
            workers: How many processes share the views, this one included (ADR 0017).
                Without it, the ``ROTATION_REBUILD_WORKERS`` setting, else one per CPU
                when the log holds `PARALLEL_MIN_EVENTS` events or more, else 1. A store
                in memory is rebuilt in this process whatever the number.

        Returns:
            How many processes shared the rebuild, this one included.

        Raises:
            InvalidInput: ``workers`` is not a whole number of at least 1.
            KeyError: No view has that name.
        """
        if workers is not None and (
            isinstance(workers, bool) or not isinstance(workers, int) or workers < 1
        ):
            raise InvalidInput(
                f"a rebuild's workers must be a whole number of at least 1, got {workers!r}",
                workers=workers,
            )
        count = workers if workers is not None else self.rebuild_workers
        if count is None:
            head = self.app.recorder.max_notification_id() or 0
            count = available_cpus() if head >= PARALLEL_MIN_EVENTS else 1
        return self.consumers.rebuild(view, progress, workers=count, reopen=self.reopen)

    def catch_up(self) -> None:
        """Bring every view and integration up to the head of the log now."""
        self.consumers.catch_up()

    def run_due_tasks(self, now: datetime | None = None) -> list[TaskRun]:
        """Run the plugins' periodic tasks that are due (all of them at the first call).

        For embedded hosts, from their scheduler (``rotation worker`` does it on its own).
        A failing task is logged and reported in its `TaskRun`; it never raises.
        """
        return self.tasks.run_due(self, now)

    def plugins(self) -> list[PluginInfo]:
        """Every plugin found: loaded, blocked or failed."""
        return list(self.plugin_manager.infos)

    def consumer_status(self) -> list[ConsumerStatus]:
        """Every view's and integration's position, lag and failures."""
        return self.consumers.status()

    def policy(self) -> Policy:
        """The program's current policy."""
        try:
            program: Aggregate = self.app.repository.get(PROGRAM_ID)
        except AggregateNotFoundError:
            return Policy()
        return cast(Program, program).policy

    def get(self, aggregate_id: UUID | str, *, version: int | None = None) -> Aggregate:
        """A copy of the current (or a past ``version``'s) state of one aggregate."""
        wanted = an_id("id", aggregate_id)
        try:
            with self._commands:
                found: Aggregate = self.app.repository.get(wanted, version=version)
                return copy.deepcopy(found) if version is None else found
        except AggregateNotFoundError:
            raise UnknownId(f"nothing recorded has id {wanted}", id=wanted) from None

    def close(self) -> None:
        """Release the store's connections."""
        self.consumers.close()
        self.app.close()

    def __enter__(self) -> RotationProgram:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_program(
    url: str | None = None,
    *,
    today: Callable[[], date] = date.today,
    authorize: Authorizer | None = None,
    settings: dict[str, str] | None = None,
    plugins: Iterable[object] = (),
    inline: bool | None = None,
) -> RotationProgram:
    """Open the program stored at ``url``.

    Args:
        url: ``memory:``, ``sqlite:///path`` or ``postgresql://user@host/db``. Without
            it, the ``ROTATION_STORE`` environment variable, else ``sqlite:///rotation.db``
            in the working directory.
        today: The clock that gives business dates a command was not given.
        authorize: Called as ``authorize(actor, action, context)`` before each command;
            raises `NotAuthorized` to refuse it.
        settings: Extra eventsourcing settings (``COMPRESSOR_TOPIC``, ``CIPHER_KEY``,
            ``AGGREGATE_CACHE_MAXSIZE``...), applied over those derived from the URL.
            ``CIPHER_KEY`` (base64 of 32 random bytes) encrypts the whole store at rest
            with AES-GCM from the ``cryptography`` package unless ``CIPHER_TOPIC``
            names another cipher; ``ROTATION_KEY_ENCRYPTION_KEY`` wraps the personal
            data keys (docs/privacy.md).
            Plugins receive them too, over the ``ROTATION_*`` environment variables and
            the file named by ``ROTATION_CONFIG`` (see `rotation_domain.config`).
        plugins: Plugin objects or modules to register besides the default plugins and
            the ``rotation_domain`` entry points.
        inline: Whether views and integrations catch up in this process. Default: yes
            for memory and SQLite (after each command, so a view read right after a
            command reflects it), no for PostgreSQL (run ``rotation worker``). With the
            setting ``ROTATION_VIEWS_CATCH_UP=on-read`` inline views catch up when they
            are read instead, so commands do not pay for them; integrations still run
            after each command. After each command the views' rows are committed within
            ``ROTATION_VIEWS_COMMIT_DELAY`` seconds (default 0.1; 0 commits after every
            command), and before any read of a view in this process. A rebuild shares
            its views among ``ROTATION_REBUILD_WORKERS`` processes (``auto``: one per CPU
            from 100,000 events), which open the program again with this URL,
            ``settings`` and ``plugins``.

    Raises:
        InvalidInput: the URL is not one the library understands, or a ``ROTATION_*``
            setting of the program is malformed.
    """
    if url is not None and not url.strip():
        raise InvalidInput(
            "the store URL is empty: use memory:, sqlite:///file.db or postgresql://..."
        )
    store = url or os.environ.get("ROTATION_STORE") or DEFAULT_STORE
    settings_for_url = cast(Callable[[str], dict[str, str]], resolve_topic(SETTINGS_TOPIC))
    try:
        env = settings_for_url(store)
    except ValueError as error:
        raise InvalidInput(str(error), url=store) from None
    env.setdefault("AGGREGATE_CACHE_MAXSIZE", "1000")
    # Commands change cached aggregates in place, one at a time, and evict them when
    # they fail (ServiceBase._run); reads copy (RotationProgram.get).
    env.setdefault("DEEPCOPY_FROM_AGGREGATE_CACHE", "n")
    env.update(settings or {})
    if (env.get("CIPHER_KEY") or os.environ.get("CIPHER_KEY")) and not (
        env.get("CIPHER_TOPIC") or os.environ.get("CIPHER_TOPIC")
    ):
        env["CIPHER_TOPIC"] = AT_REST_CIPHER_TOPIC
    commit_delay = _commit_delay(plugin_settings(os.environ, env))  # refused before opening
    rebuild_workers = _rebuild_workers(plugin_settings(os.environ, env))
    plugins = tuple(plugins)  # read twice: loaded here, and kept for other processes
    loaded = load_plugins(plugins, environ=os.environ)
    app = RotationApplication(env=env)
    make_store = cast(
        Callable[[dict[str, str]], ConsumerStore], resolve_topic(CONSUMER_STORE_TOPIC)
    )
    for_plugins = plugin_settings(os.environ, env)
    views = _collect(loaded, "rotation_views", for_plugins)
    integrations = _collect(loaded, "rotation_integrations", for_plugins)
    tasks = _collect(loaded, "rotation_periodic_tasks", for_plugins)
    views, integrations = _admit(loaded, views, integrations)
    tasks = _admit_tasks(loaded, tasks)
    consumers = Consumers(
        app,
        make_store(env),
        views,
        integrations,
        backoff_seconds=float(for_plugins.get("ROTATION_RETRY_BACKOFF_SECONDS", "1.0")),
        views_commit_delay=commit_delay,
    )
    if inline is None:
        inline = env.get("PERSISTENCE_MODULE") != "eventsourcing.postgres"
    catch_up_mode = env.get("ROTATION_VIEWS_CATCH_UP") or os.environ.get(
        "ROTATION_VIEWS_CATCH_UP", "after-command"
    )
    if catch_up_mode not in ("after-command", "on-read"):
        raise InvalidInput(
            f"ROTATION_VIEWS_CATCH_UP must be after-command or on-read, got {catch_up_mode!r}"
        )
    return RotationProgram(
        app,
        consumers,
        loaded,
        today=today,
        authorize=authorize,
        inline=inline,
        views_on_read=catch_up_mode == "on-read",
        settings=for_plugins,
        tasks=PeriodicTasks(tasks),
        reopen=Reopen.of(store, env, settings or {}, plugins),
        rebuild_workers=rebuild_workers,
    )


def _commit_delay(env: Mapping[str, str]) -> float:
    """``ROTATION_VIEWS_COMMIT_DELAY`` in seconds, from the program's settings."""
    given = env.get("ROTATION_VIEWS_COMMIT_DELAY")
    if given is None:
        return DEFAULT_COMMIT_DELAY
    try:
        delay = float(given)
    except ValueError:
        delay = -1.0
    if not 0 <= delay <= MAX_COMMIT_DELAY:
        raise InvalidInput(
            "ROTATION_VIEWS_COMMIT_DELAY must be a number of seconds from 0 to "
            f"{MAX_COMMIT_DELAY:g}, got {given!r}",
            setting="ROTATION_VIEWS_COMMIT_DELAY",
        )
    return delay


def _rebuild_workers(env: Mapping[str, str]) -> int | None:
    """``ROTATION_REBUILD_WORKERS``: a whole number of processes, or None for ``auto``."""
    given = env.get("ROTATION_REBUILD_WORKERS", "auto").strip()
    if given == "auto":
        return None
    if given.isdigit() and int(given) >= 1:
        return int(given)
    raise InvalidInput(
        f"ROTATION_REBUILD_WORKERS must be auto or a whole number of at least 1, got {given!r}",
        setting="ROTATION_REBUILD_WORKERS",
    )


def _admit(
    plugins: Plugins, views: list[Any], integrations: list[Any]
) -> tuple[list[Any], list[Any]]:
    """Drop the consumers of failed plugins, and fail a plugin whose consumer name is taken.

    A plugin also fails when a view's ``personal_fields`` is not a set of field names.
    """
    for plugin, view in views:
        problem = declaration_problem(view)
        if problem is not None:
            plugins.failed(plugin, problem)
    owner: dict[str, str] = {}
    for plugin, consumer in [*views, *integrations]:
        taken_by = owner.get(consumer.name)
        if taken_by is not None:
            plugins.failed(
                plugin,
                f"its consumer {consumer.name!r} has the name of plugin {taken_by!r}'s; "
                "consumer names must be unique",
            )
        else:
            owner[consumer.name] = plugin
    active = {info.name for info in plugins.infos if info.status == "active"}
    return (
        [(p, c) for p, c in views if p in active],
        [(p, c) for p, c in integrations if p in active],
    )


def _admit_tasks(plugins: Plugins, tasks: list[Any]) -> list[Any]:
    """Drop the tasks of failed plugins, and fail a plugin whose task name is taken."""
    owner: dict[str, str] = {}
    for plugin, task in tasks:
        taken_by = owner.get(task.name)
        if taken_by is not None and taken_by != plugin:
            plugins.failed(
                plugin,
                f"its periodic task {task.name!r} has the name of plugin {taken_by!r}'s; "
                "task names must be unique",
            )
        else:
            owner.setdefault(task.name, plugin)
    active = {info.name for info in plugins.infos if info.status == "active"}
    return [(p, t) for p, t in tasks if p in active]


def _collect(plugins: Plugins, hook: str, settings: dict[str, str]) -> list[Any]:
    """Call a registration hook on each plugin separately, remembering who gave what."""
    found: list[Any] = []
    caller = getattr(plugins.hook, hook)
    for impl in caller.get_hookimpls():
        try:
            arguments = {"settings": settings} if "settings" in impl.argnames else {}
            given = impl.function(**arguments) or ()
        except Exception as error:  # noqa: BLE001 - a failing plugin is reported, not fatal
            plugins.failed(impl.plugin_name, f"{hook} raised {error!r}")
            continue
        found.extend((impl.plugin_name, consumer) for consumer in given)
    return found
