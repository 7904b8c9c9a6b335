"""The default authorization policy (the ``roles`` plugin): a test per rule.

The company of tests/conftest.py, with administrators named: the CIO's office
(``cio@example.com``). E1-E6 are IT staff managed by E0 (registered here as a manager in
IT); FIN's head is M2; M1 mentors in FIN.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from uuid import UUID

import pytest
from tests.conftest import recorded_count, seed_company

from rotation_domain import NotAuthorized, RotationProgram, SessionKind, open_program
from rotation_domain.roles import RULES, Role, missing_role

CIO = "cio@example.com"
SETTINGS = {"ROTATION_ADMINS": CIO, "ROTATION_DEPARTMENT_HEADS": "FIN=M2,OPS=M3"}


@pytest.fixture
def roles() -> Iterator[RotationProgram]:
    with open_program("memory:", today=lambda: date(2027, 1, 1), settings=SETTINGS) as program:
        seed_company(program, actor=CIO)
        program.register_employee(
            "E0", name="IT Manager", email="e0@example.com", department="IT", actor=CIO
        )
        yield program


def refused(program: RotationProgram, role: str, call: object, *args: object, **kw: object) -> None:
    before = recorded_count(program)
    with pytest.raises(NotAuthorized) as caught:
        call(*args, **kw)  # type: ignore[operator]
    assert role in str(caught.value)
    assert caught.value.details["role"].startswith("program administrator")
    assert recorded_count(program) == before


def planned(program: RotationProgram, actor: str = "E1") -> UUID:
    return program.plan_rotation(
        "E1", host_department="FIN", start="2027-02-01", end="2027-02-26", actor=actor
    )


def mentored(program: RotationProgram) -> tuple[UUID, UUID]:
    rotation = planned(program)
    return rotation, program.nominate_mentor(rotation, mentor="M1", actor="E1")


def started(program: RotationProgram) -> UUID:
    rotation, mentorship = mentored(program)
    program.accept_mentorship(mentorship, actor="M1")
    program.start_rotation(rotation, on="2027-02-01", actor="E1")
    return rotation


def test_only_administrators_set_policy_and_grant_exemptions(roles: RotationProgram) -> None:
    refused(roles, "program administrator", roles.set_policy, max_concurrent=9, actor="E1")
    roles.open_review_cycle("2027", start="2027-01-01", end="2027-12-31", actor=CIO)
    refused(
        roles,
        "program administrator",
        roles.grant_exemption,
        "E1",
        cycle="2027",
        reason="on leave",
        actor="M2",
    )
    roles.grant_exemption("E2", cycle="2027", reason="on leave", actor=CIO)
    roles.set_policy(max_concurrent=9, actor=CIO)


def test_only_administrators_change_the_directory(roles: RotationProgram) -> None:
    refused(
        roles,
        "program administrator",
        roles.register_department,
        "LAW",
        name="Legal",
        actor="E0",
    )
    refused(roles, "program administrator", roles.depart_employee, "E3", actor="e3@example.com")


def test_the_participant_or_their_it_manager_plans_a_rotation(roles: RotationProgram) -> None:
    refused(
        roles,
        "participant or participant's IT manager",
        roles.plan_rotation,
        "E1",
        host_department="FIN",
        start="2027-02-01",
        end="2027-02-26",
        actor="E2",
    )
    planned(roles, actor="e1@example.com")  # the participant, by e-mail address
    roles.plan_rotation(
        "E2", host_department="OPS", start="2027-02-01", end="2027-02-26", actor="E0"
    )  # their IT manager


def test_only_the_nominated_mentor_agrees_declines_or_logs_sessions(
    roles: RotationProgram,
) -> None:
    rotation, mentorship = mentored(roles)
    refused(roles, "mentor", roles.accept_mentorship, mentorship, actor="M2")
    refused(roles, "mentor", roles.decline_mentorship, mentorship, reason="busy", actor="E1")
    roles.accept_mentorship(mentorship, actor="M1")
    roles.start_rotation(rotation, on="2027-02-01", actor="E1")
    refused(
        roles,
        "mentor",
        roles.hold_mentor_session,
        mentorship,
        kind=SessionKind.DISCUSSION,
        topic="Month-end close",
        on="2027-02-02",
        actor="E1",
    )
    roles.hold_mentor_session(
        mentorship,
        kind=SessionKind.DISCUSSION,
        topic="Month-end close",
        on="2027-02-02",
        actor="m1@example.com",
    )


def test_only_the_participant_or_an_administrator_proposes_their_improvement(
    roles: RotationProgram,
) -> None:
    rotation = started(roles)
    refused(
        roles,
        "participant",
        roles.propose_improvement,
        rotation,
        title="Scan invoices",
        description="OCR the paper invoices",
        actor="M1",
    )
    roles.propose_improvement(
        rotation, title="Scan invoices", description="OCR the paper invoices", actor="E1"
    )
    roles.propose_improvement(
        rotation, title="Shared inbox", description="One queue for requests", actor=CIO
    )


def test_only_the_host_head_or_the_mentor_adopts_an_improvement(roles: RotationProgram) -> None:
    rotation = started(roles)
    first = roles.propose_improvement(
        rotation, title="Scan invoices", description="OCR the paper invoices", actor="E1"
    )
    second = roles.propose_improvement(
        rotation, title="Shared inbox", description="One queue for requests", actor="E1"
    )
    refused(
        roles,
        "host department's head or mentor",
        roles.adopt_improvement,
        first,
        on="2027-02-20",
        actor="E1",
    )
    refused(
        roles,
        "host department's head or mentor",
        roles.adopt_improvement,
        first,
        on="2027-02-20",
        actor="M3",  # OPS's head, not FIN's
    )
    roles.adopt_improvement(first, on="2027-02-20", actor="M2")  # FIN's head
    roles.adopt_improvement(second, on="2027-02-21", actor="M1")  # the mentor


def test_a_refusal_names_the_actor_the_action_and_the_missing_role(
    roles: RotationProgram,
) -> None:
    with pytest.raises(NotAuthorized) as caught:
        roles.set_policy(max_concurrent=9, actor="E1")
    assert str(caught.value) == "E1 may not set policy: only the program administrator may"
    assert caught.value.details == {
        "actor": "E1",
        "action": "set_policy",
        "role": "program administrator",
    }


def test_without_administrators_the_program_runs_open(company: RotationProgram) -> None:
    company.set_policy(max_concurrent=9, actor="anyone")


def test_the_policy_is_a_replaceable_default_plugin(company: RotationProgram) -> None:
    [info] = [p for p in company.plugins() if p.name == "roles"]
    assert (info.source, info.status, info.hooks) == ("default", "active", ("rotation_authorize",))


# ---------------------------------------------------------------- every rule of the table


class _Thing:
    """A rotation, mentorship or improvement as the policy reads it from a context."""

    def __init__(self, **fields: object) -> None:
        self.__dict__.update(fields)


class _Directory:
    """P is the participant (managed by BOSS); M mentors; HEAD heads FIN."""

    def __init__(self) -> None:
        self.people = {
            code: _Thing(
                email=f"{code.lower()}@example.com", manager="BOSS" if code == "P" else None
            )
            for code in ("P", "BOSS", "M", "HEAD", "X")
        }

    def find_employee(self, code: str) -> object | None:
        return self.people.get(code)

    def find_rotation(self, rotation_id: object) -> object | None:
        return _Thing(mentor="M") if rotation_id == "R" else None


_ACTORS = {
    Role.PARTICIPANT: "P",
    Role.MANAGER: "BOSS",
    Role.HOST_HEAD: "HEAD",
    Role.MENTOR: "M",
}
_SETTINGS = {"ROTATION_ADMINS": "ADMIN", "ROTATION_DEPARTMENT_HEADS": "FIN=HEAD"}


def _context(action: str) -> dict[str, object]:
    rotation = _Thing(participant="P", mentor="M", host_department="FIN")
    mentoring = ("accept_mentorship", "decline_mentorship", "brief_mentor", "hold_mentor_session")
    if action in (*mentoring, "conclude_mentorship"):
        return {"mentorship": _Thing(participant="P", mentor="M", host_department="FIN")}
    if action.endswith("improvement") and action != "propose_improvement":
        return {"improvement": _Thing(participant="P", host_department="FIN", rotation_id="R")}
    if action == "plan_rotation":
        return {"employee": "P", "host": "FIN"}
    if action in ("nominate_mentor", "propose_improvement") or action.endswith(
        ("_rotation", "_observation")
    ):
        return {"rotation": rotation}
    return {"employee": "P"}


def _commands_actions() -> set[str]:
    """Every action the program's commands ask the authorization policy about."""
    source = Path(__file__).resolve().parents[2] / "src" / "rotation_domain"
    found: set[str] = set()
    for module in source.glob("_commands_*.py"):
        found |= set(re.findall(r'_(?:check|change)\(\s*unit,\s*"(\w+)"', module.read_text()))
    return found


def test_the_table_names_every_action_the_commands_ask_about() -> None:
    assert _commands_actions() == set(RULES)


@pytest.mark.parametrize("action", sorted(RULES))
def test_each_rule_allows_exactly_its_roles_and_administrators(action: str) -> None:
    directory, context = _Directory(), _context(action)
    allowed = set(RULES[action])

    assert missing_role(action, "ADMIN", context, _SETTINGS, directory) is None
    assert missing_role(action, "X", context, _SETTINGS, directory) == " or ".join(
        (Role.ADMIN, *RULES[action])
    )
    for role, actor in _ACTORS.items():
        decided = missing_role(action, actor, context, _SETTINGS, directory)
        assert (decided is None) == (role in allowed), (action, role, decided)
