from __future__ import annotations

import base64
import hashlib
import hmac

import pytest
from webhook_receiver import SECRET

from rotation_webhooks import InvalidSignature, sign, verify_signature
from rotation_webhooks._settings import signing_key
from rotation_webhooks._signing import signature_headers

NOW = 1_800_000_000
BODY = b'{"specversion":"1.0","id":"webhook-ops:1"}'


def headers(body: bytes = BODY, *, at: int = NOW, secret: str = SECRET) -> dict[str, str]:
    return signature_headers(secret, "webhook-ops:1", at, body)


def test_a_signed_message_verifies() -> None:
    verify_signature(SECRET, headers(), BODY, now=NOW)


def test_header_names_are_matched_in_any_case() -> None:
    shouted = {name.upper(): value for name, value in headers().items()}

    verify_signature(SECRET, shouted, BODY, now=NOW)


def test_the_signature_is_hmac_sha256_of_the_id_the_timestamp_and_the_body() -> None:
    signed = b"webhook-ops:1.1800000000." + BODY
    expected = base64.b64encode(hmac.new(SECRET.encode(), signed, hashlib.sha256).digest())

    assert headers() == {
        "webhook-id": "webhook-ops:1",
        "webhook-timestamp": "1800000000",
        "webhook-signature": f"v1,{expected.decode()}",
    }


def test_a_whsec_secret_signs_as_standard_webhooks_does() -> None:
    # The test vector of the Standard Webhooks specification's reference libraries.
    key = signing_key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")

    signature = sign(key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, b'{"test": 2432232314}')

    assert signature == "g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_a_tampered_body_fails() -> None:
    with pytest.raises(InvalidSignature, match="no v1 signature"):
        verify_signature(SECRET, headers(), BODY.replace(b"ops", b"dev"), now=NOW)


def test_another_secret_fails() -> None:
    with pytest.raises(InvalidSignature, match="no v1 signature"):
        verify_signature("another-secret-of-enough-length", headers(), BODY, now=NOW)


def test_a_changed_id_fails() -> None:
    changed = {**headers(), "webhook-id": "webhook-ops:2"}

    with pytest.raises(InvalidSignature, match="no v1 signature"):
        verify_signature(SECRET, changed, BODY, now=NOW)


@pytest.mark.parametrize("age", [-301, 301])
def test_a_timestamp_outside_the_tolerance_fails(age: int) -> None:
    with pytest.raises(InvalidSignature, match="beyond the tolerance of 300 s"):
        verify_signature(SECRET, headers(at=NOW - age), BODY, now=NOW)


def test_the_tolerance_can_be_widened() -> None:
    verify_signature(SECRET, headers(at=NOW - 3600), BODY, tolerance=3600, now=NOW)


@pytest.mark.parametrize("header", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_a_missing_header_fails(header: str) -> None:
    partial = {name: value for name, value in headers().items() if name != header}

    with pytest.raises(InvalidSignature, match=f"no {header} header"):
        verify_signature(SECRET, partial, BODY, now=NOW)


def test_a_malformed_timestamp_fails() -> None:
    with pytest.raises(InvalidSignature, match="not a Unix time"):
        verify_signature(SECRET, {**headers(), "webhook-timestamp": "yesterday"}, BODY, now=NOW)


def test_one_matching_signature_among_several_is_enough() -> None:
    # A receiver rotating its secret accepts a header listing signatures under each.
    good = headers()["webhook-signature"]
    several = {**headers(), "webhook-signature": f"v1,bm9wZQ== v2,whatever {good}"}

    verify_signature(SECRET, several, BODY, now=NOW)


def test_a_signature_of_other_characters_fails_without_crashing() -> None:
    odd = {**headers(), "webhook-signature": "v1,\u00e9t\u00e9"}

    with pytest.raises(InvalidSignature):
        verify_signature(SECRET, odd, BODY, now=NOW)
