"""Item brands as integer ids, what the decoding option ``brand_adjustment`` reads (MindRec's fused decoder, SASRec)."""

from __future__ import annotations

import torch
from datasets import Dataset


def item_brand_ids(items: Dataset) -> torch.LongTensor:
    """``[num_items]`` brand id of every item of the item table ``items`` (row = item index), numbered in order of
    first appearance; -1 for an item with an empty brand. Brands that differ only in case or surrounding spaces
    are one brand (catalogues write the same brand both ways)."""
    if "brand" not in items.column_names:
        raise ValueError(f"The item table has no `brand` column (columns: {items.column_names}).")
    ids: dict[str, int] = {}
    brands = [(brand or "").strip().casefold() for brand in items["brand"]]
    return torch.tensor([ids.setdefault(brand, len(ids)) if brand else -1 for brand in brands], dtype=torch.long)


__all__ = ["item_brand_ids"]
