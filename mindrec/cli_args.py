"""What every mindrec command line shares: option spelling, "did you mean" errors, shown defaults.

* Every long option is accepted as ``--a_b`` and as ``--a-b`` (:meth:`ArgumentParser.add_argument` adds
  the other spelling as an alias; ``HfArgumentParser`` does the same for the dataclass options).
* One name per idea across the scripts (:data:`CANONICAL_OPTIONS`); older spellings stay as aliases.
* An unknown option or an invalid choice ends in ``parser.error`` naming the closest valid one
  (:class:`SuggestingErrors`), and a bad value found when the options are checked does too: a
  usage line and a one-line message, exit status 2, never a traceback.
* ``--help`` shows every option's default.

Only the standard library is imported here, so a parser is cheap to build.
"""

from __future__ import annotations

import argparse
import difflib
import re
from collections.abc import Iterable, Sequence

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


def canonical(idea: str) -> list[str]:
    """The option names of ``idea`` (see :data:`CANONICAL_OPTIONS`): canonical first, then aliases."""
    name, aliases = CANONICAL_OPTIONS[idea]
    return [name, *aliases]


def check_value(parser: argparse.ArgumentParser, condition: bool, message: str) -> None:
    """``parser.error(message)`` unless ``condition`` (for checks argparse cannot express)."""
    if not condition:
        parser.error(message)


def parse_or_exit(parser: argparse.ArgumentParser, parse, args: Sequence[str] | None):
    """Run ``parse(args)``; a ValueError or FileNotFoundError raised while options are built becomes ``parser.error``."""
    try:
        return parse(args)
    except (ValueError, FileNotFoundError) as error:
        parser.error(str(error))


__all__ = [
    "ArgumentParser",
    "CANONICAL_OPTIONS",
    "ShownDefaultsFormatter",
    "SuggestingErrors",
    "canonical",
    "check_value",
    "other_spelling",
    "parse_or_exit",
    "suggestion",
]
