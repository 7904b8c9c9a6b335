"""The error hierarchy: every refused command raises one of these and records nothing.

When a command breaks several rules the error raised follows the order
`InvalidInput`, `NotFound`, `NotAuthorized`, `InvalidTransition`, then the
`PolicyViolation` subclasses. Each error carries the values that broke the rule as
attributes as well as in its message, so a host application can show them.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "ActorRequired",
    "CapacityExceeded",
    "CommandVetoed",
    "ConcurrencyConflict",
    "DirectorySourceError",
    "HostDepartmentFull",
    "HostDepartmentNotEligible",
    "ImprovementRequired",
    "InvalidInput",
    "InvalidTransition",
    "MentorNotAgreed",
    "MentorNotBriefed",
    "MentorNotInHostDepartment",
    "MentorUnavailable",
    "NotAnITEmployee",
    "NotAuthorized",
    "NotFound",
    "OutsideRotationWindow",
    "OverlappingRotation",
    "PolicyViolation",
    "RotationDomainError",
    "RotationTooLong",
    "UnknownDepartment",
    "UnknownEmployee",
    "UnknownId",
    "UnknownReviewCycle",
]


class RotationDomainError(Exception):
    """Base class of every error the library raises for a refused command.

    Attributes:
        rule: The rule of the program that refused the command (``"R9"``), if any.
        details: The values that broke the rule, by name.
    """

    rule: str | None = None

    def __init__(self, message: str, /, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class InvalidInput(RotationDomainError):
    """A value is malformed or missing: an empty title, an end before a start."""


class ActorRequired(InvalidInput):
    """A command was given no actor: pass ``actor=`` or use ``program.acting_as(...)``."""


class NotFound(RotationDomainError):
    """Something the command names does not exist in the program."""


class UnknownEmployee(NotFound):
    """No employee is registered under the given code."""


class UnknownDepartment(NotFound):
    """No department is registered under the given code."""


class UnknownId(NotFound):
    """No rotation, mentorship or improvement has the given id."""


class UnknownReviewCycle(NotFound):
    """No review cycle has the given name."""


class NotAuthorized(RotationDomainError):
    """The actor may not perform the command."""


class InvalidTransition(RotationDomainError):
    """The command does not apply to the thing in its current state.

    For example starting a cancelled rotation or adopting a rejected improvement.
    """


class ConcurrencyConflict(RotationDomainError):
    """Other writers kept changing the same records; automatic retries are spent."""


class DirectorySourceError(RotationDomainError):
    """A directory source (an HRIS over SCIM, a CSV export) could not be read whole.

    A directory sync that meets one records nothing. ``details`` name the ``source`` and,
    where known, the resource (a SCIM resource id, a CSV line) and what is wrong with it.
    """


class PolicyViolation(RotationDomainError):
    """The command breaks one of the program's rules (R1-R10) or a company veto."""


class CommandVetoed(PolicyViolation):
    """A plugin's company-specific rule refused the command (``rotation_validate_command``)."""

    rule = "company"


class NotAnITEmployee(PolicyViolation):
    """R1: only IT staff rotate."""

    rule = "R1"


class HostDepartmentNotEligible(PolicyViolation):
    """R1: the host must be another, non-IT department."""

    rule = "R1"


class RotationTooLong(PolicyViolation):
    """R2: a rotation lasts at most the policy's ``max_length_days``."""

    rule = "R2"


class MentorNotInHostDepartment(PolicyViolation):
    """R4: the mentor must already work in the host department."""

    rule = "R4"


class MentorNotAgreed(PolicyViolation):
    """R4: no rotation starts without a mentor who agreed."""

    rule = "R4"


class MentorNotBriefed(PolicyViolation):
    """R5: with ``require_briefing`` set, the mentor is briefed before the start."""

    rule = "R5"


class OutsideRotationWindow(PolicyViolation):
    """R6: the date lies outside the rotation's window (start to end, inclusive)."""

    rule = "R6"


class ImprovementRequired(PolicyViolation):
    """R8: a rotation is completed only with at least one improvement proposed."""

    rule = "R8"


class CapacityExceeded(PolicyViolation):
    """R9: too many IT staff would be away on some day."""

    rule = "R9"


class HostDepartmentFull(PolicyViolation):
    """R9: the host department would have too many guests on some day."""

    rule = "R9"


class MentorUnavailable(PolicyViolation):
    """R9: the mentor would have too many mentees on some day."""

    rule = "R9"


class OverlappingRotation(PolicyViolation):
    """R9: one person cannot be on two rotations on the same day."""

    rule = "R9"
