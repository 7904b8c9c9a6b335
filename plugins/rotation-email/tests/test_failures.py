"""An SMTP server that is down, refuses, answers garbage or stalls: retried, parked, never lost."""

from __future__ import annotations

import logging
import time

import pytest
from rotation_domain.testing import failures_of, given

import rotation_email

from_address = "IT Rotation Program <rotation@example.com>"


def settings_for(port: int, **more: str) -> dict[str, str]:
    return {
        "ROTATION_SMTP_HOST": "127.0.0.1",
        "ROTATION_SMTP_PORT": str(port),
        "ROTATION_SMTP_FROM": from_address,
        "ROTATION_SMTP_TIMEOUT_SECONDS": "2",
        **more,
    }


def plan(program, employee="E1", host="FIN", start="2027-01-04", end="2027-01-29"):
    return program.plan_rotation(
        employee, host_department=host, start=start, end=end, actor="cio@example.com"
    )


def email_status(program):
    [status] = [s for s in program.consumer_status() if s.name == "email"]
    return status


def test_a_server_that_is_down_has_the_event_retried_then_parked_then_retried_by_hand(
    register_plugin, company_step, unused_port, server_later
):
    program = register_plugin(
        rotation_email, settings=settings_for(unused_port, ROTATION_EMAIL_MAX_ATTEMPTS="2")
    )
    given(program, company_step)

    rotation = plan(program)  # the command goes through although the mail does not

    assert program.get(rotation).participant == "E1"
    [failing] = failures_of(program, "email")
    assert (failing.status, failing.attempts) == ("retrying", 1)
    assert f"SMTP 127.0.0.1:{unused_port}: connecting failed" in failing.last_error
    assert "ConnectionRefusedError" in failing.last_error

    program.catch_up()  # the second and last attempt

    [parked] = failures_of(program, "email")
    assert (parked.status, parked.attempts) == ("parked", 2)
    assert (email_status(program).parked, email_status(program).retrying) == (1, 0)

    server = server_later(unused_port)
    runner = program.consumers.integrations["email"]
    assert runner.retry_parked(parked.position) is True

    assert failures_of(program, "email") == []
    assert [m.kind for m in server.mailbox.received] == ["rotation_planned"]
    plan(program, "E2", "OPS")  # later events flow again
    assert [m.kind for m in server.mailbox.received] == ["rotation_planned"] * 2


def test_a_refused_message_is_sent_again_with_the_same_message_id(
    register_plugin, smtp_server, company_step
):
    program = register_plugin(rotation_email, settings=smtp_server.settings())
    given(program, company_step)
    smtp_server.mailbox.refuse_next = 1

    plan(program)

    [failing] = failures_of(program, "email")
    assert "the server answered 451 '4.3.0 Mailbox busy, try again later'" in failing.last_error
    assert smtp_server.mailbox.received == []

    program.catch_up()

    [arrived] = smtp_server.mailbox.received
    assert smtp_server.mailbox.refused == [arrived.message_id]
    assert failures_of(program, "email") == []


def test_a_server_that_answers_garbage_is_retried_and_parked(
    register_plugin, company_step, broken_server
):
    garbage = broken_server("garbage")
    program = register_plugin(
        rotation_email, settings=settings_for(garbage.port, ROTATION_EMAIL_MAX_ATTEMPTS="2")
    )
    given(program, company_step)

    plan(program)
    program.catch_up()

    [parked] = failures_of(program, "email")
    assert parked.status == "parked"
    assert parked.last_error.startswith(
        f"EmailDeliveryError: SMTP 127.0.0.1:{garbage.port}: connecting failed"
    )
    assert garbage.connections == 2
    assert email_status(program).parked == 1


def test_a_server_that_stalls_holds_a_command_no_longer_than_the_timeout(
    register_plugin, company_step, broken_server
):
    stall = broken_server("stall")
    settings = settings_for(
        stall.port, ROTATION_SMTP_TIMEOUT_SECONDS="0.5", ROTATION_EMAIL_MAX_ATTEMPTS="2"
    )
    program = register_plugin(rotation_email, settings=settings)
    given(program, company_step)

    took = []
    for employee, host in (("E1", "FIN"), ("E2", "OPS")):
        began = time.monotonic()
        plan(program, employee, host)
        took.append(time.monotonic() - began)

    assert max(took) < 0.5 * 2 + 1.0  # at most one attempt (of one timeout) per command
    failures = failures_of(program, "email")
    assert [f.status for f in failures] == ["parked", "retrying"]
    assert "timed out" in failures[0].last_error


def test_the_password_never_appears_in_errors_logs_or_reprs(
    register_plugin, tls_smtp_server, company_step, caplog: pytest.LogCaptureFixture
):
    wrong = "Wr0ng-s3cret!"
    settings = tls_smtp_server.settings(
        ROTATION_SMTP_STARTTLS="true",
        ROTATION_SMTP_USER="rotation",
        ROTATION_SMTP_PASSWORD=wrong,
        ROTATION_EMAIL_MAX_ATTEMPTS="2",
    )
    caplog.set_level(logging.DEBUG)
    program = register_plugin(rotation_email, settings=settings)
    given(program, company_step)

    plan(program)
    program.catch_up()

    [parked] = failures_of(program, "email")
    assert parked.status == "parked"
    assert "login as rotation failed: the server answered 535" in parked.last_error
    assert tls_smtp_server.mailbox.received == []
    assert set(tls_smtp_server.logins) == {("rotation", wrong)}  # it did try, over TLS
    integration = rotation_email.email_integration(program)
    seen = [
        parked.last_error,
        caplog.text,
        repr(integration),
        repr(integration.settings),
        str(integration.settings),
        repr(integration.transport),
        repr(integration.ledger),
    ]
    assert not [text for text in seen if wrong in text]


def test_starttls_and_login_deliver_when_the_password_is_right(
    register_plugin, tls_smtp_server, company_step
):
    settings = tls_smtp_server.settings(
        ROTATION_SMTP_STARTTLS="true",
        ROTATION_SMTP_USER=tls_smtp_server.user,
        ROTATION_SMTP_PASSWORD=tls_smtp_server.password,
    )
    program = register_plugin(rotation_email, settings=settings)
    given(program, company_step)

    plan(program)

    assert failures_of(program, "email") == []
    assert [m.kind for m in tls_smtp_server.mailbox.received] == ["rotation_planned"]
    assert tls_smtp_server.logins == [(tls_smtp_server.user, tls_smtp_server.password)]


def test_malformed_settings_fail_the_plugin_with_a_clear_error(register_plugin):
    program = register_plugin(
        rotation_email,
        settings={"ROTATION_SMTP_HOST": "127.0.0.1", "ROTATION_SMTP_FROM": "not an address"},
    )

    [info] = [info for info in program.plugins() if info.name == "rotation_email"]
    assert info.status == "failed"
    assert "ROTATION_SMTP_FROM must be an address" in info.error
