"""Sending messages over SMTP with the standard library, with errors a person can act on."""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import EmailMessage

from rotation_email._settings import EmailSettings

__all__ = ["Connection", "EmailDeliveryError", "SmtpTransport"]


class EmailDeliveryError(RuntimeError):
    """An SMTP server could not be reached or refused a message.

    Its text names the server (``host:port``) and the step that failed; it never holds
    the password.
    """


class Connection:
    """One open SMTP session: send messages through it."""

    def __init__(self, transport: SmtpTransport, client: smtplib.SMTP) -> None:
        self._transport = transport
        self._client = client

    def send(self, message: EmailMessage) -> None:
        """Send one message to its To and Cc recipients.

        Raises:
            EmailDeliveryError: the server refused it or the connection broke.
        """
        with self._transport.failing(f"sending {message['Message-ID']}"):
            refused = self._client.send_message(message)
        if refused:
            listed = ", ".join(f"{who} ({code} {why!r})" for who, (code, why) in refused.items())
            raise self._transport.error(
                f"sending {message['Message-ID']}", f"recipients refused: {listed}"
            )


class SmtpTransport:
    """Opens SMTP sessions as the settings say: timeout, STARTTLS and login when configured."""

    def __init__(self, settings: EmailSettings) -> None:
        self.settings = settings

    @property
    def server(self) -> str:
        """``host:port``, for messages."""
        return f"{self.settings.host}:{self.settings.port}"

    def __repr__(self) -> str:
        return f"SmtpTransport({self.server}, user={self.settings.user!r})"

    def error(self, step: str, reason: str) -> EmailDeliveryError:
        """An error naming the server and the step, with the password scrubbed out."""
        text = f"SMTP {self.server}: {step} failed: {reason}"
        secret = self.settings.password.reveal()
        if secret:
            text = text.replace(secret, "***")
        return EmailDeliveryError(text)

    @contextmanager
    def failing(self, step: str) -> Iterator[None]:
        """Turn the network's and the server's errors during ``step`` into `EmailDeliveryError`.

        The original exception is not chained: its text and frames could hold what the
        server echoed back.
        """
        try:
            yield
        except EmailDeliveryError:
            raise
        except smtplib.SMTPResponseException as error:
            reply = error.smtp_error
            text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
            raise self.error(step, f"the server answered {error.smtp_code} {text!r}") from None
        except (smtplib.SMTPException, OSError, ValueError, UnicodeError) as error:
            raise self.error(step, f"{type(error).__name__}: {error}") from None

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        """An SMTP session, ready to send; it is closed afterwards.

        Raises:
            EmailDeliveryError: the server cannot be reached, does not speak SMTP, refused
                STARTTLS or the login, or took longer than the timeout to answer.
        """
        settings = self.settings
        with self.failing("connecting"):
            client = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout_seconds)
        try:
            with self.failing("greeting (EHLO)"):
                client.ehlo()
            if settings.starttls:
                with self.failing("STARTTLS"):
                    client.starttls(context=ssl.create_default_context())
                    client.ehlo()
            if settings.user:
                with self.failing(f"login as {settings.user}"):
                    client.login(settings.user, settings.password.reveal())
            yield Connection(self, client)
        finally:
            try:
                client.quit()
            except (smtplib.SMTPException, OSError):
                client.close()
