"""Configs are dataclasses; a YAML file sets fields and command-line flags override them.

``add_config_args(parser, Cls)`` adds one ``--field-name`` flag per dataclass field (type taken
from the default), ``config_from_args(Cls, args)`` builds the config: defaults < YAML < flags.
Teacher and distillation configs reuse the same helpers.
"""

from __future__ import annotations

import argparse
import dataclasses
import typing
from pathlib import Path, PurePath
from typing import Any, TypeVar

import yaml

C = TypeVar("C")

# Config fields that say where the training data lies on this machine. A model artifact leaves
# them out: its training_data records the dataset's name and content hash instead.
DATA_LOCATION_FIELDS: tuple[str, ...] = ("data_root", "videos_dir", "cache_dir")
# Paths of the training machine an artifact records by their last part only (run folder, model
# fine-tuned from, teacher, unlabelled set): which, not where.
NAMED_PATH_FIELDS: tuple[str, ...] = (
    "out_dir",
    "init_from",
    "teacher",
    "unlabelled",
    "unlabelled_videos_dir",
)


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _parse_bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true/false, got {text!r}")


def _parse_ints(text: str) -> tuple[int, ...]:
    """'0-16' or '0,1,2' or '0-4,9' -> tuple of ints."""
    out: list[int] = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        if "-" in part[1:]:
            lo, hi = part.split("-", 1)
            out.extend(range(int(lo), int(hi) + 1))
        else:
            out.append(int(part))
    return tuple(out)


def add_config_args(parser: argparse.ArgumentParser, cls: type, skip: tuple[str, ...] = ()) -> None:
    """One flag per field; every flag defaults to None (meaning: keep the YAML/default value)."""
    hints = typing.get_type_hints(cls)
    group = parser.add_argument_group(f"{cls.__name__} fields (override --config)")
    for field in dataclasses.fields(cls):
        if field.name in skip:
            continue
        hint = hints[field.name]
        origin = typing.get_origin(hint)
        args = typing.get_args(hint)
        base = next((a for a in args if a is not type(None)), hint) if args else hint
        help_text = field.metadata.get("help", "")
        if hint is bool or base is bool:
            kind: Any = _parse_bool
        elif origin is tuple or base is tuple or typing.get_origin(base) is tuple:
            kind = _parse_ints
        elif base in (int, float, str):
            kind = base
        else:
            kind = str
        extra = {"nargs": "?", "const": True} if kind is _parse_bool else {}
        group.add_argument(
            _flag(field.name), dest=field.name, type=kind, default=None, help=help_text, **extra
        )


def load_yaml(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ValueError(f"config {path}: cannot read ({exc})") from None
    if not isinstance(data, dict):
        raise ValueError(f"config {path}: top level must be a mapping")
    return data


def make_config(cls: type[C], values: dict[str, Any], source: str = "config") -> C:
    """Build a dataclass from a mapping; unknown keys are an error (typos must not pass)."""
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - names)
    if unknown:
        raise ValueError(f"{source}: unknown {cls.__name__} keys {unknown}; known: {sorted(names)}")
    hints = typing.get_type_hints(cls)
    fixed = {}
    for key, value in values.items():
        if isinstance(value, list) and "tuple" in str(hints[key]):
            value = tuple(value)
        fixed[key] = value
    return cls(**fixed)


def config_from_args(cls: type[C], args: argparse.Namespace) -> C:
    """Defaults < YAML file (``args.config``) < flags that were given."""
    values: dict[str, Any] = {}
    config_path = getattr(args, "config", None)
    if config_path:
        values.update(load_yaml(config_path))
    for field in dataclasses.fields(cls):
        given = getattr(args, field.name, None)
        if given is not None:
            values[field.name] = given
    return make_config(cls, values, source=str(config_path or "flags"))


def config_to_dict(config: Any) -> dict[str, Any]:
    data = dataclasses.asdict(config)
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in data.items()}


def artifact_config(config: Any) -> dict[str, Any]:
    """``config_to_dict`` without the data-location fields and with paths reduced to their last
    part: the config a model artifact records (no path of the training machine)."""
    return {
        k: PurePath(v).name if k in NAMED_PATH_FIELDS and isinstance(v, str) and v else v
        for k, v in config_to_dict(config).items()
        if k not in DATA_LOCATION_FIELDS
    }


def save_yaml(config: Any, path: str | Path) -> None:
    Path(path).write_text(yaml.safe_dump(config_to_dict(config), sort_keys=False))
