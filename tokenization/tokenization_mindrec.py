# Copyright 2025 The mindrec authors. Licensed under the Apache License, Version 2.0.
"""The MindRec tokenizer: item codes as tokens, recommendation prompts with a [MASK] canvas.

This file is *remote code*: ``save_pretrained`` copies it next to a checkpoint and
``AutoTokenizer.from_pretrained(..., trust_remote_code=True)`` imports it where mindrec is not
installed. It may therefore import only the standard library, ``torch`` and ``transformers``.

Vocabulary (see docs/ARCHITECTURE.md, "Items, item indices and codes"):

* item-only setting (a small model trained from scratch):
  ``[PAD]`` 0, ``[MASK]`` 1, ``[BOS]`` 2, ``[EOS]`` 3, ``[SEP]`` 4, ``[ITEM]`` 5, ``[UNK]`` 6, then the
  code tokens from ``code_token_offset = 7``;
* LLM setting (a text tokenizer such as LLaDA's underneath): the text vocabulary keeps its ids and
  the code tokens start at ``code_token_offset >= len(text_tokenizer)``.

Code slot ``s`` value ``v`` is token id ``code_token_offset + sum(code_slot_sizes[:s]) + v`` and is
written ``<C{l}_{v}>`` for category level ``l = s`` and ``<S{k}_{v}>`` for SID digit ``k = s - D``
(levels and digits count from 0).

Model input (left-padded, the canvas is always the last ``code_length`` positions)::

    item-only: [PAD]* [BOS] <history> [SEP] [MASK]*code_length
    LLM:       [PAD]* <prompt with the history written as code tokens> [MASK]*code_length

In the LLM setting the prompt is one of the 17 ``PROMPT_TEMPLATES`` (0 = the canonical one, for testing),
with the history written ``<C0_1><S0_4><S1_0>, <C0_0><S0_2><S1_1>, ...``; it is the user message of the
text tokenizer's chat template (followed by the generation prompt) or, without a chat template, an Alpaca
``### Instruction: ... ### Response:`` frame after the bos token. An empty history leaves the history
slot of the sentence empty (item-only: ``[BOS] [SEP]`` + canvas).
"""

from __future__ import annotations

import hashlib
import json
import operator
import os
import re
import tempfile
from collections.abc import Mapping, Sequence
from typing import Any

import torch
from transformers import AutoTokenizer, BatchEncoding, PreTrainedTokenizer, PreTrainedTokenizerBase
from transformers.utils import logging

logger = logging.get_logger(__name__)

CODE_TABLE_FILE = "item_codes.json"
CODE_TABLE_FORMAT_VERSION = 1
TEXT_TOKENIZER_SUBFOLDER = "text_tokenizer"
HISTORY_ENCODINGS = ("tokens", "pooled")

# Fixed special tokens of the item-only vocabulary, in id order (their ids are part of the layout contract).
ITEM_ONLY_SPECIAL_TOKENS = {
    "pad_token": "[PAD]",
    "mask_token": "[MASK]",
    "bos_token": "[BOS]",
    "eos_token": "[EOS]",
    "sep_token": "[SEP]",
    "item_token": "[ITEM]",
    "unk_token": "[UNK]",
}
ITEM_ONLY_CODE_TOKEN_OFFSET = len(ITEM_ONLY_SPECIAL_TOKENS)
_ITEM_ONLY_TOKENS = tuple(ITEM_ONLY_SPECIAL_TOKENS.values())

_CODE_TOKEN_RE = re.compile(r"(<[CS]\d+_\d+>)")

# MindRec's next-item instructions (LLM setting). Template 0 is the canonical one, used at test time;
# training draws one per sample. "{history}" is replaced by the comma-separated item codes.
PROMPT_TEMPLATES: tuple[str, ...] = (
    "The user has interacted with items {history} in chronological order. "
    "Can you predict the next possible item that the user may expect?",
    "Here is the list of items the user has engaged with, oldest first: {history}. "
    "Which item is the user most likely to want next?",
    "Given the user's interaction history {history} (in chronological order), "
    "predict the item the user will interact with next.",
    "A user interacted with the following items, in order: {history}. Recommend the next item for this user.",
    "Based on the user's past items {history}, listed from earliest to latest, "
    "what item should be recommended next?",
    "The items {history} make up the user's history in the order they were interacted with. "
    "What will the user choose next?",
    "Consider a user whose interaction sequence is {history}. "
    "Suggest the single item that best fits as the next interaction.",
    "After interacting with {history} in that order, which item would the user most likely pick next?",
    "This user's chronological item history is {history}. Please predict the following item in the sequence.",
    "Looking at the items the user has interacted with so far, {history}, in chronological order, "
    "what is the next item the user would expect?",
    "User history (chronological): {history}. Identify the item this user is most likely to interact with next.",
    "Predict the next item for a user who has interacted with {history}, one after another in time order.",
    "The user's past interactions, from first to most recent, are {history}. "
    "Which item would you recommend to them now?",
    "Using the chronologically ordered interactions {history} as evidence of the user's preferences, "
    "select the next item to recommend.",
    "What item comes next for a user who interacted with items {history} in this order?",
    "You are given the sequence of items {history} that a user interacted with over time. "
    "Determine the item the user is likely to want next.",
    "From the user's ordered interaction record {history}, infer the next item the user may be interested in.",
)
ALPACA_PREAMBLE = "Below is an instruction that describes a task. Write a response that appropriately completes the request."
HISTORY_ITEM_SEPARATOR = ", "
# Stands in for the history while a prompt is rendered, so that the text around it is tokenized once.
_HISTORY_SENTINEL = "MINDRECHISTORYSENTINEL"

_REQUIRED_KEYS = (
    "format_version",
    "num_category_levels",
    "num_sid_digits",
    "code_slot_sizes",
    "item_ids",
    "codes",
)
# Written before the long item lists so that a reader sees the table's shape first.
_METADATA_KEYS = (
    "format_version",
    "num_category_levels",
    "num_sid_digits",
    "code_slot_sizes",
    "category_tree",
    "method",
    "stats",
)


# ----------------------------------------------------------------------------------------------------------
# The code table file (item_codes.json)
# ----------------------------------------------------------------------------------------------------------


def _as_int(value: Any, what: str) -> int:
    """``value`` as an int; bools and floats are rejected (a JSON ``1.0`` or ``true`` is a schema error)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{what} must be an integer, got {value!r}")
    return value


def _check_category_tree(node: Any, path: str, source: str) -> None:
    """Check that ``node`` is ``{"name": str, "children": [node, ...]}`` all the way down."""
    if not isinstance(node, Mapping) or not isinstance(node.get("name"), str):
        raise ValueError(
            f"{source}: category_tree node at {path} must be a dict with a string 'name', got {node!r:.80}"
        )
    children = node.get("children", [])
    if not isinstance(children, list):
        raise ValueError(f"{source}: category_tree node {path} ({node['name']!r}) has non-list 'children'")
    for position, child in enumerate(children):
        _check_category_tree(child, f"{path}/{position}", source)


def validate_item_codes(table: Mapping[str, Any], source: str = "code table") -> dict[str, Any]:
    """Check an ``item_codes.json`` mapping and return it normalised (missing optional keys filled in).

    Checks: format version, ``code_slot_sizes`` has ``D + n`` positive entries, item ids are unique strings,
    one code per item of length ``D + n``, every value inside its slot's range, no two items share a code,
    and every item's category path exists in ``category_tree`` (when a tree is given). Errors name ``source``
    and the item at fault.
    """
    if not isinstance(table, Mapping):
        raise ValueError(f"{source}: expected a JSON object, got {type(table).__name__}")
    missing = [key for key in _REQUIRED_KEYS if key not in table]
    if missing:
        raise ValueError(f"{source}: missing required key(s) {missing}")
    version = table["format_version"]
    if version != CODE_TABLE_FORMAT_VERSION:
        raise ValueError(
            f"{source}: unsupported format_version {version!r} (this tokenizer reads "
            f"{CODE_TABLE_FORMAT_VERSION})"
        )
    num_levels = _as_int(table["num_category_levels"], f"{source}: num_category_levels")
    num_digits = _as_int(table["num_sid_digits"], f"{source}: num_sid_digits")
    if num_levels < 0 or num_digits < 0 or num_levels + num_digits == 0:
        raise ValueError(
            f"{source}: need num_category_levels >= 0, num_sid_digits >= 0 and at least one slot, "
            f"got {num_levels} and {num_digits}"
        )
    code_length = num_levels + num_digits
    sizes = table["code_slot_sizes"]
    if not isinstance(sizes, list) or len(sizes) != code_length:
        raise ValueError(
            f"{source}: code_slot_sizes must list {code_length} sizes (num_category_levels "
            f"{num_levels} + num_sid_digits {num_digits}), got {sizes!r}"
        )
    sizes = [_as_int(size, f"{source}: code_slot_sizes[{slot}]") for slot, size in enumerate(sizes)]
    if any(size < 1 for size in sizes):
        raise ValueError(f"{source}: every code slot needs at least one value, got code_slot_sizes {sizes}")

    item_ids, codes = table["item_ids"], table["codes"]
    if not isinstance(item_ids, list) or not item_ids:
        raise ValueError(f"{source}: item_ids must be a non-empty list")
    if not isinstance(codes, list) or len(codes) != len(item_ids):
        count = len(codes) if isinstance(codes, list) else type(codes).__name__
        raise ValueError(
            f"{source}: codes must hold one code per item: {count} codes for {len(item_ids)} item_ids"
        )
    first_row: dict[str, int] = {}
    for row, item_id in enumerate(item_ids):
        if not isinstance(item_id, str):
            raise ValueError(f"{source}: item_ids[{row}] must be a string, got {item_id!r}")
        if item_id in first_row:
            raise ValueError(
                f"{source}: item id {item_id!r} appears twice (rows {first_row[item_id]} and {row})"
            )
        first_row[item_id] = row

    owner: dict[tuple[int, ...], int] = {}
    clean_codes = []
    for row, (item_id, code) in enumerate(zip(item_ids, codes, strict=True)):
        where = f"{source}: item {item_id!r} (row {row})"
        if not isinstance(code, list) or len(code) != code_length:
            length = len(code) if isinstance(code, list) else type(code).__name__
            raise ValueError(
                f"{where} has a code of length {length}, expected {code_length} "
                f"(num_category_levels {num_levels} + num_sid_digits {num_digits})"
            )
        code = tuple(_as_int(v, f"{where}: code slot {slot}") for slot, v in enumerate(code))
        for slot, (value, size) in enumerate(zip(code, sizes, strict=True)):
            if not 0 <= value < size:
                raise ValueError(
                    f"{where}: code slot {slot} value {value} is outside 0..{size - 1} "
                    f"(code_slot_sizes[{slot}] = {size})"
                )
        if code in owner:
            other = owner[code]
            raise ValueError(
                f"{source}: items {item_ids[other]!r} (row {other}) and {item_id!r} (row {row}) share "
                f"the code {list(code)}; codes must be one-to-one with items"
            )
        owner[code] = row
        clean_codes.append(list(code))

    tree = table.get("category_tree")
    if tree is not None:
        _check_category_tree(tree, "root", source)
        for row, (item_id, code) in enumerate(zip(item_ids, clean_codes, strict=True)):
            node = tree
            for level in range(num_levels):
                children = node.get("children", [])
                if code[level] >= len(children):
                    raise ValueError(
                        f"{source}: item {item_id!r} (row {row}): category slot {level} value "
                        f"{code[level]} has no node in category_tree (node {node['name']!r} has "
                        f"{len(children)} children)"
                    )
                node = children[code[level]]
    for key in ("method", "stats"):
        if not isinstance(table.get(key, {}), Mapping):
            raise ValueError(f"{source}: {key} must be a JSON object, got {table[key]!r:.80}")
    return {
        "format_version": CODE_TABLE_FORMAT_VERSION,
        "num_category_levels": num_levels,
        "num_sid_digits": num_digits,
        "code_slot_sizes": sizes,
        "item_ids": list(item_ids),
        "codes": clean_codes,
        "category_tree": tree,
        "method": dict(table.get("method", {})),
        "stats": dict(table.get("stats", {})),
    }


def read_item_codes(path: str | os.PathLike) -> dict[str, Any]:
    """Read and validate an ``item_codes.json`` file (see :func:`validate_item_codes`)."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"code table file {path} does not exist")
    with open(path, encoding="utf-8") as handle:
        try:
            table = json.load(handle)
        except json.JSONDecodeError as error:
            raise ValueError(
                f"{path}: not valid JSON (line {error.lineno}, column {error.colno}): {error.msg}"
            ) from None
    return validate_item_codes(table, source=path)


def write_item_codes(path: str | os.PathLike, table: Mapping[str, Any]) -> None:
    """Write a validated code table atomically: metadata keys first, then one item id / code per line."""
    table = validate_item_codes(table, source="code table to write")
    dump = json.dumps
    lines = [f"  {dump(key)}: {dump(table[key], ensure_ascii=False)}," for key in _METADATA_KEYS]
    lines.append(
        '  "item_ids": [\n'
        + ",\n".join(f"    {dump(i, ensure_ascii=False)}" for i in table["item_ids"])
        + "\n  ],"
    )
    lines.append('  "codes": [\n' + ",\n".join(f"    {dump(c)}" for c in table["codes"]) + "\n  ]")
    text = "{\n" + "\n".join(lines) + "\n}\n"
    _atomic_write_text(os.fspath(path), text)


def _atomic_write_text(path: str, text: str) -> None:
    """Write ``text`` through a temporary sibling and one rename, with the umask's mode (not mkstemp's 0600).

    Remote code cannot import ``mindrec.io_utils``, so this is a minimal copy of ``atomic_write_text``
    behaving the same way.
    """
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=os.path.dirname(path) or ".")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def code_table_digest(table: Mapping[str, Any]) -> str:
    """SHA-256 of what a code table means: its layout, and the item ids and codes in row order.

    Metadata (``method``, ``stats``, ``category_tree`` names) is left out; reordering or swapping rows changes
    the digest (a shuffled table decodes to the wrong items).
    """
    payload = [
        table["num_category_levels"],
        table["num_sid_digits"],
        list(table["code_slot_sizes"]),
        list(table["item_ids"]),
        [list(code) for code in table["codes"]],
    ]
    text = json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _is_item(value: Any) -> bool:
    """An item reference (index or id) rather than a list of them (lists, tuples, tensors, NumPy arrays)."""
    if isinstance(value, torch.Tensor):
        return value.dim() == 0
    if isinstance(value, (str, bytes)) or getattr(value, "ndim", None) == 0:  # NumPy scalars and 0-d arrays
        return True
    return not (hasattr(value, "__len__") and hasattr(value, "__iter__"))


def _as_batch(histories: Any, targets: Any) -> tuple[list, list | None]:
    """Normalise ``histories`` / ``targets`` to one entry per user (a flat item list is one user)."""
    if _is_item(histories):
        raise TypeError(f"histories must be a list of item lists (or one item list), got {histories!r:.80}")
    if len(histories) == 0:
        raise ValueError("histories is empty; pass [[]] for one user with an empty history")
    if all(_is_item(item) for item in histories):
        histories = [histories]
    for user, history in enumerate(histories):
        if _is_item(history):
            raise TypeError(
                f"user {user} (batch position): a history must be a list of items, got {history!r:.80}"
            )
    if targets is None:
        return list(histories), None
    targets = [targets] if _is_item(targets) else list(targets)
    if len(targets) != len(histories):
        raise ValueError(
            f"targets must hold one item per user: {len(histories)} histories, {len(targets)} targets"
        )
    return list(histories), targets


def _as_index(value: Any) -> int | None:
    """``value`` as a Python int when it is an integer (int, NumPy or 0-d tensor integer, not bool), else None."""
    if isinstance(value, bool) or not hasattr(value, "__index__"):
        return None
    try:
        return operator.index(value)
    except TypeError:
        return None


def _check_max_history(max_history: Any) -> int | None:
    """``max_history`` as an int (NumPy integers accepted) or None; anything else raises a ValueError."""
    if max_history is None:
        return None
    value = _as_index(max_history)
    if value is None or value < 0:
        raise ValueError(f"max_history must be a non-negative int or None, got {max_history!r}")
    return value


# ``max_history`` not given at call time: the tokenizer's own (``None`` given means "keep every item").
_TOKENIZER_MAX_HISTORY: Any = object()
ITEM_REFERENCES = ("ids", "indices")
_INTEGER_ID = re.compile(r"-?[0-9]+")


def _item_only_special_tokens(code_token_offset: int | None, kwargs: dict[str, Any]) -> int:
    """Fill ``kwargs`` with the fixed item-only special tokens; return the code token offset (7).

    ``[ITEM]`` is a model-specific special token (``tokenizer.item_token`` / ``item_token_id``); on reload
    ``from_pretrained`` hands it back inside ``model_specific_special_tokens``.
    """
    if code_token_offset not in (None, ITEM_ONLY_CODE_TOKEN_OFFSET):
        raise ValueError(
            f"code_token_offset is fixed to {ITEM_ONLY_CODE_TOKEN_OFFSET} in the item-only setting, "
            f"got {code_token_offset}"
        )
    specific = dict(kwargs.pop("model_specific_special_tokens", None) or {})
    if "item_token" in kwargs:
        specific["item_token"] = kwargs.pop("item_token")
    for key, token in ITEM_ONLY_SPECIAL_TOKENS.items():
        holder = specific if key == "item_token" else kwargs
        if holder.get(key) is not None and str(holder[key]) != token:
            raise ValueError(
                f"{key} is fixed to {token!r} in the item-only setting, got {str(holder[key])!r}"
            )
        holder[key] = token
    kwargs["model_specific_special_tokens"] = specific
    return ITEM_ONLY_CODE_TOKEN_OFFSET


def _llm_special_tokens(
    text_tokenizer: PreTrainedTokenizerBase, code_token_offset: int | None, kwargs: dict[str, Any]
) -> int:
    """Fill ``kwargs`` with the text tokenizer's special tokens (explicit ones win); return the code offset."""
    text_length = len(text_tokenizer)
    code_token_offset = text_length if code_token_offset is None else code_token_offset
    if code_token_offset < text_length:
        raise ValueError(
            f"code_token_offset {code_token_offset} would overlap the text vocabulary "
            f"(len(text_tokenizer) = {text_length}); it must be >= {text_length}"
        )
    for key in PreTrainedTokenizerBase.SPECIAL_TOKENS_ATTRIBUTES:
        if kwargs.get(key) is None and getattr(text_tokenizer, key, None) is not None:
            kwargs[key] = str(getattr(text_tokenizer, key))
    if kwargs.get("item_token") or (kwargs.get("model_specific_special_tokens") or {}).get("item_token"):
        raise ValueError("the [ITEM] placeholder exists only in the item-only setting")
    if kwargs.get("mask_token") is None:
        raise ValueError("the text tokenizer has no mask token; pass mask_token_id to from_code_table")
    if kwargs.get("pad_token") is None:
        raise ValueError("the text tokenizer has neither a pad nor an eos token; pass pad_token_id")
    return code_token_offset


# ----------------------------------------------------------------------------------------------------------
# The tokenizer
# ----------------------------------------------------------------------------------------------------------


class MindRecTokenizer(PreTrainedTokenizer):
    r"""Tokenizer for generative recommendation with item codes (MindRec, DiffGRM-style models).

    Build one with :meth:`from_code_table`; reload with ``from_pretrained``. Calling the tokenizer encodes
    user histories (and optionally targets) into the model input layout, see :meth:`__call__`; text (with code
    tokens written as ``<C0_1><S0_4>``) goes through ``encode`` / ``tokenize`` / ``decode`` as usual.

    Args:
        code_table_file (`str`, *optional*):
            Path to an ``item_codes.json`` file (what ``from_pretrained`` passes).
        history_encoding (`str`, defaults to `"tokens"`):
            ``"tokens"``: each history item is its ``code_length`` code tokens. ``"pooled"`` (item-only setting):
            each history item is one ``[ITEM]`` placeholder and ``history_code_ids`` carries its code tokens.
        max_history (`int`, *optional*, defaults to 10):
            Keep only the last ``max_history`` items of every history; ``None`` keeps all.
        code_token_offset (`int`, *optional*):
            Id of the first code token. Item-only: always 7. LLM setting: ``len(text_tokenizer)`` by default, or
            any larger value (e.g. LLaDA's 126464 embedding rows).
        text_tokenizer_subfolder (`str`, *optional*):
            Set by ``save_pretrained`` when a text tokenizer is saved in this subfolder (LLM setting).
        code_table_sha256 (`str`, *optional*):
            :func:`code_table_digest` of the code table, recorded in ``tokenizer_config.json`` on save; when given,
            the table read must match it (a modified or shuffled ``item_codes.json`` is refused).
        code_table (`dict`, *optional*):
            An in-memory code table with the ``item_codes.json`` schema, instead of ``code_table_file``.
        text_tokenizer ([`PreTrainedTokenizerBase`], *optional*):
            The base text tokenizer of the LLM setting.
    """

    vocab_files_names = {"code_table_file": CODE_TABLE_FILE}
    model_input_names = ["input_ids", "attention_mask"]
    padding_side = "left"

    def __init__(
        self,
        code_table_file: str | None = None,
        history_encoding: str = "tokens",
        max_history: int | None = 10,
        code_token_offset: int | None = None,
        text_tokenizer_subfolder: str | None = None,
        code_table_sha256: str | None = None,
        *,
        code_table: Mapping[str, Any] | None = None,
        text_tokenizer: PreTrainedTokenizerBase | None = None,
        **kwargs,
    ):
        # 1. The code table: the one source of the code vocabulary.
        if code_table is not None and code_table_file is not None:
            raise ValueError("pass either code_table or code_table_file, not both")
        if code_table is None and code_table_file is None:
            where = kwargs.get("name_or_path")
            raise FileNotFoundError(
                f"no {CODE_TABLE_FILE} found in {where}"
                if where
                else "MindRecTokenizer needs a code table: use MindRecTokenizer.from_code_table"
            )
        table = read_item_codes(code_table_file) if code_table is None else validate_item_codes(code_table)
        digest = code_table_digest(table)
        if code_table_sha256 is not None and code_table_sha256 != digest:
            raise ValueError(
                f"{code_table_file or 'the code table'} is not the code table this tokenizer was saved with "
                f"(its SHA-256 {digest[:12]}... differs from code_table_sha256 {str(code_table_sha256)[:12]}... "
                "in tokenizer_config.json): the file was modified, shuffled or replaced after saving"
            )
        if history_encoding not in HISTORY_ENCODINGS:
            raise ValueError(f"history_encoding must be one of {HISTORY_ENCODINGS}, got {history_encoding!r}")
        max_history = _check_max_history(max_history)

        # 2. Special tokens and code offset: fixed (item-only) or taken from the text tokenizer (LLM), which
        # is reloaded from its subfolder by from_pretrained. (Where the files came from is not configuration:
        # it must not be written back into tokenizer_config.json.)
        kwargs.pop("is_local", None)
        local_files_only = kwargs.pop("local_files_only", False)
        if text_tokenizer is None and text_tokenizer_subfolder is not None:
            if not kwargs.get("name_or_path"):
                raise ValueError(
                    "text_tokenizer_subfolder is set but the tokenizer folder is unknown; use "
                    "MindRecTokenizer.from_pretrained(folder) or pass text_tokenizer"
                )
            text_tokenizer = AutoTokenizer.from_pretrained(
                kwargs["name_or_path"],
                subfolder=text_tokenizer_subfolder,
                local_files_only=local_files_only,
            )
        if text_tokenizer is None:
            code_token_offset = _item_only_special_tokens(code_token_offset, kwargs)
        else:
            if history_encoding != "tokens":
                raise ValueError(
                    "history_encoding='pooled' needs the item-only setting; with a text tokenizer the "
                    "history is written as code tokens (history_encoding='tokens')"
                )
            code_token_offset = _llm_special_tokens(text_tokenizer, code_token_offset, kwargs)
            kwargs["text_tokenizer_subfolder"] = TEXT_TOKENIZER_SUBFOLDER
        self._text_tokenizer = text_tokenizer

        # 3. Code vocabulary: slot s value v -> code_token_offset + slot_start[s] + v.
        self.history_encoding = history_encoding
        self.max_history = max_history
        self.code_token_offset = code_token_offset
        self._table = table
        self.num_category_levels = table["num_category_levels"]
        self.num_sid_digits = table["num_sid_digits"]
        self.code_slot_sizes = list(table["code_slot_sizes"])
        self.code_length = len(self.code_slot_sizes)
        self._slot_starts = [
            code_token_offset + sum(self.code_slot_sizes[:slot]) for slot in range(self.code_length)
        ]
        self._code_vocab = {
            self._code_token_name(slot, value): start + value
            for slot, (start, size) in enumerate(zip(self._slot_starts, self.code_slot_sizes, strict=True))
            for value in range(size)
        }
        self._code_id_to_token = {token_id: token for token, token_id in self._code_vocab.items()}
        self._item_ids: list[str] = table["item_ids"]
        self._index_of = {item_id: index for index, item_id in enumerate(self._item_ids)}
        # With integer-like ids (e.g. Amazon Beauty's "1", "2", ...), an int could be an id or an index.
        self._integer_like_ids = any(_INTEGER_ID.fullmatch(item_id) for item_id in self._item_ids)
        self._codes = torch.tensor(table["codes"], dtype=torch.long)  # [I, L] slot values
        self._code_token_rows: list[list[int]] = self.code_token_ids(self._codes).tolist()  # [I][L] token ids
        self._build_code_lookup()
        self._prompt_cache: dict[int, tuple[list[int], list[int]]] = {}
        self._separator_ids = (
            text_tokenizer.encode(HISTORY_ITEM_SEPARATOR, add_special_tokens=False) if text_tokenizer else []
        )

        kwargs.setdefault("padding_side", "left")
        super().__init__(
            history_encoding=history_encoding,
            max_history=max_history,
            code_token_offset=code_token_offset,
            code_table_sha256=digest,
            **kwargs,
        )
        logger.info(
            f"MindRecTokenizer: {self.num_items} items, code length {self.code_length}, vocab size "
            f"{self.vocab_size}, history_encoding={history_encoding!r}"
        )

    # ------------------------------------------------------------------------------------------------------
    # Construction
    # ------------------------------------------------------------------------------------------------------

    @classmethod
    def from_code_table(
        cls,
        code_table: str | os.PathLike | Mapping[str, Any],
        *,
        text_tokenizer: PreTrainedTokenizerBase | None = None,
        history_encoding: str = "tokens",
        max_history: int | None = 10,
        code_token_offset: int | None = None,
        mask_token_id: int | None = None,
        pad_token_id: int | None = None,
    ) -> MindRecTokenizer:
        """Build a tokenizer from an ``item_codes.json`` file (or a folder holding one) or an in-memory table.

        Without ``text_tokenizer``: the item-only vocabulary. With it: the LLM setting; ``mask_token_id`` and
        ``pad_token_id`` override the text tokenizer's (many text tokenizers have no mask token; without a pad
        token the eos token pads).
        """
        kwargs: dict[str, Any] = {}
        if text_tokenizer is None:
            if mask_token_id is not None or pad_token_id is not None:
                raise ValueError(
                    "mask_token_id / pad_token_id can only be chosen in the LLM setting; the item-only "
                    "vocabulary fixes [PAD] = 0 and [MASK] = 1"
                )
        else:
            for key, token_id in (("mask_token", mask_token_id), ("pad_token", pad_token_id)):
                if token_id is not None:
                    token = text_tokenizer.convert_ids_to_tokens(token_id)
                    if token is None:
                        raise ValueError(f"{key}_id {token_id} is not in the text tokenizer's vocabulary")
                    kwargs[key] = str(token)
            if (
                kwargs.get("pad_token") is None
                and text_tokenizer.pad_token is None
                and text_tokenizer.eos_token
            ):
                kwargs["pad_token"] = str(text_tokenizer.eos_token)
        if isinstance(code_table, Mapping):
            kwargs["code_table"] = code_table
        else:
            path = os.fspath(code_table)
            kwargs["code_table_file"] = os.path.join(path, CODE_TABLE_FILE) if os.path.isdir(path) else path
        return cls(
            text_tokenizer=text_tokenizer,
            history_encoding=history_encoding,
            max_history=max_history,
            code_token_offset=code_token_offset,
            **kwargs,
        )

    @classmethod
    def _from_pretrained(cls, resolved_vocab_files, pretrained_model_name_or_path, *args, **kwargs):
        # The base class turns any OSError raised in __init__ into a generic "Unable to load vocabulary"
        # message, so a missing code table is reported here, by name.
        if resolved_vocab_files.get("code_table_file") is None and kwargs.get("code_table") is None:
            raise FileNotFoundError(f"no {CODE_TABLE_FILE} found in {pretrained_model_name_or_path}")
        return super()._from_pretrained(resolved_vocab_files, pretrained_model_name_or_path, *args, **kwargs)

    def _build_code_lookup(self) -> None:
        """Index the table for :meth:`decode_codes`: sorted mixed-radix keys, or a dict for huge code spaces."""
        space = 1
        for size in self.code_slot_sizes:
            space *= size
        if space < 2**62:
            # key = sum_s v_s * prod(sizes[s+1:]), unique per code and exact in int64.
            radix = [1] * self.code_length
            for slot in range(self.code_length - 2, -1, -1):
                radix[slot] = radix[slot + 1] * self.code_slot_sizes[slot + 1]
            self._radix = torch.tensor(radix, dtype=torch.long)
            keys = (self._codes * self._radix).sum(-1)
            self._sorted_keys, self._sorted_rows = torch.sort(keys)
            self._code_to_index = None
        else:
            self._radix = None
            self._code_to_index = {tuple(code): index for index, code in enumerate(self._table["codes"])}

    # ------------------------------------------------------------------------------------------------------
    # Vocabulary (what a python tokenizer must implement)
    # ------------------------------------------------------------------------------------------------------

    def _code_token_name(self, slot: int, value: int) -> str:
        if slot < self.num_category_levels:
            return f"<C{slot}_{value}>"
        return f"<S{slot - self.num_category_levels}_{value}>"

    @property
    def text_tokenizer(self) -> PreTrainedTokenizerBase | None:
        """The base text tokenizer (LLM setting), ``None`` in the item-only setting."""
        return self._text_tokenizer

    @property
    def vocab_size(self) -> int:
        """Size of the id space: every id the model's embedding needs (text ids, any gap, then code ids)."""
        return self.code_token_offset + sum(self.code_slot_sizes)

    def __len__(self) -> int:
        # The id space may have a gap (code_token_offset > len(text_tokenizer)); the model needs all of it.
        return self.vocab_size

    def get_vocab(self) -> dict[str, int]:
        if self._text_tokenizer is not None:
            base = dict(self._text_tokenizer.get_vocab())
        else:
            base = {token: index for index, token in enumerate(_ITEM_ONLY_TOKENS)}
        base.update(self._code_vocab)
        return base

    def _add_tokens(self, new_tokens, special_tokens: bool = False) -> int:
        # The vocabulary is fixed by the code table (and the text tokenizer): a new token would take an id that
        # the layout contract gives to a code token.
        if new_tokens:
            vocab = self.get_vocab()
            unknown = [str(token) for token in new_tokens if str(token) and str(token) not in vocab]
            if unknown:
                raise ValueError(
                    f"MindRecTokenizer's vocabulary is fixed by its code table; {unknown} are not in it "
                    "(add text tokens to the text tokenizer before building the MindRecTokenizer)"
                )
        return super()._add_tokens(new_tokens, special_tokens=special_tokens)

    def _tokenize(self, text: str, **kwargs) -> list[str]:
        """Split text into code tokens (``<C0_3>``, ``<S1_7>``) and, in between, text-tokenizer tokens
        (LLM setting) or whitespace-separated words (item-only setting)."""
        tokens: list[str] = []
        for piece in _CODE_TOKEN_RE.split(text):
            if not piece:
                continue
            if _CODE_TOKEN_RE.fullmatch(piece):
                tokens.append(piece)
            elif self._text_tokenizer is not None:
                tokens.extend(self._text_tokenizer.tokenize(piece))
            else:
                tokens.extend(piece.split())
        return tokens

    def _convert_token_to_id(self, token: str) -> int | None:
        if token in self._code_vocab:
            return self._code_vocab[token]
        if self._text_tokenizer is not None:
            token_id = self._text_tokenizer.convert_tokens_to_ids(token)
            return token_id if token_id is not None else self.unk_token_id
        return self.unk_token_id

    def _convert_id_to_token(self, index: int) -> str:
        if index in self._code_id_to_token:
            return self._code_id_to_token[index]
        if not 0 <= index < self.vocab_size:
            raise ValueError(
                f"token id {index} is outside this tokenizer's vocabulary 0..{self.vocab_size - 1}"
            )
        if self._text_tokenizer is not None and index < self.code_token_offset:
            token = self._text_tokenizer.convert_ids_to_tokens(index)
            # Ids between the text vocabulary and code_token_offset are embedding rows nothing uses.
            return token if token is not None else f"[UNUSED_{index}]"
        return _ITEM_ONLY_TOKENS[index]

    def convert_tokens_to_string(self, tokens: list[str]) -> str:
        if self._text_tokenizer is None:
            return " ".join(tokens)
        # Text runs go through the text tokenizer (to undo byte-level / sentencepiece markers); code tokens
        # are written as they are.
        parts, run = [], []
        for token in tokens:
            if token in self._code_vocab:
                if run:
                    parts.append(self._text_tokenizer.convert_tokens_to_string(run))
                    run = []
                parts.append(token)
            else:
                run.append(token)
        if run:
            parts.append(self._text_tokenizer.convert_tokens_to_string(run))
        return "".join(parts)

    def save_vocabulary(self, save_directory: str, filename_prefix: str | None = None) -> tuple[str, ...]:
        """Write ``item_codes.json`` (the code table that travels with the model) and, in the LLM setting, the
        text tokenizer into ``text_tokenizer/``."""
        if not os.path.isdir(save_directory):
            raise NotADirectoryError(f"{save_directory} is not a directory")
        prefix = f"{filename_prefix}-" if filename_prefix else ""
        path = os.path.join(save_directory, prefix + CODE_TABLE_FILE)
        write_item_codes(path, self.code_table)
        saved = [path]
        if self._text_tokenizer is not None:
            saved.extend(
                self._text_tokenizer.save_pretrained(os.path.join(save_directory, TEXT_TOKENIZER_SUBFOLDER))
            )
        return tuple(saved)

    # ------------------------------------------------------------------------------------------------------
    # The code table
    # ------------------------------------------------------------------------------------------------------

    @property
    def num_items(self) -> int:
        """Number of items in the code table."""
        return len(self._item_ids)

    @property
    def item_codes(self) -> torch.LongTensor:
        """Slot values of every item, ``LongTensor [num_items, code_length]`` (a copy)."""
        return self._codes.clone()

    @property
    def code_table(self) -> dict[str, Any]:
        """The code table as an ``item_codes.json`` mapping (a copy)."""
        return json.loads(json.dumps(self._table))

    def item_id_of(self, index: int) -> str:
        """External item id of item index ``index``."""
        return self._item_ids[self._check_index(index)]

    def index_of(self, item_id: str) -> int:
        """Item index of external id ``item_id`` (ints from files must be converted with ``str()`` first)."""
        if not isinstance(item_id, str):
            raise TypeError(f"item ids are strings, got {item_id!r}; use str() on ids read as numbers")
        if item_id not in self._index_of:
            raise ValueError(f"unknown item id {item_id!r} (not in the code table of {self.num_items} items)")
        return self._index_of[item_id]

    def code_tokens(self, index: int) -> list[str]:
        """Code tokens of item ``index``, e.g. ``['<C0_1>', '<S0_4>', '<S1_0>']``."""
        return [
            self._code_id_to_token[token_id] for token_id in self._code_token_rows[self._check_index(index)]
        ]

    def category_names(self, index: int) -> list[str]:
        """Names of the category nodes on item ``index``'s path, coarse to fine (``[]`` when D = 0)."""
        index = self._check_index(index)
        if self.num_category_levels and self._table["category_tree"] is None:
            raise ValueError("this code table has no category_tree, so category names are unknown")
        node, names = self._table["category_tree"], []
        for level in range(self.num_category_levels):
            node = node["children"][self._table["codes"][index][level]]
            names.append(node["name"])
        return names

    def code_token_ids(self, codes: torch.Tensor | Sequence) -> torch.LongTensor:
        """Slot values ``[..., code_length]`` -> code token ids ``[..., code_length]``."""
        codes = torch.as_tensor(codes, dtype=torch.long)
        sizes = torch.tensor(self.code_slot_sizes, device=codes.device)
        if codes.shape[-1:] != (self.code_length,):
            raise ValueError(
                f"codes must end in a dimension of size {self.code_length}, got shape {tuple(codes.shape)}"
            )
        if ((codes < 0) | (codes >= sizes)).any():
            raise ValueError(
                f"code values must lie in 0..code_slot_sizes[s]-1 (sizes {self.code_slot_sizes})"
            )
        return codes + torch.tensor(self._slot_starts, device=codes.device)

    def codes_from_token_ids(self, token_ids: torch.Tensor | Sequence) -> torch.LongTensor:
        """Code token ids ``[..., code_length]`` -> slot values; ``-1`` where an id is not a token of its slot."""
        token_ids = torch.as_tensor(token_ids, dtype=torch.long)
        if token_ids.shape[-1:] != (self.code_length,):
            raise ValueError(
                f"token ids must end in a dimension of size {self.code_length}, "
                f"got shape {tuple(token_ids.shape)}"
            )
        values = token_ids - torch.tensor(self._slot_starts, device=token_ids.device)
        valid = (values >= 0) & (values < torch.tensor(self.code_slot_sizes, device=token_ids.device))
        return torch.where(valid, values, torch.full_like(values, -1))

    def decode_codes(self, codes: torch.Tensor | Sequence) -> torch.LongTensor:
        """Slot values ``[..., code_length]`` -> item indices ``[...]``, ``-1`` for codes not in the table."""
        codes = torch.as_tensor(codes, dtype=torch.long)
        if codes.shape[-1:] != (self.code_length,):
            raise ValueError(
                f"codes must end in a dimension of size {self.code_length}, got shape {tuple(codes.shape)}"
            )
        if self._radix is None:
            flat = codes.reshape(-1, self.code_length).tolist()
            found = [self._code_to_index.get(tuple(code), -1) for code in flat]
            return torch.tensor(found, dtype=torch.long, device=codes.device).reshape(codes.shape[:-1])
        device = codes.device
        in_range = ((codes >= 0) & (codes < torch.tensor(self.code_slot_sizes, device=device))).all(-1)
        keys = (codes.clamp(min=0) * self._radix.to(device)).sum(-1)
        sorted_keys = self._sorted_keys.to(device)
        position = torch.searchsorted(sorted_keys, keys).clamp(max=len(sorted_keys) - 1)
        hit = in_range & (sorted_keys[position] == keys)
        return torch.where(hit, self._sorted_rows.to(device)[position], torch.full_like(keys, -1))

    def _check_index(self, index: int) -> int:
        if isinstance(index, bool):
            raise TypeError(f"item index must be an int, got {index!r}")
        index = operator.index(index)
        if not 0 <= index < self.num_items:
            raise ValueError(f"item index {index} is outside 0..{self.num_items - 1}")
        return index

    # ------------------------------------------------------------------------------------------------------
    # Encoding recommendation inputs
    # ------------------------------------------------------------------------------------------------------

    @property
    def num_templates(self) -> int:
        """Number of prompt templates: 17 in the LLM setting, 1 (no prompt text) in the item-only setting."""
        return len(PROMPT_TEMPLATES) if self._text_tokenizer is not None else 1

    def _resolve_item(self, item: Any, user: int, position: str, items: str | None = None) -> int:
        """Item index of ``item`` (an index or an item id, as ``items`` says); errors name the batch position.

        ``items=None``: a str is an id, an int an index -- unless the catalogue's ids look like integers, where an
        int is ambiguous and refused. ``"ids"``: ints are ids too (``7`` means id ``"7"``). ``"indices"``: only
        integer indices.
        """
        where = f"user {user} (batch position), {position}"
        index = _as_index(item)
        if isinstance(item, str) or (items == "ids" and index is not None):
            if items == "indices":
                raise TypeError(f"{where}: items='indices' but got the item id {item!r}")
            item_id = item if isinstance(item, str) else str(index)
            if item_id not in self._index_of:
                raise ValueError(f"{where}: unknown item id {item_id!r}")
            return self._index_of[item_id]
        if index is None:
            raise TypeError(f"{where}: items are int indices or str ids, got {item!r}")
        if items is None and self._integer_like_ids:
            raise ValueError(
                f"{where}: the int {index} is ambiguous: this catalogue's item ids look like integers too "
                f"(e.g. {self._item_ids[0]!r} is index 0). Pass items='ids' for the ids of the data files or "
                "items='indices' for dense item indices 0..num_items-1 (or give the ids as str)."
            )
        if not 0 <= index < self.num_items:
            raise ValueError(
                f"user {user} (batch position), {position}: item index {index} is not in the code "
                f"table (0..{self.num_items - 1})"
            )
        return index

    def _templates_for(self, template_index: int | Sequence[int], batch: int) -> list[int]:
        """One valid template index per user."""
        given = [template_index] * batch if _is_item(template_index) else list(template_index)
        if len(given) != batch:
            raise ValueError(
                f"template_index must be an int or hold one index per user ({batch}), got {len(given)}"
            )
        templates = []
        for user, template in enumerate(given):
            value = _as_index(template)
            if value is None or not 0 <= value < self.num_templates:
                raise ValueError(
                    f"user {user} (batch position): template_index {template!r} is outside "
                    f"0..{self.num_templates - 1}"
                )
            templates.append(value)
        return templates

    def _prompt_pieces(self, template_index: int) -> tuple[list[int], list[int]]:
        """Token ids of the LLM prompt before and after the history, for one template (cached)."""
        if template_index not in self._prompt_cache:
            instruction = PROMPT_TEMPLATES[template_index].replace("{history}", _HISTORY_SENTINEL)
            text_tokenizer = self._text_tokenizer
            bos = []
            if getattr(text_tokenizer, "chat_template", None):
                prompt = text_tokenizer.apply_chat_template(
                    [{"role": "user", "content": instruction}], tokenize=False, add_generation_prompt=True
                )
            else:
                prompt = f"{ALPACA_PREAMBLE}\n\n### Instruction:\n{instruction}\n\n### Response:\n"
                bos = [text_tokenizer.bos_token_id] if text_tokenizer.bos_token_id is not None else []
            if prompt.count(_HISTORY_SENTINEL) != 1:
                raise ValueError("the text tokenizer's chat template does not keep the user message verbatim")
            before, after = prompt.split(_HISTORY_SENTINEL)
            # Code tokens split the text exactly as added tokens do, so encoding the two sides separately gives
            # the ids a tokenizer with the code tokens added would give.
            self._prompt_cache[template_index] = (
                bos + text_tokenizer.encode(before, add_special_tokens=False),
                text_tokenizer.encode(after, add_special_tokens=False),
            )
        return self._prompt_cache[template_index]

    def _prompt_ids(self, history: list[int], template_index: int) -> list[int]:
        """Token ids of one prompt without the canvas (``[BOS] <history> [SEP]`` or the LLM prompt)."""
        if self._text_tokenizer is None:
            if self.history_encoding == "pooled":
                body = [self.item_token_id] * len(history)
            else:
                body = [token_id for index in history for token_id in self._code_token_rows[index]]
            return [self.bos_token_id, *body, self.sep_token_id]
        before, after = self._prompt_pieces(template_index)
        body = []
        for position, index in enumerate(history):
            if position:
                body.extend(self._separator_ids)
            body.extend(self._code_token_rows[index])
        return before + body + after

    def __call__(
        self,
        histories: Sequence,
        targets: Sequence | int | str | None = None,
        *,
        template_index: int | Sequence[int] = 0,
        max_history: int | None = _TOKENIZER_MAX_HISTORY,
        items: str | None = None,
        return_tensors: str | None = "pt",
    ) -> BatchEncoding:
        r"""Encode user histories (and targets) into the model input layout.

        Args:
            histories: a list of histories, each a chronological list of item indices (int) or item ids (str);
                a single flat list is one user. An empty history (``[[]]``) gives ``[BOS] [SEP]`` + canvas
                (item-only) or the prompt with nothing where the history goes (LLM).
            targets: one target item per user (index or id), or ``None`` for inference.
            template_index: prompt template per user (an int for all, or one per user); ``0`` is the canonical
                test-time template. Must lie in ``0 .. num_templates - 1``.
            max_history: keep the most recent ``max_history`` items; ``None`` keeps every item (as in the
                constructor). Not given: the tokenizer's ``max_history``.
            items: what the items are. ``None``: str items are item ids and ints are item indices -- refused when
                the catalogue's ids look like integers (Amazon Beauty's ``"1"``, ``"2"``...), where an int is
                ambiguous. ``"ids"``: every item is an item id (ints such as a ``sequences.txt`` id ``7`` mean
                ``"7"``). ``"indices"``: every item is a dense item index ``0..num_items-1``. NumPy integers and
                arrays are accepted wherever ints and lists are.
            return_tensors: ``"pt"`` or ``None`` (python lists).

        Returns:
            [`BatchEncoding`] with

            - ``input_ids`` ``[B, T]``: left-padded; the last ``code_length`` positions are ``[MASK]``.
            - ``attention_mask`` ``[B, T]``: 0 on padding.
            - ``history_code_ids`` ``[B, H, code_length]`` (``history_encoding="pooled"`` only): the code token
              ids of each user's history items in order, left-padded with ``pad_token_id`` rows, aligned with
              the ``[ITEM]`` placeholders; ``H`` = longest (truncated) history in the batch.
            - ``labels`` ``[B, T]`` (when ``targets`` is given): ``-100`` except the canvas, which holds the
              target's code token ids.
        """
        if return_tensors not in ("pt", None):
            raise ValueError(f"return_tensors must be 'pt' or None, got {return_tensors!r}")
        histories, targets = _as_batch(histories, targets)
        batch = len(histories)
        templates = self._templates_for(template_index, batch)
        if items not in (None, *ITEM_REFERENCES):
            raise ValueError(f"items must be None, 'ids' or 'indices', got {items!r}")
        limit = _check_max_history(self.max_history if max_history is _TOKENIZER_MAX_HISTORY else max_history)

        # 1. Resolve items and keep the most recent ones.
        resolved = []
        for user, history in enumerate(histories):
            indices = [
                self._resolve_item(item, user, f"history position {position}", items)
                for position, item in enumerate(history)
            ]
            resolved.append(
                indices[len(indices) - limit :] if limit is not None and len(indices) > limit else indices
            )

        # 2. Prompt + canvas per user, then left padding. Rows are built as lists and turned into one tensor
        # per key at the end, which is several times faster than filling tensors row by row.
        canvas = [self.mask_token_id] * self.code_length
        rows = [
            self._prompt_ids(items, template) + canvas
            for items, template in zip(resolved, templates, strict=True)
        ]
        length = max(len(row) for row in rows)
        data: dict[str, Any] = {
            "input_ids": [[self.pad_token_id] * (length - len(row)) + row for row in rows],
            "attention_mask": [[0] * (length - len(row)) + [1] * len(row) for row in rows],
        }

        # 3. Code ids of pooled history items, aligned with the [ITEM] placeholders.
        if self.history_encoding == "pooled":
            longest = max(len(items) for items in resolved)
            pad_row = [self.pad_token_id] * self.code_length
            data["history_code_ids"] = [
                [pad_row] * (longest - len(items)) + [self._code_token_rows[index] for index in items]
                for items in resolved
            ]

        # 4. Labels: the target's code token ids on the canvas.
        if targets is not None:
            data["labels"] = [
                [-100] * (length - self.code_length)
                + self._code_token_rows[self._resolve_item(target, user, "target", items)]
                for user, target in enumerate(targets)
            ]

        if return_tensors == "pt":
            data = {key: torch.tensor(value, dtype=torch.long) for key, value in data.items()}
            if "history_code_ids" in data:  # keeps its [B, 0, L] shape when every history is empty
                data["history_code_ids"] = data["history_code_ids"].reshape(batch, -1, self.code_length)
        return BatchEncoding(data, tensor_type=None)

    # ------------------------------------------------------------------------------------------------------
    # Hand-off to the model
    # ------------------------------------------------------------------------------------------------------

    def model_config_kwargs(self) -> dict[str, Any]:
        """The token layout a model config must be built with (``MindRecConfig(**kwargs, ...)``)."""
        return {
            "vocab_size": self.vocab_size,
            "pad_token_id": self.pad_token_id,
            "mask_token_id": self.mask_token_id,
            "bos_token_id": self.bos_token_id,
            "eos_token_id": self.eos_token_id,
            "sep_token_id": self.sep_token_id,
            "item_placeholder_token_id": self.item_token_id if self._text_tokenizer is None else None,
            "code_token_offset": self.code_token_offset,
            "code_slot_sizes": list(self.code_slot_sizes),
            "num_category_levels": self.num_category_levels,
            "num_sid_digits": self.num_sid_digits,
            "history_encoding": self.history_encoding,
        }

    def check_compatible(self, config: Any) -> None:
        """Raise ``ValueError`` listing every layout field where ``config`` (a model config or a dict) disagrees
        with this tokenizer. The model's ``vocab_size`` may exceed the tokenizer's (unused embedding rows)."""
        problems = []
        for key, expected in self.model_config_kwargs().items():
            if isinstance(config, Mapping):
                actual = config.get(key, "<missing>")
            else:
                actual = getattr(config, key, "<missing>")
            if isinstance(actual, tuple):
                actual = list(actual)
            if key == "vocab_size":
                if isinstance(actual, int) and actual >= expected:
                    continue
                problems.append(f"vocab_size: config has {actual!r}, the tokenizer needs at least {expected}")
            elif actual != expected:
                problems.append(f"{key}: config has {actual!r}, tokenizer has {expected!r}")
        if problems:
            raise ValueError(
                "model config and tokenizer disagree on the token layout:\n  " + "\n  ".join(problems)
            )


__all__ = [
    "ALPACA_PREAMBLE",
    "CODE_TABLE_FILE",
    "code_table_digest",
    "PROMPT_TEMPLATES",
    "MindRecTokenizer",
    "read_item_codes",
    "validate_item_codes",
    "write_item_codes",
]

MindRecTokenizer.register_for_auto_class("AutoTokenizer")
