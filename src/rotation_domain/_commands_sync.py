"""Directory sync: record what an HRIS holds that the directory does not, in one transaction.

The source is read completely first (a half-read directory records nothing); then the
difference is recorded as the directory commands would record it, each change authorized
and vetoed as its command, and R10 handles the open rotations of people who leave or move.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any
from uuid import UUID

from rotation_domain._commands_directory import DirectoryCommands
from rotation_domain._inputs import a_date
from rotation_domain._service import UnitOfWork
from rotation_domain.department import Department
from rotation_domain.directory import (
    Consequence,
    DirectorySnapshot,
    DirectorySource,
    SyncReport,
    Transfer,
)
from rotation_domain.employee import Employee
from rotation_domain.errors import (
    DirectorySourceError,
    InvalidInput,
    RotationDomainError,
)
from rotation_domain.mentorship import Mentorship
from rotation_domain.rotation import Rotation

__all__ = ["DirectorySyncCommands"]

SYNC_DEPARTURE_REASON = "left the company (HRIS sync)"
_LOG_PAGE = 500
_DIRECTORY_TOPICS = (Department.DepartmentRegistered.TOPIC, Employee.EmployeeRegistered.TOPIC)


class DirectorySyncCommands(DirectoryCommands):
    """Sync the directory from the sources plugins offer (an HRIS over SCIM, a CSV export)."""

    def directory_sources(self) -> list[DirectorySource]:
        """The directory sources the plugins offer (``rotation_directory_sources``).

        Raises:
            DirectorySourceError: a plugin's hook raised, or gave something that is not
                a source (an object with a ``name`` and a ``read()`` method).
        """
        plugins = getattr(self, "plugin_manager", None)
        if plugins is None:
            return []
        settings = self._plugin_settings()
        found: list[DirectorySource] = []
        for impl in plugins.hook.rotation_directory_sources.get_hookimpls():
            try:
                given = impl.function(settings=settings) or ()
            except RotationDomainError:
                raise
            except Exception as error:
                raise DirectorySourceError(
                    f"plugin {impl.plugin_name!r} could not give its directory sources: "
                    f"{type(error).__name__}: {error}",
                    plugin=impl.plugin_name,
                ) from error
            for source in given:
                if not isinstance(source, DirectorySource) or not isinstance(source.name, str):
                    raise DirectorySourceError(
                        f"plugin {impl.plugin_name!r} gave {source!r} as a directory source; "
                        "a source has a name and a read() method",
                        plugin=impl.plugin_name,
                    )
                found.append(source)
        return found

    def _plugin_settings(self) -> Mapping[str, str]:
        """The settings plugins got when the program opened (`RotationProgram.settings`)."""
        settings: Mapping[str, str] = getattr(self, "settings", {})
        return settings

    def sync_directory(
        self,
        source: DirectorySource | DirectorySnapshot | str | None = None,
        *,
        on: date | str | None = None,
        actor: str | None = None,
    ) -> SyncReport:
        """Bring the recorded directory in line with an HRIS, recording only what changed.

        The source is read completely first; if reading fails nothing is recorded. Then,
        in one transaction: new departments and new active people are registered; a
        person in another department is transferred; a person absent from the source or
        inactive there departs (reason ``"left the company (HRIS sync)"``); a person whose
        name, e-mail or manager differs gets `EmployeeDetailsChanged`. R10 handles the
        open rotations and mentorships of those who leave or move, as
        `transfer_employee` and `depart_employee` do. A second sync of the same directory
        records nothing.

        Each change is authorized and may be vetoed as the matching command would be
        (``register_department``, ``register_employee``, ``transfer_employee``,
        ``depart_employee``; a details change as ``register_employee``).

        Args:
            source: A `DirectorySource`, a `DirectorySnapshot` already read, the name of
                a source from `directory_sources`, or None for the only one there is.
            on: The business date of transfers and departures (default: today).
            actor: Who syncs (default: the ``acting_as`` actor).

        Raises:
            DirectorySourceError: the source could not be read whole.
            InvalidInput: no such source, several sources and none named, or the source
                gave something that is not a `DirectorySnapshot`.
        """
        day = a_date("on", on) if on is not None else self._today()
        self._resolve_actor(actor)  # refuse a missing actor before reading anything
        name, snapshot = self._read_directory(source)

        def command(unit: UnitOfWork) -> SyncReport:
            return self._sync(unit, name, snapshot, day)

        return self._run(actor, command)

    def _read_directory(
        self, source: DirectorySource | DirectorySnapshot | str | None
    ) -> tuple[str, DirectorySnapshot]:
        if isinstance(source, DirectorySnapshot):
            return "snapshot", source
        if source is None or isinstance(source, str):
            sources = self.directory_sources()
            names = [s.name for s in sources]
            if source is not None:
                sources = [s for s in sources if s.name == source]
            if len(sources) != 1:
                wanted = (
                    f"no directory source is named {source!r}"
                    if source
                    else (
                        "no plugin offers a directory source"
                        if not sources
                        else "several directory sources are offered; name the one to sync"
                    )
                )
                raise InvalidInput(f"{wanted} (sources: {names})", sources=names)
            source = sources[0]
        if not isinstance(source, DirectorySource):
            raise InvalidInput(
                f"sync_directory needs a directory source or snapshot, got {source!r}",
                field="source",
            )
        try:
            snapshot = source.read()
        except RotationDomainError:
            raise
        except Exception as error:
            raise DirectorySourceError(
                f"directory source {source.name!r} could not be read: "
                f"{type(error).__name__}: {error}",
                source=source.name,
            ) from error
        if not isinstance(snapshot, DirectorySnapshot):
            raise InvalidInput(
                f"directory source {source.name!r} read {type(snapshot).__name__}, "
                "not a DirectorySnapshot",
                source=source.name,
            )
        return source.name, snapshot

    def _recorded_directory(self, unit: UnitOfWork) -> tuple[set[UUID], set[UUID]]:
        """The ids of every department and employee ever registered, from the log.

        The log, filtered by the two created-event topics and read in pages, is the
        index: an index aggregate would be one more thing every registration writes and
        every concurrent registration conflicts on. This runs inside the unit of work,
        so a retry after a conflict reads it again; a department or employee registered
        meanwhile by someone else makes our own registration of it fail on save (same
        stable id), and the sync is run again on the fresh log.
        """
        departments: set[UUID] = set()
        employees: set[UUID] = set()
        start = 0
        while True:
            page = unit.app.recorder.select_notifications(
                start=start,
                limit=_LOG_PAGE,
                topics=_DIRECTORY_TOPICS,
                inclusive_of_start=False,
            )
            for notification in page:
                kind = departments if notification.topic == _DIRECTORY_TOPICS[0] else employees
                kind.add(UUID(str(notification.originator_id)))
            if len(page) < _LOG_PAGE:
                return departments, employees
            start = page[-1].id

    def _sync(
        self, unit: UnitOfWork, name: str, snapshot: DirectorySnapshot, day: date
    ) -> SyncReport:
        department_ids, employee_ids = self._recorded_directory(unit)
        departments = {d.code: d for i in department_ids if (d := unit.find(Department, i))}
        employees = {e.code: e for i in employee_ids if (e := unit.find(Employee, i))}
        notes: list[str] = []
        registered_departments: list[str] = []
        for record in snapshot.departments:
            known = departments.get(record.code)
            if known is None:
                self._change(unit, "register_department", department=record.code)
                department = Department.register(
                    record.code, record.name, is_it=record.is_it, actor=unit.actor
                )
                departments[record.code] = unit.add(department)
                registered_departments.append(record.code)
            elif (known.name, known.is_it) != (record.name, record.is_it):
                notes.append(
                    f"department {record.code} is recorded as {known.name!r} "
                    f"(IT: {known.is_it}) but the source says {record.name!r} "
                    f"(IT: {record.is_it}); a sync does not change departments"
                )
        registered: list[str] = []
        transferred: list[Transfer] = []
        departed: list[str] = []
        details: list[str] = []
        for person in snapshot.people:
            employee = employees.get(person.code)
            if employee is None:
                if person.active:
                    self._change(
                        unit,
                        "register_employee",
                        employee=person.code,
                        department=person.department,
                    )
                    unit.add(
                        Employee.register(
                            person.code,
                            name=person.name,
                            email=person.email,
                            department=person.department,
                            manager=person.manager,
                            actor=unit.actor,
                        )
                    )
                    registered.append(person.code)
                continue
            if not employee.active:
                if person.active:
                    notes.append(
                        f"employee {person.code} departed but is active in the source; "
                        "a sync does not bring people back"
                    )
                continue
            if not person.active:
                self._depart_by_sync(unit, employee, day)
                departed.append(person.code)
                continue
            now = (person.name, person.email, person.manager)
            if employee.forgotten:
                notes.append(
                    f"employee {person.code} was forgotten: a sync does not record their "
                    "name, e-mail address or manager again"
                )
            elif now != (employee.name, employee.email, employee.manager):
                self._change(
                    unit,
                    "register_employee",
                    employee=person.code,
                    department=employee.department,
                )
                employee.change_details(
                    name=person.name,
                    email=person.email,
                    manager=person.manager,
                    actor=unit.actor,
                )
                details.append(person.code)
            if person.department != employee.department:
                before = employee.department
                self._change(unit, "transfer_employee", employee=person.code)
                employee.transfer(person.department, day, actor=unit.actor)
                reason = (
                    f"{person.code} moved from {before} to {person.department} on {day.isoformat()}"
                )
                still_it = departments[person.department].is_it
                self._after_leaving(unit, employee, reason, day, still_it=still_it, departed=False)
                transferred.append(Transfer(person.code, before, person.department))
        in_source = {p.code for p in snapshot.people}
        for code in sorted(set(employees) - in_source):
            if employees[code].active:
                self._depart_by_sync(unit, employees[code], day)
                departed.append(code)
        unit.action = ""  # each change was authorized and vetoed on its own
        consequences, recorded = _consequences(unit)
        return SyncReport(
            source=name,
            departments_registered=tuple(registered_departments),
            employees_registered=tuple(registered),
            transferred=tuple(transferred),
            departed=tuple(departed),
            details_changed=tuple(details),
            consequences=consequences,
            notes=tuple(notes),
            events_recorded=recorded,
        )

    def _change(self, unit: UnitOfWork, action: str, **context: Any) -> None:
        """Authorize and veto one change of a sync as the matching command would."""
        self._check(unit, action, **context)
        if self._veto is not None:
            self._veto(unit.actor, action, context)

    def _depart_by_sync(self, unit: UnitOfWork, employee: Employee, day: date) -> None:
        self._change(unit, "depart_employee", employee=employee.code)
        employee.depart(day, SYNC_DEPARTURE_REASON, actor=unit.actor)
        message = f"{employee.code} left the company on {day.isoformat()} ({SYNC_DEPARTURE_REASON})"
        self._after_leaving(unit, employee, message, day, still_it=False, departed=True)


def _consequences(unit: UnitOfWork) -> tuple[tuple[Consequence, ...], int]:
    """What R10 did in this unit (from the events about to be saved), and how many events."""
    found: list[Consequence] = []
    count = 0
    for aggregate in unit._loaded.values():
        count += len(aggregate.pending_events)
        for event in aggregate.pending_events:
            if isinstance(event, Rotation.RotationCancelled):
                found.append(Consequence("rotation cancelled", aggregate.id, event.reason))
            elif isinstance(event, Rotation.RotationFlagged):
                found.append(Consequence("rotation flagged", aggregate.id, event.reason))
            elif isinstance(event, Mentorship.MentorshipReleased):
                found.append(Consequence("mentorship released", aggregate.id, event.reason))
    return tuple(found), count
