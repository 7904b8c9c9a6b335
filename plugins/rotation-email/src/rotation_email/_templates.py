"""Message templates: ``string.Template`` files a company can override, one kind per file.

A kind's text template is ``<kind>.txt``: its first line is ``Subject: ...``, then a
blank line, then the body. An optional ``<kind>.html`` is the body of an HTML
alternative. The company's directory (``ROTATION_SMTP_TEMPLATES``) is looked in first,
then the templates shipped with the plugin. ``string.Template`` only substitutes
``$name`` placeholders: a template cannot run code. Values put into HTML are escaped.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from importlib.resources import files
from pathlib import Path
from string import Template

import attrs

from rotation_email._settings import SettingsError

__all__ = ["KINDS", "Rendered", "Templates"]

_COMMON = frozenset({"program_sender"})

KINDS: Mapping[str, frozenset[str]] = {
    "mentor_nominated": frozenset(
        {
            "mentor_name",
            "participant_name",
            "participant_email",
            "host_department",
            "start",
            "end",
            "nominated_by",
        }
    ),
    "mentor_agreed": frozenset(
        {"participant_name", "manager_name", "mentor_name", "host_department", "start", "end"}
    ),
    "rotation_reminder": frozenset(
        {"participant_name", "mentor_name", "host_department", "start", "end", "days_left"}
    ),
    "mentor_briefing": frozenset(
        {"mentor_name", "participant_name", "host_department", "day", "briefed_by"}
    ),
    "improvement_adopted": frozenset(
        {"participant_name", "manager_name", "title", "host_department", "day", "adopted_by"}
    ),
    "cycle_opened": frozenset({"employee_name", "manager_name", "cycle", "start", "end"}),
    "rotation_planned": frozenset(
        {"participant_name", "mentor_name", "host_department", "start", "end"}
    ),
    "rotation_rescheduled": frozenset(
        {"participant_name", "mentor_name", "host_department", "start", "end"}
    ),
    "rotation_cancelled": frozenset(
        {"participant_name", "mentor_name", "host_department", "start", "end", "reason"}
    ),
    "mentor_session": frozenset(
        {"participant_name", "mentor_name", "host_department", "kind", "topic", "day"}
    ),
}
"""Every kind of message, with the placeholders its templates may use (besides
``program_sender``, the From address)."""


@attrs.frozen
class Rendered:
    """A message's subject and bodies."""

    subject: str
    text: str
    html: str | None


@attrs.frozen
class _Pair:
    subject: Template
    text: Template
    html: Template | None


class Templates:
    """The templates of every kind, loaded and checked once."""

    def __init__(self, directory: Path | None = None) -> None:
        """Load them.

        Raises:
            SettingsError: a template is malformed or uses a placeholder its kind lacks.
        """
        self.directory = directory
        self._pairs = {kind: self._load(kind, names) for kind, names in KINDS.items()}

    def _read(self, name: str) -> tuple[str, str] | None:
        if self.directory is not None:
            mine = self.directory / name
            if mine.is_file():
                return str(mine), mine.read_text(encoding="utf-8")
        shipped = files("rotation_email").joinpath("templates").joinpath(name)
        if shipped.is_file():
            return f"rotation_email/templates/{name}", shipped.read_text(encoding="utf-8")
        return None

    def _load(self, kind: str, names: frozenset[str]) -> _Pair:
        found = self._read(f"{kind}.txt")
        if found is None:
            raise SettingsError(f"no template {kind}.txt was found")
        where, source = found
        first, _, body = source.partition("\n")
        if not first.startswith("Subject:"):
            raise SettingsError(f"{where} must begin with a 'Subject: ...' line")
        subject = Template(first.removeprefix("Subject:").strip())
        text = Template(body.lstrip("\n"))
        html_found = self._read(f"{kind}.html")
        html_template = Template(html_found[1]) if html_found else None
        allowed = names | _COMMON
        checks = [(where, subject), (where, text)]
        if html_found and html_template is not None:
            checks.append((html_found[0], html_template))
        for source_name, template in checks:
            if not template.is_valid():
                raise SettingsError(f"{source_name} has a malformed $placeholder")
            unknown = sorted(set(template.get_identifiers()) - allowed)
            if unknown:
                raise SettingsError(
                    f"{source_name} uses unknown placeholders {', '.join(unknown)}; "
                    f"{kind} knows {', '.join(sorted(allowed))}"
                )
        return _Pair(subject, text, html_template)

    def render(self, kind: str, values: Mapping[str, str]) -> Rendered:
        """Fill in the templates of ``kind``; HTML gets escaped values."""
        pair = self._pairs[kind]
        subject = " ".join(pair.subject.substitute(values).split())
        escaped = {name: html.escape(value) for name, value in values.items()}
        return Rendered(
            subject=subject,
            text=pair.text.substitute(values),
            html=pair.html.substitute(escaped) if pair.html is not None else None,
        )
