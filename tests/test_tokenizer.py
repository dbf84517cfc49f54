"""MindRecTokenizer, item-only setting: vocabulary, exact encodings, tables, decoding, config hand-off."""

from __future__ import annotations

import pickle
from types import SimpleNamespace

import pytest
import torch
from tokenizer_support import BOS, EOS, ITEM, ITEM_TOKEN_IDS, MASK, PAD, SEP, UNK, make_table

from mindrec.tokenization.tokenization_mindrec import MindRecTokenizer

APPLE, BANANA, CHERRY = ITEM_TOKEN_IDS["apple"], ITEM_TOKEN_IDS["banana"], ITEM_TOKEN_IDS["cherry"]


@pytest.fixture(scope="module")
def tok() -> MindRecTokenizer:
    return MindRecTokenizer.from_code_table(make_table())


@pytest.fixture(scope="module")
def pooled() -> MindRecTokenizer:
    return MindRecTokenizer.from_code_table(make_table(), history_encoding="pooled")


# ---------------------------------------------------------------------------------------------- vocabulary


def test_vocabulary_layout(tok):
    assert tok.get_vocab() == {
        "[PAD]": 0, "[MASK]": 1, "[BOS]": 2, "[EOS]": 3, "[SEP]": 4, "[ITEM]": 5, "[UNK]": 6,
        "<C0_0>": 7, "<C0_1>": 8, "<S0_0>": 9, "<S0_1>": 10, "<S0_2>": 11, "<S1_0>": 12, "<S1_1>": 13,
    }  # fmt: skip
    assert (tok.pad_token_id, tok.mask_token_id, tok.bos_token_id, tok.eos_token_id) == (PAD, MASK, BOS, EOS)
    assert (tok.sep_token_id, tok.item_token_id, tok.unk_token_id) == (SEP, ITEM, UNK)
    assert len(tok) == tok.vocab_size == 14
    assert tok.code_token_offset == 7 and tok.code_length == 3
    every_id = list(range(14))
    assert tok.convert_tokens_to_ids(tok.convert_ids_to_tokens(every_id)) == every_id
    with pytest.raises(ValueError, match="token id 14 is outside this tokenizer's vocabulary 0..13"):
        tok.convert_ids_to_tokens(14)


def test_special_tokens_and_offset_are_fixed():
    with pytest.raises(ValueError, match=r"pad_token is fixed to '\[PAD\]'.*got '<pad>'"):
        MindRecTokenizer(code_table=make_table(), pad_token="<pad>")
    with pytest.raises(ValueError, match="code_token_offset is fixed to 7 in the item-only setting, got 9"):
        MindRecTokenizer.from_code_table(make_table(), code_token_offset=9)
    with pytest.raises(
        ValueError, match="mask_token_id / pad_token_id can only be chosen in the LLM setting"
    ):
        MindRecTokenizer.from_code_table(make_table(), mask_token_id=3)
    with pytest.raises(ValueError, match=r"vocabulary is fixed by its code table; \['<new>'\]"):
        MindRecTokenizer.from_code_table(make_table()).add_tokens(["<new>"])
    with pytest.raises(FileNotFoundError, match="needs a code table"):
        MindRecTokenizer()
    with pytest.raises(ValueError, match="history_encoding must be one of"):
        MindRecTokenizer.from_code_table(make_table(), history_encoding="mean")


# ---------------------------------------------------------------------------------------------- encoding


def test_tokens_encoding_exact_ids_left_padding_and_labels(tok):
    enc = tok([[0, 1], ["cherry"]], targets=[2, "apple"])
    assert enc["input_ids"].tolist() == [
        [BOS, *APPLE, *BANANA, SEP, MASK, MASK, MASK],
        [PAD, PAD, PAD, BOS, *CHERRY, SEP, MASK, MASK, MASK],
    ]
    assert enc["attention_mask"].tolist() == [[1] * 11, [0] * 3 + [1] * 8]
    assert enc["labels"].tolist() == [[-100] * 8 + CHERRY, [-100] * 8 + APPLE]
    assert set(enc.keys()) == {"input_ids", "attention_mask", "labels"}
    assert enc["input_ids"].dtype == torch.long


def test_pooled_encoding_exact_ids_and_history_code_ids(pooled):
    enc = pooled([[0, 1], ["cherry"], []], targets=["banana", 0, 2])
    assert enc["input_ids"].tolist() == [
        [BOS, ITEM, ITEM, SEP, MASK, MASK, MASK],
        [PAD, BOS, ITEM, SEP, MASK, MASK, MASK],
        [PAD, PAD, BOS, SEP, MASK, MASK, MASK],
    ]
    assert enc["attention_mask"].tolist() == [[1] * 7, [0] + [1] * 6, [0, 0] + [1] * 5]
    assert enc["history_code_ids"].tolist() == [
        [APPLE, BANANA],
        [[PAD] * 3, CHERRY],
        [[PAD] * 3, [PAD] * 3],
    ]
    assert enc["labels"].tolist() == [[-100] * 4 + BANANA, [-100] * 4 + APPLE, [-100] * 4 + CHERRY]


def test_pooled_rows_align_with_item_placeholders(pooled):
    histories = [[2, 0, 1, 1], [1], [0, 2]]
    enc = pooled(histories)
    for user, history in enumerate(histories):
        placeholders = (enc["input_ids"][user] == ITEM).sum().item()
        rows = enc["history_code_ids"][user, -placeholders:]
        assert placeholders == len(history)
        assert rows.tolist() == [pooled.code_token_ids(pooled.item_codes[i]).tolist() for i in history]
        assert (enc["history_code_ids"][user, : 4 - placeholders] == PAD).all()


def test_empty_history_gives_bos_sep_canvas(tok, pooled):
    assert tok([[]])["input_ids"].tolist() == [[BOS, SEP, MASK, MASK, MASK]]
    assert pooled([[]])["history_code_ids"].shape == (1, 0, 3)
    with pytest.raises(ValueError, match=r"histories is empty; pass \[\[\]\] for one user"):
        tok([])


def test_single_user_ids_indices_and_tensors_agree(tok):
    expected = tok([[0, 2]], targets=[1])
    for histories, targets in (
        ([0, 2], 1),
        (["apple", "cherry"], "banana"),
        (torch.tensor([0, 2]), torch.tensor(1)),
    ):
        enc = tok(histories, targets=targets)
        assert enc["input_ids"].tolist() == expected["input_ids"].tolist()
        assert enc["labels"].tolist() == expected["labels"].tolist()
    assert tok(torch.tensor([[0, 2], [1, 1]]))["input_ids"].shape == (2, 11)


def test_return_lists(tok):
    enc = tok([[1]], return_tensors=None)
    assert enc["input_ids"] == [[BOS, *BANANA, SEP, MASK, MASK, MASK]]
    with pytest.raises(ValueError, match="return_tensors must be 'pt' or None, got 'np'"):
        tok([[1]], return_tensors="np")


def test_truncation_keeps_most_recent_items():
    history = [0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2]  # 12 items; default max_history = 10
    tok = MindRecTokenizer.from_code_table(make_table())
    body = tok([history])["input_ids"][0, 1:-4].tolist()
    assert body == tok.code_token_ids(tok.item_codes[history[-10:]]).flatten().tolist()
    assert tok([history], max_history=1)["input_ids"].tolist() == [[BOS, *CHERRY, SEP, MASK, MASK, MASK]]
    assert tok([history], max_history=0)["input_ids"].tolist() == [[BOS, SEP, MASK, MASK, MASK]]
    short = MindRecTokenizer.from_code_table(make_table(), max_history=2, history_encoding="pooled")
    assert short([history])["history_code_ids"].tolist() == [[BANANA, CHERRY]]
    unlimited = MindRecTokenizer.from_code_table(make_table(), max_history=None)
    assert unlimited([history])["input_ids"].shape == (1, 2 + 3 * 12 + 3)
    with pytest.raises(ValueError, match="max_history must be a non-negative int or None, got -1"):
        tok([history], max_history=-1)


def test_bad_items_name_the_item_and_user(tok):
    with pytest.raises(
        ValueError, match=r"user 1 \(batch position\), history position 1: unknown item id 'durian'"
    ):
        tok([[0], ["apple", "durian"]])
    with pytest.raises(
        ValueError, match=r"user 0 \(batch position\), history position 0: item index 3 is not in"
    ):
        tok([[3]])
    with pytest.raises(ValueError, match=r"user 1 \(batch position\), target: unknown item id 'kiwi'"):
        tok([[0], [1]], targets=["apple", "kiwi"])
    with pytest.raises(ValueError, match="targets must hold one item per user: 2 histories, 1 targets"):
        tok([[0], [1]], targets=[0])
    with pytest.raises(
        TypeError, match=r"user 0 \(batch position\), history position 0: items are int indices"
    ):
        tok([[True]])
    with pytest.raises(TypeError, match=r"user 1 \(batch position\): a history must be a list of items"):
        tok([[0], 1])


def test_item_only_has_one_template(tok):
    assert tok.num_templates == 1
    with pytest.raises(ValueError, match=r"user 0 \(batch position\): template_index 1 is outside 0..0"):
        tok([[0]], template_index=1)


# ---------------------------------------------------------------------------------------------- decoding and tables


def test_decode_readable_and_reencodes(tok):
    ids = tok([[0, 1], [2]])["input_ids"][1]
    text = tok.decode(ids)
    assert text == "[PAD] [PAD] [PAD] [BOS] <C0_1> <S0_1> <S1_1> [SEP] [MASK] [MASK] [MASK]"
    assert tok.decode(ids, skip_special_tokens=True) == "<C0_1> <S0_1> <S1_1>"
    assert tok.encode(text) == ids.tolist()
    assert tok.tokenize("[BOS]<C0_1><S0_0> word") == ["[BOS]", "<C0_1>", "<S0_0>", "word"]
    assert tok.convert_tokens_to_ids(["word", "<S9_9>"]) == [UNK, UNK]


def test_item_table_accessors(tok):
    assert tok.item_codes.tolist() == [[0, 0, 1], [0, 2, 0], [1, 1, 1]]
    assert tok.num_items == 3
    assert [tok.item_id_of(i) for i in range(3)] == ["apple", "banana", "cherry"]
    assert [tok.index_of(x) for x in ("apple", "banana", "cherry")] == [0, 1, 2]
    assert tok.code_tokens(1) == ["<C0_0>", "<S0_2>", "<S1_0>"]
    assert [tok.category_names(i) for i in range(3)] == [["Fruit"], ["Fruit"], ["Berries"]]
    with pytest.raises(ValueError, match="unknown item id 'kiwi'"):
        tok.index_of("kiwi")
    with pytest.raises(TypeError, match="item ids are strings, got 1"):
        tok.index_of(1)
    with pytest.raises(ValueError, match=r"item index 3 is outside 0..2"):
        tok.item_id_of(3)
    tok.item_codes[0, 0] = 1  # a copy: the table itself must not change
    assert tok.item_codes[0, 0] == 0


def test_category_names_without_tree_or_levels():
    no_tree = MindRecTokenizer.from_code_table(make_table(category_tree=None))
    with pytest.raises(ValueError, match="this code table has no category_tree"):
        no_tree.category_names(0)
    sid_only = MindRecTokenizer.from_code_table(
        make_table(num_category_levels=0, num_sid_digits=3, category_tree=None)
    )
    assert sid_only.category_names(0) == []
    assert sid_only.code_tokens(2) == ["<S0_1>", "<S1_1>", "<S2_1>"]


def test_codes_tokens_ids_round_trip(tok):
    codes = tok.item_codes
    token_ids = tok.code_token_ids(codes)
    assert token_ids.tolist() == [APPLE, BANANA, CHERRY]
    tokens = [tok.convert_ids_to_tokens(row) for row in token_ids.tolist()]
    back = torch.tensor([tok.convert_tokens_to_ids(row) for row in tokens])
    assert tok.codes_from_token_ids(back).tolist() == codes.tolist()
    assert tok.decode_codes(tok.codes_from_token_ids(back)).tolist() == [0, 1, 2]
    # An id of the wrong slot (or a special token) is not a code value.
    assert tok.codes_from_token_ids([[9, 9, MASK]]).tolist() == [[-1, 0, -1]]
    with pytest.raises(ValueError, match=r"code values must lie in 0..code_slot_sizes\[s\]-1"):
        tok.code_token_ids([[2, 0, 0]])


def test_decode_codes_batched_with_misses(tok):
    queries = torch.tensor([[[1, 1, 1], [0, 0, 1]], [[1, 1, 0], [-1, 0, 0]], [[0, 2, 0], [0, 3, 0]]])
    assert tok.decode_codes(queries).tolist() == [[2, 0], [-1, -1], [1, -1]]
    with pytest.raises(ValueError, match="codes must end in a dimension of size 3, got shape"):
        tok.decode_codes([[0, 0]])


def test_decode_codes_for_a_code_space_beyond_int64():
    # 8 slots of 256 values: 2**64 codes, so the mixed-radix keys would overflow; a dict answers instead.
    table = make_table(
        num_category_levels=0, num_sid_digits=8, code_slot_sizes=[256] * 8, category_tree=None,
        codes=[[255] * 8, [0] * 7 + [1], [1] + [0] * 7],
    )  # fmt: skip
    tok = MindRecTokenizer.from_code_table(table)
    queries = torch.tensor([[1] + [0] * 7, [255] * 8, [0] * 8])
    assert tok.decode_codes(queries).tolist() == [2, 0, -1]


def test_pickle_round_trip_keeps_encodings(pooled):
    clone = pickle.loads(pickle.dumps(pooled))
    for key in ("input_ids", "history_code_ids", "labels"):
        assert torch.equal(
            clone([[0, 1], [2]], targets=[1, 2])[key], pooled([[0, 1], [2]], targets=[1, 2])[key]
        )


# ---------------------------------------------------------------------------------------------- model hand-off


def test_model_config_kwargs(pooled):
    assert pooled.model_config_kwargs() == {
        "vocab_size": 14,
        "pad_token_id": 0,
        "mask_token_id": 1,
        "bos_token_id": 2,
        "eos_token_id": 3,
        "sep_token_id": 4,
        "item_placeholder_token_id": 5,
        "code_token_offset": 7,
        "code_slot_sizes": [2, 3, 2],
        "num_category_levels": 1,
        "num_sid_digits": 2,
        "history_encoding": "pooled",
    }


def test_check_compatible_lists_every_mismatch(tok):
    tok.check_compatible(tok.model_config_kwargs())
    tok.check_compatible(
        SimpleNamespace(**{**tok.model_config_kwargs(), "vocab_size": 64, "code_slot_sizes": (2, 3, 2)})
    )
    bad = {**tok.model_config_kwargs(), "vocab_size": 10, "mask_token_id": 3, "code_slot_sizes": [2, 3, 3]}
    del bad["history_encoding"]
    with pytest.raises(ValueError, match="disagree on the token layout") as error:
        tok.check_compatible(bad)
    message = str(error.value)
    assert "vocab_size: config has 10, the tokenizer needs at least 14" in message
    assert "mask_token_id: config has 3, tokenizer has 1" in message
    assert "code_slot_sizes: config has [2, 3, 3], tokenizer has [2, 3, 2]" in message
    assert "history_encoding: config has '<missing>', tokenizer has 'tokens'" in message
    assert message.count("\n") == 4
