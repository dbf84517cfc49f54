"""One-line inference: raw item ids in, recommended item ids (scores, titles, category paths) out.

    from mindrec import MindRecRecommender

    recommender = MindRecRecommender.from_pretrained("runs/beauty/best")    # or a Hub repo id
    recommender.recommend(["B004756YJA", "B00021DJ32"], k=10)               # one user
    recommender.recommend([["B004756YJA"], ["B00021DJ32", "B0009RF9DW"]])    # many users, batched

Each user gets a :class:`Recommendation`: ``item_ids`` (best first), ``scores`` (sum of the code
log-probs), and, when the folder has them, ``titles`` (from an ``items.jsonl`` in the folder, or the
``item_table`` given to :meth:`MindRecRecommender.from_pretrained`) and ``categories`` (each item's
category path, from the code table's category tree). Decoding uses the folder's saved
``generation_config.json`` (strategy, beams, history cache, history exclusion); ``k`` larger than the
saved number of items widens the beam to ``k``. Unknown item ids raise a ValueError naming them, or
are skipped with a warning when ``unknown_items="skip"``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

ITEMS_FILE = "items.jsonl"
UNKNOWN_ITEM_POLICIES = ("error", "skip")


@dataclass
class Recommendation:
    """One user's recommendations, best first.

    Attributes:
        item_ids: recommended item ids (as in the data the model was trained on).
        scores: the model's score of each item (sum of its code log-probs; higher is better).
        titles: item titles when the folder (or ``item_table``) has them, else None.
        categories: each item's category path (root first) when the code table has category levels, else None.
        skipped: history ids that were not in the catalogue and were skipped (``unknown_items="skip"``).
    """

    item_ids: list[str]
    scores: list[float]
    titles: list[str] | None = None
    categories: list[list[str]] | None = None
    skipped: list[str] | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _resolve_folder(path_or_repo: str | os.PathLike, **hub_kwargs) -> Path:
    """A local folder as is; otherwise a Hub repo id downloaded with ``snapshot_download`` (which honours
    ``HF_HUB_OFFLINE``: offline, only the cache is used)."""
    path = Path(path_or_repo)
    if path.is_dir():
        return path
    if path.exists():
        raise NotADirectoryError(f"{path} is a file; a model folder or a Hub repo id is expected.")
    from huggingface_hub import snapshot_download

    return Path(snapshot_download(str(path_or_repo), **hub_kwargs))


def _read_titles(source: Any, item_ids: Sequence[str], item_column: str = "item_id") -> list[str] | None:
    """Titles aligned with ``item_ids`` (``""`` for items without one) from a mapping id -> title, or from any
    table :meth:`PreparedData.from_interactions` reads (a csv/tsv/parquet/jsonl path, a DataFrame, a
    ``datasets.Dataset``) with ``item_column`` and ``title`` columns; None without a source."""
    if source is None:
        return None
    if isinstance(source, Mapping):
        titles = {str(key): str(value) for key, value in source.items()}
    else:
        from mindrec.data.loaders.interactions import read_item_table

        catalogue = read_item_table(source, item_column=item_column)
        titles = {record.item_id: record.title for record in catalogue.records}
    return [titles.get(item_id, "") for item_id in item_ids]


class MindRecRecommender:
    """A loaded MindRec model folder that recommends from raw item ids (see the module docstring).

    Build it with :meth:`from_pretrained`. ``model``, ``tokenizer`` and ``generation_config`` are the
    loaded pieces (``model`` in eval mode on ``device``).
    """

    def __init__(self, model, tokenizer, generation_config, titles: list[str] | None = None):
        from mindrec.modeling.catalogue_index import CatalogueIndex

        self.model = model
        self.tokenizer = tokenizer
        self.generation_config = generation_config
        self.titles = titles
        self.device = next(model.parameters()).device
        config = model.config
        self._catalogue = CatalogueIndex(
            tokenizer.item_codes, config.code_slot_sizes, config.num_category_levels
        ).to(self.device)
        self._item_ids = [tokenizer.item_id_of(index) for index in range(tokenizer.num_items)]
        self._index_of = {item_id: index for index, item_id in enumerate(self._item_ids)}
        has_tree = tokenizer.num_category_levels > 0 and tokenizer.code_table.get("category_tree") is not None
        self._categories = (
            [tokenizer.category_names(index) for index in range(tokenizer.num_items)] if has_tree else None
        )

    @classmethod
    def from_pretrained(
        cls,
        path_or_repo: str | os.PathLike,
        device: str | None = None,
        item_table: Any = None,
        **hub_kwargs,
    ) -> MindRecRecommender:
        """Load a model folder written by training (``best/``, ``final/``) or a Hub repo id.

        Args:
            path_or_repo: the folder, or a Hub repo id (downloaded; ``HF_HUB_OFFLINE=1`` uses the cache only).
            device: ``"cuda"``, ``"cpu"``, ...; default: CUDA when available, else CPU.
            item_table: item titles: a mapping id -> title, or a table with ``item_id`` and ``title`` columns
                (csv/tsv/parquet/jsonl path, DataFrame, ``datasets.Dataset``); default: the folder's
                ``items.jsonl`` if it has one.
            hub_kwargs: passed to ``huggingface_hub.snapshot_download`` (``revision``, ``token``, ...).

        Raises:
            ValueError: a DeftRec folder (it has no item ids; use its ``generate`` on item indices).
        """
        import torch

        from mindrec.training.model_io import load_trained_model

        folder = _resolve_folder(path_or_repo, **hub_kwargs)
        device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        trained = load_trained_model(folder, device=device)
        if trained.tokenizer is None:
            raise ValueError(
                f"{folder} holds a DeftRec model: it has no item-id tokenizer, so MindRecRecommender cannot "
                "map item ids; call its generate() with item indices."
            )
        if item_table is None and (folder / ITEMS_FILE).is_file():
            item_table = folder / ITEMS_FILE
        item_ids = [trained.tokenizer.item_id_of(index) for index in range(trained.tokenizer.num_items)]
        return cls(trained.model, trained.tokenizer, trained.generation_config, _read_titles(item_table, item_ids))

    @property
    def item_ids(self) -> list[str]:
        """The catalogue's item ids; position = item index."""
        return list(self._item_ids)

    def _resolve_history(self, history: Sequence[Any], user: int, unknown_items: str) -> tuple[list[int], list[str]]:
        known, unknown = [], []
        for item in history:
            if not isinstance(item, str):
                raise TypeError(
                    f"user {user} (batch position): item ids are strings, got {item!r}; use str() on ids read as numbers."
                )
            index = self._index_of.get(item)
            if index is None:
                unknown.append(item)
            else:
                known.append(index)
        if unknown and unknown_items == "error":
            raise ValueError(
                f"user {user} (batch position): item id(s) {unknown[:10]} are not in the model's catalogue of "
                f"{len(self._item_ids)} items; pass unknown_items='skip' to leave them out."
            )
        if unknown:
            logger.warning("user %d (batch position): skipped %d unknown item id(s) %s", user, len(unknown), unknown[:10])
        return known, unknown

    def recommend(
        self,
        histories: Sequence[str] | Sequence[Sequence[str]],
        k: int | None = None,
        unknown_items: str = "error",
        batch_size: int = 64,
    ) -> Recommendation | list[Recommendation]:
        """Recommend ``k`` items for one user (a flat list of item ids) or for each of many users (a list of lists).

        Args:
            histories: item ids in chronological order (oldest first), one list per user, or one flat list.
            k: items per user; default: the folder's ``num_return_items``.
            unknown_items: ``"error"`` (default) or ``"skip"`` ids not in the catalogue (with a warning).
            batch_size: users decoded together.

        Returns:
            A :class:`Recommendation` for a flat list, else one per user in order.
        """
        import torch

        if unknown_items not in UNKNOWN_ITEM_POLICIES:
            raise ValueError(f"unknown_items must be one of {list(UNKNOWN_ITEM_POLICIES)}, got {unknown_items!r}.")
        if isinstance(histories, str):
            raise TypeError("histories must be a list of item ids (one user) or a list of such lists, not a string.")
        # A flat list (of ids, or of anything that is not itself a list) is one user.
        single = not any(isinstance(item, (list, tuple)) for item in histories)
        users = [list(histories)] if single else [list(history) for history in histories]
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}.")
        options = {}
        if k is not None:
            if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= len(self._item_ids):
                raise ValueError(f"k must be an integer in 1..{len(self._item_ids)} (the catalogue), got {k!r}.")
            options = {"num_return_items": k, "num_beams": max(k, self.generation_config.num_beams)}
        resolved = [self._resolve_history(history, user, unknown_items) for user, history in enumerate(users)]
        results = []
        for start in range(0, len(resolved), batch_size):
            batch = resolved[start : start + batch_size]
            indices = [known for known, _ in batch]
            inputs = self.tokenizer(indices, items="indices", return_tensors="pt").to(self.device)
            with torch.no_grad():
                output = self.model.generate(
                    **inputs,
                    catalogue=self._catalogue,
                    generation_config=self.generation_config,
                    excluded_items=indices if self.generation_config.exclude_history else None,
                    **options,
                )
            for (_, unknown), ranked, scores in zip(
                batch, output.item_indices.tolist(), output.scores.float().tolist(), strict=True
            ):
                kept = [(index, score) for index, score in zip(ranked, scores, strict=True) if index >= 0]
                results.append(
                    Recommendation(
                        item_ids=[self._item_ids[index] for index, _ in kept],
                        scores=[score for _, score in kept],
                        titles=None if self.titles is None else [self.titles[index] for index, _ in kept],
                        categories=None
                        if self._categories is None
                        else [list(self._categories[index]) for index, _ in kept],
                        skipped=unknown or None,
                    )
                )
        return results[0] if single else results


__all__ = ["ITEMS_FILE", "MindRecRecommender", "Recommendation"]
