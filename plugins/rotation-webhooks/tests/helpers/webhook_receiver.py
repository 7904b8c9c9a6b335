"""A real HTTP receiver on loopback that records webhooks and checks their signatures."""

from __future__ import annotations

import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import attrs
from cloudevents.core.bindings.http import HTTPMessage, from_http
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent

from rotation_webhooks import InvalidSignature, verify_signature

SECRET = "a-test-secret-of-more-than-16-bytes"
"""The signing secret every test endpoint uses."""

STALL = "stall"
"""A scripted answer: hold the request without answering until the test ends."""

GARBAGE = "garbage"
"""A scripted answer: bytes that are not HTTP, then close the connection."""


@attrs.frozen
class Received:
    """One request the receiver got, and what it made of it."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    answer: int | str
    signature_error: str | None

    @property
    def event(self) -> CloudEvent:
        """The request parsed by the CloudEvents SDK (v1.0, structured or binary mode)."""
        parsed = from_http(HTTPMessage(self.headers, self.body), JSONFormat(), CloudEvent)
        assert isinstance(parsed, CloudEvent)
        return parsed


class Receiver:
    """An HTTP server on 127.0.0.1 that records every request and checks its signature.

    It answers 200 unless told otherwise: ``script`` holds the answers to the next
    requests, each a status code, `STALL` or `GARBAGE`.
    """

    def __init__(self, secret: str = SECRET, port: int = 0) -> None:
        self.secret = secret
        self.requests: list[Received] = []
        self.script: deque[int | str] = deque()
        self.released = threading.Event()
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def port(self) -> int:
        """The port the server listens on."""
        return int(self.server.server_address[1])

    @property
    def url(self) -> str:
        """Where to POST."""
        return f"http://127.0.0.1:{self.port}/hooks"

    def start(self) -> Receiver:
        """Serve in a thread of its own."""
        self.thread.start()
        return self

    def stop(self) -> None:
        """Answer the stalled requests, stop serving and close the socket."""
        self.released.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)

    @property
    def accepted(self) -> list[Received]:
        """The requests answered 2xx."""
        return [r for r in self.requests if isinstance(r.answer, int) and 200 <= r.answer < 300]

    def events(self) -> list[CloudEvent]:
        """The events of the accepted requests, parsed by the CloudEvents SDK."""
        return [request.event for request in self.accepted]

    def names(self) -> list[str]:
        """The event names (the end of each accepted message's ``type``)."""
        return [event.get_type().rsplit(".", 1)[-1] for event in self.events()]

    def wait_for(self, count: int, timeout: float = 10) -> None:
        """Wait until ``count`` requests have arrived."""
        deadline = time.monotonic() + timeout
        while len(self.requests) < count and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(self.requests) >= count, f"{len(self.requests)} requests, not {count}"

    def _record(self, request: BaseHTTPRequestHandler, body: bytes) -> int | str:
        headers = {name.lower(): value for name, value in request.headers.items()}
        try:
            verify_signature(self.secret, headers, body)
            error = None
        except InvalidSignature as refused:
            error = str(refused)
        with self._lock:
            answer = self.script.popleft() if self.script else 200
            if error is not None and isinstance(answer, int) and answer < 300:
                answer = 401
            self.requests.append(
                Received(request.command, request.path, headers, body, answer, error)
            )
        return answer

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                answer = receiver._record(self, body)
                if answer == STALL:
                    receiver.released.wait(timeout=30)
                    return
                if answer == GARBAGE:
                    self.wfile.write(b"this is not HTTP\r\n\r\n")
                    return
                assert isinstance(answer, int)
                self.send_response(answer)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                """Keep the test output quiet."""

        return Handler


def endpoint_settings(name: str, url: str, **more: str) -> dict[str, str]:
    """The settings of one endpoint: ``endpoint_settings("ops", url, EVENTS="...")``."""
    prefix = f"ROTATION_WEBHOOK_{name.upper().replace('-', '_')}_"
    return {
        "ROTATION_WEBHOOKS": name,
        f"{prefix}URL": url,
        f"{prefix}SECRET": SECRET,
        **{f"{prefix}{key}": value for key, value in more.items()},
    }
