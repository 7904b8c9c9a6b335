"""The optimistic-read check a store makes inside the transaction that records a command.

Commands decide on aggregates taken from the program's cache without asking the store
whether they changed. The program knows a log position up to which its whole cache is
current (nothing else was recorded since). A recorder that can read the head of the
log under its write lock (the audit-chained recorders can: they read the chain's head
anyway) is given that position as ``expected_head=`` and refuses to record when the
log has moved on meanwhile, by raising `HeadMoved`; the command is then run again on
fresh state. That proves every cached read current with no query of its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from eventsourcing.persistence import IntegrityError

__all__ = ["EXPECTED_HEAD", "HeadMoved", "check_expected_head", "checks_expected_head"]

EXPECTED_HEAD: Final = "expected_head"
"""The keyword `Application.save` passes on to the recorder's ``insert_events``."""


class HeadMoved(IntegrityError):
    """Something was recorded after the position the command's cached reads were current at."""


def checks_expected_head(recorder: object) -> bool:
    """Whether a recorder makes the check (it says so with ``checks_expected_head = True``)."""
    return getattr(recorder, "checks_expected_head", False) is True


def check_expected_head(head: int, kwargs: Mapping[str, Any]) -> None:
    """Raise `HeadMoved` unless the log's head (read under the write lock) is the expected one.

    Args:
        head: The position of the last event recorded before this transaction's.
        kwargs: The keywords ``insert_events`` was given; without ``expected_head``
            nothing is checked.

    Raises:
        HeadMoved: The head is not the expected position: nothing may be recorded.
    """
    expected = kwargs.get(EXPECTED_HEAD)
    if expected is not None and head != expected:
        raise HeadMoved(
            f"the log's head is at position {head}, not {expected}: another writer "
            "recorded events after this command read its state"
        )
