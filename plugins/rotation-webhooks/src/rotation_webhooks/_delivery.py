"""The integration that POSTs each event to one endpoint."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from importlib.metadata import PackageNotFoundError, version
from urllib.parse import unquote, urlsplit

import httpx
from rotation_domain.consumers import Envelope

from rotation_webhooks._message import CONTENT_TYPE, message_body
from rotation_webhooks._settings import DEFAULT_SOURCE, Endpoint, redact_url
from rotation_webhooks._signing import signature_headers

__all__ = ["WebhookDeliveryFailed", "WebhookIntegration"]

try:
    _USER_AGENT = f"rotation-webhooks/{version('rotation-webhooks')}"
except PackageNotFoundError:  # pragma: no cover - run from a source tree without installing
    _USER_AGENT = "rotation-webhooks"


class _RedactEndpointUrls(logging.Filter):
    """Shows the endpoints' URLs redacted in httpx's own log lines.

    httpx logs every request at INFO as ``HTTP Request: POST <url> "<status>"``, with
    the URL's credentials and query; this filter, on the ``httpx`` logger, replaces the
    URLs of configured endpoints (and those only) by their redacted form.
    """

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._shown: dict[str, str] = {}

    def add(self, url: str) -> None:
        with self._lock:
            self._shown[str(httpx.URL(url))] = redact_url(url)

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and any(
            isinstance(arg, httpx.URL) for arg in record.args
        ):
            record.args = tuple(
                self._shown.get(str(arg), arg) if isinstance(arg, httpx.URL) else arg
                for arg in record.args
            )
        return True


_REDACT = _RedactEndpointUrls()


class WebhookDeliveryFailed(RuntimeError):
    """An endpoint could not be reached or did not answer 2xx; the event is tried again.

    The message names the endpoint and its redacted URL, never its secret or the
    credentials or query of its URL.

    Attributes:
        endpoint: The endpoint's name.
        status: The HTTP status answered, if the endpoint answered.
    """

    def __init__(self, message: str, *, endpoint: str, status: int | None = None) -> None:
        super().__init__(message)
        self.endpoint = endpoint
        self.status = status


class WebhookIntegration:
    """Delivers events to one endpoint as signed CloudEvents; an `Integration`.

    Its name is ``webhook-<endpoint name>``: it has its own position in the log and its
    own list of failing and parked events. Each attempt opens a connection of its own,
    waits at most the endpoint's timeout to connect and for each read and write, and does
    not follow redirects. Any answer other than 2xx, or none, raises
    `WebhookDeliveryFailed`, so the runner retries the event with backoff and parks it
    after ``max_attempts``.

    Args:
        endpoint: Where and how to deliver.
        source: The CloudEvents ``source`` of every message.
        clock: The Unix time of the ``webhook-timestamp`` header.
    """

    def __init__(
        self,
        endpoint: Endpoint,
        *,
        source: str = DEFAULT_SOURCE,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.endpoint = endpoint
        self.name = f"webhook-{endpoint.name}"
        self.topics = endpoint.topics
        self.max_attempts = endpoint.max_attempts
        self.source = source
        self._clock = clock
        _REDACT.add(endpoint.url)
        logging.getLogger("httpx").addFilter(_REDACT)  # once: a logger keeps a filter once

    def __repr__(self) -> str:
        return f"WebhookIntegration({self.endpoint!r}, source={self.source!r})"

    def deliver(self, envelope: Envelope, idempotency_key: str) -> None:
        """POST the event as a CloudEvent whose ``id`` is ``idempotency_key``.

        Raises:
            WebhookDeliveryFailed: no 2xx answer within the timeout.
        """
        body = message_body(envelope, idempotency_key, self.source)
        headers = {
            "content-type": CONTENT_TYPE,
            "user-agent": _USER_AGENT,
            **signature_headers(self.endpoint.secret, idempotency_key, int(self._clock()), body),
        }
        target = f"POST {redact_url(self.endpoint.url)}"
        timeout = self.endpoint.timeout_seconds
        try:
            with (
                httpx.Client(timeout=timeout, follow_redirects=False) as client,
                client.stream("POST", self.endpoint.url, content=body, headers=headers) as answer,
            ):
                status, reason = answer.status_code, answer.reason_phrase
        except httpx.TimeoutException as error:
            raise self._failed(
                f"{target}: no answer within {timeout:g} s ({type(error).__name__})"
            ) from None
        except httpx.HTTPError as error:
            raise self._failed(f"{target}: {type(error).__name__}: {error}") from None
        if not 200 <= status < 300:
            raise self._failed(f"{target} answered {status} {reason}".rstrip(), status)

    def _failed(self, message: str, status: int | None = None) -> WebhookDeliveryFailed:
        return WebhookDeliveryFailed(
            f"webhook {self.endpoint.name}: {self._scrub(message)}",
            endpoint=self.endpoint.name,
            status=status,
        )

    def _scrub(self, text: str) -> str:
        """Remove the secret, and the URL's credentials and query, from a message."""
        url = self.endpoint.url
        text = text.replace(url, redact_url(url))
        parts = urlsplit(url)
        hidden = [self.endpoint.secret, parts.query, parts.password or "", parts.username or ""]
        for value in sorted({v for v in hidden if v}, key=len, reverse=True):
            for form in {value, unquote(value)}:
                text = text.replace(form, "***")
        return text
