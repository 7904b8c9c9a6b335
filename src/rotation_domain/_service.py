"""The service machinery behind `RotationProgram`: actors, units of work and retries."""

from __future__ import annotations

import contextlib
import random
import threading
import time
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from datetime import date
from typing import Any, TypeVar, cast
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError, Recording

from rotation_domain.department import Department
from rotation_domain.employee import Employee
from rotation_domain.errors import (
    ActorRequired,
    ConcurrencyConflict,
    RotationDomainError,
    UnknownDepartment,
    UnknownEmployee,
    UnknownId,
)
from rotation_domain.improvement import Improvement
from rotation_domain.log_head import EXPECTED_HEAD, HeadMoved, checks_expected_head
from rotation_domain.mentorship import Mentorship
from rotation_domain.program import PROGRAM_ID, Program
from rotation_domain.roster import MonthRoster
from rotation_domain.rotation import Rotation
from rotation_domain.values import Policy

__all__ = ["Authorizer", "ServiceBase", "UnitOfWork", "Veto"]

A = TypeVar("A", bound=Aggregate)
T = TypeVar("T")

Authorizer = Callable[[str, str, dict[str, Any]], None]
"""Called as ``authorize(actor, action, context)``; raises `NotAuthorized` to refuse."""

Veto = Callable[[str, str, dict[str, Any]], None]
"""Called as ``veto(actor, action, context)`` just before saving; raises `CommandVetoed`."""

_KIND_NAMES = {Rotation: "rotation", Mentorship: "mentorship", Improvement: "improvement"}


class StaleRead(Exception):
    """An aggregate taken from the cache had changed in the store: run the command again."""


class UnitOfWork:
    """The aggregates one command loads and changes; saved together in one transaction.

    Aggregates are taken from the application's cache without asking the store whether
    they changed (optimistic reads): those the command changes are checked by the
    save itself (a newer version in the store makes it fail, and the command is run
    again), and those it only read are checked by `check_reads` before saving, or when
    the command is refused, so no decision rests on a stale copy.
    """

    def __init__(
        self, app: Application[UUID], actor: str, *, fresh_head: int | None = None
    ) -> None:
        self.app = app
        self.actor = actor
        self.fresh_head = fresh_head
        """A log position up to which every cached aggregate is known to be current."""
        self._loaded: dict[UUID, Aggregate] = {}
        self._created: list[UUID] = []
        self._from_cache: set[UUID] = set()
        self.action = ""
        self.context: dict[str, Any] = {}

    def _get(self, aggregate_id: UUID) -> Aggregate | None:
        if aggregate_id in self._loaded:
            return self._loaded[aggregate_id]
        cache = self.app.repository.cache
        found: Aggregate
        try:
            if cache is None:
                raise KeyError(aggregate_id)
            found = cast(Aggregate, cache.get(aggregate_id))
            self._from_cache.add(aggregate_id)
        except KeyError:
            try:
                found = self.app.repository.get(aggregate_id)
            except AggregateNotFoundError:
                return None
        self._loaded[aggregate_id] = found
        return found

    def _changed_in_store(self, aggregate_id: UUID) -> bool:
        aggregate = self._loaded[aggregate_id]
        loaded_version = aggregate.version - len(aggregate.pending_events)
        newer = self.app.recorder.select_events(aggregate_id, gt=loaded_version, limit=1)
        return bool(newer)

    def check_reads(self, *, all_cached: bool = False) -> None:
        """Raise `StaleRead` if a cached aggregate this command relied on changed meanwhile.

        Before saving, only the aggregates read and not changed need checking (the save
        checks the others), and none when the command records something and the
        recorder checks the log's head in the saving transaction
        (`rotation_domain.log_head`); after a refusal, every cached aggregate does.
        """
        if not all_cached and self._head_checked_by_save() and self._records_something():
            return
        to_check = [
            aggregate_id
            for aggregate_id in self._from_cache
            if all_cached or not self._loaded[aggregate_id].pending_events
        ]
        if not to_check:
            return
        # One query instead of one per aggregate: has anything been recorded since?
        if (
            self.fresh_head is not None
            and len(to_check) > 1
            and (self.app.recorder.max_notification_id() or 0) == self.fresh_head
        ):
            return
        for aggregate_id in to_check:
            if self._changed_in_store(aggregate_id):
                raise StaleRead(aggregate_id)

    def _head_checked_by_save(self) -> bool:
        return self.fresh_head is not None and checks_expected_head(self.app.recorder)

    def _records_something(self) -> bool:
        return any(aggregate.pending_events for aggregate in self._loaded.values())

    def _relies_on_cached_reads(self) -> bool:
        return any(not self._loaded[i].pending_events for i in self._from_cache)

    def add(self, aggregate: A) -> A:
        """Track a new aggregate so it is saved with the others (and its events first)."""
        self._loaded[aggregate.id] = aggregate
        self._created.append(aggregate.id)
        return aggregate

    def find(self, cls: type[A], aggregate_id: UUID) -> A | None:
        """The aggregate with that id and class, or None."""
        found = self._get(aggregate_id)
        return found if isinstance(found, cls) else None

    def get(self, cls: type[A], aggregate_id: UUID) -> A:
        """The rotation, mentorship or improvement with that id, or `UnknownId`."""
        found = self.find(cls, aggregate_id)
        if found is None:
            kind = _KIND_NAMES.get(cls, cls.__name__.lower())
            raise UnknownId(f"no {kind} has id {aggregate_id}", kind=kind, id=aggregate_id)
        return found

    def employee(self, code: str) -> Employee:
        """The employee with that code, or `UnknownEmployee`."""
        found = self.find(Employee, Employee.id_for(code))
        if found is None:
            raise UnknownEmployee(f"no employee is registered as {code!r}", employee=code)
        return found

    def department(self, code: str) -> Department:
        """The department with that code, or `UnknownDepartment`."""
        found = self.find(Department, Department.id_for(code))
        if found is None:
            raise UnknownDepartment(f"no department is registered as {code!r}", department=code)
        return found

    def policy(self) -> Policy:
        """The program's current policy (the defaults before any is set)."""
        program = self.find(Program, PROGRAM_ID)
        return program.policy if program is not None else Policy()

    def program(self) -> Program:
        """The Program, launched with the default policy if this is its first change."""
        program = self.find(Program, PROGRAM_ID)
        if program is None:
            program = self.add(Program.launch(Policy(), actor=self.actor))
        return program

    def roster(self, month: str) -> MonthRoster:
        """The roster of a month, opened if no booking touched it before."""
        roster = self.find(MonthRoster, MonthRoster.id_for(month))
        if roster is None:
            roster = self.add(MonthRoster.open(month, actor=self.actor))
        return roster

    def save(self) -> list[Recording[UUID]]:
        """Record every new event of every aggregate of the unit, in one transaction.

        Returns the recordings: each event with its stored form and log position.
        """
        order = [*self._created, *(i for i in self._loaded if i not in self._created)]
        changed = [self._loaded[i] for i in order if self._loaded[i].pending_events]
        recordings: list[Recording[UUID]] = []
        if changed:
            if self._head_checked_by_save() and self._relies_on_cached_reads():
                recordings = self.app.save(*changed, **{EXPECTED_HEAD: self.fresh_head})
            else:
                recordings = self.app.save(*changed)
        cache = self.app.repository.cache
        if cache is not None:
            for aggregate_id in self._created:  # the next command finds them without a query
                cache.put(aggregate_id, self._loaded[aggregate_id])
        return recordings


class ServiceBase:
    """Actors, retries and the clock shared by the command groups of `RotationProgram`."""

    max_attempts = 8

    def __init__(
        self,
        app: Application[UUID],
        *,
        today: Callable[[], date] = date.today,
        authorize: Authorizer | None = None,
        veto: Veto | None = None,
        after_commit: Callable[[list[Recording[UUID]]], None] | None = None,
    ) -> None:
        self._app = app
        self._today = today
        self._authorize = authorize
        self.checking: UnitOfWork | None = None
        """The unit of work whose authorization is being asked, while it is."""
        self._veto = veto
        self._after_commit = after_commit
        self._actor: ContextVar[str | None] = ContextVar(f"actor-{id(self)}", default=None)
        # One command at a time per program object: commands change cached aggregates
        # in place. Processes scale out; within one, commands take a few milliseconds.
        self._commands = threading.RLock()
        # The cache starts empty, so it is current up to the head of the log.
        self._fresh_head: int | None = app.recorder.max_notification_id() or 0

    @contextlib.contextmanager
    def acting_as(self, actor: str) -> Iterator[None]:
        """Run the commands of the ``with`` block on behalf of ``actor``."""
        if not isinstance(actor, str) or not actor.strip():
            raise ActorRequired(f"an actor must be a non-empty text, got {actor!r}")
        token = self._actor.set(actor.strip())
        try:
            yield
        finally:
            self._actor.reset(token)

    def _resolve_actor(self, actor: str | None) -> str:
        if actor is not None:
            if not isinstance(actor, str) or not actor.strip():
                raise ActorRequired(f"actor must be a non-empty text, got {actor!r}")
            return actor.strip()
        current = self._actor.get()
        if current is None:
            raise ActorRequired(
                "this command needs an actor: pass actor='...' or run it inside "
                "`with program.acting_as('...'):`"
            )
        return current

    def _forget(self, unit: UnitOfWork) -> None:
        """Drop the unit's aggregates from the cache: a refused command may have changed them.

        Commands work on the cached aggregates themselves (no copy per command, see
        `RotationApplication`), so any that a failed command touched are reloaded next time.
        """
        cache = self._app.repository.cache
        if cache is not None:
            for aggregate_id in unit._loaded:
                with contextlib.suppress(KeyError):
                    cache.get(aggregate_id, evict=True)

    def _advance_fresh_head(self, recorded: list[int]) -> None:
        """Keep knowing up to where the whole cache is current, or stop claiming to.

        After this process's own events follow straight on from the known position,
        every cached aggregate is still current (the saved ones hold those events). If
        anything else was recorded in between, nothing can be said: forget the claim.
        """
        if not recorded or self._fresh_head is None:
            return
        if min(recorded) == self._fresh_head + 1 and max(recorded) - min(recorded) + 1 == len(
            recorded
        ):
            self._fresh_head = max(recorded)
        else:
            self._fresh_head = None

    def _check(self, unit: UnitOfWork, action: str, **context: Any) -> None:
        """Ask the authorization policy; remember the action for the vetoes before saving."""
        unit.action, unit.context = action, context
        if self._authorize is not None:
            self.checking = unit
            try:
                self._authorize(unit.actor, action, context)
            finally:
                self.checking = None

    def _run(self, actor: str | None, command: Callable[[UnitOfWork], T]) -> T:
        """Run ``command`` in a unit of work and save it, retrying on write conflicts.

        A command that raises records nothing. When another writer saved first, the
        command is run again on fresh state, at most `max_attempts` times.
        """
        who = self._resolve_actor(actor)
        with self._commands:
            for attempt in range(1, self.max_attempts + 1):
                unit = UnitOfWork(self._app, who, fresh_head=self._fresh_head)
                try:
                    try:
                        result = command(unit)
                    except RotationDomainError:
                        unit.check_reads(all_cached=True)  # refused on fresh facts only
                        raise
                    unit.check_reads()
                    if self._veto is not None and unit.action:
                        self._veto(unit.actor, unit.action, unit.context)
                    recorded = unit.save()
                except (IntegrityError, StaleRead) as error:
                    if isinstance(error, HeadMoved):  # check each cached read from now on
                        self._fresh_head = None
                    self._forget(unit)
                    if attempt == self.max_attempts:
                        break
                    time.sleep(random.uniform(0, 0.005 * 2**attempt))
                    continue
                except BaseException:
                    self._forget(unit)
                    raise
                self._advance_fresh_head(
                    [r.notification.id for r in recorded if r.notification is not None]
                )
                if self._after_commit is not None:
                    self._after_commit(recorded)
                return result
        raise ConcurrencyConflict(
            f"other writers kept changing the same records; gave up after "
            f"{self.max_attempts} attempts. Try the command again.",
            attempts=self.max_attempts,
        )
