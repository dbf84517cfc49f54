"""Text and category-path normalisation shared by every loader."""

from __future__ import annotations

import html
import re
from typing import Any

from .errors import DataFormatError

# Amazon joins category levels with a bare comma; a comma followed by whitespace is part of a name
# ("Arts, Crafts & Sewing").
_LEVEL_SEPARATOR = re.compile(r",(?!\s)")
_HTML_TAG = re.compile(r"<[^>]+>")


def clean_text(value: Any) -> str:
    """HTML-unescape and collapse whitespace. ``None`` gives ``""``; a list is joined with spaces."""
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return " ".join(part for part in (clean_text(v) for v in value) if part)
    return " ".join(html.unescape(str(value)).split())


def description_with_genres(description: str, genres: list[str]) -> str:
    """An item's description text followed by its genre labels (``"Animation, Comedy"``), for catalogues whose items
    carry unordered labels (MovieLens' genres) rather than a category path: the labels reach the item's text, which
    the semantic IDs embed."""
    labels = ", ".join(name for name in (clean_text(genre) for genre in genres) if name)
    description = clean_text(description)
    if description and labels:
        return f"{description.rstrip('.')}. {labels}"
    return description or labels


def split_category_path(path: str) -> list[str]:
    """Split a string-form category path into level names, root first.

    Levels are separated by a comma *not* followed by whitespace; names are HTML-unescaped after
    splitting (so an escaped ``&#44;`` stays inside its name) and empty levels are dropped.

    >>> split_category_path("Arts, Crafts &amp; Sewing,Painting,Brushes")
    ['Arts, Crafts & Sewing', 'Painting', 'Brushes']
    """
    return [name for name in (clean_text(part) for part in _LEVEL_SEPARATOR.split(path)) if name]


def normalize_categories(value: Any, where: str) -> list[str]:
    """Turn any metadata category field into one path (list of names, root first).

    Accepted forms: ``None`` (no path), a string path (see :func:`split_category_path`), a list of
    names (Amazon 2018 ``category``), or a list of paths (Amazon 2014 ``categories``: the first path
    is used). A name holding an HTML tag ends the path: Amazon 2018 pads some paths with
    ``</span>`` debris after the real levels. ``where`` names the file/line/item for errors.
    """
    if value is None:
        return []
    if isinstance(value, str):
        return split_category_path(value)
    if not isinstance(value, (list, tuple)):
        raise DataFormatError(f"{where}: categories must be a string or a list, got {type(value).__name__}")
    if value and all(isinstance(v, (list, tuple)) for v in value):
        value = value[0]
    names: list[str] = []
    for name in value:
        if not isinstance(name, str):
            raise DataFormatError(f"{where}: category names must be strings, got {name!r}")
        if _HTML_TAG.search(name):
            break
        name = clean_text(name)
        if name:
            names.append(name)
    return names
