"""One logging set-up for the command lines: format, levels, quiet libraries, progress-bar safe."""

import json
import logging
import re
import subprocess
import sys
from pathlib import Path

import datasets
import huggingface_hub.utils
import pytest
import transformers
from tqdm.auto import tqdm

from mindrec.logging_setup import LIBRARY_LOGGERS, log_level_number, setup_logging
from mindrec.training.arguments import TrainingArguments

ROOT = Path(__file__).resolve().parents[1]
STAMP = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} "


@pytest.fixture
def restore_logging():
    """setup_logging changes process-wide state: put the root logger, the libraries and their bars back."""
    root = logging.getLogger()
    names = ("", *LIBRARY_LOGGERS)
    saved = {name: (logging.getLogger(name).level, logging.getLogger(name).handlers[:]) for name in names}
    propagate = {name: logging.getLogger(name).propagate for name in LIBRARY_LOGGERS}
    bars = (
        transformers.utils.logging.is_progress_bar_enabled(),
        datasets.utils.logging.is_progress_bar_enabled(),
        huggingface_hub.utils.are_progress_bars_disabled(),
    )
    yield
    for name, (level, handlers) in saved.items():
        logger = logging.getLogger(name)
        logger.setLevel(level)
        logger.handlers[:] = handlers
    for name, value in propagate.items():
        logging.getLogger(name).propagate = value
    assert root.handlers == saved[""][1]
    (transformers.utils.logging.enable_progress_bar if bars[0] else transformers.utils.logging.disable_progress_bar)()
    (datasets.utils.logging.enable_progress_bar if bars[1] else datasets.utils.logging.disable_progress_bar)()
    (huggingface_hub.utils.disable_progress_bars if bars[2] else huggingface_hub.utils.enable_progress_bars)()


def emit_one_of_each() -> None:
    logging.getLogger("mindrec.demo").info("ours")
    logging.getLogger("mindrec.demo").debug("our detail")
    logging.getLogger("accelerate.checkpointing").info("Random states saved in x.pkl")
    transformers.utils.logging.get_logger("transformers.modeling_utils").info("loading note")
    transformers.utils.logging.get_logger("transformers.modeling_utils").warning("transformers warns")
    datasets.utils.logging.get_logger("datasets.arrow_dataset").warning("datasets warns")
    logging.getLogger("huggingface_hub.file_download").warning("hub warns")


def logged(text: str) -> list[str]:
    """The lines of ``text``, each checked to start with a timestamp, without it."""
    lines = text.splitlines()
    assert all(re.match(STAMP, line) for line in lines), lines
    return [re.sub(STAMP, "", line) for line in lines]


def test_info_keeps_libraries_at_warning_in_one_format(capsys, restore_logging):
    setup_logging("info")
    emit_one_of_each()
    assert logged(capsys.readouterr().err) == [
        "INFO mindrec.demo: ours",
        "WARNING transformers.modeling_utils: transformers warns",
        "WARNING datasets.arrow_dataset: datasets warns",
        "WARNING huggingface_hub.file_download: hub warns",
    ]
    # Weight loading/saving and Map bars of the libraries are off; ours are governed by show_progress.
    assert not transformers.utils.logging.is_progress_bar_enabled()
    assert not datasets.utils.logging.is_progress_bar_enabled()
    assert huggingface_hub.utils.are_progress_bars_disabled()


def test_warning_hides_our_info_and_debug_shows_everything(capsys, restore_logging):
    setup_logging("warning")
    emit_one_of_each()
    assert [line.split(":")[0] for line in logged(capsys.readouterr().err)] == [
        "WARNING transformers.modeling_utils", "WARNING datasets.arrow_dataset", "WARNING huggingface_hub.file_download"
    ]
    setup_logging("debug")  # replaces the earlier set-up: one handler, never two
    emit_one_of_each()
    assert [line.split(":")[0] for line in logged(capsys.readouterr().err)] == [
        "INFO mindrec.demo", "DEBUG mindrec.demo", "INFO accelerate.checkpointing", "INFO transformers.modeling_utils",
        "WARNING transformers.modeling_utils", "WARNING datasets.arrow_dataset", "WARNING huggingface_hub.file_download",
    ]  # fmt: skip
    assert transformers.utils.logging.is_progress_bar_enabled()


def test_other_processes_log_warnings_only(capsys, restore_logging):
    setup_logging("debug", main_process=False)
    logging.getLogger("mindrec.demo").info("ours")
    logging.getLogger("mindrec.demo").warning("careful")
    assert logged(capsys.readouterr().err) == ["WARNING mindrec.demo: careful"]
    assert not datasets.utils.logging.is_progress_bar_enabled()


def test_a_log_line_lands_above_the_progress_bar_not_inside_it(capsys, restore_logging):
    setup_logging("info")
    with tqdm(total=3, desc="training", file=sys.stderr, ascii=True) as bar:
        bar.update(1)
        logging.getLogger("mindrec.demo").info("in the middle")
        bar.update(2)
    err = capsys.readouterr().err
    # tqdm clears the bar with "\r" before the line; a plain handler would append it to the bar's text.
    segments = [segment for line in err.splitlines() for segment in line.split("\r")]
    assert [re.sub(STAMP, "", s) for s in segments if "in the middle" in s] == ["INFO mindrec.demo: in the middle"]


def test_unknown_levels_are_clear_errors():
    assert log_level_number("warning") == logging.WARNING and log_level_number("DEBUG") == logging.DEBUG
    with pytest.raises(ValueError, match=r"log level must be one of \['debug', 'info', 'warning', 'error', 'critical'\], got 'verbose'"):
        log_level_number("verbose")
    with pytest.raises(ValueError, match="got 'loud'"):
        TrainingArguments(log_level="loud")


def test_script_log_level_option(tmp_path):
    items = tmp_path / "items.jsonl"
    rows = [{"item_id": i, "title": f"brand{i % 3} thing {i}", "categories": ["A", f"B{i % 2}"]} for i in range(12)]
    items.write_text("\n".join(json.dumps(row) for row in rows))
    command = [
        sys.executable, str(ROOT / "scripts" / "build_item_codes.py"), "--items", str(items), "--output",
        str(tmp_path / "codes.json"), "--num-category-levels", "1", "--num-sid-digits", "2", "--codebook-size", "4",
        "--embedding-dim", "4", "--no-progress", "--log-level", "warning",
    ]  # fmt: skip
    completed = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stderr
    assert completed.stderr == "" and (tmp_path / "codes.json").is_file()  # its INFO lines are gone
    completed = subprocess.run(command[:-1] + ["loud"], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert completed.returncode == 2
    assert "--log_level/--log-level: invalid choice: 'loud'" in completed.stderr
