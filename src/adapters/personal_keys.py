"""Stores of per-person data keys (crypto-shredding), cached in memory.

`personal_key_store_for` is the factory the ``PERSONAL_KEY_STORE_TOPIC`` setting names
(every store URL sets it): it keeps the keys in the same database as the events, in
tables next to them (``adapters.personal_keys_sqlite``,
``adapters.personal_keys_postgres``), or in memory for a memory store.

Each person has one AES-256-GCM data key, made the first time their personal data is
stored. Destroying it leaves a row without a key (a tombstone): no key is ever made
for that person again, and their personal fields read as ``[forgotten]``.

With the setting ``ROTATION_KEY_ENCRYPTION_KEY`` (32 random bytes, base64), the data
keys are stored wrapped (AES-GCM) by that key-encryption key, kept outside the
database; without it they are stored as they are (docs/privacy.md).
"""

from __future__ import annotations

import abc
import base64
import binascii
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from typing import Any, Final, cast
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from rotation_domain.personal_data import PersonalKeyStore

__all__ = [
    "KEK_SETTING",
    "KEYS_TABLE",
    "KEY_CACHE_SECONDS",
    "MemoryPersonalKeys",
    "PersonalKeys",
    "make_kek",
    "personal_key_store_for",
]

KEK_SETTING: Final = "ROTATION_KEY_ENCRYPTION_KEY"
"""The setting holding the key-encryption key (base64 of 32 bytes), if any."""

_KEY_BYTES: Final = 32
_NONCE_BYTES: Final = 12
_CACHE_SIZE: Final = 65_536
KEYS_TABLE: Final = "rotation_personal_keys"
"""The table of the personal data keys, next to the events' (in their schema on PostgreSQL).

The SQLite and PostgreSQL key stores keep their rows in it, and aggregate loads read it."""
KEY_CACHE_SECONDS: Final = 60.0
"""How long a cached key is used before the store is asked again whether it still exists."""
_FORGOTTEN: Final = object()
"""The cache's mark of a person whose key is destroyed."""


def make_kek() -> str:
    """A new random key-encryption key, base64 text for ``ROTATION_KEY_ENCRYPTION_KEY``."""
    return base64.b64encode(AESGCM.generate_key(bit_length=256)).decode()


def _parse_kek(text: str) -> AESGCM:
    try:
        key = base64.b64decode(text.encode(), validate=True)
    except (binascii.Error, ValueError) as error:
        msg = f"{KEK_SETTING} must be base64 text of 32 bytes: {error}"
        raise ValueError(msg) from None
    if len(key) != _KEY_BYTES:
        msg = f"{KEK_SETTING} must be base64 text of 32 bytes, got {len(key)} bytes"
        raise ValueError(msg)
    return AESGCM(key)


class PersonalKeys(abc.ABC):
    """A key store: the cache, key wrapping and AES-GCM objects; subclasses store rows.

    A cached key is used for `KEY_CACHE_SECONDS`, then the store is asked again, so a
    process that does not follow the log stops using a destroyed key within that time.

    Args:
        kek: The key-encryption key (base64 of 32 bytes) wrapping stored keys, if any.
    """

    def __init__(self, kek: str | None = None) -> None:
        self._kek = _parse_kek(kek) if kek else None
        self._lock = threading.Lock()
        # Keyed by the id's text: envelopes carry it, and str hashes faster than UUID.
        # Values: (AESGCM or _FORGOTTEN, monotonic time after which to ask the store again).
        self._ciphers: dict[str, tuple[Any, float]] = {}
        self._subjects: OrderedDict[Any, Any] = OrderedDict()

    # What the mapper and the core use.

    def cipher(self, subject: Any, *, create: bool = False) -> AESGCM | None:
        """The AES-GCM cipher of the person's data key (cached), None once forgotten.

        Args:
            subject: The person's id.
            create: Make and store a key when the person has none yet.
        """
        found = self._ciphers.get(str(subject))
        if found is not None and (found[0] is _FORGOTTEN or found[1] > time.monotonic()):
            return None if found[0] is _FORGOTTEN else found[0]
        return self._load_cipher(subject, create=create)

    def cipher_of(self, subject_text: str) -> AESGCM | None:
        """`cipher` for an id given as text (as envelopes carry it); never creates a key."""
        found = self._ciphers.get(subject_text)
        if found is not None and (found[0] is _FORGOTTEN or found[1] > time.monotonic()):
            return None if found[0] is _FORGOTTEN else found[0]
        return self._load_cipher(UUID(subject_text), create=False)

    def prefetch(self, subjects: Iterable[str]) -> None:
        """Load, in one query, the keys of the people not cached now (ids as text).

        A batch of events about many people (an aggregate's history, a snapshot) then
        opens their personal fields without a query per person. People with no key yet
        are left to `cipher`, which makes one when asked to.
        """
        wanted = [text for text in set(subjects) if self.wants(text)]
        if not wanted:
            return
        for text, stored in self._select_keys([UUID(text) for text in wanted]).items():
            if stored is None:
                self._cache(text, _FORGOTTEN)
            else:
                self._cache(text, AESGCM(self._unwrap(text, stored)))

    def wants(self, subject_text: str) -> bool:
        """Whether the person's key is not cached now (or is due to be asked for again)."""
        found = self._ciphers.get(subject_text)
        return found is None or (found[0] is not _FORGOTTEN and found[1] <= time.monotonic())

    def accept(self, subject_text: str, stored: bytes | None) -> None:
        """Cache a person's key row read in another query (``stored`` None: a tombstone).

        A load reads the row of the aggregate's own id along with its events
        (``adapters.aggregate_reads``), saving the round trip `cipher` would make. A key
        that cannot be unwrapped is not cached: `cipher` then reads it and reports why.
        """
        if stored is None:
            self._cache(subject_text, _FORGOTTEN)
            return
        try:
            key = self._unwrap(subject_text, stored)
        except (ValueError, InvalidTag):
            return
        self._cache(subject_text, AESGCM(key))

    def _load_cipher(self, subject: Any, *, create: bool) -> AESGCM | None:
        key = self.data_key(subject, create=create)
        if key is None:
            return None
        cipher = AESGCM(key)
        self._cache(subject, cipher)
        return cipher

    def data_key(self, subject: Any, *, create: bool = False) -> bytes | None:
        """The person's data key; None once forgotten (or if missing and not ``create``)."""
        exists, stored = self._select_key(subject)
        if not exists and create:
            self._insert_key(subject, self._wrap(subject, AESGCM.generate_key(bit_length=256)))
            exists, stored = self._select_key(subject)  # another writer may have won
        if exists and stored is None:
            self._cache(subject, _FORGOTTEN)
            return None
        return self._unwrap(subject, stored) if stored is not None else None

    def destroy(self, subject: Any) -> bool:
        """Destroy the person's key for good; True when they were not forgotten before."""
        destroyed = self._shred(subject)
        self._cache(subject, _FORGOTTEN)
        return destroyed

    def is_forgotten(self, subject: Any) -> bool:
        """Whether the person's key was destroyed."""
        exists, stored = self._select_key(subject)
        return exists and stored is None

    def subject_of(self, originator_id: Any) -> Any:
        """The person an aggregate's personal data belongs to, if this process knows it.

        Learned from the aggregate's created event (`learn_subject`) when it is written or
        read; a command loads an aggregate, and so reads that event, before changing it.
        """
        with self._lock:
            return self._subjects.get(originator_id)

    def learn_subject(self, originator_id: Any, subject: Any) -> None:
        """Remember whose data an aggregate holds (read from its created event)."""
        self._learn(originator_id, subject)

    def forget_cached(self, subject: Any) -> None:
        """Treat the person as forgotten in this process from now on (cache only)."""
        self._cache(subject, _FORGOTTEN)

    def close(self) -> None:  # noqa: B027 - stores without connections have nothing to do
        """Release the store's connections."""

    # The cache.

    def _cache(self, subject: Any, value: Any) -> None:
        text = str(subject)
        entry = (value, time.monotonic() + KEY_CACHE_SECONDS)
        with self._lock:
            self._ciphers.pop(text, None)
            self._ciphers[text] = entry
            if len(self._ciphers) > _CACHE_SIZE:  # the oldest entry goes (dicts keep order)
                del self._ciphers[next(iter(self._ciphers))]

    def _learn(self, originator_id: Any, subject: Any) -> None:
        with self._lock:
            self._subjects[originator_id] = subject
            self._subjects.move_to_end(originator_id)
            if len(self._subjects) > _CACHE_SIZE:
                self._subjects.popitem(last=False)

    # Key wrapping.

    def _wrap(self, subject: Any, key: bytes) -> bytes:
        if self._kek is None:
            return key
        nonce = os.urandom(_NONCE_BYTES)
        return nonce + self._kek.encrypt(nonce, key, str(subject).encode())

    def _unwrap(self, subject: Any, stored: bytes) -> bytes:
        if self._kek is None:
            if len(stored) != _KEY_BYTES:
                msg = f"the data key of {subject} is wrapped: set {KEK_SETTING}"
                raise ValueError(msg)
            return stored
        nonce, sealed = stored[:_NONCE_BYTES], stored[_NONCE_BYTES:]
        return self._kek.decrypt(nonce, sealed, str(subject).encode())

    # Rows, kept by subclasses.

    @abc.abstractmethod
    def _select_key(self, subject: Any) -> tuple[bool, bytes | None]:
        """Whether the person has a row, and its stored key (None in a tombstone)."""

    def _select_keys(self, subjects: list[UUID]) -> dict[str, bytes | None]:
        """The stored keys (None in a tombstone) of those of ``subjects`` that have a row.

        By the id's text. Stores override it with one query; this default asks one by one.
        """
        found: dict[str, bytes | None] = {}
        for subject in subjects:
            exists, stored = self._select_key(subject)
            if exists:
                found[str(subject)] = stored
        return found

    @abc.abstractmethod
    def _insert_key(self, subject: Any, stored: bytes) -> None:
        """Store a key unless the person has a row already."""

    @abc.abstractmethod
    def _shred(self, subject: Any) -> bool:
        """Erase the key (leave a tombstone); True when there was one or no row at all."""


class MemoryPersonalKeys(PersonalKeys):
    """Keys kept in this process only: for the memory store and tests."""

    def __init__(self, kek: str | None = None) -> None:
        super().__init__(kek)
        self._keys: dict[Any, bytes | None] = {}

    def _select_key(self, subject: Any) -> tuple[bool, bytes | None]:
        with self._lock:
            return subject in self._keys, self._keys.get(subject)

    def _insert_key(self, subject: Any, stored: bytes) -> None:
        with self._lock:
            self._keys.setdefault(subject, stored)

    def _shred(self, subject: Any) -> bool:
        with self._lock:
            was_forgotten = subject in self._keys and self._keys[subject] is None
            self._keys[subject] = None
            return not was_forgotten


def personal_key_store_for(settings: Mapping[str, Any], recorder: object) -> PersonalKeyStore:
    """Open the key store that lives with the events (``PERSONAL_KEY_STORE_TOPIC``).

    Args:
        settings: The application's settings; ``ROTATION_KEY_ENCRYPTION_KEY`` is read.
        recorder: The application's recorder: its SQLite or PostgreSQL datastore keeps
            the keys' tables; any other recorder gets keys in memory.

    Returns:
        The open key store.
    """
    from eventsourcing.sqlite import SQLiteDatastore

    kek = settings.get(KEK_SETTING) or None
    datastore = getattr(recorder, "datastore", None)
    if isinstance(datastore, SQLiteDatastore):
        from adapters.personal_keys_sqlite import SQLitePersonalKeys

        return SQLitePersonalKeys(datastore, kek)
    if type(datastore).__module__ == "eventsourcing.postgres":  # psycopg is optional
        from adapters.personal_keys_postgres import PostgresPersonalKeys

        return PostgresPersonalKeys(cast("Any", datastore), kek)
    return MemoryPersonalKeys(kek)
