"""Endpoints read from the program's settings (``ROTATION_*`` variables, the config file).

``ROTATION_WEBHOOKS`` lists the endpoints by name; each endpoint ``<name>`` then reads
``ROTATION_WEBHOOK_<NAME>_URL``, ``_SECRET``, ``_EVENTS``, ``_TIMEOUT_SECONDS`` and
``_MAX_ATTEMPTS``, where ``<NAME>`` is the name in upper case with ``-`` written ``_``.
Errors name the setting at fault, never a secret's value.
"""

from __future__ import annotations

import base64
import binascii
import logging
import math
import re
from collections.abc import Mapping
from urllib.parse import urlsplit, urlunsplit

import attrs
import rotation_domain
from rotation_domain.errors import InvalidInput

__all__ = [
    "DEFAULT_MAX_ATTEMPTS",
    "DEFAULT_SOURCE",
    "DEFAULT_TIMEOUT_SECONDS",
    "ENDPOINTS",
    "SOURCE",
    "Endpoint",
    "WebhookSettingError",
    "endpoints_from_settings",
    "event_topics",
    "redact_url",
    "signing_key",
]

logger = logging.getLogger("rotation_webhooks")

ENDPOINTS = "ROTATION_WEBHOOKS"
"""The setting that lists the endpoints' names, comma-separated."""

SOURCE = "ROTATION_WEBHOOKS_SOURCE"
"""The setting that gives every message's CloudEvents ``source``."""

DEFAULT_SOURCE = "urn:rotation-domain"
DEFAULT_TIMEOUT_SECONDS = 10.0
DEFAULT_MAX_ATTEMPTS = 10
MIN_KEY_BYTES = 16
"""The shortest signing key accepted, in bytes."""

_PREFIX = "ROTATION_WEBHOOK_"
_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,49}")
_FIELDS = ("URL", "SECRET", "EVENTS", "TIMEOUT_SECONDS", "MAX_ATTEMPTS")
_PROJECT = "rotation_domain"


class WebhookSettingError(InvalidInput):
    """A webhook setting is missing or malformed; the message names it, never a secret."""


def redact_url(url: str) -> str:
    """The URL as it may be shown: credentials and query replaced by ``***``.

    ``https://user:pw@hooks.example.com/in?token=x`` becomes
    ``https://***@hooks.example.com/in?***``.
    """
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return "<malformed URL>"
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{host}:{port}" if port is not None else host
    if parts.username is not None or parts.password is not None:
        netloc = f"***@{netloc}"
    query = "***" if parts.query else ""
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


def signing_key(secret: str) -> bytes:
    """The HMAC key a secret stands for.

    A secret written ``whsec_<base64>`` (the Standard Webhooks form) stands for the bytes
    its base64 part decodes to; any other secret for its UTF-8 bytes.

    Raises:
        WebhookSettingError: a ``whsec_`` secret whose rest is not base64.
    """
    if secret.startswith("whsec_"):
        try:
            return base64.b64decode(secret.removeprefix("whsec_"), validate=True)
        except binascii.Error:
            raise WebhookSettingError(
                "a webhook secret starting with whsec_ must continue with base64"
            ) from None
    return secret.encode("utf-8")


def _redacted(url: str) -> str:
    return repr(redact_url(url))


@attrs.frozen
class Endpoint:
    """One configured receiver of webhooks.

    Attributes:
        name: The endpoint's name, as listed in ``ROTATION_WEBHOOKS`` (lower case).
        url: Where messages are POSTed (shown redacted in reprs).
        secret: The signing secret (never shown).
        topics: The topics sent (every event when empty).
        timeout_seconds: How long to wait to connect, and for each read or write.
        max_attempts: Deliveries tried before an event is parked.
    """

    name: str
    url: str = attrs.field(repr=_redacted)
    secret: str = attrs.field(repr=False)
    topics: frozenset[str] = frozenset()
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS
    max_attempts: int = DEFAULT_MAX_ATTEMPTS


def event_topics() -> dict[str, str]:
    """Every event of the library: its topic by its name (``RotationPlanned``).

    Found on the aggregates `rotation_domain` exports: each event class nested in one
    declares its own ``TOPIC``.
    """
    found: dict[str, str] = {}
    for exported in rotation_domain.__all__:
        aggregate = getattr(rotation_domain, exported)
        if not isinstance(aggregate, type):
            continue
        for nested in vars(aggregate).values():
            topic = vars(nested).get("TOPIC") if isinstance(nested, type) else None
            if isinstance(topic, str):
                found[topic.rsplit(":", 1)[-1]] = topic
    return found


def _setting(endpoint: str, field: str) -> str:
    return f"{_PREFIX}{endpoint.upper().replace('-', '_')}_{field}"


def _topics(name: str, text: str) -> frozenset[str]:
    known = event_topics()
    wanted: set[str] = set()
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        event = part.removeprefix(f"{_PROJECT}:")
        if event not in known:
            raise WebhookSettingError(
                f"{_setting(name, 'EVENTS')} names {part!r}, which is not an event; "
                f"the events are listed in docs/events.md",
                setting=_setting(name, "EVENTS"),
            )
        wanted.add(known[event])
    return frozenset(wanted)


def _positive(name: str, field: str, text: str, default: float, *, whole: bool) -> float:
    setting = _setting(name, field)
    if not text.strip():
        return default
    try:
        value = int(text) if whole else float(text)
    except ValueError:
        kind = "a whole number" if whole else "a number of seconds"
        raise WebhookSettingError(
            f"{setting} must be {kind}, got {text!r}", setting=setting
        ) from None
    if not math.isfinite(value) or value <= 0:
        raise WebhookSettingError(f"{setting} must be above 0, got {text!r}", setting=setting)
    return value


def _url(name: str, text: str) -> str:
    setting = _setting(name, "URL")
    url = text.strip()
    if not url:
        raise WebhookSettingError(f"{setting} is missing: where to POST", setting=setting)
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        raise WebhookSettingError(
            f"{setting} is not a URL: {redact_url(url)}", setting=setting
        ) from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise WebhookSettingError(
            f"{setting} must be an http:// or https:// URL with a host, got {redact_url(url)}",
            setting=setting,
        )
    return url


def _secret(name: str, text: str) -> str:
    setting = _setting(name, "SECRET")
    if not text:
        raise WebhookSettingError(f"{setting} is missing: every webhook is signed", setting=setting)
    try:
        key = signing_key(text)
    except WebhookSettingError:
        raise WebhookSettingError(
            f"{setting} starts with whsec_ but the rest is not base64", setting=setting
        ) from None
    if len(key) < MIN_KEY_BYTES:
        raise WebhookSettingError(
            f"{setting} is too short: use at least {MIN_KEY_BYTES} bytes of key",
            setting=setting,
        )
    return text


def endpoints_from_settings(settings: Mapping[str, str]) -> list[Endpoint]:
    """The endpoints configured in ``settings`` (none without ``ROTATION_WEBHOOKS``).

    Raises:
        WebhookSettingError: a name is malformed or listed twice, or one of an
            endpoint's settings is missing or malformed.
    """
    names: list[str] = []
    for part in (p.strip().lower() for p in settings.get(ENDPOINTS, "").split(",")):
        if not part:
            continue
        if not _NAME.fullmatch(part):
            raise WebhookSettingError(
                f"{ENDPOINTS} names {part!r}: an endpoint's name is letters, digits, "
                "'-' and '_', starting with a letter or digit, at most 50 characters",
                setting=ENDPOINTS,
            )
        if any(_setting(seen, "URL") == _setting(part, "URL") for seen in names):
            raise WebhookSettingError(
                f"{ENDPOINTS} names {part!r} twice (or as another name with - for _)",
                setting=ENDPOINTS,
            )
        names.append(part)
    _warn_about_unlisted(settings, names)
    endpoints = []
    for name in names:
        endpoints.append(
            Endpoint(
                name=name,
                url=_url(name, settings.get(_setting(name, "URL"), "")),
                secret=_secret(name, settings.get(_setting(name, "SECRET"), "")),
                topics=_topics(name, settings.get(_setting(name, "EVENTS"), "")),
                timeout_seconds=_positive(
                    name,
                    "TIMEOUT_SECONDS",
                    settings.get(_setting(name, "TIMEOUT_SECONDS"), ""),
                    DEFAULT_TIMEOUT_SECONDS,
                    whole=False,
                ),
                max_attempts=int(
                    _positive(
                        name,
                        "MAX_ATTEMPTS",
                        settings.get(_setting(name, "MAX_ATTEMPTS"), ""),
                        DEFAULT_MAX_ATTEMPTS,
                        whole=True,
                    )
                ),
            )
        )
    return endpoints


def _warn_about_unlisted(settings: Mapping[str, str], names: list[str]) -> None:
    listed = {_setting(name, field) for name in names for field in _FIELDS}
    for setting in sorted(settings):
        if (
            setting.startswith(_PREFIX)
            and setting.endswith(tuple(f"_{field}" for field in _FIELDS))
            and setting not in listed
        ):
            logger.warning(
                "%s is set but its endpoint is not listed in %s; it is ignored",
                setting,
                ENDPOINTS,
            )
