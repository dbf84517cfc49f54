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

Nothing in a checkpoint can run code when it is resumed: the LR scheduler's state is JSON inside
``trainer_state.json`` (accelerate would pickle a registered scheduler into ``custom_checkpoint_0.pkl`` and
unpickle it with ``weights_only=False``); the optimizer and RNG states are loaded with ``weights_only=True``
only, and any other pickle in the folder is never opened.

A checkpoint's ``model_signature`` covers the run, not only the model's shape: the prepared splits
(:func:`data_fingerprint`) and the code table (``code_table_sha256``) must match to resume.

One run at a time per output folder: :func:`output_dir_lock` holds an exclusive ``flock`` on
``<output_dir>/.mindrec.lock`` (holder pid, host and start time inside) for the run's life.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import re
import shutil
import socket
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.compute as pc

logger = logging.getLogger(__name__)

CHECKPOINTS_FOLDER = "checkpoints"
STATE_FILE = "trainer_state.json"
LOCK_FILE = ".mindrec.lock"
SCHEDULER_STATE_KEY = "lr_scheduler"
# accelerate's per-process RNG file (loaded with weights_only=True; numpy states need its safe globals).
_RNG_FILE = "random_states_{}.pkl"
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
    "catalogue_sha256",  # set when a model folder is saved; the code table is its own signature entry
    "output_attentions",
    "output_hidden_states",
    "return_dict",
    "use_cache",
    "_attn_implementation",
    "_attn_implementation_autoset",
}


def model_signature(
    model_type: str,
    model_setting: str,
    config,
    lora: Mapping[str, Any] | None = None,
    data_sha256: str | None = None,
    code_table_sha256: str | None = None,
) -> dict[str, Any]:
    """What must match to resume a checkpoint: model type, setting, config, LoRA shape, and the run's data
    (:func:`data_fingerprint`) and code table (``tokenization_mindrec.code_table_digest``)."""
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
        "data_sha256": data_sha256,
        "code_table_sha256": code_table_sha256,
    }


def data_fingerprint(data) -> str:
    """SHA-256 of a ``PreparedData``'s content: item ids, then each split's user ids, histories and targets.

    Computed from the Arrow columns a slice of rows at a time (each field's size is hashed before its bytes, so the
    digest is the same as hashing each field whole): memory stays flat on MovieLens-scale splits. Chunking and
    storage width do not change it.
    """
    digest = hashlib.sha256()

    def add(label: str, size: int, payloads) -> None:
        digest.update(f"{label}:{size}:".encode())
        for payload in payloads:
            digest.update(payload)

    item_ids = "\0".join(data.item_ids).encode("utf-8")
    add("item_ids", len(item_ids), [item_ids])
    for name in sorted(data.splits):
        table = data.splits[name].with_format("arrow")[:]
        # str(None) is "None", as the row-by-row join of this digest's first version wrote a missing user id.
        users = pc.fill_null(table.column("user_id"), "None")
        history = table.column("history")
        slices = [(start, min(start + FINGERPRINT_ROWS, len(table))) for start in range(0, len(table), FINGERPRINT_ROWS)]
        joined = (pc.sum(pc.binary_length(users)).as_py() or 0) + max(len(table) - 1, 0)  # UTF-8 bytes and separators
        add(f"{name}.user_id", joined, (
            ("\0" if start else "").encode() + "\0".join(users.slice(start, end - start).to_pylist()).encode()
            for start, end in slices
        ))  # fmt: skip
        add(f"{name}.history_lengths", 8 * len(table), (
            _int64_bytes(pc.list_value_length(history.slice(start, end - start))) for start, end in slices
        ))  # fmt: skip
        values = int(pc.sum(pc.list_value_length(history)).as_py() or 0)
        add(f"{name}.history", 8 * values, (
            _int64_bytes(pc.list_flatten(history.slice(start, end - start))) for start, end in slices
        ))  # fmt: skip
        add(f"{name}.target", 8 * len(table), [_int64_bytes(table.column("target"))])
    return digest.hexdigest()


# data_fingerprint reads this many rows of a split at a time.
FINGERPRINT_ROWS = 1 << 18


def _int64_bytes(column) -> bytes:
    """An Arrow integer column's values as int64 bytes (native byte order, as numpy writes them)."""
    return column.to_numpy(zero_copy_only=False).astype(np.int64).tobytes()


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


def check_resume_code_table(spec: str, output_dir: str | os.PathLike, code_table_sha256: str) -> None:
    """Raise a ValueError when the checkpoint to resume was trained on another code table.

    Called before this run writes ``output_dir/item_codes.json``, so that a refused resume leaves the
    checkpoint's own code table in place.
    """
    path = resolve_checkpoint(spec, output_dir)
    saved = read_trainer_state(path).get("model_signature", {}).get("code_table_sha256")
    if saved != code_table_sha256:
        raise ValueError(
            f"Checkpoint {path} was trained on a different code table (code_table_sha256: checkpoint {saved!r}, "
            f"this run {code_table_sha256!r}); resume with the run's code options (code_seed, quantizer, "
            "code_table, ...) and data. Nothing was written."
        )


def scheduler_state(state: Mapping[str, Any], path: Path) -> dict[str, Any]:
    """The LR scheduler's state stored (as JSON) in a checkpoint's trainer state."""
    if SCHEDULER_STATE_KEY not in state:
        raise ValueError(
            f"Checkpoint {path} has no {SCHEDULER_STATE_KEY!r} in {STATE_FILE}: it was written by an older mindrec "
            "that pickled the scheduler (custom_checkpoint_0.pkl), which is never unpickled (it could run code). "
            "Start the run again."
        )
    return dict(state[SCHEDULER_STATE_KEY])


def load_checkpoint(accelerator, path: Path, strict: bool = True) -> None:
    """``accelerator.load_state`` with every pickle opened as ``weights_only=True`` (tensors and plain data).

    The RNG state file of this process is checked first: accelerate would skip an unreadable one with only
    an info message, silently breaking exact resumption. A pickled object (``custom_checkpoint_*.pkl``,
    which accelerate unpickles with ``weights_only=False``) is refused unopened: mindrec never writes one.
    """
    from accelerate.utils import load as weights_only_load

    pickled = sorted(stray.name for stray in path.glob("custom_checkpoint_*"))
    if pickled:
        raise ValueError(
            f"Checkpoint {path} holds pickled objects {pickled}, which mindrec never writes and never unpickles "
            "(unpickling can run code); refusing to resume. Remove them if you trust and understand them."
        )
    rng_file = path / _RNG_FILE.format(accelerator.process_index)
    try:
        weights_only_load(rng_file, weights_only=True)
    except Exception as error:  # the unpickler's refusal, a truncated file, a missing one
        raise ValueError(
            f"Checkpoint {path}: {rng_file.name} is not a plain RNG state (loading it with weights_only=True "
            f"failed: {str(error).splitlines()[0] if str(error) else type(error).__name__}); refusing to resume"
        ) from None
    accelerator.load_state(str(path), load_kwargs={"weights_only": True}, strict=strict)


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


# --------------------------------------------------------------------------------------------------
# One run per output folder


class OutputDirLockedError(RuntimeError):
    """Another live process holds the output folder's lock."""


# Locks this process holds: resolved folder -> [open lock file, depth] (the lock is re-entrant in a process).
_HELD_LOCKS: dict[Path, list] = {}


def _read_holder(path: Path) -> dict[str, Any]:
    try:
        holder = json.loads(path.read_text(encoding="utf-8") or "{}")
    except (OSError, ValueError):
        return {}
    return holder if isinstance(holder, dict) else {}


def _describe(holder: Mapping[str, Any]) -> str:
    if not holder:
        return "an unknown process"
    return (
        f"pid {holder.get('pid')} on host {holder.get('host')!r} since {holder.get('started')} "
        f"({holder.get('command', '?')})"
    )


@contextlib.contextmanager
def output_dir_lock(output_dir: str | os.PathLike) -> Iterator[Path]:
    """Hold an exclusive lock on ``output_dir`` for the block; re-entrant within one process.

    The lock is an ``flock`` on ``output_dir/.mindrec.lock``, which records the holder (pid, host, start time,
    command). The kernel drops it when its process dies, so a lock file left by a killed run is stale and is
    taken over (with a log line naming the dead holder).

    Raises:
        OutputDirLockedError: another live process holds it; the message names the holder.
    """
    folder = Path(output_dir).resolve()
    if folder in _HELD_LOCKS:
        _HELD_LOCKS[folder][1] += 1
        try:
            yield folder
        finally:
            _HELD_LOCKS[folder][1] -= 1
        return
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / LOCK_FILE
    while True:
        handle = open(path, "a+", encoding="utf-8")  # noqa: SIM115 - held open for the lock's life
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            raise OutputDirLockedError(
                f"{folder} is in use by another training run: {_describe(_read_holder(path))} holds {path}. "
                "Wait for it to finish, or use another --output_dir."
            ) from None
        # The holder before us may have removed the file between our open and our lock: lock the live file.
        try:
            same = os.fstat(handle.fileno()).st_ino == os.stat(path).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        handle.close()
    previous = _read_holder(path)
    if previous:
        logger.warning("Taking over the stale lock %s left by %s, which is no longer running", path, _describe(previous))
    handle.seek(0)
    handle.truncate()
    holder = {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "command": " ".join(sys.argv)[:300],
    }
    handle.write(json.dumps(holder) + "\n")
    handle.flush()
    _HELD_LOCKS[folder] = [handle, 1]
    try:
        yield folder
    finally:
        del _HELD_LOCKS[folder]
        with contextlib.suppress(FileNotFoundError):
            path.unlink()  # while still locked, so no one can lock this inode and think it is the live file
        handle.close()


def prepare_output_dir(
    output_dir: str | os.PathLike,
    resume_from_checkpoint: str | None,
    overwrite_output_dir: bool,
    model_folders: tuple[str, ...] = (),
) -> None:
    """Refuse to mix a new run into an output folder holding another run's checkpoints.

    With ``overwrite_output_dir`` the old checkpoints are removed, and the log says which. ``model_folders``
    (``best``, ``final``), which the run will replace, must be absent or previous model folders of mindrec:
    checked now rather than at the first validation. Call it on the main process, holding
    :func:`output_dir_lock`.

    Raises:
        ValueError: checkpoints exist, the run does not resume and ``overwrite_output_dir`` is off.
        FileExistsError: a model folder path holds something mindrec did not write.
    """
    from mindrec.io_utils import check_replaceable

    from .model_io import MODEL_KIND

    for name in model_folders:
        check_replaceable(Path(output_dir) / name, MODEL_KIND, overwrite=True)
    root = checkpoints_root(output_dir)
    existing = list_checkpoints(root)
    if not existing or resume_from_checkpoint is not None:
        return
    if not overwrite_output_dir:
        raise ValueError(
            f"{output_dir} already holds checkpoints ({existing[-1].name}); pass --resume_from_checkpoint latest "
            "to continue, --overwrite_output_dir to start over, or another output_dir."
        )
    logger.warning(
        "overwrite_output_dir: REMOVING %d checkpoint(s) of a previous run in %s: %s",
        len(existing),
        root,
        ", ".join(path.name for path in existing),
    )
    shutil.rmtree(root)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def save_checkpoint(
    accelerator,
    output_dir: str | os.PathLike,
    step: int,
    state: Mapping[str, Any],
    keep_last: int,
    write_extra: Callable[[Path], None] | None = None,
) -> Path:
    """Write checkpoint ``step`` atomically (see the module docstring) and keep the last ``keep_last``.

    Every process must call it (each writes its own RNG state). ``write_extra(folder)`` adds more files
    (the main process calls it inside the unfinished folder, so they land atomically with the rest).
    Returns the final folder.
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
        if write_extra is not None:
            write_extra(tmp)
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
    "LOCK_FILE",
    "STATE_FILE",
    "OutputDirLockedError",
    "check_compatible",
    "check_resume_code_table",
    "checkpoints_root",
    "data_fingerprint",
    "list_checkpoints",
    "load_checkpoint",
    "model_signature",
    "output_dir_lock",
    "prepare_output_dir",
    "read_trainer_state",
    "resolve_checkpoint",
    "save_checkpoint",
    "scheduler_state",
    "signature_differences",
]
