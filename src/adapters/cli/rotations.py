"""Rotation commands, and the reads ``show`` and ``rotations``.

``plan``, ``reschedule``, ``cancel``, ``start``, ``observe`` and ``complete``.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import click

from adapters.cli.context import RotationCommand, acting, opened
from adapters.cli.output import done, print_json, print_table
from adapters.cli.program import program_state
from rotation_domain import (
    Employee,
    Improvement,
    InvalidInput,
    Mentorship,
    Rotation,
    RotationProgram,
)
from rotation_domain.rotation import OBSERVATION_CATEGORIES

__all__ = ["COMMANDS", "describe"]

json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")


@click.command(cls=RotationCommand)
@click.argument("employee")
@click.option("--host", "host_department", required=True, metavar="CODE", help="Host department.")
@click.option("--start", required=True, metavar="DATE", help="First day (ISO).")
@click.option("--end", required=True, metavar="DATE", help="Last day (ISO, included).")
@click.pass_context
def plan(ctx: click.Context, employee: str, host_department: str, start: str, end: str) -> None:
    """Plan EMPLOYEE's rotation into a non-IT department; print its id (R1, R2, R9)."""
    with acting(ctx) as program:
        rotation_id = program.plan_rotation(
            employee, host_department=host_department, start=start, end=end
        )
    click.echo(str(rotation_id))
    done(f"planned {employee}'s rotation into {host_department} from {start} to {end}")


@click.command(cls=RotationCommand)
@click.argument("rotation")
@click.option("--start", required=True, metavar="DATE")
@click.option("--end", required=True, metavar="DATE")
@click.pass_context
def reschedule(ctx: click.Context, rotation: str, start: str, end: str) -> None:
    """Move ROTATION's window (or the end of one in progress)."""
    with acting(ctx) as program:
        program.reschedule_rotation(rotation, start=start, end=end)
    done(f"rescheduled rotation {rotation} to {start}..{end}")


@click.command(cls=RotationCommand)
@click.argument("rotation")
@click.option("--reason", required=True)
@click.option("--on", metavar="DATE")
@click.pass_context
def cancel(ctx: click.Context, rotation: str, reason: str, on: str | None) -> None:
    """Call off ROTATION; it gives up its places in the caps."""
    with acting(ctx) as program:
        program.cancel_rotation(rotation, reason=reason, on=on)
    done(f"cancelled rotation {rotation}: {reason}")


@click.command(cls=RotationCommand)
@click.argument("rotation")
@click.option("--on", required=True, metavar="DATE", help="The arrival day.")
@click.pass_context
def start(ctx: click.Context, rotation: str, on: str) -> None:
    """Record the participant's arrival (needs an agreed mentor, R4)."""
    with acting(ctx) as program:
        program.start_rotation(rotation, on=on)
    done(f"started rotation {rotation} on {on}")


@click.command(cls=RotationCommand)
@click.argument("rotation")
@click.argument("text")
@click.option("--on", metavar="DATE")
@click.option(
    "--category",
    type=click.Choice(OBSERVATION_CATEGORIES),
    default="general",
    show_default=True,
    help="What kind of problem it is.",
)
@click.pass_context
def observe(ctx: click.Context, rotation: str, text: str, on: str | None, category: str) -> None:
    """Record TEXT: a problem of the host department IT could solve (R7)."""
    with acting(ctx) as program:
        program.record_observation(rotation, text, on=on, category=category)
    done(f"recorded a {category} observation on rotation {rotation}")


@click.command(cls=RotationCommand)
@click.argument("rotation")
@click.option("--on", required=True, metavar="DATE")
@click.pass_context
def complete(ctx: click.Context, rotation: str, on: str) -> None:
    """End ROTATION (R8: needs an improvement proposed)."""
    with acting(ctx) as program:
        program.complete_rotation(rotation, on=on)
    done(f"completed rotation {rotation} on {on}")


def describe(found: object) -> dict[str, Any]:
    """A rotation, mentorship, improvement or employee as plain fields, with its kind."""
    if isinstance(found, Rotation):
        return {
            "kind": "rotation",
            "id": found.id,
            "participant": found.participant,
            "host_department": found.host_department,
            "start": found.period.start,
            "end": found.period.end,
            "status": found.status,
            "mentorship_id": found.mentorship_id,
            "mentor": found.mentor,
            "started_on": found.started_on,
            "finished_on": found.finished_on,
            "observations": [{"text": o.text, "on": o.on} for o in found.observations],
            "improvement_ids": list(found.improvement_ids),
            "flags": list(found.flags),
            "version": found.version,
        }
    if isinstance(found, Mentorship):
        return {
            "kind": "mentorship",
            "id": found.id,
            "rotation_id": found.rotation_id,
            "mentor": found.mentor,
            "participant": found.participant,
            "host_department": found.host_department,
            "status": found.status,
            "briefed_on": found.briefed_on,
            "sessions": [{"kind": s.kind, "on": s.on, "topic": s.topic} for s in found.sessions],
            "feedback": found.feedback,
            "version": found.version,
        }
    if isinstance(found, Improvement):
        return {
            "kind": "improvement",
            "id": found.id,
            "rotation_id": found.rotation_id,
            "participant": found.participant,
            "host_department": found.host_department,
            "title": found.title,
            "description": found.description,
            "status": found.status,
            "proposed_on": found.proposed_on,
            "decided_on": found.decided_on,
            "reason": found.reason,
            "version": found.version,
        }
    if isinstance(found, Employee):
        return {"kind": "employee", "id": found.id, "code": found.code, "name": found.name}
    return {"kind": type(found).__name__.lower(), "id": getattr(found, "id", None)}


@click.command(cls=RotationCommand)
@click.argument("thing_id", metavar="ID")
@json_option
@click.pass_context
def show(ctx: click.Context, thing_id: str, as_json: bool) -> None:
    """Show a rotation, mentorship or improvement by its id."""
    with opened(ctx) as program:
        data = describe(program.get(thing_id))
    if as_json:
        print_json(data)
        return
    scalar = [(k, v) for k, v in data.items() if not isinstance(v, list)]
    print_table(f"{data['kind'].capitalize()} {data['id']}", ["field", "value"], scalar)
    for name, value in data.items():
        if isinstance(value, list) and value:
            if isinstance(value[0], dict):
                columns = list(value[0])
                print_table(name, columns, ([item[c] for c in columns] for item in value))
            else:
                print_table(name, [name], ([item] for item in value))


def rotations_between(program: RotationProgram, first: date, last: date) -> list[Rotation]:
    """Every rotation booked on some day from ``first`` to ``last`` (cancelled ones excluded).

    Read from the capacity view (which keeps each booking's window), then each rotation's
    current state from the store.
    """
    seen: dict[str, None] = {}
    for report in program.views.capacity.range(first, last):
        for away in report.away:
            seen.setdefault(away.rotation_id, None)
    found = [program.get(rotation_id) for rotation_id in seen]
    rotations = [r for r in found if isinstance(r, Rotation)]
    return sorted(rotations, key=lambda r: (r.period.start, r.participant))


def cycle_span(program: RotationProgram) -> tuple[date, date] | None:
    """The first and last day of all the review cycles, or None without a cycle."""
    recorded = program_state(program)
    if recorded is None or not recorded.cycles:
        return None
    periods = [c.period for c in recorded.cycles.values()]
    return min(p.start for p in periods), max(p.end for p in periods)


@click.command("rotations", cls=RotationCommand)
@click.option("--from", "first", metavar="DATE", help="First day (default: the cycles' start).")
@click.option("--to", "last", metavar="DATE", help="Last day (default: the cycles' end).")
@json_option
@click.pass_context
def rotations_list(ctx: click.Context, first: str | None, last: str | None, as_json: bool) -> None:
    """List the rotations booked in a period (cancelled ones give up their places)."""
    with opened(ctx) as program:
        span = cycle_span(program)
        try:
            start_day = date.fromisoformat(first) if first else (span[0] if span else None)
            end_day = date.fromisoformat(last) if last else (span[1] if span else None)
        except ValueError as error:
            raise InvalidInput(f"--from and --to take ISO dates: {error}") from None
        if start_day is None or end_day is None:
            raise InvalidInput("no review cycle is open: give --from and --to")
        found = rotations_between(program, start_day, end_day)
        data = [describe(r) for r in found]
    if as_json:
        print_json(data)
        return
    print_table(
        f"Rotations {start_day.isoformat()} to {end_day.isoformat()}",
        ["id", "participant", "host", "start", "end", "status", "mentor", "improvements"],
        (
            [
                d["id"],
                d["participant"],
                d["host_department"],
                d["start"],
                d["end"],
                d["status"],
                d["mentor"],
                str(len(d["improvement_ids"])),
            ]
            for d in data
        ),
    )


COMMANDS: list[click.Command] = [
    plan,
    reschedule,
    cancel,
    start,
    observe,
    complete,
    show,
    rotations_list,
]
"""The commands this module adds to ``rotation``."""
