"""Signing webhooks, and verifying them on the receiving side (the Standard Webhooks scheme).

The signed text is ``<webhook-id>.<webhook-timestamp>.<body>``: the message id, a full
stop, the Unix time in seconds as decimal digits, a full stop, then the body's exact
bytes. The signature is HMAC-SHA256 of it, base64-encoded, sent as
``webhook-signature: v1,<signature>``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Mapping
from typing import Final

from rotation_webhooks._settings import signing_key

__all__ = [
    "ID_HEADER",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "InvalidSignature",
    "sign",
    "signature_headers",
    "verify_signature",
]

ID_HEADER: Final = "webhook-id"
TIMESTAMP_HEADER: Final = "webhook-timestamp"
SIGNATURE_HEADER: Final = "webhook-signature"
DEFAULT_TOLERANCE_SECONDS: Final = 300


class InvalidSignature(ValueError):
    """A received webhook's signature headers are missing, stale or do not match."""


def sign(key: bytes, message_id: str, timestamp: int, body: bytes) -> str:
    """The base64 HMAC-SHA256 of ``<message_id>.<timestamp>.<body>`` under ``key``."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    return base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode("ascii")


def signature_headers(secret: str, message_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The ``webhook-id``, ``webhook-timestamp`` and ``webhook-signature`` headers."""
    signature = sign(signing_key(secret), message_id, timestamp, body)
    return {
        ID_HEADER: message_id,
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: f"v1,{signature}",
    }


def verify_signature(
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    tolerance: float = DEFAULT_TOLERANCE_SECONDS,
    *,
    now: float | None = None,
) -> None:
    """Check a received webhook, as its receiver would; return quietly if it is genuine.

    Args:
        secret: The endpoint's secret (``ROTATION_WEBHOOK_<NAME>_SECRET``).
        headers: The request's headers (names in any case).
        body: The request's body, exactly as received (before any JSON parsing).
        tolerance: How many seconds the ``webhook-timestamp`` may be from ``now``, either
            way; a replayed old message fails.
        now: The current Unix time (the clock's, without it).

    Raises:
        InvalidSignature: a header is missing, the timestamp is malformed or outside the
            tolerance, or no ``v1`` signature in ``webhook-signature`` matches.
    """
    by_name = {name.lower(): value for name, value in headers.items()}
    missing = [h for h in (ID_HEADER, TIMESTAMP_HEADER, SIGNATURE_HEADER) if not by_name.get(h)]
    if missing:
        raise InvalidSignature(f"the webhook has no {', '.join(missing)} header")
    stamp = by_name[TIMESTAMP_HEADER].strip()
    if not stamp.isdigit():
        raise InvalidSignature(f"{TIMESTAMP_HEADER} is not a Unix time in seconds")
    timestamp = int(stamp)
    clock = time.time() if now is None else now
    if abs(clock - timestamp) > tolerance:
        raise InvalidSignature(
            f"{TIMESTAMP_HEADER} is {round(clock - timestamp)} s from now, "
            f"beyond the tolerance of {tolerance:g} s"
        )
    expected = sign(signing_key(secret), by_name[ID_HEADER], timestamp, body)
    for candidate in by_name[SIGNATURE_HEADER].split():
        version, _, signature = candidate.partition(",")
        if version == "v1" and hmac.compare_digest(signature.encode(), expected.encode()):
            return
    raise InvalidSignature("no v1 signature in webhook-signature matches the body")
