"""Settings from defaults <- config file <- command line, with the source of every value.

``build_settings`` is what every verb calls. Command-line values replace the file's, except
``--ignore`` and ``--exclude``, which add to it (a config's exclusions and ignores stay in force).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable, Mapping
from typing import Any

from premortem.configfile.discover import find_config
from premortem.configfile.read import ConfigError, RawConfig, read_config
from premortem.configfile.schema import check_field, file_values
from premortem.settings import Settings

__all__ = ["ConfigError", "RawConfig", "build_settings", "find_config", "read_config"]

ADDITIVE = frozenset({"ignore", "exclude"})


def build_settings(
    paths: Iterable[str] = (),
    cli: Mapping[str, tuple[Any, str]] | None = None,
    config: str | None = None,
    use_config: bool = True,
) -> Settings:
    """Settings for a run over ``paths``.

    ``cli`` maps a field name (``"render.values"`` for a nested one) to (value, flag); a value of
    None means the option was not given. ``config`` is ``--config FILE``; without it the file is
    discovered from ``paths`` unless ``use_config`` is False. Raises ConfigError.
    """
    values: dict[str, Any] = {}
    sources = {name: "default" for name in _all_names(Settings)}
    config_file = None
    if config is not None or use_config:
        config_file = config if config is not None else find_config(paths)
    if config is not None and not os.path.isfile(config):
        raise ConfigError("no such config file", config)
    root = os.path.dirname(os.path.abspath(config_file)) if config_file else None
    if config_file:
        from_file, file_sources = file_values(read_config(config_file))
        values.update(from_file)
        sources.update(file_sources)

    for key, (value, flag) in (cli or {}).items():
        if value is None or value == ():
            continue
        name, _, sub = key.partition(".")
        if sub:
            nested = values.get(name) or getattr(Settings(), name)
            values[name] = dataclasses.replace(nested, **{sub: value})
            sources[key] = flag
            continue
        value = check_field(name, value, None, (name.replace("_", "-"),))
        if name in ADDITIVE and values.get(name):
            values[name] = (*values[name], *value)
            sources[name] = f"{sources[name]} + {flag}"
        else:
            values[name] = value
            sources[name] = flag
    return Settings(**values, config_file=config_file, root=root, sources=sources)


def _all_names(cls: type, prefix: str = "") -> list[str]:
    names = []
    for field in dataclasses.fields(cls):
        if not field.metadata.get("config", True):
            continue
        names.append(prefix + field.name)
        default = field.default_factory() if callable(field.default_factory) else field.default
        if dataclasses.is_dataclass(default) and not isinstance(default, type):
            names.extend(_all_names(type(default), f"{prefix}{field.name}."))
    return names
