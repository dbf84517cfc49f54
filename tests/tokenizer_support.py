"""Shared builders for the tokenizer tests (no tests here): a hand-made 3-item code table and tiny text
tokenizers trained in memory, so nothing is downloaded.

Code token ids of the 3-item table (sizes [2, 3, 2], D = 1, n = 2), item-only offset 7:
``<C0_v>`` = 7 + v, ``<S0_v>`` = 9 + v, ``<S1_v>`` = 12 + v, so
apple [0, 0, 1] -> [7, 9, 13], banana [0, 2, 0] -> [7, 11, 12], cherry [1, 1, 1] -> [8, 10, 13].
"""

from __future__ import annotations

import copy

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import PreTrainedTokenizerFast

from mindrec.tokenization.tokenization_mindrec import ALPACA_PREAMBLE, PROMPT_TEMPLATES

THREE_ITEM_TABLE = {
    "format_version": 1,
    "num_category_levels": 1,
    "num_sid_digits": 2,
    "code_slot_sizes": [2, 3, 2],
    "item_ids": ["apple", "banana", "cherry"],
    "codes": [[0, 0, 1], [0, 2, 0], [1, 1, 1]],
    "category_tree": {
        "name": "Food",
        "children": [{"name": "Fruit", "children": []}, {"name": "Berries", "children": []}],
    },
    "method": {"sid": "hand-made"},
    "stats": {"collision_rate": 0.0},
}
ITEM_TOKEN_IDS = {"apple": [7, 9, 13], "banana": [7, 11, 12], "cherry": [8, 10, 13]}
PAD, MASK, BOS, EOS, SEP, ITEM, UNK = range(7)

LLM_SPECIAL_TOKENS = ["<|bos|>", "<|eot|>", "<|mdm_mask|>", "<|start|>", "<|end|>"]
CHAT_TEMPLATE = (
    "{{ bos_token }}{% for m in messages %}<|start|>{{ m['role'] }}<|end|>\n{{ m['content'] }}<|eot|>"
    "{% endfor %}{% if add_generation_prompt %}<|start|>assistant<|end|>\n{% endif %}"
)


def make_table(**overrides) -> dict:
    """A deep copy of the 3-item table with some keys replaced."""
    table = copy.deepcopy(THREE_ITEM_TABLE)
    table.update(overrides)
    return table


def make_text_tokenizer(chat_template: str | None = CHAT_TEMPLATE) -> PreTrainedTokenizerFast:
    """A byte-level BPE text tokenizer (~300 tokens) trained on the prompt texts, LLaDA-like specials:
    bos ``<|bos|>`` 0, eos ``<|eot|>`` 1, ``<|mdm_mask|>`` 2 (not declared as mask token), no pad token."""
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=300,
        special_tokens=LLM_SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    bpe.train_from_iterator(
        [*PROMPT_TEMPLATES, ALPACA_PREAMBLE, "user assistant ### Instruction Response"], trainer
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=bpe, bos_token="<|bos|>", eos_token="<|eot|>", chat_template=chat_template
    )
