"""The ``rotation`` command line (for now: ``plugins``, ``worker``, ``demo``)."""

from __future__ import annotations

import json
import logging
import signal
import sys
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from rotation_domain import open_program

__all__ = ["main"]


@click.group()
@click.option(
    "--store",
    envvar="ROTATION_STORE",
    default="sqlite:///rotation.db",
    show_default=True,
    help="Store URL: memory:, sqlite:///file.db or postgresql://user@host/db.",
)
@click.pass_context
def main(ctx: click.Context, store: str) -> None:
    """Run the IT job-rotation program from a terminal."""
    ctx.obj = {"store": store}


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.pass_context
def plugins(ctx: click.Context, as_json: bool) -> None:
    """List every plugin: version, hooks, status, and each consumer's position and lag."""
    with open_program(ctx.obj["store"], inline=False) as program:
        infos = program.plugins()
        consumers = program.consumer_status()
    by_plugin: dict[str, list[Any]] = {}
    for status in consumers:
        by_plugin.setdefault(status.plugin, []).append(status)
    if as_json:
        payload = [
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
        click.echo(json.dumps(payload, indent=2))
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
    Console().print(table)


@main.command()
@click.option("--claim-interval", default=1.0, show_default=True, help="Seconds between claims.")
@click.pass_context
def worker(ctx: click.Context, claim_interval: float) -> None:
    """Run views and integrations on a PostgreSQL store until interrupted."""
    from adapters.worker import Worker

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    with open_program(ctx.obj["store"], inline=False) as program:
        runner = Worker(program, claim_interval=claim_interval)
        signal.signal(signal.SIGTERM, lambda *_: runner.stop())
        signal.signal(signal.SIGINT, lambda *_: runner.stop())
        runner.run()


@main.command()
@click.option("--fresh", is_flag=True, help="Delete the SQLite file first.")
@click.pass_context
def demo(ctx: click.Context, fresh: bool) -> None:
    """Run the source's story end to end."""
    from adapters.demo import main as demo_main

    arguments = ["--store", ctx.obj["store"]] + (["--fresh"] if fresh else [])
    sys.exit(demo_main(arguments))


if __name__ == "__main__":  # pragma: no cover
    main()
