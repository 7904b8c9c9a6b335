"""Personal data that can be forgotten: what is personal, whose it is, and the key store port.

Names, e-mail addresses and free-text notes are stored encrypted with a key per person
(crypto-shredding). Destroying that key forgets the person: the events stay in the log
(the audit chain still verifies), but their personal fields read back as `FORGOTTEN`.

The events say which of their fields are personal, and whose they are, with two class
attributes the mapper reads:

* ``PERSONAL_FIELDS``: the names of the fields holding personal data;
* ``DATA_SUBJECT``: whose data it is. ``"originator"`` (the event's aggregate is the
  person: the Employee's events), or the name of a field holding the person's employee
  code (``"participant"`` on the events that create a rotation, mentorship or
  improvement). Without it, the person is the one named by the aggregate's created
  event.

Aggregates declare ``PERSONAL_STATE`` (and ``DATA_SUBJECT``) the same way for the
attributes their snapshots hold.

The keys live in a `PersonalKeyStore`, chosen by the ``PERSONAL_KEY_STORE_TOPIC``
setting (every store URL sets it: a table in the same database by default). The core
reaches it only through this port. docs/privacy.md explains all of it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final, Protocol, cast, runtime_checkable
from uuid import UUID

from eventsourcing.utils import resolve_topic

from rotation_domain._aggregate import stable_id
from rotation_domain.errors import InvalidTransition, RotationDomainError

__all__ = [
    "FORGOTTEN",
    "KEY_STORE_SETTING",
    "ORIGINATOR",
    "WITHHELD",
    "AlreadyForgotten",
    "KeyStoreMissing",
    "PersonalKeyStore",
    "open_personal_keys",
    "personal_fields",
    "subject_id",
]

FORGOTTEN: Final = "[forgotten]"
"""What a personal field reads as once its person is forgotten."""

WITHHELD: Final = "[withheld]"
"""What a personal field reads as for a view that does not declare it needs it.

A view lists the personal fields it reads in ``personal_fields``; the others are not
decrypted for it (docs/plugins.md). Views without the attribute get every field.
"""

ORIGINATOR: Final = "originator"
"""``DATA_SUBJECT`` value saying that the aggregate itself is the person."""

KEY_STORE_SETTING: Final = "PERSONAL_KEY_STORE_TOPIC"
"""The setting naming the key store factory, called as ``factory(settings, recorder)``."""


def subject_id(code: str) -> UUID:
    """The id of a person's data key: their Employee aggregate's id.

    Args:
        code: The employee code.

    Returns:
        The same id as ``Employee.id_for(code)``.
    """
    return stable_id("employee", code)


def personal_fields(cls: type[Any]) -> tuple[str, ...]:
    """The personal fields an event class (or the state an aggregate class) declares.

    Args:
        cls: An event class (``PERSONAL_FIELDS``) or an aggregate class
            (``PERSONAL_STATE``).

    Returns:
        The field names, empty when the class declares none.
    """
    found: Iterable[str] = (
        getattr(cls, "PERSONAL_FIELDS", None) or getattr(cls, "PERSONAL_STATE", None) or ()
    )
    return tuple(found)


class AlreadyForgotten(InvalidTransition):
    """The employee was forgotten before: there is nothing left to forget."""


class KeyStoreMissing(RotationDomainError):
    """The store keeps no personal data keys, so nobody can be forgotten.

    Raised by ``forget_employee`` on a program opened with settings that remove the
    ``PERSONAL_KEY_STORE_TOPIC`` setting every store URL gives.
    """


@runtime_checkable
class PersonalKeyStore(Protocol):
    """The port to the store of per-person data keys (one AES-256 key per person).

    Implementations live in ``adapters.personal_keys``; they keep keys in the same
    database as the events by default and cache them in memory.
    """

    def data_key(self, subject: UUID, *, create: bool = False) -> bytes | None:
        """The person's data key.

        Args:
            subject: The person's id (`subject_id`).
            create: Make (and store) a key when the person has none yet.

        Returns:
            The key; None once the person is forgotten, or when they have none and
            ``create`` is false.
        """

    def destroy(self, subject: UUID) -> bool:
        """Destroy the person's key for good; no key is ever made for them again.

        Args:
            subject: The person's id.

        Returns:
            True when the person was not forgotten before this call.
        """

    def is_forgotten(self, subject: UUID) -> bool:
        """Whether the person's key was destroyed."""

    def subject_of(self, originator_id: UUID) -> UUID | None:
        """The person an aggregate's personal data belongs to, if this process knows it.

        It is learned from the aggregate's created event whenever that event is written
        or read (`learn_subject`): a command changes an aggregate only after loading it.
        """

    def learn_subject(self, originator_id: UUID, subject: UUID) -> None:
        """Remember whose personal data an aggregate holds (read from its created event)."""

    def forget_cached(self, subject: UUID) -> None:
        """Treat the person as forgotten in this process from now on (cache only)."""

    def close(self) -> None:
        """Release the store's connections."""


def open_personal_keys(settings: Mapping[str, Any], recorder: object) -> PersonalKeyStore | None:
    """Open the key store named by the ``PERSONAL_KEY_STORE_TOPIC`` setting, if any.

    Args:
        settings: The application's settings (eventsourcing's environment).
        recorder: The application's recorder; the factory may share its database.

    Returns:
        The key store, or None when the setting is absent or empty.

    Raises:
        TypeError: The factory returned something that is not a `PersonalKeyStore`.
    """
    topic = settings.get(KEY_STORE_SETTING)
    if not topic:
        return None
    factory = cast(Callable[[Mapping[str, Any], object], object], resolve_topic(topic))
    store = factory(settings, recorder)
    if not isinstance(store, PersonalKeyStore):
        msg = f"{topic} made {type(store).__name__}, which is not a PersonalKeyStore"
        raise TypeError(msg)
    return store
