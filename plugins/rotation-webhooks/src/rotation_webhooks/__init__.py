"""Outbound webhooks for rotation-domain: each event as a signed CloudEvents 1.0 message.

Installed, the plugin loads in every program through its entry point (group
``rotation_domain``, name ``webhooks``). It does nothing until endpoints are configured:
``ROTATION_WEBHOOKS`` lists their names, and each endpoint ``<name>`` reads
``ROTATION_WEBHOOK_<NAME>_URL``, ``_SECRET``, ``_EVENTS``, ``_TIMEOUT_SECONDS`` and
``_MAX_ATTEMPTS``, from the environment or the ``[settings]`` table of the file named by
``ROTATION_CONFIG``. Each endpoint is an integration named ``webhook-<name>``: delivered
at least once, in order, retried with backoff and parked after its last attempt.

Receivers check a message with `verify_signature`. The full description is in
docs/integrations.md ("Outbound webhooks").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from importlib.metadata import PackageNotFoundError, version

from rotation_domain.consumers import Integration
from rotation_domain.hookspecs import hookimpl

from rotation_webhooks._delivery import WebhookDeliveryFailed, WebhookIntegration
from rotation_webhooks._message import CONTENT_TYPE, cloud_event, event_data, message_body
from rotation_webhooks._settings import (
    DEFAULT_SOURCE,
    ENDPOINTS,
    SOURCE,
    Endpoint,
    WebhookSettingError,
    endpoints_from_settings,
    event_topics,
    redact_url,
)
from rotation_webhooks._signing import (
    ID_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    InvalidSignature,
    sign,
    verify_signature,
)

__all__ = [
    "CONTENT_TYPE",
    "DEFAULT_SOURCE",
    "ENDPOINTS",
    "ID_HEADER",
    "SIGNATURE_HEADER",
    "SOURCE",
    "TIMESTAMP_HEADER",
    "Endpoint",
    "InvalidSignature",
    "WebhookDeliveryFailed",
    "WebhookIntegration",
    "WebhookSettingError",
    "__version__",
    "cloud_event",
    "endpoints_from_settings",
    "event_data",
    "event_topics",
    "message_body",
    "redact_url",
    "rotation_integrations",
    "sign",
    "verify_signature",
]

try:
    __version__ = version("rotation-webhooks")
except PackageNotFoundError:  # pragma: no cover - run from a source tree without installing
    __version__ = "0.0.0"


@hookimpl
def rotation_integrations(settings: Mapping[str, str]) -> Sequence[Integration]:
    """Provide one `WebhookIntegration` per endpoint listed in ``ROTATION_WEBHOOKS``.

    Args:
        settings: The program's settings.

    Raises:
        WebhookSettingError: a setting is missing or malformed; the plugin is then
            listed as failed, with the message, and the program opens without it.
    """
    source = settings.get(SOURCE, "").strip() or DEFAULT_SOURCE
    return [
        WebhookIntegration(endpoint, source=source)
        for endpoint in endpoints_from_settings(settings)
    ]
