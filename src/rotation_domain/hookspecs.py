"""The hooks plugins implement. Each is prefixed ``rotation_`` and documented in docs/plugins.md.

A plugin is a module or object with functions decorated by `rotation_domain.hookimpl`,
registered through the ``rotation_domain`` entry-point group or passed to `open_program`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pluggy

from rotation_domain.consumers import Integration, PeriodicTask, View

__all__ = ["PROJECT", "hookimpl", "hookspec"]

PROJECT = "rotation_domain"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def rotation_views(settings: Mapping[str, str]) -> Sequence[View] | None:
    """Return the read models (views) this plugin provides.

    Called once when a program opens. Each view gets its own tracked position and is
    updated, a page of events per transaction, together with that position.

    Args:
        settings: The program's plugin settings (environment-style names and values).

    Returns:
        Views, or None for none.
    """


@hookspec
def rotation_integrations(settings: Mapping[str, str]) -> Sequence[Integration] | None:
    """Return the integrations (consumers with side effects) this plugin provides.

    Called once when a program opens. Each integration gets its own tracked position,
    at-least-once delivery with an idempotency key, retries and a dead-letter list.
    Rebuilding views never re-delivers to integrations.

    Args:
        settings: The program's plugin settings (environment-style names and values).

    Returns:
        Integrations, or None for none.
    """


@hookspec
def rotation_validate_command(action: str, actor: str, context: Mapping[str, Any]) -> str | None:
    """Veto a command with a company-specific rule.

    Called before a command records anything, after its arguments were checked and the
    things it names were found. ``action`` is the command's name (``plan_rotation``),
    ``context`` its arguments and the aggregates it loaded.

    Returns:
        A reason to refuse the command (it then raises `CommandVetoed`, a
        `PolicyViolation`, with that reason), or None to let it through.
    """


@hookspec(firstresult=True)
def rotation_authorize(
    action: str,
    actor: str,
    context: Mapping[str, Any],
    settings: Mapping[str, str],
    directory: Any,
) -> bool | None:
    """Decide whether ``actor`` may perform ``action``.

    Called before each command, after its arguments were checked and the things it
    names were found. The first plugin that returns True or False decides; None means
    no opinion. When every plugin returns None the command is allowed. A plugin may
    also raise `NotAuthorized` itself, to say which role was missing.

    Args:
        action: The command's name (``plan_rotation``).
        actor: Who asks.
        context: The command's arguments and the aggregates it loaded.
        settings: The program's plugin settings.
        directory: Read access to the people, consistent with the command's own reads:
            ``directory.find_employee(code)`` returns an `Employee` or None,
            ``directory.find_rotation(rotation_id)`` a `Rotation` or None.

    Returns:
        True to allow, False to refuse (the command raises `NotAuthorized`), None to
        leave the decision to other plugins.
    """


@hookspec
def rotation_directory_sources(settings: Mapping[str, str]) -> Sequence[Any] | None:
    """Return directory sources (an HRIS: SCIM, CSV...) the program can sync from.

    Called when a directory sync is asked for. Each source is an object with a
    ``name`` and a ``read()`` method returning the departments and employees it holds.

    Returns:
        Directory sources, or None for none.
    """


@hookspec
def rotation_periodic_tasks(settings: Mapping[str, str]) -> Sequence[PeriodicTask] | None:
    """Return the periodic tasks this plugin provides (work that depends on the date).

    Called once when a program opens. ``rotation worker`` runs each task every
    ``interval_seconds``; embedded hosts call `RotationProgram.run_due_tasks`.

    Args:
        settings: The program's plugin settings.

    Returns:
        Tasks, or None for none.
    """
