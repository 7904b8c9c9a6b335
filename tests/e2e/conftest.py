"""Fixtures for the end-to-end tests: the ``rotation`` command on a temporary store.

The helpers in tests/e2e/helpers are importable by name (``from e2e_cli import Cli``),
with ``--import-mode=importlib``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from rotation_domain import open_program

HELPERS = Path(__file__).parent / "helpers"
if str(HELPERS) not in sys.path:
    sys.path.insert(0, str(HELPERS))

from e2e_cli import Cli  # noqa: E402 - importable once HELPERS is on the path


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    """The ``rotation`` command on a SQLite file in a temporary directory (not created)."""
    return Cli(f"sqlite:///{tmp_path / 'rotation.db'}", tmp_path)


@pytest.fixture
def company(cli: Cli) -> Cli:
    """The command on a store with IT, Finance and Operations, two engineers, two mentors.

    Seeded in-process (the CLI's own directory commands have their own test). The policy
    allows 31 days, 2 away at once, 1 guest per department, 1 mentee per mentor; the
    review cycle 2027 is open.
    """
    assert cli.store is not None
    with open_program(cli.store) as program, program.acting_as("cio"):
        program.register_department("IT", name="Information Technology", is_it=True)
        program.register_department("FIN", name="Finance")
        program.register_department("OPS", name="Operations")
        for code, name, department in (
            ("E1", "Ada", "IT"),
            ("E2", "Alan", "IT"),
            ("M1", "Grace", "FIN"),
            ("M2", "Edsger", "OPS"),
        ):
            program.register_employee(
                code, name=name, email=f"{name.lower()}@example.com", department=department
            )
        program.set_policy(max_concurrent=2, max_guests_per_department=1)
        program.open_review_cycle("2027", start="2027-01-01", end="2027-12-31")
    return cli
