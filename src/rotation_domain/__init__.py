"""rotation-domain: an event-sourced core for a company-wide IT job-rotation program.

IT staff spend up to a month in another department with a mentor from there, record
problems IT could solve, and pay the host back with a lasting improvement. Every
decision is kept as an immutable event. Start with `open_program()`.
"""

from importlib.metadata import PackageNotFoundError, version

from rotation_domain.application import RotationProgram, open_program
from rotation_domain.audit import AuditSeal, AuditTrailBroken, AuditVerification, TimelineEntry
from rotation_domain.department import Department
from rotation_domain.directory import (
    Consequence,
    DepartmentRecord,
    DirectorySnapshot,
    DirectorySource,
    PersonRecord,
    SyncReport,
    Transfer,
)
from rotation_domain.employee import Employee
from rotation_domain.errors import (
    ActorRequired,
    CapacityExceeded,
    CommandVetoed,
    ConcurrencyConflict,
    DirectorySourceError,
    HostDepartmentFull,
    HostDepartmentNotEligible,
    ImprovementRequired,
    InvalidInput,
    InvalidTransition,
    MentorNotAgreed,
    MentorNotBriefed,
    MentorNotInHostDepartment,
    MentorUnavailable,
    NotAnITEmployee,
    NotAuthorized,
    NotFound,
    OutsideRotationWindow,
    OverlappingRotation,
    PolicyViolation,
    RotationDomainError,
    RotationTooLong,
    UnknownDepartment,
    UnknownEmployee,
    UnknownId,
    UnknownReviewCycle,
)
from rotation_domain.hookspecs import hookimpl
from rotation_domain.improvement import Improvement
from rotation_domain.mentorship import Mentorship
from rotation_domain.personal_data import (
    FORGOTTEN,
    WITHHELD,
    AlreadyForgotten,
    KeyStoreMissing,
    PersonalKeyStore,
)
from rotation_domain.program import Program
from rotation_domain.roster import MonthRoster
from rotation_domain.rotation import Rotation
from rotation_domain.values import (
    DateRange,
    ImprovementStatus,
    MentorSession,
    MentorshipStatus,
    Policy,
    ReviewCycle,
    RotationStatus,
    SessionKind,
)

try:
    __version__ = version("rotation-domain")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"

__all__ = [
    "FORGOTTEN",
    "WITHHELD",
    "ActorRequired",
    "AlreadyForgotten",
    "AuditSeal",
    "AuditTrailBroken",
    "AuditVerification",
    "CapacityExceeded",
    "CommandVetoed",
    "ConcurrencyConflict",
    "Consequence",
    "DateRange",
    "Department",
    "DepartmentRecord",
    "DirectorySnapshot",
    "DirectorySource",
    "DirectorySourceError",
    "Employee",
    "HostDepartmentFull",
    "HostDepartmentNotEligible",
    "Improvement",
    "ImprovementRequired",
    "ImprovementStatus",
    "InvalidInput",
    "InvalidTransition",
    "KeyStoreMissing",
    "MentorNotAgreed",
    "MentorNotBriefed",
    "MentorNotInHostDepartment",
    "MentorSession",
    "MentorUnavailable",
    "Mentorship",
    "MentorshipStatus",
    "MonthRoster",
    "NotAnITEmployee",
    "NotAuthorized",
    "NotFound",
    "OutsideRotationWindow",
    "OverlappingRotation",
    "PersonRecord",
    "PersonalKeyStore",
    "Policy",
    "PolicyViolation",
    "Program",
    "ReviewCycle",
    "RotationDomainError",
    "RotationProgram",
    "RotationStatus",
    "RotationTooLong",
    "SessionKind",
    "SyncReport",
    "TimelineEntry",
    "Transfer",
    "UnknownDepartment",
    "UnknownEmployee",
    "UnknownId",
    "UnknownReviewCycle",
    "Rotation",
    "__version__",
    "hookimpl",
    "open_program",
]
