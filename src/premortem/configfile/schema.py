"""The config file's keys are the fields of ``Settings`` (kebab-case), checked by their types, plus
the checks a type cannot say (rule ids, severities, parameter names). Errors name file:line and key.

A field added to ``Settings`` (or to a nested settings dataclass) is a config key with no change here;
fields with ``metadata={"config": False}`` are not.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
import re
import types
import typing
from collections.abc import Callable
from typing import Any

from premortem.configfile.exclude import as_typed
from premortem.configfile.read import ConfigError, KeyPath, RawConfig
from premortem.findings import CATEGORIES, SEVERITIES
from premortem.settings import Ignore, RenderSettings, Settings


def kebab(name: str) -> str:
    return name.replace("_", "-")


def config_fields(cls: type) -> dict[str, dataclasses.Field[Any]]:
    """kebab-case key -> field, for the fields a config file may set."""
    return {kebab(f.name): f for f in dataclasses.fields(cls) if f.metadata.get("config", True)}


def file_values(raw: RawConfig) -> tuple[dict[str, Any], dict[str, str]]:
    """The Settings field values a config file sets, and the source ("FILE:LINE") of each."""
    values = _dataclass_values(Settings, raw.data, (), raw)
    sources = {name: raw.where((kebab(name),)) for name in values}
    for name, value in values.items():
        block = raw.data.get(kebab(name))
        if dataclasses.is_dataclass(value) and isinstance(block, dict):
            sources.update(
                {f"{name}.{str(k).replace('-', '_')}": raw.where((kebab(name), str(k))) for k in block}
            )
    for name, value in list(values.items()):
        values[name] = check_field(name, value, raw, (kebab(name),))
    return values, sources


def check_field(name: str, value: Any, raw: RawConfig | None, path: KeyPath) -> Any:
    """The checks a type cannot express; returns the normalised value (rule names -> ids)."""
    check = _CHECKS.get(name)
    return check(value, raw, path) if check else value


# -- generic conversion by type ------------------------------------------------------------------


def _fail(message: str, raw: RawConfig | None, path: KeyPath) -> ConfigError:
    key = ".".join(str(p) if isinstance(p, str) else f"[{p}]" for p in path).replace(".[", "[")
    if raw is None:
        return ConfigError(message, key=f"--{path[0]}" if path else "")
    return ConfigError(message, raw.file, raw.line(path), key)


def _dataclass_values(cls: type, data: Any, path: KeyPath, raw: RawConfig) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise _fail(f"expected a mapping, got {_type_name(data)}", raw, path)
    known = config_fields(cls)
    hints = typing.get_type_hints(cls)
    values: dict[str, Any] = {}
    for key, value in data.items():
        field = known.get(str(key))
        if field is None:
            close = difflib.get_close_matches(kebab(str(key)), known, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else f"; known keys: {', '.join(sorted(known))}"
            raise _fail(f"unknown key {key!r}{hint}", raw, (*path, str(key)))
        values[field.name] = convert(hints[field.name], value, (*path, str(key)), raw)
    return values


def convert(hint: Any, value: Any, path: KeyPath, raw: RawConfig | None) -> Any:
    """``value`` as the type ``hint`` says, or a ConfigError naming where."""
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        return convert(inner[0], value, path, raw)
    if dataclasses.is_dataclass(hint) and isinstance(hint, type):
        assert raw is not None
        return hint(**_dataclass_values(hint, value, path, raw))
    if origin is tuple:
        item = args[0]
        if isinstance(value, str) and item is str:
            value = [part.strip() for part in value.split(",") if part.strip()]
        if not isinstance(value, list | tuple):
            raise _fail(f"expected a list, got {_type_name(value)}", raw, path)
        return tuple(convert(item, v, (*path, i), raw) for i, v in enumerate(value))
    if origin is dict:
        if not isinstance(value, dict):
            raise _fail(f"expected a mapping, got {_type_name(value)}", raw, path)
        key_type, value_type = args
        return {
            convert(key_type, k, (*path, str(k)), raw): convert(value_type, v, (*path, str(k)), raw)
            for k, v in value.items()
        }
    if hint is Any:
        return value
    if hint is bool:
        if not isinstance(value, bool):
            raise _fail(f"expected true or false, got {_type_name(value)}", raw, path)
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise _fail(f"expected a whole number, got {_type_name(value)}", raw, path)
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _fail(f"expected a number, got {_type_name(value)}", raw, path)
        return float(value)
    if hint is str:
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise _fail(f"expected a string, got {_type_name(value)}", raw, path)
        if isinstance(value, float):  # 1.30 read as a number is 1.3: ask for quotes, do not guess
            raise _fail(f'expected a string, got the number {value!r}; quote it: "{value}"', raw, path)
        return str(value)
    raise _fail(f"cannot read a value of type {hint}", raw, path)  # pragma: no cover - a new field type


def _type_name(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    return {
        dict: "a mapping",
        list: "a list",
        str: f"the string {value!r}",
        bool: f"{str(value).lower()}",
        int: f"the number {value!r}",
        float: f"the number {value!r}",
    }.get(type(value), type(value).__name__)


# -- checks beyond types ---------------------------------------------------------------------------


def rule_key(key: str) -> str | None:
    """The canonical form of a rule id, rule name or category (scan, diagnose and etcd ids), or None."""
    from premortem.rules.registry import lookup

    rule = lookup(key)
    if rule is not None:
        return rule.id
    if key.lower() in CATEGORIES:
        return key.lower()
    from premortem.cli.rules import all_entries

    upper = key.upper()
    entries = all_entries()
    for entry in entries:
        if entry.id.upper() == upper or entry.name.lower() == key.lower():
            return entry.id
    # A family of diagnose ids by prefix (DIAG-ETCD, DIAG-ETCD-*), as `diagnose --select` takes it.
    prefix = upper.rstrip("*").rstrip("-")
    if prefix.startswith("DIAG-") and any(e.id.upper().startswith(prefix + "-") for e in entries):
        return upper
    return None


def _rule_list(value: tuple[str, ...], raw: RawConfig | None, path: KeyPath) -> tuple[str, ...]:
    out = []
    for index, key in enumerate(value):
        canonical = rule_key(key)
        if canonical is None:
            raise _fail(
                f"unknown rule or category {key!r} (see `premortem rules --source all`)", raw, (*path, index)
            )
        out.append(canonical)
    return tuple(out)


def _severity(value: str, raw: RawConfig | None, path: KeyPath, never: bool = False) -> str:
    allowed = [*SEVERITIES, "never"] if never else list(SEVERITIES)
    if value.lower() not in allowed:
        raise _fail(f"unknown severity {value!r}: use one of {', '.join(allowed)}", raw, path)
    return value.lower()


def _severity_map(value: dict[str, str], raw: RawConfig | None, path: KeyPath) -> dict[str, str]:
    out = {}
    for key, level in value.items():
        canonical = rule_key(key)
        if canonical is None or canonical.lower() in CATEGORIES:
            raise _fail(f"unknown rule {key!r} (see `premortem rules --source all`)", raw, (*path, key))
        out[canonical] = _severity(level, raw, (*path, key))
    return out


def _params(
    value: dict[str, dict[str, Any]], raw: RawConfig | None, path: KeyPath
) -> dict[str, dict[str, Any]]:
    from premortem.rules.registry import lookup

    out: dict[str, dict[str, Any]] = {}
    for key, params in value.items():
        rule = lookup(key)
        if rule is None:
            raise _fail(f"unknown rule {key!r} (see `premortem rules`)", raw, (*path, key))
        checked: dict[str, Any] = {}
        for name, given in params.items():
            declared = rule.params.get(name) or rule.params.get(name.replace("-", "_"))
            if declared is None:
                known = ", ".join(sorted(kebab(p) for p in rule.params)) or "none"
                raise _fail(
                    f"{rule.id} has no parameter {name!r} (its parameters: {known})", raw, (*path, key, name)
                )
            default = declared.default
            checked[name.replace("-", "_") if name not in rule.params else name] = convert(
                type(default) if default is not None else Any, given, (*path, key, name), raw
            )
        out[rule.id] = checked
    return out


def _ignores(value: tuple[Ignore, ...], raw: RawConfig | None, path: KeyPath) -> tuple[Ignore, ...]:
    out = []
    for index, entry in enumerate(value):
        where = (*path, index)
        if not entry.reason.strip():
            raise _fail("every ignore needs a reason: say why this risk is accepted", raw, where)
        if not entry.rules:
            raise _fail(
                "name the rules to ignore (rules: [RES003]); there is no ignore-everything", raw, where
            )
        if not entry.paths and not entry.objects:
            raise _fail(
                "limit the ignore to paths or objects; to drop a rule everywhere use ignore:", raw, where
            )
        rules = _rule_list(entry.rules, raw, (*where, "rules"))
        _globs(entry.paths, raw, (*where, "paths"))
        out.append(dataclasses.replace(entry, rules=rules, where=raw.where(where) if raw else "command line"))
    return tuple(out)


def _globs(value: tuple[str, ...], raw: RawConfig | None, path: KeyPath) -> tuple[str, ...]:
    """Gitignore-style globs pathspec can compile (``[z-a]`` is a bad range)."""
    import pathspec

    for index, glob in enumerate(value):
        try:
            pathspec.GitIgnoreSpec.from_lines([glob])
        except (ValueError, re.error) as exc:
            raise _fail(f"not a valid gitignore-style glob {glob!r}: {exc}", raw, (*path, index)) from None
    return value


def _at_least(low: int) -> Callable[[int, RawConfig | None, KeyPath], int]:
    def check(value: int, raw: RawConfig | None, path: KeyPath) -> int:
        if value < low:
            raise _fail(f"must be {low} or more, not {value}", raw, path)
        return value

    return check


def _baseline(value: str | None, raw: RawConfig | None, path: KeyPath) -> str | None:
    if value is None or raw is None or os.path.isabs(value):
        return value
    return os.path.join(os.path.dirname(raw.file), value)


def _render(value: RenderSettings, raw: RawConfig | None, path: KeyPath) -> RenderSettings:
    """Paths in the config file are relative to its directory, and must exist: a values file that is
    not there, or a chart-values key that is no chart, is a config error at its line, not a chart
    that fails to render (or silently renders without its values)."""
    if raw is None:
        return value
    base = os.path.dirname(raw.file)

    def existing(file: str, where: KeyPath) -> str:
        resolved = os.path.normpath(os.path.join(base, file))
        if not os.path.isfile(resolved):
            raise _fail(f"no such values file {file!r} (relative to {base or '.'})", raw, where)
        return as_typed(resolved)

    values = tuple(existing(f, (*path, "values", i)) for i, f in enumerate(value.values))
    for chart, files in value.chart_values.items():
        if not os.path.isfile(os.path.join(base, chart, "Chart.yaml")):
            raise _fail(
                f"{chart!r} is not a chart directory (no Chart.yaml; relative to {base or '.'})",
                raw,
                (*path, "chart-values", chart),
            )
        for i, file in enumerate(files):
            existing(file, (*path, "chart-values", chart, i))

    def binary(tool: str | None) -> str | None:
        if tool and os.sep in tool and not os.path.isabs(tool):
            return os.path.normpath(os.path.join(base, tool))
        return tool

    return dataclasses.replace(
        value, values=values, helm=binary(value.helm), kustomize=binary(value.kustomize)
    )


def _kubernetes_version(value: str | None, raw: RawConfig | None, path: KeyPath) -> str | None:
    if value is None:
        return None
    from premortem.model.kubeversion import KubeVersion

    try:
        KubeVersion.parse(value)
    except ValueError as exc:
        raise _fail(str(exc), raw, path) from None
    return value


_CHECKS: dict[str, Callable[[Any, RawConfig | None, KeyPath], Any]] = {
    "select": _rule_list,
    "ignore": _rule_list,
    "fail_on": lambda v, raw, p: _severity(v, raw, p, never=True),
    "min_severity": _severity,
    "severity": _severity_map,
    "params": _params,
    "ignores": _ignores,
    "baseline": _baseline,
    "kubernetes_version": _kubernetes_version,
    "render": _render,
    "exclude": _globs,
    "jobs": _at_least(0),
    "max_input_bytes": _at_least(1),
}
