"""Improvement commands: ``propose``, ``adopt``, ``reject``, ``withdraw`` (R8)."""

from __future__ import annotations

import click

from adapters.cli.context import RotationCommand, acting
from adapters.cli.output import done

__all__ = ["COMMANDS"]


@click.command(cls=RotationCommand)
@click.argument("rotation")
@click.option("--title", required=True)
@click.option("--description", default="")
@click.option("--on", metavar="DATE")
@click.pass_context
def propose(
    ctx: click.Context, rotation: str, title: str, description: str, on: str | None
) -> None:
    """Propose an improvement to ROTATION's host department; print its id (R8)."""
    with acting(ctx) as program:
        improvement_id = program.propose_improvement(
            rotation, title=title, description=description, on=on
        )
    click.echo(str(improvement_id))
    done(f"proposed: {title}")


@click.command(cls=RotationCommand)
@click.argument("improvement")
@click.option("--on", metavar="DATE", help="The day of the decision (default: today).")
@click.pass_context
def adopt(ctx: click.Context, improvement: str, on: str | None) -> None:
    """The host department adopts IMPROVEMENT."""
    with acting(ctx) as program:
        program.adopt_improvement(improvement, on=on)
    done(f"adopted improvement {improvement}")


@click.command(cls=RotationCommand)
@click.argument("improvement")
@click.option("--reason", required=True)
@click.option("--on", metavar="DATE")
@click.pass_context
def reject(ctx: click.Context, improvement: str, reason: str, on: str | None) -> None:
    """The host department turns IMPROVEMENT down."""
    with acting(ctx) as program:
        program.reject_improvement(improvement, reason=reason, on=on)
    done(f"rejected improvement {improvement}: {reason}")


@click.command(cls=RotationCommand)
@click.argument("improvement")
@click.option("--reason")
@click.pass_context
def withdraw(ctx: click.Context, improvement: str, reason: str | None) -> None:
    """The participant withdraws IMPROVEMENT."""
    with acting(ctx) as program:
        program.withdraw_improvement(improvement, reason=reason)
    done(f"withdrew improvement {improvement}")


COMMANDS: list[click.Command] = [propose, adopt, reject, withdraw]
"""The commands this module adds to ``rotation``."""
