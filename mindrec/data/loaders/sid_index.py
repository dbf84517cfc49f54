"""Parse an LC-Rec / LETTER / MindRec ``.index.json`` (item -> SID tokens) into a digit table."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import numpy as np

from ..errors import DataFormatError

# "<a_11>": digit position given by the letter (a = first digit), value 11.
_TOKEN = re.compile(r"<([a-z])_(\d+)>")


def parse_sid_index(index: Mapping[str, object], item_ids: Sequence[str], source: str) -> np.ndarray:
    """Turn ``{item_id: ["<a_11>", "<b_53>", ...]}`` into ``int64 [len(item_ids), n_digits]``.

    Row ``i`` holds the digit values of ``item_ids[i]``. Every item must have a code, every code must
    have the same length with letters ``a, b, c, ...`` in order, the index may not name items outside
    ``item_ids``, and no two items may share a code. Errors name ``source`` and the item.
    """
    if not isinstance(index, Mapping):
        raise DataFormatError(f"{source}: expected a JSON object mapping item ids to token lists")
    known = set(item_ids)
    for item_id in index:
        if item_id not in known:
            raise DataFormatError(f"{source}: item {item_id!r} is not in the item table")

    rows: list[list[int]] = []
    length: int | None = None
    first_length_item = None
    owner: dict[tuple[int, ...], str] = {}
    for item_id in item_ids:
        if item_id not in index:
            raise DataFormatError(f"{source}: item {item_id!r} has no SID code")
        tokens = index[item_id]
        if not isinstance(tokens, list) or not tokens:
            raise DataFormatError(
                f"{source}: item {item_id!r}: expected a non-empty list of tokens, got {tokens!r}"
            )
        digits = []
        for position, token in enumerate(tokens):
            match = _TOKEN.fullmatch(token) if isinstance(token, str) else None
            if match is None:
                raise DataFormatError(
                    f"{source}: item {item_id!r}: token {token!r} is not of the form <a_12>"
                )
            expected = chr(ord("a") + position)
            if match.group(1) != expected:
                raise DataFormatError(
                    f"{source}: item {item_id!r}: token {token!r} at position {position} should start with <{expected}_"
                )
            digits.append(int(match.group(2)))
        if length is None:
            length, first_length_item = len(digits), item_id
        elif len(digits) != length:
            raise DataFormatError(
                f"{source}: item {item_id!r} has {len(digits)} SID tokens but item {first_length_item!r} has {length}"
            )
        code = tuple(digits)
        if code in owner:
            raise DataFormatError(
                f"{source}: items {owner[code]!r} and {item_id!r} share the SID code {tokens}"
            )
        owner[code] = item_id
        rows.append(digits)
    return np.asarray(rows, dtype=np.int64).reshape(len(item_ids), length or 0)
