"""rotation-hris: sync rotation-domain's directory from an HRIS, over SCIM 2.0 or from CSV.

Installed, it is loaded through the ``rotation_domain`` entry point ``hris``. Its hook
offers a SCIM source when ``ROTATION_SCIM_URL`` is set and a CSV source when
``ROTATION_HRIS_CSV`` is set; ``program.sync_directory()`` then syncs from the one
there is (or from the one named: ``program.sync_directory("scim")``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from importlib.metadata import PackageNotFoundError, version

from rotation_domain.directory import DirectorySource
from rotation_domain.hookspecs import hookimpl

from rotation_hris.csvfile import CsvProblem, CsvSource, CsvValidationError
from rotation_hris.scim import ScimError, ScimSource
from rotation_hris.settings import HrisSettings, Secret

try:
    __version__ = version("rotation-hris")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"

__all__ = [
    "CsvProblem",
    "CsvSource",
    "CsvValidationError",
    "HrisSettings",
    "ScimError",
    "ScimSource",
    "Secret",
    "__version__",
    "rotation_directory_sources",
    "sources_for",
]


def sources_for(settings: HrisSettings) -> list[DirectorySource]:
    """The sources the settings describe: SCIM, CSV, both or none."""
    sources: list[DirectorySource] = []
    if settings.scim_url and settings.scim_token:
        sources.append(
            ScimSource(
                settings.scim_url,
                settings.scim_token,
                it_departments=settings.it_departments,
                timeout=settings.scim_timeout,
                page_size=settings.scim_page_size,
                user_filter=settings.scim_user_filter,
                group_filter=settings.scim_group_filter,
            )
        )
    if settings.csv_path:
        sources.append(
            CsvSource(
                settings.csv_path,
                columns=settings.csv_columns,
                it_departments=settings.it_departments,
                delimiter=settings.csv_delimiter,
            )
        )
    return sources


@hookimpl
def rotation_directory_sources(settings: Mapping[str, str]) -> Sequence[DirectorySource] | None:
    """A SCIM source and/or a CSV source, as the settings say; None without either."""
    return sources_for(HrisSettings.from_settings(settings)) or None
