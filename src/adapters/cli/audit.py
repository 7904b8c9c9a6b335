"""The audit commands: ``history``, ``timeline``, ``export``, ``verify`` and ``seal``.

They read the program's log, its audit trail, through the program's audit queries
(docs/audit.md). ``history`` and ``timeline`` print tables (or ``--json``); ``export``
streams JSON Lines or CSV in constant memory, with a progress bar on standard error
when it writes to a file; ``verify`` recomputes the hash chain and exits 8 at the first
break (9 on a store that keeps no chain); ``seal`` writes the chain's head as a seal.
The time-travel views are ``participation --as-of`` and ``capacity --as-of``
(`adapters.cli.views`). The arguments are read by `adapters.cli.audit_options`.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from itertools import chain, islice
from pathlib import Path
from typing import Any

import click
import orjson
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from adapters.cli.audit_options import aggregate_of, criteria_of, filter_options
from adapters.cli.context import RotationCommand, opened
from adapters.cli.errors import ExitCode, report_line
from adapters.cli.output import done, print_json, print_table
from rotation_domain import (
    InvalidInput,
    RotationProgram,
    TimelineEntry,
    UnknownId,
)
from rotation_domain.audit import (
    AuditChainStore,
    AuditFilter,
    AuditSeal,
    TextSink,
    write_csv,
    write_jsonl,
)

__all__ = ["COMMANDS", "show_entries"]

json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")

_PROGRESS_EVERY = 256
_SIGPIPE_EXIT = 141
"""The exit code of ``export`` when its reader closes the pipe (a shell's 128 + SIGPIPE)."""


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def show_entries(title: str, entries: Iterable[TimelineEntry], *, as_json: bool) -> None:
    """Print entries as a table, or as a JSON array written one entry at a time."""
    if as_json:
        out = sys.stdout
        out.write("[")
        for index, entry in enumerate(entries):
            out.write(",\n  " if index else "\n  ")
            out.write(orjson.dumps(entry.to_record()).decode())
        out.write("\n]\n")
        return
    print_table(
        title,
        ["position", "recorded", "business date", "actor", "event", "summary"],
        (
            [e.position, _stamp(e.recorded_at), e.business_date, e.actor, e.event_type, e.summary]
            for e in entries
        ),
        empty="no event recorded",
    )


@click.command(cls=RotationCommand)
@click.argument("ref", metavar="ID")
@json_option
@click.pass_context
def history(ctx: click.Context, ref: str, as_json: bool) -> None:
    """The timeline of one thing, oldest first.

    ID is a rotation's, mentorship's or improvement's id, or employee:CODE,
    department:CODE, roster:YYYY-MM or program.
    """
    wanted = aggregate_of(ref)
    with opened(ctx) as program:
        entries = program.history(wanted)
        first = next(entries, None)
        if first is None:
            raise UnknownId(f"nothing recorded has id {ref}", id=ref)
        show_entries(f"History of {ref}", chain([first], entries), as_json=as_json)


@click.command(cls=RotationCommand)
@filter_options
@click.option("--limit", type=click.IntRange(min=1), metavar="N", help="At most N events.")
@json_option
@click.pass_context
def timeline(ctx: click.Context, /, limit: int | None, as_json: bool, **filters: Any) -> None:
    """The program's log, oldest first, narrowed by the filters (all must hold)."""
    criteria = criteria_of(filters)
    with opened(ctx) as program:
        entries: Iterator[TimelineEntry] = program.timeline(**criteria)
        if limit is not None:
            entries = islice(entries, limit)
        show_entries("Timeline", entries, as_json=as_json)


def _write(fmt: str, entries: Iterable[TimelineEntry], out: TextSink, selected: AuditFilter) -> int:
    if fmt == "csv":
        return write_csv(entries, out)
    return write_jsonl(entries, out, criteria=selected)


def _export_to_file(
    program: RotationProgram,
    fmt: str,
    path: Path,
    criteria: dict[str, Any],
) -> int:
    """Write the export beside ``path``, then move it into place (no half-written file)."""
    recorder = program.app.recorder
    last = criteria["upto"] or recorder.max_notification_id() or 0
    start = criteria["after"]
    total = max(last - start, 1)
    entries = program.timeline(**criteria)
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    try:
        with (
            partial.open("x", encoding="utf-8", newline="") as handle,
            Progress(
                TextColumn("exporting {task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=Console(stderr=True),
            ) as bar,
        ):
            task = bar.add_task(f"to {path.name}", total=total)

            def tracked() -> Iterator[TimelineEntry]:
                for count, entry in enumerate(entries, start=1):
                    if count % _PROGRESS_EVERY == 0:
                        bar.update(task, completed=min(entry.position - start, total))
                    yield entry

            written = _write(fmt, tracked(), handle, AuditFilter.of(**criteria))
            bar.update(task, completed=total)
        partial.replace(path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return written


@click.command(cls=RotationCommand)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["jsonl", "csv"]),
    default="jsonl",
    show_default=True,
    help="JSON Lines (header, events, trailer) or CSV (format version 1, docs/audit.md).",
)
@click.option(
    "--output",
    "-o",
    default="-",
    show_default=True,
    metavar="FILE",
    help="The file to write ('-': standard output).",
)
@filter_options
@click.pass_context
def export(ctx: click.Context, /, fmt: str, output: str, **filters: Any) -> None:
    """Export the log (or what the filters select) as JSON Lines or CSV, streamed."""
    criteria = criteria_of(filters)
    path = None if output == "-" else Path(output)
    if path is not None and (path.is_dir() or not path.parent.is_dir()):
        raise click.BadParameter(f"{output} is not a file in an existing directory", ctx=ctx)
    with opened(ctx) as program:
        if path is None:
            entries = program.timeline(**criteria)
            try:
                written = _write(fmt, entries, sys.stdout, AuditFilter.of(**criteria))
                sys.stdout.flush()
            except BrokenPipeError:  # the reader stopped (| head): stop quietly, as Unix tools do
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
                ctx.exit(_SIGPIPE_EXIT)
        else:
            written = _export_to_file(program, fmt, path, criteria)
    done(f"exported {written} events as {fmt} to {'standard output' if path is None else path}")


def _no_chain(command: str, reason: str) -> ExitCode:
    return report_line(command, "no tamper evidence", reason, ExitCode.NO_AUDIT_CHAIN)


@click.command(cls=RotationCommand)
@click.option(
    "--seal",
    "seal_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    metavar="FILE",
    help="A seal written by `rotation seal`: the log must still reach it unchanged.",
)
@json_option
@click.pass_context
def verify(ctx: click.Context, seal_file: Path | None, as_json: bool) -> None:
    """Recompute the audit chain; exit 8 at the first position where it breaks.

    Exit 0 when every event (and the seal, if given) checks; 9 when the store keeps
    no audit chain (memory:).
    """
    kept = AuditSeal.from_json(seal_file.read_bytes()) if seal_file is not None else None
    with opened(ctx) as program:
        result = program.verify_audit_trail(seal=kept)
    if as_json:
        print_json(result)
    if not result.tamper_evident:
        ctx.exit(_no_chain(ctx.command_path, result.reason))
    if not result.ok:
        ctx.exit(
            report_line(
                ctx.command_path,
                f"broken at position {result.broken_at}",
                f"{result.reason} ({result.checked} events before it check)",
                ExitCode.AUDIT_TRAIL_BROKEN,
            )
        )
    if not as_json:
        sealed = f"; the seal at position {kept.position} holds" if kept else ""
        click.echo(
            f"the audit trail holds: {result.checked} events checked, head at position "
            f"{result.head_position} (hash {result.head_hash}){sealed}"
        )


@click.command(cls=RotationCommand)
@click.option(
    "--output",
    "-o",
    default="-",
    show_default=True,
    metavar="FILE",
    help="The file to write the seal to ('-': standard output); never overwritten.",
)
@click.pass_context
def seal(ctx: click.Context, output: str) -> None:
    """Verify the whole chain, then write its head as a seal (JSON) to keep elsewhere."""
    path = None if output == "-" else Path(output)
    if path is not None and path.exists():
        raise InvalidInput(f"{path} exists; a seal is kept, not replaced: choose another file")
    with opened(ctx) as program:
        recorder = program.app.recorder
        if not isinstance(recorder, AuditChainStore):
            ctx.exit(
                _no_chain(
                    ctx.command_path,
                    f"this store ({type(recorder).__name__}) keeps no audit chain: there is "
                    "nothing to seal",
                )
            )
        sealed = program.seal_audit_trail()
    text = sealed.to_json() + "\n"
    if path is None:
        click.echo(text, nl=False)
    else:
        with path.open("x", encoding="utf-8") as out:
            out.write(text)
    done(
        f"sealed the audit trail at position {sealed.position} ({sealed.events} events); keep "
        "the seal where the store's administrators cannot change it"
    )


COMMANDS: list[click.Command] = [history, timeline, export, verify, seal]
"""The commands this module adds to ``rotation``."""
