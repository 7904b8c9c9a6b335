"""The plugin's settings, read from rotation-domain's plugin settings (``ROTATION_*``)."""

from __future__ import annotations

from collections.abc import Mapping

import attrs
from rotation_domain.errors import InvalidInput

__all__ = ["CSV_FIELDS", "HrisSettings", "Secret", "parse_columns"]

CSV_FIELDS = ("code", "name", "email", "department", "department_name", "manager", "active")
"""The fields a CSV column can be mapped to; the first four are required."""

DEFAULT_COLUMNS: Mapping[str, str] = {
    "code": "employee_number",
    "name": "name",
    "email": "email",
    "department": "department",
}


@attrs.frozen(repr=False)
class Secret:
    """A text that never shows itself: its repr and str are ``'***'``."""

    _value: str

    def reveal(self) -> str:
        """The secret itself, for the one place that sends it."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    def __str__(self) -> str:
        return "***"


def _number(settings: Mapping[str, str], name: str, default: float, *, whole: bool) -> float:
    raw = settings.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw) if whole else float(raw)
    except ValueError:
        kind = "a whole number" if whole else "a number"
        raise InvalidInput(f"{name} must be {kind}, got {raw!r}", setting=name) from None
    if value <= 0:
        raise InvalidInput(f"{name} must be greater than 0, got {raw!r}", setting=name)
    return value


def parse_columns(text: str) -> dict[str, str]:
    """The CSV column of each field, from ``field=Column,field=Column``.

    Fields not named keep their default column (``code=employee_number``,
    ``name=name``, ``email=email``, ``department=department``); the optional fields
    (``department_name``, ``manager``, ``active``) are read only when mapped.

    Raises:
        InvalidInput: an entry is not ``field=Column`` or names an unknown field.
    """
    columns = dict(DEFAULT_COLUMNS)
    for entry in (part.strip() for part in text.split(",")):
        if not entry:
            continue
        field, sep, column = (piece.strip() for piece in entry.partition("="))
        if not sep or not field or not column:
            raise InvalidInput(
                f"ROTATION_HRIS_CSV_COLUMNS entries look like field=Column, got {entry!r}",
                setting="ROTATION_HRIS_CSV_COLUMNS",
            )
        if field not in CSV_FIELDS:
            raise InvalidInput(
                f"ROTATION_HRIS_CSV_COLUMNS names the unknown field {field!r}; "
                f"the fields are {', '.join(CSV_FIELDS)}",
                setting="ROTATION_HRIS_CSV_COLUMNS",
            )
        columns[field] = column
    return columns


@attrs.frozen
class HrisSettings:
    """What the plugin reads from the settings.

    Attributes:
        scim_url: ``ROTATION_SCIM_URL``, the SCIM service's base URL (``.../scim/v2``).
        scim_token: ``ROTATION_SCIM_TOKEN``, the bearer token (never shown).
        scim_timeout: ``ROTATION_SCIM_TIMEOUT_SECONDS`` (default 30).
        scim_page_size: ``ROTATION_SCIM_PAGE_SIZE``, the ``count`` asked per page (100).
        scim_user_filter: ``ROTATION_SCIM_USER_FILTER``, a SCIM filter for the Users.
        scim_group_filter: ``ROTATION_SCIM_GROUP_FILTER``, a SCIM filter for the Groups.
        it_departments: ``ROTATION_HRIS_IT_DEPARTMENTS``, codes of the IT departments.
        csv_path: ``ROTATION_HRIS_CSV``, the CSV export to read.
        csv_columns: ``ROTATION_HRIS_CSV_COLUMNS``, the column of each field.
        csv_delimiter: ``ROTATION_HRIS_CSV_DELIMITER`` (default ``,``).
    """

    scim_url: str | None = None
    scim_token: Secret | None = None
    scim_timeout: float = 30.0
    scim_page_size: int = 100
    scim_user_filter: str | None = None
    scim_group_filter: str | None = None
    it_departments: frozenset[str] = frozenset()
    csv_path: str | None = None
    csv_columns: Mapping[str, str] = attrs.field(factory=lambda: dict(DEFAULT_COLUMNS))
    csv_delimiter: str = ","

    @classmethod
    def from_settings(cls, settings: Mapping[str, str]) -> HrisSettings:
        """Read the settings.

        Raises:
            InvalidInput: a setting's value is not usable (it is named).
        """

        def text(name: str) -> str | None:
            return settings.get(name, "").strip() or None

        url = text("ROTATION_SCIM_URL")
        token = text("ROTATION_SCIM_TOKEN")
        if url and not url.startswith(("http://", "https://")):
            raise InvalidInput(
                f"ROTATION_SCIM_URL must be an http(s) URL, got {url!r}",
                setting="ROTATION_SCIM_URL",
            )
        if url and not token:
            raise InvalidInput(
                "ROTATION_SCIM_URL is set but ROTATION_SCIM_TOKEN is not: the SCIM sync "
                "authenticates with a bearer token",
                setting="ROTATION_SCIM_TOKEN",
            )
        delimiter = settings.get("ROTATION_HRIS_CSV_DELIMITER", ",") or ","
        if len(delimiter) != 1:
            raise InvalidInput(
                f"ROTATION_HRIS_CSV_DELIMITER must be one character, got {delimiter!r}",
                setting="ROTATION_HRIS_CSV_DELIMITER",
            )
        it = settings.get("ROTATION_HRIS_IT_DEPARTMENTS", "")
        return cls(
            scim_url=url,
            scim_token=Secret(token) if token else None,
            scim_timeout=_number(settings, "ROTATION_SCIM_TIMEOUT_SECONDS", 30.0, whole=False),
            scim_page_size=int(_number(settings, "ROTATION_SCIM_PAGE_SIZE", 100, whole=True)),
            scim_user_filter=text("ROTATION_SCIM_USER_FILTER"),
            scim_group_filter=text("ROTATION_SCIM_GROUP_FILTER"),
            it_departments=frozenset(code.strip() for code in it.split(",") if code.strip()),
            csv_path=text("ROTATION_HRIS_CSV"),
            csv_columns=parse_columns(settings.get("ROTATION_HRIS_CSV_COLUMNS", "")),
            csv_delimiter=delimiter,
        )
