"""Exactly one message per thing across restarts, repeats and rebuilds; reminders once a day."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from rotation_domain import open_program
from rotation_domain.testing import TODAY, failures_of, given

import rotation_email


def open_file_program(path: Path, settings: dict[str, str]):
    """A program on a SQLite file, loading the plugin through its installed entry point."""
    return open_program(
        f"sqlite:///{path}",
        today=lambda: TODAY,
        settings={"ROTATION_RETRY_BACKOFF_SECONDS": "0", **settings},
    )


def kinds(server) -> list[str]:
    return sorted(message.kind for message in server.mailbox.received)


def test_the_plugin_loads_through_its_entry_point(tmp_path, smtp_server):
    with open_file_program(tmp_path / "rotation.db", smtp_server.settings()) as program:
        [info] = [info for info in program.plugins() if info.name == "email"]
        assert (info.source, info.status) == ("entry-point", "active")
        assert info.version == rotation_email.__version__
        assert "email" in {status.name for status in program.consumer_status()}


def test_a_restart_sends_nothing_twice(tmp_path, smtp_server, company_step):
    path = tmp_path / "rotation.db"
    with open_file_program(path, smtp_server.settings()) as program:
        given(program, company_step)
        rotation = program.plan_rotation(
            "E1", host_department="FIN", start="2027-01-04", end="2027-01-29", actor="cio"
        )
        program.nominate_mentor(rotation, mentor="M1", actor="cio")
    assert kinds(smtp_server) == ["mentor_nominated", "rotation_planned"]

    with open_file_program(path, smtp_server.settings()) as program:  # catches up on opening
        assert kinds(smtp_server) == ["mentor_nominated", "rotation_planned"]
        program.reschedule_rotation(rotation, start="2027-02-01", end="2027-02-26", actor="cio")
    assert kinds(smtp_server) == ["mentor_nominated", "rotation_planned", "rotation_rescheduled"]


def test_events_delivered_again_after_a_crash_are_not_sent_again(
    tmp_path, smtp_server, company_step
):
    path = tmp_path / "rotation.db"
    with open_file_program(path, smtp_server.settings()) as program:
        given(program, company_step)
        rotation = program.plan_rotation(
            "E1", host_department="FIN", start="2027-01-04", end="2027-01-29", actor="cio"
        )
        program.nominate_mentor(rotation, mentor="M1", actor="cio")
        sent = [m.message_id for m in smtp_server.mailbox.received]
        # A crash after sending but before the position moved: the runner starts over.
        store = program.consumers.store
        store.advance("email", expected=store.position("email"), position=0)
    with open_file_program(path, smtp_server.settings()) as program:
        assert program.consumers.store.position("email") > 0  # it went through them again
    assert [m.message_id for m in smtp_server.mailbox.received] == sent


def test_rebuilding_the_views_sends_nothing(tmp_path, smtp_server, company_step):
    with open_file_program(tmp_path / "rotation.db", smtp_server.settings()) as program:
        given(program, company_step)
        program.plan_rotation(
            "E1", host_department="FIN", start="2027-01-04", end="2027-01-29", actor="cio"
        )
        program.open_review_cycle("2027", start="2027-01-01", end="2027-12-31", actor="cio")
        before = kinds(smtp_server)
        position = program.consumers.store.position("email")

        program.rebuild()
        program.catch_up()

        assert kinds(smtp_server) == before
        assert program.consumers.store.position("email") == position
    assert before.count("cycle_opened") == 3  # B1, E2, E3: E1 has a rotation in the cycle


def reminder_scenario(program) -> tuple[uuid.UUID, ...]:
    with program.acting_as("cio@example.com"):
        soon = program.plan_rotation(
            "E1", host_department="FIN", start="2027-01-06", end="2027-01-29"
        )
        program.nominate_mentor(soon, mentor="M1")
        later = program.plan_rotation(
            "E2", host_department="OPS", start="2027-03-01", end="2027-03-26"
        )
        called_off = program.plan_rotation(
            "E3", host_department="OPS", start="2027-01-04", end="2027-01-08"
        )
        program.cancel_rotation(called_off, reason="Project deadline")
    return soon, later, called_off


def test_reminders_are_sent_once_across_restarts_and_again_for_a_new_start(
    tmp_path, smtp_server, company_step
):
    path = tmp_path / "rotation.db"
    settings = smtp_server.settings(ROTATION_EMAIL_REMINDER_DAYS="7")
    with open_file_program(path, settings) as program:
        given(program, company_step)
        soon, later, _ = reminder_scenario(program)

        first = rotation_email.send_due_reminders(program, date(2027, 1, 1))
        again = rotation_email.send_due_reminders(program, date(2027, 1, 2))

    assert (len(first.sent), first.already_sent, first.failed) == (1, 0, ())
    assert (again.sent, again.already_sent) == ((), 1)
    [reminder] = smtp_server.mailbox.of_kind("rotation_reminder")
    assert reminder.message_id == first.sent[0]
    assert reminder.rcpt_tos == ["e1@example.com", "m1@example.com"]
    assert reminder.message["Subject"] == (
        "Reminder: your rotation in Finance starts on Wed 6 Jan 2027"
    )
    assert "starts in 5 day(s)" in reminder.text()
    assert "Your mentor: Grace Hopper." in reminder.text()

    with open_file_program(path, settings) as program:
        after_restart = rotation_email.send_due_reminders(program, date(2027, 1, 3))
        program.reschedule_rotation(soon, start="2027-01-07", end="2027-01-29", actor="cio")
        moved = rotation_email.send_due_reminders(program, date(2027, 1, 3))
        program.reschedule_rotation(later, start="2027-01-08", end="2027-01-29", actor="cio")

    assert (after_restart.sent, after_restart.already_sent) == ((), 1)
    assert len(moved.sent) == 1  # a new start date is a new reminder
    assert len(smtp_server.mailbox.of_kind("rotation_reminder")) == 2


def test_a_reminder_that_cannot_be_sent_is_reported_and_sent_at_the_next_run(
    tmp_path, company_step, unused_port, server_later
):
    path = tmp_path / "rotation.db"
    settings = {
        "ROTATION_SMTP_HOST": "127.0.0.1",
        "ROTATION_SMTP_PORT": str(unused_port),
        "ROTATION_SMTP_FROM": "rotation@example.com",
        "ROTATION_SMTP_TIMEOUT_SECONDS": "2",
    }
    with open_file_program(path, settings) as program:
        given(program, company_step)
        soon, _, _ = reminder_scenario(program)
        failed = rotation_email.send_due_reminders(program, date(2027, 1, 1))
        assert failures_of(program, "email")  # the event mails failed too, and wait

    assert failed.sent == ()
    [(rotation, error)] = failed.failed
    assert rotation == soon
    assert f"SMTP 127.0.0.1:{unused_port}: connecting failed" in error

    server = server_later(unused_port)
    with open_file_program(path, settings) as program:
        program.catch_up()
        done = rotation_email.send_due_reminders(program, date(2027, 1, 1))
    assert len(done.sent) == 1
    assert len(server.mailbox.of_kind("rotation_reminder")) == 1


def test_the_daily_command_sends_the_due_reminders(tmp_path, smtp_server, company_step):
    path = tmp_path / "rotation.db"
    settings = smtp_server.settings()
    with open_file_program(path, settings) as program:
        given(program, company_step)
        reminder_scenario(program)
    environment = {**os.environ, **settings}

    def run() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [
                sys.executable,
                "-m",
                "rotation_email",
                "reminders",
                "--store",
                f"sqlite:///{path}",
                "--today",
                "2027-01-01",
            ],
            env=environment,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    first, second = run(), run()

    assert (first.returncode, first.stdout) == (0, "sent 1, already sent 0, failed 0\n")
    assert (second.returncode, second.stdout) == (0, "sent 0, already sent 1, failed 0\n")
    assert len(smtp_server.mailbox.of_kind("rotation_reminder")) == 1


POSTGRES_URL = os.environ.get("ROTATION_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")


@pytest.fixture
def postgres_url():
    psycopg = pytest.importorskip("psycopg")
    try:
        with psycopg.connect(POSTGRES_URL, connect_timeout=3):
            pass
    except psycopg.OperationalError as error:
        if os.environ.get("CI"):
            pytest.fail(f"CI is set and PostgreSQL is required: {error}")
        pytest.skip(f"no PostgreSQL server at {POSTGRES_URL}")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield f"{POSTGRES_URL}?schema={schema}"
    finally:
        with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def test_on_postgresql_the_sent_ledger_lives_in_the_store_and_survives_a_restart(
    postgres_url, smtp_server, company_step
):
    settings = {"ROTATION_RETRY_BACKOFF_SECONDS": "0", **smtp_server.settings()}
    with open_program(postgres_url, today=lambda: TODAY, settings=settings, inline=True) as program:
        given(program, company_step)
        reminder_scenario(program)
        first = rotation_email.send_due_reminders(program, date(2027, 1, 1))
        ledger = rotation_email.email_integration(program).ledger
        assert type(ledger).__name__ == "PostgresLedger"
    with open_program(postgres_url, today=lambda: TODAY, settings=settings, inline=True) as program:
        second = rotation_email.send_due_reminders(program, date(2027, 1, 1))
    assert (len(first.sent), second.sent, second.already_sent) == (1, (), 1)
    assert len(smtp_server.mailbox.of_kind("rotation_reminder")) == 1


def test_the_reminders_are_a_periodic_task_the_worker_runs(tmp_path, smtp_server, company_step):
    path = tmp_path / "rotation.db"
    settings = smtp_server.settings(ROTATION_EMAIL_REMINDER_INTERVAL_SECONDS="0.05")
    with open_file_program(path, settings) as program:
        given(program, company_step)
        reminder_scenario(program)
        [task] = program.tasks.tasks.values()
        assert (task[0], task[1].name, task[1].interval_seconds) == (
            "email",
            "email-reminders",
            0.05,
        )

        [first] = program.run_due_tasks(datetime(2027, 1, 1, 7, tzinfo=UTC))
        time.sleep(0.06)
        [second] = program.run_due_tasks(datetime(2027, 1, 1, 8, tzinfo=UTC))

    assert first.error is None
    assert len(first.result.sent) == 1
    assert (second.result.sent, second.result.already_sent) == ((), 1)
    assert len(smtp_server.mailbox.of_kind("rotation_reminder")) == 1
