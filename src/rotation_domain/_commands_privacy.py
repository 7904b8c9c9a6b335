"""Privacy commands: forgetting a person's personal data (crypto-shredding)."""

from __future__ import annotations

import contextlib
from typing import Any

from rotation_domain._commands_improvement import ImprovementCommands
from rotation_domain._inputs import text
from rotation_domain._service import UnitOfWork
from rotation_domain.personal_data import (
    AlreadyForgotten,
    KeyStoreMissing,
    PersonalKeyStore,
    subject_id,
)

__all__ = ["PrivacyCommands"]


class PrivacyCommands(ImprovementCommands):
    """An administrator forgets a person: their data key is destroyed."""

    def forget_employee(self, code: str, *, reason: str, actor: str | None = None) -> None:
        """Forget a person's personal data: record `EmployeeForgotten`, destroy their key.

        Afterwards their name, e-mail address and free-text notes read as
        ``[forgotten]`` in `get`, `history`, timelines, exports and the views, in this
        process and in any other that reads the log; every count stays the same and the
        audit chain still verifies. The authorization action is ``forget_employee``
        (administrators only under the default ``roles`` policy). docs/privacy.md says
        what forgetting covers and what it does not.

        Args:
            code: The employee's code.
            reason: Why (an erasure request's reference, say). It is stored in clear:
                put no personal data in it.
            actor: Who does it; the ``acting_as`` actor without it.

        Raises:
            UnknownEmployee: No employee has that code.
            NotAuthorized: The authorization policy refused it.
            AlreadyForgotten: The person was forgotten before. Their key is destroyed
                all the same if it is still there (a forgetting interrupted between its
                two steps is completed), so calling again is always safe.
            KeyStoreMissing: The store keeps no personal data keys.
        """
        code = text("code", code, max_length=64)
        why = text("reason", reason)
        keys = self._personal_keys()
        subject = subject_id(code)

        def command(unit: UnitOfWork) -> None:
            employee = unit.employee(code)
            self._check(unit, "forget_employee", employee=code)
            employee.forget(why, actor=unit.actor)

        try:
            self._run(actor, command)
        except AlreadyForgotten:
            keys.destroy(subject)
            raise
        keys.destroy(subject)
        self._drop_cached_aggregates()

    def _personal_keys(self) -> PersonalKeyStore:
        keys: Any = getattr(self._app, "personal_keys", None)
        if not isinstance(keys, PersonalKeyStore):
            raise KeyStoreMissing(
                "this store keeps no personal data keys (the PERSONAL_KEY_STORE_TOPIC "
                "setting is off), so its personal data cannot be forgotten"
            )
        return keys

    def _drop_cached_aggregates(self) -> None:
        """Empty the aggregate cache: the next reads decode the events again, forgotten."""
        cache: Any = self._app.repository.cache
        if cache is None:
            return
        with self._commands:
            # eventsourcing's LRUCache.clear() leaves its dict: evict entries one by one.
            for aggregate_id in list(getattr(cache, "cache", {})):
                with contextlib.suppress(KeyError):
                    cache.get(aggregate_id, evict=True)
