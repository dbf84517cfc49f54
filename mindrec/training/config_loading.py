"""Parse argument dataclasses from a YAML config plus command-line overrides.

The options are the dataclass fields (declared once, in :mod:`mindrec.training.arguments`); the only
option added here is ``--config PATH``. A YAML key that is no field is an error naming it (with the
closest field name), never silently ignored. YAML values are turned into command-line tokens placed
before the real command line, so argparse converts and checks them exactly as typed options, and a
later (command-line) value wins.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from mindrec.cli_args import DataclassArgumentParser

CONFIG_OPTION = "--config"


def argument_fields(types: Sequence[type]) -> dict[str, type]:
    """``{field name: owning dataclass}`` over ``types``; a name declared twice is an error."""
    owners: dict[str, type] = {}
    for cls in types:
        for item in dataclasses.fields(cls):
            if item.name in owners:
                raise ValueError(
                    f"Option {item.name!r} is declared by both {owners[item.name].__name__} and {cls.__name__}."
                )
            owners[item.name] = cls
    return owners


def read_yaml_config(path: str | os.PathLike, types: Sequence[type]) -> dict[str, Any]:
    """Read a flat YAML mapping of option values and check every key is an option of ``types``.

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: the file is not a YAML mapping, or holds a key that is no option (named, with the
            closest option and the line it is on).
    """
    import yaml

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"Config file {path} does not exist.")
    text = path.read_text(encoding="utf-8")
    try:
        values = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise ValueError(f"{path}: not valid YAML: {error}") from None
    if values is None:
        return {}
    if not isinstance(values, Mapping):
        raise ValueError(f"{path}: a config must be a mapping of option: value, got {type(values).__name__}.")
    known = argument_fields(types)
    for key in values:
        if key not in known:
            line = next(
                (
                    number
                    for number, row in enumerate(text.splitlines(), 1)
                    if row.lstrip().startswith(f"{key}:")
                ),
                None,
            )
            close = difflib.get_close_matches(str(key), list(known), n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            where = f"{path}:{line}" if line else str(path)
            raise ValueError(
                f"{where}: unknown config key {key!r}; it is not an option of this command.{hint}"
            )
    return dict(values)


def _as_tokens(key: str, value: Any) -> list[str]:
    """Command-line tokens that set option ``key`` to a YAML ``value``."""
    if isinstance(value, Mapping):
        raise ValueError(f"Config key {key!r}: nested mappings are not options (got {dict(value)!r}).")
    if isinstance(value, (list, tuple)):
        return [f"--{key}", *(str(item) for item in value)]
    return [f"--{key}", str(value)]


def parse_arguments(
    types: Sequence[type],
    args: Sequence[str] | None = None,
    defaults: Mapping[str, Any] | None = None,
    description: str | None = None,
    prog: str | None = None,
    exit_on_error: bool = False,
) -> tuple[Any, ...]:
    """Build the dataclasses ``types`` from ``defaults`` < ``--config`` YAML < command line.

    Args:
        types: argument dataclasses, e.g. :data:`~mindrec.training.arguments.TRAIN_ARGUMENT_TYPES`.
        args: command-line tokens (default ``sys.argv[1:]``).
        defaults: option values replacing the dataclass defaults (the main job's own settings); ``--help``
            shows them.
        description: the ``--help`` text.
        prog: the program name in usage lines (default: argparse's, from ``sys.argv[0]``).
        exit_on_error: command lines: any error (unknown option, invalid choice, a value the dataclasses
            reject, a missing config file) ends in ``parser.error`` (usage, message, exit status 2);
            otherwise it raises.

    Returns:
        One instance per type, in order.

    Raises:
        ValueError: an unknown option on the command line (naming the closest one) or in the YAML file, or
            an invalid value (only when ``exit_on_error`` is False).
    """
    import sys

    args = list(sys.argv[1:] if args is None else args)
    parser = DataclassArgumentParser(types, description=description, prog=prog)
    parser.raise_errors = not exit_on_error
    parser.add_argument(
        CONFIG_OPTION, default=None, help="YAML file of option: value pairs; the command line overrides it."
    )
    known = argument_fields(types)
    for key in defaults or {}:
        if key not in known:
            raise ValueError(f"Unknown default option {key!r}.")
    # The defaults replace the dataclass defaults (and so show in --help); argparse does not convert
    # them, so they must already have the field's type.
    parser.set_defaults(**dict(defaults or {}))

    try:
        config_path = parser.parse_known_args(args)[0].config
        values: dict[str, Any] = {}
        if config_path is not None:
            values.update(read_yaml_config(config_path, types))
        # null values and empty lists cannot be typed on a command line (a list option takes one value or more): they
        # become argparse defaults instead.
        untyped = {key: value for key, value in values.items() if value is None or value == []}
        parser.set_defaults(**untyped)
        tokens = [token for key, value in values.items() if key not in untyped for token in _as_tokens(key, value)]
        instances, remaining = parser.parse_args_into_dataclasses(tokens + args)
        if remaining:
            parser.error(f"unrecognized arguments: {' '.join(remaining)}")
    except (ValueError, FileNotFoundError) as error:
        if not exit_on_error:
            raise
        parser.raise_errors = False
        parser.error(str(error))
    return tuple(instances)


__all__ = ["CONFIG_OPTION", "argument_fields", "parse_arguments", "read_yaml_config"]
