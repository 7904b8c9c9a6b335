"""What the figures were measured on: CPU, cores, Python, library and database versions."""

from __future__ import annotations

import os
import platform
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

__all__ = ["machine_info", "source_revision"]


def _cpu_model() -> str:
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return platform.processor() or "unknown"
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("model name", "Hardware", "Processor") and value.strip():
            return value.strip()
    return platform.processor() or "unknown"


def _package_version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


def _git(*args: str) -> str:
    root = Path(__file__).resolve().parent.parent
    try:
        done = subprocess.run(
            ["git", "-C", str(root), *args], capture_output=True, text=True, timeout=10, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return ""
    return done.stdout


def source_revision() -> dict[str, Any]:
    """The commit measured, and the source files that differ from it (work in progress)."""
    changed = [line[3:] for line in _git("status", "--porcelain", "--", "src").splitlines() if line]
    commit = _git("rev-parse", "--short", "HEAD").strip()
    import rotation_domain

    return {
        "commit": commit or "unknown",
        "src_changes": changed,
        "rotation_domain_imported_from": str(Path(rotation_domain.__file__).resolve().parent),
    }


def machine_info(postgres_version: str | None) -> dict[str, Any]:
    """The machine and software the run measured, for the report and the JSON file."""
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        usable = os.cpu_count() or 0
    return {
        "finished": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpu_model": _cpu_model(),
        "cores": os.cpu_count() or 0,
        "usable_cores": usable,
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "python_implementation": platform.python_implementation(),
        "eventsourcing": _package_version("eventsourcing"),
        "rotation_domain": _package_version("rotation-domain"),
        "psycopg": _package_version("psycopg"),
        "sqlite": sqlite3.sqlite_version,
        "postgresql": postgres_version or "not measured",
    }
