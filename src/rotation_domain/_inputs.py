"""Checks of command arguments, done before anything is loaded (`InvalidInput` comes first)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

from rotation_domain.errors import InvalidInput
from rotation_domain.values import DateRange, SessionKind

__all__ = ["a_date", "a_kind", "a_period", "an_email", "an_id", "optional_text", "text"]

_MAX_TEXT = 20_000


def text(name: str, value: Any, *, max_length: int = _MAX_TEXT) -> str:
    """A non-empty text, stripped of surrounding blanks."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"{name} must be a non-empty text, got {value!r}", field=name)
    if len(value) > max_length:
        raise InvalidInput(
            f"{name} is {len(value)} characters long; at most {max_length} are kept",
            field=name,
        )
    if "\x00" in value:
        raise InvalidInput(f"{name} must not contain NUL characters", field=name)
    return value.strip()


def an_email(value: str) -> str:
    """An e-mail address: something@somewhere, without blanks."""
    local, at, domain = value.rpartition("@")
    if not at or not local or not domain or any(c.isspace() for c in value):
        raise InvalidInput(f"{value!r} is not an e-mail address", field="email")
    return value


def optional_text(name: str, value: Any) -> str | None:
    """A text or None; an empty text counts as None."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return text(name, value)


def a_date(name: str, value: Any) -> date:
    """A calendar date (not a datetime); ISO strings are accepted."""
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value)
        except ValueError:
            raise InvalidInput(
                f"{name} must be a date in the form YYYY-MM-DD, got {value!r}", field=name
            ) from None
    if not isinstance(value, date) or isinstance(value, datetime):
        raise InvalidInput(f"{name} must be a date, got {value!r}", field=name)
    return value


def a_period(start: Any, end: Any) -> DateRange:
    """The window from ``start`` to ``end``, both included; the end may not precede the start."""
    return DateRange(a_date("start", start), a_date("end", end))


def an_id(name: str, value: Any) -> UUID:
    """An aggregate id, given as a UUID or its text."""
    if isinstance(value, UUID):
        return value
    if isinstance(value, str):
        try:
            return UUID(value)
        except ValueError:
            pass
    raise InvalidInput(f"{name} must be an id such as those commands return, got {value!r}")


def a_kind(value: Any) -> SessionKind:
    """A session kind: discussion, reading or hands-on."""
    try:
        return SessionKind(value)
    except ValueError:
        kinds = ", ".join(k.value for k in SessionKind)
        raise InvalidInput(f"kind must be one of {kinds}, got {value!r}", field="kind") from None
