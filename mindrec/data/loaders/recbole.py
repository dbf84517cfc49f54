"""RecBole atomic files: ``<name>.inter`` and optional ``<name>.item`` (tab-separated, typed headers).

Headers are ``field:type`` (``token``, ``token_seq``, ``float``, ``float_seq``). Values follow RecBole's
reader (pandas ``read_csv``): tab-separated, with double-quoted values that may hold tabs, newlines or
doubled quotes. A ``categories`` ``token_seq`` is split on spaces, except the quoted-list form some
Amazon exports use (``'Beauty', 'Makeup', "Women's"``), which is parsed as a list of string literals;
a text ``token_seq`` (a title, a description) is read as its words.

``.inter`` needs ``user_id`` and ``item_id``; with a ``timestamp`` field each user's interactions are
sorted by it (stable, so ties keep file order), otherwise file order is kept. Users appear in order
of their first line. ``.item`` fields used: ``item_id``, ``title`` (or MovieLens' ``movie_title``),
``brand``, ``categories`` (a ``token_seq`` is a path; a ``token`` is a string path), ``description``,
and MovieLens' genres (``genre``, or ``class`` in ml-100k), which join the description text; the
fields left out are named in an info line.
"""

from __future__ import annotations

import ast
import contextlib
import csv
import logging
import math
import os
from collections.abc import Iterator

from ..build import InteractionData
from ..catalogue import ItemCatalogue, ItemRecord
from ..categories import clean_text, description_with_genres, normalize_categories, split_category_path
from ..errors import DataFormatError, at, open_text, require_file
from ..splits import EventLog
from .paths import optional_item_file, resolve_named_file

logger = logging.getLogger(__name__)

FIELD_TYPES = ("token", "token_seq", "float", "float_seq")
# RecBole's published atomic files name an item's text per dataset: Amazon's ``title``, MovieLens' ``movie_title``.
TITLE_FIELDS = ("title", "movie_title")
# MovieLens' genres (``genre`` in ml-1m and later, ``class`` in ml-100k) are unordered labels, not a coarse-to-fine
# path, so they go into the item's text (which the semantic IDs embed) rather than its category path.
GENRE_FIELDS = ("genre", "class")
# Long item descriptions exceed csv's default 128 KiB field limit.
_FIELD_SIZE_LIMIT = 64 * 1024 * 1024


@contextlib.contextmanager
def _large_fields() -> Iterator[None]:
    previous = csv.field_size_limit(_FIELD_SIZE_LIMIT)
    try:
        yield
    finally:
        csv.field_size_limit(previous)


def read_atomic_file(
    path: str | os.PathLike, required: tuple[str, ...]
) -> Iterator[tuple[int, dict[str, str], dict[str, str]]]:
    """Yield ``(line_number, values, types)`` per record; ``values`` maps field name to raw string.

    ``line_number`` is the physical line on which the record ends. Raises ``DataFormatError`` for an
    empty file or one without records, a header field that is untyped, of unknown type or missing
    from ``required``, or a record with the wrong number of values.
    """
    path = require_file(path, "RecBole atomic file")
    with open_text(path) as handle, _large_fields():
        reader = csv.reader(handle, delimiter="\t", quotechar='"')
        try:
            header = next(reader)
        except StopIteration:
            raise DataFormatError(f"{path}: the file is empty") from None
        except csv.Error as error:
            raise DataFormatError(f"{at(path, reader.line_num)}: {error}") from None
        names, types = [], {}
        for field in header:
            name, sep, kind = field.partition(":")
            if not sep or kind not in FIELD_TYPES:
                raise DataFormatError(
                    f"{at(path, 1)}: header field {field!r} is not name:type with type in {FIELD_TYPES}"
                )
            names.append(name)
            types[name] = kind
        missing = [name for name in required if name not in types]
        if missing:
            raise DataFormatError(f"{at(path, 1)}: header lacks field(s) {missing} (has {names})")
        records = 0
        try:
            for row in reader:
                if not row or (len(row) == 1 and not row[0].strip()):
                    continue
                if len(row) != len(names):
                    raise DataFormatError(
                        f"{at(path, reader.line_num)}: expected {len(names)} tab-separated values, got {len(row)}"
                    )
                records += 1
                yield reader.line_num, dict(zip(names, row, strict=True)), types
        except csv.Error as error:
            raise DataFormatError(f"{at(path, reader.line_num)}: {error}") from None
        if not records:
            raise DataFormatError(f"{path}: the file has a header but no records")


def parse_token_seq(value: str, where: str) -> list[str]:
    """Split a ``token_seq`` value: quoted-list form via ``ast.literal_eval``, otherwise on spaces."""
    value = value.strip()
    if value[:1] in ("'", '"'):
        try:
            tokens = ast.literal_eval(f"[{value}]")
        except (ValueError, SyntaxError):
            raise DataFormatError(f"{where}: cannot parse token_seq {value!r}") from None
        if not all(isinstance(token, str) for token in tokens):
            raise DataFormatError(f"{where}: token_seq {value!r} holds non-string values")
        return tokens
    return value.split()


def _text_field(values: dict[str, str], field: str | None) -> str:
    """Cleaned text of ``field``; ``""`` if absent (or ``None``). A text ``token_seq`` is its words, so it is read as the text itself:
    the quoted-list form belongs to category lists, and a title may start with a quote (ml-1m: ``'Night Mother``)."""
    return clean_text(values.get(field))


def _item_text_fields(path, types: dict[str, str]) -> tuple[str | None, str | None]:
    """The ``.item`` fields that hold an item's title and its genres (``None`` where there is none); an info line
    names them and the fields left out."""
    title = next((field for field in TITLE_FIELDS if field in types), None)
    genres = next((field for field in GENRE_FIELDS if field in types), None)
    used = {"item_id", "brand", "categories", "description", title, genres}
    logger.info(
        "%s: titles from %s, genres from %s; fields left out: %s",
        path,
        repr(title) if title else "no field",
        f"{genres!r} (into the description text)" if genres else "no field",
        ", ".join(field for field in types if field not in used) or "none",
    )
    return title, genres


def read_item_file(path: str | os.PathLike) -> ItemCatalogue:
    """Read a ``.item`` file into a catalogue (file order). Errors name the file and line."""
    path = require_file(path, "RecBole item file")
    catalogue = ItemCatalogue(origin=str(path))
    text_fields = None
    for number, values, types in read_atomic_file(path, required=("item_id",)):
        where = at(path, number)
        if text_fields is None:
            text_fields = _item_text_fields(path, types)
        title_field, genre_field = text_fields

        raw_categories = values.get("categories")
        if raw_categories is None:
            categories: list[str] = []
        elif types["categories"] == "token_seq":
            categories = normalize_categories(parse_token_seq(raw_categories, where), where)
        else:
            categories = split_category_path(raw_categories)
        # A genre token_seq is space-separated labels (``Animation Children's Comedy``); a token is one label.
        genres = values.get(genre_field, "")
        description = description_with_genres(
            _text_field(values, "description"), genres.split() if types.get(genre_field) == "token_seq" else [genres]
        )
        record = ItemRecord(
            item_id=values["item_id"].strip(),
            title=_text_field(values, title_field),
            brand=_text_field(values, "brand"),
            categories=tuple(categories),
            description=description,
        )
        if not record.item_id:
            raise DataFormatError(f"{where}: empty item_id")
        catalogue.add(record, where)
    return catalogue


def load_recbole(path: str | os.PathLike) -> InteractionData:
    """Load ``<name>.inter`` (+ ``<name>.item`` if present) from a folder, the ``.inter`` file or a prefix."""
    inter_path, name = resolve_named_file(path, ".inter")
    item_path = inter_path.with_name(f"{name}.item")
    catalogue = optional_item_file(item_path, read_item_file)

    events = EventLog()
    has_time = False
    for number, values, types in read_atomic_file(inter_path, required=("user_id", "item_id")):
        has_time = "timestamp" in types
        where = at(inter_path, number)
        user_id, item_id = values["user_id"].strip(), values["item_id"].strip()
        if not user_id or not item_id:
            raise DataFormatError(f"{where}: empty user_id or item_id")
        timestamp = 0.0
        if has_time:
            try:
                timestamp = float(values["timestamp"])
            except ValueError:
                raise DataFormatError(f"{where}: timestamp {values['timestamp']!r} is not a number") from None
            if math.isnan(timestamp):  # it would sort nowhere in particular
                raise DataFormatError(f"{where}: timestamp {values['timestamp']!r} is not a number")
        events.add(user_id, timestamp, catalogue.index_of(item_id, where))

    sequences = events.sequences()
    return InteractionData(name=name, catalogue=catalogue, sequences=sequences)
