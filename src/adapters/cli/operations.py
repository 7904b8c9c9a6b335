"""Running the program: ``plugins``, ``worker``, ``demo`` and ``report``."""

from __future__ import annotations

import logging
import signal
import sys
from pathlib import Path
from typing import Any

import click
from rich.table import Table

from adapters.cli.context import RotationCommand, opened, state
from adapters.cli.output import done, print_json, stdout

__all__ = ["COMMANDS"]


@click.command(cls=RotationCommand)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.pass_context
def plugins(ctx: click.Context, as_json: bool) -> None:
    """List every plugin: version, hooks, status, and each consumer's position and lag."""
    with opened(ctx, must_exist=False, inline=False) as program:
        infos = program.plugins()
        consumers = program.consumer_status()
    by_plugin: dict[str, list[Any]] = {}
    for status in consumers:
        by_plugin.setdefault(status.plugin, []).append(status)
    if as_json:
        print_json(
            [
                {
                    "name": info.name,
                    "version": info.version,
                    "source": info.source,
                    "status": info.status,
                    "hooks": list(info.hooks),
                    "error": info.error,
                    "consumers": [
                        {
                            "name": c.name,
                            "kind": c.kind,
                            "position": c.position,
                            "lag": c.lag,
                            "retrying": c.retrying,
                            "parked": c.parked,
                        }
                        for c in by_plugin.get(info.name, [])
                    ],
                }
                for info in infos
            ]
        )
        return
    table = Table(title="Plugins")
    for column in ("plugin", "version", "status", "hooks", "consumer", "position", "lag", "parked"):
        table.add_column(column)
    for info in infos:
        rows = by_plugin.get(info.name) or [None]
        for index, consumer in enumerate(rows):
            first = index == 0
            table.add_row(
                info.name if first else "",
                (info.version or "") if first else "",
                (info.status + (f" ({info.error})" if info.error else "")) if first else "",
                ", ".join(info.hooks) if first else "",
                consumer.name if consumer else "",
                str(consumer.position) if consumer else "",
                str(consumer.lag) if consumer else "",
                str(consumer.parked) if consumer else "",
            )
    stdout().print(table)


@click.command(cls=RotationCommand)
@click.option("--claim-interval", default=1.0, show_default=True, help="Seconds between claims.")
@click.pass_context
def worker(ctx: click.Context, claim_interval: float) -> None:
    """Run views and integrations in this process until interrupted (PostgreSQL, SQLite)."""
    from adapters.worker import Worker

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    with opened(ctx, must_exist=False, inline=False) as program:
        runner = Worker(program, claim_interval=claim_interval)
        signal.signal(signal.SIGTERM, lambda *_: runner.stop())
        signal.signal(signal.SIGINT, lambda *_: runner.stop())
        runner.run()


@click.command(cls=RotationCommand)
@click.option("--fresh", is_flag=True, help="Delete the SQLite file first.")
@click.option("--seed", type=int, default=2027, show_default=True, help="The story's seed.")
@click.option(
    "--report",
    "report_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write the HTML report (default: beside the SQLite file).",
)
@click.option("--no-report", is_flag=True, help="Do not write the HTML report.")
@click.option("--quiet", is_flag=True, help="No progress bar; only the summary.")
@click.pass_context
def demo(
    ctx: click.Context,
    fresh: bool,
    seed: int,
    report_file: Path | None,
    no_report: bool,
    quiet: bool,
) -> None:
    """Run a realistic company's full review cycle into the store, then write the report."""
    from adapters.demo import main as demo_main

    arguments = ["--store", state(ctx).store, "--seed", str(seed)]
    arguments += ["--fresh"] if fresh else []
    arguments += ["--report", str(report_file)] if report_file else []
    arguments += ["--no-report"] if no_report else []
    arguments += ["--quiet"] if quiet else []
    sys.exit(demo_main(arguments))


@click.command(cls=RotationCommand)
@click.option(
    "--html",
    "html_file",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The HTML file to write (self-contained: open it anywhere, offline).",
)
@click.option("--from", "first", metavar="DATE", help="Timeline start (default: the cycles').")
@click.option("--to", "last", metavar="DATE", help="Timeline end (default: the cycles').")
@click.option("--title", default="IT rotation program", show_default=True)
@click.pass_context
def report(
    ctx: click.Context, html_file: Path, first: str | None, last: str | None, title: str
) -> None:
    """Write one self-contained HTML report: timeline, participation, funnel, mentors, bridges."""
    from adapters.report import build_report, render_html

    with opened(ctx) as program:
        data = build_report(program, first=first, last=last, title=title)
    html_file.write_text(render_html(data), encoding="utf-8")
    click.echo(str(html_file))
    done(f"wrote the report ({len(data.rotations)} rotations) to {html_file}")


COMMANDS: list[click.Command] = [plugins, worker, demo, report]
"""The commands this module adds to ``rotation``."""
