"""The error raised for bad input data, and helpers that read files and name the line at fault."""

from __future__ import annotations

import gzip
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from tqdm.auto import tqdm

_GZIP_MAGIC = b"\x1f\x8b"


class DataFormatError(ValueError):
    """Malformed or inconsistent input data. The message names the file and the line or item at fault."""


def at(path: str | os.PathLike, line: int | None = None) -> str:
    """Location prefix for error messages: ``"path, line 12"`` or just ``"path"``."""
    return f"{path}, line {line}" if line is not None else str(path)


def require_file(path: str | os.PathLike, what: str) -> Path:
    """Return ``path`` as a ``Path``; raise ``FileNotFoundError`` naming ``what`` if it is not a file."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{what} not found: {path}")
    return path


def open_text(path: str | os.PathLike) -> IO[str]:
    """Open a UTF-8 text file for reading, transparently decompressing gzip (detected by magic bytes)."""
    path = Path(path)
    with open(path, "rb") as handle:
        magic = handle.read(2)
    if magic == _GZIP_MAGIC:
        return gzip.open(path, "rt", encoding="utf-8")
    return open(path, encoding="utf-8", newline="")


def iter_lines(path: str | os.PathLike, desc: str | None = None) -> Iterator[tuple[int, str]]:
    """Yield ``(line_number, line)`` for every non-blank line (1-based numbers, trailing newline removed).

    Raises ``DataFormatError`` once the file turns out to hold no non-blank line at all.
    """
    path = Path(path)
    seen_any = False
    with open_text(path) as handle:
        # disable=None: the bar shows on a terminal only, so logs and CI stay clean.
        for number, line in enumerate(tqdm(handle, desc=desc or path.name, unit=" lines", disable=None), 1):
            if number == 1 and line.startswith("\ufeff"):
                raise DataFormatError(
                    f"{at(path, 1)}: the file starts with a UTF-8 byte-order mark (BOM); save it as UTF-8 "
                    "without BOM (e.g. re-encode from utf-8-sig)"
                )
            line = line.rstrip("\r\n")
            if not line.strip():
                continue
            seen_any = True
            yield number, line
    if not seen_any:
        raise DataFormatError(f"{path}: the file is empty")


def _reject_duplicate_keys(path: Path):
    def hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key, value in pairs:
            if key in result:
                raise DataFormatError(f"{path}: duplicate key {key!r} in a JSON object")
            result[key] = value
        return result

    return hook


def read_json(path: str | os.PathLike) -> Any:
    """Parse a whole JSON file. Bad JSON, an empty file and duplicate object keys raise ``DataFormatError``.

    ``json`` would silently keep the last of two equal keys; here a repeated user or item id is an error.
    """
    path = Path(path)
    with open_text(path) as handle:
        text = handle.read()
    if not text.strip():
        raise DataFormatError(f"{path}: the file is empty")
    try:
        return json.loads(text, object_pairs_hook=_reject_duplicate_keys(path))
    except json.JSONDecodeError as error:
        raise DataFormatError(f"{at(path, error.lineno)}: invalid JSON ({error.msg})") from None
