"""What every ``rotation`` command shares: the store, the actor and ``--debug``.

Also the click classes that turn a refused command into one line and an exit code.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import attrs
import click

from adapters.cli.errors import report_error, report_unexpected
from adapters.store_urls import StoreURLError, settings_for_url
from rotation_domain import ActorRequired, NotFound, RotationDomainError, RotationProgram
from rotation_domain import open_program as _open_program

__all__ = [
    "CliState",
    "RotationCommand",
    "RotationGroup",
    "acting",
    "opened",
    "sqlite_path",
    "state",
]


@attrs.define
class CliState:
    """The global options, as the root command parsed them.

    Attributes:
        store: The store URL (``--store`` or ``ROTATION_STORE``).
        actor: Who runs the commands (``--as`` or ``ROTATION_ACTOR``), if given.
        debug: Whether refusals and failures print their traceback.
        settings: Extra settings for `open_program` (``directory import --csv`` adds one).
    """

    store: str
    actor: str | None = None
    debug: bool = False
    settings: dict[str, str] = attrs.field(factory=dict)


def state(ctx: click.Context) -> CliState:
    """The global options of this invocation."""
    found = ctx.find_object(CliState)
    if found is None:  # pragma: no cover - the root command always sets it
        raise click.UsageError("run this command through `rotation`")
    return found


def sqlite_path(store: str) -> Path | None:
    """The file of a SQLite store URL, or None for other stores (and SQLite in memory)."""
    try:
        settings = settings_for_url(store)
    except StoreURLError:
        return None
    name = settings.get("SQLITE_DBNAME")
    if name is None or name == ":memory:" or name.startswith("file:"):
        return None
    return Path(name)


@contextmanager
def opened(
    ctx: click.Context, *, must_exist: bool = True, inline: bool | None = None
) -> Iterator[RotationProgram]:
    """Open the program on the chosen store for the length of the block.

    Args:
        ctx: The click context.
        must_exist: Refuse (as `NotFound`, exit 3) a SQLite file that does not exist yet,
            instead of creating an empty store by mistake; ``rotation init`` creates it.
        inline: Passed to `open_program` (False: views do not catch up on opening).
    """
    options = state(ctx)
    path = sqlite_path(options.store)
    if must_exist and path is not None and not path.exists():
        raise NotFound(
            f"there is no store at {path}: run `rotation init` to create it, or pass "
            "--store (or set ROTATION_STORE) to use another",
            store=options.store,
        )
    with _open_program(options.store, settings=options.settings or None, inline=inline) as program:
        yield program


@contextmanager
def acting(ctx: click.Context, *, must_exist: bool = True) -> Iterator[RotationProgram]:
    """Open the program and run the block's commands as the ``--as`` actor.

    Raises:
        ActorRequired: neither ``--as`` nor ``ROTATION_ACTOR`` names one.
    """
    options = state(ctx)
    actor = (options.actor or "").strip()
    if not actor:
        raise ActorRequired(
            "this command records who did it: pass --as ACTOR (before the command) or set "
            "ROTATION_ACTOR"
        )
    with opened(ctx, must_exist=must_exist) as program, program.acting_as(actor):
        yield program


class RotationCommand(click.Command):
    """A command whose refusals print one line and exit with their family's code."""

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command; turn a library error into a line on stderr and an exit code."""
        try:
            return super().invoke(ctx)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except RotationDomainError as error:
            debug = _debug(ctx)
            ctx.exit(report_error(ctx.command_path, error, debug=debug))
        except Exception as error:  # noqa: BLE001 - shown as one line; --debug shows the rest
            ctx.exit(report_unexpected(ctx.command_path, error, debug=_debug(ctx)))


class RotationGroup(click.Group):
    """A group whose commands and subgroups are `RotationCommand` and `RotationGroup`."""

    command_class = RotationCommand
    group_class = type


def _debug(ctx: click.Context) -> bool:
    found = ctx.find_object(CliState)
    return bool(found and found.debug)
