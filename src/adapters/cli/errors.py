"""Exit codes, and how a refused command is shown: one line, no traceback unless ``--debug``.

| code | meaning | raised as |
|------|---------|-----------|
| 0 | done | |
| 1 | unexpected error (a bug, a lost connection) | any other exception |
| 2 | usage or invalid input | click's usage errors, `InvalidInput`, `ActorRequired` |
| 3 | not found | `NotFound` and its subclasses; a SQLite store file that does not exist |
| 4 | refused by a rule of the program or a company veto | `PolicyViolation` and its subclasses |
| 5 | not authorized | `NotAuthorized` |
| 6 | conflict with the recorded state | `InvalidTransition`, `ConcurrencyConflict` |
| 7 | a directory source could not be read | `DirectorySourceError` |
| 8 | the audit trail does not verify | ``verify`` finds a break; `AuditTrailBroken` |
| 9 | the store keeps no audit chain | ``verify`` or ``seal`` on a ``memory:`` store |
"""

from __future__ import annotations

import enum
import sys
import traceback

import click

from rotation_domain import (
    AuditTrailBroken,
    ConcurrencyConflict,
    DirectorySourceError,
    InvalidInput,
    InvalidTransition,
    NotAuthorized,
    NotFound,
    PolicyViolation,
    RotationDomainError,
)

__all__ = ["ExitCode", "exit_code_for", "report_error", "report_line", "report_unexpected"]


class ExitCode(enum.IntEnum):
    """The process exit codes of the ``rotation`` command, one per error family."""

    OK = 0
    UNEXPECTED = 1
    INVALID_INPUT = 2
    NOT_FOUND = 3
    POLICY_VIOLATION = 4
    NOT_AUTHORIZED = 5
    CONFLICT = 6
    DIRECTORY_SOURCE = 7
    AUDIT_TRAIL_BROKEN = 8
    NO_AUDIT_CHAIN = 9


_FAMILIES: tuple[tuple[type[RotationDomainError], ExitCode], ...] = (
    (InvalidInput, ExitCode.INVALID_INPUT),
    (NotFound, ExitCode.NOT_FOUND),
    (PolicyViolation, ExitCode.POLICY_VIOLATION),
    (NotAuthorized, ExitCode.NOT_AUTHORIZED),
    (InvalidTransition, ExitCode.CONFLICT),
    (ConcurrencyConflict, ExitCode.CONFLICT),
    (DirectorySourceError, ExitCode.DIRECTORY_SOURCE),
    (AuditTrailBroken, ExitCode.AUDIT_TRAIL_BROKEN),
)


def exit_code_for(error: BaseException) -> ExitCode:
    """The exit code of an error's family (1 for anything the library did not refuse)."""
    for family, code in _FAMILIES:
        if isinstance(error, family):
            return code
    return ExitCode.UNEXPECTED


def _one_line(text: str) -> str:
    return " ".join(text.split())


def report_error(command: str, error: RotationDomainError, *, debug: bool) -> ExitCode:
    """Print what was refused and why on one line of standard error; return the exit code.

    Args:
        command: The command as the user typed it (``rotation plan``).
        error: The refusal.
        debug: Whether to print the traceback too.
    """
    if debug:
        traceback.print_exception(error, file=sys.stderr)
    rule = f" [{error.rule}]" if error.rule else ""
    click.echo(
        f"{command}: refused{rule}: {type(error).__name__}: {_one_line(str(error))}", err=True
    )
    return exit_code_for(error)


def report_line(command: str, verdict: str, message: str, code: ExitCode) -> ExitCode:
    """Print a verdict that is not a refusal on one line of standard error; return ``code``.

    The line reads like `report_error`'s: ``rotation verify: broken at position 7: ...``.
    """
    click.echo(f"{command}: {verdict}: {_one_line(message)}", err=True)
    return code


def report_unexpected(command: str, error: BaseException, *, debug: bool) -> ExitCode:
    """Print an unexpected failure on one line (the traceback with ``debug``); return 1."""
    if debug:
        traceback.print_exception(error, file=sys.stderr)
        hint = ""
    else:
        hint = " (run again with --debug for the traceback)"
    click.echo(
        f"{command}: failed: {type(error).__name__}: {_one_line(str(error))}{hint}", err=True
    )
    return ExitCode.UNEXPECTED
