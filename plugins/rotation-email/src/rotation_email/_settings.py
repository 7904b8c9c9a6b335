"""The e-mail plugin's settings, read from the mapping the plugin hooks receive."""

from __future__ import annotations

from collections.abc import Mapping
from email.headerregistry import Address
from email.utils import parseaddr
from pathlib import Path

import attrs

__all__ = ["EmailSettings", "Secret", "SettingsError"]

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off", ""})


class SettingsError(ValueError):
    """A setting of the e-mail plugin is missing or malformed (never quotes the password)."""


@attrs.frozen(repr=False)
class Secret:
    """A text that never shows itself: its repr and str are ``'***'``."""

    value: str = attrs.field(repr=False)

    def reveal(self) -> str:
        """The secret text, for the one place that needs it (the SMTP login)."""
        return self.value

    def __repr__(self) -> str:
        return "Secret('***')"

    def __str__(self) -> str:
        return "***"

    def __bool__(self) -> bool:
        return bool(self.value)


@attrs.frozen
class EmailSettings:
    """Where and how to send mail.

    Attributes:
        host: The SMTP server (``ROTATION_SMTP_HOST``).
        port: Its port (``ROTATION_SMTP_PORT``, 25 by default).
        user: The login name, if the server wants a login (``ROTATION_SMTP_USER``).
        password: The login password (``ROTATION_SMTP_PASSWORD``), never shown.
        starttls: Whether to upgrade the connection with STARTTLS (``ROTATION_SMTP_STARTTLS``).
        sender: The From address (``ROTATION_SMTP_FROM``), such as
            ``Rotation Program <rotation@example.com>``.
        timeout_seconds: How long one network operation may take
            (``ROTATION_SMTP_TIMEOUT_SECONDS``, 10 by default).
        templates: A directory of templates that override the shipped ones
            (``ROTATION_SMTP_TEMPLATES``).
        reminder_days: How many days before its start a rotation's reminder is due
            (``ROTATION_EMAIL_REMINDER_DAYS``, 7 by default).
        max_attempts: Deliveries tried before an event is parked
            (``ROTATION_EMAIL_MAX_ATTEMPTS``, 5 by default).
        reminder_interval_seconds: How often ``rotation worker`` runs the reminders
            (``ROTATION_EMAIL_REMINDER_INTERVAL_SECONDS``, 3600 by default).
    """

    host: str
    sender: str
    port: int = 25
    user: str | None = None
    password: Secret = attrs.field(default=Secret(""))
    starttls: bool = False
    timeout_seconds: float = 10.0
    templates: Path | None = None
    reminder_days: int = 7
    max_attempts: int = 5
    reminder_interval_seconds: float = 3600.0

    @property
    def sender_address(self) -> str:
        """The bare address of the sender (``rotation@example.com``)."""
        return parseaddr(self.sender)[1]

    @property
    def domain(self) -> str:
        """The sender's domain: the right-hand side of every Message-ID and UID."""
        return self.sender_address.rpartition("@")[2]

    @classmethod
    def from_settings(cls, settings: Mapping[str, str]) -> EmailSettings | None:
        """The settings, or None when ``ROTATION_SMTP_HOST`` is not set (mail is off).

        Raises:
            SettingsError: a setting is missing or malformed.
        """
        host = settings.get("ROTATION_SMTP_HOST", "").strip()
        if not host:
            return None
        sender = settings.get("ROTATION_SMTP_FROM", "").strip()
        address = parseaddr(sender)[1]
        if not address or "@" not in address:
            raise SettingsError(
                "ROTATION_SMTP_FROM must be an address such as "
                f"'Rotation Program <rotation@example.com>', got {sender!r}"
            )
        try:
            Address(addr_spec=address)
        except (ValueError, IndexError) as error:
            raise SettingsError(
                f"ROTATION_SMTP_FROM is not a valid address ({error}): {sender!r}"
            ) from None
        templates = settings.get("ROTATION_SMTP_TEMPLATES", "").strip()
        if templates and not Path(templates).is_dir():
            raise SettingsError(
                f"ROTATION_SMTP_TEMPLATES names {templates!r}, which is not a directory"
            )
        user = settings.get("ROTATION_SMTP_USER", "").strip() or None
        return cls(
            host=host,
            sender=sender,
            port=_integer(settings, "ROTATION_SMTP_PORT", 25, lowest=1, highest=65535),
            user=user,
            password=Secret(settings.get("ROTATION_SMTP_PASSWORD", "")),
            starttls=_boolean(settings, "ROTATION_SMTP_STARTTLS"),
            timeout_seconds=_seconds(settings, "ROTATION_SMTP_TIMEOUT_SECONDS", 10.0),
            templates=Path(templates) if templates else None,
            reminder_days=_integer(settings, "ROTATION_EMAIL_REMINDER_DAYS", 7, lowest=0),
            max_attempts=_integer(settings, "ROTATION_EMAIL_MAX_ATTEMPTS", 5, lowest=1),
            reminder_interval_seconds=_seconds(
                settings, "ROTATION_EMAIL_REMINDER_INTERVAL_SECONDS", 3600.0
            ),
        )


def _integer(
    settings: Mapping[str, str],
    name: str,
    default: int,
    *,
    lowest: int,
    highest: int | None = None,
) -> int:
    raw = settings.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number, got {raw!r}") from None
    if value < lowest or (highest is not None and value > highest):
        bounds = f"from {lowest} to {highest}" if highest is not None else f"at least {lowest}"
        raise SettingsError(f"{name} must be {bounds}, got {value}")
    return value


def _seconds(settings: Mapping[str, str], name: str, default: float) -> float:
    raw = settings.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a number of seconds, got {raw!r}") from None
    if not value > 0:
        raise SettingsError(f"{name} must be more than 0, got {raw!r}")
    return value


def _boolean(settings: Mapping[str, str], name: str) -> bool:
    raw = settings.get(name, "").strip().lower()
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise SettingsError(f"{name} must be true or false, got {raw!r}")
