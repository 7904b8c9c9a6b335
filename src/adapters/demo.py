"""The main job: a realistic company runs a full review cycle of its rotation program.

Run it with ``make demo`` or ``rotation --store sqlite:///demo-rotation.db demo --fresh``
(also ``python -m adapters.demo --store sqlite:///demo-rotation.db --fresh``). Northwind
(`adapters.demo_company`: about sixty IT staff in five IT teams, eight business
departments with mentors) goes through the year 2027 (`adapters.demo_story`): rotations
planned against the caps, mentors agreeing and a few declining, sessions of each kind,
observations, improvements adopted and rejected, a departure, a cancellation, and a few
commands the rules refuse, shown with their messages. Everything goes through the public
API into the store; a summary follows, and the HTML report is written beside the SQLite
file. The same ``--seed`` gives the same story.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from adapters.demo_company import Company, make_company
from adapters.demo_story import CYCLE, Step, StoryLog, office_authorizer, plan_story, run_story
from adapters.report import build_report, render_html
from adapters.store_urls import StoreURLError, settings_for_url
from rotation_domain import RotationDomainError, RotationProgram, open_program

__all__ = ["DEFAULT_SEED", "main", "report_path_for"]

DEFAULT_SEED = 2027
"""The seed ``make demo`` uses."""


def report_path_for(store: str) -> Path | None:
    """Where the demo writes its report by default: beside the SQLite file, as ``.html``."""
    try:
        name = settings_for_url(store).get("SQLITE_DBNAME")
    except StoreURLError:
        return None
    if not name or name == ":memory:" or name.startswith("file:"):
        return None
    return Path(name).with_suffix(".html")


def _fresh(store: str) -> None:
    try:
        name = settings_for_url(store).get("SQLITE_DBNAME")
    except StoreURLError:
        return
    if name and name != ":memory:" and not name.startswith("file:"):
        for suffix in ("", "-wal", "-shm"):
            Path(f"{name}{suffix}").unlink(missing_ok=True)


def _run(program: RotationProgram, steps: list[Step], console: Console, quiet: bool) -> StoryLog:
    if quiet:
        return run_story(program, steps)
    with Progress(
        TextColumn("[bold]{task.description:<34}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    ) as bar:
        task = bar.add_task("Northwind's year", total=len(steps))

        def advance(step: Step) -> None:
            bar.update(task, advance=1, description=f"{step.day}  {step.kind}")

        log = run_story(program, steps, advance)
        bar.update(task, description="the year is over")
    return log


def _summary(
    console: Console, program: RotationProgram, company: Company, log: StoryLog, seconds: float
) -> None:
    events = program.app.recorder.max_notification_id() or 0
    mentors = sum(len(m) for m in company.mentors.values())
    console.print(
        f"\n[bold]Northwind's rotation program, {CYCLE}[/bold]: {len(company.it_staff)} IT staff "
        f"in {sum(1 for d in company.departments if d.is_it)} IT teams, "
        f"{len(company.hosts)} business departments with {mentors} mentors.\n"
        f"{sum(v for k, v in log.done.items() if k != 'skipped')} commands recorded "
        f"{events} events, in {seconds:.1f} s."
    )
    done = Table(title="Commands recorded", show_edge=False)
    done.add_column("command")
    done.add_column("count", justify="right")
    for kind, count in sorted(log.done.items()):
        if kind != "skipped":
            done.add_row(kind, str(count))
    console.print(done)
    console.print("\n[bold]Refused commands[/bold] (nothing is recorded for them):")
    for refusal in log.refusals:
        console.print(
            f"  {refusal.day}  {refusal.label}\n    [red]{refusal.error}[/red]: {refusal.message}",
            highlight=False,
        )
    rows = program.views.participation(CYCLE)
    counts: dict[str, int] = {}
    for row in rows:
        counts[row.status.value] = counts.get(row.status.value, 0) + 1
    console.print(
        f"\n[bold]Participation in {CYCLE}[/bold]: "
        + ", ".join(f"{status} {n}" for status, n in sorted(counts.items()))
    )
    pipeline = program.views.improvement_pipeline()
    by_status: dict[str, int] = {}
    for improvement in pipeline.improvements:
        by_status[improvement.status] = by_status.get(improvement.status, 0) + 1
    console.print(
        f"[bold]Improvements[/bold]: {len(pipeline.improvements)} proposed; "
        + ", ".join(f"{status} {n}" for status, n in sorted(by_status.items()))
    )
    bridges = Table(title="Department bridges", show_edge=False)
    for column in ("department", "hosted", "observations", "proposed", "adopted"):
        bridges.add_column(column, justify="left" if column == "department" else "right")
    for bridge in program.views.department_bridges():
        bridges.add_row(
            f"{bridge.department} {bridge.name}",
            str(bridge.rotations_hosted),
            str(bridge.observations),
            str(bridge.improvements_proposed),
            str(bridge.improvements_adopted),
        )
    console.print(bridges)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the demo; return the process exit code."""
    parser = argparse.ArgumentParser(
        prog="python -m adapters.demo",
        description="Run a realistic company's review cycle into a store, then write the report.",
    )
    parser.add_argument("--store", default="sqlite:///demo-rotation.db", help="store URL")
    parser.add_argument("--fresh", action="store_true", help="delete the SQLite file first")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="the story's seed")
    parser.add_argument("--report", type=Path, help="the HTML report's path")
    parser.add_argument("--no-report", action="store_true", help="do not write the report")
    parser.add_argument("--quiet", action="store_true", help="no progress bar, only the summary")
    args = parser.parse_args(argv)
    console = Console(highlight=False)
    if args.fresh:
        _fresh(args.store)
    started = time.perf_counter()
    company = make_company(args.seed)
    steps, _ = plan_story(company, args.seed)
    try:
        program = open_program(args.store, authorize=office_authorizer)
    except RotationDomainError as error:
        print(f"demo: {type(error).__name__}: {error}", file=sys.stderr)
        return 2
    with program:
        if program.app.recorder.max_notification_id():
            print(
                f"demo: the store {args.store} already holds events; run it on an empty "
                "store (add --fresh to delete a SQLite file first)",
                file=sys.stderr,
            )
            return 6
        log = _run(program, steps, console, args.quiet)
        seconds = time.perf_counter() - started
        _summary(console, program, company, log, seconds)
        if log.surprises:
            console.print("\n[bold red]Unexpected refusals[/bold red] (a bug in the story):")
            for line in log.surprises:
                console.print(f"  {line}")
        report = None if args.no_report else (args.report or report_path_for(args.store))
        if report is not None:
            data = build_report(program, title=f"Northwind IT rotation program, {CYCLE}")
            report.write_text(render_html(data), encoding="utf-8")
            console.print(f"\nThe report: [bold]{report}[/bold] (open it in a browser)")
    console.print(
        f"The store: {args.store}. Try: rotation --store {args.store} participation {CYCLE}"
    )
    return 1 if log.surprises else 0


if __name__ == "__main__":
    raise SystemExit(main())
