"""What every mindrec command line shares: option spelling, "did you mean" errors, shown defaults.

* Every long option is accepted as ``--a_b`` and as ``--a-b`` (:meth:`ArgumentParser.add_argument` adds
  the other spelling as an alias). Abbreviations are not (``--num_beam`` would silently mean ``--num_beams``):
  a near miss gets a "did you mean" instead.
* One name per idea across the scripts (:data:`CANONICAL_OPTIONS`); older spellings stay as aliases.
* An unknown option or an invalid choice ends in ``parser.error`` naming the closest valid one
  (:class:`SuggestingErrors`), and a bad value found when the options are checked does too: a
  usage line and a one-line message, exit status 2, never a traceback.
* ``--help`` shows every option's default.

:class:`DataclassArgumentParser` builds options from argument dataclasses the way
``transformers.HfArgumentParser`` does (same spellings, ``--flag [true|false]`` and ``--no_flag`` for
booleans, ``Literal`` -> choices, ``list[X]`` -> one or more values), with the behaviour above. Only the
standard library is imported here, so ``--help`` costs no torch/transformers import.
"""

from __future__ import annotations

import argparse
import dataclasses
import difflib
import re
import types
import typing
from collections.abc import Iterable, Sequence
from typing import Any

# One name per idea: (canonical option, aliases kept for older command lines). The scripts use these.
CANONICAL_OPTIONS: dict[str, tuple[str, tuple[str, ...]]] = {
    "output folder": ("--output_dir", ("--output",)),
    "metrics JSON": ("--metrics_json", ("--eval_json", "--output_json")),
    "model folder": ("--model_dir", ("--model",)),
    "data path": ("--data", ("--input",)),
    "threads": ("--num_threads", ("--threads",)),
}

_UNRECOGNIZED = re.compile(r"unrecognized arguments: (.+)")
_INVALID_CHOICE = re.compile(r"invalid choice: '([^']*)' \(choose from (.+)\)")


def suggestion(word: str, candidates: Iterable[str]) -> str:
    """``" Did you mean 'x'?"`` for the closest candidate (close spelling, or containing ``word``), else ``""``.

    For an option (``--...``) the two spellings count as one and the answer uses the caller's: ``--num_beam``
    gives ``'--num_beams'``, ``--num-beam`` gives ``'--num-beams'``.
    """
    candidates = list(dict.fromkeys(candidates))
    is_option = word.startswith("--")
    dashed = is_option and "-" in word[2:]
    if is_option:
        word = "--" + word[2:].replace("-", "_")
        candidates = list(dict.fromkeys("--" + candidate[2:].replace("-", "_") for candidate in candidates))
    close = difflib.get_close_matches(word, candidates, n=1, cutoff=0.6)
    if not close:
        bare = word.lstrip("_-")
        close = [candidate for candidate in candidates if bare and bare in candidate][:1]
    if not close:
        return ""
    answer = close[0]
    if dashed:
        answer = "--" + answer[2:].replace("_", "-")
    return f" Did you mean {answer!r}?"


def long_option_strings(parser: argparse.ArgumentParser) -> list[str]:
    return [option for action in parser._actions for option in action.option_strings if option.startswith("--")]


def other_spelling(option: str) -> str | None:
    """``--a_b`` -> ``--a-b`` and back; None for an option without either character."""
    body = option[2:]
    if "_" in body:
        return "--" + body.replace("_", "-")
    if "-" in body:
        return "--" + body.replace("-", "_")
    return None


class SuggestingErrors:
    """Mixin for ``argparse.ArgumentParser`` subclasses: ``error()`` adds a "did you mean" to unknown options
    and invalid choices. With ``raise_errors = True`` it raises a ValueError instead of exiting (library use)."""

    raise_errors = False

    def error(self, message: str):  # noqa: D401 - argparse's name
        unknown = _UNRECOGNIZED.search(message)
        choice = _INVALID_CHOICE.search(message)
        if unknown:
            first = next((token for token in unknown.group(1).split() if token.startswith("-")), None)
            if first:
                message += suggestion(first.split("=")[0], long_option_strings(self))
        elif choice:
            choices = re.findall(r"'([^']*)'", choice.group(2))
            message += suggestion(choice.group(1), choices)
        if self.raise_errors:
            raise ValueError(message)
        super().error(message)


class ShownDefaultsFormatter(argparse.RawDescriptionHelpFormatter):
    """Keep the description's layout and append ``(default: X)`` to every option that has a default."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if "%(default)" in text or action.default in (None, argparse.SUPPRESS) or not action.option_strings:
            return text
        if isinstance(action, (argparse._StoreTrueAction, argparse._StoreFalseAction)):
            return text
        return f"{text} (default: %(default)s)"


class ArgumentParser(SuggestingErrors, argparse.ArgumentParser):
    """``argparse.ArgumentParser`` with both spellings of every long option, suggestions and shown defaults."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", ShownDefaultsFormatter)
        kwargs.setdefault("allow_abbrev", False)  # an abbreviation would hide "did you mean" mistakes
        super().__init__(*args, **kwargs)

    def add_argument(self, *names: str, **kwargs):
        spelled = list(names)
        for name in names:
            if name.startswith("--"):
                other = other_spelling(name)
                if other and other not in spelled:
                    spelled.append(other)
        if spelled != list(names) and "dest" not in kwargs and names[0].startswith("--"):
            kwargs["dest"] = names[0][2:].replace("-", "_")
        return super().add_argument(*spelled, **kwargs)


def string_to_bool(text: str | bool) -> bool:
    """``true/false``, ``yes/no``, ``1/0``, ``t/f``, ``y/n`` (any case) -> bool, as HfArgumentParser reads them."""
    if isinstance(text, bool):
        return text
    value = text.strip().lower()
    if value in ("yes", "true", "t", "y", "1"):
        return True
    if value in ("no", "false", "f", "n", "0"):
        return False
    raise argparse.ArgumentTypeError(f"expected a boolean (true/false, yes/no, 1/0), got {text!r}")


def int_at_least(minimum: int):
    """argparse ``type``: an integer >= ``minimum``; anything else ends in ``parser.error`` naming the option."""

    def parse(text: str) -> int:
        value = int(text)
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be >= {minimum}, got {value}")
        return value

    parse.__name__ = f"integer >= {minimum}"  # argparse's "invalid <name> value" message
    return parse


NONE_WORDS = ("none", "null")


def number_or_none(kind: type):
    """argparse ``type`` of an optional number: ``none`` / ``null`` (any case) give None, so that a command line can
    lift a limit a config file sets (``--max_users none``); anything else is read as ``kind``."""

    def parse(text: str) -> int | float | None:
        return None if text.strip().lower() in NONE_WORDS else kind(text)

    parse.__name__ = f"{kind.__name__} or none"  # argparse's "invalid <name> value" message
    return parse


def _unwrap_optional(annotation: Any) -> Any:
    """``X | None`` / ``Optional[X]`` -> ``X``; anything else unchanged."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        arguments = [item for item in typing.get_args(annotation) if item is not type(None)]
        if len(arguments) != 1:
            raise TypeError(f"only `X | None` unions are options, got {annotation}")
        return arguments[0]
    return annotation


class DataclassArgumentParser(ArgumentParser):
    """Options from argument dataclasses (field name, type, default, ``metadata`` help/choices/aliases).

    Args:
        dataclass_types: the dataclasses whose fields are the options (a field name must be unique).
        kwargs: ``argparse.ArgumentParser`` keywords (``prog``, ``description`` ...).
    """

    def __init__(self, dataclass_types: Sequence[type], **kwargs):
        super().__init__(**kwargs)
        self.dataclass_types = list(dataclass_types)
        for cls in self.dataclass_types:
            hints = typing.get_type_hints(cls)
            for item in dataclasses.fields(cls):
                if item.init:
                    self._add_field(item, hints[item.name])

    def _add_field(self, item: dataclasses.Field, annotation: Any) -> None:
        kwargs = dict(item.metadata)
        aliases = kwargs.pop("aliases", [])
        names = [f"--{item.name}", *([aliases] if isinstance(aliases, str) else aliases)]
        kind = _unwrap_optional(annotation)
        origin = typing.get_origin(kind)
        if item.default is not dataclasses.MISSING:
            kwargs["default"] = item.default
        elif item.default_factory is not dataclasses.MISSING:
            kwargs["default"] = item.default_factory()
        else:
            kwargs["required"] = True
        if origin is typing.Literal:
            kwargs.setdefault("choices", list(typing.get_args(kind)))
            kwargs["type"] = type(typing.get_args(kind)[0])
        elif kind is bool:
            kwargs.update(type=string_to_bool, nargs="?", const=True)
            kwargs.setdefault("default", False)
            kwargs.pop("required", None)
        elif origin is list:
            kwargs.update(type=typing.get_args(kind)[0], nargs="+")
        elif kind in (int, float) and kind is not annotation:
            kwargs.update(type=number_or_none(kind), metavar=f"{item.name.upper()}|none")
        else:
            kwargs["type"] = kind
        self.add_argument(*names, dest=item.name, **kwargs)
        if kind is bool and item.default is True:
            self.add_argument(f"--no_{item.name}", action="store_false", dest=item.name, help=argparse.SUPPRESS)

    def parse_args_into_dataclasses(self, args: Sequence[str]) -> tuple[list[Any], list[str]]:
        """``([one instance per dataclass], [unknown tokens])``; the dataclasses validate their own values."""
        namespace, remaining = self.parse_known_args(list(args))
        instances = []
        for cls in self.dataclass_types:
            names = {item.name for item in dataclasses.fields(cls) if item.init}
            instances.append(cls(**{key: value for key, value in vars(namespace).items() if key in names}))
        return instances, remaining


def canonical(idea: str) -> list[str]:
    """The option names of ``idea`` (see :data:`CANONICAL_OPTIONS`): canonical first, then aliases."""
    name, aliases = CANONICAL_OPTIONS[idea]
    return [name, *aliases]


__all__ = [
    "ArgumentParser",
    "DataclassArgumentParser",
    "CANONICAL_OPTIONS",
    "ShownDefaultsFormatter",
    "SuggestingErrors",
    "canonical",
    "int_at_least",
    "number_or_none",
    "other_spelling",
    "string_to_bool",
    "suggestion",
]
