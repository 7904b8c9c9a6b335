"""Running the installed ``rotation`` console script as a user runs it, in a subprocess.

`Cli` runs it on one store, with the ``ROTATION_*`` variables of the surrounding
environment removed (the tests set what they need).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

RUN_TIMEOUT = 120


def rotation_script() -> str:
    """The installed ``rotation`` console script (beside the tests' interpreter)."""
    found = shutil.which("rotation", path=str(Path(sys.executable).parent)) or shutil.which(
        "rotation"
    )
    assert found is not None, "the rotation console script is installed with the project"
    return found


class Cli:
    """The ``rotation`` command on one store: ``cli("plan", ...)`` runs it."""

    def __init__(self, store: str | None, cwd: Path) -> None:
        self.script = rotation_script()
        self.store = store
        self.cwd = cwd

    def __call__(
        self, *args: str, actor: str | None = None, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run ``rotation --store STORE [--as ACTOR] ARGS``; the finished process.

        Without a store (``Cli(None, ...)``) no ``--store`` is passed.
        """
        environ = {k: v for k, v in os.environ.items() if not k.startswith("ROTATION_")}
        command = [self.script] + (["--store", self.store] if self.store else [])
        if actor is not None:
            command += ["--as", actor]
        return subprocess.run(
            [*command, *args],
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT,
            env={**environ, "COLUMNS": "200", "NO_COLOR": "1", **(env or {})},
            cwd=self.cwd,
            check=False,
        )

    def ok(self, *args: str, actor: str | None = None, env: dict[str, str] | None = None) -> str:
        """Run it; it must succeed; its standard output, stripped."""
        done = self(*args, actor=actor, env=env)
        assert done.returncode == 0, (
            f"rotation {' '.join(args)} exited {done.returncode}\n{done.stdout}\n{done.stderr}"
        )
        return done.stdout.strip()

    def json(self, *args: str, actor: str | None = None) -> Any:
        """Run a read command with ``--json``; the parsed output."""
        return json.loads(self.ok(*args, "--json", actor=actor))

    def refused(
        self, code: int, *args: str, actor: str | None = None, env: dict[str, str] | None = None
    ) -> str:
        """Run it; it must exit with ``code``, print one line and no traceback; that line."""
        done = self(*args, actor=actor, env=env)
        assert done.returncode == code, (
            f"rotation {' '.join(args)} exited {done.returncode}, expected {code}\n"
            f"{done.stdout}\n{done.stderr}"
        )
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1, f"expected one line on stderr, got:\n{done.stderr}"
        assert "Traceback" not in done.stderr
        return lines[0]
