"""The event catalog (docs/events.md) and the concepts page agree with the code.

Each event class nested in an aggregate of ``rotation_domain`` must have a section in
docs/events.md with this layout (and no section may name an event that does not exist)::

    ### EventName

    Topic: `rotation_domain:EventName` · version 1 · aggregate Rotation

    Recorded by: `plan_rotation()`, ...

    | field | type | meaning |
    |---|---|---|
    | `participant` | `str` | ... |

The table lists the event's own dataclass fields, in declaration order, without the
fields every event shares. Types are written by `type_text` (``date | None``, ``UUID``,
``Booking``); a ``|`` inside a table cell is escaped as ``\\|``.
"""

from __future__ import annotations

import dataclasses
import re
import types
import typing
from pathlib import Path
from typing import Any

import pytest
from eventsourcing.domain import CanMutateAggregate

import rotation_domain
from rotation_domain import RotationProgram
from rotation_domain._aggregate import ProgramAggregate

DOCS = Path(__file__).resolve().parents[1] / "docs"

COMMON_FIELDS = ("originator_id", "originator_version", "timestamp", "actor", "originator_topic")
"""Fields described once at the top of the catalog, not in each event's table."""

EXPECTED_AGGREGATES = {
    "Program",
    "Department",
    "Employee",
    "MonthRoster",
    "Rotation",
    "Mentorship",
    "Improvement",
}

TOPIC_LINE = re.compile(
    r"^Topic: `(?P<topic>[^`]+)` · version (?P<version>\d+) · aggregate (?P<aggregate>\w+)$"
)
TABLE_HEADER = "| field | type | meaning |"
CELL_SEPARATOR = re.compile(r"(?<!\\)\|")


def aggregate_classes() -> list[type[ProgramAggregate]]:
    """Every aggregate class the package defines (subclasses of ProgramAggregate)."""
    found: list[type[ProgramAggregate]] = []
    pending = list(ProgramAggregate.__subclasses__())
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if cls.__module__.startswith(f"{rotation_domain.__name__}.") and cls not in found:
            found.append(cls)
    return sorted(found, key=lambda cls: cls.__name__)


def event_classes() -> dict[type[Any], type[ProgramAggregate]]:
    """Each event class nested in an aggregate (``Created`` aliases counted once)."""
    events: dict[type[Any], type[ProgramAggregate]] = {}
    for aggregate in aggregate_classes():
        for value in vars(aggregate).values():
            if (
                isinstance(value, type)
                and issubclass(value, CanMutateAggregate)
                and value is not aggregate.Event
                and getattr(value, "TOPIC", None)
            ):
                events.setdefault(value, aggregate)
    return events


def type_text(hint: Any) -> str:
    """How the catalog writes a field's type: ``str``, ``UUID``, ``date | None``."""
    if hint is type(None):
        return "None"
    origin = typing.get_origin(hint)
    if origin is typing.Union or origin is types.UnionType:
        return " | ".join(type_text(arg) for arg in typing.get_args(hint))
    if origin is not None:
        args = ", ".join("..." if arg is Ellipsis else type_text(arg) for arg in hint.__args__)
        return f"{type_text(origin)}[{args}]"
    if isinstance(hint, type):
        return hint.__name__
    return str(hint)


def own_fields(event: type[Any]) -> list[tuple[str, str]]:
    """The event's fields other than the common ones, with their type text, in order."""
    hints = typing.get_type_hints(event)
    return [
        (field.name, type_text(hints[field.name]))
        for field in dataclasses.fields(event)
        if field.name not in COMMON_FIELDS
    ]


@dataclasses.dataclass
class Section:
    """One ``### EventName`` section of the catalog, as parsed."""

    name: str
    lines: list[str]

    def topic_line(self) -> re.Match[str] | None:
        return next(filter(None, (TOPIC_LINE.match(line) for line in self.lines)), None)

    def recorded_by(self) -> str | None:
        """The first sentence of the ``Recorded by:`` paragraph: the list of commands."""
        text = "\n".join(self.lines)
        found = re.search(r"^Recorded by: (.*?)(?:\.\s|\.?\n\n|\Z)", text, re.MULTILINE | re.DOTALL)
        return found.group(1) if found else None

    def table(self) -> list[tuple[str, str]] | None:
        """The (field, type) rows of the section's table, or None without a table."""
        try:
            start = self.lines.index(TABLE_HEADER)
        except ValueError:
            return None
        rows = []
        for line in self.lines[start + 2 :]:
            if not line.startswith("|"):
                break
            cells = [cell.strip() for cell in CELL_SEPARATOR.split(line)[1:-1]]
            rows.append((_plain(cells[0]), _plain(cells[1])))
        return rows


def _plain(cell: str) -> str:
    return cell.replace("\\|", "|").strip("`").strip()


def catalog_sections() -> dict[str, Section]:
    """The ``###`` sections of docs/events.md, by heading."""
    sections: dict[str, Section] = {}
    current: Section | None = None
    for line in (DOCS / "events.md").read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            current = None
            if line.startswith("### "):
                name = line.removeprefix("### ").strip()
                assert name not in sections, f"events.md has two sections named {name}"
                current = sections[name] = Section(name, [])
        elif current is not None:
            current.lines.append(line.rstrip())
    return sections


EVENTS = event_classes()


def test_the_aggregates_found_are_those_of_the_design() -> None:
    assert {cls.__name__ for cls in aggregate_classes()} >= EXPECTED_AGGREGATES
    assert {aggregate.__name__ for aggregate in EVENTS.values()} == {
        cls.__name__ for cls in aggregate_classes()
    }


@pytest.mark.parametrize("event", list(EVENTS), ids=lambda event: event.__name__)
def test_every_event_is_in_the_catalog_with_its_topic_version_aggregate_and_fields(
    event: type[Any],
) -> None:
    sections = catalog_sections()
    name = event.__name__
    section = sections.get(name)
    assert section is not None, f"docs/events.md has no '### {name}' section"

    topic = section.topic_line()
    assert topic is not None, f"the {name} section has no 'Topic: `...` · version N · ...' line"
    assert topic["topic"] == event.TOPIC
    assert int(topic["version"]) == getattr(event, "class_version", 1)
    assert topic["aggregate"] == EVENTS[event].__name__

    table = section.table()
    assert table is not None, f"the {name} section has no '{TABLE_HEADER}' table"
    assert table == own_fields(event), (
        f"the {name} table lists {table}, the code declares {own_fields(event)}"
    )


@pytest.mark.parametrize("event", list(EVENTS), ids=lambda event: event.__name__)
def test_every_event_says_which_commands_record_it(event: type[Any]) -> None:
    section = catalog_sections().get(event.__name__)
    assert section is not None, f"docs/events.md has no '### {event.__name__}' section"
    recorded_by = section.recorded_by()
    assert recorded_by, f"the {event.__name__} section has no 'Recorded by:' line"
    commands = re.findall(r"`(\w+)\(\)`", recorded_by)
    assert commands, f"the {event.__name__} section names no command as `command()`"
    unknown = [c for c in commands if c.startswith("_") or not hasattr(RotationProgram, c)]
    assert not unknown, f"RotationProgram has no command(s) {unknown}"


def test_the_catalog_names_no_event_that_does_not_exist() -> None:
    names = {event.__name__ for event in EVENTS}
    assert sorted(set(catalog_sections()) - names) == []


def test_the_common_fields_are_those_every_event_has() -> None:
    for event in EVENTS:
        names = {field.name for field in dataclasses.fields(event)}
        assert {"originator_id", "originator_version", "timestamp", "actor"} <= names
        is_created = issubclass(event, ProgramAggregate.Created)
        assert ("originator_topic" in names) == is_created, event.__name__
    text = (DOCS / "events.md").read_text(encoding="utf-8")
    for name in COMMON_FIELDS:
        assert f"| `{name}` |" in text, f"events.md does not describe the common field {name}"


def test_type_text_writes_the_types_as_the_catalog_does() -> None:
    from datetime import date
    from uuid import UUID

    assert type_text(date | None) == "date | None"
    assert type_text(UUID) == "UUID"
    assert type_text(tuple[str, ...]) == "tuple[str, ...]"
    assert type_text(dict[UUID, int]) == "dict[UUID, int]"


def test_the_concepts_page_covers_every_rule_and_every_aggregate() -> None:
    text = (DOCS / "concepts.md").read_text(encoding="utf-8")
    missing_rules = [f"R{n}" for n in range(1, 11) if not re.search(rf"\bR{n}\b", text)]
    assert missing_rules == []
    missing = [cls.__name__ for cls in aggregate_classes() if f"**{cls.__name__}**" not in text]
    assert missing == [], "each aggregate is introduced in bold in docs/concepts.md"
