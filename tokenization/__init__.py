"""Item codes and the MindRec tokenizer (``mindrec.tokenization``).

* ``tokenization_mindrec.py`` — :class:`MindRecTokenizer` (remote code: travels with checkpoints).
* Offline code building — category tree, text embeddings, quantisers (RQ-kmeans, RQ-VAE, OPQ/PQ),
  collision resolution and the :class:`ItemCodeTable` saved as ``item_codes.json``.
"""

from transformers import AutoTokenizer

from mindrec.modeling import MindRecConfig

from .build_codes import build_item_codes, load_items_file
from .category_tree import OTHER, CategoryTree
from .code_table import ItemCodeTable, code_statistics, collision_rate
from .text_embeddings import ItemEmbeddings, embed_items, item_text
from .tokenization_mindrec import PROMPT_TEMPLATES, MindRecTokenizer

# AutoTokenizer.from_pretrained(folder) of a MindRec model folder without trust_remote_code.
AutoTokenizer.register(MindRecConfig, slow_tokenizer_class=MindRecTokenizer, exist_ok=True)

__all__ = [
    "OTHER",
    "PROMPT_TEMPLATES",
    "CategoryTree",
    "ItemCodeTable",
    "ItemEmbeddings",
    "MindRecTokenizer",
    "build_item_codes",
    "code_statistics",
    "collision_rate",
    "embed_items",
    "item_text",
    "load_items_file",
]
