"""The read models as tables (or ``--json``), and ``rebuild`` with a progress bar.

``participation`` and ``capacity`` take ``--as-of DATETIME``: the view as the program
knew it at that recorded moment, folded in memory over the events recorded by then
(``program.as_of(moment).views``; docs/audit.md).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from adapters.cli.audit_options import a_moment
from adapters.cli.context import RotationCommand, opened
from adapters.cli.output import done, print_json, print_table
from adapters.cli.program import program_state
from rotation_domain import (
    InvalidInput,
    NotFound,
    Program,
    RotationProgram,
    UnknownId,
    UnknownReviewCycle,
)
from rotation_domain.program import PROGRAM_ID

__all__ = ["COMMANDS", "latest_cycle"]

json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
as_of_option = click.option(
    "--as-of",
    "as_of",
    metavar="DATETIME",
    help="As the program knew it at this recorded moment (ISO; UTC without a zone).",
)


def _day(name: str, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"{name} must be an ISO date like 2027-01-31, got {value!r}") from None


def latest_cycle(program: RotationProgram) -> str | None:
    """The name of the review cycle that starts last, or None without one."""
    return _latest(program_state(program))


def _latest(recorded: Program | None) -> str | None:
    if recorded is None or not recorded.cycles:
        return None
    return max(recorded.cycles.values(), key=lambda c: c.period.start).name


def reading(program: RotationProgram, moment: datetime | None) -> tuple[Any, Program | None]:
    """The views to ask and the Program aggregate: now, or as known at ``moment``."""
    if moment is None:
        return program.views, program_state(program)
    past = program.as_of(moment)
    try:
        found = past.state(PROGRAM_ID)
    except UnknownId:
        found = None
    return past.views, found if isinstance(found, Program) else None


def _as_of_title(title: str, moment: datetime | None) -> str:
    return title if moment is None else f"{title}, as known at {moment.isoformat()}"


@click.command(cls=RotationCommand)
@click.argument("cycle", required=False)
@as_of_option
@json_option
@click.pass_context
def participation(ctx: click.Context, cycle: str | None, as_of: str | None, as_json: bool) -> None:
    """Each IT employee's participation in CYCLE (default: the latest cycle) (R3)."""
    moment = a_moment("--as-of", as_of)
    with opened(ctx) as program:
        views, recorded = reading(program, moment)
        cycle = cycle or _latest(recorded)
        if cycle is None or recorded is None or cycle not in recorded.cycles:
            known = sorted(recorded.cycles) if recorded else []
            raise UnknownReviewCycle(
                f"no review cycle is named {cycle!r} (cycles: {', '.join(known) or 'none'})"
                if cycle
                else "no review cycle is open yet: rotation cycle open NAME --start --end",
                cycle=cycle,
            )
        rows = views.participation(cycle)
    if as_json:
        print_json(rows)
        return
    counts: dict[str, int] = {}
    for row in rows:
        counts[row.status.value] = counts.get(row.status.value, 0) + 1
    print_table(
        _as_of_title(f"Participation in {cycle}", moment),
        ["employee", "name", "department", "status", "rotation"],
        ([r.employee, r.name, r.department, r.status, r.rotation_id] for r in rows),
        caption=", ".join(f"{status}: {n}" for status, n in sorted(counts.items())),
        empty="no IT employee yet",
    )


@click.command(cls=RotationCommand)
@click.option("--on", metavar="DATE", help="The day (default: today).")
@click.option("--from", "first", metavar="DATE", help="With --to: one line per day.")
@click.option("--to", "last", metavar="DATE")
@as_of_option
@json_option
@click.pass_context
def capacity(
    ctx: click.Context,
    on: str | None,
    first: str | None,
    last: str | None,
    as_of: str | None,
    as_json: bool,
) -> None:
    """Who is away on a day, against each cap of R9 (or per day with --from/--to)."""
    start_day, end_day = _day("--from", first), _day("--to", last)
    if (start_day is None) != (end_day is None):
        raise InvalidInput("give both --from and --to, or neither")
    moment = a_moment("--as-of", as_of)
    with opened(ctx) as program:
        views, _ = reading(program, moment)
        if start_day is not None and end_day is not None:
            reports = views.capacity.range(start_day, end_day)
            if as_json:
                print_json(reports)
                return
            print_table(
                _as_of_title(f"IT staff away per day, {start_day} to {end_day}", moment),
                ["day", "away", "cap", "free", "fullest host", "over a cap"],
                (
                    [
                        r.day,
                        r.program.count,
                        r.program.cap,
                        r.program.free,
                        max(r.departments, key=lambda c: c.count).subject if r.departments else "",
                        [c.subject for c in (r.program, *r.departments, *r.mentors) if c.over],
                    ]
                    for r in reports
                ),
            )
            return
        report = views.capacity(_day("--on", on) or date.today())
    if as_json:
        print_json(report)
        return
    print_table(
        _as_of_title(f"Away on {report.day}", moment),
        ["participant", "host", "mentor", "start", "end", "rotation"],
        (
            [a.participant, a.host_department, a.mentor, a.start, a.end, a.rotation_id]
            for a in report.away
        ),
        empty="nobody is away",
    )
    print_table(
        f"Caps on {report.day}",
        ["subject", "count", "cap", "free", "over"],
        (
            [c.subject, c.count, c.cap, c.free, c.over]
            for c in (report.program, *report.departments, *report.mentors)
        ),
    )


@click.command("mentor-engagement", cls=RotationCommand)
@json_option
@click.pass_context
def mentor_engagement(ctx: click.Context, as_json: bool) -> None:
    """Per mentor: nominated, agreed, declined, briefed, sessions by kind, mentees (R4-R6)."""
    with opened(ctx) as program:
        rows = program.views.mentor_engagement()
    if as_json:
        print_json(rows)
        return
    print_table(
        "Mentor engagement",
        [
            "mentor",
            "nominated",
            "agreed",
            "declined",
            "briefed",
            "concluded",
            "discussion",
            "reading",
            "hands-on",
            "current mentees",
        ],
        (
            [
                r.mentor,
                r.nominated,
                r.agreed,
                r.declined,
                r.briefed,
                r.concluded,
                r.discussion_sessions,
                r.reading_sessions,
                r.hands_on_sessions,
                r.current_mentees,
            ]
            for r in rows
        ),
        empty="no mentor nominated yet",
    )


@click.command("improvement-pipeline", cls=RotationCommand)
@click.option("--all", "show_all", is_flag=True, help="Also list every improvement.")
@json_option
@click.pass_context
def improvement_pipeline(ctx: click.Context, show_all: bool, as_json: bool) -> None:
    """Per host department: improvements proposed, adopted, rejected; adoption rate (R8)."""
    with opened(ctx) as program:
        report = program.views.improvement_pipeline()
    if as_json:
        print_json(report)
        return
    print_table(
        "Improvement pipeline by host department",
        [
            "host",
            "proposed",
            "pending",
            "adopted",
            "rejected",
            "withdrawn",
            "adoption",
            "median days",
        ],
        (
            [
                d.host_department,
                d.proposed,
                d.pending,
                d.adopted,
                d.rejected,
                d.withdrawn,
                d.adoption_rate,
                d.median_days_to_adoption,
            ]
            for d in report.departments
        ),
        empty="no improvement proposed yet",
    )
    if show_all:
        print_table(
            "Improvements",
            [
                "improvement",
                "participant",
                "host",
                "title",
                "status",
                "proposed",
                "decided",
                "days",
            ],
            (
                [
                    i.improvement_id,
                    i.participant,
                    i.host_department,
                    i.title,
                    i.status,
                    i.proposed_on,
                    i.decided_on,
                    i.days_to_adoption,
                ]
                for i in report.improvements
            ),
        )


@click.command("department-bridges", cls=RotationCommand)
@json_option
@click.pass_context
def department_bridges(ctx: click.Context, as_json: bool) -> None:
    """Per business department: rotations hosted, observations, improvements adopted."""
    with opened(ctx) as program:
        rows = program.views.department_bridges()
    if as_json:
        print_json(rows)
        return
    print_table(
        "Department bridges",
        [
            "department",
            "name",
            "hosted",
            "completed",
            "IT staff hosted",
            "observations",
            "proposed",
            "adopted",
        ],
        (
            [
                r.department,
                r.name,
                r.rotations_hosted,
                r.rotations_completed,
                r.it_employees_hosted,
                r.observations,
                r.improvements_proposed,
                r.improvements_adopted,
            ]
            for r in rows
        ),
        empty="no business department registered yet",
    )


@click.command(cls=RotationCommand)
@click.argument("view", required=False)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=None,
    help="Processes to share the views among (default: ROTATION_REBUILD_WORKERS, else one"
    " per CPU for a log of 100,000 events or more).",
)
@click.pass_context
def rebuild(ctx: click.Context, view: str | None, workers: int | None) -> None:
    """Drop VIEW's rows (every view's without a name) and replay the log into it."""
    with opened(ctx, inline=False) as program:
        names = program.views.names()
        if view is not None and view not in names:
            raise NotFound(f"no view is named {view!r} (views: {', '.join(names)})", view=view)
        head = program.app.recorder.max_notification_id() or 0
        label = view or f"{len(names)} views"
        with Progress(
            TextColumn("rebuilding {task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=Console(stderr=True),
        ) as bar:
            task = bar.add_task(label, total=head or 1)

            def progress(done_count: int, total: int) -> None:
                bar.update(task, completed=done_count, total=max(total, 1))

            program.rebuild(view, progress=progress, workers=workers)
            bar.update(task, completed=head or 1)
    done(f"rebuilt {label} from {head} events")


COMMANDS: list[click.Command] = [
    participation,
    capacity,
    mentor_engagement,
    improvement_pipeline,
    department_bridges,
    rebuild,
]
"""The commands this module adds to ``rotation``."""
