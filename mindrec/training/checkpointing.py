"""Resumable training checkpoints that survive a crash while they are written.

Layout under ``<output_dir>/checkpoints/``::

    checkpoint-00000200/          complete checkpoints (accelerate state + trainer_state.json)
    checkpoint-00000400/
    .checkpoint-00000600.tmp/     a checkpoint being written (or left behind by a killed run)

A checkpoint is written into the hidden ``.tmp`` folder (``accelerator.save_state``: model, optimizer,
registered scheduler, every process's RNG states), then ``trainer_state.json`` (step, epoch, position in
the epoch, best metric, the model signature) is written last and the folder is renamed to its final
name in one atomic ``os.replace``. A kill -9 at any point therefore leaves either the previous complete
checkpoints alone, or one more complete checkpoint; ``latest`` only ever resolves to complete folders,
and stale ``.tmp`` folders are removed by the next save. The last ``keep_last`` checkpoints are kept.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

CHECKPOINTS_FOLDER = "checkpoints"
STATE_FILE = "trainer_state.json"
_NAME = re.compile(r"^checkpoint-(\d+)$")
_TMP = re.compile(r"^\.checkpoint-(\d+)\.tmp$")
# Config entries that do not change the weights' meaning or shapes (bookkeeping, training-only options).
_IGNORED_CONFIG_KEYS = {
    "transformers_version",
    "_name_or_path",
    "architectures",
    "auto_map",
    "dtype",
    "torch_dtype",
    "mask_eps",
    "output_attentions",
    "output_hidden_states",
    "return_dict",
    "use_cache",
    "_attn_implementation",
    "_attn_implementation_autoset",
}


def model_signature(
    model_type: str, model_setting: str, config, lora: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """What must match for a checkpoint's weights to fit a model: type, setting, config, LoRA shape."""
    entries = config.to_dict() if hasattr(config, "to_dict") else dict(config)

    def clean(value: Any) -> Any:
        if isinstance(value, Mapping):
            return {
                key: clean(item) for key, item in sorted(value.items()) if key not in _IGNORED_CONFIG_KEYS
            }
        if isinstance(value, tuple):
            return [clean(item) for item in value]
        return value

    return {
        "model_type": model_type,
        "model_setting": model_setting,
        "config": clean(json.loads(json.dumps(entries, default=str))),
        "lora": dict(lora) if lora else None,
    }


def signature_differences(
    saved: Mapping[str, Any], current: Mapping[str, Any], prefix: str = ""
) -> list[str]:
    """Human-readable ``key: checkpoint X, this run Y`` lines for every differing leaf."""
    lines = []
    for key in sorted(set(saved) | set(current), key=str):
        name = f"{prefix}{key}"
        left, right = saved.get(key, "<absent>"), current.get(key, "<absent>")
        if isinstance(left, Mapping) and isinstance(right, Mapping):
            lines.extend(signature_differences(left, right, prefix=f"{name}."))
        elif left != right:
            lines.append(f"{name}: checkpoint {left!r}, this run {right!r}")
    return lines


def checkpoints_root(output_dir: str | os.PathLike) -> Path:
    return Path(output_dir) / CHECKPOINTS_FOLDER


def list_checkpoints(root: str | os.PathLike) -> list[Path]:
    """Complete checkpoints under ``root``, oldest first (a folder counts once its rename happened)."""
    root = Path(root)
    if not root.is_dir():
        return []
    found = []
    for path in root.iterdir():
        match = _NAME.match(path.name)
        if match and path.is_dir() and (path / STATE_FILE).is_file():
            found.append((int(match.group(1)), path))
    return [path for _, path in sorted(found)]


def resolve_checkpoint(spec: str, output_dir: str | os.PathLike) -> Path:
    """``"latest"`` -> the newest complete checkpoint of ``output_dir``; a path -> that checkpoint.

    Raises:
        FileNotFoundError: no complete checkpoint (``latest``), or the path is not one.
    """
    if spec == "latest":
        checkpoints = list_checkpoints(checkpoints_root(output_dir))
        if not checkpoints:
            raise FileNotFoundError(
                f"resume_from_checkpoint='latest' but {checkpoints_root(output_dir)} holds no complete checkpoint."
            )
        return checkpoints[-1]
    path = Path(spec)
    if not (path / STATE_FILE).is_file():
        raise FileNotFoundError(f"{path} is not a complete training checkpoint ({STATE_FILE} not found).")
    return path


def read_trainer_state(path: str | os.PathLike) -> dict[str, Any]:
    return json.loads((Path(path) / STATE_FILE).read_text(encoding="utf-8"))


def check_compatible(
    path: Path, state: Mapping[str, Any], signature: Mapping[str, Any], run: Mapping[str, Any]
) -> None:
    """Raise a ValueError naming every difference between a checkpoint and this run.

    ``run`` holds the settings that fix the data order (processes, batch size, seed); resuming with other
    values would silently train on a different sequence of batches.
    """
    differences = signature_differences(state.get("model_signature", {}), signature)
    if differences:
        raise ValueError(
            f"Checkpoint {path} was written for a different model:\n  " + "\n  ".join(differences)
        )
    mismatched = [
        f"{key}: checkpoint {state.get(key)!r}, this run {value!r}"
        for key, value in run.items()
        if state.get(key) != value
    ]
    if mismatched:
        raise ValueError(
            f"Checkpoint {path} cannot be resumed exactly with these settings:\n  " + "\n  ".join(mismatched)
        )


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def save_checkpoint(
    accelerator, output_dir: str | os.PathLike, step: int, state: Mapping[str, Any], keep_last: int
) -> Path:
    """Write checkpoint ``step`` atomically (see the module docstring) and keep the last ``keep_last``.

    Every process must call it (each writes its own RNG state). Returns the final folder.
    """
    root = checkpoints_root(output_dir)
    final = root / f"checkpoint-{step:08d}"
    tmp = root / f".checkpoint-{step:08d}.tmp"
    if accelerator.is_main_process:
        root.mkdir(parents=True, exist_ok=True)
        for stale in root.iterdir():
            if _TMP.match(stale.name):  # left by a killed run; never complete
                shutil.rmtree(stale, ignore_errors=True)
        tmp.mkdir()
    accelerator.wait_for_everyone()
    accelerator.save_state(str(tmp))
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        state_path = tmp / STATE_FILE
        with open(state_path, "w", encoding="utf-8") as handle:
            handle.write(json.dumps(dict(state), indent=2) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        if final.exists():  # the same step saved again (e.g. after a resume): replace it
            shutil.rmtree(final)
        os.replace(tmp, final)
        _fsync_dir(root)
        for old in list_checkpoints(root)[:-keep_last]:
            shutil.rmtree(old, ignore_errors=True)
        logger.info("Saved checkpoint %s", final)
    accelerator.wait_for_everyone()
    return final


__all__ = [
    "CHECKPOINTS_FOLDER",
    "STATE_FILE",
    "check_compatible",
    "checkpoints_root",
    "list_checkpoints",
    "model_signature",
    "read_trainer_state",
    "resolve_checkpoint",
    "save_checkpoint",
    "signature_differences",
]
