"""LC-Rec / LETTER / MindRec JSON: ``<name>.inter.json``, ``<name>.item.json``, ``<name>.index.json``.

* ``.inter.json``: ``{user_id: [item_id, ...]}`` in chronological order (ids are strings or ints).
* ``.item.json`` (optional): ``{item_id: {"title", "description", "brand", "categories"}}``; its key
  order is the item order. ``categories`` is a string path ("A,B, C,D") or a list; ``description``
  may be a list of paragraphs. Without it the items are the ``.inter.json`` ids in order of first
  appearance.
* ``.index.json`` (optional): ``{item_id: ["<a_11>", "<b_53>", ...]}``: the semantic IDs, returned
  as ``sid_codes`` aligned with the item table (see :func:`parse_sid_index`).

JSON gives no line numbers for well-formed values, so content errors name the file and the user or
item at fault; syntax errors name the line.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..build import InteractionData
from ..catalogue import ItemCatalogue, ItemRecord
from ..categories import clean_text, normalize_categories
from ..errors import DataFormatError, read_json, require_file
from ..splits import UserSequence
from .paths import optional_item_file, resolve_named_file
from .sid_index import parse_sid_index


def _item_id(value: object, where: str) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, str)) or value == "":
        raise DataFormatError(f"{where}: item ids must be non-empty strings or integers, got {value!r}")
    return str(value)


def read_item_json(path: str | os.PathLike) -> ItemCatalogue:
    """Read ``<name>.item.json`` into a catalogue in key order."""
    path = require_file(path, "item file")
    features = read_json(path)
    if not isinstance(features, dict) or not features:
        raise DataFormatError(f"{path}: expected a non-empty JSON object mapping item ids to features")
    catalogue = ItemCatalogue(origin=str(path))
    for item_id, feature in features.items():
        where = f"{path}: item {item_id!r}"
        if not isinstance(feature, dict):
            raise DataFormatError(
                f"{where}: expected a JSON object of features, got {type(feature).__name__}"
            )
        record = ItemRecord(
            item_id=item_id,
            title=clean_text(feature.get("title")),
            brand=clean_text(feature.get("brand")),
            categories=tuple(normalize_categories(feature.get("categories"), where)),
            description=clean_text(feature.get("description")),
        )
        catalogue.add(record, str(path))
    return catalogue


def load_lcrec_json(path: str | os.PathLike, index_path: str | os.PathLike | None = None) -> InteractionData:
    """Load from a folder, the ``.inter.json`` file or a prefix. ``index_path`` overrides ``<name>.index.json``."""
    inter_path, name = resolve_named_file(path, ".inter.json")
    item_path = inter_path.with_name(f"{name}.item.json")
    catalogue = optional_item_file(item_path, read_item_json)

    interactions = read_json(inter_path)
    if not isinstance(interactions, dict) or not interactions:
        raise DataFormatError(
            f"{inter_path}: expected a non-empty JSON object mapping user ids to item lists"
        )
    sequences = []
    for user_id, item_list in interactions.items():
        where = f"{inter_path}: user {user_id!r}"
        if not isinstance(item_list, list) or not item_list:
            raise DataFormatError(f"{where}: expected a non-empty list of item ids, got {item_list!r}")
        items = []
        for value in item_list:
            item_id = _item_id(value, where)
            items.append(catalogue.index_of(item_id, where))
        sequences.append(UserSequence(user_id, items))

    sid_codes = None
    index_file = Path(index_path) if index_path is not None else inter_path.with_name(f"{name}.index.json")
    if index_path is not None or index_file.is_file():
        require_file(index_file, "SID index file")
        sid_codes = parse_sid_index(read_json(index_file), catalogue.item_ids, str(index_file))
    return InteractionData(name=name, catalogue=catalogue, sequences=sequences, sid_codes=sid_codes)
