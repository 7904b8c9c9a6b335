"""Settings from a ROTATION_CONFIG file; parked mail visible in `rotation plugins`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from rotation_domain import open_program
from rotation_domain.testing import TODAY, given


def test_the_smtp_settings_come_from_a_config_file_and_the_password_from_the_environment(
    tmp_path: Path, monkeypatch, company_step, tls_smtp_server
) -> None:
    server = tls_smtp_server
    config = tmp_path / "rotation.toml"
    config.write_text(
        "[settings]\n"
        'ROTATION_SMTP_HOST = "127.0.0.1"\n'
        f"ROTATION_SMTP_PORT = {server.port}\n"
        'ROTATION_SMTP_FROM = "IT Rotation Program <rotation@example.com>"\n'
        "ROTATION_SMTP_STARTTLS = true\n"
        f'ROTATION_SMTP_USER = "{server.user}"\n'
    )
    monkeypatch.setenv("ROTATION_CONFIG", str(config))
    monkeypatch.setenv("ROTATION_SMTP_PASSWORD", server.password)
    monkeypatch.setenv("ROTATION_PLUGINS", "default_views,email")

    with open_program(f"sqlite:///{tmp_path / 'rotation.db'}", today=lambda: TODAY) as program:
        given(program, company_step)
        program.plan_rotation(
            "E1", host_department="FIN", start="2027-01-04", end="2027-01-29", actor="cio"
        )

    assert [m.kind for m in server.mailbox.received] == ["rotation_planned"]
    assert server.logins == [(server.user, server.password)]


def test_parked_mail_shows_in_rotation_plugins(tmp_path: Path, company_step, unused_port) -> None:
    store = f"sqlite:///{tmp_path / 'rotation.db'}"
    settings = {
        "ROTATION_SMTP_HOST": "127.0.0.1",
        "ROTATION_SMTP_PORT": str(unused_port),  # nothing listens there
        "ROTATION_SMTP_FROM": "rotation@example.com",
        "ROTATION_SMTP_TIMEOUT_SECONDS": "2",
        "ROTATION_SMTP_PASSWORD": "s3cret-never-shown",
        "ROTATION_EMAIL_MAX_ATTEMPTS": "1",
        "ROTATION_PLUGINS": "default_views,email",
    }
    with open_program(store, today=lambda: TODAY, settings=settings) as program:
        given(program, company_step)
        program.plan_rotation(
            "E1", host_department="FIN", start="2027-01-04", end="2027-01-29", actor="cio"
        )

    listed = subprocess.run(
        [str(Path(sys.executable).with_name("rotation")), "--store", store, "plugins", "--json"],
        env={**os.environ, **settings},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    [email] = [p for p in json.loads(listed.stdout) if p["name"] == "email"]
    assert email["status"] == "active"
    [consumer] = email["consumers"]
    assert (consumer["name"], consumer["parked"]) == ("email", 1)
    assert "s3cret-never-shown" not in listed.stdout + listed.stderr
