"""Loading plugins: default plugins, the ``rotation_domain`` entry points, and given ones.

Environment variables choose which plugins load, by name:

- ``ROTATION_PLUGINS``: a comma-separated allow-list; when set, only those load.
- ``ROTATION_DISABLE_PLUGINS``: a comma-separated deny-list.

A plugin that fails to import is reported (status ``failed`` with the error) and
skipped; it never stops the program from opening.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Iterable, Mapping
from importlib.metadata import entry_points
from types import ModuleType
from typing import Any

import attrs
import pluggy

from rotation_domain import hookspecs
from rotation_domain.hookspecs import PROJECT

__all__ = ["DEFAULT_PLUGINS", "PluginInfo", "Plugins", "load_plugins"]

logger = logging.getLogger(__name__)

DEFAULT_PLUGINS: tuple[str, ...] = ("rotation_domain.default_views", "rotation_domain.roles")
"""The modules of the plugins built into the library, registered like any other."""


@attrs.frozen
class PluginInfo:
    """What `rotation plugins` shows about one plugin.

    Attributes:
        name: The plugin's name (the entry point's name, or the module's).
        version: The version of the distribution that provides it, if known.
        source: ``default``, ``entry-point`` or ``given``.
        status: ``active``, ``blocked`` (by the allow/deny lists) or ``failed``.
        hooks: The hooks it implements.
        error: Why it failed to load.
    """

    name: str
    version: str | None
    source: str
    status: str
    hooks: tuple[str, ...] = ()
    error: str | None = None


class Plugins:
    """The loaded plugins: a pluggy manager and what happened to each plugin."""

    def __init__(self, manager: pluggy.PluginManager, infos: list[PluginInfo]) -> None:
        self.manager = manager
        self.infos = infos

    def failed(self, name: str, error: str) -> None:
        """Mark a plugin as failed and unregister it, so none of its hooks runs any more.

        Reasons accumulate when several of its hooks fail.
        """
        if self.manager.has_plugin(name):
            self.manager.unregister(name=name)
        for index, info in enumerate(self.infos):
            if info.name == name:
                reason = f"{info.error}; {error}" if info.error else error
                self.infos[index] = attrs.evolve(info, status="failed", error=reason)
                return
        self.infos.append(PluginInfo(name, None, "given", "failed", error=error))

    @property
    def hook(self) -> Any:
        """The hook caller: ``plugins.hook.rotation_views(settings=...)``."""
        return self.manager.hook


def _names(value: str | None) -> set[str] | None:
    if value is None or not value.strip():
        return None
    return {part.strip() for part in value.split(",") if part.strip()}


def _hooks_of(manager: pluggy.PluginManager, plugin: object) -> tuple[str, ...]:
    callers = manager.get_hookcallers(plugin) or []
    return tuple(sorted(caller.name for caller in callers))


def load_plugins(
    given: Iterable[object] = (),
    *,
    environ: Mapping[str, str],
    defaults: Iterable[str] = DEFAULT_PLUGINS,
    group: str = PROJECT,
) -> Plugins:
    """Build the plugin manager: default plugins, entry points, then ``given`` plugins.

    Args:
        given: Plugin objects or modules registered directly (tests, host applications).
        environ: Where ``ROTATION_PLUGINS`` and ``ROTATION_DISABLE_PLUGINS`` are read.
        defaults: Module names of the built-in plugins.
        group: The entry-point group searched.
    """
    manager = pluggy.PluginManager(PROJECT)
    manager.add_hookspecs(hookspecs)
    allowed = _names(environ.get("ROTATION_PLUGINS"))
    denied = _names(environ.get("ROTATION_DISABLE_PLUGINS")) or set()
    infos: list[PluginInfo] = []

    def admitted(name: str) -> bool:
        return name not in denied and (allowed is None or name in allowed)

    def register(name: str, plugin: object, version: str | None, source: str) -> None:
        if not admitted(name):
            infos.append(PluginInfo(name, version, source, "blocked"))
            return
        try:
            manager.register(plugin, name=name)
            manager.check_pending()  # a misspelled hook name is an error, not silence
        except Exception as error:  # noqa: BLE001 - a bad plugin is reported, never fatal
            logger.warning("plugin %s could not be registered: %s", name, error)
            if manager.has_plugin(name):
                manager.unregister(name=name)
            infos.append(PluginInfo(name, version, source, "failed", error=repr(error)))
            return
        infos.append(PluginInfo(name, version, source, "active", _hooks_of(manager, plugin)))

    from rotation_domain import __version__

    for module_name in defaults:
        short = module_name.rsplit(".", 1)[-1]
        try:
            module: ModuleType = importlib.import_module(module_name)
        except Exception as error:  # noqa: BLE001 - reported, never fatal
            infos.append(PluginInfo(short, __version__, "default", "failed", error=repr(error)))
            continue
        register(short, module, __version__, "default")

    for entry_point in entry_points(group=group):
        version = entry_point.dist.version if entry_point.dist is not None else None
        if not admitted(entry_point.name):
            infos.append(PluginInfo(entry_point.name, version, "entry-point", "blocked"))
            continue
        try:
            plugin = entry_point.load()
        except Exception as error:  # noqa: BLE001 - a plugin that fails to import is reported
            logger.warning("plugin %s failed to load: %r", entry_point.name, error)
            infos.append(
                PluginInfo(entry_point.name, version, "entry-point", "failed", error=repr(error))
            )
            continue
        register(entry_point.name, plugin, version, "entry-point")

    for plugin in given:
        name = getattr(plugin, "name", None) or getattr(plugin, "__name__", None)
        register(str(name or type(plugin).__name__), plugin, None, "given")
    return Plugins(manager, infos)
