"""The example message in the docs is one the plugin sends, and it verifies."""

from __future__ import annotations

import re
from pathlib import Path

import orjson
import pytest
from cloudevents.core.bindings.http import HTTPMessage, from_http
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent
from rotation_domain.testing import given, open_test_program, plan, small_company

from rotation_webhooks import message_body, verify_signature

DOCS = Path(__file__).resolve().parents[3] / "docs"
EXAMPLE_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


@pytest.fixture
def page() -> str:
    """The webhooks' section of docs/integrations.md (from its heading to the next one)."""
    text = (DOCS / "integrations.md").read_text("utf-8")
    match = re.search(r"^## Outbound webhooks\n(.*?)(?=^## |\Z)", text, re.S | re.M)
    assert match is not None, f"{DOCS / 'integrations.md'} has no section on the webhooks"
    return match.group(1)


def test_the_example_message_verifies_and_parses(page: str) -> None:
    http = re.search(r"```http\n(.*?)```", page, re.S)
    body = re.search(r"```json\n(.*?)```", page, re.S)
    assert http is not None
    assert body is not None
    headers = dict(line.split(": ", 1) for line in http.group(1).splitlines()[1:] if ": " in line)
    compact = orjson.dumps(orjson.loads(body.group(1)), option=orjson.OPT_SORT_KEYS)

    verify_signature(EXAMPLE_SECRET, headers, compact, now=float(headers["webhook-timestamp"]))
    event = from_http(HTTPMessage(headers, compact), JSONFormat(), CloudEvent)
    assert event.get_type() == "rotation_domain.RotationPlanned"
    assert event.get_id() == headers["webhook-id"]
    assert f"{len(compact)} bytes" in page
    assert headers["Content-Type"] == "application/cloudevents+json"


def test_the_example_message_has_the_attributes_and_fields_the_plugin_sends(page: str) -> None:
    body = re.search(r"```json\n(.*?)```", page, re.S)
    assert body is not None
    example = orjson.loads(body.group(1))
    program = open_test_program()
    try:
        given(program, small_company, plan("E1", "FIN"))
        planned = next(e for e in program.consumers.state.events() if e.name == "RotationPlanned")
        sent = orjson.loads(message_body(planned, "webhook-ops:8", "urn:rotation-domain"))
    finally:
        program.close()

    assert sorted(example) == sorted(sent)
    assert sorted(example["data"]) == sorted(sent["data"])
    assert {k: v for k, v in example["data"].items() if k != "timestamp"} == {
        k: v for k, v in sent["data"].items() if k != "timestamp"
    }
