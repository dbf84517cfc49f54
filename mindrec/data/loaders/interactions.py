"""Your own interactions: a table of (user, item, timestamp) rows, plus an optional item table.

The interactions (and the item table) may be a ``datasets.Dataset`` (or a ``DatasetDict``, of which
``split`` is used), a pandas DataFrame, a ``.csv`` / ``.tsv`` / ``.parquet`` / ``.jsonl`` file, a local
dataset folder or a Hub dataset name (both read with ``datasets.load_dataset``; offline, with
``HF_DATASETS_OFFLINE=1``, only local folders and the cache are used). Column names are options.

* Each user's interactions are sorted by the timestamp column (stable: equal times keep row order);
  without one (``timestamp_column=None``) the row order is the chronology. Timestamps must be numbers,
  datetimes or ISO-8601 strings; anything else (or a missing value) is an error naming the row.
* Users appear in order of their first row; ids are turned into strings (``101`` -> ``"101"``).
* With an item table, its row order defines the item index, and an interaction naming an item the
  table lacks is an error (the count and the first ids are named). Without one, items are indexed in
  order of first appearance and have no text.
* Item table columns: the item id (required), then ``title``, ``brand``, ``description`` and
  ``categories`` if present: a category path given as a list of names (root first) or as a string
  whose levels are separated by ``category_separator`` (default ``">"``: ``"Beauty > Makeup > Lips"``).
  Genre labels (``genres`` or ``genre``: a list, or MovieLens' ``"Action|Crime"``) join the description
  text. An info line names the columns used and those left out.
"""

from __future__ import annotations

import datetime as dt
import difflib
import logging
import math
import os
from numbers import Real
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..build import InteractionData
from ..catalogue import ItemCatalogue, ItemRecord
from ..categories import clean_text, description_with_genres, normalize_categories
from ..errors import DataFormatError
from ..splits import sequences_from_events

logger = logging.getLogger(__name__)

GENRE_COLUMNS = ("genres", "genre")
TABLE_SUFFIXES = {".csv": "csv", ".tsv": "csv", ".parquet": "parquet", ".jsonl": "json", ".json": "json"}


def _source_name(source: Any) -> str:
    if isinstance(source, (str, os.PathLike)):
        return str(source)
    return type(source).__name__


def read_table(source: Any, split: str = "train"):
    """Any supported table as a ``datasets.Dataset`` (see the module docstring)."""
    import datasets

    if isinstance(source, datasets.DatasetDict):
        if split not in source:
            raise DataFormatError(f"the DatasetDict has no split {split!r}; it has {list(source)}")
        return source[split]
    if isinstance(source, datasets.Dataset):
        return source
    if type(source).__name__ == "DataFrame":  # pandas, without importing it for the other cases
        return datasets.Dataset.from_pandas(source, preserve_index=False)
    if not isinstance(source, (str, os.PathLike)):
        raise TypeError(
            f"interactions/items must be a datasets.Dataset, a pandas DataFrame, a file path or a dataset name, "
            f"got {type(source).__name__}"
        )
    path = Path(source)
    if path.is_file():
        builder = TABLE_SUFFIXES.get(path.suffix.lower())
        if builder is None:
            raise DataFormatError(f"{path}: unknown table format; expected one of {sorted(TABLE_SUFFIXES)}")
        options = {"delimiter": "\t"} if path.suffix.lower() == ".tsv" else {}
        return datasets.load_dataset(builder, data_files=str(path), split="train", **options)
    if path.is_dir() and (path / "dataset_info.json").is_file() and (path / "state.json").is_file():
        return datasets.load_from_disk(str(path))  # a Dataset.save_to_disk folder
    try:
        return datasets.load_dataset(str(source), split=split)
    except FileNotFoundError as error:
        raise FileNotFoundError(
            f"{source}: neither a file nor a dataset folder, and datasets.load_dataset cannot find it ({error})"
        ) from None


def _require_columns(table, columns: dict[str, str | None], what: str) -> None:
    """Raise naming every missing column, the columns there are and the closest name."""
    present = list(table.column_names)
    for option, name in columns.items():
        if name is not None and name not in present:
            close = difflib.get_close_matches(name, present, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise DataFormatError(
                f"{what}: no column {name!r} ({option}); the columns are {present}.{hint} "
                f"Pass {option}= the name of the column that holds it."
            )


def _sort_key(value: Any, row: int, column: str, what: str) -> float:
    """A number that orders timestamps: numbers as they are, datetimes and ISO-8601 strings as seconds."""
    if isinstance(value, bool) or value is None:
        raise DataFormatError(f"{what}, row {row}: timestamp column {column!r} holds {value!r}, not a time")
    if isinstance(value, Real):
        number = float(value)
        if math.isnan(number):
            raise DataFormatError(f"{what}, row {row}: timestamp column {column!r} holds a missing value (NaN)")
        return number
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=value.tzinfo or dt.timezone.utc).timestamp()
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day, tzinfo=dt.timezone.utc).timestamp()
    if isinstance(value, str):
        text = value.strip()
        try:
            return float(text)
        except ValueError:
            pass
        try:
            parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise DataFormatError(
                f"{what}, row {row}: timestamp {value!r} in column {column!r} cannot be sorted: use numbers "
                "(e.g. Unix seconds), datetimes or ISO-8601 strings (2014-03-01T12:00:00)"
            ) from None
        return parsed.replace(tzinfo=parsed.tzinfo or dt.timezone.utc).timestamp()
    raise DataFormatError(
        f"{what}, row {row}: timestamp column {column!r} holds {type(value).__name__} {value!r}, not a time"
    )


def _first_row(mask) -> int:
    """The first row where a boolean Arrow array (or chunked array) is true."""
    return int(np.flatnonzero(np.asarray(mask.to_numpy(zero_copy_only=False), dtype=bool))[0])


def _encoded_ids(column: pa.ChunkedArray, name: str, what: str) -> tuple[list[str], np.ndarray]:
    """An id column as ``(unique ids in order of first row, each row's index into them [rows])``, the ids as
    :func:`_item_id` writes them. Integer, integral-float and string columns are read by Arrow; other types row by row.
    """
    column = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if column.null_count or (pa.types.is_floating(column.type) and pc.any(pc.is_nan(column)).as_py()):
        missing = pc.is_null(column, nan_is_null=True)
        raise DataFormatError(f"{what}, row {_first_row(missing)}: column {name!r} is empty")
    kind = column.type
    # pandas reads an integer column with gaps as floats; whole floats up to 2**53 are exact integers ("10", not "10.0").
    if pa.types.is_floating(kind) and pc.all(pc.equal(pc.floor(column), column)).as_py() and (
        pc.max(pc.abs(column)).as_py() <= 2**53
    ):
        column, kind = pc.cast(column, pa.int64()), pa.int64()
    if pa.types.is_integer(kind):
        column = pc.cast(column, pa.string())
    elif not (pa.types.is_string(kind) or pa.types.is_large_string(kind)):
        values = [_item_id(value, row, name, what) for row, value in enumerate(column.to_pylist())]
        column = pa.array(values, type=pa.large_string())
    encoded = column.dictionary_encode()  # codes in order of first appearance
    return encoded.dictionary.to_pylist(), encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64)


def _sort_keys(column: pa.ChunkedArray, name: str, what: str) -> np.ndarray:
    """Each row's timestamp as a number that orders it ``[rows]`` (float64): numeric columns read by Arrow, others
    (strings, datetimes) row by row with :func:`_sort_key`, which names a row that cannot be sorted."""
    kind = column.type
    if (pa.types.is_integer(kind) or pa.types.is_floating(kind)) and not column.null_count:
        keys = column.to_numpy().astype(np.float64)
        if not np.isnan(keys).any():
            return keys
    return np.array([_sort_key(value, row, name, what) for row, value in enumerate(column.to_pylist())], np.float64)


def _item_id(value: Any, row: int, column: str, what: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        raise DataFormatError(f"{what}, row {row}: column {column!r} is empty")
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # pandas reads an integer column with gaps as floats
    return str(value)


def _categories(value: Any, separator: str, where: str) -> list[str]:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return []
    if isinstance(value, str):
        return [name for name in (clean_text(part) for part in value.split(separator)) if name]
    return normalize_categories(list(value), where)


def _genres(value: Any) -> list[str]:
    """Genre labels: a list of names, or MovieLens' ``"Adventure|Animation"``."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return []
    return value.split("|") if isinstance(value, str) else list(value)


def read_item_table(
    items: Any,
    item_column: str = "item_id",
    category_separator: str = ">",
    split: str = "train",
) -> ItemCatalogue:
    """The item table as a catalogue (row order = item index); a repeated id is an error. An info line names the
    columns used and those left out."""
    table = read_table(items, split)
    what = f"item table {_source_name(items)}"
    _require_columns(table, {"item_column": item_column}, what)
    present = set(table.column_names)
    text_columns = [name for name in ("title", "brand", "description", "categories") if name in present]
    # Genres (MovieLens' ``genres``) are unordered labels, not a coarse-to-fine path: they join the item's text.
    genre_column = next((name for name in GENRE_COLUMNS if name in present), None)
    used = [item_column, *text_columns, *([genre_column] if genre_column else [])]
    logger.info(
        "%s: item columns used: %s; left out: %s",
        what,
        ", ".join(used),
        ", ".join(name for name in table.column_names if name not in used) or "none",
    )
    catalogue = ItemCatalogue(origin=what)
    columns = {name: table[name] for name in used}
    for row in range(len(table)):
        where = f"{what}, row {row}"
        get = {name: values[row] for name, values in columns.items()}
        record = ItemRecord(
            item_id=_item_id(get[item_column], row, item_column, what),
            title=clean_text(get.get("title")),
            brand=clean_text(get.get("brand")),
            categories=tuple(_categories(get.get("categories"), category_separator, where)),
            description=description_with_genres(get.get("description"), _genres(get.get(genre_column))),
        )
        catalogue.add(record, where)
    return catalogue


def load_interactions(
    interactions: Any,
    items: Any = None,
    user_column: str = "user_id",
    item_column: str = "item_id",
    timestamp_column: str | None = "timestamp",
    category_separator: str = ">",
    split: str = "train",
    name: str | None = None,
) -> InteractionData:
    """Read interactions (+ item table) into :class:`InteractionData` (see the module docstring).

    Raises:
        DataFormatError: a missing column (named, with the columns there are), an empty id, a timestamp
            that cannot be sorted (its row), or interactions naming items the item table lacks.
    """
    table = read_table(interactions, split)
    what = f"interactions {_source_name(interactions)}"
    _require_columns(
        table,
        {"user_column": user_column, "item_column": item_column, "timestamp_column": timestamp_column},
        what,
    )
    if len(table) == 0:
        raise DataFormatError(f"{what}: no rows")
    # Column-wise (Arrow) where the column types allow it: a Python object per row and column costs ~10x the memory
    # and time on tens of millions of rows (MovieLens-25M).
    columns = table.with_format("arrow")[:]
    user_ids, user_codes = _encoded_ids(columns.column(user_column), user_column, what)
    item_ids, item_codes = _encoded_ids(columns.column(item_column), item_column, what)
    if timestamp_column is None:
        keys = np.arange(len(table), dtype=np.float64)
    else:
        keys = _sort_keys(columns.column(timestamp_column), timestamp_column, what)

    if items is not None:
        catalogue = read_item_table(items, item_column, category_separator, split)
        missing = [item for item in item_ids if item not in catalogue]  # unique ids, in order of first row
        if missing:
            raise DataFormatError(
                f"{what}: {len(missing)} item id(s) are missing from the item table {_source_name(items)}, "
                f"e.g. {missing[:5]}; add them to the item table or drop their interactions."
            )
        index_of = np.array([catalogue.lookup(item, what) for item in item_ids], dtype=np.int64)
    else:
        catalogue = ItemCatalogue()
        index_of = np.array([catalogue.intern(item) for item in item_ids], dtype=np.int64)
    sequences = sequences_from_events(user_ids, user_codes, keys, index_of[item_codes])
    if name is None:
        name = Path(str(interactions)).stem if isinstance(interactions, (str, os.PathLike)) else "interactions"
    logger.info("%s: %d interactions, %d users, %d items", name, len(table), len(sequences), len(catalogue))
    return InteractionData(name=name, catalogue=catalogue, sequences=sequences)


__all__ = ["TABLE_SUFFIXES", "load_interactions", "read_item_table", "read_table"]
