"""The ``amazon_beauty_2014`` layout: ``sequences.txt`` ("user item item ...") plus ``items.jsonl``.

``sequences.txt`` (S3-Rec's ``Beauty.txt``) has one line per user: integer user id, then integer item
ids in chronological order, space-separated. ``items.jsonl`` has one JSON object per item with at
least ``item_id`` and optionally ``title``, ``brand``, ``categories`` (list, root first, or a string
path) and ``description``. Without ``items.jsonl`` the item table is the ids of ``sequences.txt`` in
order of first appearance, without text.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from ..build import InteractionData
from ..catalogue import ItemCatalogue, ItemRecord
from ..categories import clean_text, normalize_categories
from ..errors import DataFormatError, at, iter_lines, require_file
from ..splits import UserSequence
from .paths import optional_item_file

SEQUENCES_FILE = "sequences.txt"
ITEMS_FILE = "items.jsonl"


_DIGITS = re.compile(r"-?[0-9]+")


def _integer_id(token: object, where: str, what: str) -> str:
    """Canonical string of an integer id (``7``, ``"7"`` and ``"007"`` give ``"7"``).

    Only ASCII digits with an optional minus: Python's ``int()`` would also read ``"1_2"`` as 12, and
    ``" 7"`` or non-ASCII digits, merging distinct ids silently.
    """
    if isinstance(token, bool) or not isinstance(token, (int, str)):
        raise DataFormatError(f"{where}: {what} must be an integer, got {token!r}")
    if isinstance(token, str) and not _DIGITS.fullmatch(token):
        raise DataFormatError(f"{where}: {what} must be an integer, got {token!r} (ASCII digits only)")
    return str(int(token))


def read_items_jsonl(path: str | os.PathLike) -> ItemCatalogue:
    """Read ``items.jsonl`` into a catalogue (file order). Errors name the file and line."""
    path = require_file(path, "item file")
    catalogue = ItemCatalogue(origin=str(path))
    for number, line in iter_lines(path):
        where = at(path, number)
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            raise DataFormatError(f"{where}: invalid JSON ({error.msg})") from None
        if not isinstance(record, dict):
            raise DataFormatError(f"{where}: expected a JSON object, got {type(record).__name__}")
        if "item_id" not in record:
            raise DataFormatError(f"{where}: missing field 'item_id'")
        item = ItemRecord(
            item_id=_integer_id(record["item_id"], where, "item_id"),
            title=clean_text(record.get("title")),
            brand=clean_text(record.get("brand")),
            categories=tuple(normalize_categories(record.get("categories"), where)),
            description=clean_text(record.get("description")),
        )
        catalogue.add(item, where)
    return catalogue


def read_sequences_txt(
    path: str | os.PathLike, catalogue: ItemCatalogue | None
) -> tuple[ItemCatalogue, list[UserSequence]]:
    """Read ``sequences.txt``; ids are checked against ``catalogue`` when it was read from an item file, and interned
    into it otherwise (into a new one if ``None``; :meth:`ItemCatalogue.index_of`)."""
    path = require_file(path, "sequence file")
    catalogue = catalogue if catalogue is not None else ItemCatalogue()
    sequences: list[UserSequence] = []
    user_lines: dict[str, int] = {}
    for number, line in iter_lines(path):
        where = at(path, number)
        tokens = line.split()
        user_id = _integer_id(tokens[0], where, "user id")
        if len(tokens) < 2:
            raise DataFormatError(f"{where}: user {user_id} has no items")
        if user_id in user_lines:
            raise DataFormatError(f"{where}: user {user_id} already appears on line {user_lines[user_id]}")
        user_lines[user_id] = number
        items = []
        for token in tokens[1:]:
            item_id = _integer_id(token, where, "item id")
            items.append(catalogue.index_of(item_id, where))
        sequences.append(UserSequence(user_id, items))
    return catalogue, sequences


def load_amazon_beauty(path: str | os.PathLike) -> InteractionData:
    """Load the layout from its folder (or from its ``sequences.txt``); ``items.jsonl`` is optional."""
    path = Path(path)
    folder = path.parent if path.is_file() else path
    sequences_path = path if path.is_file() else folder / SEQUENCES_FILE
    items_path = folder / ITEMS_FILE
    catalogue, sequences = read_sequences_txt(sequences_path, optional_item_file(items_path, read_items_jsonl))
    return InteractionData(name=folder.resolve().name, catalogue=catalogue, sequences=sequences)
