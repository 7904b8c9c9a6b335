"""Bulk seeding through the real commands: many commands, one transaction per batch.

`BulkSeeder` opens an ordinary program with `open_program()` and makes its commands
share one unit of work until `flush()` saves it: every command still runs its own
code (its checks, its events), but seeding thousands of rotations costs a few large
transactions instead of thousands of small ones. (It replaces the program's
``_run``, the step that gives each command a unit of work, saves it and retries;
authorization and vetoes by plugins, and catching views up, are skipped.) Timed
measurements never use it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import date
from typing import Any, TypeVar

from rotation_domain import RotationProgram, open_program
from rotation_domain._service import UnitOfWork

__all__ = ["SEED_ACTOR", "BulkSeeder", "Company"]

T = TypeVar("T")

SEED_ACTOR = "bench-seed@example.com"
TODAY = date(2027, 1, 1)


class BulkSeeder:
    """A program on ``url`` whose commands share one unit of work until `flush()`."""

    def __init__(self, url: str, *, batch: int = 200) -> None:
        self.program: RotationProgram = open_program(url, today=lambda: TODAY)
        self.program._run = self._run  # type: ignore[method-assign]
        self._unit: UnitOfWork | None = None
        self._pending = 0
        self._batch = batch

    def _run(self, actor: str | None, command: Callable[[UnitOfWork], T]) -> T:
        if self._unit is None:
            who = self.program._resolve_actor(actor)
            self._unit = UnitOfWork(self.program.app, who)
        result = command(self._unit)
        self._pending += 1
        if self._pending >= self._batch:
            self.flush()
        return result

    def flush(self) -> None:
        """Save every change of the commands run since the last flush, in one transaction."""
        if self._unit is not None:
            self._unit.save()
        self._unit = None
        self._pending = 0

    def events(self) -> int:
        """How many events the store holds."""
        return self.program.app.recorder.max_notification_id() or 0

    def close(self) -> None:
        """Save what is pending and release the store."""
        try:
            self.flush()
        finally:
            self.program.close()


class Company:
    """The directory a benchmark needs: IT staff, host departments and their mentors."""

    IT_DEPARTMENTS = ("IT", "ITOPS")

    def __init__(self, *, it_staff: int, hosts: int, mentors_per_host: int) -> None:
        self.staff = [f"P{n:05d}" for n in range(it_staff)]
        self.hosts = [f"H{n:02d}" for n in range(hosts)]
        self.mentors = {
            host: [f"M-{host}-{k}" for k in range(mentors_per_host)] for host in self.hosts
        }

    def seed(self, seeder: BulkSeeder, policy: Mapping[str, Any]) -> None:
        """Register the departments and people and set the policy; flushes at the end."""
        program = seeder.program
        with program.acting_as(SEED_ACTOR):
            for code in self.IT_DEPARTMENTS:
                program.register_department(code, name=f"{code} department", is_it=True)
            for code in self.hosts:
                program.register_department(code, name=f"Host {code}")
            for n, code in enumerate(self.staff):
                self._register(program, code, self.IT_DEPARTMENTS[n % 2])
            for host, mentors in self.mentors.items():
                for code in mentors:
                    self._register(program, code, host)
            program.set_policy(**policy)
        seeder.flush()

    @staticmethod
    def _register(program: RotationProgram, code: str, department: str) -> None:
        program.register_employee(
            code, name=f"Person {code}", email=f"{code.lower()}@example.com", department=department
        )

    def register_more(self, seeder: BulkSeeder, codes: Iterable[str]) -> None:
        """Register extra IT staff (in the first IT department); flushes at the end."""
        with seeder.program.acting_as(SEED_ACTOR):
            for code in codes:
                self._register(seeder.program, code, self.IT_DEPARTMENTS[0])
        seeder.flush()
