"""The plugin test toolkit's fixtures, and receivers on loopback.

``helpers/`` is put on ``sys.path`` so that the tests import ``webhook_receiver`` by name
(with ``--import-mode=importlib`` a test module cannot import a sibling).
"""

from __future__ import annotations

import socket
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

HELPERS = Path(__file__).parent / "helpers"
if str(HELPERS) not in sys.path:
    sys.path.insert(0, str(HELPERS))

from webhook_receiver import Receiver  # noqa: E402 - importable once HELPERS is on the path

pytest_plugins = ["rotation_domain.testing"]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A receiver serving on a free port of 127.0.0.1 for one test."""
    started = Receiver().start()
    try:
        yield started
    finally:
        started.stop()


@pytest.fixture
def start_receiver() -> Iterator[Callable[[int], Receiver]]:
    """A function that starts a receiver on a given port (stopped after the test)."""
    started: list[Receiver] = []

    def start(port: int) -> Receiver:
        receiver = Receiver(port=port).start()
        started.append(receiver)
        return receiver

    try:
        yield start
    finally:
        for receiver in started:
            receiver.stop()


@pytest.fixture
def closed_port() -> int:
    """A port of 127.0.0.1 nothing listens on: connections to it are refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port
