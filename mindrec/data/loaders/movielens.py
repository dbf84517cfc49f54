"""MovieLens' own files: ``ratings.dat`` plus an optional ``movies.dat`` (ml-1m, ml-10m), or ``u.data`` plus an
optional ``u.item`` and ``u.genre`` (ml-100k).

Every rating is an interaction (the sequential-recommendation convention for MovieLens), and each user's ratings are
sorted by timestamp (stable: equal times keep file order). Users appear in order of their first line.

* ``ratings.dat`` has ``UserID::MovieID::Rating::Timestamp`` per line; ``movies.dat`` has ``MovieID::Title::Genres``,
  genres joined by ``|``.
* ``u.data`` has ``user id<TAB>item id<TAB>rating<TAB>timestamp`` per line; ``u.item`` has ``movie id|title|release
  date|video release date|IMDb URL|`` followed by one 0/1 flag per genre, the genres named (in flag order) by
  ``u.genre``'s ``name|index`` lines. Without ``u.genre`` the flags are left out, with a warning.

The movie file's order is the item index, the title (with its year) is the item's title and the genres join its
description text (they are labels, not a category path). Without the movie file the items are the rated ids in order
of first appearance, without text. ml-1m's and ml-100k's movie files are Latin-1, not UTF-8: a file that is not valid
UTF-8 is read as Latin-1, with an info line. The CSV releases (ml-latest, ml-25m) are tables: read them with the
``interactions`` format (``user_column="userId"``, ``item_column="movieId"``, ``items="movies.csv"``).
"""

from __future__ import annotations

import codecs
import logging
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from ..build import InteractionData
from ..catalogue import ItemCatalogue, ItemRecord
from ..categories import clean_text, description_with_genres
from ..errors import DataFormatError, at, require_file
from ..splits import EventLog
from .paths import optional_item_file

logger = logging.getLogger(__name__)

RATINGS_FILE = "ratings.dat"
MOVIES_FILE = "movies.dat"
SEPARATOR = "::"
ML100K_RATINGS_FILE = "u.data"
ML100K_MOVIES_FILE = "u.item"
ML100K_GENRES_FILE = "u.genre"
ML100K_MOVIE_FIELDS = 5  # movie id, title, release date, video release date, IMDb URL; then the genre flags


def _text_encoding(path: Path) -> str:
    """``"utf-8"`` if ``path`` decodes as UTF-8, else ``"latin-1"`` (with an info line); read in blocks, not whole."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    with open(path, "rb") as handle:
        try:
            while block := handle.read(1 << 24):
                decoder.decode(block)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            logger.info("%s is not UTF-8: read as Latin-1 (ml-1m's and ml-100k's encoding)", path)
            return "latin-1"
    return "utf-8"


def _split_lines(path: Path, separator: str) -> Iterator[tuple[int, list[str]]]:
    """``(line number, fields)`` of every non-blank line of ``path``, split on ``separator``; read line by line, so that
    a ratings file of tens of millions of lines is never held whole. A file without one is an error."""
    empty = True
    with open(path, encoding=_text_encoding(path)) as handle:
        for number, line in enumerate(handle, start=1):
            if line.strip():
                empty = False
                yield number, line.rstrip("\r\n").split(separator)
    if empty:
        raise DataFormatError(f"{path}: the file has no records")


def _records(path: Path, separator: str, fields: int) -> Iterator[tuple[int, list[str]]]:
    """:func:`_split_lines` where every line has exactly ``fields`` fields; another count is an error naming the line."""
    for number, values in _split_lines(path, separator):
        if len(values) != fields:
            raise DataFormatError(
                f"{at(path, number)}: expected {fields} fields separated by {separator!r}, got {len(values)}"
            )
        yield number, values


def _movie(catalogue: ItemCatalogue, where: str, movie_id: str, title: str, genres: list[str]) -> None:
    if not movie_id.strip():
        raise DataFormatError(f"{where}: empty movie id")
    record = ItemRecord(item_id=movie_id.strip(), title=clean_text(title), description=description_with_genres("", genres))
    catalogue.add(record, where)


def read_movies_dat(path: str | os.PathLike) -> ItemCatalogue:
    """``movies.dat`` as a catalogue (file order). Errors name the file and line."""
    path = require_file(path, "MovieLens movies file")
    catalogue = ItemCatalogue(origin=str(path))
    for number, (movie_id, title, genres) in _records(path, SEPARATOR, 3):
        _movie(catalogue, at(path, number), movie_id, title, genres.split("|"))
    return catalogue


def read_genre_names(path: str | os.PathLike) -> list[str]:
    """ml-100k's ``u.genre`` (``name|index`` lines): the genre names in flag order. The indices must be 0, 1, ..."""
    path = require_file(path, "MovieLens genre file")
    names = []
    for number, (name, index) in _records(path, "|", 2):
        if index.strip() != str(len(names)):
            raise DataFormatError(f"{at(path, number)}: genre index {index!r}, expected {len(names)}")
        names.append(name)
    return names


def read_u_item(path: str | os.PathLike) -> ItemCatalogue:
    """ml-100k's ``u.item`` as a catalogue (file order), its genre flags named by ``u.genre`` beside it (left out, with
    a warning, without that file). Errors name the file and line."""
    path = require_file(path, "MovieLens movies file")
    genres_path = path.with_name(ML100K_GENRES_FILE)
    names = read_genre_names(genres_path) if genres_path.is_file() else None
    if names is None:
        logger.warning("%s not found: the genre flags of %s are left out", genres_path, path)
    expected = ML100K_MOVIE_FIELDS + len(names) if names is not None else None  # None: any number of flags
    catalogue = ItemCatalogue(origin=str(path))
    for number, values in _split_lines(path, "|"):
        where = at(path, number)
        if len(values) < ML100K_MOVIE_FIELDS or (expected is not None and len(values) != expected):
            wanted = expected if expected is not None else f"at least {ML100K_MOVIE_FIELDS}"
            raise DataFormatError(f"{where}: expected {wanted} fields separated by '|', got {len(values)}")
        flags = [flag.strip() for flag in values[ML100K_MOVIE_FIELDS:]]
        if any(flag not in ("0", "1") for flag in flags):
            raise DataFormatError(f"{where}: genre flags must be 0 or 1, got {'|'.join(flags)!r}")
        genres = [name for name, flag in zip(names, flags, strict=True) if flag == "1"] if names is not None else []
        _movie(catalogue, where, values[0], values[1], genres)
    return catalogue


@dataclass(frozen=True)
class _Release:
    """One family of MovieLens releases: its ratings file, field separator and movie-file reader."""

    ratings_file: str
    separator: str
    movies_file: str
    read_movies: Callable[[Path], ItemCatalogue]


RELEASES = (
    _Release(RATINGS_FILE, SEPARATOR, MOVIES_FILE, read_movies_dat),
    _Release(ML100K_RATINGS_FILE, "\t", ML100K_MOVIES_FILE, read_u_item),
)
RATINGS_FILES = tuple(release.ratings_file for release in RELEASES)


def _release_of(path: Path) -> tuple[_Release, Path]:
    """The release and ratings file of a folder (the first ratings file found, in :data:`RELEASES` order) or file."""
    for release in RELEASES:
        ratings = path / release.ratings_file if path.is_dir() else path
        if ratings.name == release.ratings_file and ratings.is_file():
            return release, ratings
    names = " or ".join(RATINGS_FILES)
    raise FileNotFoundError(f"MovieLens ratings file not found: {path} is neither a folder holding {names} nor one of them")


def load_movielens(path: str | os.PathLike) -> InteractionData:
    """Load a MovieLens folder holding ``ratings.dat`` (and ``movies.dat``) or ``u.data`` (and ``u.item``,
    ``u.genre``), or its ratings file."""
    release, ratings_path = _release_of(Path(path))
    catalogue = optional_item_file(ratings_path.with_name(release.movies_file), release.read_movies)

    events = EventLog(time_typecode="q")  # MovieLens' timestamps are integers: kept exact
    for number, (user_id, movie_id, _rating, timestamp) in _records(ratings_path, release.separator, 4):
        where = at(ratings_path, number)
        user_id, movie_id = user_id.strip(), movie_id.strip()
        if not user_id or not movie_id:
            raise DataFormatError(f"{where}: empty user or movie id")
        try:
            time = int(timestamp)
        except ValueError:
            raise DataFormatError(f"{where}: timestamp {timestamp!r} is not an integer") from None
        if not -(2**63) <= time < 2**63:
            raise DataFormatError(f"{where}: timestamp {timestamp!r} does not fit in 64 bits")
        events.add(user_id, time, catalogue.index_of(movie_id, where))

    sequences = events.sequences()
    return InteractionData(name=ratings_path.parent.name or "movielens", catalogue=catalogue, sequences=sequences)
