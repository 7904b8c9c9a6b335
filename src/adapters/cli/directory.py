"""Directory commands: ``department``, ``employee`` and ``directory import`` (CSV, SCIM)."""

from __future__ import annotations

from pathlib import Path

import click

from adapters.cli.context import RotationGroup, acting, opened, state
from adapters.cli.output import done, print_json, print_table
from rotation_domain import Employee, SyncReport, UnknownEmployee, UnknownId

__all__ = ["COMMANDS"]

json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")


@click.group(cls=RotationGroup)
def department() -> None:
    """Departments: the IT teams and the business departments that host rotations."""


@department.command("add")
@click.argument("code")
@click.option("--name", required=True, help="The department's name.")
@click.option("--it", "is_it", is_flag=True, help="An IT department (its staff rotate out).")
@click.pass_context
def department_add(ctx: click.Context, code: str, name: str, is_it: bool) -> None:
    """Register the department CODE."""
    with acting(ctx) as program:
        program.register_department(code, name=name, is_it=is_it)
    done(f"registered the {'IT ' if is_it else ''}department {code} ({name})")


@click.group(cls=RotationGroup)
def employee() -> None:
    """Employees: register, transfer, record a departure, show one."""


@employee.command("add")
@click.argument("code")
@click.option("--name", required=True)
@click.option("--email", required=True)
@click.option("--department", required=True, metavar="CODE")
@click.option("--manager", metavar="CODE", help="Their manager's employee code.")
@click.pass_context
def employee_add(
    ctx: click.Context, code: str, name: str, email: str, department: str, manager: str | None
) -> None:
    """Register the employee CODE in a department."""
    with acting(ctx) as program:
        program.register_employee(
            code, name=name, email=email, department=department, manager=manager
        )
    done(f"registered {code} ({name}) in {department}")


@employee.command("transfer")
@click.argument("code")
@click.option("--to", "to_department", required=True, metavar="CODE", help="The new department.")
@click.option("--on", metavar="DATE", help="The day of the move (default: today).")
@click.pass_context
def employee_transfer(ctx: click.Context, code: str, to_department: str, on: str | None) -> None:
    """Move CODE to another department (R10 flags or cancels their open rotations)."""
    with acting(ctx) as program:
        program.transfer_employee(code, to_department=to_department, on=on)
    done(f"transferred {code} to {to_department}")


@employee.command("depart")
@click.argument("code")
@click.option("--on", metavar="DATE", help="The last day (default: today).")
@click.option("--reason", default="left the company", show_default=True)
@click.pass_context
def employee_depart(ctx: click.Context, code: str, on: str | None, reason: str) -> None:
    """Record that CODE left; their history stays (R10 handles open rotations)."""
    with acting(ctx) as program:
        program.depart_employee(code, on=on, reason=reason)
    done(f"recorded that {code} left: {reason}")


@employee.command("forget")
@click.argument("code")
@click.option("--reason", required=True, help="The erasure request's reference (no personal data).")
@click.pass_context
def employee_forget(ctx: click.Context, code: str, reason: str) -> None:
    """Forget CODE's personal data: their key is destroyed (docs/privacy.md).

    Their name, e-mail address and notes then read as [forgotten] everywhere; the events,
    the counts and the audit chain stay.
    """
    with acting(ctx) as program:
        program.forget_employee(code, reason=reason)
    done(f"forgot the personal data of {code}")


@employee.command("show")
@click.argument("code")
@json_option
@click.pass_context
def employee_show(ctx: click.Context, code: str, as_json: bool) -> None:
    """Show the employee CODE: department, status and rotations."""
    with opened(ctx) as program:
        try:
            found = program.get(Employee.id_for(code))
        except UnknownId:
            raise UnknownEmployee(f"no employee is registered as {code!r}", employee=code) from None
    if not isinstance(found, Employee):  # pragma: no cover - ids are per kind
        raise UnknownEmployee(f"no employee is registered as {code!r}", employee=code)
    data = {
        "code": found.code,
        "name": found.name,
        "email": found.email,
        "department": found.department,
        "manager": found.manager,
        "active": found.active,
        "assignments": [
            {"rotation_id": a.rotation_id, "role": a.role, "mentorship_id": a.mentorship_id}
            for a in found.assignments
        ],
    }
    if as_json:
        print_json(data)
        return
    print_table(
        f"Employee {found.code}",
        ["field", "value"],
        [(name, value) for name, value in data.items() if name != "assignments"],
    )
    print_table(
        "Open assignments",
        ["rotation", "role", "mentorship"],
        ([a.rotation_id, a.role, a.mentorship_id] for a in found.assignments),
        empty="none",
    )


@click.group(cls=RotationGroup)
def directory() -> None:
    """Sync the directory from an HRIS (needs a plugin offering sources, e.g. rotation-hris)."""


@directory.command("sources")
@json_option
@click.pass_context
def directory_sources(ctx: click.Context, as_json: bool) -> None:
    """List the directory sources the plugins offer."""
    with opened(ctx) as program:
        names = [source.name for source in program.directory_sources()]
    if as_json:
        print_json(names)
    else:
        print_table(
            "Directory sources",
            ["source"],
            ([name] for name in names),
            empty="no plugin offers a directory source (install rotation-hris and set "
            "ROTATION_HRIS_CSV or ROTATION_SCIM_URL)",
        )


@directory.command("import")
@click.option(
    "--csv",
    "csv_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Read this CSV export (sets ROTATION_HRIS_CSV for the rotation-hris plugin).",
)
@click.option(
    "--it-departments",
    metavar="CODES",
    help="Comma-separated codes of the IT departments (ROTATION_HRIS_IT_DEPARTMENTS).",
)
@click.option("--source", "source_name", help="The source's name (csv, scim...).")
@click.option("--on", metavar="DATE", help="The date of transfers and departures.")
@json_option
@click.pass_context
def directory_import(
    ctx: click.Context,
    csv_file: Path | None,
    it_departments: str | None,
    source_name: str | None,
    on: str | None,
    as_json: bool,
) -> None:
    """Bring the directory in line with an HRIS (CSV or SCIM), recording only what changed."""
    options = state(ctx)
    if csv_file is not None:
        options.settings["ROTATION_HRIS_CSV"] = str(csv_file.resolve())
        source_name = source_name or "csv"
    if it_departments:
        options.settings["ROTATION_HRIS_IT_DEPARTMENTS"] = it_departments
    with acting(ctx, must_exist=False) as program:
        report = program.sync_directory(source_name, on=on)
    if as_json:
        print_json(report)
        return
    _print_sync(report)


def _print_sync(report: SyncReport) -> None:
    rows = [
        ("departments registered", report.departments_registered),
        ("employees registered", report.employees_registered),
        (
            "transferred",
            [f"{t.employee}: {t.from_department}->{t.to_department}" for t in report.transferred],
        ),
        ("departed", report.departed),
        ("details changed", report.details_changed),
        ("R10 consequences", [f"{c.kind} {c.id}: {c.reason}" for c in report.consequences]),
        ("notes", report.notes),
        ("events recorded", report.events_recorded),
    ]
    print_table(f"Directory sync from {report.source}", ["change", "who"], rows)
    done(
        f"synced from {report.source}: {report.events_recorded} events recorded"
        if report.changed
        else f"synced from {report.source}: already up to date, nothing recorded"
    )


COMMANDS: list[click.Command] = [department, employee, directory]
"""The commands this module adds to ``rotation``."""
