"""MindRecTokenizer on top of a text tokenizer (LLM setting), with a tiny BPE trained in the test."""

from __future__ import annotations

import pytest
import torch
from tokenizer_support import make_table, make_text_tokenizer

from mindrec.tokenization.tokenization_mindrec import ALPACA_PREAMBLE, PROMPT_TEMPLATES, MindRecTokenizer

BOS, EOT, MDM_MASK, START = 0, 1, 2, 3
# Default code_token_offset = len(text tokenizer) = 300: <C0_v> = 300 + v, <S0_v> = 302 + v, <S1_v> = 305 + v.
APPLE, BANANA, CHERRY = [300, 302, 306], [300, 304, 305], [301, 303, 306]
CANONICAL = (
    "The user has interacted with items {history} in chronological order. "
    "Can you predict the next possible item that the user may expect?"
)


@pytest.fixture(scope="module")
def text():
    return make_text_tokenizer()


@pytest.fixture(scope="module")
def tok(text):
    return MindRecTokenizer.from_code_table(make_table(), text_tokenizer=text, mask_token_id=MDM_MASK)


def encode_text(text, string: str) -> list[int]:
    return text.encode(string, add_special_tokens=False)


def test_templates():
    assert len(PROMPT_TEMPLATES) == 17
    assert PROMPT_TEMPLATES[0] == CANONICAL
    assert len(set(PROMPT_TEMPLATES)) == 17
    assert all(template.count("{history}") == 1 for template in PROMPT_TEMPLATES)


def test_layout_and_config(text, tok):
    assert len(tok) == tok.vocab_size == 307
    last_text_token = text.convert_ids_to_tokens(299)
    assert tok.convert_ids_to_tokens([4, 299, 300, 302, 306]) == [
        "<|end|>",
        last_text_token,
        "<C0_0>",
        "<S0_0>",
        "<S1_1>",
    ]
    assert tok.num_templates == 17
    assert tok.model_config_kwargs() == {
        "vocab_size": 307,
        "pad_token_id": EOT,  # no pad token in the text tokenizer: eos pads, as in LLaDA
        "mask_token_id": MDM_MASK,
        "bos_token_id": BOS,
        "eos_token_id": EOT,
        "sep_token_id": None,
        "item_placeholder_token_id": None,
        "code_token_offset": 300,
        "code_slot_sizes": [2, 3, 2],
        "num_category_levels": 1,
        "num_sid_digits": 2,
        "history_encoding": "tokens",
    }


def test_canonical_prompt_exact_ids_canvas_last(text, tok):
    enc = tok([[0, 1], ["cherry"]], targets=[2, "apple"])
    before = encode_text(text, "<|bos|><|start|>user<|end|>\nThe user has interacted with items ")
    after = encode_text(
        text,
        " in chronological order. Can you predict the next possible item that the user may expect?"
        "<|eot|><|start|>assistant<|end|>\n",
    )
    first = before + APPLE + encode_text(text, ", ") + BANANA + after + [MDM_MASK] * 3
    second = before + CHERRY + after + [MDM_MASK] * 3
    pad = len(first) - len(second)
    assert enc["input_ids"].tolist() == [first, [EOT] * pad + second]
    assert enc["attention_mask"].tolist() == [[1] * len(first), [0] * pad + [1] * len(second)]
    assert enc["labels"][:, -3:].tolist() == [CHERRY, APPLE]
    assert (enc["labels"][:, :-3] == -100).all()
    assert tok.decode(enc["input_ids"][0]) == (
        "<|bos|><|start|>user<|end|>\n"
        + CANONICAL.replace("{history}", "<C0_0><S0_0><S1_1>, <C0_0><S0_2><S1_0>")
        + "<|eot|><|start|>assistant<|end|>\n<|mdm_mask|><|mdm_mask|><|mdm_mask|>"
    )


def test_prompt_ids_equal_tokenizing_the_decoded_text(tok):
    # Code tokens split the text like added tokens, so encoding the rendered prompt gives the same ids.
    for template in range(tok.num_templates):
        ids = tok([[2, 0, 1]], template_index=template)["input_ids"][0].tolist()
        assert tok.encode(tok.decode(ids), add_special_tokens=False) == ids


def test_every_template_gives_a_distinct_prompt_with_the_same_canvas(tok):
    rows = [tok([[0, 1]], targets=[2], template_index=t) for t in range(17)]
    assert len({tuple(row["input_ids"][0].tolist()) for row in rows}) == 17
    for template, row in enumerate(rows):
        assert row["input_ids"][0, -3:].tolist() == [MDM_MASK] * 3
        assert row["labels"][0, -3:].tolist() == CHERRY
        body = PROMPT_TEMPLATES[template].replace("{history}", "<C0_0><S0_0><S1_1>, <C0_0><S0_2><S1_0>")
        assert body in tok.decode(row["input_ids"][0])
    mixed = tok([[0], [0]], template_index=[0, 16])["input_ids"]
    for user, template in enumerate((0, 16)):
        alone = tok([[0]], template_index=template)["input_ids"][0]
        assert torch.equal(mixed[user, -len(alone) :], alone)
        assert (mixed[user, : -len(alone)] == EOT).all()
    with pytest.raises(ValueError, match=r"user 1 \(batch position\): template_index 17 is outside 0..16"):
        tok([[0], [1]], template_index=[0, 17])


def test_history_truncation_and_empty_history(text, tok):
    long = tok([[1] * 11 + [0]])["input_ids"][0].tolist()
    assert long.count(300) == 10  # the last 10 items: nine bananas and the apple each start with <C0_0>
    empty = tok([[]])["input_ids"][0].tolist()
    assert tok.decode(empty).startswith(
        "<|bos|><|start|>user<|end|>\nThe user has interacted with items  in "
    )
    assert tok([[]], max_history=3)["input_ids"].tolist() == [empty]


def test_alpaca_frame_without_chat_template():
    text = make_text_tokenizer(chat_template=None)
    tok = MindRecTokenizer.from_code_table(make_table(), text_tokenizer=text, mask_token_id=MDM_MASK)
    ids = tok([["banana"]])["input_ids"][0].tolist()
    assert ids[0] == BOS
    assert tok.decode(ids) == (
        f"<|bos|>{ALPACA_PREAMBLE}\n\n### Instruction:\n"
        + CANONICAL.replace("{history}", "<C0_0><S0_2><S1_0>")
        + "\n\n### Response:\n<|mdm_mask|><|mdm_mask|><|mdm_mask|>"
    )


def test_explicit_offset_and_pad_override(text):
    tok = MindRecTokenizer.from_code_table(
        make_table(), text_tokenizer=text, mask_token_id=MDM_MASK, pad_token_id=START, code_token_offset=310
    )
    assert tok.code_token_offset == 310 and len(tok) == 317
    assert tok.convert_ids_to_tokens([4, 305, 309, 310, 316]) == [
        "<|end|>", "[UNUSED_305]", "[UNUSED_309]", "<C0_0>", "<S1_1>",
    ]  # fmt: skip
    enc = tok([[0, 1], [2]], targets=[0, 1])
    assert enc["labels"][:, -3:].tolist() == [[310, 312, 316], [310, 314, 315]]
    assert enc["input_ids"][1, 0].item() == START and enc["attention_mask"][1, 0].item() == 0
    assert tok.model_config_kwargs()["pad_token_id"] == START


def test_llm_errors(text):
    with pytest.raises(
        ValueError, match=r"code_token_offset 299 would overlap the text vocabulary .* must be >= 300"
    ):
        MindRecTokenizer.from_code_table(
            make_table(), text_tokenizer=text, mask_token_id=2, code_token_offset=299
        )
    with pytest.raises(ValueError, match="the text tokenizer has no mask token; pass mask_token_id"):
        MindRecTokenizer.from_code_table(make_table(), text_tokenizer=text)
    with pytest.raises(ValueError, match="mask_token_id 999 is not in the text tokenizer's vocabulary"):
        MindRecTokenizer.from_code_table(make_table(), text_tokenizer=text, mask_token_id=999)
    with pytest.raises(ValueError, match="history_encoding='pooled' needs the item-only setting"):
        MindRecTokenizer.from_code_table(
            make_table(), text_tokenizer=text, mask_token_id=2, history_encoding="pooled"
        )
