"""Plugin settings: a config file, then ``ROTATION_*`` environment variables, then code.

Plugins receive one flat mapping of names to texts (``ROTATION_SMTP_HOST`` ...). It is
built from, in rising order of precedence:

1. the TOML file named by ``ROTATION_CONFIG``: its ``[settings]`` table (or its top
   level when it has none), with booleans and numbers turned into text;
2. the environment variables whose names start with ``ROTATION_``;
3. the ``settings=`` given to `open_program` (and those derived from the store URL).
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rotation_domain.errors import InvalidInput

__all__ = ["CONFIG_VARIABLE", "plugin_settings", "read_config_file"]

CONFIG_VARIABLE = "ROTATION_CONFIG"


def read_config_file(path: str | Path) -> dict[str, str]:
    """The settings of a TOML config file, as texts.

    Raises:
        InvalidInput: the file is missing, is not TOML, or holds a table or list where a
            setting's value should be.
    """
    where = Path(path)
    try:
        parsed = tomllib.loads(where.read_text(encoding="utf-8"))
    except OSError as error:
        raise InvalidInput(
            f"the config file {where} cannot be read ({error.strerror}); "
            f"fix {CONFIG_VARIABLE} or create the file",
            path=str(where),
        ) from None
    except tomllib.TOMLDecodeError as error:
        raise InvalidInput(
            f"the config file {where} is not valid TOML: {error}", path=str(where)
        ) from None
    table: Any = parsed.get("settings", parsed)
    if not isinstance(table, dict):
        raise InvalidInput(f"[settings] in {where} must be a table", path=str(where))
    return {str(name): _text(where, str(name), value) for name, value in table.items()}


def _text(where: Path, name: str, value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    raise InvalidInput(
        f"setting {name} in {where} must be a text, number or boolean, "
        f"not a {type(value).__name__}",
        path=str(where),
        setting=name,
    )


def plugin_settings(environ: Mapping[str, str], given: Mapping[str, str]) -> dict[str, str]:
    """The settings plugins receive: config file, then environment, then ``given``."""
    merged: dict[str, str] = {}
    config = given.get(CONFIG_VARIABLE) or environ.get(CONFIG_VARIABLE)
    if config:
        merged.update(read_config_file(config))
    merged.update({k: v for k, v in environ.items() if k.startswith("ROTATION_")})
    merged.update(given)
    return merged
