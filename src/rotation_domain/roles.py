"""The default authorization policy: who may do what, by the roles of the source.

A default plugin, registered like any other through the ``rotation_authorize`` hook, and
replaceable: block it with ``ROTATION_DISABLE_PLUGINS=roles`` and provide your own.

The roles:

- **program administrator** (the CIO's office): the actors named in ``ROTATION_ADMINS``;
- **the participant**: the IT employee whose rotation it is;
- **the participant's IT manager**: the employee named as the participant's ``manager``;
- **the host department's head**: named per department in ``ROTATION_DEPARTMENT_HEADS``
  (``FIN=M9,OPS=M7``);
- **the mentor**: the employee nominated to mentor the rotation.

An actor is one of these people when it is their employee code or their e-mail address.
Administrators may do everything. The policy is in force once ``ROTATION_ADMINS`` names
at least one administrator; a program that names none runs open (every command allowed),
as it does without the plugin.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol

import attrs

from rotation_domain.employee import Employee
from rotation_domain.errors import NotAuthorized
from rotation_domain.hookspecs import hookimpl

__all__ = ["ADMINS_SETTING", "HEADS_SETTING", "RULES", "Directory", "Role", "rotation_authorize"]

ADMINS_SETTING = "ROTATION_ADMINS"
HEADS_SETTING = "ROTATION_DEPARTMENT_HEADS"


class Directory(Protocol):
    """Read access to the people of the directory, as the command sees them."""

    def find_employee(self, code: str) -> Employee | None:
        """The employee with that code, or None."""

    def find_rotation(self, rotation_id: Any) -> Any:
        """The rotation with that id, or None."""


class Role:
    """The names of the roles, as `NotAuthorized` reports the missing one."""

    ADMIN = "program administrator"
    PARTICIPANT = "participant"
    MANAGER = "participant's IT manager"
    HOST_HEAD = "host department's head"
    MENTOR = "mentor"


@attrs.frozen
class _Facts:
    """Who plays which part in the command at hand."""

    participant: str | None = None
    mentor: str | None = None
    host: str | None = None


def _facts(context: Mapping[str, Any], directory: Directory) -> _Facts:
    """Read the participant, the mentor and the host department from a command's context."""
    for name in ("rotation", "mentorship", "improvement"):
        found = context.get(name)
        if found is not None:
            mentor = getattr(found, "mentor", None)
            if mentor is None and getattr(found, "rotation_id", None) is not None:
                rotation = directory.find_rotation(found.rotation_id)
                mentor = getattr(rotation, "mentor", None)
            return _Facts(
                participant=getattr(found, "participant", None),
                mentor=mentor,
                host=getattr(found, "host_department", None),
            )
    return _Facts(participant=context.get("employee"), host=context.get("host"))


RULES: Mapping[str, tuple[str, ...]] = {
    # The directory, the policy and the review cycles: the CIO's office only.
    "register_department": (),
    "register_employee": (),
    "transfer_employee": (),
    "depart_employee": (),
    "set_policy": (),
    "open_review_cycle": (),
    "close_review_cycle": (),
    "grant_exemption": (),
    "forget_employee": (),  # crypto-shredding a person's data: administrators only
    # Rotations: the participant or their IT manager plans and changes them.
    "plan_rotation": (Role.PARTICIPANT, Role.MANAGER),
    "reschedule_rotation": (Role.PARTICIPANT, Role.MANAGER),
    "cancel_rotation": (Role.PARTICIPANT, Role.MANAGER),
    "nominate_mentor": (Role.PARTICIPANT, Role.MANAGER, Role.HOST_HEAD),
    "start_rotation": (Role.PARTICIPANT, Role.MANAGER, Role.MENTOR),
    "record_observation": (Role.PARTICIPANT,),
    "complete_rotation": (Role.PARTICIPANT, Role.MANAGER, Role.MENTOR),
    # Mentoring: only the nominated mentor agrees, declines or logs their sessions.
    "accept_mentorship": (Role.MENTOR,),
    "decline_mentorship": (Role.MENTOR,),
    "hold_mentor_session": (Role.MENTOR,),
    "conclude_mentorship": (Role.MENTOR,),
    "brief_mentor": (),
    # Payback: the participant proposes; the host's head or the mentor decides.
    "propose_improvement": (Role.PARTICIPANT,),
    "withdraw_improvement": (Role.PARTICIPANT,),
    "adopt_improvement": (Role.HOST_HEAD, Role.MENTOR),
    "reject_improvement": (Role.HOST_HEAD, Role.MENTOR),
}
"""Per action, the roles besides program administrator that may perform it."""


def _names(text: str) -> set[str]:
    return {part.strip().lower() for part in text.split(",") if part.strip()}


def _heads(text: str) -> dict[str, set[str]]:
    heads: dict[str, set[str]] = {}
    for pair in text.split(","):
        department, _, head = pair.partition("=")
        if department.strip() and head.strip():
            heads.setdefault(department.strip(), set()).add(head.strip().lower())
    return heads


def _is(actor: str, code: str | None, directory: Directory) -> bool:
    """Whether ``actor`` is the employee ``code`` (by code or by e-mail address)."""
    if not code:
        return False
    if actor == code.lower():
        return True
    person = directory.find_employee(code)
    return person is not None and person.email.lower() == actor


def _plays(
    role: str, actor: str, facts: _Facts, directory: Directory, settings: Mapping[str, str]
) -> bool:
    plays: dict[str, Callable[[], bool]] = {
        Role.PARTICIPANT: lambda: _is(actor, facts.participant, directory),
        Role.MENTOR: lambda: _is(actor, facts.mentor, directory),
        Role.MANAGER: lambda: _is(actor, _manager_of(facts.participant, directory), directory),
        Role.HOST_HEAD: lambda: any(
            _is(actor, head, directory)
            for head in _heads(settings.get(HEADS_SETTING, "")).get(facts.host or "", ())
        ),
    }
    return plays[role]()


def _manager_of(code: str | None, directory: Directory) -> str | None:
    person = directory.find_employee(code) if code else None
    return person.manager if person is not None else None


def missing_role(
    action: str,
    actor: str,
    context: Mapping[str, Any],
    settings: Mapping[str, str],
    directory: Directory,
) -> str | None:
    """The role ``actor`` lacks to perform ``action`` (None when they may).

    Returns None when the policy is not in force (no administrators named).
    """
    admins = _names(settings.get(ADMINS_SETTING, ""))
    if not admins:
        return None
    who = actor.strip().lower()
    if who in admins:
        return None
    allowed = RULES.get(action, ())
    facts = _facts(context, directory)
    if any(_plays(role, who, facts, directory, settings) for role in allowed):
        return None
    return " or ".join((Role.ADMIN, *allowed))


@hookimpl
def rotation_authorize(
    action: str,
    actor: str,
    context: Mapping[str, Any],
    settings: Mapping[str, str],
    directory: Directory,
) -> bool | None:
    """Refuse a command when the actor plays none of the roles its action needs.

    Returns:
        None (no opinion) when the actor may: other plugins may still refuse.

    Raises:
        NotAuthorized: naming the actor, the action and the role it needs.
    """
    needed = missing_role(action, actor, context, settings, directory)
    if needed is None:
        return None
    raise NotAuthorized(
        f"{actor} may not {action.replace('_', ' ')}: only the {needed} may",
        actor=actor,
        action=action,
        role=needed,
    )
