"""The items' brands, as the decoding option ``brand_adjustment`` of MindRec's retrieval head and of SASRec reads them.

A user who bought from a brand often buys from it again, and most brands are small (on Amazon Beauty 2,075 brands,
half of them with a single item), so "the item's brand is among the history's brands" singles out a few catalogue
items that neither a dense query nor the transition counts rank near the top when the pair was never seen. The credit
of an item is ``1 / log(2 + its brand's catalogue size)``: a brand of a few items says more about the next item than a
brand of hundreds.

Remote code: imports only torch.
"""

import torch

#: The value of an ``item_brand_ids`` buffer that was never set (-1 = an item without a brand).
UNSET_BRAND = -2


def check_item_brand_ids(brand_ids: torch.Tensor, num_items: int) -> torch.LongTensor:
    """``brand_ids`` as a LongTensor ``[num_items]`` of brand ids ``>= 0`` (-1 = no brand); a ValueError naming the
    problem otherwise (wrong shape, non-integer values, an id below -1)."""
    brand_ids = torch.as_tensor(brand_ids)
    if tuple(brand_ids.shape) != (num_items,):
        raise ValueError(f"`item_brand_ids` must be [{num_items}] (one brand id per item), got {list(brand_ids.shape)}.")
    if brand_ids.is_floating_point() or brand_ids.is_complex() or brand_ids.dtype == torch.bool:
        raise ValueError(f"`item_brand_ids` must hold integer brand ids (-1 = no brand), got dtype {brand_ids.dtype}.")
    brand_ids = brand_ids.long()
    if brand_ids.numel() and int(brand_ids.min()) < -1:
        item = int((brand_ids < -1).nonzero()[0, 0])
        raise ValueError(f"`item_brand_ids` must be >= -1 (-1 = no brand); item {item} has {int(brand_ids[item])}.")
    return brand_ids


def brand_credit(item_brand_ids: torch.LongTensor, history_items: torch.LongTensor) -> torch.FloatTensor:
    """``[N, num_items]`` fp32: for each user, ``1 / log(2 + size of brand(i))`` for every item ``i`` whose brand is the
    brand of one of ``history_items [N, H]`` (catalogue indices, -1 = padding), 0 for the other items and for items
    without a brand. ``item_brand_ids [num_items]`` holds each item's brand id (-1 = none; :data:`UNSET_BRAND` = never
    set, which the error names)."""
    if item_brand_ids.numel() and int(item_brand_ids.min()) == UNSET_BRAND:
        raise ValueError("`brand_adjustment` needs the items' brands: call `set_item_brands` first.")
    has_brand = item_brand_ids >= 0
    if not bool(has_brand.any()):
        return torch.zeros(history_items.shape[0], item_brand_ids.shape[0], device=history_items.device)
    num_brands = int(item_brand_ids.max()) + 1
    sizes = torch.bincount(item_brand_ids[has_brand], minlength=num_brands).float()  # [num_brands]
    valid = history_items >= 0
    # Brands the history holds, one column per brand plus a last one that collects padding and brandless items.
    history_brands = torch.where(valid, item_brand_ids[history_items.clamp(min=0)], -1)  # [N, H]
    history_brands = torch.where(history_brands >= 0, history_brands, num_brands)
    held = torch.zeros(history_items.shape[0], num_brands + 1, device=history_items.device)
    held.scatter_(1, history_brands, 1.0)
    held[:, num_brands] = 0.0
    item_columns = torch.where(has_brand, item_brand_ids, num_brands)  # brandless items read the zeroed column
    weight = torch.where(has_brand, 1.0 / torch.log(2.0 + sizes[item_brand_ids.clamp(min=0)]), 0.0)  # [num_items]
    return held[:, item_columns] * weight

__all__ = ["UNSET_BRAND", "brand_credit", "check_item_brand_ids"]
