"""The directory as an HRIS sees it: snapshots to sync from, sources, and sync reports.

A `DirectorySource` (an HRIS over SCIM, a CSV export...) reads the whole directory into a
`DirectorySnapshot`. ``program.sync_directory(source)`` then records only what differs
from the directory already recorded, in one transaction, and returns a `SyncReport`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol, runtime_checkable
from uuid import UUID

import attrs

from rotation_domain._inputs import an_email, text
from rotation_domain.errors import InvalidInput
from rotation_domain.values import Immutable

__all__ = [
    "Consequence",
    "DepartmentRecord",
    "DirectorySnapshot",
    "DirectorySource",
    "PersonRecord",
    "SyncReport",
    "Transfer",
]

CODE_LENGTH = 64
NAME_LENGTH = 200
EMAIL_LENGTH = 320


def _code(_: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    text(attribute.name, value, max_length=CODE_LENGTH)
    if value != value.strip():
        raise InvalidInput(
            f"{attribute.name} must not start or end with spaces, got {value!r}",
            field=attribute.name,
        )


def _name(_: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    text(attribute.name, value, max_length=NAME_LENGTH)


def _email(_: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    an_email(text(attribute.name, value, max_length=EMAIL_LENGTH))


def _optional_code(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None:
        _code(instance, attribute, value)


def _bool(_: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, bool):
        raise InvalidInput(
            f"{attribute.name} must be True or False, got {value!r}", field=attribute.name
        )


@attrs.frozen
class DepartmentRecord(Immutable):
    """A department as the HRIS holds it.

    Attributes:
        code: Its code, the key the directory knows it by.
        name: Its name.
        is_it: Whether it is an IT department (R1); an HRIS does not say, the source's
            configuration does.
    """

    code: str = attrs.field(validator=_code)
    name: str = attrs.field(validator=_name)
    is_it: bool = attrs.field(default=False, validator=_bool)


@attrs.frozen
class PersonRecord(Immutable):
    """A person as the HRIS holds them.

    Attributes:
        code: Their employee code (the HRIS's employee number).
        name: Their name.
        email: Their e-mail address.
        department: The code of the department they work in.
        manager: Their manager's employee code, if known.
        active: False for a person who left: a sync records their departure.
    """

    code: str = attrs.field(validator=_code)
    name: str = attrs.field(validator=_name)
    email: str = attrs.field(validator=_email)
    department: str = attrs.field(validator=_code)
    manager: str | None = attrs.field(default=None, validator=_optional_code)
    active: bool = attrs.field(default=True, validator=_bool)


def _unique(kind: str, codes: Iterable[str]) -> None:
    seen: set[str] = set()
    twice: set[str] = set()
    for code in codes:
        (twice if code in seen else seen).add(code)
    if twice:
        listed = sorted(twice)
        raise InvalidInput(f"the directory lists these {kind} codes twice: {listed}", codes=listed)


def _departments(items: Iterable[DepartmentRecord]) -> tuple[DepartmentRecord, ...]:
    return tuple(items)


def _people(items: Iterable[PersonRecord]) -> tuple[PersonRecord, ...]:
    return tuple(items)


@attrs.frozen
class DirectorySnapshot(Immutable):
    """The whole directory as read from a source at one moment.

    Codes are unique, and every person's department is among the departments.

    Raises:
        InvalidInput: a code is listed twice, or a person works in a department the
            snapshot does not hold.
    """

    departments: tuple[DepartmentRecord, ...] = attrs.field(converter=_departments)
    people: tuple[PersonRecord, ...] = attrs.field(converter=_people)

    def __attrs_post_init__(self) -> None:
        for kind, items, cls in (
            ("departments", self.departments, DepartmentRecord),
            ("people", self.people, PersonRecord),
        ):
            wrong = [item for item in items if not isinstance(item, cls)]
            if wrong:
                raise InvalidInput(
                    f"{kind} must be {cls.__name__} values, got {wrong[0]!r}", field=kind
                )
        _unique("department", (d.code for d in self.departments))
        _unique("employee", (p.code for p in self.people))
        known = {d.code for d in self.departments}
        missing = [f"{p.code} ({p.department})" for p in self.people if p.department not in known]
        if missing:
            raise InvalidInput(
                f"these people work in departments the directory does not list: {missing}",
                people=missing,
            )

    def department(self, code: str) -> DepartmentRecord | None:
        """The department with that code, or None."""
        return next((d for d in self.departments if d.code == code), None)

    def person(self, code: str) -> PersonRecord | None:
        """The person with that code, or None."""
        return next((p for p in self.people if p.code == code), None)


@runtime_checkable
class DirectorySource(Protocol):
    """Where a directory sync reads the directory from (an HRIS over SCIM, a CSV file).

    ``read()`` reads the whole directory or raises (preferably a
    `rotation_domain.errors.DirectorySourceError` naming the resource at fault); a sync
    records nothing from a source that raised.
    """

    name: str

    def read(self) -> DirectorySnapshot:
        """Read the whole directory."""
        ...


@attrs.frozen
class Transfer(Immutable):
    """An employee a sync moved to another department."""

    employee: str
    from_department: str
    to_department: str


@attrs.frozen
class Consequence(Immutable):
    """What R10 did to an open rotation or mentorship because someone left or moved.

    Attributes:
        kind: ``rotation cancelled``, ``rotation flagged`` or ``mentorship released``.
        id: The rotation's or the mentorship's id.
        reason: The reason recorded with it.
    """

    kind: str
    id: UUID
    reason: str


@attrs.frozen
class SyncReport(Immutable):
    """What a directory sync recorded.

    Attributes:
        source: The name of the source synced from.
        departments_registered: Codes of the departments registered.
        employees_registered: Codes of the employees registered.
        transferred: The employees moved to another department.
        departed: Codes of the employees recorded as departed.
        details_changed: Codes of the employees whose name, e-mail or manager changed.
        consequences: What R10 did to the open rotations and mentorships of the people
            who left or moved.
        notes: Differences a sync does not record (a department renamed or made IT in
            the HRIS, a departed person active again), for a person to look at.
        events_recorded: How many events the sync recorded (0 when nothing changed).
    """

    source: str
    departments_registered: tuple[str, ...] = ()
    employees_registered: tuple[str, ...] = ()
    transferred: tuple[Transfer, ...] = ()
    departed: tuple[str, ...] = ()
    details_changed: tuple[str, ...] = ()
    consequences: tuple[Consequence, ...] = ()
    notes: tuple[str, ...] = ()
    events_recorded: int = 0

    @property
    def changed(self) -> bool:
        """Whether the sync recorded anything."""
        return self.events_recorded > 0

    def counts(self) -> dict[str, int]:
        """How many of each kind of change, by name."""
        return {
            "departments_registered": len(self.departments_registered),
            "employees_registered": len(self.employees_registered),
            "transferred": len(self.transferred),
            "departed": len(self.departed),
            "details_changed": len(self.details_changed),
            "consequences": len(self.consequences),
        }

    def summary(self) -> str:
        """One line for a log: the counts of each kind of change."""
        parts = [f"{n} {name.replace('_', ' ')}" for name, n in self.counts().items() if n]
        return f"{self.source}: " + (", ".join(parts) if parts else "no change")
