"""rotation-email: the IT rotation program's e-mail, sent over SMTP.

Installed, it adds one integration, ``email``, to every program whose settings name an
SMTP server (``ROTATION_SMTP_HOST``); without one it adds nothing. The integration
sends the messages the program's events call for (a mentor asked to agree, the
participant told the mentor agreed, the mentor's briefing invitation, thanks for an
adopted improvement, the review cycle's call to plan, calendar invitations for rotation
windows and mentor sessions). The reminders before a rotation starts depend on the
date, not on an event: run `send_due_reminders` once a day (``python -m rotation_email
reminders``), or let ``rotation worker`` run them: the plugin gives it a periodic task,
``email-reminders``, every ``ROTATION_EMAIL_REMINDER_INTERVAL_SECONDS`` (an hour).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from rotation_domain.consumers import Integration
from rotation_domain.hookspecs import hookimpl

from rotation_email._compose import MAIL_TOPICS, message_id_for
from rotation_email._integration import EmailIntegration, ReminderRun
from rotation_email._ledger import ledger_for
from rotation_email._settings import EmailSettings, Secret, SettingsError
from rotation_email._templates import KINDS, Templates
from rotation_email._transport import EmailDeliveryError

try:
    __version__ = version("rotation-email")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"

__all__ = [
    "KINDS",
    "MAIL_TOPICS",
    "EmailDeliveryError",
    "EmailIntegration",
    "EmailSettings",
    "ReminderRun",
    "RemindersTask",
    "Secret",
    "SettingsError",
    "Templates",
    "__version__",
    "email_integration",
    "message_id_for",
    "rotation_integrations",
    "rotation_periodic_tasks",
    "send_due_reminders",
]

logger = logging.getLogger("rotation_email")


@hookimpl
def rotation_integrations(settings: Mapping[str, str]) -> Sequence[Integration] | None:
    """Provide the ``email`` integration when ``ROTATION_SMTP_HOST`` is set.

    Raises:
        SettingsError: a setting or a company template is malformed (the plugin is then
            listed as failed, with this error, and the program opens without it).
    """
    configured = EmailSettings.from_settings(settings)
    if configured is None:
        logger.info("ROTATION_SMTP_HOST is not set: no e-mail is sent")
        return None
    templates = Templates(configured.templates)
    return [EmailIntegration(configured, ledger_for(settings), templates=templates)]


def email_integration(program: Any) -> EmailIntegration:
    """The ``email`` integration of an open program.

    Raises:
        LookupError: the program has no active ``email`` integration (the plugin is not
            installed, is blocked, failed, or ``ROTATION_SMTP_HOST`` is not set).
    """
    runner = program.consumers.integrations.get(EmailIntegration.name)
    found = getattr(runner, "integration", None)
    if not isinstance(found, EmailIntegration):
        raise LookupError(
            "this program has no active email integration: install rotation-email, set "
            "ROTATION_SMTP_HOST and ROTATION_SMTP_FROM, and check `rotation plugins`"
        )
    return found


def send_due_reminders(program: Any, today: date | None = None) -> ReminderRun:
    """Send the reminders due ``today`` (the date by default): run it once a day.

    Args:
        program: An open `rotation_domain.RotationProgram` with the ``email`` integration.
        today: The day to remind from.

    Raises:
        LookupError: the program has no active ``email`` integration.
    """
    return email_integration(program).send_due_reminders(today or date.today())


class RemindersTask:
    """The periodic task that sends the reminders due (run by ``rotation worker``).

    Sending them again is harmless: each reminder goes once per rotation and start date.
    """

    name = "email-reminders"

    def __init__(self, interval_seconds: float) -> None:
        self.interval_seconds = interval_seconds

    def run(self, program: Any, now: datetime) -> ReminderRun:
        """Send the reminders due on ``now``'s day.

        Raises:
            EmailDeliveryError: some reminders could not be sent (the others were; the
                next run tries the failed ones again).
        """
        run = send_due_reminders(program, now.date())
        if run.failed:
            raise EmailDeliveryError(
                f"{len(run.failed)} reminder(s) not sent, {len(run.sent)} sent; "
                f"first failure: {run.failed[0][1]}"
            )
        return run


@hookimpl
def rotation_periodic_tasks(settings: Mapping[str, str]) -> Sequence[RemindersTask] | None:
    """Provide the reminders task when ``ROTATION_SMTP_HOST`` is set."""
    configured = EmailSettings.from_settings(settings)
    if configured is None:
        return None
    return [RemindersTask(configured.reminder_interval_seconds)]
