"""Hierarchical category tree: the ``D`` category slots of an item code.

An item's category path (root first, e.g. ``["Beauty", "Makeup", "Nails", "Nail Polish"]``) becomes
``D`` slot values. The tree is keyed by the **full parent path**, so a name that occurs under two parents
(``"Games"`` under two consoles) is two nodes. The value of a level-``l`` slot is the index of the node
among its parent's children, so a code is a path in the tree and the table is prefix-defined.

Rules (see DESIGN §2):

* Names are HTML-unescaped and their whitespace collapsed (``"Bath &amp; Body"`` -> ``"Bath & Body"``).
* ``drop_root=True`` drops the dataset-wide root (the first name, which every non-empty path must share).
* Paths are truncated to ``D`` levels. A path shorter than ``D`` continues through a per-parent
  :data:`OTHER` child at every missing level, so every leaf is at depth exactly ``D``.
* Children are ordered by name (Python string order) with :data:`OTHER` last. Sorting by name rather than
  by first appearance keeps the values independent of the item order.

The JSON form is the nested ``{"name": ..., "children": [...]}`` tree; a child's index in ``children`` is its
token value. The root's ``name`` is the dropped root (``""`` when nothing was dropped); the number of
levels is the depth of the leaves.
"""

from __future__ import annotations

import html
import json
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mindrec.io_utils import atomic_write_json

__all__ = ["OTHER", "CategoryNode", "CategoryTree", "normalize_category_path"]

#: Name of the padding child that stands for "this item's path stops above this level".
OTHER = "[other]"

# Amazon writes a path as one string whose levels are separated by a comma *without* following whitespace;
# ", " belongs inside a name ("Arts, Crafts & Sewing"). Same rule as mindrec.data's loaders.
_LEVEL_SEPARATOR = re.compile(r",(?!\s)")


def normalize_category_path(raw: str | Sequence[str] | None, where: str = "path") -> list[str]:
    """Return the cleaned names of a category path (root still included).

    Args:
        raw: a list of names (root first), an Amazon-style string ``"A,B,C"``, or ``None`` (empty path).
        where: how to name the path in error messages (e.g. ``"item 'B00123'"``).

    Raises:
        ValueError: a name is empty after unescaping, is not a string, or equals the reserved :data:`OTHER`.
    """
    if raw is None:
        return []
    names = _LEVEL_SEPARATOR.split(raw) if isinstance(raw, str) else list(raw)
    cleaned = []
    for level, name in enumerate(names):
        if not isinstance(name, str):
            raise ValueError(f"{where}: category level {level} is {name!r}, expected a string")
        name = " ".join(html.unescape(name).split())
        if not name:
            raise ValueError(f"{where}: category level {level} is empty in {names!r}")
        if name == OTHER:
            raise ValueError(f"{where}: category name {OTHER!r} is reserved for padding, found in {names!r}")
        cleaned.append(name)
    return cleaned


@dataclass
class CategoryNode:
    """One node of the tree; ``children[v]`` is the child whose slot value is ``v``."""

    name: str
    children: list[CategoryNode] = field(default_factory=list)

    def child_index(self, name: str) -> int | None:
        """Slot value of the child called ``name``, or ``None`` when there is none."""
        for index, child in enumerate(self.children):
            if child.name == name:
                return index
        return None

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "children": [child.to_json() for child in self.children]}

    @classmethod
    def from_json(cls, obj: Any, where: str = "root") -> CategoryNode:
        if (
            not isinstance(obj, dict)
            or not isinstance(obj.get("name"), str)
            or not isinstance(obj.get("children"), list)
        ):
            raise ValueError(
                f"category tree node at {where} must be {{'name': str, 'children': list}}, got {obj!r:.200}"
            )
        node = cls(obj["name"])
        for index, child in enumerate(obj["children"]):
            node.children.append(cls.from_json(child, f"{where}/{index}"))
        names = [child.name for child in node.children]
        if len(set(names)) != len(names):
            raise ValueError(
                f"category tree node at {where} ({obj['name']!r}) has duplicate child names {names}"
            )
        return node


class CategoryTree:
    """A category tree of fixed depth ``num_levels`` (every leaf at that depth).

    Build it with :meth:`from_paths`; map an item's raw path to slot values with :meth:`encode` and slot
    values back to names with :meth:`decode`.
    """

    def __init__(self, root: CategoryNode, num_levels: int, drop_root: bool):
        self.root = root
        self.num_levels = num_levels
        self.drop_root = drop_root
        self._check_depth(root, 0, root.name or "<root>")

    # ------------------------------------------------------------------ building

    @classmethod
    def from_paths(
        cls, paths: Iterable[str | Sequence[str] | None], num_levels: int = 3, drop_root: bool = True
    ) -> CategoryTree:
        """Build the tree from every item's raw category path.

        Args:
            paths: one raw path per item (list of names root first, Amazon-style string, or ``None``).
            num_levels: ``D``, the number of category slots kept (0 = no category slots).
            drop_root: drop the first name, which every non-empty path must share.

        Raises:
            ValueError: ``num_levels < 0``, or ``drop_root`` with paths that do not share their first name
                (the message names the first item that differs).
        """
        if num_levels < 0:
            raise ValueError(f"num_levels must be >= 0, got {num_levels}")
        cleaned = [normalize_category_path(path, f"item {index}") for index, path in enumerate(paths)]
        root_name = ""
        if drop_root:
            root_name = _shared_root(cleaned)
            cleaned = [path[1:] for path in cleaned]
        # children[parent path] = names of its children; the OTHER marker cannot clash with real names.
        children: dict[tuple[str, ...], set[str]] = {}
        for path in cleaned:
            padded = tuple(path[:num_levels]) + (OTHER,) * max(0, num_levels - len(path))
            for level in range(num_levels):
                children.setdefault(padded[:level], set()).add(padded[level])
        root = CategoryNode(root_name)
        if num_levels > 0 and cleaned:
            _attach_children(root, (), children)
        return cls(root, num_levels, drop_root)

    # ------------------------------------------------------------------ mapping

    def normalize(self, raw: str | Sequence[str] | None, where: str = "path") -> list[str]:
        """Clean a raw path, drop the root (when the tree dropped one) and truncate to ``num_levels``."""
        path = normalize_category_path(raw, where)
        if self.drop_root and path:
            if path[0] != self.root.name:
                raise ValueError(f"{where}: root {path[0]!r} differs from the tree's root {self.root.name!r}")
            path = path[1:]
        return path[: self.num_levels]

    def encode(self, raw: str | Sequence[str] | None, where: str = "path") -> list[int]:
        """Slot values ``[num_levels]`` of a raw path (missing levels go through the OTHER children).

        Raises:
            ValueError: a name of the path is not in the tree (the message names the level and parent path).
        """
        path = self.normalize(raw, where)
        node, values = self.root, []
        for level in range(self.num_levels):
            name = path[level] if level < len(path) else OTHER
            index = node.child_index(name)
            if index is None:
                raise ValueError(
                    f"{where}: category {name!r} at level {level + 1} under {path[:level]!r} is not in the tree"
                )
            values.append(index)
            node = node.children[index]
        return values

    def decode(self, values: Sequence[int]) -> list[str]:
        """Names ``[num_levels]`` of a path of slot values (padding levels come back as :data:`OTHER`)."""
        if len(values) != self.num_levels:
            raise ValueError(f"expected {self.num_levels} category values, got {list(values)}")
        node, names = self.root, []
        for level, value in enumerate(values):
            if not 0 <= int(value) < len(node.children):
                raise ValueError(
                    f"category value {int(value)} at level {level + 1} is out of range: node {names!r} "
                    f"has {len(node.children)} children"
                )
            node = node.children[int(value)]
            names.append(node.name)
        return names

    # ------------------------------------------------------------------ sizes

    @property
    def level_sizes(self) -> list[int]:
        """Slot size per level: the most children any parent has at that level (``OTHER`` included)."""
        return [max((len(node.children) for node in nodes), default=0) for nodes in self._levels()[:-1]]

    def node_counts(self, include_other: bool = False) -> list[int]:
        """Number of nodes per level 1..D; without ``include_other`` the OTHER padding nodes are left out,
        which gives the counts of the real tree before padding."""
        return [
            sum(1 for node in nodes if include_other or node.name != OTHER) for nodes in self._levels()[1:]
        ]

    def _levels(self) -> list[list[CategoryNode]]:
        """Nodes per depth 0..D, each level in slot order."""
        levels = [[self.root]]
        for _ in range(self.num_levels):
            levels.append([child for parent in levels[-1] for child in parent.children])
        return levels

    # ------------------------------------------------------------------ JSON

    def to_json(self) -> dict[str, Any]:
        """Nested ``{"name", "children"}`` dict (root name = dropped root, ``""`` when none)."""
        return self.root.to_json()

    @classmethod
    def from_json(cls, obj: Any) -> CategoryTree:
        """Inverse of :meth:`to_json`; the depth of the leaves gives ``num_levels``.

        Raises:
            ValueError: malformed nodes, duplicate sibling names, or leaves at different depths.
        """
        root = CategoryNode.from_json(obj)
        depth, node = 0, root
        while node.children:
            node, depth = node.children[0], depth + 1
        return cls(root, depth, drop_root=bool(root.name))

    def save(self, path: str | os.PathLike) -> None:
        atomic_write_json(path, self.to_json())

    @classmethod
    def load(cls, path: str | os.PathLike) -> CategoryTree:
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"category tree file {path} does not exist")
        try:
            return cls.from_json(json.loads(path.read_text(encoding="utf-8")))
        except ValueError as exc:
            raise ValueError(f"{path}: {exc}") from exc

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CategoryTree) and self.to_json() == other.to_json()

    def __repr__(self) -> str:
        return f"CategoryTree(num_levels={self.num_levels}, nodes={self.node_counts(True)}, sizes={self.level_sizes})"

    def _check_depth(self, node: CategoryNode, depth: int, where: str) -> None:
        if (not node.children and depth not in (0, self.num_levels)) or depth > self.num_levels:
            raise ValueError(f"category tree leaf {where} is at depth {depth}, expected {self.num_levels}")
        for child in node.children:
            self._check_depth(child, depth + 1, f"{where} > {child.name}")


def _shared_root(paths: list[list[str]]) -> str:
    root = next((path[0] for path in paths if path), "")
    for index, path in enumerate(paths):
        if path and path[0] != root:
            raise ValueError(
                f"drop_root=True but item {index} has root {path[0]!r} while earlier items have {root!r}; "
                "pass drop_root=False for catalogues without a shared root"
            )
    return root


def _attach_children(
    node: CategoryNode, path: tuple[str, ...], children: dict[tuple[str, ...], set[str]]
) -> None:
    names = sorted(children.get(path, ()), key=lambda name: (name == OTHER, name))
    for name in names:
        child = CategoryNode(name)
        node.children.append(child)
        _attach_children(child, path + (name,), children)
