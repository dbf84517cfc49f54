"""Inspect and validate a saved MindRec folder before anything of it is shared.

A shareable folder holds the model (``config.json`` + safetensors weights, or a PEFT adapter with
``adapter_config.json``), the tokenizer (``tokenizer_config.json`` and ``tokenization_mindrec.py``), the
code table ``item_codes.json``, optionally ``generation_config.json`` and the training configuration
(``mindrec_run.json``, or ``training_args.json``), and the remote-code ``.py`` files that ``save_pretrained`` copies. Only those files
are selected for upload; anything else (logs, checkpoints, evaluation dumps) is left out and named in the log.
"""

from __future__ import annotations

import fnmatch
import json
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from mindrec.io_utils import read_manifest, verify_manifest
from mindrec.tokenization.tokenization_mindrec import (
    CODE_TABLE_FILE,
    TEXT_TOKENIZER_SUBFOLDER,
    read_item_codes,
)

logger = logging.getLogger(__name__)

PICKLE_SUFFIXES = (".bin", ".pt", ".pkl", ".pth")
ADAPTER_CONFIG_FILE = "adapter_config.json"
# The run record written by mindrec's training (all options by group), or a plain training-arguments file.
TRAINING_CONFIG_FILES = ("mindrec_run.json", "training_args.json")

# What a folder may share, as fnmatch patterns over paths relative to the folder ("/"-separated).
MODEL_PATTERNS = (
    "config.json",
    "model.safetensors",
    "model-*-of-*.safetensors",
    "model.safetensors.index.json",
)
ADAPTER_PATTERNS = (ADAPTER_CONFIG_FILE, "adapter_model.safetensors")
SHARED_PATTERNS = (
    "generation_config.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "chat_template.jinja",
    CODE_TABLE_FILE,
    f"{TEXT_TOKENIZER_SUBFOLDER}/*",
    *TRAINING_CONFIG_FILES,
    "*.py",
)


def read_json_file(path: Path, what: str) -> dict[str, Any]:
    """Parse a JSON object from ``path``; errors name the file, and the line and column of a syntax error."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FileNotFoundError(f"{what} {path} does not exist") from None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(
            f"{what} {path} is not valid JSON (line {error.lineno}, column {error.colno}): {error.msg}"
        ) from None
    if not isinstance(value, dict):
        raise ValueError(f"{what} {path} must hold a JSON object, got {type(value).__name__}")
    return value


def find_pickle_files(folder: Path) -> list[str]:
    """Relative paths of every file under ``folder`` with a pickle suffix (``.bin .pt .pkl .pth``), sorted."""
    return sorted(
        path.relative_to(folder).as_posix()
        for path in folder.rglob("*")
        if path.is_file() and path.suffix in PICKLE_SUFFIXES
    )


@dataclass(frozen=True)
class ModelFolder:
    """A validated MindRec folder.

    Attributes:
        path: the folder.
        kind: ``"model"`` (full weights) or ``"adapter"`` (a PEFT adapter over a base model).
        files: relative paths selected for upload, sorted.
        code_table: the validated ``item_codes.json`` mapping.
        tokenizer_config: ``tokenizer_config.json``.
        model_config: ``config.json`` (None for an adapter, whose config lives with its base).
        adapter_config: ``adapter_config.json`` (adapters only).
        generation_config: ``generation_config.json`` when present.
        training_config: the first of ``mindrec_run.json`` / ``training_args.json`` present.
    """

    path: Path
    kind: Literal["model", "adapter"]
    files: tuple[str, ...]
    code_table: dict[str, Any]
    tokenizer_config: dict[str, Any]
    model_config: dict[str, Any] | None = None
    adapter_config: dict[str, Any] | None = None
    generation_config: dict[str, Any] | None = None
    training_config: dict[str, Any] | None = None

    @property
    def is_llm_setting(self) -> bool:
        """The tokenizer wraps a text tokenizer (LLaDA-style LLM) rather than the item-only vocabulary."""
        return self.tokenizer_config.get("text_tokenizer_subfolder") is not None

    @property
    def weight_files(self) -> list[str]:
        """The safetensors files of the model or adapter."""
        return [name for name in self.files if name.endswith(".safetensors")]


def _relative_files(folder: Path) -> list[str]:
    return sorted(path.relative_to(folder).as_posix() for path in folder.rglob("*") if path.is_file())


def _matches(name: str, patterns: tuple[str, ...]) -> bool:
    # "*.py" must not reach into subfolders: remote code lives at the top level.
    return any(
        fnmatch.fnmatchcase(name, pattern) and name.count("/") == pattern.count("/") for pattern in patterns
    )


def _check_auto_map(folder: Path, config: Mapping[str, Any], source: str, auto_class: str) -> None:
    """``auto_map`` names ``auto_class`` (so that ``trust_remote_code`` loading works), and every module it
    names (``"module.Class"``) exists as ``module.py`` in the folder."""
    auto_map = config.get("auto_map") or {}
    if auto_class not in auto_map:
        raise ValueError(
            f"{folder / source} has no auto_map entry for {auto_class}, so it cannot load with "
            "trust_remote_code; re-save it with mindrec imported (save_pretrained then writes the auto_map)"
        )
    for name, reference in auto_map.items():
        for entry in reference if isinstance(reference, list) else [reference]:
            if entry is None:
                continue
            module = str(entry).split("--")[-1].rsplit(".", 1)[0]
            if not (folder / f"{module}.py").is_file():
                raise FileNotFoundError(
                    f"{source}: auto_map[{name!r}] = {entry!r} needs {module}.py in {folder}, which is "
                    "missing; re-save the model/tokenizer with mindrec imported so that save_pretrained copies "
                    "the remote-code files"
                )


def _check_code_layout(model_config: Mapping[str, Any], code_table: Mapping[str, Any], folder: Path) -> None:
    """The model's code layout is the code table's (a mismatched pair cannot decode)."""
    for key in ("num_category_levels", "code_slot_sizes"):
        if model_config.get(key) != code_table[key]:
            raise ValueError(
                f"{folder}: config.json has {key}={model_config.get(key)!r} but {CODE_TABLE_FILE} has "
                f"{code_table[key]!r}; the model and its code table disagree"
            )


def inspect_model_folder(path: str | os.PathLike) -> ModelFolder:
    """Validate a saved MindRec model or adapter folder and select the files to share.

    Raises:
        FileNotFoundError: the folder, its code table, tokenizer, weights or a remote-code file is missing.
        ValueError: a file differs from the folder's manifest (``mindrec_manifest.json``), pickle files are present (safetensors only), a JSON file is malformed, an ``auto_map``
            lacks its Auto class, or the code table is invalid or disagrees with the model config.
    """
    folder = Path(path)
    if not folder.is_dir():
        raise FileNotFoundError(f"model folder {folder} does not exist or is not a directory")
    if read_manifest(folder) is not None:  # saved by mindrec: every file must be as it was saved
        verify_manifest(folder)
    pickles = find_pickle_files(folder)
    if pickles:
        raise ValueError(
            f"{folder} holds pickle files {pickles}: only safetensors weights and JSON are shared (pickles can "
            "run code when loaded). Re-save with save_pretrained (safetensors) and delete them."
        )
    if not (folder / CODE_TABLE_FILE).is_file():
        raise FileNotFoundError(
            f"{folder} has no {CODE_TABLE_FILE}: the code table (item <-> code map) must travel with the "
            "model; save the tokenizer into the folder (tokenizer.save_pretrained)"
        )
    code_table = read_item_codes(folder / CODE_TABLE_FILE)
    tokenizer_config = read_json_file(folder / "tokenizer_config.json", "tokenizer config")
    _check_auto_map(folder, tokenizer_config, "tokenizer_config.json", "AutoTokenizer")

    names = _relative_files(folder)
    model_config = adapter_config = None
    if (folder / ADAPTER_CONFIG_FILE).is_file():
        kind, patterns = "adapter", ADAPTER_PATTERNS
        adapter_config = read_json_file(folder / ADAPTER_CONFIG_FILE, "adapter config")
        if "adapter_model.safetensors" not in names:
            raise FileNotFoundError(f"{folder} has {ADAPTER_CONFIG_FILE} but no adapter_model.safetensors")
    else:
        kind, patterns = "model", MODEL_PATTERNS
        model_config = read_json_file(folder / "config.json", "model config")
        if not any(fnmatch.fnmatchcase(name, "model*.safetensors") for name in names):
            raise FileNotFoundError(f"{folder} has config.json but no model*.safetensors weights")
        _check_auto_map(folder, model_config, "config.json", "AutoModel")
        _check_code_layout(model_config, code_table, folder)

    files = tuple(name for name in names if _matches(name, patterns + SHARED_PATTERNS))
    left_out = [name for name in names if name not in files]
    if left_out:
        logger.info("not shared from %s (not part of a model folder): %s", folder, left_out)
    generation_config = (
        read_json_file(folder / "generation_config.json", "generation config")
        if (folder / "generation_config.json").is_file()
        else None
    )
    training_config = next(
        (
            read_json_file(folder / name, "training configuration")
            for name in TRAINING_CONFIG_FILES
            if (folder / name).is_file()
        ),
        None,
    )
    return ModelFolder(
        path=folder,
        kind=kind,
        files=files,
        code_table=code_table,
        tokenizer_config=tokenizer_config,
        model_config=model_config,
        adapter_config=adapter_config,
        generation_config=generation_config,
        training_config=training_config,
    )


__all__ = [
    "ADAPTER_CONFIG_FILE",
    "PICKLE_SUFFIXES",
    "TRAINING_CONFIG_FILES",
    "ModelFolder",
    "find_pickle_files",
    "inspect_model_folder",
    "read_json_file",
]
