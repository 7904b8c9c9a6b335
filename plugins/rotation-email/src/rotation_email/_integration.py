"""The ``email`` integration: the program's messages, sent over SMTP, each exactly once."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from uuid import UUID

import attrs
from rotation_domain.consumers import Envelope, StateReader

from rotation_email._compose import MAIL_TOPICS, Composer, Outgoing
from rotation_email._ledger import SentLedger
from rotation_email._settings import EmailSettings
from rotation_email._templates import Templates
from rotation_email._transport import EmailDeliveryError, SmtpTransport
from rotation_email._world import World

__all__ = ["EmailIntegration", "ReminderRun"]

logger = logging.getLogger("rotation_email")


@attrs.frozen
class ReminderRun:
    """What one run of the reminders did.

    Attributes:
        sent: The Message-IDs of the reminders sent now.
        already_sent: How many due reminders had been sent by an earlier run.
        failed: ``(rotation id, error)`` of the reminders that could not be sent; the
            next run tries them again.
    """

    sent: tuple[str, ...] = ()
    already_sent: int = 0
    failed: tuple[tuple[UUID, str], ...] = ()


class EmailIntegration:
    """Sends the messages the program's events call for.

    Each message's Message-ID is derived from the delivery's idempotency key, and a
    ledger in the store's database remembers the ones the server accepted, so a
    retried or repeated delivery sends only what did not go out.
    """

    name = "email"
    topics = MAIL_TOPICS

    def __init__(
        self,
        settings: EmailSettings,
        ledger: SentLedger,
        *,
        templates: Templates | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.settings = settings
        self.max_attempts = settings.max_attempts
        self.ledger = ledger
        self.transport = SmtpTransport(settings)
        self.composer = Composer(settings, templates or Templates(settings.templates))
        self.now = now
        self._state: StateReader | None = None
        self._world: World | None = None  # kept between deliveries, which go in log order

    def __repr__(self) -> str:
        return f"EmailIntegration({self.transport!r}, from={self.settings.sender!r})"

    def bind(self, state: StateReader) -> None:
        """Receive read access to the recorded events (called once, when the program opens)."""
        self._state = state

    @property
    def state(self) -> StateReader:
        """The program's recorded state."""
        if self._state is None:
            raise RuntimeError("the email integration was not bound to a program")
        return self._state

    def deliver(self, envelope: Envelope, idempotency_key: str) -> None:
        """Send the messages of one event; raise `EmailDeliveryError` to be retried."""
        world = self._world_at(envelope.position)
        outgoing = self.composer.for_event(envelope, idempotency_key, world)
        self.send(outgoing)

    def _world_at(self, position: int) -> World:
        """What the program knew at ``position``.

        The kept world brought forward; for an event before it (a parked one retried)
        a new one.
        """
        if self._world is None or self._world.position > position:
            self._world = World()
        return self._world.advanced(self.state, position)

    def send(self, outgoing: list[Outgoing]) -> list[str]:
        """Send what the ledger has not seen; return the Message-IDs sent now.

        Raises:
            EmailDeliveryError: the server could not be reached or refused a message
                (those sent before it stay recorded and are not sent again).
        """
        pending = [each for each in outgoing if not self.ledger.was_sent(each.message_id)]
        if not pending:
            return []
        sent = []
        with self.transport.connect() as connection:
            for each in pending:
                connection.send(each.message)
                self.ledger.record(each.message_id, each.kind, self.now())
                sent.append(each.message_id)
                logger.info("sent %s %s", each.kind, each.message_id)
        return sent

    def send_due_reminders(self, today: date) -> ReminderRun:
        """Remind the participants of the planned rotations starting within the window.

        A rotation is due when it is still planned and starts between ``today`` and
        ``today`` + ``reminder_days`` (both included). Each reminder is sent once per
        rotation and start date, across restarts: a rescheduled rotation is reminded
        of its new start. A reminder that fails is tried again at the next run.
        """
        world = World.at(self.state, None)
        horizon = today + timedelta(days=self.settings.reminder_days)
        due = sorted(
            (facts.start, str(rotation_id), rotation_id)
            for rotation_id, facts in world.rotations.items()
            if facts.status == "planned" and today <= facts.start <= horizon
        )
        sent: list[str] = []
        already = 0
        failed: list[tuple[UUID, str]] = []
        for _, _, rotation_id in due:
            outgoing = self.composer.reminder(rotation_id, world, today, self.now())
            if outgoing is None:
                continue
            if self.ledger.was_sent(outgoing.message_id):
                already += 1
                continue
            try:
                sent.extend(self.send([outgoing]))
            except EmailDeliveryError as error:
                logger.warning("reminder of rotation %s not sent: %s", rotation_id, error)
                failed.append((rotation_id, str(error)))
        return ReminderRun(tuple(sent), already, tuple(failed))
