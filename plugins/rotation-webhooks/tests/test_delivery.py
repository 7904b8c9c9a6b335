from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from uuid import UUID

import pytest
from rotation_domain import Department, RotationProgram, open_program
from rotation_domain.testing import (
    TODAY,
    RegisterPlugin,
    command,
    failures_of,
    given,
    plan,
    small_company,
)
from webhook_receiver import GARBAGE, SECRET, STALL, Receiver, endpoint_settings

import rotation_webhooks

SMALL_COMPANY = ["DepartmentRegistered"] * 3 + ["EmployeeRegistered"] * 4


def status_of(program: RotationProgram, consumer: str) -> tuple[int, int, int]:
    """(lag, retrying, parked) of one consumer."""
    [status] = [s for s in program.consumer_status() if s.name == consumer]
    return status.lag, status.retrying, status.parked


def test_each_event_arrives_as_a_cloudevent_the_sdk_parses(
    register_plugin: RegisterPlugin, receiver: Receiver
) -> None:
    program = register_plugin(rotation_webhooks, settings=endpoint_settings("ops", receiver.url))

    _, rotation = given(program, small_company, plan("E1", "FIN"))

    assert receiver.names()[:8] == [*SMALL_COMPANY, "RotationPlanned"]
    [request] = [r for r in receiver.accepted if r.event.get_subject() == str(rotation)]
    event = request.event
    planned = next(e for e in program.consumers.state.events() if e.originator_id == rotation)
    assert (request.method, request.path) == ("POST", "/hooks")
    assert request.headers["content-type"] == "application/cloudevents+json"
    assert request.signature_error is None
    assert event.get_specversion() == "1.0"
    assert event.get_id() == f"webhook-ops:{planned.position}" == request.headers["webhook-id"]
    assert event.get_source() == "urn:rotation-domain"
    assert event.get_type() == "rotation_domain.RotationPlanned"
    assert UUID(event.get_subject() or "") == rotation
    assert event.get_time() == planned.timestamp
    assert event.get_datacontenttype() == "application/json"
    assert event.get_extension("position") == planned.position
    assert event.get_extension("aggregateversion") == 1
    assert event.get_extension("eventversion") == 1
    assert event.get_data() == {
        "actor": "cio@example.com",
        "participant": "E1",
        "host_department": "FIN",
        "start": "2027-01-04",
        "end": "2027-01-29",
        "originator_topic": "rotation_domain:Rotation",
        "timestamp": planned.timestamp.isoformat().replace("+00:00", "Z"),
    }


def test_every_event_is_delivered_once_in_the_order_of_the_log(
    register_plugin: RegisterPlugin, receiver: Receiver
) -> None:
    program = register_plugin(rotation_webhooks, settings=endpoint_settings("ops", receiver.url))

    given(program, small_company, plan("E1", "FIN"), plan("E2", "OPS"))

    positions = [event.get_extension("position") for event in receiver.events()]
    assert positions == list(range(1, len(positions) + 1))
    assert len({event.get_id() for event in receiver.events()}) == len(positions)
    assert all(request.signature_error is None for request in receiver.requests)
    assert status_of(program, "webhook-ops") == (0, 0, 0)


def test_an_endpoint_gets_only_the_events_it_names(
    register_plugin: RegisterPlugin, receiver: Receiver, start_receiver: Callable[[int], Receiver]
) -> None:
    audit = start_receiver(0)
    settings = {
        **endpoint_settings("ops", receiver.url, EVENTS="RotationPlanned, RotationCancelled"),
        **endpoint_settings("audit", audit.url),
        "ROTATION_WEBHOOKS": "ops,audit",
    }
    program = register_plugin(rotation_webhooks, settings=settings)

    _, rotation = given(program, small_company, plan("E1", "FIN"))
    given(program, command("cancel_rotation", rotation, reason="Needed back in IT"))

    assert receiver.names() == ["RotationPlanned", "RotationCancelled"]
    assert {e.get_id().split(":")[0] for e in receiver.events()} == {"webhook-ops"}
    assert audit.names()[:8] == [*SMALL_COMPANY, "RotationPlanned"]
    assert "RotationCancelled" in audit.names()
    assert status_of(program, "webhook-ops") == (0, 0, 0)


def test_an_answer_of_500_is_retried_with_the_same_message_and_delivered_once(
    register_plugin: RegisterPlugin, receiver: Receiver
) -> None:
    program = register_plugin(rotation_webhooks, settings=endpoint_settings("ops", receiver.url))
    receiver.script.append(500)

    given(program, ("register_department", "FIN", {"name": "Finance"}))

    [failure] = failures_of(program, "webhook-ops")
    assert (failure.status, failure.attempts) == ("retrying", 1)
    assert failure.last_error == (
        f"WebhookDeliveryFailed: webhook ops: POST {receiver.url} answered 500 "
        "Internal Server Error"
    )
    assert status_of(program, "webhook-ops") == (1, 1, 0)

    program.catch_up()

    first, second = receiver.requests
    assert (first.answer, second.answer) == (500, 200)
    assert first.body == second.body
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == "webhook-ops:1"
    assert receiver.names() == ["DepartmentRegistered"]
    assert failures_of(program, "webhook-ops") == []
    assert status_of(program, "webhook-ops") == (0, 0, 0)


def test_an_answer_that_is_not_http_is_retried(
    register_plugin: RegisterPlugin, receiver: Receiver
) -> None:
    program = register_plugin(rotation_webhooks, settings=endpoint_settings("ops", receiver.url))
    receiver.script.append(GARBAGE)

    given(program, ("register_department", "FIN", {"name": "Finance"}))

    [failure] = failures_of(program, "webhook-ops")
    assert failure.last_error.startswith(
        f"WebhookDeliveryFailed: webhook ops: POST {receiver.url}: RemoteProtocolError"
    )
    program.catch_up()
    assert receiver.names() == ["DepartmentRegistered"]
    assert failures_of(program, "webhook-ops") == []


def test_an_endpoint_that_is_down_parks_the_event_and_commands_carry_on(
    register_plugin: RegisterPlugin, closed_port: int, start_receiver: Callable[[int], Receiver]
) -> None:
    url = f"http://127.0.0.1:{closed_port}/hooks"
    program = register_plugin(
        rotation_webhooks, settings=endpoint_settings("ops", url, MAX_ATTEMPTS="3")
    )

    given(program, ("register_department", "FIN", {"name": "Finance"}))  # attempt 1
    program.catch_up()  # attempt 2
    program.catch_up()  # attempt 3: parked

    [parked] = failures_of(program, "webhook-ops")
    assert (parked.position, parked.status, parked.attempts) == (1, "parked", 3)
    assert parked.last_error.startswith(f"WebhookDeliveryFailed: webhook ops: POST {url}: Connect")
    assert status_of(program, "webhook-ops") == (0, 0, 1)

    ops = given(program, ("register_department", "OPS", {"name": "Operations"}))
    assert ops == ["OPS"]  # the command went through; its event waits for the endpoint
    assert status_of(program, "webhook-ops") == (1, 1, 1)

    receiver = start_receiver(closed_port)
    runner = program.consumers.integrations["webhook-ops"]
    assert runner.retry_parked(1) is True
    program.catch_up()

    assert [e.get_data()["code"] for e in receiver.events()] == ["FIN", "OPS"]  # type: ignore[index]
    assert failures_of(program, "webhook-ops") == []
    assert status_of(program, "webhook-ops") == (0, 0, 0)


def test_a_parked_event_can_be_skipped(register_plugin: RegisterPlugin, closed_port: int) -> None:
    url = f"http://127.0.0.1:{closed_port}/hooks"
    program = register_plugin(
        rotation_webhooks, settings=endpoint_settings("ops", url, MAX_ATTEMPTS="1")
    )
    given(program, ("register_department", "FIN", {"name": "Finance"}))
    assert status_of(program, "webhook-ops") == (0, 0, 1)

    program.consumers.integrations["webhook-ops"].skip_parked(1)

    assert failures_of(program, "webhook-ops") == []


def test_a_stalling_endpoint_times_out_and_holds_the_command_no_longer(
    register_plugin: RegisterPlugin, receiver: Receiver
) -> None:
    program = register_plugin(
        rotation_webhooks, settings=endpoint_settings("ops", receiver.url, TIMEOUT_SECONDS="0.5")
    )
    receiver.script.append(STALL)

    began = time.monotonic()
    given(program, ("register_department", "FIN", {"name": "Finance"}))
    took = time.monotonic() - began

    assert 0.5 <= took < 3
    assert program.get(Department.id_for("FIN")).name == "Finance"  # type: ignore[attr-defined]
    [failure] = failures_of(program, "webhook-ops")
    assert failure.status == "retrying"
    assert failure.last_error == (
        f"WebhookDeliveryFailed: webhook ops: POST {receiver.url}: "
        "no answer within 0.5 s (ReadTimeout)"
    )

    program.catch_up()

    assert [r.answer for r in receiver.requests] == [STALL, 200]
    assert {r.headers["webhook-id"] for r in receiver.requests} == {"webhook-ops:1"}
    assert failures_of(program, "webhook-ops") == []


def test_each_endpoint_has_its_own_position_and_failures(
    register_plugin: RegisterPlugin, receiver: Receiver, closed_port: int
) -> None:
    settings = {
        **endpoint_settings("down", f"http://127.0.0.1:{closed_port}/"),
        **endpoint_settings("up", receiver.url),
        "ROTATION_WEBHOOKS": "down,up",
    }
    program = register_plugin(rotation_webhooks, settings=settings)

    given(program, small_company)

    assert receiver.names() == SMALL_COMPANY
    assert status_of(program, "webhook-up") == (0, 0, 0)
    assert status_of(program, "webhook-down") == (7, 1, 0)
    [failure] = failures_of(program, "webhook-down")
    assert (failure.position, failure.attempts) == (1, 7)  # one attempt after each command


def test_a_rebuild_sends_nothing_again(register_plugin: RegisterPlugin, receiver: Receiver) -> None:
    program = register_plugin(rotation_webhooks, settings=endpoint_settings("ops", receiver.url))
    given(program, small_company, plan("E1", "FIN"))
    sent = len(receiver.requests)

    program.rebuild()
    program.catch_up()

    assert len(receiver.requests) == sent


def test_a_restart_on_the_same_sqlite_file_sends_nothing_again(
    tmp_path: Path, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ROTATION_DISABLE_PLUGINS", "webhooks")  # the module is given below
    store = f"sqlite:///{tmp_path / 'rotation.db'}"

    def opened() -> RotationProgram:
        return open_program(
            store,
            today=lambda: TODAY,
            plugins=[rotation_webhooks],
            settings=endpoint_settings("ops", receiver.url),
        )

    with opened() as program:
        given(program, small_company)
    assert receiver.names() == SMALL_COMPANY

    with opened() as program:
        program.catch_up()
        assert len(receiver.requests) == 7
        given(program, ("register_department", "HR", {"name": "Human Resources"}))

    assert len(receiver.requests) == 8
    assert receiver.events()[-1].get_id() == "webhook-ops:8"


@pytest.mark.parametrize("answer", [500, "down"])
def test_no_secret_reaches_failures_logs_errors_or_reprs(
    register_plugin: RegisterPlugin,
    receiver: Receiver,
    closed_port: int,
    caplog: pytest.LogCaptureFixture,
    answer: int | str,
) -> None:
    port = closed_port if answer == "down" else receiver.port
    url = f"http://hook-user:pa55w0rd-in-url@127.0.0.1:{port}/hooks?token=t0ken-in-query"
    program = register_plugin(
        rotation_webhooks, settings=endpoint_settings("ops", url, MAX_ATTEMPTS="2")
    )
    if isinstance(answer, int):
        receiver.script.extend([answer] * 3)
    caplog.set_level(logging.DEBUG)

    given(program, ("register_department", "FIN", {"name": "Finance"}))
    program.catch_up()

    [parked] = failures_of(program, "webhook-ops")
    integration = program.consumers.integrations["webhook-ops"].integration
    error = None
    try:
        integration.deliver(next(iter(program.consumers.state.events())), "webhook-ops:1")
    except rotation_webhooks.WebhookDeliveryFailed as failed:
        error = failed
    assert error is not None
    assert parked.status == "parked"
    assert f"POST http://***@127.0.0.1:{port}/hooks?***" in parked.last_error
    shown = "\n".join([parked.last_error, caplog.text, repr(integration), str(error), repr(error)])
    for secret in (SECRET, "pa55w0rd-in-url", "t0ken-in-query", "hook-user"):
        assert secret not in shown
    if answer == 500:
        assert receiver.requests[0].headers["authorization"].startswith("Basic ")


def test_after_a_failure_later_commands_do_not_wait_for_the_endpoint_before_its_backoff(
    register_plugin: RegisterPlugin, receiver: Receiver
) -> None:
    # With the library's default backoff a failing endpoint is not tried again at once,
    # so the commands after a failure do not wait for it at all.
    program = register_plugin(
        rotation_webhooks,
        settings={
            **endpoint_settings("ops", receiver.url, TIMEOUT_SECONDS="0.5"),
            "ROTATION_RETRY_BACKOFF_SECONDS": "60",
        },
    )
    receiver.script.append(STALL)
    given(program, ("register_department", "FIN", {"name": "Finance"}))

    began = time.monotonic()
    given(program, ("register_department", "OPS", {"name": "Operations"}))
    took = time.monotonic() - began

    assert took < 0.5
    [failure] = failures_of(program, "webhook-ops")
    assert failure.next_attempt_at is not None
    assert failure.attempts == 1
    assert len(receiver.requests) == 1
