"""MovieLens' own ``.dat`` files (ml-1m, ml-10m): ``ratings.dat`` plus an optional ``movies.dat``.

``ratings.dat`` has one rating per line, ``UserID::MovieID::Rating::Timestamp``; every rating is an interaction (the
sequential-recommendation convention for MovieLens), and each user's ratings are sorted by timestamp (stable: equal
times keep file order). Users appear in order of their first line. ``movies.dat`` has ``MovieID::Title::Genres`` per
line, genres joined by ``|``; its order is the item index, the title (with its year) is the item's title and the
genres join its description text (they are labels, not a category path). Without ``movies.dat`` the items are the
rated ids in order of first appearance, without text. ml-1m's ``movies.dat`` is Latin-1, not UTF-8: a file that is
not valid UTF-8 is read as Latin-1, with an info line. The CSV releases (ml-latest, ml-25m) are tables: read them with
the ``interactions`` format (``user_column="userId"``, ``item_column="movieId"``, ``items="movies.csv"``).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from ..build import InteractionData
from ..catalogue import ItemCatalogue, ItemRecord
from ..categories import clean_text, description_with_genres
from ..errors import DataFormatError, at, require_file
from ..splits import time_ordered_sequences
from .paths import optional_item_file

logger = logging.getLogger(__name__)

RATINGS_FILE = "ratings.dat"
MOVIES_FILE = "movies.dat"
SEPARATOR = "::"


def _dat_lines(path: Path, fields: int) -> list[tuple[int, list[str]]]:
    """``(line number, fields)`` of every non-blank line, split on ``::``; a line with another field count is an
    error naming it."""
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        logger.info("%s is not UTF-8: read as Latin-1 (ml-1m's encoding)", path)
        text = raw.decode("latin-1")
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        values = line.split(SEPARATOR)
        if len(values) != fields:
            raise DataFormatError(
                f"{at(path, number)}: expected {fields} fields separated by {SEPARATOR!r}, got {len(values)}"
            )
        rows.append((number, values))
    if not rows:
        raise DataFormatError(f"{path}: the file has no records")
    return rows


def read_movies_dat(path: str | os.PathLike) -> ItemCatalogue:
    """``movies.dat`` as a catalogue (file order). Errors name the file and line."""
    path = require_file(path, "MovieLens movies file")
    catalogue = ItemCatalogue(origin=str(path))
    for number, (movie_id, title, genres) in _dat_lines(path, 3):
        where = at(path, number)
        if not movie_id.strip():
            raise DataFormatError(f"{where}: empty MovieID")
        record = ItemRecord(
            item_id=movie_id.strip(), title=clean_text(title), description=description_with_genres("", genres.split("|"))
        )
        catalogue.add(record, where)
    return catalogue


def load_movielens(path: str | os.PathLike) -> InteractionData:
    """Load a MovieLens folder holding ``ratings.dat`` (and ``movies.dat``), or its ``ratings.dat``."""
    path = Path(path)
    ratings_path = require_file(path / RATINGS_FILE if path.is_dir() else path, "MovieLens ratings file")
    catalogue = optional_item_file(ratings_path.with_name(MOVIES_FILE), read_movies_dat)

    events: dict[str, list[tuple[int, int]]] = {}  # user -> [(timestamp, item index)], users in order of first line
    for number, (user_id, movie_id, _rating, timestamp) in _dat_lines(ratings_path, 4):
        where = at(ratings_path, number)
        user_id, movie_id = user_id.strip(), movie_id.strip()
        if not user_id or not movie_id:
            raise DataFormatError(f"{where}: empty UserID or MovieID")
        try:
            time = int(timestamp)
        except ValueError:
            raise DataFormatError(f"{where}: timestamp {timestamp!r} is not an integer") from None
        item = catalogue.index_of(movie_id, where)
        events.setdefault(user_id, []).append((time, item))

    sequences = time_ordered_sequences(events)
    return InteractionData(name=ratings_path.parent.name or "movielens", catalogue=catalogue, sequences=sequences)
