"""One loader per source format; each returns :class:`~mindrec.data.build.InteractionData`."""

from .amazon_beauty import load_amazon_beauty, read_items_jsonl, read_sequences_txt
from .amazon_raw import load_amazon_raw, read_metadata, read_reviews
from .interactions import load_interactions
from .lcrec_json import load_lcrec_json, read_item_json
from .movielens import load_movielens, read_movies_dat
from .recbole import load_recbole, read_atomic_file, read_item_file
from .sid_index import parse_sid_index

__all__ = [
    "load_amazon_beauty",
    "load_amazon_raw",
    "load_interactions",
    "load_lcrec_json",
    "load_movielens",
    "load_recbole",
    "parse_sid_index",
    "read_atomic_file",
    "read_item_file",
    "read_item_json",
    "read_items_jsonl",
    "read_metadata",
    "read_movies_dat",
    "read_reviews",
    "read_sequences_txt",
]
