"""Integrations can read recorded state; plugins get settings from a file and the environment."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

from rotation_domain import InvalidInput, hookimpl
from rotation_domain.config import plugin_settings, read_config_file
from rotation_domain.consumers import Envelope, Integration, StateReader
from rotation_domain.employee import Employee
from rotation_domain.testing import RegisterPlugin, given, small_company, topic

pytest_plugins = ["rotation_domain.testing"]


class LooksUp:
    """An integration that reads the participant's state when it is delivered an event."""

    name = "looks-up"
    topics = frozenset({topic("EmployeeTransferred")})
    max_attempts = 1

    def __init__(self) -> None:
        self.state: StateReader | None = None
        self.seen: list[tuple[str, str, int]] = []
        self.settings: Mapping[str, str] = {}

    def bind(self, state: StateReader) -> None:
        self.state = state

    def deliver(self, envelope: Envelope, idempotency_key: str) -> None:
        assert self.state is not None
        then = self.state.get(envelope.originator_id, version=envelope.originator_version)
        now = self.state.get(envelope.originator_id)
        registered = list(
            self.state.events(frozenset({topic("EmployeeRegistered")}), upto=envelope.position)
        )
        self.seen.append((then.department, now.department, len(registered)))

    @hookimpl
    def rotation_integrations(self, settings: Mapping[str, str]) -> Sequence[Integration]:
        self.settings = settings
        return [self]


def test_an_integration_reads_state_as_of_its_event_and_now(
    register_plugin: RegisterPlugin,
) -> None:
    plugin = LooksUp()
    program = register_plugin(plugin)
    given(program, small_company)
    program.transfer_employee("E1", to_department="FIN", on="2027-01-04", actor="hr")
    program.transfer_employee("E1", to_department="OPS", on="2027-02-01", actor="hr")
    assert [then for then, _, _ in plugin.seen] == ["FIN", "OPS"]
    assert all(count == 4 for _, _, count in plugin.seen)


def test_the_state_reader_reads_events_between_two_positions(
    register_plugin: RegisterPlugin,
) -> None:
    plugin = LooksUp()
    program = register_plugin(plugin)
    given(program, small_company)
    assert plugin.state is not None
    every = [e.position for e in plugin.state.events()]
    assert every == list(range(1, len(every) + 1))
    assert [e.position for e in plugin.state.events(after=3, upto=5)] == [4, 5]
    registered = frozenset({topic("EmployeeRegistered")})
    assert [e.name for e in plugin.state.events(registered, after=every[-2])] == [
        "EmployeeRegistered"
    ]


def test_the_state_reader_names_an_unknown_id(register_plugin: RegisterPlugin) -> None:
    plugin = LooksUp()
    register_plugin(plugin)
    assert plugin.state is not None
    with pytest.raises(KeyError, match="nothing recorded"):
        plugin.state.get(Employee.id_for("NOBODY"))


def test_settings_come_from_the_file_then_the_environment_then_code(tmp_path: Path) -> None:
    config = tmp_path / "rotation.toml"
    config.write_text(
        '[settings]\nROTATION_SMTP_HOST = "mail.example.com"\nROTATION_SMTP_PORT = 25\n'
        'ROTATION_SMTP_STARTTLS = true\nROTATION_X = "file"\n'
    )
    environ = {"ROTATION_CONFIG": str(config), "ROTATION_X": "env", "HOME": "/root"}
    merged = plugin_settings(environ, {"ROTATION_SMTP_PORT": "2525"})
    assert merged["ROTATION_SMTP_HOST"] == "mail.example.com"
    assert merged["ROTATION_SMTP_PORT"] == "2525"
    assert merged["ROTATION_SMTP_STARTTLS"] == "true"
    assert merged["ROTATION_X"] == "env"
    assert "HOME" not in merged


def test_plugins_receive_the_environment_settings(
    register_plugin: RegisterPlugin, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ROTATION_WEBHOOK_URL", "http://127.0.0.1:9/hook")
    plugin = LooksUp()
    register_plugin(plugin)
    assert plugin.settings["ROTATION_WEBHOOK_URL"] == "http://127.0.0.1:9/hook"


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ("not = [toml", "not valid TOML"),
        ("[settings]\nX = [1, 2]\n", "must be a text, number or boolean"),
        ("settings = 3\n", "must be a table"),
    ],
)
def test_a_bad_config_file_is_named_with_what_is_wrong(
    tmp_path: Path, content: str, words: str
) -> None:
    config = tmp_path / "bad.toml"
    config.write_text(content)
    with pytest.raises(InvalidInput, match=words) as caught:
        read_config_file(config)
    assert str(config) in str(caught.value)


def test_a_missing_config_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="cannot be read"):
        plugin_settings({"ROTATION_CONFIG": str(tmp_path / "absent.toml")}, {})
