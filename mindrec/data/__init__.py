"""Data pipeline: source loaders -> item table + leave-one-out splits (``PreparedData``), synthetic data.

Typical use::

    from mindrec.data import load_dataset_from_path, load_prepared
    data = load_dataset_from_path("path/to/amazon_beauty_2014", max_history=10, max_users=5000)
    data.save_to_disk("prepared/beauty_5k")
    data = load_prepared("prepared/beauty_5k")
"""

from .brands import item_brand_ids
from .build import InteractionData
from .catalogue import ITEM_FEATURES, ItemCatalogue, ItemRecord
from .categories import clean_text, normalize_categories, split_category_path
from .errors import DataFormatError
from .kcore import kcore_filter
from .loaders import (
    load_amazon_beauty,
    load_amazon_raw,
    load_lcrec_json,
    load_recbole,
    parse_sid_index,
)
from .loading import FORMATS, detect_format, load_dataset_from_path
from .prepared import PreparedData, load_prepared
from .splits import MIN_SEQUENCE_LENGTH, SPLIT_FEATURES, SPLIT_NAMES, UserSequence, leave_one_out
from .synthetic import make_synthetic_dataset

__all__ = [
    "FORMATS",
    "ITEM_FEATURES",
    "MIN_SEQUENCE_LENGTH",
    "SPLIT_FEATURES",
    "SPLIT_NAMES",
    "DataFormatError",
    "InteractionData",
    "ItemCatalogue",
    "ItemRecord",
    "PreparedData",
    "UserSequence",
    "clean_text",
    "item_brand_ids",
    "detect_format",
    "kcore_filter",
    "leave_one_out",
    "load_amazon_beauty",
    "load_amazon_raw",
    "load_dataset_from_path",
    "load_lcrec_json",
    "load_prepared",
    "load_recbole",
    "make_synthetic_dataset",
    "normalize_categories",
    "parse_sid_index",
    "split_category_path",
]
