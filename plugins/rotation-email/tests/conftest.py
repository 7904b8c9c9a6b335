"""The plugin toolkit's fixtures, and real servers on loopback: SMTP (aiosmtpd) and broken ones."""

from __future__ import annotations

import ipaddress
import socket
import ssl
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

pytest_plugins = ["rotation_domain.testing"]

PASSWORD = "s3cret-Pa55word!"
USER = "rotation"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Received:
    """One message the server accepted: its envelope and the parsed message."""

    def __init__(self, mail_from: str, rcpt_tos: list[str], content: bytes) -> None:
        self.mail_from = mail_from
        self.rcpt_tos = sorted(rcpt_tos)
        self.message: EmailMessage = message_from_bytes(content, policy=policy.default)  # type: ignore[assignment]

    @property
    def message_id(self) -> str:
        return str(self.message["Message-ID"])

    @property
    def kind(self) -> str:
        return str(self.message["X-Rotation-Message"])

    def text(self) -> str:
        body = self.message.get_body(("plain",))
        assert body is not None
        return str(body.get_content()).replace("\r\n", "\n")

    def html(self) -> str | None:
        body = self.message.get_body(("html",))
        return None if body is None else str(body.get_content()).replace("\r\n", "\n")

    def calendars(self) -> list[Any]:
        from icalendar import Calendar

        return [
            Calendar.from_ical(part.get_content())
            for part in self.message.walk()
            if part.get_content_type() == "text/calendar"
        ]

    def __repr__(self) -> str:
        return f"Received({self.kind}, to={self.rcpt_tos}, {self.message['Subject']!r})"


class Mailbox:
    """An aiosmtpd handler that keeps what arrives; it can refuse the next messages."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.refused: list[str] = []
        self.refuse_next = 0
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        with self.lock:
            arrived = Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.content)
            if self.refuse_next:
                self.refuse_next -= 1
                self.refused.append(arrived.message_id)
                return "451 4.3.0 Mailbox busy, try again later"
            self.received.append(arrived)
        return "250 OK"

    def of_kind(self, kind: str) -> list[Received]:
        return [each for each in self.received if each.kind == kind]

    def one(self, kind: str) -> Received:
        found = self.of_kind(kind)
        assert len(found) == 1, f"expected one {kind}, got {self.received}"
        return found[0]


class SmtpServer:
    """A real SMTP server (aiosmtpd) on 127.0.0.1, optionally with STARTTLS and AUTH."""

    def __init__(
        self, *, tls: ssl.SSLContext | None = None, auth: bool = False, port: int | None = None
    ) -> None:
        self.mailbox = Mailbox()
        self.port = port or free_port()
        self.user, self.password = USER, PASSWORD
        self.logins: list[tuple[str, str]] = []
        kwargs: dict[str, Any] = {}
        if tls is not None:
            kwargs.update(tls_context=tls, require_starttls=True)
        if auth:
            kwargs.update(authenticator=self._authenticate, auth_require_tls=tls is not None)
        self.controller = Controller(
            self.mailbox, hostname="127.0.0.1", port=self.port, ready_timeout=10, **kwargs
        )

    def _authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        if isinstance(auth_data, LoginPassword):
            user, password = auth_data.login.decode(), auth_data.password.decode()
            self.logins.append((user, password))
            return AuthResult(success=user == USER and password == PASSWORD, handled=False)
        return AuthResult(success=False, handled=False)

    def settings(self, **more: str) -> dict[str, str]:
        return {
            "ROTATION_SMTP_HOST": "127.0.0.1",
            "ROTATION_SMTP_PORT": str(self.port),
            "ROTATION_SMTP_FROM": "IT Rotation Program <rotation@example.com>",
            "ROTATION_SMTP_TIMEOUT_SECONDS": "5",
            **more,
        }

    def start(self) -> None:
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()


@pytest.fixture
def server_later() -> Iterator[Any]:
    """``server_later(port)`` starts an SMTP server on a port chosen earlier; stopped after."""
    started: list[SmtpServer] = []

    def start(port: int) -> SmtpServer:
        server = SmtpServer(port=port)
        server.start()
        started.append(server)
        return server

    try:
        yield start
    finally:
        for server in started:
            server.stop()


@pytest.fixture
def unused_port() -> int:
    """A loopback port nothing listens on (yet)."""
    return free_port()


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    """A running SMTP server on loopback, stopped after the test."""
    server = SmtpServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def tls_certificate(tmp_path: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1, made with the `cryptography` package."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@pytest.fixture
def tls_smtp_server(
    tls_certificate: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> Iterator[SmtpServer]:
    """An SMTP server that requires STARTTLS and a login; the client trusts its certificate."""
    cert, key = tls_certificate
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    server = SmtpServer(tls=context, auth=True)
    server.start()
    try:
        yield server
    finally:
        server.stop()


class BrokenServer:
    """A raw TCP server on loopback that answers garbage, or accepts and says nothing."""

    def __init__(self, behaviour: str) -> None:
        self.behaviour = behaviour
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(8)
        self.port = int(self.listener.getsockname()[1])
        self.connections = 0
        self._stop = threading.Event()
        self._open: list[socket.socket] = []
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        self.listener.settimeout(0.1)
        while not self._stop.is_set():
            try:
                conn, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections += 1
            if self.behaviour == "garbage":
                conn.sendall(b"\x00\xffHELLO?? this is not smtp\r\nxyz\r\n")
                conn.close()
            else:  # stall: keep the connection open, say nothing
                self._open.append(conn)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        for conn in self._open:
            conn.close()
        self.listener.close()


@pytest.fixture
def broken_server() -> Iterator[Any]:
    """A factory of broken servers: ``broken_server("garbage")`` or ``("stall")``."""
    made: list[BrokenServer] = []

    def make(behaviour: str) -> BrokenServer:
        server = BrokenServer(behaviour)
        made.append(server)
        return server

    try:
        yield make
    finally:
        for server in made:
            server.close()


def company(program: Any) -> None:
    """A scenario step: IT (E1, E2, E3 managed by B1), FIN (M1), OPS (M2), and B1 in IT."""
    program.register_department("IT", name="Information Technology", is_it=True)
    program.register_department("FIN", name="Finance")
    program.register_department("OPS", name="Operations")
    program.register_employee("B1", name="Barbara Liskov", email="b1@example.com", department="IT")
    for code, name in (("E1", "Ada Lovelace"), ("E2", "Alan Turing"), ("E3", "Edsger Dijkstra")):
        program.register_employee(
            code, name=name, email=f"{code.lower()}@example.com", department="IT", manager="B1"
        )
    program.register_employee("M1", name="Grace Hopper", email="m1@example.com", department="FIN")
    program.register_employee("M2", name="Frances Allen", email="m2@example.com", department="OPS")


@pytest.fixture
def company_step() -> Any:
    """The `company` scenario step."""
    return company
