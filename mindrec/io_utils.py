"""Safe writes: a crash never leaves a half-written output, and nothing the package did not write is lost.

* :func:`atomic_write_bytes` / :func:`atomic_write_text` / :func:`atomic_write_json` /
  :func:`atomic_write_with`: one file through a temporary sibling and one rename, with the mode ``open()``
  would give (the umask's), not ``mkstemp``'s 0600.
* :func:`atomic_directory`: a whole output folder written into a temporary sibling and renamed into place.
  Every such folder holds a manifest (:data:`MANIFEST_FILE`: its kind and the SHA-256 of each file). An
  existing path is replaced only when the caller asked (``overwrite=True``) *and* it is a folder whose
  manifest says it is a previous output of the same kind *and* it holds no file its manifest does not list
  (someone else's). Anything else is refused before a byte is written.
* :func:`check_separate`: an output must not be, hold or lie inside an input.
* :func:`verify_manifest`: check a folder's files against its manifest (integrity on load).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

MANIFEST_FILE = "mindrec_manifest.json"
MANIFEST_FORMAT_VERSION = 1
_HASH_CHUNK = 1 << 20


def _umask() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return umask


def _default_file_mode() -> int:
    """``0o666`` less the process umask: what ``open()`` would have given the file."""
    return 0o666 & ~_umask()


def atomic_write_with(path: str | os.PathLike, write: Callable[[str], Any]) -> None:
    """Call ``write(tmp_path)`` on a temporary sibling of ``path``, then rename it over ``path``.

    The rename is atomic on POSIX, so readers see either the old file or the whole new one; on any
    exception the temporary file is removed and ``path`` is untouched. The file gets the umask's mode.
    """
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"{path} is a folder; refusing to replace it with a file")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        os.chmod(tmp, _default_file_mode())  # mkstemp creates 0600; shipped files must be readable
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_write_with`)."""
    atomic_write_with(path, lambda tmp: Path(tmp).write_bytes(data))


def atomic_write_text(path: str | os.PathLike, text: str, encoding: str = "utf-8") -> None:
    """Write ``text`` to ``path`` atomically (see :func:`atomic_write_with`)."""
    atomic_write_bytes(path, text.encode(encoding))


def atomic_write_json(path: str | os.PathLike, obj: Any, indent: int | None = 2) -> None:
    """Serialise ``obj`` as JSON and write it atomically (see :func:`atomic_write_text`)."""
    atomic_write_text(path, json.dumps(obj, indent=indent, ensure_ascii=False) + "\n")


# --------------------------------------------------------------------------------------------------
# Manifests


def file_sha256(path: str | os.PathLike) -> str:
    """Hex SHA-256 of a file's bytes (read in 1 MiB chunks)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(_HASH_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _relative_files(folder: Path) -> list[str]:
    return sorted(
        path.relative_to(folder).as_posix()
        for path in folder.rglob("*")
        if path.is_file() or path.is_symlink()
    )


def write_manifest(folder: str | os.PathLike, kind: str) -> dict[str, Any]:
    """Hash every file under ``folder`` into ``folder/mindrec_manifest.json``; return the manifest."""
    folder = Path(folder)
    files = {name: file_sha256(folder / name) for name in _relative_files(folder) if name != MANIFEST_FILE}
    manifest = {"format_version": MANIFEST_FORMAT_VERSION, "kind": kind, "files": files}
    (folder / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return manifest


def read_manifest(folder: str | os.PathLike) -> dict[str, Any] | None:
    """The folder's manifest, or None when it has none. A malformed one raises a ValueError."""
    path = Path(folder) / MANIFEST_FILE
    if not path.is_file():
        return None
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"{path} is not valid JSON: {error}") from None
    files = manifest.get("files") if isinstance(manifest, dict) else None
    if (
        not isinstance(files, dict)
        or not all(isinstance(name, str) and isinstance(digest, str) for name, digest in files.items())
        or not isinstance(manifest.get("kind"), str)
    ):
        raise ValueError(f"{path} is not a mindrec manifest (needs 'kind' and a 'files' object of hashes)")
    return manifest


def verify_manifest(folder: str | os.PathLike, kind: str | None = None) -> dict[str, Any]:
    """Check every file listed in ``folder``'s manifest against its recorded SHA-256.

    Returns the manifest. Raises:
        FileNotFoundError: no manifest, or a listed file is missing.
        ValueError: a file's content differs from what was saved, or the manifest is of another ``kind``.
    """
    folder = Path(folder)
    manifest = read_manifest(folder)
    if manifest is None:
        raise FileNotFoundError(f"{folder} has no {MANIFEST_FILE}; its integrity cannot be checked")
    if kind is not None and manifest["kind"] != kind:
        raise ValueError(f"{folder / MANIFEST_FILE} describes a {manifest['kind']!r} folder, not a {kind!r} one")
    missing = [name for name in manifest["files"] if not (folder / name).is_file()]
    if missing:
        raise FileNotFoundError(f"{folder}: file(s) listed in {MANIFEST_FILE} are missing: {missing}")
    changed = [name for name, digest in manifest["files"].items() if file_sha256(folder / name) != digest]
    if changed:
        raise ValueError(
            f"{folder}: {changed} differ(s) from the content saved with the folder ({MANIFEST_FILE} SHA-256); "
            "the files were modified or corrupted after saving. Re-save or re-download the folder."
        )
    return manifest


# --------------------------------------------------------------------------------------------------
# Output folders


def check_separate(output: str | os.PathLike, inputs: Iterable[str | os.PathLike]) -> None:
    """Raise a ValueError when ``output`` is, holds or lies inside one of ``inputs`` (files or folders).

    An output folder is written (and, when asked, replaced) as a whole, so sharing a path with an input
    would destroy it or mix the two.
    """
    target = Path(output).resolve()
    for entry in inputs:
        source = Path(entry).resolve()
        if target == source or target.is_relative_to(source) or source.is_relative_to(target):
            raise ValueError(
                f"the output {output} must lie outside the input {entry}: it is written (or replaced) as a "
                "whole, so it must not be, hold or lie inside the input; choose another output path"
            )


def check_replaceable(path: str | os.PathLike, kind: str, overwrite: bool) -> None:
    """Raise FileExistsError unless ``path`` is free or may be replaced by a new ``kind`` output (module docstring)."""
    path = Path(path)
    if not os.path.lexists(path):
        return
    if not path.is_dir() or path.is_symlink():
        raise FileExistsError(f"{path} exists and is not a folder; refusing to replace it with a {kind} folder")
    try:
        manifest = read_manifest(path)
    except ValueError as error:
        raise FileExistsError(f"{path} exists and its manifest is unreadable ({error}); refusing to replace it") from None
    if manifest is None or manifest["kind"] != kind:
        found = "no mindrec manifest" if manifest is None else f"a {manifest['kind']!r} manifest"
        raise FileExistsError(
            f"{path} already exists and is not a previous {kind} output of mindrec ({found} "
            f"{MANIFEST_FILE}); refusing to touch it. Choose another path or remove it yourself."
        )
    if not overwrite:
        raise FileExistsError(
            f"{path} already exists (a previous {kind} output); refusing to overwrite it without being asked "
            "(overwrite=True / --overwrite)"
        )
    foreign = [name for name in _relative_files(path) if name != MANIFEST_FILE and name not in manifest["files"]]
    if foreign:
        raise FileExistsError(
            f"{path} is a previous {kind} output but also holds files mindrec did not write there: "
            f"{foreign[:10]}{' ...' if len(foreign) > 10 else ''}; refusing to replace it (move them out first)"
        )


@contextlib.contextmanager
def atomic_directory(path: str | os.PathLike, kind: str, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary sibling folder; on success it gets a manifest and replaces ``path`` in one rename.

    Args:
        path: the output folder.
        kind: what the folder is (``"prepared-data"``, ``"model"``, ...), recorded in its manifest.
        overwrite: the caller asked to replace a previous output of the same kind.

    Raises:
        FileExistsError: before anything is written, when ``path`` exists and may not be replaced (see the
            module docstring); the check is repeated just before the swap.

    On any exception the temporary folder is removed and ``path`` is left untouched.
    """
    path = Path(path)
    check_replaceable(path, kind, overwrite)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp creates 0700; shipped folders must be readable
    try:
        yield tmp
        write_manifest(tmp, kind)
        if os.path.lexists(path):
            check_replaceable(path, kind, overwrite)  # it may have changed while the new one was written
            logger.info("Replacing the previous %s output %s", kind, path)
            # Move the old folder aside first so that the swap is a pair of renames.
            old = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".old", dir=path.parent))
            old.rmdir()
            os.replace(path, old)
            os.replace(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


__all__ = [
    "MANIFEST_FILE",
    "atomic_directory",
    "atomic_write_bytes",
    "atomic_write_json",
    "atomic_write_text",
    "atomic_write_with",
    "check_replaceable",
    "check_separate",
    "file_sha256",
    "read_manifest",
    "verify_manifest",
    "write_manifest",
]
