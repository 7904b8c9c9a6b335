"""Program commands: ``init``, ``policy``, review ``cycle``s and ``exempt``."""

from __future__ import annotations

from typing import Any

import click

from adapters.cli.context import RotationCommand, RotationGroup, acting, opened, state
from adapters.cli.output import done, print_json, print_table
from rotation_domain import Policy, RotationProgram, UnknownId
from rotation_domain.program import PROGRAM_ID, Program

__all__ = ["COMMANDS", "program_state"]

json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")


def program_state(program: RotationProgram) -> Program | None:
    """The Program aggregate (policy, review cycles, exemptions), or None before any."""
    try:
        found = program.get(PROGRAM_ID)
    except UnknownId:
        return None
    return found if isinstance(found, Program) else None


@click.command(cls=RotationCommand)
@click.option("--it-department", metavar="CODE", help="Also register this IT department.")
@click.option("--it-name", default="Information Technology", show_default=True)
@click.pass_context
def init(ctx: click.Context, it_department: str | None, it_name: str) -> None:
    """Create the store (a SQLite file is created if missing); optionally register IT.

    Running it again on an existing store changes nothing and says what is there.
    """
    if it_department:
        with acting(ctx, must_exist=False) as program:
            program.register_department(it_department, name=it_name, is_it=True)
            done(f"registered the IT department {it_department} ({it_name})")
    with opened(ctx, must_exist=False) as program:
        head = program.app.recorder.max_notification_id() or 0
    done(f"the store {state(ctx).store} is ready: {head} event{'' if head == 1 else 's'} recorded")


def _policy_rows(policy: Policy) -> list[tuple[str, Any, str]]:
    return [
        ("max_length_days", policy.max_length_days, "R2: longest rotation, in days"),
        ("max_concurrent", policy.max_concurrent, "R9: IT staff away at once"),
        ("max_guests_per_department", policy.max_guests_per_department, "R9: guests per host"),
        ("max_mentees_per_mentor", policy.max_mentees_per_mentor, "R9: mentees per mentor"),
        ("require_briefing", policy.require_briefing, "R5: brief mentors before the start"),
    ]


@click.group(cls=RotationGroup, invoke_without_command=True)
@json_option
@click.pass_context
def policy(ctx: click.Context, as_json: bool) -> None:
    """Show the program's policy (the caps of R2 and R9); ``policy set`` changes it."""
    if ctx.invoked_subcommand is not None:
        return
    with opened(ctx) as program:
        current = program.policy()
    if as_json:
        print_json(current)
    else:
        print_table("Policy", ["setting", "value", "rule"], _policy_rows(current))


@policy.command("set")
@click.option("--max-length-days", type=int, help="R2: the longest rotation, in days.")
@click.option("--max-concurrent", type=int, help="R9: IT staff away at once, program-wide.")
@click.option("--max-guests-per-department", type=int, help="R9: guests per host department.")
@click.option("--max-mentees-per-mentor", type=int, help="R9: mentees per mentor at once.")
@click.option(
    "--require-briefing/--no-require-briefing",
    default=None,
    help="R5: whether a mentor must be briefed before the rotation starts.",
)
@click.pass_context
def policy_set(
    ctx: click.Context,
    max_length_days: int | None,
    max_concurrent: int | None,
    max_guests_per_department: int | None,
    max_mentees_per_mentor: int | None,
    require_briefing: bool | None,
) -> None:
    """Change some of the policy's numbers; those not given keep their values."""
    with acting(ctx) as program:
        program.set_policy(
            max_length_days=max_length_days,
            max_concurrent=max_concurrent,
            max_guests_per_department=max_guests_per_department,
            max_mentees_per_mentor=max_mentees_per_mentor,
            require_briefing=require_briefing,
        )
        current = program.policy()
    done("policy set: " + ", ".join(f"{name}={value}" for name, value, _ in _policy_rows(current)))


@click.group(cls=RotationGroup)
def cycle() -> None:
    """Review cycles: every active IT employee owes a rotation in each (R3)."""


@cycle.command("open")
@click.argument("name")
@click.option("--start", required=True, metavar="DATE", help="First day (ISO).")
@click.option("--end", required=True, metavar="DATE", help="Last day (ISO).")
@click.pass_context
def cycle_open(ctx: click.Context, name: str, start: str, end: str) -> None:
    """Open the review cycle NAME from --start to --end."""
    with acting(ctx) as program:
        program.open_review_cycle(name, start=start, end=end)
    done(f"opened the review cycle {name}: {start} to {end}")


@cycle.command("close")
@click.argument("name")
@click.option("--on", metavar="DATE", help="The closing day (default: today).")
@click.pass_context
def cycle_close(ctx: click.Context, name: str, on: str | None) -> None:
    """Close the review cycle NAME; objectives not met by then are missed."""
    with acting(ctx) as program:
        program.close_review_cycle(name, on=on)
    done(f"closed the review cycle {name}")


@cycle.command("list")
@json_option
@click.pass_context
def cycle_list(ctx: click.Context, as_json: bool) -> None:
    """List the review cycles and their exemptions."""
    with opened(ctx) as program:
        found = program_state(program)
        # The reasons are personal data: they are read (decrypted) from the events.
        reasons = {
            (entry.data["employee"], entry.data["cycle"]): entry.data["reason"]
            for entry in program.timeline(event_types=["ExemptionGranted"])
        }
    cycles = list(found.cycles.values()) if found else []
    exemptions = list(found.exemptions.values()) if found else []
    rows: list[dict[str, Any]] = [
        {
            "name": c.name,
            "start": c.period.start,
            "end": c.period.end,
            "closed": c.closed,
            "exemptions": [
                {"employee": e.employee, "reason": reasons.get((e.employee, e.cycle), "")}
                for e in exemptions
                if e.cycle == c.name
            ],
        }
        for c in sorted(cycles, key=lambda c: c.period.start)
    ]
    if as_json:
        print_json(rows)
        return
    print_table(
        "Review cycles",
        ["cycle", "start", "end", "closed", "exempted"],
        (
            [r["name"], r["start"], r["end"], r["closed"], [e["employee"] for e in r["exemptions"]]]
            for r in rows
        ),
        empty="no review cycle is open yet (rotation cycle open NAME --start --end)",
    )


@click.command(cls=RotationCommand)
@click.argument("employee")
@click.argument("cycle_name", metavar="CYCLE")
@click.option("--reason", required=True, help="Why the employee is excused (R3).")
@click.pass_context
def exempt(ctx: click.Context, employee: str, cycle_name: str, reason: str) -> None:
    """Excuse the IT employee EMPLOYEE from CYCLE's participation objective."""
    with acting(ctx) as program:
        program.grant_exemption(employee, cycle_name, reason=reason)
    done(f"exempted {employee} from {cycle_name}: {reason}")


COMMANDS: list[click.Command] = [init, policy, cycle, exempt]
"""The commands this module adds to ``rotation``."""
