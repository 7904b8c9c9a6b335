"""The ``rotation`` command line: run the IT job-rotation program from a terminal.

``main`` is the console script's entry point (``rotation = "adapters.cli:main"``). Each
command family lives in a module of its own: `adapters.cli.program` (init, policy,
review cycles, exemptions), `adapters.cli.directory` (departments, employees, directory
import), `adapters.cli.rotations`, `adapters.cli.mentoring`, `adapters.cli.improvements`,
`adapters.cli.views` (the read models, ``--as-of`` time travel and ``rebuild``),
`adapters.cli.audit` (history, timeline, export, verify, seal) and
`adapters.cli.operations` (plugins, worker, demo, report). Exit codes are listed in
`adapters.cli.errors`.

Shell completion is click's: ``eval "$(_ROTATION_COMPLETE=bash_source rotation)"`` (or
``zsh_source``, ``fish_source``).
"""

from __future__ import annotations

import click

from adapters.cli import (
    audit,
    directory,
    improvements,
    mentoring,
    operations,
    program,
    rotations,
    views,
)
from adapters.cli.context import CliState, RotationGroup
from adapters.cli.errors import ExitCode

__all__ = ["ExitCode", "main"]


@click.group(cls=RotationGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--store",
    envvar="ROTATION_STORE",
    default="sqlite:///rotation.db",
    show_default=True,
    help="Store URL: memory:, sqlite:///file.db or postgresql://user@host/db [env ROTATION_STORE].",
)
@click.option(
    "--as",
    "actor",
    envvar="ROTATION_ACTOR",
    metavar="ACTOR",
    help="Who runs the command; recorded on its events [env ROTATION_ACTOR].",
)
@click.option("--debug", is_flag=True, help="Show the traceback of a refused or failed command.")
@click.version_option(package_name="rotation-domain", prog_name="rotation")
@click.pass_context
def main(ctx: click.Context, store: str, actor: str | None, debug: bool) -> None:
    """Run the IT job-rotation program from a terminal.

    Commands that record something need an actor (--as or ROTATION_ACTOR). Dates are
    ISO (2027-01-31). Read commands take --json. Exit codes: 0 done, 1 unexpected,
    2 invalid input, 3 not found, 4 refused by a rule, 5 not authorized, 6 conflict
    with the recorded state, 7 directory source unreadable, 8 audit trail broken
    (verify), 9 the store keeps no audit chain (verify, seal).
    """
    ctx.obj = CliState(store=store, actor=actor, debug=debug)


for _module in (program, directory, rotations, mentoring, improvements, views, audit, operations):
    for _command in _module.COMMANDS:
        main.add_command(_command)


if __name__ == "__main__":  # pragma: no cover
    main()
