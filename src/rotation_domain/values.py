"""Value objects: frozen attrs classes that validate themselves.

Serialization is not their business: the cattrs converter in ``adapters`` reads their
annotations. A value that fails validation raises `InvalidInput` naming the field.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any, Self

import attrs

from rotation_domain.errors import InvalidInput

__all__ = [
    "DateRange",
    "Immutable",
    "ImprovementStatus",
    "MentorSession",
    "MentorshipStatus",
    "Policy",
    "ReviewCycle",
    "RotationStatus",
    "SessionKind",
]


def _positive(_: Any, attribute: attrs.Attribute[int], value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidInput(
            f"{attribute.name} must be a whole number of at least 1, got {value!r}",
            field=attribute.name,
            value=value,
        )


def _is_date(_: Any, attribute: attrs.Attribute[date], value: date) -> None:
    if not isinstance(value, date) or hasattr(value, "hour"):
        raise InvalidInput(
            f"{attribute.name} must be a date (YYYY-MM-DD), got {value!r}",
            field=attribute.name,
            value=value,
        )


def _text(_: Any, attribute: attrs.Attribute[str], value: str) -> None:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(
            f"{attribute.name} must be a non-empty text, got {value!r}",
            field=attribute.name,
            value=value,
        )


class Immutable:
    """Base of the frozen value objects: copying one gives the same object back.

    The repository deep-copies cached aggregates before each command; value objects
    cannot change, so sharing them is safe and keeps those copies cheap.
    """

    __slots__ = ()

    def __copy__(self) -> Self:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> Self:
        return self


class SessionKind(enum.StrEnum):
    """R6: the kinds of session a mentor drives."""

    DISCUSSION = "discussion"
    READING = "reading"
    HANDS_ON = "hands-on"


class RotationStatus(enum.StrEnum):
    """Where a rotation stands."""

    PLANNED = "planned"
    IN_PROGRESS = "in-progress"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class MentorshipStatus(enum.StrEnum):
    """Where a mentorship stands."""

    NOMINATED = "nominated"
    AGREED = "agreed"
    DECLINED = "declined"
    CONCLUDED = "concluded"
    RELEASED = "released"


class ImprovementStatus(enum.StrEnum):
    """Where an improvement stands."""

    PROPOSED = "proposed"
    ADOPTED = "adopted"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


@attrs.frozen
class DateRange(Immutable):
    """The days from ``start`` to ``end``, both included."""

    start: date = attrs.field(validator=_is_date)
    end: date = attrs.field(validator=_is_date)

    def __attrs_post_init__(self) -> None:
        if self.end < self.start:
            raise InvalidInput(
                f"the end {self.end.isoformat()} is before the start {self.start.isoformat()}",
                start=self.start,
                end=self.end,
            )

    @property
    def length_days(self) -> int:
        """The number of days in the range, both ends included."""
        return (self.end - self.start).days + 1

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and self.start <= day <= self.end

    def overlaps(self, other: DateRange) -> bool:
        """Whether the two ranges share at least one day."""
        return self.start <= other.end and other.start <= self.end

    def days(self) -> Iterator[date]:
        """Every day of the range, in order."""
        day = self.start
        while day <= self.end:
            yield day
            day += timedelta(days=1)

    def __str__(self) -> str:
        return f"{self.start.isoformat()}..{self.end.isoformat()}"


@attrs.frozen
class Policy(Immutable):
    """The program's rules that take numbers (R2, R5, R9).

    Attributes:
        max_length_days: R2, the longest rotation, start and end included.
        max_concurrent: R9, IT staff away at once, counted per day, program-wide.
        max_guests_per_department: R9, IT guests one host department takes at once.
        max_mentees_per_mentor: R9, mentees one mentor guides at once.
        require_briefing: R5, whether a rotation may start only after its mentor's briefing.
    """

    max_length_days: int = attrs.field(default=31, validator=_positive)
    max_concurrent: int = attrs.field(default=3, validator=_positive)
    max_guests_per_department: int = attrs.field(default=1, validator=_positive)
    max_mentees_per_mentor: int = attrs.field(default=1, validator=_positive)
    require_briefing: bool = attrs.field(
        default=False, validator=attrs.validators.instance_of(bool)
    )


@attrs.frozen
class ReviewCycle(Immutable):
    """A performance-review cycle in which every active IT employee owes a rotation (R3)."""

    name: str = attrs.field(validator=_text)
    period: DateRange
    closed: bool = False


@attrs.frozen
class MentorSession(Immutable):
    """One session a mentor held (R6)."""

    kind: SessionKind = attrs.field(converter=SessionKind)
    on: date = attrs.field(validator=_is_date)
    topic: str = attrs.field(validator=_text)
