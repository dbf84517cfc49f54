"""Raw Amazon review data (McAuley lab, 2014 and 2018): a reviews file plus an optional metadata file.

Both are one record per line, plain or gzip: JSON (2018, and the 2014 "strict" files) or a Python
dict literal (2014 metadata), parsed with ``ast.literal_eval`` (never ``eval``).

* Reviews need ``reviewerID``, ``asin`` and ``unixReviewTime``.
* Metadata needs ``asin``; ``title``, ``brand``, ``description`` (string or list) and the category
  path (2014 ``categories``: list of paths, the first is used; 2018 ``category``: one path) are used.
  A repeated ``asin`` (2018 metadata has some) is skipped if its used fields are identical, an error
  otherwise.

Processing, in order (LC-Rec's protocol, which MindRec's data follow):
1. with metadata, drop reviews of items that have no metadata;
2. sort each user's reviews by time (stable: ties keep file order) and drop repeated (user, item)
   pairs, keeping the earliest;
3. iterative k-core filtering on users and items (``kcore``; 5 by default, ``<= 1`` disables);
4. users in order of their first review in the file; items in order of first appearance in the
   resulting sequences.
"""

from __future__ import annotations

import ast
import json
import logging
import os
import re
from pathlib import Path

from ..build import InteractionData
from ..catalogue import ItemCatalogue, ItemRecord
from ..categories import clean_text, normalize_categories
from ..errors import DataFormatError, at, iter_lines, require_file
from ..kcore import kcore_filter
from ..splits import UserSequence

logger = logging.getLogger(__name__)

_RECORD_FILE = re.compile(r".+\.jsonl?(\.gz)?$")
REVIEW_FIELDS = ("reviewerID", "asin", "unixReviewTime")


def parse_record(line: str, where: str) -> dict:
    """Parse one line as JSON, falling back to a Python literal; it must be a dict."""
    try:
        record = json.loads(line)
    except json.JSONDecodeError:
        try:
            record = ast.literal_eval(line)
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            raise DataFormatError(f"{where}: neither valid JSON nor a Python dict literal") from None
    if not isinstance(record, dict):
        raise DataFormatError(f"{where}: expected a record (dict), got {type(record).__name__}")
    return record


def read_reviews(path: str | os.PathLike) -> list[tuple[str, str, int]]:
    """``(user, item, unix_time)`` per review, in file order."""
    path = require_file(path, "review file")
    reviews = []
    for number, line in iter_lines(path, desc="reviews"):
        where = at(path, number)
        record = parse_record(line, where)
        missing = [field for field in REVIEW_FIELDS if field not in record]
        if missing:
            raise DataFormatError(f"{where}: missing field(s) {missing}")
        user, item, time = (record[field] for field in REVIEW_FIELDS)
        if not isinstance(user, str) or not user or not isinstance(item, str) or not item:
            raise DataFormatError(
                f"{where}: reviewerID and asin must be non-empty strings, got {user!r}, {item!r}"
            )
        try:
            if isinstance(time, (bool, float)):
                raise ValueError
            time = int(time)
        except ValueError:
            raise DataFormatError(f"{where}: unixReviewTime must be an integer, got {time!r}") from None
        reviews.append((user, item, time))
    return reviews


def read_metadata(path: str | os.PathLike, wanted: set[str]) -> dict[str, ItemRecord]:
    """Item records for the ``asin`` values in ``wanted`` (other lines are parsed, then skipped)."""
    path = require_file(path, "metadata file")
    records: dict[str, ItemRecord] = {}
    lines: dict[str, int] = {}
    for number, line in iter_lines(path, desc="metadata"):
        where = at(path, number)
        record = parse_record(line, where)
        asin = record.get("asin")
        if not isinstance(asin, str) or not asin:
            raise DataFormatError(f"{where}: missing or empty field 'asin'")
        if asin not in wanted:
            continue
        categories = record["categories"] if "categories" in record else record.get("category")
        item = ItemRecord(
            item_id=asin,
            title=clean_text(record.get("title")),
            brand=clean_text(record.get("brand")),
            categories=tuple(normalize_categories(categories, where)),
            description=clean_text(record.get("description")),
        )
        if asin in records:
            if records[asin] != item:
                raise DataFormatError(
                    f"{where}: duplicate item id {asin!r} with different metadata (first on line {lines[asin]})"
                )
            continue
        records[asin], lines[asin] = item, number
    return records


def resolve_amazon_raw_files(path: str | os.PathLike) -> tuple[Path, Path | None]:
    """``(reviews, metadata or None)`` from a reviews file or a folder holding one reviews file and
    at most one ``meta_*`` file (``*.json``, ``*.jsonl``, optionally ``.gz``)."""
    path = Path(path)
    if path.is_file():
        return path, None
    if not path.is_dir():
        raise FileNotFoundError(f"no Amazon review file or folder at {path}")
    files = sorted(p for p in path.iterdir() if p.is_file() and _RECORD_FILE.fullmatch(p.name))
    metas = [p for p in files if p.name.startswith("meta_")]
    reviews = [p for p in files if not p.name.startswith("meta_")]
    if len(reviews) != 1 or len(metas) > 1:
        raise FileNotFoundError(
            f"{path}: expected one review file and at most one meta_* file, found "
            f"reviews {[p.name for p in reviews]} and metadata {[p.name for p in metas]}"
        )
    return reviews[0], (metas[0] if metas else None)


def _dataset_name(reviews_path: Path) -> str:
    name = re.sub(r"\.jsonl?(\.gz)?$", "", reviews_path.name)
    return name.removeprefix("reviews_")


def load_amazon_raw(
    path: str | os.PathLike, meta_path: str | os.PathLike | None = None, kcore: int = 5
) -> InteractionData:
    """Load raw Amazon reviews (a file, or a folder with the reviews and ``meta_*`` files)."""
    reviews_path, found_meta = resolve_amazon_raw_files(path)
    meta_path = Path(meta_path) if meta_path is not None else found_meta
    reviews = read_reviews(reviews_path)

    metadata: dict[str, ItemRecord] | None = None
    if meta_path is not None:
        metadata = read_metadata(meta_path, {item for _, item, _ in reviews})
        before = len(reviews)
        reviews = [review for review in reviews if review[1] in metadata]
        logger.info("Dropped %d of %d reviews of items without metadata", before - len(reviews), before)

    first_line: dict[str, int] = {}
    for position, (user, _, _) in enumerate(reviews):
        first_line.setdefault(user, position)

    chronological = sorted(reviews, key=lambda review: review[2])  # stable: ties keep file order
    seen: set[tuple[str, str]] = set()
    unique = []
    for user, item, _ in chronological:
        if (user, item) not in seen:
            seen.add((user, item))
            unique.append((user, item))
    if len(unique) < len(chronological):
        logger.info("Dropped %d repeated (user, item) reviews", len(chronological) - len(unique))
    kept = [unique[i] for i in kcore_filter(unique, kcore)]
    if not kept:
        raise DataFormatError(f"{reviews_path}: no interaction survives {kcore}-core filtering")

    by_user: dict[str, list[str]] = {}
    for user, item in kept:
        by_user.setdefault(user, []).append(item)
    catalogue = ItemCatalogue()
    sequences = []
    for user in sorted(by_user, key=first_line.__getitem__):
        items = []
        for item in by_user[user]:
            if item not in catalogue:
                catalogue.add(
                    metadata[item] if metadata is not None else ItemRecord(item),
                    str(meta_path or reviews_path),
                )
            items.append(catalogue.intern(item))
        sequences.append(UserSequence(user, items))
    return InteractionData(name=_dataset_name(reviews_path), catalogue=catalogue, sequences=sequences)
