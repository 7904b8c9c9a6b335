"""Mentorship commands (R4-R6).

``nominate``, ``accept``, ``decline``, ``brief``, ``session`` and ``conclude``.
"""

from __future__ import annotations

import click

from adapters.cli.context import RotationCommand, acting
from adapters.cli.output import done
from rotation_domain import SessionKind

__all__ = ["COMMANDS"]


@click.command(cls=RotationCommand)
@click.argument("rotation")
@click.option("--mentor", required=True, metavar="CODE", help="A host-department employee.")
@click.pass_context
def nominate(ctx: click.Context, rotation: str, mentor: str) -> None:
    """Ask MENTOR to mentor ROTATION's participant; print the mentorship id (R4, R9)."""
    with acting(ctx) as program:
        mentorship_id = program.nominate_mentor(rotation, mentor=mentor)
    click.echo(str(mentorship_id))
    done(f"nominated {mentor} as mentor for rotation {rotation}")


@click.command(cls=RotationCommand)
@click.argument("mentorship")
@click.pass_context
def accept(ctx: click.Context, mentorship: str) -> None:
    """The nominated mentor agrees (run it --as the mentor)."""
    with acting(ctx) as program:
        program.accept_mentorship(mentorship)
    done(f"mentorship {mentorship} agreed")


@click.command(cls=RotationCommand)
@click.argument("mentorship")
@click.option("--reason", required=True)
@click.pass_context
def decline(ctx: click.Context, mentorship: str, reason: str) -> None:
    """The nominated mentor declines; the rotation needs another mentor."""
    with acting(ctx) as program:
        program.decline_mentorship(mentorship, reason=reason)
    done(f"mentorship {mentorship} declined: {reason}")


@click.command(cls=RotationCommand)
@click.argument("mentorship")
@click.option("--on", metavar="DATE", help="The day of the briefing (default: today).")
@click.pass_context
def brief(ctx: click.Context, mentorship: str, on: str | None) -> None:
    """Record that the CIO's office briefed the mentor (R5)."""
    with acting(ctx) as program:
        program.brief_mentor(mentorship, on=on)
    done(f"briefed the mentor of {mentorship}")


@click.command(cls=RotationCommand)
@click.argument("mentorship")
@click.option(
    "--kind",
    required=True,
    type=click.Choice([kind.value for kind in SessionKind]),
    help="What kind of session.",
)
@click.option("--on", required=True, metavar="DATE")
@click.option("--topic", required=True)
@click.pass_context
def session(ctx: click.Context, mentorship: str, kind: str, on: str, topic: str) -> None:
    """Log a mentor session inside the rotation's window (R6)."""
    with acting(ctx) as program:
        program.hold_mentor_session(mentorship, kind=kind, on=on, topic=topic)
    done(f"logged a {kind} session on {on}: {topic}")


@click.command(cls=RotationCommand)
@click.argument("mentorship")
@click.option("--feedback", required=True, help="The mentor's feedback.")
@click.pass_context
def conclude(ctx: click.Context, mentorship: str, feedback: str) -> None:
    """End the mentorship of a completed rotation, with feedback."""
    with acting(ctx) as program:
        program.conclude_mentorship(mentorship, feedback=feedback)
    done(f"concluded mentorship {mentorship}")


COMMANDS: list[click.Command] = [nominate, accept, decline, brief, session, conclude]
"""The commands this module adds to ``rotation``."""
