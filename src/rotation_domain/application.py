"""The embedded API: `open_program()` and the `RotationProgram` it returns.

One eventsourcing `Application` holds every aggregate, so the whole program has one
ordered log: the audit trail. Infrastructure is chosen by configuration only; the
core names adapters by topic strings and never imports them.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import date
from typing import Any, ClassVar, cast
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import Aggregate
from eventsourcing.utils import resolve_topic

from rotation_domain._commands_program import ProgramCommands
from rotation_domain._inputs import an_id
from rotation_domain._service import Authorizer
from rotation_domain.employee import Employee
from rotation_domain.errors import InvalidInput, UnknownId
from rotation_domain.program import PROGRAM_ID, Program
from rotation_domain.roster import MonthRoster
from rotation_domain.values import Policy

__all__ = ["DEFAULT_STORE", "RotationApplication", "RotationProgram", "open_program"]

DEFAULT_STORE = "sqlite:///rotation.db"
SETTINGS_TOPIC = "adapters.store_urls:settings_for_url"


class RotationApplication(Application[UUID]):
    """The eventsourcing application that stores the program's events.

    Aggregates whose histories keep growing (the Program, the month rosters, the
    employees) are snapshotted every `SNAPSHOT_INTERVAL` events.
    """

    name = "RotationProgram"
    SNAPSHOT_INTERVAL = 50
    snapshotting_intervals: ClassVar[dict[type[Any], int]] = {
        Program: SNAPSHOT_INTERVAL,
        MonthRoster: SNAPSHOT_INTERVAL,
        Employee: SNAPSHOT_INTERVAL,
    }
    log_section_size = 500


class RotationProgram(ProgramCommands):
    """The rotation program: commands that record events, and reads of the current state.

    Build one with `open_program()`. Every command accepts ``actor=``; without it the
    actor of the enclosing `acting_as` block is used.
    """

    def __init__(
        self,
        app: RotationApplication,
        *,
        today: Callable[[], date] = date.today,
        authorize: Authorizer | None = None,
    ) -> None:
        super().__init__(app, today=today, authorize=authorize)
        self.app = app

    def policy(self) -> Policy:
        """The program's current policy."""
        try:
            program: Aggregate = self.app.repository.get(PROGRAM_ID)
        except AggregateNotFoundError:
            return Policy()
        return cast(Program, program).policy

    def get(self, aggregate_id: UUID | str, *, version: int | None = None) -> Aggregate:
        """A copy of the current (or a past ``version``'s) state of one aggregate."""
        wanted = an_id("id", aggregate_id)
        try:
            return cast(Aggregate, self.app.repository.get(wanted, version=version))
        except AggregateNotFoundError:
            raise UnknownId(f"nothing recorded has id {wanted}", id=wanted) from None

    def close(self) -> None:
        """Release the store's connections."""
        self.app.close()

    def __enter__(self) -> RotationProgram:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_program(
    url: str | None = None,
    *,
    today: Callable[[], date] = date.today,
    authorize: Authorizer | None = None,
    settings: dict[str, str] | None = None,
) -> RotationProgram:
    """Open the program stored at ``url``.

    Args:
        url: ``memory:``, ``sqlite:///path`` or ``postgresql://user@host/db``. Without
            it, the ``ROTATION_STORE`` environment variable, else ``sqlite:///rotation.db``
            in the working directory.
        today: The clock that gives business dates a command was not given.
        authorize: Called as ``authorize(actor, action, context)`` before each command;
            raises `NotAuthorized` to refuse it.
        settings: Extra eventsourcing settings (``COMPRESSOR_TOPIC``, ``CIPHER_KEY``,
            ``AGGREGATE_CACHE_MAXSIZE``...), applied over those derived from the URL.

    Raises:
        InvalidInput: the URL is not one the library understands.
    """
    if url is not None and not url.strip():
        raise InvalidInput(
            "the store URL is empty: use memory:, sqlite:///file.db or postgresql://..."
        )
    store = url or os.environ.get("ROTATION_STORE") or DEFAULT_STORE
    settings_for_url = cast(Callable[[str], dict[str, str]], resolve_topic(SETTINGS_TOPIC))
    try:
        env = settings_for_url(store)
    except ValueError as error:
        raise InvalidInput(str(error), url=store) from None
    env.setdefault("AGGREGATE_CACHE_MAXSIZE", "1000")
    env.update(settings or {})
    return RotationProgram(RotationApplication(env=env), today=today, authorize=authorize)
