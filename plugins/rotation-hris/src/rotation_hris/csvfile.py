"""Reading the directory from a CSV export, with a column mapping and a validation report.

The file is validated whole: every bad row and column is listed at once, in a
`CsvValidationError`, and nothing is returned from a file with one bad row.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import attrs
from rotation_domain.directory import DepartmentRecord, DirectorySnapshot, PersonRecord
from rotation_domain.errors import DirectorySourceError, InvalidInput

from rotation_hris.settings import DEFAULT_COLUMNS

__all__ = ["CsvProblem", "CsvSource", "CsvValidationError"]

REQUIRED = ("code", "name", "email", "department")
TRUE = frozenset({"true", "yes", "y", "1", "active"})
FALSE = frozenset({"false", "no", "n", "0", "inactive"})


@attrs.frozen
class CsvProblem:
    """One bad value of the file: its line, its column and what is wrong."""

    line: int
    column: str
    message: str

    def __str__(self) -> str:
        return f"line {self.line}, column {self.column!r}: {self.message}"


class CsvValidationError(DirectorySourceError):
    """The CSV file has bad rows; ``problems`` lists every one (nothing was applied)."""

    def __init__(self, message: str, /, problems: Iterable[CsvProblem], **details: Any) -> None:
        self.problems = tuple(problems)
        super().__init__(message, problems=self.problems, **details)


class CsvSource:
    """A directory source reading a CSV export of the HRIS.

    Each row is a person. The columns are mapped to the fields ``code``, ``name``,
    ``email``, ``department`` (required) and ``department_name``, ``manager``,
    ``active`` (optional, read only when mapped). Departments are the codes of the
    ``department`` column, named by ``department_name`` when it is mapped.

    Args:
        path: The file (UTF-8, with or without a byte-order mark).
        columns: The column of each field; fields not given keep the defaults
            (``employee_number``, ``name``, ``email``, ``department``).
        it_departments: Codes of the IT departments (R1).
        delimiter: The field separator.
        name: The source's name.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        columns: Mapping[str, str] | None = None,
        it_departments: Iterable[str] = (),
        delimiter: str = ",",
        name: str = "csv",
    ) -> None:
        self.name = name
        self.path = Path(path)
        self.columns = {**DEFAULT_COLUMNS, **(columns or {})}
        self.it_departments = frozenset(it_departments)
        self.delimiter = delimiter

    def __repr__(self) -> str:
        return f"CsvSource(name={self.name!r}, path={str(self.path)!r})"

    def read(self) -> DirectorySnapshot:
        """Read and validate the whole file.

        Raises:
            CsvValidationError: a required column is missing or some rows are bad; the
                error's ``problems`` name each line and column.
            DirectorySourceError: the file cannot be read.
        """
        try:
            with self.path.open(encoding="utf-8-sig", newline="") as file:
                reader = csv.DictReader(file, delimiter=self.delimiter)
                header = reader.fieldnames or []
                missing = [
                    CsvProblem(1, self.columns[field], f"the {field} column is missing")
                    for field in self.columns
                    if self.columns[field] not in header
                ]
                if missing:
                    raise self._report(missing)
                rows = [(reader.line_num, row) for row in reader]
        except OSError as error:
            raise DirectorySourceError(
                f"CSV source {self.name!r}: {self.path} cannot be read ({error.strerror})",
                source=self.name,
                resource=str(self.path),
            ) from None
        except (csv.Error, UnicodeDecodeError) as error:
            raise DirectorySourceError(
                f"CSV source {self.name!r}: {self.path} is not a readable CSV file: {error}",
                source=self.name,
                resource=str(self.path),
            ) from None
        return self._snapshot(rows)

    def _report(self, problems: list[CsvProblem]) -> CsvValidationError:
        lines = sorted({p.line for p in problems})
        listed = "\n".join(f"  {p}" for p in problems)
        return CsvValidationError(
            f"CSV source {self.name!r}: {self.path} has {len(problems)} problem(s) on "
            f"{len(lines)} line(s); nothing was applied:\n{listed}",
            problems,
            source=self.name,
            resource=str(self.path),
        )

    def _snapshot(self, rows: list[tuple[int, dict[str | Any, str | Any]]]) -> DirectorySnapshot:
        problems: list[CsvProblem] = []
        people: list[PersonRecord] = []
        first_line: dict[str, int] = {}
        names: dict[str, tuple[str, int]] = {}
        validators = {a.name: a for a in attrs.fields(PersonRecord)}
        for line, row in rows:
            if None in row:
                problems.append(CsvProblem(line, "(extra)", "the row has more values than columns"))
                continue
            values: dict[str, Any] = {}
            bad = False
            for field, column in self.columns.items():
                raw = (row.get(column) or "").strip()
                if field == "department_name":
                    if raw:
                        values[field] = raw
                    continue
                if field == "active":
                    if raw.lower() in TRUE or not raw:
                        values[field] = True
                    elif raw.lower() in FALSE:
                        values[field] = False
                    else:
                        problems.append(
                            CsvProblem(line, column, f"{raw!r} is not one of true/false/yes/no")
                        )
                        bad = True
                    continue
                value = raw or None
                if value is None and field in REQUIRED:
                    problems.append(CsvProblem(line, column, f"the {field} is empty"))
                    bad = True
                    continue
                attribute = validators[field]
                try:
                    if attribute.validator is not None:
                        attribute.validator(None, attribute, value)
                except InvalidInput as error:
                    problems.append(CsvProblem(line, column, error.message))
                    bad = True
                    continue
                values[field] = value
            if bad:
                continue
            code = values["code"]
            if code in first_line:
                problems.append(
                    CsvProblem(
                        line,
                        self.columns["code"],
                        f"{code!r} is already on line {first_line[code]}",
                    )
                )
                continue
            first_line[code] = line
            department_name = values.pop("department_name", None)
            if department_name is not None:
                known = names.get(values["department"])
                if known is not None and known[0] != department_name:
                    problems.append(
                        CsvProblem(
                            line,
                            self.columns["department_name"],
                            f"department {values['department']} is named {known[0]!r} "
                            f"on line {known[1]}, {department_name!r} here",
                        )
                    )
                    continue
                names.setdefault(values["department"], (department_name, line))
            people.append(PersonRecord(**values))
        if problems:
            raise self._report(problems)
        codes = sorted({p.department for p in people})
        departments = [
            DepartmentRecord(code, names.get(code, (code, 0))[0], code in self.it_departments)
            for code in codes
        ]
        return DirectorySnapshot(departments, people)
