"""``rotation plugins``, run as a user runs it: the installed console script, in a subprocess.

The store is a temporary SQLite file. Other plugins may be installed in the environment
(their entry points load too), so the tests look at the default plugin's entry only.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from rotation_domain import RotationProgram, open_program

STANDARD_VIEWS = [
    "participation",
    "capacity",
    "mentor_engagement",
    "improvement_pipeline",
    "department_bridges",
]
RUN_TIMEOUT = 60
CIO = "cio@example.com"


@pytest.fixture
def rotation() -> str:
    """The installed ``rotation`` console script (beside the tests' interpreter)."""
    found = shutil.which("rotation", path=str(Path(sys.executable).parent)) or shutil.which(
        "rotation"
    )
    assert found is not None, "the rotation console script is installed with the project"
    return found


def run(rotation: str, *args: str, env: dict[str, str] | None = None) -> str:
    """Run the console script; its standard output (it must succeed)."""
    environ = {
        name: value
        for name, value in os.environ.items()
        if name not in ("ROTATION_STORE", "ROTATION_PLUGINS", "ROTATION_DISABLE_PLUGINS")
    }
    done = subprocess.run(
        [rotation, *args],
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        env={**environ, "COLUMNS": "200", **(env or {})},
        check=False,
    )
    assert done.returncode == 0, f"exit code {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done.stdout


def default_plugin(listing: list[dict[str, Any]]) -> dict[str, Any]:
    found = [plugin for plugin in listing if plugin["name"] == "default_views"]
    assert len(found) == 1, listing
    return found[0]


@pytest.fixture
def store(tmp_path: Path, seed: Callable[[RotationProgram], None]) -> tuple[str, int]:
    """A SQLite store whose views caught up with a small story, then one more event."""
    url = f"sqlite:///{tmp_path / 'rotation.db'}"
    with open_program(url) as program:  # embedded: the views catch up after each command
        seed(program)
        with program.acting_as(CIO):
            program.open_review_cycle("2027", start="2027-01-01", end="2027-12-31")
            rotation = program.plan_rotation(
                "E1", host_department="FIN", start="2027-02-01", end="2027-02-20"
            )
            mentorship = program.nominate_mentor(rotation, mentor="M1")
        program.accept_mentorship(mentorship, actor="M1")
        with program.acting_as(CIO):
            program.start_rotation(rotation, on="2027-02-01")
        with program.acting_as("E1"):
            program.record_observation(rotation, "Invoices are keyed twice", on="2027-02-03")
            improvement = program.propose_improvement(rotation, title="Scan invoices")
        program.adopt_improvement(improvement, on="2027-02-18", actor="M1")
        program.complete_rotation(rotation, on="2027-02-20", actor=CIO)
    with open_program(url, inline=False) as program:  # one event the views have not seen
        program.register_department("LEGAL", name="Legal", actor=CIO)
        head = program.app.recorder.max_notification_id() or 0
    return url, head


def test_plugins_as_json_lists_the_default_plugin_active_with_its_five_views_positions_and_lag(
    rotation: str, store: tuple[str, int]
) -> None:
    url, head = store
    with open_program(url, inline=False) as program:
        expected = {s.name: s for s in program.consumer_status() if s.plugin == "default_views"}

    listing = json.loads(run(rotation, "--store", url, "plugins", "--json"))

    plugin = default_plugin(listing)
    assert plugin["status"] == "active"
    assert plugin["source"] == "default"
    assert plugin["error"] is None
    assert "rotation_views" in plugin["hooks"]
    assert [c["name"] for c in plugin["consumers"]] == STANDARD_VIEWS
    for consumer in plugin["consumers"]:
        status = expected[consumer["name"]]
        assert consumer["kind"] == "view"
        assert 0 < consumer["position"] < head, "caught up with the seed, not the last event"
        assert consumer["position"] == status.position
        assert consumer["lag"] == head - consumer["position"] == status.lag
        assert (consumer["retrying"], consumer["parked"]) == (0, 0)


def test_plugins_on_an_empty_store_lists_the_five_views_at_position_zero(
    rotation: str, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"

    listing = json.loads(run(rotation, "--store", url, "plugins", "--json"))

    plugin = default_plugin(listing)
    assert plugin["status"] == "active"
    assert [(c["name"], c["position"], c["lag"]) for c in plugin["consumers"]] == [
        (name, 0, 0) for name in STANDARD_VIEWS
    ]


def test_plugins_as_a_table_shows_each_view_with_its_position_and_lag(
    rotation: str, store: tuple[str, int]
) -> None:
    url, _ = store
    with open_program(url, inline=False) as program:
        expected = {s.name: s for s in program.consumer_status() if s.plugin == "default_views"}

    table = run(rotation, "--store", url, "plugins")

    assert "Plugins" in table
    lines = table.splitlines()
    assert any("default_views" in line and "active" in line for line in lines), table
    for name in STANDARD_VIEWS:
        row = next((line for line in lines if f" {name} " in line), None)
        assert row is not None, f"no row for {name}:\n{table}"
        # │ plugin │ version │ status │ hooks │ consumer │ position │ lag │ parked │
        cells = [cell.strip() for cell in row.split("│")][5:9]
        status = expected[name]
        assert cells == [name, str(status.position), str(status.lag), "0"], row
        assert status.position > 0


def test_plugins_shows_a_default_plugin_blocked_by_the_deny_list_without_its_views(
    rotation: str, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'rotation.db'}"

    listing = json.loads(
        run(
            rotation,
            "--store",
            url,
            "plugins",
            "--json",
            env={"ROTATION_DISABLE_PLUGINS": "default_views"},
        )
    )

    plugin = default_plugin(listing)
    assert plugin["status"] == "blocked"
    assert plugin["consumers"] == []
