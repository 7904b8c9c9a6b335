from __future__ import annotations

import logging
from pathlib import Path

import pytest
from eventsourcing.domain import Aggregate
from rotation_domain import (
    Department,
    Employee,
    Improvement,
    Mentorship,
    MonthRoster,
    Program,
    Rotation,
    RotationProgram,
)
from rotation_domain.testing import RegisterPlugin, given, small_company
from webhook_receiver import SECRET, Receiver, endpoint_settings

import rotation_webhooks
from rotation_webhooks import Endpoint, WebhookSettingError, endpoints_from_settings

URL = "https://hooks.example.com/rotation"


@pytest.fixture(autouse=True)
def no_webhook_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    """The tests set what they need; the environment they run in must not add endpoints."""
    for name in ("ROTATION_WEBHOOKS", "ROTATION_WEBHOOKS_SOURCE", "ROTATION_CONFIG"):
        monkeypatch.delenv(name, raising=False)


def test_without_rotation_webhooks_there_is_no_endpoint() -> None:
    assert endpoints_from_settings({}) == []
    assert rotation_webhooks.rotation_integrations(settings={}) == []


def test_an_endpoint_takes_the_defaults_for_what_is_not_set() -> None:
    [endpoint] = endpoints_from_settings(endpoint_settings("ops", URL))

    assert endpoint == Endpoint(
        name="ops",
        url=URL,
        secret=SECRET,
        topics=frozenset(),
        timeout_seconds=10.0,
        max_attempts=10,
    )


def test_every_setting_of_an_endpoint_is_read() -> None:
    settings = {
        **endpoint_settings(
            "audit-log",
            URL,
            EVENTS="RotationPlanned, rotation_domain:RotationCancelled,",
            TIMEOUT_SECONDS="2.5",
            MAX_ATTEMPTS="4",
        ),
        "ROTATION_WEBHOOKS": " Audit-Log ",
        "ROTATION_WEBHOOKS_SOURCE": "https://rotation.example.com",
    }

    [endpoint] = endpoints_from_settings(settings)
    [integration] = rotation_webhooks.rotation_integrations(settings=settings)

    assert endpoint.name == "audit-log"
    assert endpoint.topics == {
        "rotation_domain:RotationPlanned",
        "rotation_domain:RotationCancelled",
    }
    assert (endpoint.timeout_seconds, endpoint.max_attempts) == (2.5, 4)
    assert integration.name == "webhook-audit-log"
    assert integration.topics == endpoint.topics
    assert integration.max_attempts == 4
    assert isinstance(integration, rotation_webhooks.WebhookIntegration)
    assert integration.source == "https://rotation.example.com"


def library_topics() -> set[str]:
    """The topic of every event class the library's aggregates declare."""
    aggregates = (Program, Department, Employee, MonthRoster, Rotation, Mentorship, Improvement)
    return {
        value.TOPIC
        for aggregate in aggregates
        for name, value in vars(aggregate).items()
        if isinstance(value, type) and issubclass(value, Aggregate.Event) and name != "Event"
    }


def test_every_event_of_the_library_can_be_named() -> None:
    topics = rotation_webhooks.event_topics()

    assert topics["RotationPlanned"] == "rotation_domain:RotationPlanned"
    assert set(topics.values()) == library_topics()
    every = ",".join(topics)
    [endpoint] = endpoints_from_settings(endpoint_settings("ops", URL, EVENTS=every))
    assert endpoint.topics == set(topics.values())


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"ROTATION_WEBHOOKS": "ops,Ops"}, "ROTATION_WEBHOOKS names 'ops' twice"),
        ({"ROTATION_WEBHOOKS": "ops,no good"}, "ROTATION_WEBHOOKS names 'no good'"),
        ({"ROTATION_WEBHOOK_OPS_URL": ""}, "ROTATION_WEBHOOK_OPS_URL is missing"),
        (
            {"ROTATION_WEBHOOK_OPS_URL": "ftp://hooks.example.com/"},
            "ROTATION_WEBHOOK_OPS_URL must be an http:// or https:// URL",
        ),
        ({"ROTATION_WEBHOOK_OPS_URL": "http://host:99999/"}, "ROTATION_WEBHOOK_OPS_URL is not"),
        ({"ROTATION_WEBHOOK_OPS_SECRET": ""}, "ROTATION_WEBHOOK_OPS_SECRET is missing"),
        ({"ROTATION_WEBHOOK_OPS_SECRET": "short"}, "ROTATION_WEBHOOK_OPS_SECRET is too short"),
        (
            {"ROTATION_WEBHOOK_OPS_SECRET": "whsec_not base64!"},
            "ROTATION_WEBHOOK_OPS_SECRET starts with whsec_ but the rest is not base64",
        ),
        (
            {"ROTATION_WEBHOOK_OPS_EVENTS": "RotationPlanned,RotationPlaned"},
            "ROTATION_WEBHOOK_OPS_EVENTS names 'RotationPlaned', which is not an event",
        ),
        (
            {"ROTATION_WEBHOOK_OPS_TIMEOUT_SECONDS": "soon"},
            "ROTATION_WEBHOOK_OPS_TIMEOUT_SECONDS must be a number of seconds",
        ),
        (
            {"ROTATION_WEBHOOK_OPS_TIMEOUT_SECONDS": "0"},
            "ROTATION_WEBHOOK_OPS_TIMEOUT_SECONDS must be above 0",
        ),
        (
            {"ROTATION_WEBHOOK_OPS_MAX_ATTEMPTS": "2.5"},
            "ROTATION_WEBHOOK_OPS_MAX_ATTEMPTS must be a whole number",
        ),
    ],
)
def test_a_malformed_setting_is_refused_by_name(changes: dict[str, str], message: str) -> None:
    settings = {**endpoint_settings("ops", URL), **changes}

    with pytest.raises(WebhookSettingError, match=message.replace("?", r"\?")) as refused:
        endpoints_from_settings(settings)

    assert SECRET not in str(refused.value)


def test_a_malformed_setting_fails_the_plugin_and_the_program_opens_without_it(
    register_plugin: RegisterPlugin,
) -> None:
    settings = endpoint_settings(
        "ops", "ftp://user:pa55w0rd@hooks.example.com/?token=t0ken", MAX_ATTEMPTS="3"
    )

    program = register_plugin(rotation_webhooks, settings=settings)

    info = next(i for i in program.plugins() if i.name == "rotation_webhooks")
    assert info.status == "failed"
    assert info.error is not None
    assert "ROTATION_WEBHOOK_OPS_URL must be an http:// or https:// URL" in info.error
    assert "ftp://***@hooks.example.com/?***" in info.error
    for secret in (SECRET, "pa55w0rd", "t0ken"):
        assert secret not in info.error
    assert not any(s.name.startswith("webhook-") for s in program.consumer_status())


def test_settings_of_an_endpoint_not_listed_are_reported_as_ignored(
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = {**endpoint_settings("ops", URL), "ROTATION_WEBHOOK_AUDIT_URL": URL}

    with caplog.at_level(logging.WARNING, logger="rotation_webhooks"):
        endpoints_from_settings(settings)

    assert caplog.messages == [
        "ROTATION_WEBHOOK_AUDIT_URL is set but its endpoint is not listed in "
        "ROTATION_WEBHOOKS; it is ignored"
    ]


def test_endpoints_are_read_from_environment_variables(
    register_plugin: RegisterPlugin, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in endpoint_settings("ops", receiver.url, EVENTS="EmployeeRegistered").items():
        monkeypatch.setenv(name, value)

    program = register_plugin(rotation_webhooks)
    given(program, small_company)

    assert receiver.names() == ["EmployeeRegistered"] * 4
    assert "webhook-ops" in {s.name for s in program.consumer_status()}


def test_endpoints_are_read_from_the_config_file(
    register_plugin: RegisterPlugin,
    receiver: Receiver,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    config = tmp_path / "rotation.toml"
    config.write_text(
        f"""
[settings]
ROTATION_WEBHOOKS = "ops"
ROTATION_WEBHOOKS_SOURCE = "https://rotation.example.com"
ROTATION_WEBHOOK_OPS_URL = "{receiver.url}"
ROTATION_WEBHOOK_OPS_SECRET = "{SECRET}"
ROTATION_WEBHOOK_OPS_EVENTS = "DepartmentRegistered"
ROTATION_WEBHOOK_OPS_TIMEOUT_SECONDS = 5
ROTATION_WEBHOOK_OPS_MAX_ATTEMPTS = 3
""",
        encoding="utf-8",
    )
    monkeypatch.setenv("ROTATION_CONFIG", str(config))

    program = register_plugin(rotation_webhooks)
    given(program, small_company)

    assert receiver.names() == ["DepartmentRegistered"] * 3
    assert {e.get_source() for e in receiver.events()} == {"https://rotation.example.com"}
    integration = program.consumers.integrations["webhook-ops"].integration
    assert integration.max_attempts == 3
    assert isinstance(integration, rotation_webhooks.WebhookIntegration)
    assert integration.endpoint.timeout_seconds == 5.0


def test_the_environment_overrides_the_config_file(
    register_plugin: RegisterPlugin,
    receiver: Receiver,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    config = tmp_path / "rotation.toml"
    config.write_text(
        "\n".join(f'{k} = "{v}"' for k, v in endpoint_settings("ops", receiver.url).items()),
        encoding="utf-8",
    )
    monkeypatch.setenv("ROTATION_CONFIG", str(config))
    monkeypatch.setenv("ROTATION_WEBHOOK_OPS_EVENTS", "DepartmentRegistered")

    program = register_plugin(rotation_webhooks)
    given(program, small_company)

    assert receiver.names() == ["DepartmentRegistered"] * 3


def test_reprs_show_the_url_redacted_and_never_the_secret() -> None:
    [endpoint] = endpoints_from_settings(
        endpoint_settings("ops", "https://user:pa55w0rd@hooks.example.com/in?token=t0ken")
    )
    [integration] = rotation_webhooks.rotation_integrations(
        settings=endpoint_settings("ops", "https://user:pa55w0rd@hooks.example.com/in?token=t0ken")
    )

    for shown in (repr(endpoint), repr(integration)):
        assert "url='https://***@hooks.example.com/in?***'" in shown
        for secret in (SECRET, "pa55w0rd", "t0ken", "user"):
            assert secret not in shown


def test_the_installed_entry_point_loads_the_plugin_as_webhooks(
    rotation_program: RotationProgram,
) -> None:
    webhooks = next(info for info in rotation_program.plugins() if info.name == "webhooks")

    assert (webhooks.source, webhooks.status) == ("entry-point", "active")
    assert webhooks.version == rotation_webhooks.__version__ == "0.1.0"
    assert webhooks.hooks == ("rotation_integrations",)
