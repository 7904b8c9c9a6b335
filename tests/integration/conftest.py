"""Makes the helper scripts in tests/integration/scripts importable by name.

The same files run as subprocesses (workers, planners, writers), where their own folder is
first on ``sys.path``; putting it there for the test modules too lets both import them
the same way (``import harness``), with ``--import-mode=importlib``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

SCRIPTS = Path(__file__).parent / "scripts"
if str(SCRIPTS) not in sys.path:
    sys.path.insert(0, str(SCRIPTS))

import harness  # noqa: E402 - importable once its folder is on sys.path


@pytest.fixture
def children(tmp_path: Path) -> Iterator[Callable[..., Any]]:
    """Start child processes (workers, planners); every one still running at the end is killed."""
    started: list[Any] = []

    def start(args: list[str], *, name: str) -> Any:
        child = harness.Child(args, logs=tmp_path / "logs" / name)
        started.append(child)
        return child

    yield start
    for child in started:
        child.close()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def shared_store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A store two programs or processes can share: a SQLite file or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'rotation.db'}"
    return str(request.getfixturevalue("postgres_schema_url"))
