"""One logging set-up for every command line: one format, a ``--log_level`` option, progress-bar safe.

Scripts call :func:`setup_logging` once, after parsing their options. mindrec's own loggers log at the
chosen level; the libraries underneath (transformers, accelerate, datasets, huggingface_hub, peft, ...)
only from WARNING up, and their own progress bars (weight loading and saving, ``Map``) are off: their
per-checkpoint notes ("Random states saved in ...pkl") and bars buried the job's own lines. ``debug``
lets everything through, libraries included. Log lines go through ``tqdm.write``, so they never land in
the middle of one of our progress bars.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys

from tqdm.auto import tqdm

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
LOG_LEVELS = ("debug", "info", "warning", "error", "critical")
LOG_LEVEL_HELP = (
    "mindrec's log level (default: info). The libraries underneath log warnings and errors only, "
    "unless debug (everything, their progress bars too)."
)
# Libraries that log through the standard logging tree (transformers, datasets and huggingface_hub are
# set through their own helpers as well: they install their own handlers and levels on import).
LIBRARY_LOGGERS = (
    "accelerate",
    "datasets",
    "evaluate",
    "huggingface_hub",
    "peft",
    "sentence_transformers",
    "transformers",
)  # not torch: it configures its own loggers (TORCH_LOGS), and DEBUG there dumps compiler statistics


class TqdmLoggingHandler(logging.Handler):
    """Writes each record through ``tqdm.write``: above an active progress bar, never inside it.

    The stream is ``sys.stderr`` as it is when the record is written, not when the handler was made, so a
    redirected or captured stderr (pytest's) never leaves the handler holding a closed stream.
    """

    def emit(self, record: logging.LogRecord) -> None:
        try:
            tqdm.write(self.format(record), file=sys.stderr)
        except Exception:  # logging's contract: report a failing handler, never raise into the caller
            self.handleError(record)


def log_level_number(level: str) -> int:
    """``"info"`` -> ``logging.INFO``; a clear error for anything outside :data:`LOG_LEVELS`."""
    if not isinstance(level, str) or level.lower() not in LOG_LEVELS:
        raise ValueError(f"log level must be one of {list(LOG_LEVELS)}, got {level!r}")
    return getattr(logging, level.upper())


def add_log_level_argument(parser: argparse.ArgumentParser) -> None:
    """Add ``--log_level`` (alias ``--log-level``) to an argparse parser; pass its value to :func:`setup_logging`."""
    parser.add_argument("--log_level", "--log-level", default="info", choices=LOG_LEVELS, help=LOG_LEVEL_HELP)


def log_level_field() -> str:
    """A ``log_level`` field for an argument dataclass parsed with ``HfArgumentParser`` (``--log_level``)."""
    return dataclasses.field(default="info", metadata={"help": LOG_LEVEL_HELP, "choices": LOG_LEVELS})


def setup_logging(level: str = "info", main_process: bool = True) -> None:
    """Configure logging for a command line (idempotent: it replaces any earlier set-up).

    Args:
        level: mindrec's level, one of :data:`LOG_LEVELS`.
        main_process: ``False`` on the other processes of a distributed run: warnings and errors only, and
            no library progress bars (one log, one set of bars).
    """
    number = log_level_number(level)
    if not main_process:
        number = max(number, logging.WARNING)
    library_level = logging.DEBUG if number == logging.DEBUG else max(number, logging.WARNING)

    handler = TqdmLoggingHandler()
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    logging.basicConfig(level=number, handlers=[handler], force=True)
    for name in LIBRARY_LOGGERS:
        logging.getLogger(name).setLevel(library_level)
    _configure_hugging_face_libraries(library_level, show_bars=number == logging.DEBUG)


def _configure_hugging_face_libraries(level: int, show_bars: bool) -> None:
    """transformers, datasets and huggingface_hub: level, our handler instead of theirs, their bars."""
    import datasets
    import huggingface_hub.utils
    import transformers

    # transformers installs its own stderr handler (format "[transformers] ...") and stops propagation;
    # route its records through ours instead so every line has the same format.
    transformers.utils.logging.set_verbosity(level)
    transformers.utils.logging.disable_default_handler()
    transformers.utils.logging.enable_propagation()
    datasets.utils.logging.set_verbosity(level)
    huggingface_hub.utils.logging.set_verbosity(level)
    for name in ("datasets", "huggingface_hub"):  # each added a plain stderr handler of its own on import
        library = logging.getLogger(name)
        for own in [h for h in library.handlers if type(h) is logging.StreamHandler]:
            library.removeHandler(own)
        library.propagate = True
    if show_bars:
        transformers.utils.logging.enable_progress_bar()
        datasets.utils.logging.enable_progress_bar()
        huggingface_hub.utils.enable_progress_bars()
    else:
        transformers.utils.logging.disable_progress_bar()
        datasets.utils.logging.disable_progress_bar()
        huggingface_hub.utils.disable_progress_bars()


__all__ = [
    "LOG_FORMAT",
    "LOG_LEVELS",
    "LOG_LEVEL_HELP",
    "TqdmLoggingHandler",
    "add_log_level_argument",
    "log_level_field",
    "log_level_number",
    "setup_logging",
]
