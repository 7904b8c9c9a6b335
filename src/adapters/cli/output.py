"""How the ``rotation`` command prints: rich tables for people, JSON for programs.

Data goes to standard output (tables, JSON, the id a command created); what a
command did, in words, goes to standard error, so ``ID=$(rotation plan ...)`` works.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Any
from uuid import UUID

import attrs
import click
from rich.console import Console
from rich.table import Table

__all__ = ["cell", "done", "plain", "print_json", "print_table", "stdout"]


def stdout() -> Console:
    """A rich console on standard output (no colours when it is not a terminal)."""
    return Console(highlight=False)


def plain(value: Any) -> Any:
    """The value as JSON-ready data: dates in ISO form, ids and enums as text.

    attrs instances become objects of their fields; mappings, tuples and lists recurse.
    """
    if isinstance(value, enum.Enum):
        return plain(value.value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    if attrs.has(type(value)):
        return {
            field.name: plain(getattr(value, field.name)) for field in attrs.fields(type(value))
        }
    if isinstance(value, Mapping):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [plain(item) for item in value]
    return value


def print_json(value: Any) -> None:
    """Print the value as indented JSON on standard output."""
    click.echo(json.dumps(plain(value), indent=2, ensure_ascii=False))


def cell(value: Any) -> str:
    """A table cell: empty for None, ISO dates, comma-joined sequences, rates as percents."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.0%}" if 0.0 <= value <= 1.0 else f"{value:.1f}"
    if isinstance(value, (list, tuple)):
        return ", ".join(cell(item) for item in value)
    result = plain(value)
    return str(result)


def print_table(
    title: str,
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    empty: str = "nothing to show",
    caption: str | None = None,
) -> None:
    """Print a rich table on standard output (or ``empty`` when there are no rows)."""
    materialised = [list(row) for row in rows]
    console = stdout()
    if not materialised:
        console.print(f"{title}: {empty}")
        return
    table = Table(title=title, caption=caption)
    for column in columns:
        numeric = column.startswith(("#", "n ")) or column in _NUMERIC
        table.add_column(column, justify="right" if numeric else "left")
    for row in materialised:
        table.add_row(*(cell(value) for value in row))
    console.print(table)


_NUMERIC = frozenset(
    {
        "away",
        "cap",
        "free",
        "count",
        "position",
        "lag",
        "parked",
        "hosted",
        "completed",
        "observations",
        "proposed",
        "adopted",
        "rejected",
        "withdrawn",
        "pending",
        "nominated",
        "agreed",
        "declined",
        "briefed",
        "concluded",
        "discussion",
        "reading",
        "hands-on",
        "days",
        "adoption",
        "median days",
        "IT staff hosted",
    }
)


def done(message: str) -> None:
    """Tell the user, on standard error, what the command recorded."""
    click.echo(message, err=True)
